/* tests/query/test_calibrate.c: the calibrated hybrid weight (query/calibrate.c, calib_record.c).
 *
 *  1. Synthetic KBs whose vectors come from the test's own encoders (sem_calibrate_kb): documents about 40 topics,
 *     each written with concept words that have two synonyms. A "noise" encoder (a random vector per text) must
 *     calibrate to a weight of about 0 with hybrid never below lexical on the pseudo-queries (and equal to it at
 *     weight 0); a "concept" encoder (synonyms share a vector, so it sees what bm25 misses) must get a positive
 *     weight with hybrid above lexical. The record survives reopening (read-only), is the same when run again
 *     (seeded), shrinks towards the prior with few pseudo-queries, and reads as absent for another model.
 *  2. The record's parser: round trip, damaged or out-of-range records refused.
 *  3. With a real (fixture) model over the bundled FAQ: sem_calibrate records a weight that a new search handle
 *     uses by default; a recorded weight 0 makes hybrid rank as lexical; --semantic-weight (the query's weight)
 *     still overrides; rrf keeps the default; a lexical-only KB is skipped. */
#include "test.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/fileio.h"
#include "common/hash.h"
#include "indexer/indexer.h"
#include "query/search.h"
#include "store/kb.h"
#include "test_util.h"

#define MODEL SEM_SHARED_DIR "/testdata/models/bert-tiny-uncased"
#define FAQ SEM_SOURCE_DIR "/data/covid-faq/faq_covidbert.csv"
#define COVID_BEIR SEM_SOURCE_DIR "/data/eval/covid-faq/corpus.jsonl"
#define DIM 64
#define TOPICS 40
#define CONCEPTS 10

/* ---- the synthetic corpus and its encoders ---- */

/* The word for concept c of topic t in variant v (0 or 1): variants differ from their first letter on. */
static void concept_word(int t, int c, int v, char *out)
{
    static const char *syl[] = {"ka", "lo", "mi", "ne", "ru", "ta", "vo", "zi", "be", "du", "fe", "gu", "hi", "jo",
                                "pu", "se"};
    snprintf(out, 16, "%s%s%s%s", v ? "qo" : "za", syl[c % 16], syl[t % 16], syl[(t / 16) % 16]);
}

/* Concept id t * CONCEPTS + c of a word, or -1. */
static int concept_of(const char *w, size_t n)
{
    static char words[TOPICS * CONCEPTS * 2][16];
    static int ready;
    if (!ready) {
        for (int i = 0; i < TOPICS * CONCEPTS * 2; i++)
            concept_word(i / (CONCEPTS * 2), (i / 2) % CONCEPTS, i % 2, words[i]);
        ready = 1;
    }
    for (int i = 0; i < TOPICS * CONCEPTS * 2; i++)
        if (strlen(words[i]) == n && memcmp(words[i], w, n) == 0)
            return i / 2;
    return -1;
}

/* Adds the pseudo-random unit-ish vector of seed to v (DIM). */
static void add_rand(float *v, uint64_t seed, float scale)
{
    for (int i = 0; i < DIM; i++) {
        uint64_t r = sem_hash64(seed * 1315423911ull + (uint64_t)i);
        v[i] += scale * (float)((double)(r >> 11) / 9007199254740992.0 - 0.5);
    }
}

static void normalize(float *v)
{
    double s = 0;
    for (int i = 0; i < DIM; i++)
        s += (double)v[i] * v[i];
    s = sqrt(s) + 1e-12;
    for (int i = 0; i < DIM; i++)
        v[i] = (float)(v[i] / s);
}

/* kind 0: noise (a random vector per text); 1: concepts (synonyms and topics share vectors). */
static void encode_one(int kind, const char *text, float *v)
{
    memset(v, 0, DIM * sizeof *v);
    if (kind == 0) {
        add_rand(v, sem_fnv1a64_str(text), 1);
    } else {
        for (const char *p = text; *p;) {
            size_t n = 0;
            while (p[n] >= 'a' && p[n] <= 'z')
                n++;
            int c = n ? concept_of(p, n) : -1;
            if (c >= 0) {
                add_rand(v, (uint64_t)c + 1000, 1.0f);
                add_rand(v, (uint64_t)(c / CONCEPTS) + 1, 0.5f); /* its topic */
            }
            p += n ? n : 1;
        }
        add_rand(v, 7, 1e-3f); /* never the zero vector */
    }
    normalize(v);
}

static int test_encode(void *ud, const char *const *texts, int n, int is_query, float *out, sem_error *err)
{
    (void)is_query, (void)err;
    for (int i = 0; i < n; i++)
        encode_one(*(int *)ud, texts[i], out + (size_t)i * DIM);
    return SEM_OK;
}

/* Document d: 5 sentences of 6 words about topic d % TOPICS (concepts in random variants, a filler word, a word
 * of another topic). */
static void doc_text(int d, char *out, size_t cap)
{
    uint64_t r = sem_hash64((uint64_t)d + 99);
    static const char *fill[] = {"the", "and", "with", "for", "about", "from"};
    size_t k = 0;
    out[0] = 0;
    for (int s = 0; s < 5; s++) {
        for (int w = 0; w < 6; w++) {
            char word[16];
            r = sem_hash64(r);
            if (w == 2)
                snprintf(word, sizeof word, "%s", fill[r % 6]);
            else if (w == 5)
                concept_word((int)(r % TOPICS), (int)((r >> 8) % CONCEPTS), (int)((r >> 16) & 1), word);
            else
                concept_word(d % TOPICS, (int)(r % CONCEPTS), (int)((r >> 8) & 1), word);
            k += (size_t)snprintf(out + k, cap - k, "%s%s", w ? " " : "", word);
        }
        k += (size_t)snprintf(out + k, cap - k, ". ");
    }
}

static sem_kb *make_kb(const char *dir, int kind, int n_docs)
{
    sem_error err;
    sem_kb_create_params cp = sem_kb_default_create_params();
    cp.model.dim = DIM;
    snprintf(cp.model.name, sizeof cp.model.name, "test-%s", kind ? "concepts" : "noise");
    snprintf(cp.model.config_hash, sizeof cp.model.config_hash, "%s", kind ? "c0ffee" : "bad5eed");
    snprintf(cp.model.pooling, sizeof cp.model.pooling, "mean");
    cp.model.normalize = 1;
    cp.index_spec = "Flat";
    sem_kb *kb = sem_kb_create(dir, &cp, &err);
    CHECK_MSG(kb != NULL, "create: %s", err.msg);
    static char ids[200][16], texts[200][1024];
    static float v[200][DIM];
    static sem_kb_passage ps[200];
    static sem_kb_doc docs[200];
    for (int d = 0; d < n_docs && d < 200; d++) { /* one transaction: fsyncs are slow on a busy machine */
        snprintf(ids[d], sizeof ids[d], "d%d", d);
        doc_text(d, texts[d], sizeof texts[d]);
        encode_one(kind, texts[d], v[d]);
        ps[d] = (sem_kb_passage){texts[d], 0, (int64_t)strlen(texts[d]), v[d]};
        docs[d] = (sem_kb_doc){ids[d], NULL, texts[d], NULL, &ps[d], 1};
    }
    if (kb)
        CHECK_EQ_INT(sem_kb_put(kb, docs, n_docs < 200 ? n_docs : 200, &err), SEM_OK);
    return kb;
}

static sem_calibration calibrate(sem_kb *kb, int kind, int max_queries)
{
    sem_error err;
    sem_calibration c;
    sem_calibrate_params p = sem_calibrate_default_params();
    p.max_queries = max_queries;
    int rc = sem_calibrate_kb(kb, test_encode, &kind, &p, &c, &err);
    CHECK_MSG(rc == SEM_OK, "calibrate: %s", err.msg);
    printf("%s: weight %.2f (best %.1f), %d pseudo-queries, nDCG@10 lexical %.3f semantic %.3f hybrid %.3f;"
           " grid", kind ? "concepts" : "noise", (double)c.semantic_weight, (double)c.best_weight, c.n_queries,
           c.lexical, c.semantic, c.hybrid);
    for (int g = 0; g < SEM_CALIBRATION_GRID; g++)
        printf(" %.3f", c.grid[g]);
    printf("\n");
    return c;
}

static void test_synthetic(const char *tmp)
{
    char dir[512];
    sem_error err;
    /* noise: the weight falls to (about) 0 and hybrid is never below lexical */
    snprintf(dir, sizeof dir, "%s/noise", tmp);
    sem_kb *kb = make_kb(dir, 0, 200);
    sem_calibration c = calibrate(kb, 0, 200);
    CHECK(c.present && c.n_queries >= 150);
    CHECK_MSG(c.semantic_weight <= 0.05f, "noise weight %.2f", (double)c.semantic_weight);
    CHECK(c.semantic < c.lexical);
    CHECK_MSG(c.hybrid >= c.lexical, "hybrid %.4f below lexical %.4f", c.hybrid, c.lexical);
    if (c.semantic_weight == 0)
        CHECK_NEAR(c.hybrid, c.lexical, 1e-12);
    CHECK_NEAR(c.grid[0], c.lexical, 1e-12); /* weight 0 ranks as lexical */
    sem_kb_close(kb);

    /* concepts: a positive weight, hybrid above lexical; deterministic; survives reopening */
    snprintf(dir, sizeof dir, "%s/concepts", tmp);
    kb = make_kb(dir, 1, 200);
    c = calibrate(kb, 1, 200);
    CHECK_MSG(c.semantic_weight >= 0.1f, "concept weight %.2f", (double)c.semantic_weight);
    CHECK_MSG(c.hybrid > c.lexical, "hybrid %.4f vs lexical %.4f", c.hybrid, c.lexical);
    sem_calibration again = calibrate(kb, 1, 200);
    CHECK(again.semantic_weight == c.semantic_weight && again.n_queries == c.n_queries);
    CHECK(again.lexical == c.lexical && again.hybrid == c.hybrid);
    sem_kb_close(kb);
    sem_kb_open_params op = sem_kb_default_open_params();
    op.read_only = 1;
    kb = sem_kb_open(dir, &op, &err);
    sem_calibration r;
    CHECK(kb && sem_calibration_read(kb, &r, &err) == SEM_OK);
    CHECK(r.present && r.semantic_weight == c.semantic_weight && r.n_queries == c.n_queries);
    CHECK_NEAR(r.lexical, c.lexical, 1e-9);
    CHECK_STREQ(r.model_hash, "c0ffee");
    /* a read-only KB cannot record */
    int kind = 1;
    CHECK_EQ_INT(sem_calibrate_kb(kb, test_encode, &kind, NULL, &r, &err), SEM_EINVAL);
    sem_kb_close(kb);

    /* few pseudo-queries: shrunk towards the prior */
    snprintf(dir, sizeof dir, "%s/few", tmp);
    kb = make_kb(dir, 1, 6);
    c = calibrate(kb, 1, 200);
    double lam = c.n_queries / (c.n_queries + (double)SEM_CALIBRATION_PRIOR_QUERIES);
    CHECK(c.n_queries >= 1 && c.n_queries <= 6);
    CHECK_MSG(c.semantic_weight <= lam * c.best_weight + (1 - lam) * SEM_CALIBRATION_PRIOR + 0.005,
              "few: %.2f", (double)c.semantic_weight);
    CHECK(c.hybrid >= c.lexical);
    /* a record made with another model reads as absent */
    char *json = sem_calibration_to_json(&c);
    char *other = json ? strstr(json, "c0ffee") : NULL;
    if (other)
        memcpy(other, "beef00", 6);
    CHECK(other && sem_kb_set_setting(kb, SEM_CALIBRATION_KEY, json, &err) == SEM_OK);
    CHECK(sem_calibration_read(kb, &r, &err) == SEM_OK && !r.present);
    free(json);
    /* the store keeps its own settings out of reach */
    CHECK_EQ_INT(sem_kb_set_setting(kb, "uuid", "x", &err), SEM_EINVAL);
    CHECK_EQ_INT(sem_kb_set_setting(kb, "ext.Bad", "x", &err), SEM_EINVAL);
    sem_kb_close(kb);
}

static void test_parse(void)
{
    sem_calibration c, r;
    memset(&c, 0, sizeof c);
    c.semantic_weight = 0.25f;
    c.best_weight = 0.3f;
    c.n_queries = 120;
    c.n_passages = 5000;
    c.lexical = 0.5, c.semantic = 0.25, c.hybrid = 0.55, c.seconds = 1.5;
    for (int g = 0; g < SEM_CALIBRATION_GRID; g++)
        c.grid[g] = 0.5 + 0.01 * g;
    snprintf(c.model_hash, sizeof c.model_hash, "abc");
    char *j = sem_calibration_to_json(&c);
    sem_error err;
    CHECK(j && sem_calibration_parse(j, &r, &err) == SEM_OK && r.present);
    CHECK(r.semantic_weight == 0.25f && r.n_queries == 120 && r.n_passages == 5000 && !strcmp(r.model_hash, "abc"));
    CHECK_NEAR(r.grid[7], 0.57, 1e-12);
    free(j);
    static const char *bad[] = {
        "", "null", "[]", "{}", "{\"version\":1}",
        "{\"version\":2,\"semantic_weight\":0.2,\"best_weight\":0.2,\"queries\":1,\"passages\":1,\"lexical\":0,"
        "\"semantic\":0,\"hybrid\":0,\"seconds\":0,\"model\":\"m\",\"grid\":[0,0,0,0,0,0,0,0]}",
        "{\"version\":1,\"semantic_weight\":1.5,\"best_weight\":0.2,\"queries\":1,\"passages\":1,\"lexical\":0,"
        "\"semantic\":0,\"hybrid\":0,\"seconds\":0,\"model\":\"m\",\"grid\":[0,0,0,0,0,0,0,0]}",
        "{\"version\":1,\"semantic_weight\":0.2,\"best_weight\":0.2,\"queries\":1,\"passages\":1,\"lexical\":0,"
        "\"semantic\":0,\"hybrid\":0,\"seconds\":0,\"model\":\"m\",\"grid\":[0,0,0]}",
        "{\"version\":1,\"semantic_weight\":0.2,\"best_weight\":0.2,\"queries\":1,\"passages\":1,\"lexical\":0,"
        "\"semantic\":0,\"hybrid\":0,\"seconds\":0,\"model\":7,\"grid\":[0,0,0,0,0,0,0,0]}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        CHECK_EQ_INT(sem_calibration_parse(bad[i], &r, &err), SEM_EFORMAT);
        CHECK(!r.present);
    }
    CHECK_EQ_INT(sem_calibration_parse(NULL, &r, &err), SEM_EFORMAT);
}

/* Passage ids of a search (k 10). */
static int search_ids(sem_search *s, const char *q, int mode, float w, int fusion, int64_t *ids, float *used)
{
    sem_query_params p = sem_query_default_params();
    p.mode = (sem_search_mode)mode;
    p.semantic_weight = w;
    p.fusion = (sem_fusion_method)fusion;
    sem_search_result r;
    sem_error err;
    if (sem_search_query(s, q, &p, &r, &err) != SEM_OK) {
        CHECK_MSG(0, "search: %s", err.msg);
        return 0;
    }
    for (int i = 0; i < r.n; i++)
        ids[i] = r.hits[i].passage_id;
    int n = r.n;
    if (used)
        *used = r.semantic_weight;
    sem_search_result_clear(&r);
    return n;
}

/* Records weight w in the KB of s (with s's model) as a calibration would. */
static void force_weight(const char *kb_dir, float w)
{
    sem_error err;
    sem_search_open_params op = sem_search_default_open_params();
    op.read_only = 0;
    sem_search *s = sem_search_open(kb_dir, &op, &err);
    sem_calibration c;
    CHECK(s && sem_calibration_read(sem_search_kb(s), &c, &err) == SEM_OK && c.present);
    c.semantic_weight = w;
    char *j = sem_calibration_to_json(&c);
    CHECK(j && sem_kb_set_setting(sem_search_kb(s), SEM_CALIBRATION_KEY, j, &err) == SEM_OK);
    free(j);
    sem_search_free(s);
}

static void test_model(const char *tmp)
{
    char kb_dir[512], lex_dir[512];
    snprintf(kb_dir, sizeof kb_dir, "%s/faq", tmp);
    snprintf(lex_dir, sizeof lex_dir, "%s/faq-lex", tmp);
    sem_error err;
    sem_index_params ip = sem_index_default_params();
    ip.model = MODEL;
    ip.threads = 1;
    const char *inputs[] = {FAQ};
    CHECK_MSG(sem_index_add(kb_dir, inputs, 1, &ip, NULL, &err) == SEM_OK, "%s", err.msg);
    sem_search_open_params op = sem_search_default_open_params();
    op.read_only = 0;
    sem_search *s = sem_search_open(kb_dir, &op, &err);
    CHECK_MSG(s != NULL, "%s", err.msg);
    if (!s)
        return;
    int cal = 1;
    CHECK(sem_search_semantic_weight(s, &cal) == SEM_HYBRID_SEMANTIC_WEIGHT && cal == 0); /* not yet */
    sem_calibration c;
    double t0 = sem_now();
    CHECK_MSG(sem_calibrate(s, NULL, &c, &err) == SEM_OK, "%s", err.msg);
    printf("FAQ with the fixture model: weight %.2f on %d pseudo-queries (lexical %.3f semantic %.3f hybrid %.3f) in "
           "%.2f s\n", (double)c.semantic_weight, c.n_queries, c.lexical, c.semantic, c.hybrid, sem_now() - t0);
    CHECK(c.present && c.n_queries >= 100 && c.hybrid >= c.lexical);
    CHECK(sem_search_semantic_weight(s, &cal) == c.semantic_weight && cal == 1);
    sem_search_free(s);
    s = sem_search_open(kb_dir, NULL, &err); /* read-only: the recorded weight */
    CHECK(s && sem_search_semantic_weight(s, &cal) == c.semantic_weight && cal == 1);
    sem_search_free(s);

    /* weight 0 recorded: hybrid ranks as lexical; the query's weight and rrf still apply */
    force_weight(kb_dir, 0);
    s = sem_search_open(kb_dir, NULL, &err);
    CHECK(s != NULL);
    static const char *qs[] = {"How does the virus spread?", "Should children wear masks at school?",
                               "what are the symptoms of covid"};
    for (int i = 0; s && i < 3; i++) {
        int64_t a[10], b[10];
        float used = -1;
        int na = search_ids(s, qs[i], SEM_MODE_HYBRID, 0, SEM_FUSION_CC, a, &used);
        int nb = search_ids(s, qs[i], SEM_MODE_LEXICAL, 0, SEM_FUSION_CC, b, NULL);
        CHECK(na == 10 && nb == 10 && used == 0.0f);
        CHECK_MSG(na == nb && memcmp(a, b, sizeof a) == 0, "hybrid at weight 0 differs from lexical for '%s'", qs[i]);
        search_ids(s, qs[i], SEM_MODE_HYBRID, 0.7f, SEM_FUSION_CC, a, &used);
        CHECK(used == 0.7f);
        search_ids(s, qs[i], SEM_MODE_HYBRID, 0, SEM_FUSION_RRF, a, &used);
        CHECK(used == SEM_HYBRID_SEMANTIC_WEIGHT);
        search_ids(s, qs[i], SEM_MODE_LEXICAL, 0, SEM_FUSION_CC, a, &used);
        CHECK(used == 0.0f);
    }
    sem_search_free(s);

    /* a lexical-only KB: nothing to calibrate, nothing recorded */
    sem_index_params lp = sem_index_default_params();
    CHECK_MSG(sem_index_add(lex_dir, inputs, 1, &lp, NULL, &err) == SEM_OK, "%s", err.msg);
    s = sem_search_open(lex_dir, &op, &err);
    CHECK(s && sem_calibrate(s, NULL, &c, &err) == SEM_OK && !c.present);
    char buf[64];
    CHECK(s && sem_kb_get_setting(sem_search_kb(s), SEM_CALIBRATION_KEY, buf, sizeof buf, &err) == SEM_ENOTFOUND);
    sem_search_free(s);
}

/* The CLI: index add calibrates (and says so), --no-calibrate does not, kb calibrate does it later, kb info and
 * query --json show the weight. */
static void test_cli(const char *tmp)
{
    char out[1 << 14];
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "head -n 40 '%s' > '%s/small.jsonl' && " SEM_BINARY " index add '%s/cli' '%s/small.jsonl' "
             "--model '%s' --no-calibrate 2>&1", COVID_BEIR, tmp, tmp, tmp, MODEL);
    CHECK_EQ_INT(tst_run_capture(cmd, out, sizeof out), 0);
    CHECK_MSG(!strstr(out, "hybrid weight"), "%s", out);
    snprintf(cmd, sizeof cmd, SEM_BINARY " kb info '%s/cli'", tmp);
    CHECK_EQ_INT(tst_run_capture(cmd, out, sizeof out), 0);
    CHECK_MSG(strstr(out, "hybrid weight:  0.30 (default; not calibrated"), "%s", out);
    snprintf(cmd, sizeof cmd, SEM_BINARY " kb calibrate '%s/cli'", tmp);
    CHECK_EQ_INT(tst_run_capture(cmd, out, sizeof out), 0);
    CHECK_MSG(strstr(out, "hybrid weight") && strstr(out, " pseudo-queries in "), "%s", out);
    snprintf(cmd, sizeof cmd, SEM_BINARY " kb info '%s/cli'", tmp);
    CHECK_EQ_INT(tst_run_capture(cmd, out, sizeof out), 0);
    CHECK_MSG(strstr(out, "hybrid weight:  ") && strstr(out, " pseudo-queries: nDCG@10 lexical"), "%s", out);
    snprintf(cmd, sizeof cmd, SEM_BINARY " query '%s/cli' 'masks for children' --json --semantic-weight 0.6", tmp);
    CHECK_EQ_INT(tst_run_capture(cmd, out, sizeof out), 0);
    CHECK_MSG(strstr(out, "\"semantic_weight\":0.6"), "%s", out);
    /* a change calibrates again after adding; a lexical-only KB is not calibrated */
    snprintf(cmd, sizeof cmd, "printf '{\"id\":\"x\",\"text\":\"Otters float. They hold hands while asleep.\"}\\n' "
             "> '%s/one.jsonl' && " SEM_BINARY " index add '%s/cli' '%s/one.jsonl'", tmp, tmp, tmp);
    CHECK_EQ_INT(tst_run_capture(cmd, out, sizeof out), 0);
    CHECK_MSG(strstr(out, "hybrid weight") && strstr(out, "calibrated on"), "%s", out);
    snprintf(cmd, sizeof cmd, SEM_BINARY " index add '%s/cli-lex' '%s/one.jsonl' --lexical", tmp, tmp);
    CHECK_EQ_INT(tst_run_capture(cmd, out, sizeof out), 0);
    CHECK_MSG(!strstr(out, "hybrid weight"), "%s", out);
}

/* No argument (unit): the parser and the synthetic KBs. "model" (integration): the fixture model and the CLI. */
int main(int argc, char **argv)
{
    char tmp[] = "/tmp/sem_calib_XXXXXX";
    if (!mkdtemp(tmp))
        return 1;
    if (argc > 1 && strcmp(argv[1], "model") == 0) {
        if (access(MODEL "/config.json", R_OK) != 0 || access(FAQ, R_OK) != 0) {
            printf("skipped: %s or %s missing\n", MODEL, FAQ);
            tst_sh("rm -rf '%s'", tmp);
            return 77;
        }
        test_model(tmp);
        test_cli(tmp);
    } else {
        test_parse();
        test_synthetic(tmp);
    }
    tst_sh("rm -rf '%s'", tmp);
    TEST_END();
}
