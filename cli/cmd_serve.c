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
            "\n"
            "Options:\n"
            "  --host ADDR           address to bind (default 127.0.0.1; 0.0.0.0 or :: for all)\n"
            "  --port N              TCP port (default 8080; 0 = any free port)\n"
            "  --threads N           request threads (default: the number of CPUs)\n"
            "  --api-key KEY         require KEY on write routes (POST /documents, DELETE /documents/{id}) as\n"
            "                        'Authorization: Bearer KEY' or 'api-key: KEY' (default: $SEMSEARCH_API_KEY)\n"
            "  --model DIR|ORG/NAME  the KBs' encoder model (default: the folder recorded in each KB)\n"
            "  --max-body BYTES      largest request body (default 8388608; larger gets 413)\n"
            "  --max-batch N         most texts or documents per request (default 256)\n"
            "  --max-k N             largest k for /search (default 1000)\n"
            "  --max-text-chars N    longest text, query or document in bytes (default 1048576)\n"
            "  --timeout SECONDS     idle connection timeout (default 30)\n"
            "  --grace SECONDS       how long shutdown waits for requests in flight (default 30)\n"
            "  --quiet               no access log\n"
            "  -h, --help            this help\n"
            "\n"
            "Example:\n"
            "  semsearch serve kb/faq --port 8080\n"
            "  curl -s localhost:8080/search -d '{\"query\":\"how does the virus spread?\",\"k\":3}'\n");
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

int sem_cmd_serve(int argc, char **argv)
{
    sem_server_params p = sem_server_default_params();
    p.api_key = getenv("SEMSEARCH_API_KEY");
    const char **kbs = calloc((size_t)argc, sizeof *kbs);
    if (!kbs) {
        fprintf(stderr, "semsearch serve: out of memory\n");
        return SEM_EXIT_FAIL;
    }
    int n_kbs = 0, rc = SEM_EXIT_USAGE;
    long grace = 30;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        int missing = 0;
        long num;
        if (sem_cli_is_help(a)) {
            usage(stdout);
            free(kbs);
            return SEM_EXIT_OK;
        }
#define NUM_FLAG(name, lo, hi, dst)                                                                          \
    if ((v = flag_value(argc, argv, &i, name, &missing)) || missing) {                                      \
        if (missing || sem_cli_parse_int(v, lo, hi, &num)) {                                                \
            sem_cli_usage_error("serve", "%s needs an integer in [%ld, %ld]", name, (long)(lo), (long)(hi)); \
            goto out;                                                                                       \
        }                                                                                                   \
        dst = num;                                                                                          \
        continue;                                                                                           \
    }
#define STR_FLAG(name, dst)                                                                                  \
    if ((v = flag_value(argc, argv, &i, name, &missing)) || missing) {                                      \
        if (missing) {                                                                                      \
            sem_cli_usage_error("serve", "%s needs a value", name);                                         \
            goto out;                                                                                       \
        }                                                                                                   \
        dst = v;                                                                                            \
        continue;                                                                                           \
    }
        STR_FLAG("--host", p.host)
        NUM_FLAG("--port", 0, 65535, p.port)
        NUM_FLAG("--threads", 1, 1024, p.n_threads)
        STR_FLAG("--api-key", p.api_key)
        STR_FLAG("--model", p.model_dir)
        NUM_FLAG("--max-body", 1, 1L << 40, p.max_body)
        NUM_FLAG("--max-batch", 1, 1 << 20, p.max_batch)
        NUM_FLAG("--max-k", 1, 10000, p.max_k)
        NUM_FLAG("--max-text-chars", 1, 1 << 30, p.max_text_chars)
        NUM_FLAG("--timeout", 0, 86400, p.timeout_s)
        NUM_FLAG("--grace", 0, 86400, grace)
#undef NUM_FLAG
#undef STR_FLAG
        if (strcmp(a, "--quiet") == 0) {
            p.access_log = 0;
            continue;
        }
        if (a[0] == '-' && a[1]) {
            sem_cli_usage_error("serve", "unknown option '%s'", a);
            goto out;
        }
        kbs[n_kbs++] = a;
    }
    if (n_kbs == 0) {
        sem_cli_usage_error("serve", "give at least one knowledge base directory");
        goto out;
    }
    if (!*p.host) {
        sem_cli_usage_error("serve", "--host is empty");
        goto out;
    }

    /* Block the stop signals in every thread (the server's threads inherit this mask); this thread waits for
     * them with sigwait, so no handler runs inside a request. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    sem_error err = {0};
    sem_server *s = sem_server_new(kbs, n_kbs, &p, &err);
    if (!s) {
        rc = sem_cli_fail(&err);
        goto out;
    }
    int v6 = strchr(p.host, ':') != NULL;
    printf("serving on http://%s%s%s:%d/\n", v6 ? "[" : "", p.host, v6 ? "]" : "", sem_server_port(s));
    fflush(stdout);
    int sig = 0;
    sigwait(&stop, &sig);
    fprintf(stderr, "semsearch: %s: shutting down (finishing requests in flight)\n",
            sig == SIGINT ? "SIGINT" : "SIGTERM");
    sem_server_shutdown(s, (double)grace);
    sem_server_free(s);
    fprintf(stderr, "semsearch: stopped\n");
    rc = SEM_EXIT_OK;
out:
    free(kbs);
    return rc;
}
