/* tests/encoder/test_tokenizer_parity.c: token ids exactly as HuggingFace transformers 4.36 BertTokenizer made
 * them (../shared/testdata/expected/MODEL/tokens.jsonl and pair_tokens.jsonl), for every model folder under
 * ../shared/testdata/models. The tokenizer settings come from each folder's tokenizer_config.json. Checks
 * input_ids, token_type_ids, attention_mask and the token strings, at max_length 512 (given explicitly and as 0
 * = model_max_length), and that sem_tokenize_ids / sem_tokenizer_count agree with sem_tokenize. */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/fileio.h"
#include "encoder/tokenizer.h"
#include "test.h"
#include "test_tokenizer_util.h"

#define TESTDATA SEM_SHARED_DIR "/testdata"

typedef struct {
    char *a, *b;
    size_t la, lb;
} input;

/* Reads texts.jsonl (one JSON string a line) or pairs.jsonl ([a, b] a line). */
static int read_inputs(const char *path, int pairs, input **out, int *n_out)
{
    char *buf = NULL;
    size_t len = 0;
    sem_error err;
    if (sem_read_file(path, 64u << 20, &buf, &len, &err) != SEM_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
    }
    int cap = 64, n = 0;
    input *v = calloc((size_t)cap, sizeof *v);
    const char *p = buf;
    while (v && *p) {
        if (*p == '\n') {
            p++;
            continue;
        }
        if (n == cap) {
            input *nv = realloc(v, (size_t)cap * 2 * sizeof *v);
            if (!nv)
                break;
            v = nv;
            cap *= 2;
        }
        input *in = &v[n];
        memset(in, 0, sizeof *in);
        if (pairs) {
            while (*p == ' ')
                p++;
            if (*p++ != '[')
                break;
        }
        in->a = json_string(&p, &in->la);
        if (!in->a)
            break;
        if (pairs) {
            while (*p == ' ' || *p == ',')
                p++;
            in->b = json_string(&p, &in->lb);
            if (!in->b)
                break;
            while (*p == ' ')
                p++;
            if (*p++ != ']')
                break;
        }
        n++;
        while (*p && *p != '\n')
            p++;
    }
    int ok = v && *p == '\0';
    free(buf);
    *out = v;
    *n_out = n;
    if (!ok)
        fprintf(stderr, "%s: malformed at line %d\n", path, n + 1);
    return ok ? 0 : -1;
}

static void free_inputs(input *v, int n)
{
    for (int i = 0; i < n && v; i++) {
        free(v[i].a);
        free(v[i].b);
    }
    free(v);
}

static int json_bool(const cJSON *o, const char *key, int dflt)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);
    if (cJSON_IsBool(j))
        return cJSON_IsTrue(j);
    return dflt;
}

static int load_config(const char *dir, sem_tokenizer_config *cfg)
{
    char path[700];
    snprintf(path, sizeof path, "%s/tokenizer_config.json", dir);
    char *buf = NULL;
    size_t len;
    sem_error err;
    *cfg = sem_tokenizer_default_config();
    if (sem_read_file(path, 1u << 20, &buf, &len, &err) != SEM_OK)
        return -1;
    cJSON *o = cJSON_ParseWithLength(buf, len);
    free(buf);
    if (!o)
        return -1;
    cfg->do_lower_case = json_bool(o, "do_lower_case", 1);
    cfg->tokenize_chinese_chars = json_bool(o, "tokenize_chinese_chars", 1);
    const cJSON *sa = cJSON_GetObjectItemCaseSensitive(o, "strip_accents");
    cfg->strip_accents = cJSON_IsBool(sa) ? cJSON_IsTrue(sa) : -1;
    const cJSON *ml = cJSON_GetObjectItemCaseSensitive(o, "model_max_length");
    if (cJSON_IsNumber(ml) && ml->valuedouble >= 1 && ml->valuedouble <= 1e9)
        cfg->model_max_length = (int)ml->valuedouble;
    cJSON_Delete(o);
    return 0;
}

static int int_array_eq(const cJSON *arr, const int32_t *v, int n)
{
    if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) != n)
        return 0;
    int i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, arr)
    {
        if (!cJSON_IsNumber(e) || (int32_t)e->valueint != v[i++])
            return 0;
    }
    return 1;
}

static int tokens_eq(const sem_tokenizer *t, const cJSON *arr, const int32_t *ids, int n)
{
    if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) != n)
        return 0;
    int i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, arr)
    {
        const char *s = sem_tokenizer_id_token(t, ids[i++]);
        if (!cJSON_IsString(e) || !s || strcmp(s, e->valuestring) != 0)
            return 0;
    }
    return 1;
}

/* Compares every line of expected (JSONL) with the tokenization of inputs. Returns lines checked. */
static int check_file(const sem_tokenizer *t, const char *model, const char *expected, const input *in, int n_in)
{
    char *buf = NULL;
    size_t len;
    sem_error err;
    if (sem_read_file(expected, 64u << 20, &buf, &len, &err) != SEM_OK) {
        CHECK_MSG(0, "%s", err.msg);
        return 0;
    }
    int line = 0;
    char *save = NULL;
    for (char *l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save), line++) {
        CHECK_MSG(line < n_in, "%s: more expected lines than inputs", expected);
        if (line >= n_in)
            break;
        cJSON *o = cJSON_Parse(l);
        CHECK_MSG(o != NULL, "%s:%d: bad JSON", expected, line + 1);
        if (!o)
            continue;
        const input *x = &in[line];
        for (int variant = 0; variant < 2; variant++) {
            sem_tokenized tk;
            int rc = sem_tokenize(t, x->a, (ptrdiff_t)x->la, x->b, (ptrdiff_t)x->lb, variant ? 0 : 512, &tk, &err);
            CHECK_MSG(rc == SEM_OK, "%s line %d: %s", model, line + 1, err.msg);
            if (rc != SEM_OK)
                continue;
            CHECK_MSG(int_array_eq(cJSON_GetObjectItem(o, "input_ids"), tk.input_ids, tk.n),
                      "%s %s line %d: input_ids differ", model, expected, line + 1);
            CHECK_MSG(int_array_eq(cJSON_GetObjectItem(o, "token_type_ids"), tk.token_type_ids, tk.n),
                      "%s %s line %d: token_type_ids differ", model, expected, line + 1);
            CHECK_MSG(int_array_eq(cJSON_GetObjectItem(o, "attention_mask"), tk.attention_mask, tk.n),
                      "%s %s line %d: attention_mask differs", model, expected, line + 1);
            CHECK_MSG(tokens_eq(t, cJSON_GetObjectItem(o, "tokens"), tk.input_ids, tk.n),
                      "%s %s line %d: tokens differ", model, expected, line + 1);
            if (variant == 0 && !x->b && tk.n < 512) {
                /* Untruncated single text: the unframed entry points give the same ids. */
                int32_t *ids = NULL;
                int n = 0;
                CHECK(sem_tokenize_ids(t, x->a, (ptrdiff_t)x->la, &ids, &n, &err) == SEM_OK);
                CHECK_EQ_INT(n, tk.n - 2);
                CHECK(n == tk.n - 2 && (n == 0 || memcmp(ids, tk.input_ids + 1, (size_t)n * sizeof *ids) == 0));
                CHECK_EQ_INT(sem_tokenizer_count(t, x->a, (ptrdiff_t)x->la), tk.n - 2);
                free(ids);
            }
            sem_tokenized_free(&tk);
        }
        cJSON_Delete(o);
    }
    CHECK_MSG(line == n_in, "%s: %d expected lines for %d inputs", expected, line, n_in);
    free(buf);
    return line;
}

int main(void)
{
    TEST_REQUIRE_FILE(TESTDATA "/texts.jsonl");
    input *texts = NULL, *pairs = NULL;
    int n_texts = 0, n_pairs = 0;
    CHECK(read_inputs(TESTDATA "/texts.jsonl", 0, &texts, &n_texts) == 0);
    CHECK(read_inputs(TESTDATA "/pairs.jsonl", 1, &pairs, &n_pairs) == 0);
    CHECK(n_texts >= 20 && n_pairs >= 4);

    DIR *d = opendir(TESTDATA "/models");
    CHECK_MSG(d != NULL, "cannot open %s", TESTDATA "/models");
    int models = 0, lines = 0;
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char dir[512], vocab[600], exp[900];
        snprintf(dir, sizeof dir, "%s/models/%s", TESTDATA, de->d_name);
        snprintf(vocab, sizeof vocab, "%s/vocab.txt", dir);
        sem_tokenizer_config cfg;
        CHECK_MSG(load_config(dir, &cfg) == 0, "%s: tokenizer_config.json", dir);
        sem_error err;
        sem_tokenizer *t = sem_tokenizer_load(vocab, &cfg, &err);
        CHECK_MSG(t != NULL, "%s", err.msg);
        if (!t)
            continue;
        snprintf(exp, sizeof exp, "%s/expected/%s/tokens.jsonl", TESTDATA, de->d_name);
        lines += check_file(t, de->d_name, exp, texts, n_texts);
        snprintf(exp, sizeof exp, "%s/expected/%s/pair_tokens.jsonl", TESTDATA, de->d_name);
        lines += check_file(t, de->d_name, exp, pairs, n_pairs);
        sem_tokenizer_free(t);
        models++;
    }
    if (d)
        closedir(d);
    CHECK_EQ_INT(models, 4);
    printf("%d models, %d fixture lines\n", models, lines);
    free_inputs(texts, n_texts);
    free_inputs(pairs, n_pairs);
    TEST_END();
}
