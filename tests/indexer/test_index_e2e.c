/* tests/indexer/test_index_e2e.c: `semsearch index add|rm` and `semsearch query` end to end on the bundled COVID
 * FAQ with the bert-tiny fixture model (random weights: semantic rankings mean nothing, so the checks are exact
 * ones: a passage's own text finds that passage first; lexical hits contain the words).
 * Covers: add, re-add (nothing changes), update, delete, the three modes, filters, --json, chunk offsets, resume
 * after SIGKILL (nothing lost or duplicated), malformed inputs (bad quoting, invalid UTF-8, empty files, a 50 MB
 * line), a lexical-only KB, and usage errors. */
#include "test.h"
#include "test_util.h"

#include <cjson/cJSON.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/fileio.h"
#include "query/search.h"
#include "store/kb.h"

#define MODEL SEM_SHARED_DIR "/testdata/models/bert-tiny-uncased"
#define FAQ SEM_SOURCE_DIR "/data/covid-faq/faq_covidbert.csv"
#define FAQ_ROWS 213

static char tmp[256];
static char out_buf[1 << 20], err_buf[1 << 16];

static void slurp(const char *path, char *buf, size_t cap)
{
    buf[0] = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return;
    size_t n = fread(buf, 1, cap - 1, f);
    buf[n] = 0;
    fclose(f);
}

/* Runs "semsearch ARGS" (args formatted, shell-quoted by the caller); stdout/stderr into out_buf/err_buf. */
static int sem(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sem(const char *fmt, ...)
{
    char args[4096], cmd[8192], o[512], e[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(o, sizeof o, "%s/stdout", tmp);
    snprintf(e, sizeof e, "%s/stderr", tmp);
    snprintf(cmd, sizeof cmd, "%s %s >'%s' 2>'%s'", SEM_BINARY, args, o, e);
    int st = system(cmd);
    slurp(o, out_buf, sizeof out_buf);
    slurp(e, err_buf, sizeof err_buf);
    /* under the sanitizer build a report in the child must fail the test even where exit 1 is expected */
    CHECK_MSG(strstr(err_buf, "Sanitizer") == NULL && strstr(err_buf, "runtime error") == NULL, "semsearch %s: %s",
              args, err_buf);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void write_file(const char *name, const char *content)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", tmp, name);
    CHECK_MSG(tst_write_file(p, content, strlen(content)) == 0, "cannot write %s", p);
}

static void counts(const char *kb_dir, int64_t *docs, int64_t *passages)
{
    *docs = *passages = -1;
    sem_kb_open_params op = sem_kb_default_open_params();
    op.read_only = 1;
    sem_kb *kb = sem_kb_open(kb_dir, &op, NULL);
    if (!kb)
        return;
    sem_kb_count(kb, docs, passages, NULL);
    sem_kb_close(kb);
}

/* Queries through the C API (the web server's path). */
static int query(sem_search *s, const char *q, int mode, int k, sem_search_result *r)
{
    sem_query_params p = sem_query_default_params();
    p.mode = (sem_search_mode)mode;
    p.k = k;
    sem_error err;
    int rc = sem_search_query(s, q, &p, r, &err);
    if (rc)
        fprintf(stderr, "query failed: %s\n", err.msg);
    return rc;
}

static int contains_ci(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++)
        if (strncasecmp(hay, needle, n) == 0)
            return 1;
    return 0;
}

static void test_faq(const char *kb)
{
    /* add */
    CHECK_EQ_INT(sem("index add '%s' '%s' --model '%s' --batch 32", kb, FAQ, MODEL), 0);
    CHECK_MSG(strstr(out_buf, "213 documents added") != NULL, "%s%s", out_buf, err_buf);
    int64_t nd, np;
    counts(kb, &nd, &np);
    CHECK_EQ_INT(nd, FAQ_ROWS);
    CHECK(np >= FAQ_ROWS);

    /* re-adding the same file changes nothing */
    CHECK_EQ_INT(sem("index add '%s' '%s'", kb, FAQ), 0);
    CHECK_MSG(strstr(out_buf, "0 documents added, 0 replaced (0 passages), 213 unchanged") != NULL, "%s%s", out_buf, err_buf);
    int64_t nd2, np2;
    counts(kb, &nd2, &np2);
    CHECK_EQ_INT(nd2, nd);
    CHECK_EQ_INT(np2, np);

    sem_error err;
    sem_search *s = sem_search_open(kb, NULL, &err);
    CHECK_MSG(s != NULL, "%s", err.msg);
    if (!s)
        return;
    /* semantic: every 10th document's passages, queried with their own text, come back first */
    sem_kb *k = sem_search_kb(s);
    int tried = 0, first = 0, chunk_ok = 1, hybrid_ok = 0;
    for (int row = 1; row <= FAQ_ROWS; row += 10) {
        char id[64];
        snprintf(id, sizeof id, "faq_covidbert.csv#%d", row);
        sem_kb_doc_out *d = NULL;
        if (sem_kb_get_doc(k, id, 0, &d, &err) != SEM_OK) {
            CHECK_MSG(0, "%s: %s", id, err.msg);
            continue;
        }
        for (int p = 0; p < d->n_passages; p++) {
            const sem_kb_passage_out *po = &d->passages[p];
            /* offsets point at the passage text */
            chunk_ok &= po->end > po->start && po->end <= (int64_t)strlen(d->text) &&
                        strncmp(d->text + po->start, po->text, (size_t)(po->end - po->start)) == 0 &&
                        strlen(po->text) == (size_t)(po->end - po->start);
            sem_search_result r;
            tried++;
            if (query(s, po->text, SEM_MODE_SEMANTIC, 3, &r) == SEM_OK) {
                if (r.n > 0 && strcmp(r.hits[0].text, po->text) == 0 && r.hits[0].semantic_rank == 1)
                    first++;
                else
                    fprintf(stderr, "semantic miss for %s passage %d: got %s\n", id, p,
                            r.n ? r.hits[0].doc_id : "nothing");
                sem_search_result_clear(&r);
            }
            if (query(s, po->text, SEM_MODE_HYBRID, 3, &r) == SEM_OK) {
                for (int i = 0; i < r.n; i++)
                    if (strcmp(r.hits[i].text, po->text) == 0 && r.hits[i].semantic_rank == 1) {
                        hybrid_ok++;
                        break;
                    }
                sem_search_result_clear(&r);
            }
        }
        /* FAQ rows keep the answer for display */
        CHECK(d->n_passages >= 1 && d->title && strstr(d->text, d->title) == d->text);
        sem_kb_doc_out_free(d);
    }
    CHECK(tried >= 22);
    CHECK_EQ_INT(first, tried);
    CHECK_EQ_INT(hybrid_ok, tried);
    CHECK(chunk_ok);

    /* lexical: every hit contains the word; answers come through */
    sem_search_result r;
    if (query(s, "incubation", SEM_MODE_LEXICAL, 5, &r) == SEM_OK) {
        CHECK(r.n >= 1);
        int all = 1;
        for (int i = 0; i < r.n; i++)
            all &= contains_ci(r.hits[i].text, "incubation") && r.hits[i].lexical_rank == i + 1 &&
                    r.hits[i].answer != NULL && r.hits[i].title != NULL;
        CHECK(all);
        for (int i = 1; i < r.n; i++)
            CHECK(r.hits[i].score <= r.hits[i - 1].score);
        sem_search_result_clear(&r);
    }
    /* punctuation and FTS5 operators in a question never break lexical or hybrid search */
    const char *nasty[] = {"What's \"COVID-19\"? (AND) OR NOT * ^ : NEAR(", "\"", "-", "a:b", "?", "*",
                           "mask OR", "col:country"};
    for (size_t i = 0; i < sizeof nasty / sizeof *nasty; i++) {
        CHECK_MSG(query(s, nasty[i], SEM_MODE_LEXICAL, 5, &r) == SEM_OK, "lexical '%s'", nasty[i]);
        sem_search_result_clear(&r);
        CHECK_MSG(query(s, nasty[i], SEM_MODE_HYBRID, 5, &r) == SEM_OK, "hybrid '%s'", nasty[i]);
        sem_search_result_clear(&r);
    }
    /* empty query and bad k are errors, not crashes */
    sem_query_params qp = sem_query_default_params();
    CHECK_EQ_INT(sem_search_query(s, "   ", &qp, &r, &err), SEM_EINVAL);
    qp.k = 0;
    CHECK_EQ_INT(sem_search_query(s, "virus", &qp, &r, &err), SEM_ERANGE);
    CHECK_EQ_INT(sem_search_query(s, "bad \xFF utf8", &qp, &r, &err) < 0, 1);
    /* a raw vector query */
    float vec[64];
    for (int i = 0; i < 64; i++)
        vec[i] = (float)(i % 7) - 3.0f;
    qp = sem_query_default_params();
    CHECK_EQ_INT(sem_search_query_vector(s, vec, 64, &qp, &r, &err), SEM_OK);
    CHECK_EQ_INT(r.n, 10);
    sem_search_result_clear(&r);
    CHECK_EQ_INT(sem_search_query_vector(s, vec, 63, &qp, &r, &err), SEM_EINVAL);
    /* filters */
    const char *fk[] = {"country"}, *fv[] = {"Germany"};
    qp = sem_query_default_params();
    qp.filter_keys = fk;
    qp.filter_values = fv;
    qp.n_filters = 1;
    qp.k = 50;
    for (int mode = 0; mode < 3; mode++) {
        if (sem_search_query(s, "coronavirus", &(sem_query_params){.k = 50, .mode = (sem_search_mode)mode,
                                                                    .filter_keys = fk, .filter_values = fv,
                                                                    .n_filters = 1},
                             &r, &err) != SEM_OK) {
            CHECK_MSG(0, "filter query: %s", err.msg);
            continue;
        }
        int all = r.n > 0;
        for (int i = 0; i < r.n; i++)
            all &= strstr(r.hits[i].meta_json, "\"country\":\"Germany\"") != NULL;
        CHECK_MSG(all, "mode %d: %d hits", mode, r.n);
        if (mode == SEM_MODE_SEMANTIC)
            CHECK(r.n >= 30); /* the FAQ has 30 German rows */
        sem_search_result_clear(&r);
    }
    fv[0] = "Atlantis";
    CHECK_EQ_INT(sem_search_query(s, "coronavirus", &qp, &r, &err), SEM_OK);
    CHECK_EQ_INT(r.n, 0);
    sem_search_result_clear(&r);
    sem_search_free(s);

    /* the CLI: human output, --json, filters, usage errors */
    CHECK_EQ_INT(sem("query '%s' 'How long is the incubation period?' -k 3 --mode lexical", kb), 0);
    CHECK(strstr(out_buf, " 1. [") != NULL && strstr(out_buf, "3 hits, lexical") != NULL);
    CHECK_EQ_INT(sem("query '%s' 'masks' -k 4 --mode hybrid --filter country=USA --json", kb), 0);
    cJSON *j = cJSON_Parse(out_buf);
    CHECK(j != NULL);
    const cJSON *hits = cJSON_GetObjectItemCaseSensitive(j, "hits");
    CHECK_EQ_INT(cJSON_GetArraySize(hits), 4);
    const cJSON *h;
    int json_ok = 1;
    cJSON_ArrayForEach(h, hits)
    {
        const cJSON *meta = cJSON_GetObjectItemCaseSensitive(h, "metadata");
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(meta, "country");
        json_ok &= cJSON_IsString(cJSON_GetObjectItemCaseSensitive(h, "id")) &&
                   cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(h, "score")) &&
                   cJSON_IsString(cJSON_GetObjectItemCaseSensitive(h, "text")) && cJSON_IsString(c) &&
                   strcmp(c->valuestring, "USA") == 0;
    }
    CHECK(json_ok);
    CHECK_STREQ(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "mode")), "hybrid");
    cJSON_Delete(j);
    CHECK_EQ_INT(sem("query '%s' 'x' --mode fuzzy", kb), 2);
    CHECK_EQ_INT(sem("query '%s' 'x' -k 0", kb), 2);
    CHECK_EQ_INT(sem("query '%s' 'x' --filter novalue", kb), 2);
    CHECK_EQ_INT(sem("query '%s'", kb), 2);
    CHECK_EQ_INT(sem("query --help"), 0);
    CHECK(strstr(out_buf, "--mode") != NULL);
    CHECK_EQ_INT(sem("query '%s/none' 'x'", tmp), 1);
    CHECK(err_buf[0] != 0);
}

static void test_update_delete(const char *kb)
{
    write_file("docs.jsonl", "{\"id\":\"u1\",\"text\":\"The zebrafish swims in the aquarium.\",\"topic\":\"fish\"}\n"
                             "{\"id\":\"u2\",\"text\":\"Penguins cannot fly but they swim.\",\"topic\":\"bird\"}\n");
    char p[512];
    snprintf(p, sizeof p, "%s/docs.jsonl", tmp);
    CHECK_EQ_INT(sem("index add '%s' '%s' --model '%s'", kb, p, MODEL), 0);
    int64_t nd0, np0;
    counts(kb, &nd0, &np0);
    CHECK_EQ_INT(sem("query '%s' zebrafish --mode lexical --json", kb), 0);
    CHECK(strstr(out_buf, "\"id\":\"u1\"") != NULL);
    /* update u1: the new text is found, the old is gone, the count is the same */
    write_file("docs.jsonl", "{\"id\":\"u1\",\"text\":\"The axolotl regrows its limbs.\",\"topic\":\"amphibian\"}\n");
    CHECK_EQ_INT(sem("index add '%s' '%s'", kb, p), 0);
    CHECK_MSG(strstr(out_buf, "0 documents added, 1 replaced") != NULL, "%s", out_buf); /* an update: replaced */
    int64_t nd1, np1;
    counts(kb, &nd1, &np1);
    CHECK_EQ_INT(nd1, nd0);
    CHECK_EQ_INT(sem("query '%s' zebrafish --mode lexical --json", kb), 0);
    CHECK(strstr(out_buf, "\"id\":\"u1\"") == NULL);
    CHECK_EQ_INT(sem("query '%s' axolotl --mode lexical --json --filter topic=amphibian", kb), 0);
    CHECK(strstr(out_buf, "\"id\":\"u1\"") != NULL);
    /* delete */
    CHECK_EQ_INT(sem("index rm '%s' u1", kb), 0);
    CHECK(strstr(out_buf, "1 document deleted") != NULL);
    counts(kb, &nd1, &np1);
    CHECK_EQ_INT(nd1, nd0 - 1);
    CHECK_EQ_INT(sem("query '%s' axolotl --mode lexical --json", kb), 0);
    CHECK(strstr(out_buf, "\"id\":\"u1\"") == NULL);
    CHECK_EQ_INT(sem("index rm '%s' u1 no-such-id", kb), 1);
    CHECK(strstr(err_buf, "'u1'") != NULL && strstr(err_buf, "'no-such-id'") != NULL);
    CHECK_EQ_INT(sem("index rm '%s'", kb), 2);
}

static void test_chunks(const char *kb)
{
    /* a long Markdown file split into passages of at most 16 tokens with offsets into the text */
    char txt[8192] = "# Long document\n\n";
    for (int para = 0; para < 6; para++) {
        for (int s = 0; s < 4; s++)
            snprintf(txt + strlen(txt), sizeof txt - strlen(txt),
                     "Paragraph %d sentence %d talks about quokkas and wombats. ", para, s);
        strcat(txt, "\n\n");
    }
    write_file("long.md", txt);
    char p[512];
    snprintf(p, sizeof p, "%s/long.md", tmp);
    CHECK_EQ_INT(sem("index add '%s' '%s' --chunk-tokens 16 --chunk-overlap 4", kb, p), 0);
    sem_kb_open_params op = sem_kb_default_open_params();
    op.read_only = 1;
    sem_kb *k = sem_kb_open(kb, &op, NULL);
    sem_kb_doc_out *d = NULL;
    CHECK(k && sem_kb_get_doc(k, p, 0, &d, NULL) == SEM_OK);
    if (d) {
        CHECK_STREQ(d->title, "Long document");
        CHECK(d->n_passages >= 12);
        int ok = 1;
        for (int i = 0; i < d->n_passages; i++) {
            const sem_kb_passage_out *po = &d->passages[i];
            ok &= strlen(po->text) == (size_t)(po->end - po->start) &&
                  memcmp(d->text + po->start, po->text, strlen(po->text)) == 0;
            if (i)
                ok &= po->start > d->passages[i - 1].start && po->start <= d->passages[i - 1].end + 4;
        }
        CHECK(ok);
        sem_kb_doc_out_free(d);
    }
    sem_kb_close(k);
    CHECK_EQ_INT(sem("index add '%s' '%s' --chunk-tokens 16 --chunk-overlap 16", kb, p), 1);
}

static void test_malformed(const char *kb)
{
    char p[512];
    write_file("bad.csv", "question,answer\nGood one?,Yes.\n\"Bad\"quote,x\nAnother?,Fine.\n");
    snprintf(p, sizeof p, "%s/bad.csv", tmp);
    CHECK_EQ_INT(sem("index add '%s' '%s' --on-error fail", kb, p), 1);
    CHECK_MSG(strstr(err_buf, "bad.csv:3: bad CSV quoting") != NULL, "%s", err_buf);
    /* --on-error fail stops at line 3 but commits what came before it */
    CHECK_MSG(strstr(out_buf, "1 document added") != NULL, "%s", out_buf);
    CHECK_EQ_INT(sem("index add '%s' '%s'", kb, p), 0);
    CHECK_MSG(strstr(err_buf, "bad.csv:3: bad CSV quoting") != NULL, "%s", err_buf);
    CHECK_MSG(strstr(out_buf, "1 document added, 0 replaced (1 passage), 1 unchanged, 1 skipped as invalid") != NULL, "%s",
              out_buf);

    write_file("utf8.jsonl", "{\"id\":\"ok8\",\"text\":\"fine\"}\n{\"id\":\"bad8\",\"text\":\"caf\xE9\"}\n");
    snprintf(p, sizeof p, "%s/utf8.jsonl", tmp);
    CHECK_EQ_INT(sem("index add '%s' '%s'", kb, p), 0);
    CHECK_MSG(strstr(err_buf, "utf8.jsonl:2: invalid UTF-8") != NULL, "%s", err_buf);
    CHECK_EQ_INT(sem("index add '%s' '%s' --on-error fail", kb, p), 1);

    write_file("dup.jsonl", "{\"id\":\"d\",\"text\":\"one\"}\n{\"id\":\"d\",\"text\":\"two\"}\n");
    snprintf(p, sizeof p, "%s/dup.jsonl", tmp);
    CHECK_EQ_INT(sem("index add '%s' '%s'", kb, p), 0);
    CHECK_MSG(strstr(err_buf, "dup.jsonl:2: duplicate id 'd' (first seen at") != NULL, "%s", err_buf);

    write_file("empty.csv", "");
    snprintf(p, sizeof p, "%s/empty.csv", tmp);
    CHECK_EQ_INT(sem("index add '%s' '%s'", kb, p), 1);
    CHECK_MSG(strstr(err_buf, "empty file") != NULL, "%s", err_buf);
    write_file("empty.txt", "\n\n");
    snprintf(p, sizeof p, "%s/empty.txt", tmp);
    CHECK_EQ_INT(sem("index add '%s' '%s' --on-error fail", kb, p), 1);
    CHECK_MSG(strstr(err_buf, "empty file") != NULL, "%s", err_buf);
    write_file("empty.jsonl", "");
    snprintf(p, sizeof p, "%s/empty.jsonl", tmp);
    CHECK_EQ_INT(sem("index add '%s' '%s'", kb, p), 0);
    CHECK(strstr(out_buf, "0 documents added") != NULL);

    /* a 50 MB single line: a clear error, the next record still indexed, memory bounded */
    snprintf(p, sizeof p, "%s/huge.jsonl", tmp);
    FILE *f = fopen(p, "wb");
    if (f) {
        fputs("{\"id\":\"huge\",\"text\":\"", f);
        static char block[1 << 16];
        memset(block, 'z', sizeof block);
        for (int i = 0; i < 50 * 16; i++)
            fwrite(block, 1, sizeof block, f);
        fputs("\"}\n{\"id\":\"after-huge\",\"text\":\"small record after the huge one\"}\n", f);
        fclose(f);
    }
    CHECK_EQ_INT(sem("index add '%s' '%s'", kb, p), 0);
    CHECK_MSG(strstr(err_buf, "huge.jsonl:1: record longer than the maximum of 16777216 bytes") != NULL, "%s",
              err_buf);
    CHECK(strstr(out_buf, "1 document added") != NULL);
    CHECK_EQ_INT(sem("index add '%s' '%s' --on-error fail", kb, p), 1);
    unlink(p);

    /* usage errors */
    CHECK_EQ_INT(sem("index add '%s'", kb), 2);
    CHECK_EQ_INT(sem("index add '%s' x.csv --on-error maybe", kb), 2);
    CHECK_EQ_INT(sem("index add '%s' x.csv --format xml", kb), 2);
    CHECK_EQ_INT(sem("index add '%s' x.csv --batch 0", kb), 2);
    CHECK_EQ_INT(sem("index add '%s' x.csv --bogus", kb), 2);
    CHECK_EQ_INT(sem("index frobnicate"), 2);
    CHECK_EQ_INT(sem("index"), 2);
    CHECK_EQ_INT(sem("index --help"), 0);
    CHECK_EQ_INT(sem("index add --help"), 0);
    CHECK(strstr(out_buf, "--csv-question") != NULL);
    CHECK_EQ_INT(sem("index add '%s' /no/such/file.csv", kb), 1);
}

static void test_lexical_only(void)
{
    char kb[512], p[512];
    snprintf(kb, sizeof kb, "%s/lex", tmp);
    snprintf(p, sizeof p, "%s/lex.jsonl", tmp);
    write_file("lex.jsonl", "{\"id\":\"l1\",\"text\":\"Capybaras are the largest rodents.\"}\n"
                            "{\"id\":\"l2\",\"text\":\"Hamsters are small rodents.\"}\n");
    CHECK_EQ_INT(sem("index add '%s' '%s'", kb, p), 0);
    CHECK(strstr(err_buf, "lexical") != NULL);
    CHECK_EQ_INT(sem("query '%s' capybaras --mode lexical --json", kb), 0);
    CHECK(strstr(out_buf, "\"id\":\"l1\"") != NULL && strstr(out_buf, "\"id\":\"l2\"") == NULL);
    CHECK_EQ_INT(sem("query '%s' rodents --mode semantic", kb), 1);
    CHECK(strstr(err_buf, "no model") != NULL);
    CHECK_EQ_INT(sem("index add '%s' '%s' --model '%s'", kb, p, MODEL), 1);
}

/* The default model ($SEMSEARCH_MODEL here): a new KB gets it without --model, unless --lexical; `kb create`
 * uses it too; queries default to hybrid on a KB with a model and to lexical on one without. */
static void test_default_model(void)
{
    char kb[512], kb2[512], kb3[512], p[512];
    snprintf(kb, sizeof kb, "%s/dflt", tmp);
    snprintf(kb2, sizeof kb2, "%s/dflt-lex", tmp);
    snprintf(kb3, sizeof kb3, "%s/dflt-created", tmp);
    snprintf(p, sizeof p, "%s/dflt.jsonl", tmp);
    write_file("dflt.jsonl", "{\"id\":\"d1\",\"text\":\"Otters hold hands while they sleep.\"}\n"
                             "{\"id\":\"d2\",\"text\":\"Penguins huddle against the cold.\"}\n");
    setenv("SEMSEARCH_MODEL", MODEL, 1);
    CHECK_EQ_INT(sem("index add '%s' '%s'", kb, p), 0);
    CHECK_MSG(strstr(err_buf, "lexical") == NULL, "%s", err_buf);
    CHECK_EQ_INT(sem("kb info '%s'", kb), 0);
    CHECK_MSG(strstr(out_buf, "bert-tiny") != NULL, "%s", out_buf);
    CHECK_EQ_INT(sem("query '%s' otters --json", kb), 0);
    CHECK(strstr(out_buf, "\"mode\":\"hybrid\"") != NULL);
    CHECK(strstr(out_buf, "\"id\":\"d1\"") != NULL);
    CHECK_EQ_INT(sem("query '%s' otters --json --semantic-weight 0.7 --fusion rrf", kb), 0);
    CHECK(strstr(out_buf, "\"id\":\"d1\"") != NULL);
    CHECK_EQ_INT(sem("query '%s' otters --semantic-weight 0", kb), 2);
    CHECK_EQ_INT(sem("query '%s' otters --semantic-weight 1.01", kb), 2);
    CHECK_EQ_INT(sem("query '%s' otters --fusion max", kb), 2);
    /* --lexical: no model even though a default exists; not on an existing KB; not with --model */
    CHECK_EQ_INT(sem("index add '%s' '%s' --lexical", kb2, p), 0);
    CHECK(strstr(err_buf, "lexical") != NULL);
    CHECK_EQ_INT(sem("query '%s' otters --json", kb2), 0);
    CHECK(strstr(out_buf, "\"mode\":\"lexical\"") != NULL);
    CHECK_EQ_INT(sem("index add '%s' '%s' --lexical", kb, p), 2);
    CHECK_EQ_INT(sem("index add '%s/x' '%s' --lexical --model '%s'", tmp, p, MODEL), 2);
    /* kb create without --model or --dim */
    CHECK_EQ_INT(sem("kb create '%s'", kb3), 0);
    CHECK_MSG(strstr(out_buf, "bert-tiny") != NULL, "%s", out_buf);
    /* tokenize/embed default to it too */
    CHECK_EQ_INT(sem("embed < '%s'", "/dev/null"), 0);
    setenv("SEMSEARCH_MODEL", "none", 1);
    CHECK_EQ_INT(sem("embed < /dev/null"), 2);
}

/* A synthetic corpus big enough that indexing takes a few seconds: N one-passage documents. */
#define RESUME_DOCS 1500
static void write_corpus(const char *path)
{
    static const char *vocab[] = {"river", "mountain", "virus", "vaccine", "school", "mask", "travel", "doctor",
                                  "symptom", "fever", "cough", "distance", "hospital", "test", "child", "market"};
    FILE *f = fopen(path, "wb");
    if (!f)
        return;
    unsigned x = 12345;
    for (int i = 0; i < RESUME_DOCS; i++) {
        fprintf(f, "{\"id\":\"r%d\",\"text\":\"Document %d", i, i);
        for (int w = 0; w < 60; w++) {
            x = x * 1103515245u + 12345u;
            fprintf(f, " %s", vocab[(x >> 16) % 16]);
        }
        fprintf(f, ".\",\"group\":\"g%d\"}\n", i % 7);
    }
    fclose(f);
}

static void test_resume(void)
{
    char kb[512], corpus[512];
    snprintf(kb, sizeof kb, "%s/resume", tmp);
    snprintf(corpus, sizeof corpus, "%s/corpus.jsonl", tmp);
    write_corpus(corpus);
    int killed = 0;
    int64_t last = 0;
    /* kill the indexer twice at different moments, then let a third run finish */
    for (int round = 0; round < 2; round++) {
        pid_t pid = fork();
        if (pid == 0) {
            int fd = open("/dev/null", O_WRONLY);
            if (fd >= 0) {
                dup2(fd, 1);
                dup2(fd, 2);
            }
            execl(SEM_BINARY, SEM_BINARY, "index", "add", kb, corpus, "--model", MODEL, "--batch", "8",
                  "--threads", "1", (char *)NULL);
            _exit(127);
        }
        int64_t want = last + 100 + 150 * round, nd = 0, np;
        double t0 = sem_now();
        int status = 0, exited = 0;
        while (sem_now() - t0 < 60) {
            if (waitpid(pid, &status, WNOHANG) == pid) {
                exited = 1;
                break;
            }
            counts(kb, &nd, &np);
            if (nd >= want)
                break;
            usleep(2000);
        }
        if (!exited) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
        }
        killed += WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
        counts(kb, &nd, &np);
        fprintf(stderr, "resume round %d: killed=%d docs=%lld passages=%lld\n", round,
                WIFSIGNALED(status) ? 1 : 0, (long long)nd, (long long)np);
        CHECK(nd >= last && nd < RESUME_DOCS);
        CHECK_EQ_INT(np, nd); /* one passage each: no half-written document */
        last = nd;
    }
    CHECK_EQ_INT(killed, 2);
    CHECK_EQ_INT(sem("index add '%s' '%s'", kb, corpus), 0);
    char want[128];
    snprintf(want, sizeof want, "%lld documents added, 0 replaced (%lld passages), %lld unchanged",
             (long long)(RESUME_DOCS - last), (long long)(RESUME_DOCS - last), (long long)last);
    CHECK_MSG(strstr(out_buf, want) != NULL, "%s", out_buf);
    int64_t nd, np;
    counts(kb, &nd, &np);
    CHECK_EQ_INT(nd, RESUME_DOCS);
    CHECK_EQ_INT(np, RESUME_DOCS);
    /* the index agrees with SQLite: nothing lost, nothing duplicated; every document is searchable */
    sem_kb *k = sem_kb_open(kb, NULL, NULL);
    sem_kb_check_report rep;
    memset(&rep, 0, sizeof rep);
    CHECK(k && sem_kb_check(k, &rep, NULL) == SEM_OK);
    CHECK_EQ_INT(rep.missing_in_index, 0);
    CHECK_EQ_INT(rep.extra_in_index, 0);
    CHECK_EQ_INT(rep.n_index, RESUME_DOCS);
    CHECK_EQ_INT(rep.sqlite_ok, 1);
    sem_kb_check_report_clear(&rep);
    sem_kb_close(k);
}

int main(void)
{
    snprintf(tmp, sizeof tmp, "/tmp/sem_e2e_XXXXXX");
    if (!mkdtemp(tmp)) {
        perror("mkdtemp");
        return 1;
    }
    char kb[512], kb2[512];
    /* no default model unless a test sets one: what a KB gets must not depend on models/ in the tree */
    setenv("SEMSEARCH_MODEL", "none", 1);
    snprintf(kb, sizeof kb, "%s/faq", tmp);
    snprintf(kb2, sizeof kb2, "%s/misc", tmp);
    test_faq(kb);
    test_update_delete(kb2);
    test_chunks(kb2);
    test_malformed(kb2);
    test_lexical_only();
    test_default_model();
    test_resume();
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (test_fail_ == 0 && system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmp);
    TEST_END();
}
