/* cli/cmd_encoder.c: semsearch tokenize, embed and fill-mask.
 *
 * All three read JSON lines on stdin (each a JSON string, or for tokenize/embed a two-element array [a, b] of
 * strings: a sentence pair) and write one JSON line per input on stdout, in input order:
 *   tokenize:  {"input_ids":[…],"token_type_ids":[…],"attention_mask":[…],"tokens":[…]}
 *   embed:     {"index":i,"embedding":[…]}
 *   fill-mask: {"index":i,"input_ids":[…],"masks":[{"pos":p,"top_ids":[…],"top_tokens":[…],"top_logits":[…]}]}
 * A malformed line, a line longer than 16 MiB, a read error or running out of memory is an error naming the line
 * (exit 1): the lines before it are answered, nothing after it is processed. */
#include "cli/cli.h"
#include "hub/hub.h"
#include "common/jsonstr.h"
#include "common/linereader.h"
#include "encoder/encoder.h"
#include "encoder/tokenizer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LINE_MAX_BYTES (16u << 20) /* one input line; a longer one is refused, not truncated */
#define EMBED_CHUNK 256            /* lines read, encoded and printed at a time */
#define EMBED_CHUNK_BYTES (32u << 20) /* ... or fewer, once their texts hold this many bytes */

/* ---- input ---- */

/* One input: text a (and b for a pair) with explicit lengths, since JSON strings may hold \u0000. */
typedef struct item {
    char *a, *b; /* b NULL for a single text; both NUL-terminated as well */
    size_t la, lb;
    long lineno; /* 1-based input line, for messages */
} item;

static void items_clear(item *it, int n)
{
    for (int i = 0; i < n; i++) {
        free(it[i].a);
        free(it[i].b);
        it[i].a = it[i].b = NULL;
    }
}

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
        p++;
    return p;
}

/* Parses a line: a JSON string, or (allow_pair) [string, string]. 0 ok, -1 malformed. */
static int parse_item(const char *line, size_t n, int allow_pair, item *it)
{
    const char *p = skip_ws(line, line + n), *end = line + n;
    it->a = it->b = NULL;
    it->la = it->lb = 0;
    if (p < end && *p == '"') {
        if (sem_json_string_decode(&p, end, &it->a, &it->la))
            return -1;
    } else if (allow_pair && p < end && *p == '[') {
        p = skip_ws(p + 1, end);
        if (sem_json_string_decode(&p, end, &it->a, &it->la))
            return -1;
        p = skip_ws(p, end);
        if (p >= end || *p != ',')
            goto bad;
        p = skip_ws(p + 1, end);
        if (sem_json_string_decode(&p, end, &it->b, &it->lb))
            goto bad;
        p = skip_ws(p, end);
        if (p >= end || *p != ']')
            goto bad;
        p++;
    } else {
        return -1;
    }
    if (skip_ws(p, end) != end)
        goto bad;
    return 0;
bad:
    items_clear(it, 1);
    return -1;
}

/* Reads the next non-blank line into *it. Returns 1 on an item, 0 at end of input, -1 on error (message
 * printed: a line longer than LINE_MAX_BYTES, a read error or out of memory is never taken for the end of the
 * input). allow_pair: whether [a, b] is accepted. */
static int read_item(sem_linereader *rd, int allow_pair, const char *cmd, item *it)
{
    for (;;) {
        sem_error err;
        int r = sem_linereader_next(rd, &err);
        if (r == 0)
            return 0;
        if (r < 0) {
            fprintf(stderr, "semsearch %s: error: stdin: %s\n", cmd, err.msg);
            return -1;
        }
        if (skip_ws(rd->line, rd->line + rd->len) == rd->line + rd->len)
            continue; /* blank line */
        it->lineno = rd->lineno;
        if (parse_item(rd->line, rd->len, allow_pair, it)) {
            fprintf(stderr,
                    "semsearch %s: error: line %ld: expected a valid JSON string%s (check quoting, escapes, "
                    "surrogate pairs and UTF-8)\n",
                    cmd, rd->lineno, allow_pair ? " or a two-element array of strings" : "");
            return -1;
        }
        return 1;
    }
}

/* ---- output ---- */

static void put_ints(const int32_t *v, int n)
{
    putchar('[');
    for (int i = 0; i < n; i++)
        printf(i ? ",%d" : "%d", (int)v[i]);
    putchar(']');
}

static void put_floats(const float *v, int n)
{
    putchar('[');
    for (int i = 0; i < n; i++)
        printf(i ? ",%.9g" : "%.9g", (double)v[i]);
    putchar(']');
}

/* ---- options ---- */

typedef struct opts {
    const char *model;
    long max_length, batch, threads, top_k;
    int pooling, normalize, precision;
} opts;

/* Parses argv; returns -1 when help was printed, 0 ok, or SEM_EXIT_USAGE after a message. */
static int parse_opts(int argc, char **argv, const char *cmd, const char *usage, int embed, int fill, opts *o)
{
    memset(o, 0, sizeof *o);
    o->pooling = SEM_POOL_AUTO;
    o->normalize = -1;
    o->top_k = 5;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (sem_cli_is_help(a)) {
            fputs(usage, stdout);
            return -1;
        }
        if (sem_cli_is_quiet(a)) { /* nothing to silence but the library log: no progress is printed */
            sem_cli_set_quiet();
            continue;
        }
        if (strcmp(a, "--model") == 0 && v) {
            o->model = v;
            i++;
        } else if (strcmp(a, "--max-length") == 0 && v && !fill) {
            if (sem_cli_parse_int(v, 3, 8192, &o->max_length))
                return sem_cli_usage_error(cmd, "--max-length: expected an integer in 3..8192, got '%s'", v);
            i++;
        } else if (embed && strcmp(a, "--pooling") == 0 && v) {
            o->pooling = sem_pooling_parse(v);
            if (o->pooling < 0)
                return sem_cli_usage_error(cmd, "--pooling: unknown pooling '%s' (auto, cls, mean, max, pooler, "
                                           "first-last-avg, last-two-avg)", v);
            i++;
        } else if (embed && strcmp(a, "--normalize") == 0) {
            o->normalize = 1;
        } else if (embed && strcmp(a, "--batch") == 0 && v) {
            if (sem_cli_parse_int(v, 1, 4096, &o->batch))
                return sem_cli_usage_error(cmd, "--batch: expected an integer in 1..4096, got '%s'", v);
            i++;
        } else if ((embed || fill) && strcmp(a, "--threads") == 0 && v) {
            if (sem_cli_parse_int(v, 1, 64, &o->threads))
                return sem_cli_usage_error(cmd, "--threads: expected an integer in 1..64, got '%s'", v);
            i++;
        } else if (embed && strcmp(a, "--precision") == 0 && v) {
            if ((o->precision = sem_precision_parse(v)) < 0)
                return sem_cli_usage_error(cmd, "--precision: expected f32, bf16 or int8, got '%s'", v);
            i++;
        } else if (fill && strcmp(a, "--top-k") == 0 && v) {
            if (sem_cli_parse_int(v, 1, 1000, &o->top_k))
                return sem_cli_usage_error(cmd, "--top-k: expected an integer in 1..1000, got '%s'", v);
            i++;
        } else {
            return sem_cli_usage_error(cmd, "unknown or incomplete option '%s'", a);
        }
    }
    if (!o->model && !(o->model = sem_hub_default_model()))
        return sem_cli_usage_error(cmd, "--model DIR is required (there is no default model: set %s)",
                                   SEM_DEFAULT_MODEL_ENV);
    if (!(o->model = sem_cli_model_dir(o->model)))
        return SEM_EXIT_FAIL;
    return 0;
}

/* ---- tokenize ---- */

static const char tokenize_usage[] =
    "Usage: semsearch tokenize [--model DIR] [--max-length N]\n\n"
    "Tokenizes JSON lines from stdin exactly as HuggingFace BertTokenizer (truncation to the max length).\n"
    "Each input line is a JSON string or a two-element array [a, b] (a sentence pair); each output line is\n"
    "  {\"input_ids\":[...],\"token_type_ids\":[...],\"attention_mask\":[...],\"tokens\":[...]}\n\n"
    "Options:\n"
    "  --model DIR       a HuggingFace BERT folder (vocab.txt, tokenizer_config.json, config.json);\n"
    "                    default: the default model ($SEMSEARCH_MODEL, else models/semsearch-default)\n"
    "  --max-length N    truncate to N tokens incl. [CLS]/[SEP] (default: the model's max_seq_length)\n"
    "Example:\n"
    "  echo '\"Hello, world!\"' | semsearch tokenize --model models/all-MiniLM-L6-v2\n";

int sem_cmd_tokenize(int argc, char **argv)
{
    opts o;
    int rc = parse_opts(argc, argv, "tokenize", tokenize_usage, 0, 0, &o);
    if (rc)
        return rc < 0 ? SEM_EXIT_OK : rc;
    sem_error err = {0};
    int max_tokens = 512;
    sem_tokenizer *tok = sem_model_load_tokenizer(o.model, &max_tokens, &err);
    if (!tok)
        return sem_cli_fail(&err);
    int max_len = o.max_length ? (int)o.max_length : max_tokens;
    sem_linereader rd;
    sem_linereader_init(&rd, stdin, LINE_MAX_BYTES);
    item it = {0};
    int status = SEM_EXIT_OK;
    for (;;) {
        int r = read_item(&rd, 1, "tokenize", &it);
        if (r <= 0) {
            status = r < 0 ? SEM_EXIT_FAIL : SEM_EXIT_OK;
            break;
        }
        sem_tokenized tk = {0};
        if (sem_tokenize(tok, it.a, (ptrdiff_t)it.la, it.b, (ptrdiff_t)it.lb, max_len, &tk, &err)) {
            sem_error_prefix(&err, "line %ld", rd.lineno);
            status = sem_cli_fail(&err);
            items_clear(&it, 1);
            break;
        }
        fputs("{\"input_ids\":", stdout);
        put_ints(tk.input_ids, tk.n);
        fputs(",\"token_type_ids\":", stdout);
        put_ints(tk.token_type_ids, tk.n);
        fputs(",\"attention_mask\":", stdout);
        put_ints(tk.attention_mask, tk.n);
        fputs(",\"tokens\":[", stdout);
        for (int i = 0; i < tk.n; i++) {
            const char *s = sem_tokenizer_id_token(tok, tk.input_ids[i]);
            if (i)
                putchar(',');
            sem_json_write_string(stdout, s ? s : "");
        }
        fputs("]}\n", stdout);
        sem_tokenized_free(&tk);
        items_clear(&it, 1);
    }
    sem_tokenizer_free(tok);
    sem_linereader_free(&rd);
    if (fflush(stdout) != 0 && status == SEM_EXIT_OK) {
        fprintf(stderr, "semsearch tokenize: error: cannot write the output\n");
        status = SEM_EXIT_FAIL;
    }
    return status;
}

/* ---- embed ---- */

static const char embed_usage[] =
    "Usage: semsearch embed [--model DIR] [--pooling P] [--normalize] [--batch N] [--threads N] [--max-length N]\n"
    "                       [--precision f32|bf16|int8]\n\n"
    "Embeds JSON lines from stdin (a JSON string, or a two-element array [a, b] for a sentence pair) and\n"
    "writes {\"index\":i,\"embedding\":[...]} per input, in input order.\n\n"
    "Options:\n"
    "  --model DIR       a HuggingFace BERT folder (config.json, vocab.txt, model.safetensors, ...);\n"
    "                    default: the default model ($SEMSEARCH_MODEL, else models/semsearch-default)\n"
    "  --pooling P       auto (default: what modules.json says), cls, mean, max, pooler, first-last-avg,\n"
    "                    last-two-avg\n"
    "  --normalize       L2-normalise the vectors (without it, only 'auto' follows modules.json's Normalize)\n"
    "  --batch N         texts per forward pass (default 32)\n"
    "  --threads N       OpenBLAS / attention threads (default: OpenBLAS's setting)\n"
    "  --max-length N    truncate to N tokens (default: the model's max_seq_length)\n"
    "  --precision P     linear layers in f32 (default), int8, or bf16 (CPUs with AVX512_BF16 or AMX only,\n"
    "                    else f32); `semsearch version` says what runs here\n"
    "Example:\n"
    "  printf '\"a cat\"\\n[\"question\", \"answer\"]\\n' | semsearch embed --model models/all-MiniLM-L6-v2\n";

/* Tokenizes items (with their lengths: texts may hold NULs) and encodes them; prints one line per item. */
static int embed_chunk(sem_encoder_ctx *ctx, const sem_tokenizer *tok, item *items, int n, long first_index,
                       const sem_encode_params *p, int max_len, int dim, float *out, sem_tokenized *tk,
                       sem_token_input *in, sem_error *err)
{
    int rc = SEM_OK, done = 0;
    for (; done < n; done++) {
        const item *it = &items[done];
        if ((rc = sem_tokenize(tok, it->a, (ptrdiff_t)it->la, it->b, (ptrdiff_t)it->lb, max_len, &tk[done], err))) {
            sem_error_prefix(err, "line %ld (input %ld)", it->lineno, first_index + done);
            break;
        }
        in[done].input_ids = tk[done].input_ids;
        in[done].token_type_ids = tk[done].token_type_ids;
        in[done].n = tk[done].n;
    }
    if (rc == SEM_OK)
        rc = sem_encode_tokens(ctx, in, n, p, out, err);
    for (int i = 0; i < done; i++)
        sem_tokenized_free(&tk[i]);
    if (rc)
        return rc;
    for (int i = 0; i < n; i++) {
        printf("{\"index\":%ld,\"embedding\":", first_index + i);
        put_floats(out + (size_t)i * dim, dim);
        fputs("}\n", stdout);
    }
    return SEM_OK;
}

int sem_cmd_embed(int argc, char **argv)
{
    opts o;
    int rc = parse_opts(argc, argv, "embed", embed_usage, 1, 0, &o);
    if (rc)
        return rc < 0 ? SEM_EXIT_OK : rc;
    sem_error err = {0};
    sem_model_params mp = sem_model_default_params();
    mp.n_threads = (int)o.threads;
    mp.precision = (sem_precision)o.precision;
    sem_model *m = sem_model_load(o.model, &mp, &err);
    if (!m)
        return sem_cli_fail(&err);
    sem_encoder_ctx *ctx = sem_encoder_ctx_new(m, &err);
    const int dim = sem_model_dim(m);
    item *items = calloc(EMBED_CHUNK, sizeof *items);
    float *out = malloc((size_t)EMBED_CHUNK * dim * sizeof(float));
    sem_tokenized *tk = calloc(EMBED_CHUNK, sizeof *tk);
    sem_token_input *in = calloc(EMBED_CHUNK, sizeof *in);
    int status = SEM_EXIT_OK;
    if (!ctx || !items || !out || !tk || !in) {
        if (ctx)
            sem_error_set(&err, SEM_ENOMEM, "out of memory");
        status = sem_cli_fail(&err);
        goto done;
    }
    sem_model_info info;
    sem_model_get_info(m, &info);
    int max_len = o.max_length ? (int)o.max_length : info.max_tokens;
    if (max_len > sem_model_max_positions(m))
        max_len = sem_model_max_positions(m);
    sem_encode_params p = sem_encode_default_params();
    p.pooling = (sem_pooling)o.pooling;
    p.normalize = o.normalize;
    p.batch_size = (int)o.batch;
    sem_linereader rd;
    sem_linereader_init(&rd, stdin, LINE_MAX_BYTES);
    long index = 0;
    for (int eof = 0; !eof;) {
        int n = 0;
        size_t bytes = 0;
        while (n < EMBED_CHUNK && bytes < EMBED_CHUNK_BYTES) {
            int r = read_item(&rd, 1, "embed", &items[n]);
            if (r < 0) {
                status = SEM_EXIT_FAIL;
                eof = 1;
                break;
            }
            if (r == 0) {
                eof = 1;
                break;
            }
            bytes += items[n].la + items[n].lb;
            n++;
        }
        /* the lines read before a bad one are still answered */
        if (n > 0 && embed_chunk(ctx, sem_model_tokenizer(m), items, n, index, &p, max_len, dim, out, tk, in, &err) &&
            status == SEM_EXIT_OK) {
            status = sem_cli_fail(&err);
            eof = 1;
        }
        items_clear(items, n);
        index += n;
    }
    sem_linereader_free(&rd);
    if (fflush(stdout) != 0 && status == SEM_EXIT_OK) {
        fprintf(stderr, "semsearch embed: error: cannot write the output\n");
        status = SEM_EXIT_FAIL;
    }
done:
    free(items);
    free(out);
    free(tk);
    free(in);
    sem_encoder_ctx_free(ctx);
    sem_model_free(m);
    return status;
}

/* ---- fill-mask ---- */

static const char fill_usage[] =
    "Usage: semsearch fill-mask [--model DIR] [--top-k K] [--threads N]\n\n"
    "Predicts the tokens at each [MASK] of JSON-string lines from stdin with the model's masked-LM head\n"
    "(folders with cls.predictions.* weights). Writes per input line:\n"
    "  {\"index\":i,\"input_ids\":[...],\"masks\":[{\"pos\":p,\"top_ids\":[...],\"top_tokens\":[...],"
    "\"top_logits\":[...]}]}\n\n"
    "Options:\n"
    "  --model DIR   a BERT folder with a masked-LM head (default: the default model)\n"
    "  --top-k K     predictions per mask (default 5)\n"
    "  --threads N   OpenBLAS threads\n"
    "Example:\n"
    "  echo '\"the capital of france is [MASK].\"' | semsearch fill-mask --model models/bert-base-uncased\n";

int sem_cmd_fill_mask(int argc, char **argv)
{
    opts o;
    int rc = parse_opts(argc, argv, "fill-mask", fill_usage, 0, 1, &o);
    if (rc)
        return rc < 0 ? SEM_EXIT_OK : rc;
    sem_error err = {0};
    sem_model_params mp = sem_model_default_params();
    mp.n_threads = (int)o.threads;
    sem_model *m = sem_model_load(o.model, &mp, &err);
    if (!m)
        return sem_cli_fail(&err);
    sem_model_info info;
    sem_model_get_info(m, &info);
    if (!info.has_mlm_head) {
        sem_error_set(&err, SEM_ENOTFOUND, "%s has no masked-LM head (cls.predictions.* weights)", o.model);
        sem_model_free(m);
        return sem_cli_fail(&err);
    }
    sem_encoder_ctx *ctx = sem_encoder_ctx_new(m, &err);
    if (!ctx) {
        sem_model_free(m);
        return sem_cli_fail(&err);
    }
    const sem_tokenizer *tok = sem_model_tokenizer(m);
    const int V = sem_model_vocab_size(m), k = (int)(o.top_k < V ? o.top_k : V);
    const int32_t mask_id = sem_tokenizer_mask_id(tok);
    int32_t *ids = malloc((size_t)k * sizeof *ids);
    float *vals = malloc((size_t)k * sizeof *vals);
    int status = SEM_EXIT_OK;
    sem_linereader rd;
    sem_linereader_init(&rd, stdin, LINE_MAX_BYTES);
    long index = 0;
    item it = {0};
    while (status == SEM_EXIT_OK) {
        int r = read_item(&rd, 0, "fill-mask", &it);
        if (r <= 0) {
            status = r < 0 ? SEM_EXIT_FAIL : SEM_EXIT_OK;
            break;
        }
        sem_tokenized tk = {0};
        int *pos = NULL;
        float *logits = NULL;
        int np = 0;
        if (!ids || !vals) {
            sem_error_set(&err, SEM_ENOMEM, "out of memory");
        } else if (sem_tokenize(tok, it.a, (ptrdiff_t)it.la, NULL, -1, info.max_tokens, &tk, &err) == SEM_OK) {
            pos = malloc(((size_t)tk.n + 1) * sizeof *pos);
            for (int i = 0; pos && i < tk.n; i++)
                if (mask_id >= 0 && tk.input_ids[i] == mask_id)
                    pos[np++] = i;
            logits = pos ? malloc(((size_t)np + 1) * (size_t)V * sizeof *logits) : NULL;
            if (!logits)
                sem_error_set(&err, SEM_ENOMEM, "out of memory");
            else {
                sem_token_input in = {tk.input_ids, tk.token_type_ids, tk.n};
                if (sem_mlm_logits(ctx, &in, pos, np, logits, &err) == SEM_OK)
                    err.code = SEM_OK;
            }
        }
        if (err.code != SEM_OK) {
            sem_error_prefix(&err, "line %ld", rd.lineno);
            status = sem_cli_fail(&err);
        } else {
            printf("{\"index\":%ld,\"input_ids\":", index);
            put_ints(tk.input_ids, tk.n);
            fputs(",\"masks\":[", stdout);
            for (int j = 0; j < np; j++) {
                sem_top_k(logits + (size_t)j * V, V, k, ids, vals);
                printf("%s{\"pos\":%d,\"top_ids\":", j ? "," : "", pos[j]);
                put_ints(ids, k);
                fputs(",\"top_tokens\":[", stdout);
                for (int t = 0; t < k; t++) {
                    const char *s = sem_tokenizer_id_token(tok, ids[t]);
                    if (t)
                        putchar(',');
                    sem_json_write_string(stdout, s ? s : "");
                }
                fputs("],\"top_logits\":", stdout);
                put_floats(vals, k);
                putchar('}');
            }
            fputs("]}\n", stdout);
        }
        index++;
        free(pos);
        free(logits);
        sem_tokenized_free(&tk);
        items_clear(&it, 1);
    }
    if (fflush(stdout) != 0 && status == SEM_EXIT_OK) {
        fprintf(stderr, "semsearch fill-mask: error: cannot write the output\n");
        status = SEM_EXIT_FAIL;
    }
    sem_linereader_free(&rd);
    free(ids);
    free(vals);
    sem_encoder_ctx_free(ctx);
    sem_model_free(m);
    return status;
}
