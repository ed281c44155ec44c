/* cli/cmd_query.c: `semsearch query KB "question"`: ranked passages from a KB (query/search.h). */
#include "cli/cli.h"
#include "query/search.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FILTERS 32

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: semsearch query KB QUESTION [options]\n\n"
            "Searches the knowledge base KB and prints the best passages, best first.\n\n"
            "Options:\n"
            "  -k K                    number of hits (default 10, at most 10000)\n"
            "  --mode M                hybrid (the default when the KB has a model: both rankings fused),\n"
            "                          semantic (vector search with the KB's model) or lexical (FTS5 bm25;\n"
            "                          the default, and the only mode, for a KB without a model)\n"
            "  --semantic-weight W     hybrid: weight of the semantic side in (0, 1] (default: the KB's, calibrated\n"
            "                          when it was indexed (see kb info), else %.2f)\n"
            "  --fusion cc|rrf         hybrid: convex combination of normalised scores (cc, default) or\n"
            "                          weighted reciprocal rank fusion (rrf)\n"
            "  --nprobe N              IVF lists to visit (default: the KB's); more is slower and more exact\n"
            "  --filter KEY=VALUE      only documents whose metadata KEY equals VALUE (repeat: all must hold)\n"
            "  --model DIR|NAME        the model folder, when the KB does not know where its model is\n"
            "  --json [FILE]           one JSON object: {\"query\",\"mode\",\"took_ms\",\"hits\":[{\"id\",\n"
            "                          \"passage\",\"score\",\"text\",\"title\",\"metadata\",...}]}, on stdout\n"
            "                          instead of the list, or into FILE (given after KB and QUESTION)\n"
            "  --threads N             query encoder threads (default: all cores, or $OPENBLAS_NUM_THREADS)\n"
            "  -q, --quiet             no info messages\n\n"
            "Examples:\n"
            "  semsearch query kb/faq \"how long does the virus survive on surfaces?\" -k 3\n"
            "  semsearch query kb/faq \"masks children\" --mode lexical --filter lang=en --json\n",
            (double)SEM_HYBRID_SEMANTIC_WEIGHT);
}

/* Prints at most max bytes of s on one indented block, cut on a UTF-8 character boundary. */
static void print_snippet(const char *s, size_t max)
{
    size_t n = strlen(s);
    size_t cut = n <= max ? n : max;
    while (cut < n && cut > 0 && ((unsigned char)s[cut] & 0xC0) == 0x80)
        cut--;
    fputs("    ", stdout);
    for (size_t i = 0; i < cut; i++) {
        if (s[i] == '\n') {
            if (i + 1 < cut && s[i + 1] == '\n')
                continue; /* one line break for a paragraph break */
            fputs("\n    ", stdout);
        } else if (s[i] != '\r') {
            putchar(s[i]);
        }
    }
    if (cut < n)
        fputs(" …", stdout);
    putchar('\n');
}

/* Writes the JSON object to file ("-": stdout); 0, or -1 after printing why. */
static int print_json(const char *file, const char *query, int mode, const sem_search_result *r)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *hits = cJSON_CreateArray();
    if (!o || !hits) {
        cJSON_Delete(o);
        cJSON_Delete(hits);
        return -1;
    }
    cJSON_AddStringToObject(o, "query", query);
    cJSON_AddStringToObject(o, "mode", sem_search_mode_name(mode));
    cJSON_AddNumberToObject(o, "took_ms", (double)(long long)(r->took_ms * 1000.0 + 0.5) / 1000.0);
    if (mode == SEM_MODE_HYBRID)
        cJSON_AddNumberToObject(o, "semantic_weight", (double)(long long)(r->semantic_weight * 1000.0f + 0.5f) / 1000.0);
    cJSON_AddItemToObject(o, "hits", hits);
    for (int i = 0; i < r->n; i++) {
        const sem_search_hit *h = &r->hits[i];
        cJSON *j = cJSON_CreateObject();
        if (!j)
            break;
        cJSON_AddItemToArray(hits, j);
        cJSON_AddStringToObject(j, "id", h->doc_id);
        cJSON_AddNumberToObject(j, "passage", h->passage_no);
        cJSON_AddNumberToObject(j, "score", h->score);
        cJSON_AddStringToObject(j, "text", h->text ? h->text : "");
        if (h->title)
            cJSON_AddStringToObject(j, "title", h->title);
        else
            cJSON_AddNullToObject(j, "title");
        cJSON *meta = cJSON_Parse(h->meta_json ? h->meta_json : "{}");
        cJSON_AddItemToObject(j, "metadata", meta ? meta : cJSON_CreateObject());
        cJSON_AddNumberToObject(j, "start", (double)h->start);
        cJSON_AddNumberToObject(j, "end", (double)h->end);
        if (h->semantic_rank)
            cJSON_AddNumberToObject(j, "semantic_rank", h->semantic_rank);
        if (h->lexical_rank)
            cJSON_AddNumberToObject(j, "lexical_rank", h->lexical_rank);
    }
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    size_t n = s ? strlen(s) : 0;
    char *line = s ? realloc(s, n + 2) : NULL;
    if (!line) {
        free(s);
        fprintf(stderr, "semsearch: error: out of memory\n");
        return -1;
    }
    memcpy(line + n, "\n", 2);
    int rc = sem_cli_write_text(file, line);
    free(line);
    return rc;
}

static void print_human(const sem_search_result *r, int mode)
{
    if (r->n == 0) {
        printf("no results\n");
        return;
    }
    for (int i = 0; i < r->n; i++) {
        const sem_search_hit *h = &r->hits[i];
        /* bm25 scores of tiny corpora are ~1e-6: keep their digits */
        printf(fabsf(h->score) >= 1e-3f || h->score == 0 ? "%2d. [%.4f] %s" : "%2d. [%.3g] %s", i + 1, h->score,
               h->doc_id);
        if (h->passage_no)
            printf(" (passage %d)", h->passage_no);
        if (h->title)
            printf("  %s", h->title);
        putchar('\n');
        print_snippet(h->text ? h->text : "", 400);
        if (h->meta_json && strcmp(h->meta_json, "{}") != 0) {
            /* metadata without the (long) answer, which the text shows already */
            cJSON *m = cJSON_Parse(h->meta_json);
            if (m) {
                cJSON_DeleteItemFromObjectCaseSensitive(m, "answer");
                cJSON_DeleteItemFromObjectCaseSensitive(m, "answer_html");
                char *s = m->child ? cJSON_PrintUnformatted(m) : NULL;
                if (s) {
                    size_t n = strlen(s);
                    if (n > 300)
                        memcpy(s + 296, "…}", 5);
                    printf("    %s\n", s);
                    free(s);
                }
                cJSON_Delete(m);
            }
        }
    }
    if (mode == SEM_MODE_HYBRID)
        printf("(%d hit%s, hybrid at semantic weight %.2f, %.1f ms)\n", r->n, r->n == 1 ? "" : "s",
               (double)r->semantic_weight, r->took_ms);
    else
        printf("(%d hit%s, %s, %.1f ms)\n", r->n, r->n == 1 ? "" : "s", sem_search_mode_name(mode), r->took_ms);
}

int sem_cmd_query(int argc, char **argv)
{
    const char *pos[2] = {NULL, NULL};
    int npos = 0, mode_given = 0;
    const char *json = NULL; /* --json: the file, "-" for stdout */
    sem_query_params qp = sem_query_default_params();
    sem_search_open_params op = sem_search_default_open_params();
    const char *fkeys[MAX_FILTERS], *fvals[MAX_FILTERS];
    char *fbuf[MAX_FILTERS];
    int nf = 0, rc = SEM_EXIT_OK;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        long n;
        if (sem_cli_is_help(a)) {
            usage(stdout);
            rc = SEM_EXIT_OK;
            goto out;
        }
        if (sem_cli_opt_json(argc, argv, &i, npos == 2, &json))
            continue;
        if (sem_cli_is_quiet(a)) {
            sem_cli_set_quiet();
            continue;
        }
        int has_val = strcmp(a, "-k") == 0 || strcmp(a, "--mode") == 0 || strcmp(a, "--nprobe") == 0 ||
                      strcmp(a, "--filter") == 0 || strcmp(a, "--model") == 0 || strcmp(a, "--fusion") == 0 ||
                      strcmp(a, "--semantic-weight") == 0 || strcmp(a, "--threads") == 0;
        if (has_val && i + 1 >= argc) {
            rc = sem_cli_usage_error("query", "%s needs a value", a);
            goto out;
        }
        if (strcmp(a, "-k") == 0) {
            if (sem_cli_parse_int(argv[++i], 1, 10000, &n)) {
                rc = sem_cli_usage_error("query", "-k wants an integer in [1, 10000], not '%s'", argv[i]);
                goto out;
            }
            qp.k = (int)n;
        } else if (strcmp(a, "--nprobe") == 0) {
            if (sem_cli_parse_int(argv[++i], 1, 1 << 20, &n)) {
                rc = sem_cli_usage_error("query", "--nprobe wants a positive integer, not '%s'", argv[i]);
                goto out;
            }
            qp.nprobe = (int)n;
        } else if (strcmp(a, "--mode") == 0) {
            int m = sem_search_mode_parse(argv[++i]);
            if (m < 0) {
                rc = sem_cli_usage_error("query", "unknown --mode '%s' (semantic, lexical, hybrid)", argv[i]);
                goto out;
            }
            qp.mode = (sem_search_mode)m;
            mode_given = 1;
        } else if (strcmp(a, "--fusion") == 0) {
            int f = sem_fusion_parse(argv[++i]);
            if (f < 0) {
                rc = sem_cli_usage_error("query", "unknown --fusion '%s' (cc, rrf)", argv[i]);
                goto out;
            }
            qp.fusion = (sem_fusion_method)f;
        } else if (strcmp(a, "--semantic-weight") == 0) {
            double w;
            if (sem_cli_parse_double(argv[++i], 0, 1, &w) || w <= 0) {
                rc = sem_cli_usage_error("query", "--semantic-weight wants a number in (0, 1], not '%s'", argv[i]);
                goto out;
            }
            qp.semantic_weight = (float)w;
        } else if (strcmp(a, "--model") == 0) {
            op.model = argv[++i];
        } else if (strcmp(a, "--filter") == 0) {
            const char *kv = argv[++i], *eq = strchr(kv, '=');
            if (!eq || eq == kv) {
                rc = sem_cli_usage_error("query", "--filter wants KEY=VALUE, not '%s'", kv);
                goto out;
            }
            if (nf == MAX_FILTERS) {
                rc = sem_cli_usage_error("query", "at most %d filters", MAX_FILTERS);
                goto out;
            }
            char *k = strdup(kv);
            if (!k) {
                rc = SEM_EXIT_FAIL;
                goto out;
            }
            k[eq - kv] = 0;
            fbuf[nf] = k;
            fkeys[nf] = k;
            fvals[nf] = k + (eq - kv) + 1;
            nf++;
        } else if (strcmp(a, "--threads") == 0) {
            if (sem_cli_parse_int(argv[++i], 1, 1024, &n)) {
                rc = sem_cli_usage_error("query", "--threads wants an integer in [1, 1024], not '%s'", argv[i]);
                goto out;
            }
            sem_cli_set_threads(n);
        } else if (a[0] == '-' && a[1] && !(npos == 1)) {
            rc = sem_cli_usage_error("query", "unknown option '%s'", a);
            goto out;
        } else if (npos < 2) {
            pos[npos++] = a;
        } else {
            rc = sem_cli_usage_error("query", "unexpected argument '%s' (quote the question)", a);
            goto out;
        }
    }
    if (npos < 2) {
        rc = sem_cli_usage_error("query", npos ? "no QUESTION given" : "no KB and no QUESTION given");
        goto out;
    }
    qp.filter_keys = fkeys;
    qp.filter_values = fvals;
    qp.n_filters = nf;
    sem_error err;
    sem_error_clear(&err);
    sem_search *s = sem_search_open(pos[0], &op, &err);
    if (!s) {
        rc = sem_cli_fail(&err);
        goto out;
    }
    if (!mode_given)
        qp.mode = sem_search_model(s) ? SEM_MODE_HYBRID : SEM_MODE_LEXICAL;
    sem_search_result res;
    if (sem_search_query(s, pos[1], &qp, &res, &err) != SEM_OK) {
        rc = sem_cli_fail(&err);
    } else {
        if (!json || strcmp(json, "-") != 0)
            print_human(&res, qp.mode);
        if (json && print_json(json, pos[1], qp.mode, &res))
            rc = SEM_EXIT_FAIL;
        sem_search_result_clear(&res);
    }
    sem_search_free(s);
out:
    for (int i = 0; i < nf; i++)
        free(fbuf[i]);
    return rc;
}
