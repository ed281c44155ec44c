/* tests/store/test_store_fts.c: full-text search of schema-3 KBs: the semsearch_cjk tokenizer (Chinese, mixed
 * text, highlight() offsets), titles, porter stemming per KB, stopword-aware queries, the terms a page
 * highlights, and a schema-2 KB (the old tables and the store's 1 -> 2 migration) that opens, searches and is
 * migrated by compact. */
#include "test.h"

#include <sqlite3.h>

#include "store/fts_query.h"
#include "store/fts_tokenizer.h"
#include "store/kb.h"
#include "store/kb_impl.h"
#include "store_test_util.h"

#define D 4

typedef struct tdoc {
    const char *id, *title, *text;
} tdoc;

static sem_kb *make_kb(const char *dir, const char *stemming)
{
    sem_error err;
    sem_kb_create_params cp = sem_kb_default_create_params();
    cp.model.dim = D;
    cp.index_spec = "Flat";
    cp.stemming = stemming;
    sem_kb *kb = sem_kb_create(dir, &cp, &err);
    CHECK_MSG(kb != NULL, "create: %s", err.msg);
    return kb;
}

/* Puts the documents, one passage each (the whole text). */
static void put_docs(sem_kb *kb, const tdoc *docs, int n)
{
    sem_error err;
    float v[D] = {1, 0, 0, 0};
    for (int i = 0; i < n; i++) {
        sem_kb_passage p = {docs[i].text, 0, (int64_t)strlen(docs[i].text), v};
        sem_kb_doc d = {docs[i].id, docs[i].title, docs[i].text, NULL, &p, 1};
        CHECK_MSG(sem_kb_put(kb, &d, 1, &err) == SEM_OK, "put %s: %s", docs[i].id, err.msg);
    }
}

/* The external ids of the text search hits for q, best first, joined with ','; "" when none. */
static const char *search(sem_kb *kb, const char *q)
{
    static char out[512];
    sem_error err;
    sem_kb_search_params sp = sem_kb_default_search_params();
    sem_kb_hit h[10];
    int nh = 0;
    out[0] = 0;
    CHECK_MSG(sem_kb_search_text(kb, q, &sp, h, &nh, &err) == SEM_OK, "search %s: %s", q, err.msg);
    int64_t ids[10];
    for (int i = 0; i < nh; i++)
        ids[i] = h[i].passage_id;
    sem_kb_passage_info info[10];
    if (nh && sem_kb_get_passages(kb, ids, nh, info, &err) == SEM_OK) {
        for (int i = 0; i < nh; i++) {
            size_t o = strlen(out);
            snprintf(out + o, sizeof out - o, "%s%s", i ? "," : "", info[i].found ? info[i].doc_ext_id : "?");
        }
        sem_kb_passage_info_clear(info, nh);
    }
    return out;
}

static const tdoc ZH[] = {
    {"zh-1", "传播", "新冠病毒主要通过呼吸道飞沫传播。"},
    {"zh-2", "", "病毒是一种微小的病原体。"},
    {"zh-3", "", "如何用 apt install 安装软件包？"},
    {"zh-4", "", "天气很好，我们去公园散步。"},
    {"ja-1", "", "東京の天気はどうですか。カタカナ"},
};

static void test_cjk(const char *dir)
{
    sem_kb *kb = make_kb(dir, NULL);
    if (!kb)
        return;
    put_docs(kb, ZH, 5);
    /* a word inside a run of Han characters (unicode61 saw the whole run as one word) */
    CHECK_STREQ(search(kb, "病毒"), "zh-2,zh-1");
    /* a longer query shares a bigram: 新冠病毒 finds the passage about 病毒 too, the one with all of it first */
    CHECK_STREQ(search(kb, "新冠病毒"), "zh-1,zh-2");
    CHECK_STREQ(search(kb, "新冠病毒是怎么传播的"), "zh-1,zh-2");
    /* one character */
    CHECK_STREQ(search(kb, "园"), "zh-4");
    /* mixed text, with and without a space between the scripts */
    CHECK_STREQ(search(kb, "软件包"), "zh-3");
    CHECK_STREQ(search(kb, "apt"), "zh-3");
    CHECK_STREQ(search(kb, "apt软件包"), "zh-3");
    CHECK_STREQ(search(kb, "INSTALL"), "zh-3");
    /* Japanese: kanji, kana */
    CHECK_STREQ(search(kb, "東京"), "ja-1");
    CHECK_STREQ(search(kb, "カタカナ"), "ja-1");
    /* a title word only */
    CHECK_STREQ(search(kb, "传播"), "zh-1");
    /* not found: no shared bigram */
    CHECK_STREQ(search(kb, "电脑"), "");
    sem_kb_close(kb);

    /* highlight() on the KB's own FTS table marks exactly the matched characters */
    char p[2048];
    snprintf(p, sizeof p, "%s/kb.sqlite", dir);
    sqlite3 *db = NULL;
    CHECK(sqlite3_open_v2(p, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
    CHECK_EQ_INT(sem_fts_tokenizer_register(db, NULL), SEM_OK);
    sqlite3_stmt *st = NULL;
    CHECK(sqlite3_prepare_v2(db, "SELECT highlight(passages_fts, 0, '[', ']') FROM passages_fts WHERE "
                                 "passages_fts MATCH ?1 ORDER BY rowid", -1, &st, NULL) == SQLITE_OK);
    const char *cases[][2] = {
        {"病毒", "新冠[病毒]主要通过呼吸道飞沫传播。"},
        {"\"新冠病毒\"", "[新冠病毒]主要通过呼吸道飞沫传播。"},
        {"飞", "新冠病毒主要通过呼吸道[飞]沫传播。"},
        {"软件包 OR apt", "如何用 [apt] install 安装[软件包]？"},
    };
    for (int i = 0; i < 4; i++) {
        sqlite3_bind_text(st, 1, cases[i][0], -1, SQLITE_STATIC);
        CHECK_MSG(sqlite3_step(st) == SQLITE_ROW, "no row for %s", cases[i][0]);
        CHECK_STREQ((const char *)sqlite3_column_text(st, 0), cases[i][1]);
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
}

static const tdoc EN[] = {
    {"en-1", "Symptoms", "People who are infected may have a fever."},
    {"en-2", "Prevention of infection", "Wash your hands often."},
    {"en-3", "Travel", "The flight to Zurich is delayed; what is the reason?"},
    {"en-4", "Caf\xc3\xa9s", "The caf\xc3\xa9 opens at nine."},
};

static void test_english(const char *dir, const char *stemming)
{
    sem_kb *kb = make_kb(dir, stemming);
    if (!kb)
        return;
    put_docs(kb, EN, 4);
    int porter = !stemming || strcmp(stemming, "porter") == 0;
    /* stemming: infected ~ infection (in the text of en-1 and the title of en-2) */
    CHECK_STREQ(search(kb, "infection"), porter ? "en-2,en-1" : "en-2");
    CHECK_STREQ(search(kb, "INFECTED"), porter ? "en-2,en-1" : "en-1"); /* the title weighs more */
    /* title-only words */
    CHECK_STREQ(search(kb, "prevention"), "en-2");
    CHECK_STREQ(search(kb, "symptom"), porter ? "en-1" : "");
    /* diacritics fold */
    CHECK_STREQ(search(kb, "cafe"), "en-4");
    /* stopwords never bring a passage in alone when the query has other words */
    CHECK_STREQ(search(kb, "what is the fever"), "en-1");
    /* a query of stopwords only is still searched */
    CHECK_STREQ(search(kb, "what is"), "en-3");
    /* no word at all */
    CHECK_STREQ(search(kb, " ?! "), "");
    /* replace (new title, new text) and delete keep the full-text index in step: FTS5's integrity-check */
    sem_error err;
    float v[D] = {0, 1, 0, 0};
    sem_kb_passage ps = {"Hands and soap.", 0, 15, v};
    sem_kb_doc d = {"en-2", "Hygiene", "Hands and soap.", NULL, &ps, 1};
    CHECK_EQ_INT(sem_kb_put(kb, &d, 1, &err), SEM_OK);
    CHECK_STREQ(search(kb, "prevention"), "");
    CHECK_STREQ(search(kb, "hygiene"), "en-2");
    CHECK_EQ_INT(sem_kb_delete(kb, "en-3", &err), SEM_OK);
    CHECK_STREQ(search(kb, "zurich"), "");
    sem_kb_check_report r;
    CHECK_EQ_INT(sem_kb_check(kb, &r, &err), SEM_OK);
    CHECK_EQ_INT(r.fts_mismatch, 0);
    CHECK_EQ_INT(r.sqlite_ok, 1);
    sem_kb_check_report_clear(&r);
    sem_kb_info in;
    CHECK_EQ_INT(sem_kb_get_info(kb, &in, &err), SEM_OK);
    CHECK_EQ_INT(in.schema_version, 3);
    CHECK_STREQ(in.fts_tokenizer, porter ? SEM_FTS_TOKENIZER_PORTER : SEM_FTS_TOKENIZER_NOSTEM);
    if (!porter) { /* switching the stemming rebuilds the full-text index */
        CHECK_EQ_INT(sem_kb_set_stemming(kb, "porter", &err), SEM_OK);
        CHECK_STREQ(search(kb, "INFECTED"), "en-1");
        CHECK_STREQ(search(kb, "symptom"), "en-1");
        CHECK_EQ_INT(sem_kb_set_stemming(kb, "snowball", &err), SEM_EINVAL);
    }
    sem_kb_close(kb);
}

static void test_bad_stemming(const char *dir)
{
    sem_error err;
    sem_kb_create_params cp = sem_kb_default_create_params();
    cp.model.dim = D;
    cp.stemming = "snowball";
    CHECK(sem_kb_create(dir, &cp, &err) == NULL);
    CHECK_EQ_INT(err.code, SEM_EINVAL);
    CHECK(strstr(err.msg, "snowball") != NULL);
}

static void test_terms(const char *dir)
{
    sem_kb *kb = make_kb(dir, NULL);
    if (!kb)
        return;
    struct {
        const char *q, *want;
    } cases[] = {
        {"what is 新冠病毒?", "新冠|冠病|病毒"},
        {"The Infection rate", "Infection|rate"},
        {"what is the", "what|is|the"},     /* stopwords only: kept */
        {"apt软件包 and 病", "apt|软件|件包|病"},
        {"", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        sem_error err;
        char **t = NULL, got[256] = "";
        int n = 0;
        CHECK_EQ_INT(sem_kb_text_terms(kb, cases[i].q, &t, &n, &err), SEM_OK);
        for (int j = 0; j < n; j++) {
            size_t o = strlen(got);
            snprintf(got + o, sizeof got - o, "%s%s", j ? "|" : "", t[j]);
        }
        CHECK_STREQ(got, cases[i].want);
        sem_kb_text_terms_free(t, n);
    }
    sem_error err;
    char **t = NULL;
    int n = 0;
    CHECK_EQ_INT(sem_kb_text_terms(kb, "bad \xff", &t, &n, &err), SEM_EINVAL);
    sem_kb_close(kb);
    /* the query itself: content terms gate, every term scores */
    char *q = NULL;
    CHECK_EQ_INT(sem_fts_query("why is the sky blue", 1, &q, &err), SEM_OK);
    CHECK_STREQ(q, "(\"sky\" OR \"blue\") AND (\"why\" OR \"is\" OR \"the\" OR \"sky\" OR \"blue\")");
    free(q);
    CHECK_EQ_INT(sem_fts_query("新冠病毒", 1, &q, &err), SEM_OK);
    CHECK_STREQ(q, "\"新冠\" OR \"冠病\" OR \"病毒\"");
    free(q);
    CHECK_EQ_INT(sem_fts_query("新冠病毒", 0, &q, &err), SEM_OK); /* schema 2: whole words */
    CHECK_STREQ(q, "\"新冠病毒\"");
    free(q);
}

/* A KB of schema 2 (passage text only, unicode61): the first schema's tables written by the test's own SQL,
 * moved to schema 2 by the store's migration, then filled (so that the triggers fill FTS5 and the change log). */
static const char *SCHEMA_V1 =
    TU_SCHEMA_V1_TABLES
    "INSERT INTO meta VALUES ('uuid','0123456789abcdef0123456789abcdef'),('dim','4'),('metric','ip'),"
    " ('index_spec','Flat'),('model_name',''),('model_hash',''),('model_pooling',''),"
    " ('model_normalize','0'),('created_at','0'),('lexical_only','0');"
    "PRAGMA user_version=1;";
static const char *ROWS_V2 =
    "INSERT INTO documents VALUES (1,'v2-1','Zebra facts','the infected zebra',  '{}',0,0);"
    "INSERT INTO documents VALUES (2,'v2-2','','\xe6\x96\xb0\xe5\x86\xa0\xe7\x97\x85\xe6\xaf\x92', '{}',0,0);"
    "INSERT INTO passages VALUES (1,1,0,0,18,'the infected zebra', x'0000803F000000000000000000000000');"
    "INSERT INTO passages VALUES (2,2,0,0,12,'\xe6\x96\xb0\xe5\x86\xa0\xe7\x97\x85\xe6\xaf\x92',"
    "  x'000000000000803F0000000000000000');";

static void test_schema2(const char *dir)
{
    sem_error err;
    sqlite3 *db = tu_old_kb(dir, SCHEMA_V1);
    CHECK(db && sem_db_migrate(db, 2, NULL, &err) == SEM_OK && sem_db_exec(db, ROWS_V2, &err) == SEM_OK);
    sqlite3_close(db);

    /* it opens (read-only too) and searches as before: whole words, no title, no stems */
    sem_kb_open_params op = sem_kb_default_open_params();
    op.read_only = 1;
    sem_kb *ro = sem_kb_open(dir, &op, &err);
    CHECK_MSG(ro != NULL, "read-only open of schema 2: %s", err.msg);
    if (ro)
        CHECK_STREQ(search(ro, "zebra"), "v2-1");
    sem_kb_close(ro);
    sem_kb *kb = sem_kb_open(dir, NULL, &err);
    CHECK_MSG(kb != NULL, "open schema 2: %s", err.msg);
    if (!kb)
        return;
    sem_kb_info in;
    CHECK_EQ_INT(sem_kb_get_info(kb, &in, &err), SEM_OK);
    CHECK_EQ_INT(in.schema_version, 2);
    CHECK_STREQ(in.fts_tokenizer, SEM_FTS_TOKENIZER_V2);
    CHECK_STREQ(search(kb, "zebra"), "v2-1");
    CHECK_STREQ(search(kb, "the infected"), "v2-1");
    CHECK_STREQ(search(kb, "\xe6\x96\xb0\xe5\x86\xa0\xe7\x97\x85\xe6\xaf\x92"), "v2-2"); /* the whole run */
    CHECK_STREQ(search(kb, "\xe7\x97\x85\xe6\xaf\x92"), "");                             /* not a part of it */
    CHECK_STREQ(search(kb, "facts"), "");    /* titles are not indexed */
    CHECK_STREQ(search(kb, "infection"), ""); /* no stemming */
    /* writes keep working on the old schema */
    float v[D] = {0, 0, 1, 0};
    sem_kb_passage ps = {"a giraffe", 0, 9, v};
    sem_kb_doc d = {"v2-3", "Tall", "a giraffe", NULL, &ps, 1};
    CHECK_EQ_INT(sem_kb_put(kb, &d, 1, &err), SEM_OK);
    CHECK_STREQ(search(kb, "giraffe"), "v2-3");
    sem_kb_close(kb);
    int w0 = tu_warnings;
    kb = sem_kb_open(dir, NULL, &err); /* no migration on open, and its index file is still good */
    CHECK(kb != NULL);
    CHECK_MSG(tu_warnings == w0, "reopening a schema-2 KB warned: %s", tu_last_warning);
    if (!kb)
        return;
    CHECK_EQ_INT(sem_kb_get_info(kb, &in, &err), SEM_OK);
    CHECK_EQ_INT(in.schema_version, 2);

    /* compact migrates: titles, stems, CJK bigrams; vectors untouched */
    CHECK_EQ_INT(sem_kb_compact(kb, NULL, &err), SEM_OK);
    CHECK_EQ_INT(sem_kb_get_info(kb, &in, &err), SEM_OK);
    CHECK_EQ_INT(in.schema_version, 3);
    CHECK_STREQ(in.fts_tokenizer, SEM_FTS_TOKENIZER_PORTER);
    CHECK_EQ_INT(in.n_passages, 3);
    CHECK_STREQ(search(kb, "facts"), "v2-1");
    CHECK_STREQ(search(kb, "infection"), "v2-1");
    CHECK_STREQ(search(kb, "tall"), "v2-3");
    CHECK_STREQ(search(kb, "\xe7\x97\x85\xe6\xaf\x92"), "v2-2");
    float q[D] = {0, 1, 0, 0};
    sem_kb_search_params sp = sem_kb_default_search_params();
    sem_kb_hit h[10];
    int nh = 0;
    CHECK_EQ_INT(sem_kb_search(kb, q, 1, &sp, h, &nh, &err), SEM_OK);
    CHECK(nh == 3 && h[0].passage_id == 2);
    CHECK_EQ_INT(sem_kb_delete(kb, "v2-1", &err), SEM_OK);
    CHECK_STREQ(search(kb, "zebra"), "");
    sem_kb_check_report r;
    CHECK_EQ_INT(sem_kb_check(kb, &r, &err), SEM_OK);
    CHECK_EQ_INT(r.fts_mismatch + r.missing_in_index + r.extra_in_index, 0);
    sem_kb_check_report_clear(&r);
    sem_kb_close(kb);
    /* a second compact keeps schema 3; reopening the migrated KB finds its index file good */
    w0 = tu_warnings;
    kb = sem_kb_open(dir, NULL, &err);
    CHECK(kb != NULL);
    CHECK_MSG(tu_warnings == w0, "reopening a migrated KB warned: %s", tu_last_warning);
    if (kb) {
        CHECK_EQ_INT(sem_kb_compact(kb, NULL, &err), SEM_OK);
        CHECK_STREQ(search(kb, "\xe7\x97\x85\xe6\xaf\x92"), "v2-2");
        sem_kb_close(kb);
    }
    /* a tokenizer setting this build does not know is refused, not guessed */
    char p[2048];
    snprintf(p, sizeof p, "%s/kb.sqlite", dir);
    CHECK(sqlite3_open(p, &db) == SQLITE_OK);
    CHECK(sqlite3_exec(db, "UPDATE meta SET value = 'trigram' WHERE key = 'fts_tokenizer'", NULL, NULL, NULL) ==
          SQLITE_OK);
    sqlite3_close(db);
    CHECK(sem_kb_open(dir, &op, &err) == NULL);
    CHECK_EQ_INT(err.code, SEM_EFORMAT);
}

int main(void)
{
    sem_log_set(tu_log, NULL);
    char base[512], dir[1024];
    tu_tmpdir(base, sizeof base, "fts");
    snprintf(dir, sizeof dir, "%s/cjk", base);
    test_cjk(dir);
    snprintf(dir, sizeof dir, "%s/porter", base);
    test_english(dir, NULL);
    snprintf(dir, sizeof dir, "%s/nostem", base);
    test_english(dir, "none");
    snprintf(dir, sizeof dir, "%s/bad", base);
    test_bad_stemming(dir);
    snprintf(dir, sizeof dir, "%s/terms", base);
    test_terms(dir);
    snprintf(dir, sizeof dir, "%s/v2", base);
    test_schema2(dir);
    tu_rm_rf(base);
    TEST_END();
}
