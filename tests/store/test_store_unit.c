/* tests/store/test_store_unit.c: schema, migrations, documents, search, filters, FTS, export, model identity. */
#include "test.h"

#include <sqlite3.h>

#include "store/kb.h"
#include "store_test_util.h"

#define D 16

static sem_kb *make_kb(const char *dir, const char *spec, int metric)
{
    sem_error err;
    sem_kb_create_params cp = sem_kb_default_create_params();
    cp.model.dim = D;
    cp.index_spec = spec;
    cp.metric = metric;
    sem_kb *kb = sem_kb_create(dir, &cp, &err);
    CHECK_MSG(kb != NULL, "create: %s", err.msg);
    return kb;
}

static void test_resolve(void)
{
    char out[128];
    sem_error err;
    CHECK_EQ_INT(sem_kb_resolve_spec("auto", 100, 384, out, sizeof out, &err), SEM_OK);
    CHECK_STREQ(out, "Flat");
    CHECK_EQ_INT(sem_kb_resolve_spec("auto", 100000, 384, out, sizeof out, &err), SEM_OK);
    CHECK_STREQ(out, "IVF1024,Flat");
    CHECK_EQ_INT(sem_kb_resolve_spec("auto", 10000, 384, out, sizeof out, &err), SEM_OK);
    CHECK_STREQ(out, "IVF256,Flat"); /* 4*sqrt(10000) = 400 -> 512, capped to 10000/39 -> 256 */
    CHECK_EQ_INT(sem_kb_resolve_spec("auto", 2000000, 384, out, sizeof out, &err), SEM_OK);
    CHECK_STREQ(out, "IVF4096,PQ48np"); /* 3 GB of flat vectors -> PQ */
    CHECK_EQ_INT(sem_kb_resolve_spec("IVF64,Flat", 0, 32, out, sizeof out, &err), SEM_OK);
    CHECK_STREQ(out, "IVF64,Flat");
    CHECK_EQ_INT(sem_kb_resolve_spec("NotAnIndex", 0, 32, out, sizeof out, &err), SEM_EINVAL);
    CHECK(strstr(err.msg, "NotAnIndex") != NULL);
    CHECK_EQ_INT(sem_kb_resolve_spec("PQ5", 0, 32, out, sizeof out, &err), SEM_EINVAL); /* 5 does not divide 32 */
    CHECK_EQ_INT(sem_kb_resolve_spec("auto", 10, 0, out, sizeof out, &err), SEM_EINVAL);
}

static void test_schema(const char *dir)
{
    sem_error err;
    sem_kb *kb = make_kb(dir, "Flat", SEM_KB_METRIC_IP);
    if (!kb)
        return;
    char p[2048];
    snprintf(p, sizeof p, "%s/kb.sqlite", dir);
    sqlite3 *db = NULL;
    CHECK(sqlite3_open_v2(p, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
    sqlite3_stmt *st;
    CHECK(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK);
    CHECK(sqlite3_step(st) == SQLITE_ROW);
    CHECK_EQ_INT(sqlite3_column_int(st, 0), SEM_KB_SCHEMA_VERSION);
    sqlite3_finalize(st);
    CHECK(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL) == SQLITE_OK);
    CHECK(sqlite3_step(st) == SQLITE_ROW);
    CHECK_STREQ((const char *)sqlite3_column_text(st, 0), "wal");
    sqlite3_finalize(st);
    const char *tables[] = {"meta", "documents", "passages", "passages_fts", "changes"};
    for (int i = 0; i < 5; i++) {
        CHECK(sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_master WHERE name = ?1", -1, &st, NULL) == SQLITE_OK);
        sqlite3_bind_text(st, 1, tables[i], -1, SQLITE_STATIC);
        CHECK(sqlite3_step(st) == SQLITE_ROW);
        CHECK_MSG(sqlite3_column_int(st, 0) == 1, "table %s missing", tables[i]);
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    /* Creating over an existing KB is refused. */
    sem_kb_create_params cp = sem_kb_default_create_params();
    cp.model.dim = D;
    CHECK(sem_kb_create(dir, &cp, &err) == NULL);
    CHECK_EQ_INT(err.code, SEM_EINVAL);
    /* A second read-write opener (here: same process, another handle) is refused while the first holds LOCK. */
    sem_kb *kb2 = sem_kb_open(dir, NULL, &err);
    CHECK(kb2 == NULL);
    CHECK_EQ_INT(err.code, SEM_EBUSY);
    sem_kb_open_params op = sem_kb_default_open_params();
    op.read_only = 1;
    kb2 = sem_kb_open(dir, &op, &err);
    CHECK_MSG(kb2 != NULL, "read-only open beside a writer: %s", err.msg);
    sem_kb_close(kb2);
    sem_kb_close(kb);
}

static void test_documents(const char *dir)
{
    sem_error err;
    sem_kb *kb = make_kb(dir, "auto", SEM_KB_METRIC_IP);
    if (!kb)
        return;
    float x[8 * D];
    tu_clustered(x, 8, D, 8, 0.01f);
    CHECK_EQ_INT(tu_put(kb, "a", x, 3, "{\"lang\":\"en\",\"n\":3}", &err), SEM_OK);
    CHECK_EQ_INT(tu_put(kb, "b", x + 3 * D, 2, "{\"lang\":\"fr\",\"ok\":true}", &err), SEM_OK);
    int64_t nd = -1, np = -1;
    CHECK_EQ_INT(sem_kb_count(kb, &nd, &np, &err), SEM_OK);
    CHECK_EQ_INT(nd, 2);
    CHECK_EQ_INT(np, 5);

    sem_kb_doc_out *doc = NULL;
    CHECK_EQ_INT(sem_kb_get_doc(kb, "a", 1, &doc, &err), SEM_OK);
    if (doc) {
        CHECK_STREQ(doc->ext_id, "a");
        CHECK_EQ_INT(doc->n_passages, 3);
        CHECK_STREQ(doc->passages[1].text, "text of a passage 1");
        CHECK(memcmp(doc->passages[2].vec, x + 2 * D, D * sizeof(float)) == 0);
        /* Offsets cut the passage out of the document text. */
        CHECK(strncmp(doc->text + doc->passages[1].start, doc->passages[1].text,
                      (size_t)(doc->passages[1].end - doc->passages[1].start)) == 0);
        CHECK(strstr(doc->meta_json, "\"lang\"") != NULL);
    }
    sem_kb_doc_out_free(doc);
    CHECK_EQ_INT(sem_kb_get_doc(kb, "zzz", 0, &doc, &err), SEM_ENOTFOUND);
    CHECK(doc == NULL);

    /* Vector search: each stored vector finds its own passage first. */
    sem_kb_search_params sp = sem_kb_default_search_params();
    sp.k = 3;
    sem_kb_hit hits[3];
    int nh = 0;
    CHECK_EQ_INT(sem_kb_search(kb, x + 4 * D, 1, &sp, hits, &nh, &err), SEM_OK);
    CHECK_EQ_INT(nh, 3);
    sem_kb_passage_info info[3];
    CHECK_EQ_INT(sem_kb_get_passages(kb, &hits[0].passage_id, 1, info, &err), SEM_OK);
    CHECK(info[0].found);
    CHECK_STREQ(info[0].doc_ext_id, "b");
    CHECK_EQ_INT(info[0].passage_no, 1);
    CHECK_STREQ(info[0].title, "title");
    CHECK_NEAR(hits[0].score, 1.0, 1e-4);
    CHECK(hits[0].score >= hits[1].score && hits[1].score >= hits[2].score);
    sem_kb_passage_info_clear(info, 1);

    /* Replace "a" with one passage: old passages vanish from search and from get_passages. */
    int64_t old_ids[3];
    CHECK_EQ_INT(sem_kb_get_doc(kb, "a", 0, &doc, &err), SEM_OK);
    for (int i = 0; doc && i < 3; i++)
        old_ids[i] = doc->passages[i].id;
    sem_kb_doc_out_free(doc);
    CHECK_EQ_INT(tu_put(kb, "a", x + 5 * D, 1, "{\"lang\":\"de\"}", &err), SEM_OK);
    CHECK_EQ_INT(sem_kb_count(kb, &nd, &np, &err), SEM_OK);
    CHECK_EQ_INT(nd, 2);
    CHECK_EQ_INT(np, 3);
    CHECK_EQ_INT(sem_kb_get_passages(kb, old_ids, 3, info, &err), SEM_OK);
    CHECK(!info[0].found && !info[1].found && !info[2].found);
    sp.k = 10;
    sem_kb_hit h10[10];
    CHECK_EQ_INT(sem_kb_search(kb, x, 1, &sp, h10, &nh, &err), SEM_OK);
    CHECK_EQ_INT(nh, 3);
    for (int i = 0; i < nh; i++)
        CHECK(h10[i].passage_id != old_ids[0] && h10[i].passage_id != old_ids[1] && h10[i].passage_id != old_ids[2]);

    /* Metadata filter (exact path): only "fr" passages. */
    const char *keys[] = {"lang"}, *vals[] = {"fr"};
    sem_kb_filter f = {keys, vals, 1};
    sp.filter = &f;
    CHECK_EQ_INT(sem_kb_search(kb, x + 5 * D, 1, &sp, h10, &nh, &err), SEM_OK);
    CHECK_EQ_INT(nh, 2);
    CHECK_EQ_INT(sem_kb_get_passages(kb, &h10[0].passage_id, 1, info, &err), SEM_OK);
    CHECK_STREQ(info[0].doc_ext_id, "b");
    sem_kb_passage_info_clear(info, 1);
    /* The same through the index with over-fetching. */
    sp.filter_exact_max = -1;
    sem_kb_hit h10b[10];
    int nhb = 0;
    CHECK_EQ_INT(sem_kb_search(kb, x + 5 * D, 1, &sp, h10b, &nhb, &err), SEM_OK);
    CHECK_EQ_INT(nhb, nh);
    for (int i = 0; i < nh && i < nhb; i++) {
        CHECK_EQ_INT(h10b[i].passage_id, h10[i].passage_id);
        CHECK_NEAR(h10b[i].score, h10[i].score, 1e-5);
    }
    sp.filter_exact_max = 0;
    const char *k2[] = {"ok"}, *v2[] = {"1"};
    sem_kb_filter f2 = {k2, v2, 1};
    sp.filter = &f2;
    CHECK_EQ_INT(sem_kb_search(kb, x, 1, &sp, h10, &nh, &err), SEM_OK);
    CHECK_EQ_INT(nh, 2); /* true matches "1" */
    const char *bad[] = {"la'ng"};
    sem_kb_filter f3 = {bad, vals, 1};
    sp.filter = &f3;
    CHECK_EQ_INT(sem_kb_search(kb, x, 1, &sp, h10, &nh, &err), SEM_EINVAL);
    sp.filter = NULL;

    /* Lexical search: bm25, higher is better; FTS syntax in the query is harmless. */
    CHECK_EQ_INT(sem_kb_search_text(kb, "passage 1 of b", &sp, h10, &nh, &err), SEM_OK);
    CHECK(nh >= 1);
    CHECK_EQ_INT(sem_kb_get_passages(kb, &h10[0].passage_id, 1, info, &err), SEM_OK);
    CHECK_STREQ(info[0].text, "text of b passage 1");
    sem_kb_passage_info_clear(info, 1);
    for (int i = 1; i < nh; i++)
        CHECK(h10[i - 1].score >= h10[i].score);
    CHECK_EQ_INT(sem_kb_search_text(kb, "\"unbalanced AND OR NOT * ( NEAR", &sp, h10, &nh, &err), SEM_OK);
    CHECK_EQ_INT(sem_kb_search_text(kb, "\xe2\x80\x94 \xc2\xabpassage\xc2\xbb \xe2\x80\xa6", &sp, h10, &nh, &err), SEM_OK);
    CHECK(nh >= 1); /* unicode punctuation around a word */
    CHECK_EQ_INT(sem_kb_search_text(kb, "   ", &sp, h10, &nh, &err), SEM_OK);
    CHECK_EQ_INT(nh, 0);
    sp.filter = &f;
    CHECK_EQ_INT(sem_kb_search_text(kb, "passage", &sp, h10, &nh, &err), SEM_OK);
    CHECK_EQ_INT(nh, 2);
    sp.filter = NULL;
    CHECK_EQ_INT(sem_kb_search_text(kb, "\xff\xfe", &sp, h10, &nh, &err), SEM_EINVAL);

    /* Invalid input: nothing is written. */
    sem_kb_passage p = {"t", 0, 1, x};
    sem_kb_doc bad_docs[] = {
        {"c", NULL, "t", "{not json", &p, 1},          /* malformed JSON */
        {"c", NULL, "t", "[1,2]", &p, 1},              /* not an object */
        {"c\xc3", NULL, "t", NULL, &p, 1},             /* invalid UTF-8 id */
        {"", NULL, "t", NULL, &p, 1},                  /* empty id */
        {"c", "\xed\xa0\x80", "t", NULL, &p, 1},       /* surrogate in title */
    };
    for (int i = 0; i < 5; i++) {
        CHECK_EQ_INT(sem_kb_put(kb, &bad_docs[i], 1, &err), SEM_EINVAL);
        CHECK(err.msg[0] != 0);
    }
    sem_kb_passage pbad = {"t", 0, 5, x}; /* end beyond text */
    sem_kb_doc dbad = {"c", NULL, "t", NULL, &pbad, 1};
    CHECK_EQ_INT(sem_kb_put(kb, &dbad, 1, &err), SEM_EINVAL);
    float nanv[D];
    memcpy(nanv, x, sizeof nanv);
    nanv[3] = NAN;
    sem_kb_passage pnan = {"t", 0, 1, nanv};
    sem_kb_doc dnan = {"c", NULL, "t", NULL, &pnan, 1};
    CHECK_EQ_INT(sem_kb_put(kb, &dnan, 1, &err), SEM_EINVAL);
    sem_kb_doc two[] = {{"c", NULL, "t", NULL, &p, 1}, {"c", NULL, "t", NULL, &p, 1}};
    CHECK_EQ_INT(sem_kb_put(kb, two, 2, &err), SEM_EINVAL);
    /* A valid doc and a bad one in one batch: neither is written. */
    sem_kb_doc mixed[] = {{"d", NULL, "t", NULL, &p, 1}, {"e", NULL, "t", "{bad", &p, 1}};
    CHECK_EQ_INT(sem_kb_put(kb, mixed, 2, &err), SEM_EINVAL);
    CHECK_EQ_INT(sem_kb_count(kb, &nd, &np, &err), SEM_OK);
    CHECK_EQ_INT(nd, 2);
    CHECK_EQ_INT(np, 3);

    /* Delete. */
    CHECK_EQ_INT(sem_kb_delete(kb, "b", &err), SEM_OK);
    CHECK_EQ_INT(sem_kb_delete(kb, "b", &err), SEM_ENOTFOUND);
    CHECK_EQ_INT(sem_kb_search(kb, x + 3 * D, 1, &sp, h10, &nh, &err), SEM_OK);
    CHECK_EQ_INT(nh, 1);
    CHECK_EQ_INT(sem_kb_search_text(kb, "b", &sp, h10, &nh, &err), SEM_OK);
    CHECK_EQ_INT(nh, 0);

    /* A document without passages is stored but not searchable. */
    sem_kb_doc empty = {"empty", "T", "", NULL, NULL, 0};
    CHECK_EQ_INT(sem_kb_put(kb, &empty, 1, &err), SEM_OK);

    /* Check, info, then persistence across close/open. */
    sem_kb_check_report r;
    CHECK_EQ_INT(sem_kb_check(kb, &r, &err), SEM_OK);
    CHECK_EQ_INT(r.missing_in_index + r.extra_in_index + r.fts_mismatch + r.bad_vectors, 0);
    CHECK(r.sqlite_ok);
    CHECK_EQ_INT(r.n_passages, 1);
    sem_kb_check_report_clear(&r);
    sem_kb_info inf;
    CHECK_EQ_INT(sem_kb_get_info(kb, &inf, &err), SEM_OK);
    CHECK_EQ_INT(inf.n_docs, 2);
    CHECK_EQ_INT(inf.ntotal, 1);
    CHECK_STREQ(inf.index_built, "Flat");
    CHECK(inf.mem_bytes > 0);
    sem_kb_close(kb);
    kb = sem_kb_open(dir, NULL, &err);
    CHECK_MSG(kb != NULL, "reopen: %s", err.msg);
    if (!kb)
        return;
    CHECK_EQ_INT(sem_kb_get_info(kb, &inf, &err), SEM_OK);
    CHECK_EQ_INT(inf.changes_unsaved, 0);
    CHECK(inf.index_file_bytes > 0);
    CHECK_EQ_INT(sem_kb_search(kb, x + 5 * D, 1, &sp, h10, &nh, &err), SEM_OK);
    CHECK_EQ_INT(nh, 1);
    CHECK_NEAR(h10[0].score, 1.0, 1e-4);

    /* Export: npy round trip of the vectors and ids; jsonl has one line per passage. */
    char path[2048], ipath[2048];
    snprintf(path, sizeof path, "%s/v.npy", dir);
    snprintf(ipath, sizeof ipath, "%s/i.npy", dir);
    FILE *fv = fopen(path, "wb"), *fi = fopen(ipath, "wb");
    int64_t n = 0;
    CHECK_EQ_INT(sem_kb_export_npy(kb, fv, fi, &n, &err), SEM_OK);
    fclose(fv);
    fclose(fi);
    CHECK_EQ_INT(n, 1);
    fv = fopen(path, "rb");
    unsigned char hdr[128];
    float back[D];
    CHECK(fread(hdr, 1, 128, fv) == 128);
    CHECK(memcmp(hdr, "\x93NUMPY\x01\x00", 8) == 0);
    CHECK_EQ_INT(hdr[8] + 256 * hdr[9] + 10, 128);
    CHECK(strstr((char *)hdr + 10, "'shape': (1, 16)") != NULL);
    CHECK(fread(back, sizeof(float), D, fv) == D);
    CHECK(memcmp(back, x + 5 * D, sizeof back) == 0);
    fclose(fv);
    snprintf(path, sizeof path, "%s/e.jsonl", dir);
    FILE *fj = fopen(path, "w");
    CHECK_EQ_INT(sem_kb_export_jsonl(kb, fj, &n, &err), SEM_OK);
    fclose(fj);
    CHECK_EQ_INT(n, 1);
    char line[8192];
    fj = fopen(path, "r");
    CHECK(fgets(line, sizeof line, fj) != NULL);
    CHECK(strstr(line, "\"doc\":\"a\"") != NULL && strstr(line, "\"vector\":[") != NULL);
    CHECK(fgets(line, sizeof line, fj) == NULL);
    fclose(fj);
    sem_kb_close(kb);
}

static void test_model_identity(const char *dir)
{
    sem_error err;
    sem_kb_create_params cp = sem_kb_default_create_params();
    snprintf(cp.model.name, sizeof cp.model.name, "all-MiniLM-L6-v2");
    snprintf(cp.model.config_hash, sizeof cp.model.config_hash, "abc123");
    snprintf(cp.model.pooling, sizeof cp.model.pooling, "mean");
    cp.model.normalize = 1;
    cp.model.dim = D;
    sem_kb *kb = sem_kb_create(dir, &cp, &err);
    CHECK_MSG(kb != NULL, "%s", err.msg);
    sem_kb_close(kb);
    sem_kb_model same = cp.model, other = cp.model;
    snprintf(same.name, sizeof same.name, "copy-in-another-folder");
    snprintf(other.config_hash, sizeof other.config_hash, "def456");
    sem_kb_open_params op = sem_kb_default_open_params();
    op.expect = &same;
    kb = sem_kb_open(dir, &op, &err);
    CHECK_MSG(kb != NULL, "same model: %s", err.msg);
    sem_kb_model got;
    if (kb) {
        sem_kb_get_model(kb, &got);
        CHECK_STREQ(got.name, "all-MiniLM-L6-v2");
        CHECK_STREQ(got.pooling, "mean");
        CHECK_EQ_INT(got.normalize, 1);
    }
    sem_kb_close(kb);
    op.expect = &other;
    CHECK(sem_kb_open(dir, &op, &err) == NULL);
    CHECK_EQ_INT(err.code, SEM_EMISMATCH);
    CHECK(strstr(err.msg, "all-MiniLM-L6-v2") != NULL);
    other = cp.model;
    other.pooling[0] = 'c'; /* "cean" */
    CHECK(sem_kb_open(dir, &op, &err) == NULL);
    other = cp.model;
    other.dim = D + 1;
    CHECK(sem_kb_open(dir, &op, &err) == NULL);
    CHECK_EQ_INT(err.code, SEM_EMISMATCH);
    /* A raw identity does not match a model KB. */
    sem_kb_model raw;
    memset(&raw, 0, sizeof raw);
    raw.dim = D;
    op.expect = &raw;
    CHECK(sem_kb_open(dir, &op, &err) == NULL);
    CHECK_EQ_INT(err.code, SEM_EMISMATCH);
}

/* Writes a schema-1 KB by hand (as an old semsearch would have) and opens it: it must migrate, index the old
 * passages and find them by vector and by text. */
static void test_migration(const char *dir)
{
    const char *v1 =
        TU_SCHEMA_V1_TABLES
        "INSERT INTO meta VALUES ('uuid','0123456789abcdef0123456789abcdef'),('dim','4'),('metric','l2'),"
        " ('index_spec','Flat'),('model_name',''),('model_hash',''),('model_pooling',''),"
        " ('model_normalize','0'),('created_at','0');"
        "INSERT INTO documents VALUES (1,'old-1','Old','zebra crossing',  '{\"y\":\"2020\"}',0,0);"
        "INSERT INTO documents VALUES (2,'old-2','Old','aardvark burrow', '{}',0,0);"
        "INSERT INTO passages VALUES (1,1,0,0,14,'zebra crossing', x'0000803F000000000000000000000000');"
        "INSERT INTO passages VALUES (2,2,0,0,15,'aardvark burrow', x'000000000000803F0000000000000000');"
        "PRAGMA user_version=1;";
    sqlite3_close(tu_old_kb(dir, v1));

    sem_error err;
    sem_kb_open_params op = sem_kb_default_open_params();
    op.read_only = 1;
    CHECK(sem_kb_open(dir, &op, &err) == NULL); /* read-only cannot migrate */
    CHECK_EQ_INT(err.code, SEM_EFORMAT);
    sem_kb *kb = sem_kb_open(dir, NULL, &err);
    CHECK_MSG(kb != NULL, "open v1: %s", err.msg);
    if (!kb)
        return;
    CHECK_EQ_INT(sem_kb_get_metric(kb), SEM_KB_METRIC_L2);
    float q[4] = {0, 1, 0, 0};
    sem_kb_search_params sp = sem_kb_default_search_params();
    sem_kb_hit h[10];
    int nh = 0;
    CHECK_EQ_INT(sem_kb_search(kb, q, 1, &sp, h, &nh, &err), SEM_OK);
    CHECK_EQ_INT(nh, 2);
    CHECK_EQ_INT(h[0].passage_id, 2);
    CHECK_NEAR(h[0].score, 0.0, 1e-6);  /* -||q - v||^2 */
    CHECK_NEAR(h[1].score, -2.0, 1e-6);
    CHECK_EQ_INT(sem_kb_search_text(kb, "zebra", &sp, h, &nh, &err), SEM_OK);
    CHECK_EQ_INT(nh, 1);
    CHECK_EQ_INT(h[0].passage_id, 1);
    /* New passages get ids after the old ones, and the change log works from here on. */
    float v[4] = {0, 0, 1, 0};
    sem_kb_passage ps = {"new text", 0, 0, v};
    sem_kb_doc doc = {"new", NULL, NULL, NULL, &ps, 1};
    CHECK_EQ_INT(sem_kb_put(kb, &doc, 1, &err), SEM_OK);
    sem_kb_close(kb);
    kb = sem_kb_open(dir, &op, &err);
    CHECK_MSG(kb != NULL, "reopen read-only: %s", err.msg);
    if (kb) {
        sem_kb_check_report r;
        CHECK_EQ_INT(sem_kb_check(kb, &r, &err), SEM_OK);
        CHECK_EQ_INT(r.n_passages, 3);
        CHECK_EQ_INT(r.missing_in_index + r.extra_in_index + r.fts_mismatch, 0);
        sem_kb_check_report_clear(&r);
    }
    sem_kb_close(kb);
}

/* A read-only handle beside a writer sees the writer's commits in its vector index when it opens: through the
 * change log, and from the writer's file once the writer has saved and trimmed the log. */
static void test_reader_beside_writer(const char *dir)
{
    sem_error err;
    sem_kb *w = make_kb(dir, "Flat", SEM_KB_METRIC_IP);
    if (!w)
        return;
    float x[40 * D];
    tu_clustered(x, 40, D, 40, 0.01f);
    CHECK_EQ_INT(tu_put(w, "a", x, 1, NULL, &err), SEM_OK);
    sem_kb_open_params op = sem_kb_default_open_params();
    op.read_only = 1;
    sem_kb *r = sem_kb_open(dir, &op, &err);
    CHECK_MSG(r != NULL, "%s", err.msg);
    CHECK_EQ_INT(sem_kb_put(r, NULL, 0, &err), SEM_OK); /* n = 0 is a no-op even read-only */
    sem_kb_close(r);
    sem_kb_search_params sp = sem_kb_default_search_params();
    sp.k = 1;
    sem_kb_hit h;
    int nh = 0;
    CHECK_EQ_INT(tu_put(w, "b", x + D, 1, NULL, &err), SEM_OK); /* not saved: only in the change log */
    r = sem_kb_open(dir, &op, &err);
    CHECK_MSG(r != NULL, "%s", err.msg);
    if (r) {
        CHECK_EQ_INT(sem_kb_search(r, x + D, 1, &sp, &h, &nh, &err), SEM_OK);
        CHECK(nh == 1 && h.passage_id == 2);
        sem_kb_close(r);
    }
    /* The writer saves (trimming the log), then deletes "a" and adds 30 more. */
    CHECK_EQ_INT(sem_kb_save(w, &err), SEM_OK);
    CHECK_EQ_INT(sem_kb_delete(w, "a", &err), SEM_OK);
    for (int i = 2; i < 32; i++) {
        char id[16];
        snprintf(id, sizeof id, "n%d", i);
        CHECK_EQ_INT(tu_put(w, id, x + i * D, 1, NULL, &err), SEM_OK);
    }
    CHECK_EQ_INT(sem_kb_save(w, &err), SEM_OK);
    r = sem_kb_open(dir, &op, &err);
    CHECK_MSG(r != NULL, "%s", err.msg);
    if (r) {
        CHECK_EQ_INT(sem_kb_search(r, x, 1, &sp, &h, &nh, &err), SEM_OK);
        CHECK(nh == 1 && h.passage_id != 1);
        CHECK_EQ_INT(sem_kb_search(r, x + 31 * D, 1, &sp, &h, &nh, &err), SEM_OK);
        sem_kb_passage_info pi;
        CHECK_EQ_INT(sem_kb_get_passages(r, &h.passage_id, 1, &pi, &err), SEM_OK);
        CHECK_STREQ(pi.doc_ext_id, "n31");
        sem_kb_passage_info_clear(&pi, 1);
        sem_kb_info inf;
        CHECK_EQ_INT(sem_kb_get_info(r, &inf, &err), SEM_OK);
        CHECK_EQ_INT(inf.ntotal, 31);
        sem_kb_close(r);
    }
    sem_kb_close(w);
}

int main(void)
{
    sem_log_set(tu_log, NULL);
    char base[512], dir[1024];
    tu_tmpdir(base, sizeof base, "unit");
    test_resolve();
    snprintf(dir, sizeof dir, "%s/schema", base);
    test_schema(dir);
    snprintf(dir, sizeof dir, "%s/docs", base);
    test_documents(dir);
    snprintf(dir, sizeof dir, "%s/model", base);
    test_model_identity(dir);
    snprintf(dir, sizeof dir, "%s/reader", base);
    test_reader_beside_writer(dir);
    snprintf(dir, sizeof dir, "%s/v1", base);
    test_migration(dir);
    tu_rm_rf(base);
    TEST_END();
}
