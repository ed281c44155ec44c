/* cli/cmd_query.c: `semsearch query KB "question"`: ranked passages from a KB (query/search.h). */
#include "cli/cli.h"
#include "encoder/encoder.h"
#include "query/resultjson.h"
#include "query/search.h"
#include "shard/shard.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* Writes the result as JSON (query/resultjson.h, the body of POST /search, with "query") to file ("-": stdout);
 * 0, or -1 after printing why. */
static int print_json(const char *file, const char *query, int mode, const sem_search_result *r)
{
    cJSON *o = sem_search_result_json(r, mode, r->took_ms);
    char *s = o && cJSON_AddStringToObject(o, "query", query) ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    int rc = s ? sem_cli_write_line(file, s) : -1;
    if (!s)
        fprintf(stderr, "semsearch: error: out of memory\n");
    free(s);
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

/* Splits the --filter KEY=VALUE values into keys and values (copies: fbuf[i] holds both; the caller frees). */
static int split_filters(const char *const *kv, int n, const char **keys, const char **vals, char **fbuf)
{
    for (int i = 0; i < n; i++) {
        size_t eq = strcspn(kv[i], "=");
        if (!(fbuf[i] = strdup(kv[i]))) {
            fprintf(stderr, "semsearch: error: out of memory\n");
            return -1;
        }
        fbuf[i][eq] = 0;
        keys[i] = fbuf[i];
        vals[i] = fbuf[i] + eq + 1;
    }
    return 0;
}

static int valid_filter(const char *kv)
{
    const char *eq = strchr(kv, '=');
    return eq && eq != kv ? 0 : -1;
}

/* An ordinary KB's search handle or a sharded KB's (shard/shard.h): the one that fits the folder. */
typedef struct searcher {
    sem_search *s;
    sem_shard_search *sh;
} searcher;

static int searcher_open(searcher *x, const char *kb, const sem_search_open_params *op, sem_error *err)
{
    if (sem_shard_exists(kb))
        x->sh = sem_shard_search_open(kb, op, err);
    else
        x->s = sem_search_open(kb, op, err);
    return x->s || x->sh ? 0 : -1;
}

/* Searches and prints; an exit status. */
static int run(const char *kb, const char *question, int mode, sem_query_params *qp,
               const sem_search_open_params *op, const char *json)
{
    sem_error err;
    sem_error_clear(&err);
    searcher x = {0};
    if (searcher_open(&x, kb, op, &err))
        return sem_cli_fail(&err);
    const sem_model *model = x.sh ? sem_shard_search_model(x.sh) : sem_search_model(x.s);
    qp->mode = mode >= 0 ? (sem_search_mode)mode : model ? SEM_MODE_HYBRID : SEM_MODE_LEXICAL;
    sem_search_result res;
    int rc = SEM_EXIT_OK;
    if ((x.sh ? sem_shard_search_query(x.sh, question, qp, &res, &err)
              : sem_search_query(x.s, question, qp, &res, &err)) != SEM_OK) {
        rc = sem_cli_fail(&err);
    } else {
        if (!json || strcmp(json, "-") != 0)
            print_human(&res, qp->mode);
        if (json && print_json(json, question, qp->mode, &res))
            rc = SEM_EXIT_FAIL;
        sem_search_result_clear(&res);
    }
    sem_search_free(x.s);
    sem_shard_search_free(x.sh);
    return rc;
}

int sem_cmd_query(int argc, char **argv)
{
    sem_query_params qp = sem_query_default_params();
    sem_search_open_params op = sem_search_default_open_params();
    const char *pos[2], *json = NULL, *filters[SEM_QUERY_MAX_FILTERS];
    int npos = 0, nf = 0, mode = -1, fusion = SEM_FUSION_CC, quiet = 0;
    char wdef[160];
    snprintf(wdef, sizeof wdef, "hybrid: weight of the semantic side in (0, 1] (default: the KB's, calibrated\n"
             "when it was indexed (see kb info), else %.2f)", (double)SEM_HYBRID_SEMANTIC_WEIGHT);
    const sem_cli_opt opts[] = {
        SEM_OPT_SEC("Options:"),
        SEM_OPT_I("-k", 0, qp.k, "K", 1, 10000, "number of hits (default 10, at most 10000)"),
        SEM_OPT_E("--mode", mode, "M", sem_search_mode_parse, "semantic, lexical or hybrid",
                  "hybrid (the default when the KB has a model: both rankings fused),\nsemantic (vector search with "
                  "the KB's model) or lexical (FTS5 bm25;\nthe default, and the only mode, for a KB without a model)"),
        SEM_OPT_D_OPEN("--semantic-weight", qp.semantic_weight, "W", 0, 1, wdef),
        SEM_OPT_E("--fusion", fusion, "cc|rrf", sem_fusion_parse, "cc or rrf",
                  "hybrid: convex combination of normalised scores (cc, default) or\nweighted reciprocal rank fusion "
                  "(rrf)"),
        SEM_OPT_I("--nprobe", 0, qp.nprobe, "N", 1, 1 << 20,
                  "IVF lists to visit (default: the KB's); more is slower and more exact"),
        SEM_OPT_L("--filter", filters, nf, "KEY=VALUE", valid_filter, "KEY=VALUE",
                  "only documents whose metadata KEY equals VALUE (repeat: all must hold)"),
        SEM_OPT_S("--model", 0, op.model, "DIR|NAME", "the model folder, when the KB does not know where its model is"),
        SEM_OPT_JSON_(json, "one JSON object (docs/query.md, \"Search results as JSON\": the body\nof POST /search "
                            "with \"query\"), on stdout instead of the list,\nor into FILE (given after KB and "
                            "QUESTION)"),
        SEM_OPT_I("--threads", 0, op.n_threads, "N", 1, 1024,
                  "query encoder threads (default: all cores, or $OPENBLAS_NUM_THREADS)"),
        SEM_OPT_E("--precision", op.precision, "P", sem_precision_parse, "f32, bf16 or int8",
                  "encoder linear layers in f32, bf16 or int8 (default: the KB's, recorded\nby 'index add "
                  "--precision', see kb info; else f32)"),
        SEM_OPT_QUIET(quiet, "no info messages"),
        {0}};
    const sem_cli_cmd cmd = {
        "query",
        "Usage: semsearch query KB QUESTION [options]\n\n"
        "Searches the knowledge base KB (or each shard of a sharded KB, docs/scale.md) and prints the best\n"
        "passages, best first.\n\n",
        opts,
        "Examples:\n"
        "  semsearch query kb/faq \"how long does the virus survive on surfaces?\" -k 3\n"
        "  semsearch query kb/faq \"masks children\" --mode lexical --filter lang=en --json\n",
        pos, 2, &npos, 2, " (quote the question)"};
    int st;
    if (!sem_cli_parse(&cmd, argc, argv, &st))
        return st;
    if (npos < 2)
        return sem_cli_usage_error("query", npos ? "no QUESTION given" : "no KB and no QUESTION given");
    if (quiet)
        sem_cli_set_quiet();
    const char *fkeys[SEM_QUERY_MAX_FILTERS], *fvals[SEM_QUERY_MAX_FILTERS];
    char *fbuf[SEM_QUERY_MAX_FILTERS] = {0};
    qp.fusion = (sem_fusion_method)fusion;
    qp.filter_keys = fkeys;
    qp.filter_values = fvals;
    qp.n_filters = nf;
    st = split_filters(filters, nf, fkeys, fvals, fbuf) ? SEM_EXIT_FAIL : run(pos[0], pos[1], mode, &qp, &op, json);
    for (int i = 0; i < nf; i++)
        free(fbuf[i]);
    return st;
}
