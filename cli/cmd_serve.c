/* cli/cmd_serve.c: `semsearch serve KB...`: serves knowledge bases over HTTP until SIGTERM or SIGINT. */
#include "cli/cli.h"
#include "web/web.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: semsearch serve KB... [options]\n"
            "\n"
            "Serves one or more knowledge bases over HTTP: search, embeddings (TEI, OpenAI and bert-as-service\n"
            "formats), document writes, stats, Prometheus metrics and a search page at /. A KB is addressed by its\n"
            "directory's base name (the \"kb\" field); the first is the default.\n"
            "Prints \"serving on http://HOST:PORT/\" on stdout once listening; stops cleanly on SIGTERM/SIGINT\n"
            "(requests in flight finish first). One access log line per request goes to stderr.\n"
            "Write routes (POST /documents, DELETE /documents/{id}) need an API key; without one they answer 403.\n"
            "\n"
            "Options:\n"
            "  --host ADDR           address to bind (default 127.0.0.1; 0.0.0.0 or :: for all)\n"
            "  --port N              TCP port (default 8080; 0 = any free port)\n"
            "  --threads N           workers per lane: search, and embeddings/writes (default: the number of CPUs)\n"
            "  --api-key KEY         require KEY on write routes (POST /documents, DELETE /documents/{id}) as\n"
            "                        'Authorization: Bearer KEY' or 'api-key: KEY' (default: $SEMSEARCH_API_KEY)\n"
            "  --allow-unauthenticated-writes\n"
            "                        without a key, let anyone who can connect write; only on a loopback --host\n"
            "  --model DIR|ORG/NAME  the KBs' encoder model (default: the folder recorded in each KB)\n"
            "  --max-body BYTES      largest request body (default 8388608; larger gets 413)\n"
            "  --max-body-in-flight BYTES\n"
            "                        request bodies held at once, all clients (default 67108864; beyond: 503)\n"
            "  --max-batch N         most texts or documents per request (default 256)\n"
            "  --max-tokens N        most tokens one embedding request may encode (default 65536; beyond: 413)\n"
            "  --max-k N             largest k for /search (default 1000)\n"
            "  --max-text-chars N    longest text, query or document in bytes (default 1048576)\n"
            "  --max-connections N   open connections at once (default 512)\n"
            "  --max-per-client N    open connections from one client address (default 64)\n"
            "  --max-queue N         requests waiting for a worker, per lane (default 64; beyond: 503)\n"
            "  --read-timeout SECONDS\n"
            "                        a request's headers and body must arrive within this (default 10)\n"
            "  --timeout SECONDS     idle keep-alive connection timeout (default 30)\n"
            "  --grace SECONDS       how long shutdown waits for requests in flight (default 30)\n"
            "  --quiet               no access log\n"
            "  -h, --help            this help\n"
            "\n"
            "Example:\n"
            "  SEMSEARCH_API_KEY=$(openssl rand -hex 16) semsearch serve kb/faq --port 8080\n"
            "  curl -s localhost:8080/search -H 'Content-Type: application/json' \\\n"
            "       -d '{\"query\":\"how does the virus spread?\",\"k\":3}'\n");
}

/* "--name VALUE" or "--name=VALUE": returns the value (advancing *i) or NULL if argv[*i] is not that flag. */
static const char *flag_value(int argc, char **argv, int *i, const char *name, int *missing)
{
    size_t n = strlen(name);
    if (strncmp(argv[*i], name, n) != 0)
        return NULL;
    if (argv[*i][n] == '=')
        return argv[*i] + n + 1;
    if (argv[*i][n] != '\0')
        return NULL;
    if (*i + 1 >= argc) {
        *missing = 1;
        return NULL;
    }
    return argv[++*i];
}

typedef struct serve_opts {
    sem_server_params p;
    const char **kbs;
    int n_kbs;
    long grace;
} serve_opts;

/* Parses argv into o: SEM_EXIT_OK to go on, -1 after --help, else the exit status of a usage error. */
static int parse_args(int argc, char **argv, serve_opts *o)
{
    sem_server_params *p = &o->p;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        int missing = 0;
        long num;
        if (sem_cli_is_help(a)) {
            usage(stdout);
            return -1;
        }
#define NUM_FLAG(name, lo, hi, dst)                                                                          \
    if ((v = flag_value(argc, argv, &i, name, &missing)) || missing) {                                      \
        if (missing || sem_cli_parse_int(v, lo, hi, &num))                                                  \
            return sem_cli_usage_error("serve", "%s needs an integer in [%ld, %ld]", name, (long)(lo),      \
                                       (long)(hi));                                                         \
        dst = num;                                                                                          \
        continue;                                                                                           \
    }
#define STR_FLAG(name, dst)                                                                                  \
    if ((v = flag_value(argc, argv, &i, name, &missing)) || missing) {                                      \
        if (missing)                                                                                        \
            return sem_cli_usage_error("serve", "%s needs a value", name);                                  \
        dst = v;                                                                                            \
        continue;                                                                                           \
    }
        STR_FLAG("--host", p->host)
        NUM_FLAG("--port", 0, 65535, p->port)
        NUM_FLAG("--threads", 1, 1024, p->n_threads)
        STR_FLAG("--api-key", p->api_key)
        STR_FLAG("--model", p->model_dir)
        NUM_FLAG("--max-body", 1, 1L << 40, p->max_body)
        NUM_FLAG("--max-body-in-flight", 1, 1L << 42, p->max_body_in_flight)
        NUM_FLAG("--max-batch", 1, 1 << 20, p->max_batch)
        NUM_FLAG("--max-tokens", 1, 1 << 30, p->max_tokens)
        NUM_FLAG("--max-k", 1, 10000, p->max_k)
        NUM_FLAG("--max-text-chars", 1, 1 << 30, p->max_text_chars)
        NUM_FLAG("--max-connections", 1, 1000000, p->max_connections)
        NUM_FLAG("--max-per-client", 1, 1000000, p->max_per_client)
        NUM_FLAG("--max-queue", 1, 1000000, p->max_queue)
        NUM_FLAG("--read-timeout", 1, 86400, p->read_timeout_s)
        NUM_FLAG("--timeout", 0, 86400, p->timeout_s)
        NUM_FLAG("--grace", 0, 86400, o->grace)
#undef NUM_FLAG
#undef STR_FLAG
        if (strcmp(a, "--quiet") == 0) {
            p->access_log = 0;
        } else if (strcmp(a, "--allow-unauthenticated-writes") == 0) {
            p->allow_unauthenticated_writes = 1;
        } else if (a[0] == '-' && a[1]) {
            return sem_cli_usage_error("serve", "unknown option '%s'", a);
        } else {
            o->kbs[o->n_kbs++] = a;
        }
    }
    if (o->n_kbs == 0)
        return sem_cli_usage_error("serve", "give at least one knowledge base directory");
    if (!*p->host)
        return sem_cli_usage_error("serve", "--host is empty");
    return SEM_EXIT_OK;
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
    int rc = parse_args(argc, argv, &o);
    if (rc == SEM_EXIT_OK && o.p.api_key && !*o.p.api_key)
        rc = sem_cli_usage_error("serve", "the API key is empty%s",
                                 o.p.api_key == env_key ? " (SEMSEARCH_API_KEY is set to \"\")" : "");
    if (rc == SEM_EXIT_OK)
        rc = run(&o);
    free(o.kbs);
    return rc < 0 ? SEM_EXIT_OK : rc;
}
