/* tests/eval/test_beir.c: eval/beir.h and eval/sts.h: BEIR queries/qrels readers (headers, TREC qrels,
 * duplicates, malformed lines), retrieval scoring over a search callback (duplicate documents, queries without
 * qrels, empty results, hand-computed means), TREC run files, the STS reader (tabs only, quotes kept, extra
 * fields) and the word-overlap baseline. */
#include "test.h"

#include "eval/beir.h"
#include "eval/sts.h"

#include <math.h>
#include <stdlib.h>
#include <unistd.h>

static char dir[] = "/tmp/sem_beir_XXXXXX";

static const char *put(const char *name, const char *text)
{
    static char p[4][256];
    static int slot;
    char *path = p[slot++ % 4];
    snprintf(path, 256, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
    return path;
}

/* A fake search engine: fixed rankings per query id; counts calls. */
static int calls;
static int fake_search(void *user, const char *qid, const char *text, const char *mode, int k, sem_ranking *out,
                       sem_error *err)
{
    (void)user;
    (void)text;
    calls++;
    CHECK(k >= 100); /* the evaluator asks deep enough for Recall@100 */
    if (strcmp(mode, "broken") == 0)
        return sem_error_set(err, SEM_EIO, "engine down");
    if (strcmp(qid, "q1") == 0) {
        const char *r[] = {"d2", "d2", "dX", "d1"}; /* d2 twice: two passages of one document */
        for (int i = 0; i < 4; i++)
            sem_ranking_add(out, r[i]);
    }
    return SEM_OK; /* q3: nothing found */
}

static void test_beir(void)
{
    sem_beir_set set = {0};
    sem_error err;
    const char *q = put("queries.jsonl", "{\"_id\": \"q1\", \"text\": \"first question\"}\n"
                                         "\n"
                                         "{\"_id\": \"q2\", \"text\": \"no judgements\", \"metadata\": {}}\r\n"
                                         "{\"_id\": \"q3\", \"text\": \"nothing found\"}\n");
    const char *qr = put("qrels.tsv", "query-id\tcorpus-id\tscore\n"
                                      "q1\td1\t2\n"
                                      "q1\td2\t1\n"
                                      "q1\td9\t0\n"
                                      "q3\td5\t1\n"
                                      "q4\td5\t1\n");
    CHECK_EQ_INT(sem_beir_read_queries(q, &set, &err), SEM_OK);
    CHECK_EQ_INT(set.n_queries, 3);
    CHECK_STREQ(set.queries[1].id, "q2");
    CHECK_EQ_INT(sem_beir_read_qrels(qr, &set, &err), SEM_OK);
    CHECK_EQ_INT(set.n_qrels, 5);

    sem_retrieval_report rep;
    calls = 0;
    CHECK_EQ_INT(sem_retrieval_eval(&set, "semantic", 10, fake_search, NULL, &rep, &err), SEM_OK);
    CHECK_EQ_INT(calls, 2); /* q2 has no qrels: not searched */
    CHECK_EQ_INT(rep.n_scored, 2);
    CHECK_EQ_INT(rep.n_skipped, 1);
    CHECK_EQ_INT(rep.n_unknown_qrels, 1); /* q4 */
    /* q1: ranking d2 (rel 1), dX (0), d1 (2) after dedup; ideal 2, 1 */
    double ndcg1 = (1.0 + 2.0 / 2.0) / (2.0 + 1.0 / log2(3.0));
    CHECK_STREQ(rep.per_query[0].id, "q1");
    CHECK_NEAR(rep.per_query[0].s.ndcg, ndcg1, 1e-12);
    CHECK_NEAR(rep.per_query[0].s.mrr, 1.0, 0);
    CHECK_NEAR(rep.per_query[0].s.recall1, 0.5, 0);
    CHECK_NEAR(rep.per_query[0].s.recall10, 1.0, 0);
    CHECK_NEAR(rep.per_query[0].s.ap, (1.0 + 2.0 / 3.0) / 2.0, 1e-12);
    CHECK_EQ_INT(rep.per_query[0].n_returned, 3);
    CHECK_EQ_INT(rep.per_query[0].first_rank, 1);
    /* q3: judged, nothing returned: zeros */
    CHECK_NEAR(rep.per_query[1].s.ndcg, 0.0, 0);
    CHECK_EQ_INT(rep.per_query[1].first_rank, 0);
    CHECK_NEAR(rep.mean.ndcg, ndcg1 / 2.0, 1e-12);
    CHECK_NEAR(rep.mean.mrr, 0.5, 0);
    CHECK_NEAR(rep.mean.ap, (1.0 + 2.0 / 3.0) / 4.0, 1e-12);
    char *json = sem_retrieval_report_json(&rep, 1, 1);
    CHECK(json && strstr(json, "\"ndcg@10\"") && strstr(json, "\"per_query\"") && strstr(json, "\"q3\""));
    free(json);
    char *table = sem_retrieval_report_table(&rep, 1);
    CHECK(table && strstr(table, "semantic") && strstr(table, "nDCG@10"));
    free(table);
    sem_retrieval_report_free(&rep);
    /* a failing engine: the error names the query, nothing leaks */
    CHECK_EQ_INT(sem_retrieval_eval(&set, "broken", 10, fake_search, NULL, &rep, &err), SEM_EIO);
    CHECK(strstr(err.msg, "q1") && strstr(err.msg, "engine down"));

    /* TREC run file */
    const char *run = put("run.txt", "q1 Q0 d1 2 0.5 sys\n"
                                     "q1 Q0 d2 1 0.9 sys\n"
                                     "q3 Q0 d5 1 3.0 sys\n");
    sem_trec_run *tr = sem_trec_run_read(run, &err);
    CHECK(tr != NULL);
    CHECK_EQ_INT(sem_retrieval_eval(&set, "run", 10, sem_trec_run_search, tr, &rep, &err), SEM_OK);
    CHECK_NEAR(rep.per_query[0].s.ndcg, (1.0 + 2.0 / log2(3.0)) / (2.0 + 1.0 / log2(3.0)), 1e-12); /* d2, d1 */
    CHECK_NEAR(rep.per_query[1].s.ndcg, 1.0, 1e-12);
    sem_retrieval_report_free(&rep);
    sem_trec_run_free(tr);
    CHECK(sem_trec_run_read(put("badrun.txt", "q1 Q0 d1 x 0.5 sys\n"), &err) == NULL);
    CHECK(sem_trec_run_read(put("badrun2.txt", "q1 d1 0.5\n"), &err) == NULL);
    sem_beir_set_free(&set);

    /* TREC qrels (4 columns), a later judgement replacing an earlier one */
    CHECK_EQ_INT(sem_beir_read_qrels(put("trec.qrels", "q1 0 d1 1\nq1 0 d1 3\nq1 0 d2 0\n"), &set, &err), SEM_OK);
    CHECK_EQ_INT(set.n_qrels, 2);
    CHECK(set.n_qrels == 2 && set.qrels[0].rel == 3);
    sem_beir_set_free(&set);

    /* malformed inputs: clear errors with the line */
    CHECK_EQ_INT(sem_beir_read_queries(put("bad1.jsonl", "{\"_id\": \"a\", \"text\": \"x\"}\n{not json\n"), &set,
                                       &err),
                 SEM_EFORMAT);
    CHECK(strstr(err.msg, ":2:") != NULL);
    sem_beir_set_free(&set);
    CHECK_EQ_INT(sem_beir_read_queries(put("bad2.jsonl", "{\"_id\": \"a\"}\n"), &set, &err), SEM_EFORMAT);
    sem_beir_set_free(&set);
    CHECK_EQ_INT(sem_beir_read_queries(put("bad3.jsonl", "{\"_id\": 7, \"text\": \"x\"}\n{\"_id\": \"7\", "
                                                         "\"text\": \"y\"}\n"),
                                       &set, &err),
                 SEM_EFORMAT); /* repeated id (a number and a string that read the same) */
    sem_beir_set_free(&set);
    CHECK_EQ_INT(sem_beir_read_queries(put("bad4.jsonl", "{\"_id\": \"a\", \"text\": \"\xff\"}\n"), &set, &err),
                 SEM_EFORMAT);
    sem_beir_set_free(&set);
    CHECK_EQ_INT(sem_beir_read_qrels(put("bad.tsv", "q1\td1\t1\nq1\td2\thigh\n"), &set, &err), SEM_EFORMAT);
    sem_beir_set_free(&set);
    CHECK_EQ_INT(sem_beir_read_qrels(put("bad2.tsv", "q1\td1\n"), &set, &err), SEM_EFORMAT);
    sem_beir_set_free(&set);
    CHECK_EQ_INT(sem_beir_read_qrels(put("missing/x.tsv", ""), &set, &err), SEM_ENOTFOUND);
}

static void test_sts(void)
{
    sem_error err;
    sem_sts_set s;
    const char *p = put("sts.csv", "g\tf\t2012\t0001\t5.000\tA \"quoted\" man.\tA \"quoted\" man.\n"
                                   "g\tf\t2012\t0002\t0.5\tCats sleep\tDogs bark loudly\textra\tfields\n"
                                   "\n"
                                   "g\tf\t2012\t0003\t2.5\tThe cat sat\tthe CAT ran\r\n");
    CHECK_EQ_INT(sem_sts_read(p, &s, &err), SEM_OK);
    CHECK_EQ_INT(s.n, 3);
    if (s.n == 3) {
        CHECK_STREQ(s.pairs[0].s1, "A \"quoted\" man."); /* quotes are characters, not CSV quoting */
        CHECK_STREQ(s.pairs[1].s2, "Dogs bark loudly");
        CHECK_NEAR(s.pairs[2].gold, 2.5, 0);
        CHECK_STREQ(s.pairs[2].s2, "the CAT ran");
    }
    sem_sts_result r;
    sem_sts_baseline(&s, &r);
    CHECK_EQ_INT(r.n, 3);
    CHECK_NEAR(r.baseline_spearman, 1.0, 1e-12); /* Jaccard 1, 0, 0.5 against gold 5, 0.5, 2.5 */
    CHECK(isnan(r.spearman));
    sem_sts_free(&s);
    CHECK_NEAR(sem_word_jaccard("The cat sat", "the CAT ran"), 2.0 / 4.0, 1e-12);
    CHECK_NEAR(sem_word_jaccard("a a a", "A"), 1.0, 0);
    CHECK_NEAR(sem_word_jaccard("", ""), 1.0, 0);
    CHECK_NEAR(sem_word_jaccard("x", ""), 0.0, 0);
    CHECK_NEAR(sem_word_jaccard("naïve café", "café, naïve!"), 1.0, 0); /* UTF-8 words stay whole */
    CHECK_EQ_INT(sem_sts_read(put("sts_bad.csv", "g\tf\t2012\t1\t5.0\tonly six\n"), &s, &err), SEM_EFORMAT);
    CHECK(strstr(err.msg, ":1:") != NULL);
    CHECK_EQ_INT(sem_sts_read(put("sts_bad2.csv", "g\tf\t2012\t1\tfive\ta\tb\n"), &s, &err), SEM_EFORMAT);
    CHECK_EQ_INT(sem_sts_read(put("sts_bad3.csv", "g\tf\t2012\t1\t5\ta\xc3\tb\n"), &s, &err), SEM_EFORMAT);
    CHECK_EQ_INT(sem_sts_read(put("sts_empty.csv", "\n\n"), &s, &err), SEM_EFORMAT);
    /* the real STS Benchmark dev split parses completely */
    char real[512];
    snprintf(real, sizeof real, "%s/data/stsbenchmark/sts-dev.csv", SEM_SHARED_DIR);
    if (access(real, R_OK) == 0) {
        CHECK_EQ_INT(sem_sts_read(real, &s, &err), SEM_OK);
        CHECK_EQ_INT(s.n, 1500);
        sem_sts_baseline(&s, &r);
        CHECK(r.baseline_spearman > 0.3 && r.baseline_spearman < 0.9);
        sem_sts_free(&s);
    } else {
        TEST_SKIP_SECTION("the STS Benchmark dev split (%s) is missing", real);
    }
}

/* Writes a blank line, a line of n 'x' bytes + "\n" + "last\n" to dir/name. */
static const char *put_long(const char *name, size_t n)
{
    static char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    char *x = malloc(n);
    if (f && x) {
        memset(x, 'x', n);
        fputs("\n", f); /* a blank line: every reader skips it */
        fwrite(x, 1, n, f);
        fputs("\nlast\n", f);
    }
    if (f)
        fclose(f);
    free(x);
    return path;
}

/* Lines are read with the bounded line reader: a line over 16 MiB is refused by number (the old getline read it
 * whole), and a read error (a folder opened as a file) is an I/O error, not an empty file. */
static void test_input_limits(void)
{
    sem_error err;
    sem_sts_set s;
    sem_beir_set set = {0};
    const char *longf = put_long("long.txt", (16u << 20) + 1);
    CHECK_EQ_INT(sem_sts_read(longf, &s, &err), SEM_ERANGE);
    CHECK_MSG(strstr(err.msg, "line 2 is longer than 16777216 bytes") != NULL, "%s", err.msg);
    CHECK_EQ_INT(sem_beir_read_qrels(longf, &set, &err), SEM_ERANGE);
    CHECK_MSG(strstr(err.msg, "long.txt: line 2 is longer than") != NULL, "%s", err.msg);
    sem_beir_set_free(&set);
    CHECK_EQ_INT(sem_beir_read_queries(longf, &set, &err), SEM_ERANGE);
    sem_beir_set_free(&set);
    CHECK(sem_trec_run_read(longf, &err) == NULL && err.code == SEM_ERANGE);
    CHECK_EQ_INT(sem_sts_read(dir, &s, &err), SEM_EIO);
    CHECK_MSG(strstr(err.msg, "read error") != NULL, "%s", err.msg);
    CHECK_EQ_INT(sem_beir_read_queries(dir, &set, &err), SEM_EIO);
    sem_beir_set_free(&set);
}

int main(void)
{
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_beir();
    test_sts();
    test_input_limits();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    TEST_END();
}
