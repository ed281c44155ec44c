/* web/metrics.c: Prometheus counters for the HTTP service. Every counter is a relaxed atomic, so recording a
 * request never takes a lock; a scrape reads each counter once (the text is not an atomic snapshot, which
 * Prometheus does not need). */
#include "web/internal.h"

#include <stdio.h>
#include <stdlib.h>

/* Statuses the service answers with; anything else is counted under "other". */
static const int statuses[] = {200, 400, 401, 404, 405, 413, 500, 503};
#define N_STATUS ((int)(sizeof statuses / sizeof statuses[0]) + 1)

/* Latency bucket upper bounds in seconds (Prometheus "le"). */
static const double bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
#define N_BOUNDS ((int)(sizeof bounds / sizeof bounds[0]))

struct web_metrics {
    atomic_ullong requests[WEB_R_COUNT][N_STATUS];
    atomic_ullong buckets[WEB_R_COUNT][N_BOUNDS + 1]; /* per bucket (not cumulative); last = +Inf */
    atomic_ullong sum_us[WEB_R_COUNT];                /* total latency in microseconds */
    atomic_ullong texts, tokens;
};

web_metrics *web_metrics_new(void)
{
    /* calloc'd memory is a valid zero for these lock-free atomics on every platform we build for. */
    return calloc(1, sizeof(web_metrics));
}

void web_metrics_free(web_metrics *m)
{
    free(m);
}

void web_metrics_observe(web_metrics *m, int route, int status, double seconds)
{
    if (route < 0 || route >= WEB_R_COUNT)
        route = WEB_R_OTHER;
    int si = N_STATUS - 1;
    for (int i = 0; i < N_STATUS - 1; i++)
        if (statuses[i] == status)
            si = i;
    int b = N_BOUNDS;
    for (int i = 0; i < N_BOUNDS; i++)
        if (seconds <= bounds[i]) {
            b = i;
            break;
        }
    if (seconds < 0)
        seconds = 0;
    atomic_fetch_add_explicit(&m->requests[route][si], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->buckets[route][b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->sum_us[route], (unsigned long long)(seconds * 1e6 + 0.5), memory_order_relaxed);
}

void web_metrics_encoded(web_metrics *m, long texts, long tokens)
{
    if (texts > 0)
        atomic_fetch_add_explicit(&m->texts, (unsigned long long)texts, memory_order_relaxed);
    if (tokens > 0)
        atomic_fetch_add_explicit(&m->tokens, (unsigned long long)tokens, memory_order_relaxed);
}

static unsigned long long ld(atomic_ullong *a)
{
    return atomic_load_explicit(a, memory_order_relaxed);
}

void web_metrics_write(web_metrics *m, sem_strbuf *b)
{
    sem_strbuf_puts(b, "# HELP semsearch_http_requests_total HTTP requests answered, by route and status.\n"
                       "# TYPE semsearch_http_requests_total counter\n");
    for (int r = 0; r < WEB_R_COUNT; r++)
        for (int s = 0; s < N_STATUS; s++) {
            unsigned long long n = ld(&m->requests[r][s]);
            if (!n)
                continue;
            char st[16];
            if (s < N_STATUS - 1)
                snprintf(st, sizeof st, "%d", statuses[s]);
            else
                snprintf(st, sizeof st, "other");
            sem_strbuf_printf(b, "semsearch_http_requests_total{method=\"%s\",route=\"%s\",status=\"%s\"} %llu\n",
                              web_route_method(r), web_route_path(r), st, n);
        }

    sem_strbuf_puts(b, "# HELP semsearch_http_request_duration_seconds Time from the request's first byte to its "
                       "response, by route.\n"
                       "# TYPE semsearch_http_request_duration_seconds histogram\n");
    for (int r = 0; r < WEB_R_COUNT; r++) {
        unsigned long long cum = 0, counts[N_BOUNDS + 1];
        for (int i = 0; i <= N_BOUNDS; i++)
            counts[i] = ld(&m->buckets[r][i]);
        unsigned long long total = 0;
        for (int i = 0; i <= N_BOUNDS; i++)
            total += counts[i];
        if (!total)
            continue;
        const char *me = web_route_method(r), *pa = web_route_path(r);
        for (int i = 0; i < N_BOUNDS; i++) {
            cum += counts[i];
            sem_strbuf_printf(b, "semsearch_http_request_duration_seconds_bucket{method=\"%s\",route=\"%s\",le=\"%g\"} %llu\n",
                              me, pa, bounds[i], cum);
        }
        sem_strbuf_printf(b, "semsearch_http_request_duration_seconds_bucket{method=\"%s\",route=\"%s\",le=\"+Inf\"} %llu\n",
                          me, pa, total);
        sem_strbuf_printf(b, "semsearch_http_request_duration_seconds_sum{method=\"%s\",route=\"%s\"} %.6f\n", me, pa,
                          (double)ld(&m->sum_us[r]) / 1e6);
        sem_strbuf_printf(b, "semsearch_http_request_duration_seconds_count{method=\"%s\",route=\"%s\"} %llu\n", me, pa,
                          total);
    }

    sem_strbuf_printf(b,
                      "# HELP semsearch_encode_texts_total Texts encoded by the BERT encoder (queries, embeddings, "
                      "documents).\n# TYPE semsearch_encode_texts_total counter\nsemsearch_encode_texts_total %llu\n"
                      "# HELP semsearch_encode_tokens_total WordPiece tokens encoded, [CLS] and [SEP] included.\n"
                      "# TYPE semsearch_encode_tokens_total counter\nsemsearch_encode_tokens_total %llu\n",
                      ld(&m->texts), ld(&m->tokens));
}
