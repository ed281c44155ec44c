/* cli/cmd_serve.c: `semsearch serve KB...`: serves knowledge bases over HTTP until SIGTERM or SIGINT. */
#include "cli/cli.h"
#include "encoder/encoder.h"
#include "web/web.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct serve_opts {
    sem_server_params p;
    const char **kbs;
    int n_kbs, quiet;
    long grace;
} serve_opts;

/* Parses argv into o: 1 to go on, else 0 with *status. */
static int parse_args(int argc, char **argv, serve_opts *o, int *status)
{
    sem_server_params *p = &o->p;
    const sem_cli_opt opts[] = {
        SEM_OPT_SEC("Options:"),
        SEM_OPT_S("--host", 0, p->host, "ADDR", "address to bind (default 127.0.0.1; 0.0.0.0 or :: for all)"),
        SEM_OPT_I("--port", 0, p->port, "N", 0, 65535, "TCP port (default 8080; 0 = any free port)"),
        SEM_OPT_I("--threads", 0, p->n_threads, "N", 1, 1024,
                  "workers per lane: search, and embeddings/writes (default: the number of CPUs)"),
        SEM_OPT_S("--api-key", 0, p->api_key, "KEY",
                  "require KEY on write routes (POST /documents, DELETE /documents/{id}) as\n'Authorization: Bearer "
                  "KEY' or 'api-key: KEY' (default: $SEMSEARCH_API_KEY)"),
        SEM_OPT_F("--allow-unauthenticated-writes", 0, p->allow_unauthenticated_writes,
                  "without a key, let anyone who can connect write; only on a loopback --host"),
        SEM_OPT_S("--model", 0, p->model_dir, "DIR|ORG/NAME", "the KBs' encoder model (default: the folder recorded "
                                                              "in each KB)"),
        SEM_OPT_E("--precision", p->precision, "P", sem_precision_parse, "f32, bf16 or int8",
                  "encoder linear layers in f32, bf16 or int8 for every KB (default: each\nKB's, recorded by "
                  "'index add --precision'; else f32)"),
        SEM_OPT_I("--max-body", 0, p->max_body, "BYTES", 1, 1L << 40,
                  "largest request body (default 8388608; larger gets 413)"),
        SEM_OPT_I("--max-body-in-flight", 0, p->max_body_in_flight, "BYTES", 1, 1L << 42,
                  "request bodies held at once, all clients (default 67108864; beyond: 503)"),
        SEM_OPT_I("--max-batch", 0, p->max_batch, "N", 1, 1 << 20, "most texts or documents per request (default "
                                                                   "256)"),
        SEM_OPT_I("--max-tokens", 0, p->max_tokens, "N", 1, 1 << 30,
                  "most tokens one embedding request may encode (default 65536; beyond: 413)"),
        SEM_OPT_I("--max-k", 0, p->max_k, "N", 1, 10000, "largest k for /search (default 1000)"),
        SEM_OPT_I("--max-text-chars", 0, p->max_text_chars, "N", 1, 1 << 30,
                  "longest text, query or document in bytes (default 1048576)"),
        SEM_OPT_I("--max-connections", 0, p->max_connections, "N", 1, 1000000, "open connections at once (default "
                                                                               "512)"),
        SEM_OPT_I("--max-per-client", 0, p->max_per_client, "N", 1, 1000000,
                  "open connections from one client address (default 64)"),
        SEM_OPT_I("--max-queue", 0, p->max_queue, "N", 1, 1000000,
                  "requests waiting for a worker, per lane (default 64; beyond: 503)"),
        SEM_OPT_I("--read-timeout", 0, p->read_timeout_s, "SECONDS", 1, 86400,
                  "a request's headers and body must arrive within this (default 10)"),
        SEM_OPT_I("--timeout", 0, p->timeout_s, "SECONDS", 0, 86400, "idle keep-alive connection timeout (default "
                                                                     "30)"),
        SEM_OPT_I("--grace", 0, o->grace, "SECONDS", 0, 86400,
                  "how long shutdown waits for requests in flight (default 30)"),
        SEM_OPT_FV("--quiet", o->quiet, 1, "no access log"),
        {0}};
    const sem_cli_cmd cmd = {
        "serve",
        "Usage: semsearch serve KB... [options]\n\n"
        "Serves one or more knowledge bases over HTTP: search, embeddings (TEI, OpenAI and bert-as-service\n"
        "formats), document writes, stats, Prometheus metrics and a search page at /. A KB is addressed by its\n"
        "directory's base name (the \"kb\" field); the first is the default.\n"
        "Prints \"serving on http://HOST:PORT/\" on stdout once listening; stops cleanly on SIGTERM/SIGINT\n"
        "(requests in flight finish first). One access log line per request goes to stderr.\n"
        "Write routes (POST /documents, DELETE /documents/{id}) need an API key; without one they answer 403.\n\n",
        opts,
        "Example:\n"
        "  SEMSEARCH_API_KEY=$(openssl rand -hex 16) semsearch serve kb/faq --port 8080\n"
        "  curl -s localhost:8080/search -H 'Content-Type: application/json' \\\n"
        "       -d '{\"query\":\"how does the virus spread?\",\"k\":3}'\n",
        o->kbs, argc, &o->n_kbs, 0, NULL};
    if (!sem_cli_parse(&cmd, argc, argv, status))
        return 0;
    p->access_log = !o->quiet;
    *status = SEM_EXIT_USAGE;
    if (o->n_kbs == 0)
        sem_cli_usage_error("serve", "give at least one knowledge base directory");
    else if (!*p->host)
        sem_cli_usage_error("serve", "--host is empty");
    else
        return 1;
    return 0;
}

/* What the operator must know about writes before the first request. */
static void warn_writes(const sem_server_params *p, const sem_server *s)
{
    if (p->api_key)
        return;
    if (p->allow_unauthenticated_writes && sem_server_loopback_only(s))
        fprintf(stderr,
                "semsearch: WARNING: --allow-unauthenticated-writes: there is no API key, so ANY program or user on "
                "this machine can add, replace and delete documents (POST /documents, DELETE /documents/{id})\n");
    else
        fprintf(stderr, "semsearch: write routes (POST /documents, DELETE /documents/{id}) are disabled: no API key "
                        "(set --api-key or SEMSEARCH_API_KEY)\n");
}

/* Starts the server and waits for SIGTERM/SIGINT. */
static int run(serve_opts *o)
{
    /* Block the stop signals in every thread (the server's threads inherit this mask); this thread waits for
     * them with sigwait, so no handler runs inside a request. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    sem_error err = {0};
    sem_server *s = sem_server_new(o->kbs, o->n_kbs, &o->p, &err);
    if (!s)
        return sem_cli_fail(&err);
    warn_writes(&o->p, s);
    int v6 = strchr(o->p.host, ':') != NULL;
    printf("serving on http://%s%s%s:%d/\n", v6 ? "[" : "", o->p.host, v6 ? "]" : "", sem_server_port(s));
    fflush(stdout);
    int sig = 0;
    sigwait(&stop, &sig);
    fprintf(stderr, "semsearch: %s: shutting down (finishing requests in flight, at most %ld s)\n",
            sig == SIGINT ? "SIGINT" : "SIGTERM", o->grace);
    sem_server_shutdown(s, (double)o->grace);
    sem_server_free(s);
    fprintf(stderr, "semsearch: stopped\n");
    return SEM_EXIT_OK;
}

int sem_cmd_serve(int argc, char **argv)
{
    serve_opts o = {.p = sem_server_default_params(), .grace = 30};
    const char *env_key = getenv("SEMSEARCH_API_KEY");
    o.p.api_key = env_key;
    o.kbs = calloc((size_t)argc, sizeof *o.kbs);
    if (!o.kbs) {
        fprintf(stderr, "semsearch serve: out of memory\n");
        return SEM_EXIT_FAIL;
    }
    int rc;
    if (parse_args(argc, argv, &o, &rc)) {
        if (o.p.api_key && !*o.p.api_key)
            rc = sem_cli_usage_error("serve", "the API key is empty%s",
                                     o.p.api_key == env_key ? " (SEMSEARCH_API_KEY is set to \"\")" : "");
        else
            rc = run(&o);
    }
    free(o.kbs);
    return rc;
}
