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

/* A JSON array of the token texts of ids. */
static void put_tokens(const sem_tokenizer *tok, const int32_t *ids, int n)
{
    putchar('[');
    for (int i = 0; i < n; i++) {
        const char *t = sem_tokenizer_id_token(tok, ids[i]);
        if (i)
            putchar(',');
        sem_json_write_string(stdout, t ? t : "");
    }
    putchar(']');
}

/* ---- options ---- */

typedef struct opts {
    const char *model;
    int max_length, batch, threads, top_k, pooling, normalize, quiet, precision;
} opts;

static void opts_init(opts *o)
{
    memset(o, 0, sizeof *o);
    o->pooling = SEM_POOL_AUTO;
    o->normalize = -1;
    o->top_k = 5;
}

#define OPT_MODEL(o, what)                                                                                     \
    SEM_OPT_S("--model", 0, (o).model, "DIR", what "\ndefault: the default model ($SEMSEARCH_MODEL, else "           \
                                              "models/semsearch-default)")
#define OPT_QUIET(o) SEM_OPT_QUIET((o).quiet, "no info messages (nothing else is printed on stderr)")

/* Parses argv by cmd and resolves the model; 1 to go on, else 0 with *status. */
static int parse_opts(const sem_cli_cmd *cmd, int argc, char **argv, opts *o, int *status)
{
    if (!sem_cli_parse(cmd, argc, argv, status))
        return 0;
    if (o->quiet) /* nothing to silence but the library log: no progress is printed */
        sem_cli_set_quiet();
    *status = SEM_EXIT_USAGE;
    if (!o->model && !(o->model = sem_hub_default_model())) {
        sem_cli_usage_error(cmd->name, "--model DIR is required (there is no default model: set %s)",
                            SEM_DEFAULT_MODEL_ENV);
        return 0;
    }
    *status = SEM_EXIT_FAIL;
    return (o->model = sem_cli_model_dir(o->model)) != NULL;
}

/* The model at o->model with o->threads threads, or NULL after printing why. */
static sem_model *load_model(const opts *o)
{
    sem_error err = {0};
    sem_model_params mp = sem_model_default_params();
    mp.n_threads = o->threads;
    mp.precision = (sem_precision)o->precision;
    sem_model *m = sem_model_load(o->model, &mp, &err);
    if (!m)
        sem_cli_fail(&err);
    return m;
}

/* Flushes stdout at the end of a command; the status, or 1 when the output could not be written. */
static int finish_output(const char *cmd, int status)
{
    if (fflush(stdout) != 0 && status == SEM_EXIT_OK) {
        fprintf(stderr, "semsearch %s: error: cannot write the output\n", cmd);
        return SEM_EXIT_FAIL;
    }
    return status;
}

/* ---- tokenize ---- */

/* One output line: the ids, type ids, mask and token texts of tk. */
static void print_tokenized(const sem_tokenizer *tok, const sem_tokenized *tk)
{
    fputs("{\"input_ids\":", stdout);
    put_ints(tk->input_ids, tk->n);
    fputs(",\"token_type_ids\":", stdout);
    put_ints(tk->token_type_ids, tk->n);
    fputs(",\"attention_mask\":", stdout);
    put_ints(tk->attention_mask, tk->n);
    fputs(",\"tokens\":", stdout);
    put_tokens(tok, tk->input_ids, tk->n);
    fputs("}\n", stdout);
}

int sem_cmd_tokenize(int argc, char **argv)
{
    opts o;
    opts_init(&o);
    const sem_cli_opt opts[] = {
        SEM_OPT_SEC("Options:"),
        OPT_MODEL(o, "a HuggingFace BERT folder (vocab.txt, tokenizer_config.json, config.json);"),
        SEM_OPT_I("--max-length", 0, o.max_length, "N", 3, 8192,
                  "truncate to N tokens incl. [CLS]/[SEP] (default: the model's max_seq_length)"),
        OPT_QUIET(o),
        {0}};
    const sem_cli_cmd cmd = {
        .name = "tokenize",
        .usage =
        "Usage: semsearch tokenize [--model DIR] [--max-length N]\n\n"
        "Tokenizes JSON lines from stdin exactly as HuggingFace BertTokenizer (truncation to the max length).\n"
        "Each input line is a JSON string or a two-element array [a, b] (a sentence pair); each output line is\n"
        "  {\"input_ids\":[...],\"token_type_ids\":[...],\"attention_mask\":[...],\"tokens\":[...]}\n\n",
        .opts = opts,
        .footer = "Example:\n  echo '\"Hello, world!\"' | semsearch tokenize --model models/all-MiniLM-L6-v2\n"};
    int rc;
    if (!parse_opts(&cmd, argc, argv, &o, &rc))
        return rc;
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
        print_tokenized(tok, &tk);
        sem_tokenized_free(&tk);
        items_clear(&it, 1);
    }
    sem_tokenizer_free(tok);
    sem_linereader_free(&rd);
    return finish_output("tokenize", status);
}

/* ---- embed ---- */

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

/* What embed holds for one run: the model, its context and the buffers of one chunk of input lines. */
typedef struct embed_run {
    sem_model *m;
    sem_encoder_ctx *ctx;
    item *items;
    float *out;
    sem_tokenized *tk;
    sem_token_input *in;
    sem_encode_params p;
    int max_len, dim;
} embed_run;

static void embed_run_free(embed_run *r)
{
    free(r->items);
    free(r->out);
    free(r->tk);
    free(r->in);
    sem_encoder_ctx_free(r->ctx);
    sem_model_free(r->m);
}

/* Loads the model and allocates the buffers; SEM_EXIT_OK or an exit status after printing why. */
static int embed_run_init(embed_run *r, const opts *o)
{
    sem_error err = {0};
    memset(r, 0, sizeof *r);
    if (!(r->m = load_model(o)))
        return SEM_EXIT_FAIL;
    r->ctx = sem_encoder_ctx_new(r->m, &err);
    r->dim = sem_model_dim(r->m);
    r->items = calloc(EMBED_CHUNK, sizeof *r->items);
    r->out = malloc((size_t)EMBED_CHUNK * r->dim * sizeof(float));
    r->tk = calloc(EMBED_CHUNK, sizeof *r->tk);
    r->in = calloc(EMBED_CHUNK, sizeof *r->in);
    if (!r->ctx || !r->items || !r->out || !r->tk || !r->in) {
        if (r->ctx)
            sem_error_set(&err, SEM_ENOMEM, "out of memory");
        return sem_cli_fail(&err);
    }
    sem_model_info info;
    sem_model_get_info(r->m, &info);
    r->max_len = o->max_length ? o->max_length : info.max_tokens;
    if (r->max_len > sem_model_max_positions(r->m))
        r->max_len = sem_model_max_positions(r->m);
    r->p = sem_encode_default_params();
    r->p.pooling = (sem_pooling)o->pooling;
    r->p.normalize = o->normalize;
    r->p.batch_size = o->batch;
    return SEM_EXIT_OK;
}

/* Reads up to EMBED_CHUNK lines (or EMBED_CHUNK_BYTES of text) into r->items; their count, *eof at the end of
 * the input, *bad after a bad line (the lines before it are still answered). */
static int read_chunk(sem_linereader *rd, embed_run *r, int *eof, int *bad)
{
    int n = 0;
    size_t bytes = 0;
    while (n < EMBED_CHUNK && bytes < EMBED_CHUNK_BYTES) {
        int got = read_item(rd, 1, "embed", &r->items[n]);
        if (got <= 0) {
            *bad = got < 0;
            *eof = 1;
            break;
        }
        bytes += r->items[n].la + r->items[n].lb;
        n++;
    }
    return n;
}

int sem_cmd_embed(int argc, char **argv)
{
    opts o;
    opts_init(&o);
    const sem_cli_opt opts[] = {
        SEM_OPT_SEC("Options:"),
        OPT_MODEL(o, "a HuggingFace BERT folder (config.json, vocab.txt, model.safetensors, ...);"),
        SEM_OPT_E("--pooling", o.pooling, "P", sem_pooling_parse,
                  "auto, cls, mean, max, pooler, first-last-avg or last-two-avg",
                  "auto (default: what modules.json says), cls, mean, max, pooler, first-last-avg,\nlast-two-avg"),
        SEM_OPT_F("--normalize", 0, o.normalize, "L2-normalise the vectors (without it, only 'auto' follows "
                                                 "modules.json's Normalize)"),
        SEM_OPT_I("--batch", 0, o.batch, "N", 1, 4096, "texts per forward pass (default 32)"),
        SEM_OPT_I("--threads", 0, o.threads, "N", 1, 64, "encoder threads (default: the CPUs, or OPENBLAS_NUM_THREADS)"),
        SEM_OPT_I("--max-length", 0, o.max_length, "N", 3, 8192, "truncate to N tokens (default: the model's "
                                                                  "max_seq_length)"),
        SEM_OPT_E("--precision", o.precision, "P", sem_precision_parse, "f32, bf16 or int8",
                  "linear layers in f32 (default), int8, or bf16 (CPUs with AVX512_BF16 or AMX only,\n"
                  "else f32); `semsearch version` says what runs here"),
        OPT_QUIET(o),
        {0}};
    const sem_cli_cmd cmd = {
        .name = "embed",
        .usage =
        "Usage: semsearch embed [--model DIR] [--pooling P] [--normalize] [--batch N] [--threads N] "
        "[--max-length N]\n"
        "                      [--precision f32|bf16|int8]\n\n"
        "Embeds JSON lines from stdin (a JSON string, or a two-element array [a, b] for a sentence pair) and\n"
        "writes {\"index\":i,\"embedding\":[...]} per input, in input order.\n\n",
        .opts = opts,
        .footer = "Example:\n  printf '\"a cat\"\\n[\"question\", \"answer\"]\\n' | semsearch embed --model "
        "models/all-MiniLM-L6-v2\n"};
    int status;
    embed_run r = {0};
    if (!parse_opts(&cmd, argc, argv, &o, &status))
        return status;
    if ((status = embed_run_init(&r, &o)) != SEM_EXIT_OK) {
        embed_run_free(&r);
        return status;
    }
    sem_linereader rd;
    sem_linereader_init(&rd, stdin, LINE_MAX_BYTES);
    sem_error err = {0};
    long index = 0;
    for (int eof = 0, bad = 0; !eof;) {
        int n = read_chunk(&rd, &r, &eof, &bad);
        if (bad)
            status = SEM_EXIT_FAIL;
        if (n > 0 && embed_chunk(r.ctx, sem_model_tokenizer(r.m), r.items, n, index, &r.p, r.max_len, r.dim, r.out,
                                 r.tk, r.in, &err) && status == SEM_EXIT_OK) {
            status = sem_cli_fail(&err);
            eof = 1;
        }
        items_clear(r.items, n);
        index += n;
    }
    sem_linereader_free(&rd);
    embed_run_free(&r);
    return finish_output("embed", status);
}

/* ---- fill-mask ---- */

/* Prints the top k predictions at each [MASK] position of it: one output line. SEM_OK or an error. */
static int fill_line(sem_encoder_ctx *ctx, const sem_model *m, const item *it, long index, int k, int max_tokens,
                     sem_error *err)
{
    const sem_tokenizer *tok = sem_model_tokenizer(m);
    const int V = sem_model_vocab_size(m);
    const int32_t mask_id = sem_tokenizer_mask_id(tok);
    sem_tokenized tk = {0};
    int rc = sem_tokenize(tok, it->a, (ptrdiff_t)it->la, NULL, -1, max_tokens, &tk, err);
    if (rc)
        return rc;
    int np = 0, *pos = malloc(((size_t)tk.n + 1) * sizeof *pos);
    for (int i = 0; pos && i < tk.n; i++)
        if (mask_id >= 0 && tk.input_ids[i] == mask_id)
            pos[np++] = i;
    float *logits = pos ? malloc(((size_t)np + 1) * (size_t)V * sizeof *logits) : NULL;
    int32_t *ids = malloc((size_t)k * sizeof *ids);
    float *vals = malloc((size_t)k * sizeof *vals);
    sem_token_input in = {tk.input_ids, tk.token_type_ids, tk.n};
    if (!logits || !ids || !vals)
        rc = sem_error_set(err, SEM_ENOMEM, "out of memory");
    else
        rc = sem_mlm_logits(ctx, &in, pos, np, logits, err);
    if (rc == SEM_OK) {
        printf("{\"index\":%ld,\"input_ids\":", index);
        put_ints(tk.input_ids, tk.n);
        fputs(",\"masks\":[", stdout);
        for (int j = 0; j < np; j++) {
            sem_top_k(logits + (size_t)j * V, V, k, ids, vals);
            printf("%s{\"pos\":%d,\"top_ids\":", j ? "," : "", pos[j]);
            put_ints(ids, k);
            fputs(",\"top_tokens\":", stdout);
            put_tokens(tok, ids, k);
            fputs(",\"top_logits\":", stdout);
            put_floats(vals, k);
            putchar('}');
        }
        fputs("]}\n", stdout);
    }
    free(pos);
    free(logits);
    free(ids);
    free(vals);
    sem_tokenized_free(&tk);
    return rc;
}

/* Answers every input line; the exit status. */
static int fill_all(sem_encoder_ctx *ctx, const sem_model *m, int top_k)
{
    sem_model_info info;
    sem_model_get_info(m, &info);
    const int V = sem_model_vocab_size(m), k = top_k < V ? top_k : V;
    sem_linereader rd;
    sem_linereader_init(&rd, stdin, LINE_MAX_BYTES);
    int status = SEM_EXIT_OK;
    item it = {0};
    for (long index = 0; status == SEM_EXIT_OK; index++) {
        int r = read_item(&rd, 0, "fill-mask", &it);
        if (r <= 0) {
            status = r < 0 ? SEM_EXIT_FAIL : SEM_EXIT_OK;
            break;
        }
        sem_error err = {0};
        if (fill_line(ctx, m, &it, index, k, info.max_tokens, &err) != SEM_OK) {
            sem_error_prefix(&err, "line %ld", rd.lineno);
            status = sem_cli_fail(&err);
        }
        items_clear(&it, 1);
    }
    sem_linereader_free(&rd);
    return status;
}

int sem_cmd_fill_mask(int argc, char **argv)
{
    opts o;
    opts_init(&o);
    const sem_cli_opt opts[] = {
        SEM_OPT_SEC("Options:"),
        OPT_MODEL(o, "a BERT folder with a masked-LM head;"),
        SEM_OPT_I("--top-k", 0, o.top_k, "K", 1, 1000, "predictions per mask (default 5)"),
        SEM_OPT_I("--threads", 0, o.threads, "N", 1, 64, "OpenBLAS threads"),
        OPT_QUIET(o),
        {0}};
    const sem_cli_cmd cmd = {
        .name = "fill-mask",
        .usage =
        "Usage: semsearch fill-mask [--model DIR] [--top-k K] [--threads N]\n\n"
        "Predicts the tokens at each [MASK] of JSON-string lines from stdin with the model's masked-LM head\n"
        "(folders with cls.predictions.* weights). Writes per input line:\n"
        "  {\"index\":i,\"input_ids\":[...],\"masks\":[{\"pos\":p,\"top_ids\":[...],\"top_tokens\":[...],"
        "\"top_logits\":[...]}]}\n\n",
        .opts = opts,
        .footer = "Example:\n"
        "  echo '\"the capital of france is [MASK].\"' | semsearch fill-mask --model models/bert-base-uncased\n"};
    int status;
    if (!parse_opts(&cmd, argc, argv, &o, &status))
        return status;
    sem_model *m = load_model(&o);
    if (!m)
        return SEM_EXIT_FAIL;
    sem_error err = {0};
    sem_model_info info;
    sem_model_get_info(m, &info);
    sem_encoder_ctx *ctx = NULL;
    if (!info.has_mlm_head)
        sem_error_set(&err, SEM_ENOTFOUND, "%s has no masked-LM head (cls.predictions.* weights)", o.model);
    else
        ctx = sem_encoder_ctx_new(m, &err);
    status = ctx ? finish_output("fill-mask", fill_all(ctx, m, o.top_k)) : sem_cli_fail(&err);
    sem_encoder_ctx_free(ctx);
    sem_model_free(m);
    return status;
}
