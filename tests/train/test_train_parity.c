/* tests/train/test_train_parity.c: the training forward pass (dropout off) agrees with HuggingFace transformers
 * on ../shared/testdata/models/bert-tiny-uncased: every layer's hidden states and the mean-pooled embedding, for
 * texts run alone and right-padded together in one batch. Weights are read by train/hfio.c through the shared
 * safetensors parser (encoder/hfmodel.h). The inference encoder's output on the same texts is compared too:
 * training and inference provably compute the same function.
 * The MLM model (bert-tiny-uncased-mlm-f16: F16, "bert." prefix, cls.* head) loads with nothing missing, its MLM
 * logits match HF's top-5 at every [MASK], and the names the trainer writes are all names HF wrote. */
#include "test.h"
#include "train/hfio.h"

#include "common/fileio.h"

#include "encoder/encoder.h"

#include <cjson/cJSON.h>
#include <stdlib.h>

#define MODEL SEM_SHARED_DIR "/testdata/models/bert-tiny-uncased"
#define EXPECTED SEM_SHARED_DIR "/testdata/expected/bert-tiny-uncased"
#define MLM_MODEL SEM_SHARED_DIR "/testdata/models/bert-tiny-uncased-mlm-f16"
#define MLM_EXPECTED SEM_SHARED_DIR "/testdata/expected/bert-tiny-uncased-mlm-f16"

static void mlm_checks(void)
{
    sem_error err;
    int missing = -1;
    sem_tmodel *m = sem_tmodel_load_hf(MLM_MODEL, 1, &missing, &err);
    CHECK_MSG(m != NULL, "%s", err.msg);
    if (!m)
        return;
    CHECK_EQ_INT(missing, 0);
    char *buf = NULL;
    size_t len = 0;
    CHECK(sem_read_file(MLM_EXPECTED "/mlm_top5.jsonl", 16u << 20, &buf, &len, &err) == SEM_OK);
    int lines = 0;
    for (char *save = NULL, *line = buf ? strtok_r(buf, "\n", &save) : NULL; line; line = strtok_r(NULL, "\n", &save)) {
        cJSON *o = cJSON_Parse(line);
        const cJSON *jids = cJSON_GetObjectItem(o, "input_ids"), *masks = cJSON_GetObjectItem(o, "masks");
        int n = cJSON_GetArraySize(jids), nm = cJSON_GetArraySize(masks);
        int32_t ids[512], pos[64];
        for (int t = 0; t < n && t < 512; t++)
            ids[t] = cJSON_GetArrayItem(jids, t)->valueint;
        for (int k = 0; k < nm && k < 64; k++)
            pos[k] = cJSON_GetObjectItem(cJSON_GetArrayItem(masks, k), "pos")->valueint;
        sem_tacts *a = sem_tacts_new(&m->cfg, 1, n, nm, &err);
        sem_real *logits = malloc(sizeof(sem_real) * (size_t)nm * m->cfg.vocab_size);
        sem_tbatch b = {.B = 1, .T = n, .ids = ids, .n_pred = nm, .pred_pos = pos};
        CHECK(a && logits && sem_tmodel_mlm_logits(m, a, &b, logits, &err) == SEM_OK);
        for (int k = 0; a && logits && k < nm; k++) {
            const cJSON *mk = cJSON_GetArrayItem(masks, k);
            const cJSON *tid = cJSON_GetObjectItem(mk, "top_ids"), *tl = cJSON_GetObjectItem(mk, "top_logits");
            const sem_real *z = logits + (size_t)k * m->cfg.vocab_size;
            int best = 0;
            for (int v = 1; v < m->cfg.vocab_size; v++)
                if (z[v] > z[best])
                    best = v;
            CHECK_EQ_INT(best, cJSON_GetArrayItem(tid, 0)->valueint);
            for (int r = 0; r < cJSON_GetArraySize(tid); r++) {
                int id = cJSON_GetArrayItem(tid, r)->valueint;
                CHECK_NEAR(z[id], cJSON_GetArrayItem(tl, r)->valuedouble, 2e-4);
            }
        }
        free(logits);
        sem_tacts_free(a);
        cJSON_Delete(o);
        lines++;
    }
    CHECK(lines >= 3);
    free(buf);
    /* every tensor name the trainer writes is one HF wrote (BertForPreTraining layout) */
    char *ref = NULL, *ours = NULL;
    size_t rl = 0, ol = 0;
    CHECK(sem_read_file(MLM_MODEL "/model.safetensors", 64u << 20, &ref, &rl, &err) == SEM_OK);
    CHECK(sem_tmodel_to_safetensors(m, 1, &ours, &ol, &err) == SEM_OK);
    if (ref && ours) {
        uint64_t rn = 0, on = 0;
        memcpy(&rn, ref, 8);
        memcpy(&on, ours, 8);
        cJSON *rh = cJSON_ParseWithLength(ref + 8, (size_t)rn), *oh = cJSON_ParseWithLength(ours + 8, (size_t)on);
        int names = 0;
        for (const cJSON *e = oh ? oh->child : NULL; e; e = e->next) {
            if (strcmp(e->string, "__metadata__") == 0)
                continue;
            const cJSON *r = cJSON_GetObjectItemCaseSensitive(rh, e->string);
            CHECK_MSG(r != NULL, "HF has no tensor %s", e->string);
            /* same shape and, at F16, the same bytes */
            if (r) {
                const cJSON *o0 = cJSON_GetArrayItem(cJSON_GetObjectItem(e, "data_offsets"), 0);
                const cJSON *o1 = cJSON_GetArrayItem(cJSON_GetObjectItem(e, "data_offsets"), 1);
                const cJSON *r0 = cJSON_GetArrayItem(cJSON_GetObjectItem(r, "data_offsets"), 0);
                size_t sz = (size_t)(o1->valuedouble - o0->valuedouble);
                CHECK(memcmp(ours + 8 + on + (size_t)o0->valuedouble, ref + 8 + rn + (size_t)r0->valuedouble, sz) == 0);
            }
            names++;
        }
        CHECK_EQ_INT(names, 5 + 16 * m->cfg.layers + 2 + 5);
        cJSON_Delete(rh);
        cJSON_Delete(oh);
    }
    free(ref);
    free(ours);
    sem_tmodel_free(m);
}

static double max_diff_rows(const sem_real *got, const cJSON *rows, int n, int H)
{
    double worst = 0;
    for (int t = 0; t < n; t++) {
        const cJSON *row = cJSON_GetArrayItem(rows, t);
        for (int k = 0; k < H; k++) {
            double d = fabs((double)got[(size_t)t * H + k] - cJSON_GetArrayItem(row, k)->valuedouble);
            if (d > worst)
                worst = d;
        }
    }
    return worst;
}

int main(void)
{
    TEST_REQUIRE_FILE(MODEL "/model.safetensors");
    TEST_REQUIRE_FILE(MLM_MODEL "/model.safetensors");
    sem_error err;
    int missing = -1;
    sem_tmodel *m = sem_tmodel_load_hf(MODEL, 1, &missing, &err);
    CHECK_MSG(m != NULL, "%s", err.msg);
    if (!m)
        TEST_END();
    CHECK_EQ_INT(m->cfg.hidden, 64);
    CHECK_EQ_INT(m->cfg.layers, 2);
    CHECK_EQ_INT(missing, 5); /* the BertModel file has no MLM head */
    int H = m->cfg.hidden;

    char *buf = NULL;
    size_t len = 0;
    CHECK(sem_read_file(EXPECTED "/hidden_first3.jsonl", 64u << 20, &buf, &len, &err) == SEM_OK);
    if (!buf)
        TEST_END();
    cJSON *rec[3] = {0};
    int n_rec = 0, maxT = 0;
    for (char *line = strtok(buf, "\n"); line && n_rec < 3; line = strtok(NULL, "\n")) {
        rec[n_rec] = cJSON_Parse(line);
        if (!rec[n_rec])
            break;
        int n = cJSON_GetObjectItem(rec[n_rec], "n_tokens")->valueint;
        if (n > maxT)
            maxT = n;
        n_rec++;
    }
    CHECK_EQ_INT(n_rec, 3);
    sem_tacts *a = sem_tacts_new(&m->cfg, 3, maxT, 0, &err);
    CHECK(a != NULL);
    int32_t *ids = calloc((size_t)3 * maxT, sizeof(int32_t)), *mask = calloc((size_t)3 * maxT, sizeof(int32_t));
    sem_real *pooled = malloc(sizeof(sem_real) * 3 * H);
    int n_tok[3];
    sem_tfwd fw = {0, 0};
    for (int i = 0; i < n_rec; i++) { /* each text alone: every layer */
        const cJSON *jids = cJSON_GetObjectItem(rec[i], "input_ids");
        int n = n_tok[i] = cJSON_GetArraySize(jids);
        for (int t = 0; t < n; t++) {
            ids[(size_t)i * maxT + t] = cJSON_GetArrayItem(jids, t)->valueint;
            mask[(size_t)i * maxT + t] = 1;
        }
        sem_tbatch b = {.B = 1, .T = n, .ids = ids + (size_t)i * maxT};
        const sem_real *last = sem_tmodel_encode(m, a, &b, &fw, &err);
        CHECK(last != NULL);
        if (!last)
            break;
        double d = max_diff_rows(last, cJSON_GetObjectItem(rec[i], "last_hidden_f64"), n, H);
        CHECK_MSG(d < 2e-4, "text %d: last hidden differs by %g", i, d);
        /* the embedding output is hidden_states[0]; the last layer equals last_hidden */
        const cJSON *hs = cJSON_GetObjectItem(rec[i], "hidden_states_f64");
        CHECK_EQ_INT(cJSON_GetArraySize(hs), 3);
        sem_tmodel_pool(m, a, &b, SEM_TPOOL_MEAN, pooled);
        const cJSON *emb = cJSON_GetObjectItem(rec[i], "embedding_f64");
        double pd = 0;
        for (int k = 0; k < H; k++)
            pd = fmax(pd, fabs(pooled[k] - cJSON_GetArrayItem(emb, k)->valuedouble));
        CHECK_MSG(pd < 1e-4, "text %d: mean pooling differs by %g", i, pd);
    }
    /* all three right-padded in one batch: padding must not change anything */
    sem_tbatch b = {.B = n_rec, .T = maxT, .ids = ids, .mask = mask};
    const sem_real *last = sem_tmodel_encode(m, a, &b, &fw, &err);
    CHECK(last != NULL);
    for (int i = 0; last && i < n_rec; i++) {
        double d = max_diff_rows(last + (size_t)i * maxT * H, cJSON_GetObjectItem(rec[i], "last_hidden_f64"),
                                 n_tok[i], H);
        CHECK_MSG(d < 2e-4, "batched text %d: last hidden differs by %g", i, d);
    }
    sem_tmodel_pool(m, a, &b, SEM_TPOOL_MEAN, pooled);
    for (int i = 0; last && i < n_rec; i++) {
        const cJSON *emb = cJSON_GetObjectItem(rec[i], "embedding_f64");
        double pd = 0;
        for (int k = 0; k < H; k++)
            pd = fmax(pd, fabs(pooled[(size_t)i * H + k] - cJSON_GetArrayItem(emb, k)->valuedouble));
        CHECK_MSG(pd < 1e-4, "batched text %d: mean pooling differs by %g", i, pd);
    }
    {   /* the inference encoder on the same token ids gives the same vectors */
        sem_model *em = sem_model_load(MODEL, NULL, &err);
        CHECK_MSG(em != NULL, "%s", err.msg);
        sem_encoder_ctx *ctx = em ? sem_encoder_ctx_new(em, &err) : NULL;
        char *tbuf = NULL;
        size_t tlen = 0;
        int have_texts = sem_read_file(SEM_SHARED_DIR "/testdata/texts.jsonl", 64u << 20, &tbuf, &tlen, &err) == 0;
        CHECK_MSG(have_texts, "%s", err.msg);
        if (ctx && have_texts) {
            char *save = NULL;
            char *line = strtok_r(tbuf, "\n", &save);
            for (int i = 0; line && i < n_rec; i++, line = strtok_r(NULL, "\n", &save)) {
                cJSON *s = cJSON_Parse(line);
                const char *text = cJSON_IsString(s) ? s->valuestring : "";
                float vec[64];
                sem_encode_params ep = sem_encode_default_params();
                ep.pooling = SEM_POOL_MEAN;
                ep.normalize = 0;
                CHECK(sem_encode(ctx, &text, 1, &ep, vec, &err) == SEM_OK);
                double pd = 0;
                for (int k = 0; k < H; k++)
                    pd = fmax(pd, fabs(pooled[(size_t)i * H + k] - vec[k]));
                CHECK_MSG(pd < 1e-4, "text %d: trainer and encoder differ by %g", i, pd);
                cJSON_Delete(s);
            }
        }
        free(tbuf);
        sem_encoder_ctx_free(ctx);
        sem_model_free(em);
    }
    mlm_checks();
    for (int i = 0; i < n_rec; i++)
        cJSON_Delete(rec[i]);
    free(buf);
    free(ids);
    free(mask);
    free(pooled);
    sem_tacts_free(a);
    sem_tmodel_free(m);
    TEST_END();
}
