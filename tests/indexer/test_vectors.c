/* tests/indexer/test_vectors.c: documents that bring their own "vector".
 *   - a KB made with a dimension and no model (`kb create --dim N`) stores each document's vector as its one
 *     passage's vector (JSONL through sem_index_add, and the POST /documents path: sem_doc_from_cjson +
 *     sem_index_put_docs_counted); documents without one, of the wrong length or not finite are refused by name;
 *     a changed vector is a replacement, the same one leaves the document unchanged;
 *   - a KB with a model, and a lexical-only KB, refuse documents that carry a vector;
 *   - new and replaced documents are counted apart.
 * (Before: the vector was ignored, zeros were stored and the document reported "added".) */
#include "test.h"
#include "test_util.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <unistd.h>

#include "indexer/indexer.h"
#include "store/kb.h"

#define MODEL SEM_SHARED_DIR "/testdata/models/bert-tiny-uncased"

static char tmp[256];

static const char *path(const char *name)
{
    static char p[4][512];
    static int slot;
    char *s = p[slot++ % 4];
    snprintf(s, 512, "%s/%s", tmp, name);
    return s;
}

static void put(const char *name, const char *text)
{
    CHECK(tst_write_file(path(name), text, strlen(text)) == 0);
}

/* The stored vector of document id's one passage into v (dim floats); 0 on success. */
static int stored_vec(sem_kb *kb, const char *id, float *v, int dim)
{
    sem_kb_doc_out *o = NULL;
    if (sem_kb_get_doc(kb, id, 1, &o, NULL) != SEM_OK || !o)
        return -1;
    int ok = o->n_passages == 1 && o->passages[0].vec;
    if (ok)
        memcpy(v, o->passages[0].vec, (size_t)dim * sizeof *v);
    sem_kb_doc_out_free(o);
    return ok ? 0 : -1;
}

static sem_kb *create_raw(const char *name, int dim)
{
    sem_kb_create_params cp = sem_kb_default_create_params();
    cp.model.dim = dim;
    sem_error err;
    sem_kb *kb = sem_kb_create(path(name), &cp, &err);
    CHECK_MSG(kb != NULL, "create: %s", err.msg);
    return kb;
}

static void test_jsonl(void)
{
    sem_kb_close(create_raw("raw", 3));
    put("v.jsonl", "{\"id\":\"a\",\"text\":\"first document\",\"vector\":[1,0,0]}\n"
                   "{\"id\":\"b\",\"text\":\"no vector here\"}\n"
                   "{\"id\":\"c\",\"text\":\"wrong length\",\"vector\":[1,2]}\n"
                   "{\"id\":\"d\",\"text\":\"too big for a float\",\"vector\":[1e300,0,0]}\n"
                   "{\"id\":\"e\",\"text\":\"not numbers\",\"vector\":[\"x\",0,0]}\n"
                   "{\"id\":\"f\",\"text\":\"one paragraph.\\n\\nAnother paragraph, one passage all the same.\","
                   "\"vector\":[0,0.5,-2]}\n");
    const char *in[] = {path("v.jsonl")};
    sem_index_params p = sem_index_default_params();
    p.chunk_tokens = 3; /* would split f's text: a document with its own vector stays one passage */
    p.chunk_overlap = 0;
    sem_index_stats st;
    sem_error err;
    CHECK_EQ_INT(sem_index_add(path("raw"), in, 1, &p, &st, &err), SEM_OK);
    CHECK_EQ_INT(st.docs_added, 2);
    CHECK_EQ_INT(st.docs_failed, 4);
    CHECK_EQ_INT(st.passages, 2);
    CHECK_EQ_INT(st.lexical_only, 0);
    sem_kb *kb = sem_kb_open(path("raw"), NULL, &err);
    CHECK(kb != NULL);
    float v[3];
    CHECK(kb && stored_vec(kb, "a", v, 3) == 0 && v[0] == 1 && v[1] == 0 && v[2] == 0);
    CHECK(kb && stored_vec(kb, "f", v, 3) == 0 && v[0] == 0 && v[1] == 0.5f && v[2] == -2);
    sem_kb_close(kb);
    /* the first refusal, by name */
    p.on_error = SEM_ON_ERROR_FAIL;
    put("b.jsonl", "{\"id\":\"b\",\"text\":\"no vector here\"}\n");
    in[0] = path("b.jsonl");
    CHECK_EQ_INT(sem_index_add(path("raw"), in, 1, &p, &st, &err), SEM_EINVAL);
    CHECK_MSG(strstr(err.msg, "document 'b' has no \"vector\"") && strstr(err.msg, "--dim 3"), "%s", err.msg);
    put("c.jsonl", "{\"id\":\"c\",\"text\":\"x\",\"vector\":[1,2]}\n");
    in[0] = path("c.jsonl");
    CHECK_EQ_INT(sem_index_add(path("raw"), in, 1, &p, &st, &err), SEM_EINVAL);
    CHECK_MSG(strstr(err.msg, "\"vector\" of 2 numbers; this KB's dimension is 3"), "%s", err.msg);
    /* same vector: unchanged; another vector: replaced, and stored */
    put("a.jsonl", "{\"id\":\"a\",\"text\":\"first document\",\"vector\":[1,0,0]}\n");
    in[0] = path("a.jsonl");
    CHECK_EQ_INT(sem_index_add(path("raw"), in, 1, &p, &st, &err), SEM_OK);
    CHECK(st.docs_unchanged == 1 && st.docs_added == 0 && st.docs_replaced == 0);
    put("a.jsonl", "{\"id\":\"a\",\"text\":\"first document\",\"vector\":[0,1,0]}\n");
    CHECK_EQ_INT(sem_index_add(path("raw"), in, 1, &p, &st, &err), SEM_OK);
    CHECK(st.docs_unchanged == 0 && st.docs_added == 0 && st.docs_replaced == 1);
    kb = sem_kb_open(path("raw"), NULL, &err);
    CHECK(kb && stored_vec(kb, "a", v, 3) == 0 && v[0] == 0 && v[1] == 1);
    /* and it is what vector search finds */
    sem_kb_hit hits[2];
    int nh = 0;
    sem_kb_search_params sp = sem_kb_default_search_params();
    sp.k = 1;
    float q[3] = {0, 1, 0};
    CHECK(kb && sem_kb_search(kb, q, 1, &sp, hits, &nh, &err) == SEM_OK && nh == 1);
    sem_kb_passage_info info;
    CHECK(kb && sem_kb_get_passages(kb, &hits[0].passage_id, 1, &info, &err) == SEM_OK && info.found &&
          strcmp(info.doc_ext_id, "a") == 0);
    if (kb)
        sem_kb_passage_info_clear(&info, 1);
    sem_kb_close(kb);
}

/* The POST /documents path: documents from JSON objects, one transaction, counts of new and replaced. */
static void test_put_docs(void)
{
    sem_kb *kb = create_raw("raw2", 2);
    if (!kb)
        return;
    cJSON *arr = cJSON_Parse("[{\"id\":\"x\",\"text\":\"ex\",\"vector\":[0.25,0.5]},"
                             "{\"id\":\"y\",\"text\":\"why\",\"vector\":[1,1]}]");
    sem_doc docs[2];
    sem_error err;
    for (int i = 0; i < 2; i++)
        CHECK_EQ_INT(sem_doc_from_cjson(cJSON_GetArrayItem(arr, i), &docs[i], &err), SEM_OK);
    sem_index_put_counts c;
    CHECK_EQ_INT(sem_index_put_docs_counted(kb, NULL, NULL, docs, 2, 0, -1, &c, &err), SEM_OK);
    CHECK(c.added == 2 && c.replaced == 0 && c.passages == 2);
    docs[0].vector[0] = -1;
    CHECK_EQ_INT(sem_index_put_docs_counted(kb, NULL, NULL, docs, 1, 0, -1, &c, &err), SEM_OK);
    CHECK(c.added == 0 && c.replaced == 1 && c.passages == 1);
    float v[2];
    CHECK(stored_vec(kb, "x", v, 2) == 0 && v[0] == -1 && v[1] == 0.5f);
    for (int i = 0; i < 2; i++)
        sem_doc_clear(&docs[i]);
    cJSON_Delete(arr);
    /* without a vector, or a bad one: refused, nothing written */
    arr = cJSON_Parse("[{\"id\":\"z\",\"text\":\"zed\"},{\"id\":\"w\",\"text\":\"w\",\"vector\":[1,2,3]},"
                      "{\"id\":\"n\",\"text\":\"n\",\"vector\":[]},{\"id\":\"s\",\"text\":\"s\",\"vector\":\"1,2\"}]");
    CHECK_EQ_INT(sem_doc_from_cjson(cJSON_GetArrayItem(arr, 0), &docs[0], &err), SEM_OK);
    CHECK_EQ_INT(sem_index_put_docs_counted(kb, NULL, NULL, docs, 1, 0, -1, &c, &err), SEM_EINVAL);
    CHECK(strstr(err.msg, "no \"vector\"") != NULL);
    sem_doc_clear(&docs[0]);
    CHECK_EQ_INT(sem_doc_from_cjson(cJSON_GetArrayItem(arr, 1), &docs[0], &err), SEM_OK);
    CHECK_EQ_INT(sem_index_put_docs_counted(kb, NULL, NULL, docs, 1, 0, -1, &c, &err), SEM_EINVAL);
    sem_doc_clear(&docs[0]);
    CHECK_EQ_INT(sem_doc_from_cjson(cJSON_GetArrayItem(arr, 2), &docs[0], &err), SEM_EINVAL);
    CHECK_EQ_INT(sem_doc_from_cjson(cJSON_GetArrayItem(arr, 3), &docs[0], &err), SEM_EINVAL);
    CHECK(strstr(err.msg, "\"vector\" must be an array") != NULL);
    cJSON_Delete(arr);
    int64_t nd = 0, np = 0;
    CHECK(sem_kb_count(kb, &nd, &np, &err) == SEM_OK && nd == 2);
    sem_kb_close(kb);
}

/* KBs that make their own vectors (a model) or have none (lexical-only) refuse documents that bring one. */
static void test_refused(void)
{
    put("m.jsonl", "{\"id\":\"m1\",\"text\":\"plain text\"}\n");
    put("mv.jsonl", "{\"id\":\"m2\",\"text\":\"text with a vector\",\"vector\":[1,2,3]}\n");
    const char *in[] = {path("m.jsonl")};
    sem_index_params p = sem_index_default_params();
    p.on_error = SEM_ON_ERROR_FAIL;
    sem_index_stats st;
    sem_error err;
    if (access(MODEL, R_OK) == 0) {
        p.model = MODEL;
        CHECK_EQ_INT(sem_index_add(path("withmodel"), in, 1, &p, &st, &err), SEM_OK);
        p.model = NULL;
        in[0] = path("mv.jsonl");
        CHECK_EQ_INT(sem_index_add(path("withmodel"), in, 1, &p, &st, &err), SEM_EINVAL);
        CHECK_MSG(strstr(err.msg, "'m2' has a \"vector\", but this KB's vectors come from its model"), "%s", err.msg);
    } else {
        printf("model fixture missing: the model-KB case skipped\n");
    }
    in[0] = path("m.jsonl");
    CHECK_EQ_INT(sem_index_add(path("lexical"), in, 1, &p, &st, &err), SEM_OK); /* no model: lexical-only */
    CHECK_EQ_INT(st.lexical_only, 1);
    in[0] = path("mv.jsonl");
    CHECK_EQ_INT(sem_index_add(path("lexical"), in, 1, &p, &st, &err), SEM_EINVAL);
    CHECK_MSG(strstr(err.msg, "lexical-only") != NULL, "%s", err.msg);
}

int main(void)
{
    snprintf(tmp, sizeof tmp, "/tmp/sem_vectors_XXXXXX");
    if (!mkdtemp(tmp))
        return 1;
    test_jsonl();
    test_put_docs();
    test_refused();
    tst_sh("rm -rf '%s'", tmp);
    TEST_END();
}
