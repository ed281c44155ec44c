/* web/web.h: semsearch's HTTP service: search, embeddings and document writes over libmicrohttpd + cJSON.
 *
 * Usage (what `semsearch serve` does):
 *     sem_server_params p = sem_server_default_params();
 *     p.port = 0;                                            // 0 = an ephemeral port
 *     sem_server *s = sem_server_new(kb_paths, n_kbs, &p, &err);
 *     printf("serving on http://%s:%d/\n", p.host, sem_server_port(s));
 *     ... wait for SIGTERM ...
 *     sem_server_shutdown(s, 30.0);                          // stop accepting, finish in-flight requests
 *     sem_server_free(s);                                    // close the knowledge bases
 *
 * Endpoints (docs/web.md has the formats): POST /search, POST /embed (HuggingFace TEI), POST /v1/embeddings
 * (OpenAI), POST /encode (bert-as-service), POST /documents, GET|DELETE /documents/{id}, GET /health, GET /stats,
 * GET /metrics (Prometheus text), GET / (the search page, compiled into the binary).
 * Errors are JSON {"error":{"code":400,"type":"invalid_request","message":"..."}}.
 *
 * Threads: 2 to 4 libmicrohttpd threads do the network I/O and answer the cheap routes (health, stats, metrics,
 * the page); search and document reads run on one lane of n_threads workers, embeddings and document writes on
 * another, so that bulk encoding never holds up a search (docs/web.md, "Security", has every limit). Handlers
 * take an encoder context from a per-model pool and the store's per-thread connections, so searches run
 * concurrently with writes.
 * sem_server_new/shutdown/free must be called from one controlling thread (not from a request).
 * Ownership: the server owns the knowledge bases and models it opens; params' strings are copied. */
#ifndef SEM_WEB_H
#define SEM_WEB_H

#include <stddef.h>

#include "common/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sem_server sem_server;

typedef struct sem_server_params {
    const char *host;     /* address to bind ("127.0.0.1", "0.0.0.0", "::1", "::"); default 127.0.0.1 */
    int port;             /* TCP port, 0 = an ephemeral one (read it back with sem_server_port); default 8080 */
    int n_threads;        /* workers per lane (search, embeddings/writes); 0 = the number of CPUs (at least 2) */
    const char *api_key;  /* when non-NULL and non-empty, write routes need it (Bearer or api-key header) */
    const char *model_dir; /* the encoder model folder of the KBs that have one; NULL = the folder they record */
    int precision;        /* a sem_precision for the KBs' models; -1 (default) = the one each KB records */
    size_t max_body;      /* request bodies above this many bytes get 413; default 8 MiB */
    int max_batch;        /* texts per embedding request / documents per POST /documents; default 256 */
    int max_k;            /* largest k for /search; default 1000 */
    int max_text_chars;   /* longest text, query or document (in bytes of UTF-8); default 1 MiB */
    int timeout_s;        /* idle connection timeout in seconds; default 30 */
    int access_log;       /* 1 = one sem_log(INFO) line per request (default), 0 = none */
    /* Writes without a key: refused unless this is 1 AND the server listens on loopback only. */
    int allow_unauthenticated_writes;
    /* Transport limits (server.c; 0 = the default). */
    int max_connections;     /* open connections at once; default 512 */
    int max_per_client;      /* open connections from one client address; default 64 */
    int read_timeout_s;      /* a request's headers and body must arrive within this; default 10 */
    size_t max_body_in_flight; /* bytes of request bodies buffered at once, all requests; default 64 MiB */
    int max_tokens;          /* tokens one embedding request may encode (413 beyond); default 65536 */
    int max_queue;           /* expensive requests waiting for a worker before 503 + Retry-After; default 64 */
} sem_server_params;

sem_server_params sem_server_default_params(void);

/* Opens the knowledge bases at kb_paths (n_kbs >= 1; the first is the default, each is addressed by its
 * directory's base name, which must be unique), loads their encoder models, and starts listening. Returns NULL
 * with err set on failure (bad params, a KB that does not open, a port in use). */
sem_server *sem_server_new(const char *const *kb_paths, int n_kbs, const sem_server_params *params,
                           sem_error *err);

/* The port actually bound (useful with port 0). */
int sem_server_port(const sem_server *s);

/* 1 when the listening address is a loopback one (127.0.0.0/8 or ::1): only this machine can connect. */
int sem_server_loopback_only(const sem_server *s);

/* Graceful stop: no new connections are accepted, requests already being processed finish and get their response
 * (waiting at most grace_s seconds), then the listener stops. Idempotent. Documents whose write returned are
 * durable whether or not this is called. */
void sem_server_shutdown(sem_server *s, double grace_s);

/* Shuts down (with a 30 s grace) if not done yet, closes the knowledge bases and frees everything; NULL is a
 * no-op. */
void sem_server_free(sem_server *s);

#ifdef __cplusplus
}
#endif
#endif
