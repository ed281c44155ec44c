/* tests/shard/test_shard.c: sharded KBs (shard/shard.h).
 *   - unit: routing (FNV-1a 64 mod n, fixed values), the manifest's JSON both ways and its refusals;
 *   - with the fixture model (skipped without ../shared): the same documents indexed into one KB and into a
 *     sharded KB of 3 (Flat) give the same semantic results (ids, ranks, scores) and the same hybrid results
 *     at semantic weight 1 (cc normalised over the global candidate list); lexical search finds the same
 *     documents (bm25 statistics are per shard, so its scores and order may differ: docs/scale.md); every
 *     document is in the shard its id hashes to and only there; every shard passes the store's check; a re-run
 *     changes nothing; the count of an existing sharded KB is checked; the CLI builds and queries one. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/hash.h"
#include "indexer/indexer.h"
#include "query/search.h"
#include "shard/shard.h"
#include "store/kb.h"
#include "test.h"
#include "test_util.h"

#define MODEL SEM_SHARED_DIR "/testdata/models/bert-tiny-uncased"
#define N_DOCS 40
#define N_SHARDS 3

static char tmp[256];

static void test_routing(void)
{
    CHECK_EQ_INT(sem_shard_of("", 3), 2); /* 0xcbf29ce484222325 % 3: the FNV-1a 64 offset basis */
    CHECK_EQ_INT(sem_shard_of("a", 7), 5);
    CHECK_EQ_INT(sem_shard_of("doc-1", 3), 2);
    CHECK_EQ_INT(sem_shard_of("doc-2", 3), 0);
    CHECK_EQ_INT(sem_shard_of("doc-2", 1), 0);
    for (int i = 0; i < 100; i++) {
        char id[32];
        snprintf(id, sizeof id, "id%d", i);
        CHECK_EQ_INT(sem_shard_of(id, 5), (int)(sem_fnv1a64_str(id) % 5));
    }
}

static void test_manifest(void)
{
    sem_shard_manifest m = {SEM_SHARD_FORMAT, 3, {"bert-tiny", "abc123", "mean", 1, 128}, 0, "Flat"}, b;
    sem_error err;
    char *j = sem_shard_manifest_to_json(&m);
    CHECK(j != NULL);
    CHECK_EQ_INT(sem_shard_manifest_parse(j, strlen(j), &b, &err), SEM_OK);
    CHECK(b.n_shards == 3 && b.model.dim == 128 && b.model.normalize == 1 && !strcmp(b.index_spec, "Flat") &&
          !strcmp(b.model.config_hash, "abc123") && sem_kb_model_match(&m.model, &b.model));
    free(j);
    static const char *bad[] = {
        "", "[]", "{}", "{\"format\":2}",
        "{\"format\":1,\"shards\":0,\"routing\":\"fnv1a64-mod\"}",
        "{\"format\":1,\"shards\":4097,\"routing\":\"fnv1a64-mod\"}",
        "{\"format\":1,\"shards\":2.5,\"routing\":\"fnv1a64-mod\"}",
        "{\"format\":1,\"shards\":2,\"routing\":\"crc32\"}",
        "{\"format\":1,\"shards\":2,\"routing\":\"fnv1a64-mod\",\"model\":{\"name\":\"x\",\"config_hash\":\"\","
        "\"pooling\":\"mean\",\"normalize\":true,\"dim\":0},\"lexical_only\":false,\"index_spec\":\"Flat\"}",
        "{\"format\":1,\"shards\":2,\"routing\":\"fnv1a64-mod\",\"model\":{\"name\":\"x\",\"config_hash\":\"\","
        "\"pooling\":\"mean\",\"normalize\":1,\"dim\":8},\"lexical_only\":false,\"index_spec\":\"Flat\"}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        CHECK_EQ_INT(sem_shard_manifest_parse(bad[i], strlen(bad[i]), &b, &err), SEM_EFORMAT);
        CHECK(b.n_shards == 0);
    }
    char big[400], name[300];
    memset(name, 'n', sizeof name - 1);
    name[sizeof name - 1] = 0; /* longer than sem_kb_model.name holds */
    snprintf(big, sizeof big, "{\"format\":1,\"shards\":2,\"routing\":\"fnv1a64-mod\",\"model\":{\"name\":\"%s\"}}",
             name);
    CHECK_EQ_INT(sem_shard_manifest_parse(big, strlen(big), &b, &err), SEM_EFORMAT);
}

/* N_DOCS documents with distinct texts (no two share a score) as JSONL at path. */
static void write_docs(const char *path)
{
    static const char *topic[] = {"virus", "vaccine", "mask", "school", "travel", "fever", "hospital", "test"};
    static const char *verb[] = {"spreads", "protects", "helps", "closes", "requires", "lasts", "treats", "finds"};
    FILE *f = fopen(path, "w");
    for (int i = 0; f && i < N_DOCS; i++)
        fprintf(f, "{\"id\":\"doc-%d\",\"title\":\"note %d\",\"text\":\"The %s %s %s number %d in %s week %d.\"}\n",
                i, i, topic[i % 8], verb[(i / 8 + i) % 8], topic[(i * 3 + 1) % 8], i, i % 2 ? "the" : "a", i / 5);
    if (f)
        fclose(f);
}

static void same_results(sem_search *one, sem_shard_search *sh, const char *q, sem_query_params *p, int exact)
{
    sem_search_result a, b;
    sem_error err;
    CHECK_EQ_INT(sem_search_query(one, q, p, &a, &err), SEM_OK);
    CHECK_EQ_INT(sem_shard_search_query(sh, q, p, &b, &err), SEM_OK);
    CHECK_MSG(a.n == b.n, "%s (%s): %d vs %d hits", q, sem_search_mode_name(p->mode), a.n, b.n);
    for (int i = 0; exact && i < a.n && i < b.n; i++) {
        CHECK_MSG(!strcmp(a.hits[i].doc_id, b.hits[i].doc_id), "%s (%s) rank %d: %s vs %s", q,
                  sem_search_mode_name(p->mode), i + 1, a.hits[i].doc_id, b.hits[i].doc_id);
        CHECK_NEAR(a.hits[i].score, b.hits[i].score, 1e-6);
        CHECK_EQ_INT(a.hits[i].semantic_rank, b.hits[i].semantic_rank);
        CHECK_EQ_INT(a.hits[i].passage_no, b.hits[i].passage_no);
        CHECK_STREQ(a.hits[i].text, b.hits[i].text);
    }
    if (!exact) { /* the same documents, in any order */
        int found = 0;
        for (int i = 0; i < a.n; i++)
            for (int j = 0; j < b.n; j++)
                found += !strcmp(a.hits[i].doc_id, b.hits[j].doc_id);
        CHECK_EQ_INT(found, a.n);
    }
    sem_search_result_clear(&a);
    sem_search_result_clear(&b);
}

/* Every document in the shard its id names, and only there; every shard checks out. */
static void check_placement(const char *kb)
{
    sem_kb *sh[N_SHARDS];
    sem_error err;
    for (int s = 0; s < N_SHARDS; s++) {
        char dir[PATH_MAX];
        CHECK_EQ_INT(sem_shard_dir(kb, s, dir, sizeof dir, &err), SEM_OK);
        CHECK((sh[s] = sem_kb_open(dir, NULL, &err)) != NULL);
        sem_kb_check_report r;
        CHECK_EQ_INT(sem_kb_check(sh[s], &r, &err), SEM_OK);
        CHECK(r.sqlite_ok && r.missing_in_index == 0 && r.extra_in_index == 0);
        sem_kb_check_report_clear(&r);
    }
    for (int i = 0; i < N_DOCS; i++) {
        char id[32];
        snprintf(id, sizeof id, "doc-%d", i);
        for (int s = 0; s < N_SHARDS; s++) {
            sem_kb_doc_out *o = NULL;
            int rc = sem_kb_get_doc(sh[s], id, 0, &o, &err);
            CHECK_MSG((rc == SEM_OK && o) == (s == sem_shard_of(id, N_SHARDS)), "%s in shard %d", id, s);
            sem_kb_doc_out_free(o);
        }
    }
    for (int s = 0; s < N_SHARDS; s++)
        sem_kb_close(sh[s]);
}

static void test_sharded_vs_one(void)
{
    char docs[PATH_MAX], one[PATH_MAX], kb[PATH_MAX];
    snprintf(docs, sizeof docs, "%s/docs.jsonl", tmp);
    snprintf(one, sizeof one, "%s/one", tmp);
    snprintf(kb, sizeof kb, "%s/sharded", tmp);
    write_docs(docs);
    const char *in[] = {docs};
    sem_index_params p = sem_index_default_params();
    p.model = MODEL;
    p.index_spec = "Flat";
    p.threads = 1;
    sem_index_stats st;
    sem_error err;
    CHECK_EQ_INT(sem_index_add(one, in, 1, &p, &st, &err), SEM_OK);
    CHECK_EQ_INT(sem_shard_index_add(kb, N_SHARDS, in, 1, &p, &st, &err), SEM_OK);
    CHECK(st.created && st.docs_added == N_DOCS && st.docs_failed == 0);
    CHECK(sem_shard_exists(kb) && !sem_kb_exists(kb));
    sem_shard_manifest m;
    CHECK_EQ_INT(sem_shard_manifest_read(kb, &m, &err), SEM_OK);
    CHECK(m.n_shards == N_SHARDS && !strcmp(m.index_spec, "Flat") && m.model.dim > 0 && !m.lexical_only);
    check_placement(kb);
    /* a re-run changes nothing; the count of an existing sharded KB is checked */
    p.model = NULL;
    CHECK_EQ_INT(sem_shard_index_add(kb, 0, in, 1, &p, &st, &err), SEM_OK);
    CHECK(!st.created && st.docs_unchanged == N_DOCS && st.docs_added == 0 && st.docs_replaced == 0);
    CHECK_EQ_INT(sem_shard_index_add(kb, 2, in, 1, &p, &st, &err), SEM_EINVAL);
    CHECK_EQ_INT(sem_shard_index_add(one, 2, in, 1, &p, &st, &err), SEM_EINVAL); /* an ordinary KB */

    sem_search *s1 = sem_search_open(one, NULL, &err);
    sem_shard_search *sh = sem_shard_search_open(kb, NULL, &err);
    CHECK(s1 && sh);
    if (!s1 || !sh)
        return;
    CHECK_EQ_INT(sem_shard_search_count(sh), N_SHARDS);
    static const char *qs[] = {"how does the virus spread", "vaccine protects", "school closes in winter",
                               "fever in the hospital", "travel mask"};
    for (size_t i = 0; i < sizeof qs / sizeof *qs; i++) {
        sem_query_params q = sem_query_default_params();
        q.k = 10;
        q.mode = SEM_MODE_SEMANTIC;
        same_results(s1, sh, qs[i], &q, 1);
        q.k = N_DOCS; /* every document */
        same_results(s1, sh, qs[i], &q, 1);
        q.k = 10;
        q.mode = SEM_MODE_HYBRID;
        q.semantic_weight = 1; /* ranks as semantic; the scores are normalised over the global list */
        same_results(s1, sh, qs[i], &q, 1);
        q.mode = SEM_MODE_LEXICAL;
        q.k = 1000; /* every match: the same documents match; bm25's order is per shard */
        same_results(s1, sh, qs[i], &q, 0);
    }
    sem_search_free(s1);
    sem_shard_search_free(sh);
}

/* The CLI: index add --shards, then query (JSON) on the sharded KB and index add routing without --shards. */
static void test_cli(void)
{
    char out[8192];
    int st = tst_sh("cd '%s' && %s index add cli-kb docs.jsonl --shards 3 --model %s --index Flat --no-calibrate -q",
                    tmp, SEM_BINARY, MODEL);
    CHECK_EQ_INT(st, 0);
    char cmd[2 * PATH_MAX];
    snprintf(cmd, sizeof cmd, "%s query '%s/cli-kb' 'virus spreads' --mode semantic -k 3 --json 2>&1", SEM_BINARY,
             tmp);
    CHECK_EQ_INT(tst_run_capture(cmd, out, sizeof out), 0);
    CHECK(strstr(out, "\"doc_id\"") != NULL || strstr(out, "\"id\"") != NULL);
    snprintf(cmd, sizeof cmd, "%s index add '%s/cli-kb' '%s/docs.jsonl' --no-calibrate 2>&1", SEM_BINARY, tmp, tmp);
    CHECK_EQ_INT(tst_run_capture(cmd, out, sizeof out), 0);
    CHECK(strstr(out, "40 unchanged") != NULL);
}

int main(void)
{
    snprintf(tmp, sizeof tmp, "/tmp/sem_shard_XXXXXX");
    if (!mkdtemp(tmp))
        return 1;
    test_routing();
    test_manifest();
    if (access(MODEL "/model.safetensors", R_OK) == 0) {
        test_sharded_vs_one();
        test_cli();
    } else {
        TEST_SKIP_SECTION("the fixture model (../shared/testdata/models) is missing");
    }
    tst_sh("rm -rf '%s'", tmp);
    TEST_END();
}
