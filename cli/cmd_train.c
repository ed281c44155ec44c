/* cli/cmd_train.c: semsearch train mlm | contrastive: masked-LM pretraining and contrastive sentence training of
 * a BERT model in C (train/train.h), writing an HF model folder that semsearch embed, HF transformers and
 * sentence-transformers load. Progress goes to stderr; SIGINT/SIGTERM stop after the current update with a
 * checkpoint, and the same command with --resume continues exactly where it stopped. */
#include "cli/cli.h"
#include "common/fileio.h"
#include "common/log.h"
#include "encoder/tokenizer.h"
#include "train/card.h"
#include "train/train.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static volatile sig_atomic_t *g_stop;

typedef struct opts {
    int contrastive, simcse, cased, resume, f16, threads, quiet;
    const char *model, *config, *vocab, *out;
    char **corpus, **pairs, **simcse_files, **eval;
    int n_corpus, n_pairs, n_simcse, n_eval;
    long steps; /* 0: not given (a resumed run keeps its own) */
    double dropout, ckpt_minutes, lr;
    sem_train_params p;
} opts;

static int tpool_parse(const char *v)
{
    return strcmp(v, "mean") == 0 ? SEM_TPOOL_MEAN : strcmp(v, "cls") == 0 ? SEM_TPOOL_CLS : -1;
}

#define TRAIN_USAGE                                                                                            \
    "Usage: semsearch train mlm (--model DIR | --config FILE --vocab FILE) --corpus FILE... --out DIR [options]\n" \
    "       semsearch train contrastive (--model DIR | --config FILE --vocab FILE)\n"                           \
    "                 (--pairs FILE... | --simcse FILE...) --out DIR [options]\n\n"                            \
    "Trains a BERT model in C and writes an HF folder (config.json, model.safetensors, vocab.txt,\n"            \
    "tokenizer files, modules.json, 1_Pooling/config.json) to --out, with checkpoint.bin and train_log.tsv.\n"  \
    "  mlm          masked-LM: text files, one paragraph per line; 15% of tokens predicted\n"                     \
    "  contrastive  InfoNCE with in-batch negatives: --pairs files of 'text<TAB>positive' lines (or\n"          \
    "               'text<TAB>positive<TAB>hard negative': the batch's hard negatives join the candidates),\n" \
    "               or --simcse files of sentences (each paired with itself; dropout is the augmentation)\n\n"

#define TRAIN_EXAMPLE                                                                                          \
    "Example:\n"                                                                                               \
    "  semsearch train mlm --config cfg.json --vocab vocab.txt --corpus data/text/*.txt --out models/x \\\n"    \
    "      --steps 20000 --batch 32 --seq 128 --checkpoint-minutes 15\n"                                       \
    "  semsearch train contrastive --model models/x --pairs data/pairs/*.tsv --out models/x-st\n"

/* The option table of both modes. */
static int parse_table(const char *name, int argc, char **argv, opts *o, int *status)
{
    sem_train_params *p = &o->p;
    const sem_cli_opt t[] = {
        SEM_OPT_SEC("Model:"),
        SEM_OPT_S("--model", 0, o->model, "DIR", "start from an HF BERT folder (its vocab.txt unless --vocab)"),
        SEM_OPT_S("--config", 0, o->config, "FILE", "start from random weights with this config.json (needs --vocab)"),
        SEM_OPT_S("--vocab", 0, o->vocab, "FILE", "WordPiece vocabulary (vocab.txt)"),
        SEM_OPT_F("--cased", 0, o->cased, "do not lower-case (default: lower-case, as bert-base-uncased)"),
        SEM_OPT_D("--dropout", o->dropout, "P", 0, 0.9, "hidden and attention dropout (default: the config's)"),
        SEM_OPT_SEC("Data:"),
        SEM_OPT_FILES_("--corpus", o->corpus, o->n_corpus, "FILE...", "mlm: text files, one paragraph per line"),
        SEM_OPT_FILES_("--pairs", o->pairs, o->n_pairs, "FILE...", "contrastive: 'text<TAB>positive[<TAB>hard "
                                                                   "negative]' lines"),
        SEM_OPT_FILES_("--simcse", o->simcse_files, o->n_simcse, "FILE...", "contrastive: sentences (SimCSE)"),
        SEM_OPT_FILES_("--eval", o->eval, o->n_eval, "FILE...",
                       "mlm: held-out text; its MLM loss and accuracy are reported at the end (also\nat --stop-at; "
                       "not when a signal stops the run)"),
        SEM_OPT_SEC("Training:"),
        SEM_OPT_I("--steps", 0, o->steps, "N", 1, 1000000000L, "optimizer updates (default 1000)"),
        SEM_OPT_I("--batch", 0, p->batch, "B", 1, 4096, "sequences (mlm) or pairs (contrastive) per micro-batch "
                                                        "(default 16)"),
        SEM_OPT_I("--seq", 0, p->seq, "L", 4, 8192, "tokens per sequence incl. [CLS]/[SEP] (default 128)"),
        SEM_OPT_I("--accum", 0, p->accum, "N", 1, 4096, "micro-batches per update (gradient accumulation, default "
                                                        "1)"),
        SEM_OPT_D_OPEN("--lr", o->lr, "X", 0, 0.999, "peak learning rate (default 1e-4 mlm, 3e-5 contrastive)"),
        SEM_OPT_I("--warmup", 0, p->warmup, "N", 0, 1000000000L, "warm-up updates (default 6% of --steps), then "
                                                                 "linear decay to 0"),
        SEM_OPT_D("--weight-decay", p->weight_decay, "X", 0, 0.999,
                  "AdamW decoupled weight decay (default 0.01; none on biases/LayerNorm)"),
        SEM_OPT_D("--clip", p->clip, "X", 0, 1e9, "max global gradient norm, 0 = off (default 1.0)"),
        SEM_OPT_D("--mask-prob", p->mask_prob, "X", 0.001, 0.999, "mlm: fraction of tokens predicted (default 0.15)"),
        SEM_OPT_D("--temperature", p->temperature, "T", 1e-4, 100,
                  "contrastive: softmax temperature of cosine similarities (default 0.05)"),
        SEM_OPT_E("--pooling", p->pooling, "mean|cls", tpool_parse, "mean or cls", "contrastive: sentence vector "
                                                                                   "(default mean)"),
        SEM_OPT_I("--seed", 0, p->seed, "S", 0, 0x7fffffffffffffffL, "data order, masking, dropout, initialisation "
                                                                     "(default 42)"),
        SEM_OPT_I("--threads", 0, o->threads, "N", 1, 256,
                  "OpenBLAS threads (default: OpenBLAS's choice; keep it fixed across a\nresumed run for "
                  "bit-identical results)"),
        SEM_OPT_SEC("Checkpoints and output:"),
        SEM_OPT_S("--out", 0, o->out, "DIR", "output folder (created)"),
        SEM_OPT_F("--resume", 0, o->resume, "continue the run checkpointed in --out (same data options required)"),
        SEM_OPT_I("--checkpoint-steps", 0, p->ckpt_steps, "N", 0, 1000000000L,
                  "checkpoint every N updates (default 0 = by time only)"),
        SEM_OPT_D("--checkpoint-minutes", o->ckpt_minutes, "M", 0, 1e7, "checkpoint every M minutes (default 10)"),
        SEM_OPT_I("--stop-at", 0, p->stop_at, "N", 1, 1000000000L,
                  "stop after update N with a checkpoint (spread a run over sessions)"),
        SEM_OPT_F("--f16", 0, o->f16, "store model.safetensors as float16 (default float32)"),
        SEM_OPT_D("--progress-seconds", p->progress_seconds, "S", 0, 1e7, "progress interval on stderr (default "
                                                                          "10)"),
        SEM_OPT_QUIET(o->quiet, "no progress lines (the start and end summaries still show)"),
        {0}};
    const sem_cli_cmd cmd = {name, TRAIN_USAGE, t, TRAIN_EXAMPLE, NULL, 0, NULL, 0, NULL};
    return sem_cli_parse(&cmd, argc, argv, status);
}

/* The combinations the table cannot check; NULL, or what is wrong. */
static const char *check_opts(const opts *o)
{
    if (!o->out)
        return "--out DIR is required";
    if (!!o->model == !!o->config)
        return "give exactly one of --model DIR and --config FILE";
    if (o->config && !o->vocab)
        return "--config needs --vocab FILE";
    if (!o->contrastive && !o->n_corpus)
        return "mlm needs --corpus FILE...";
    if (!o->contrastive && (o->n_pairs || o->n_simcse))
        return "--pairs and --simcse belong to contrastive";
    if (o->contrastive && !!o->n_pairs == !!o->n_simcse)
        return "contrastive needs exactly one of --pairs FILE... and --simcse FILE...";
    if (o->contrastive && (o->n_corpus || o->n_eval))
        return "--corpus and --eval belong to mlm";
    return NULL;
}

static int parse(const char *name, int contrastive, int argc, char **argv, opts *o, int *status)
{
    memset(o, 0, sizeof *o);
    o->p = sem_train_default_params();
    o->contrastive = contrastive;
    o->dropout = -1;
    o->ckpt_minutes = 10;
    o->lr = -1;
    if (!parse_table(name, argc, argv, o, status))
        return 0;
    const char *bad = check_opts(o);
    if (bad) {
        *status = sem_cli_usage_error(name, "%s", bad);
        return 0;
    }
    o->simcse = o->n_simcse > 0;
    if (o->steps > 0)
        o->p.steps = o->steps;
    o->p.lr = o->lr > 0 ? o->lr : o->contrastive ? 3e-5 : 1e-4;
    o->p.ckpt_seconds = o->ckpt_minutes * 60;
    return 1;
}

static void progress(const sem_train_progress *p, void *ud)
{
    const char *what = ud;
    int es = (int)p->elapsed_s, eta = (int)p->eta_s;
    fprintf(stderr,
            "train %s: step %ld/%ld  loss %.4f  acc %.3f  lr %.2e  |g| %.3g  %.0f tok/s  %ld tokens  "
            "%dh%02dm%02ds  ETA %dh%02dm%02ds%s\n",
            what, p->step, p->total, p->loss, p->acc, p->lr, p->grad_norm, p->tokens_per_s, p->tokens, es / 3600,
            es / 60 % 60, es % 60, eta / 3600, eta / 60 % 60, eta % 60, p->checkpointed ? "  [checkpoint]" : "");
}

static sem_tdata *load_data(sem_tdata_kind kind, const sem_tspecial *sp, const char *vocab, int lower,
                            char **files, int n, int seq, sem_error *err)
{
    sem_tdata *d = sem_tdata_new(kind, sp, err);
    if (!d)
        return NULL;
    if (sem_tdata_add_files(d, vocab, lower, files, n, err) != SEM_OK || sem_tdata_finish(d, seq, err) != SEM_OK) {
        sem_tdata_free(d);
        return NULL;
    }
    return d;
}

/* The vocabulary's special token ids into *sp and the run's lower-casing into *lower. */
static int load_specials(const opts *o, const char *vocab, int *lower, sem_tspecial *sp, sem_error *err)
{
    sem_tokenizer_config tc = sem_tokenizer_default_config();
    if (o->model && sem_tokenizer_config_load(o->model, &tc, err) != SEM_OK)
        return err->code;
    *lower = o->cased ? 0 : tc.do_lower_case;
    tc.do_lower_case = *lower;
    sem_tokenizer *tk = sem_tokenizer_load(vocab, &tc, err);
    if (!tk)
        return err->code;
    *sp = (sem_tspecial){sem_tokenizer_cls_id(tk),  sem_tokenizer_sep_id(tk), sem_tokenizer_pad_id(tk),
                         sem_tokenizer_mask_id(tk), sem_tokenizer_unk_id(tk), sem_tokenizer_vocab_size(tk)};
    sem_tokenizer_free(tk);
    return SEM_OK;
}

/* The model a new run starts from: --model's weights, or --config's initialised at random. */
static sem_tmodel *start_model(const opts *o, sem_error *err)
{
    sem_tmodel *m = NULL;
    if (o->model)
        return sem_tmodel_load_hf(o->model, o->p.seed, NULL, err);
    sem_tconfig c;
    if (sem_tconfig_load(o->config, &c, err) == SEM_OK && (m = sem_tmodel_new(&c, err)))
        sem_tmodel_init(m, o->p.seed);
    else
        sem_error_prefix(err, "%s", o->config);
    if (m && o->dropout >= 0) {
        m->cfg.hidden_dropout = o->dropout;
        m->cfg.attn_dropout = o->dropout;
    }
    return m;
}

/* The trainer: the run checkpointed in --out (with --resume), else a new one. Takes d (freed on failure). */
static sem_trainer *start(const opts *o, sem_tdata *d, sem_error *err)
{
    if (o->resume && sem_trainer_has_checkpoint(o->out)) {
        sem_train_params ov = o->p;
        ov.steps = o->steps; /* 0: the run's own */
        sem_trainer *tr = sem_trainer_resume(o->out, d, &ov, err);
        if (tr)
            fprintf(stderr, "train: resuming %s at update %ld of %ld\n", o->out, sem_trainer_step(tr),
                    sem_trainer_params(tr)->steps);
        return tr;
    }
    if (o->resume)
        fprintf(stderr, "train: no checkpoint in %s yet: starting a new run\n", o->out);
    sem_tmodel *m = NULL;
    if (!o->resume && sem_trainer_has_checkpoint(o->out))
        sem_error_set(err, SEM_EINVAL, "%s already holds a checkpoint: add --resume to continue it, or choose "
                                       "another --out", o->out);
    else
        m = start_model(o, err);
    if (!m) {
        sem_tdata_free(d);
        return NULL;
    }
    fprintf(stderr, "train: model %d layers, hidden %d, %zu parameters\n", m->cfg.layers, m->cfg.hidden,
            m->n_params);
    return sem_trainer_new(m, d, &o->p, o->out, err);
}

/* What the run reads: the vocabulary, the special ids, the training data. */
typedef struct run_data {
    const char *vocab;
    char vocab_buf[4096];
    int lower;
    sem_tspecial sp;
    sem_tdata_kind kind;
    char **files;
    int n_files;
} run_data;

/* Loads the training data (and reports what was read); NULL after setting err. */
static sem_tdata *read_data(const opts *o, run_data *rd, sem_error *err)
{
    rd->vocab = o->vocab;
    if (!rd->vocab) {
        snprintf(rd->vocab_buf, sizeof rd->vocab_buf, "%s/vocab.txt", o->model);
        rd->vocab = rd->vocab_buf;
    }
    if (load_specials(o, rd->vocab, &rd->lower, &rd->sp, err) != SEM_OK)
        return NULL;
    rd->kind = !o->contrastive ? SEM_TDATA_MLM : o->simcse ? SEM_TDATA_SIMCSE : SEM_TDATA_PAIRS;
    rd->files = rd->kind == SEM_TDATA_MLM ? o->corpus : rd->kind == SEM_TDATA_SIMCSE ? o->simcse_files : o->pairs;
    rd->n_files = rd->kind == SEM_TDATA_MLM ? o->n_corpus : rd->kind == SEM_TDATA_SIMCSE ? o->n_simcse : o->n_pairs;
    double t0 = sem_now();
    sem_tdata *d = load_data(rd->kind, &rd->sp, rd->vocab, rd->lower, rd->files, rd->n_files, o->p.seq, err);
    if (!d)
        return NULL;
    fprintf(stderr, "train: %zu examples, %zu tokens from %d file(s) in %.1f s%s\n", d->n_ex, d->n_tok, rd->n_files,
            sem_now() - t0, d->skipped ? " (some lines skipped: invalid UTF-8, no tab, empty, or > 3 columns)" : "");
    if (d->n_neg)
        fprintf(stderr, "train: %zu pairs carry a hard negative\n", d->n_neg);
    if (d->skipped)
        fprintf(stderr, "train: %zu lines skipped\n", d->skipped);
    return d;
}

/* The held-out MLM loss and accuracy of --eval into card (at the end, or --stop-at; not after a signal). */
static int eval_heldout(const opts *o, sem_trainer *tr, const run_data *rd, sem_train_card *card, sem_error *err)
{
    if (!o->n_eval || (!sem_trainer_done(tr) && *g_stop))
        return SEM_OK;
    const sem_train_params *p = sem_trainer_params(tr);
    sem_tdata *ed = load_data(SEM_TDATA_MLM, &rd->sp, rd->vocab, rd->lower, o->eval, o->n_eval, p->seq, err);
    int rc = ed ? sem_train_eval_mlm((sem_tmodel *)sem_trainer_model(tr), ed, p->batch, 200, p->mask_prob,
                                     &card->eval_loss, &card->eval_acc, err)
                : err->code;
    sem_tdata_free(ed);
    if (rc == SEM_OK)
        fprintf(stderr, "train: held-out MLM loss %.4f, accuracy %.4f\n", card->eval_loss, card->eval_acc);
    return rc;
}

/* Writes the HF folder and its model card. */
static int save(const opts *o, const sem_trainer *tr, const run_data *rd, const sem_train_card *card,
                sem_error *err)
{
    const sem_train_params *p = sem_trainer_params(tr);
    sem_hf_save_params hp = {o->f16, o->contrastive ? p->pooling : SEM_TPOOL_MEAN, o->contrastive,
                             p->seq > 512 ? 512 : 0, rd->vocab, rd->lower};
    /* vocab.txt may be the output folder's own (continuing in place): copying it onto itself is harmless */
    if (sem_tmodel_save_hf(sem_trainer_model(tr), o->out, &hp, err) != SEM_OK)
        return err->code;
    return sem_train_write_card(o->out, tr, card, err);
}

/* Trains, evaluates, saves; the exit status. Frees tr. */
static int run(const opts *o, sem_trainer *tr, const run_data *rd, size_t n_neg)
{
    sem_error err;
    sem_error_clear(&err);
    g_stop = sem_cli_catch_stop_signals();
    double t_run = sem_now();
    int rc = sem_trainer_run(tr, o->quiet ? NULL : progress, (void *)(o->contrastive ? "contrastive" : "mlm"),
                             g_stop, &err);
    sem_train_card card = {rd->kind, o->model ? o->model : o->config, rd->vocab, rd->files, rd->n_files, n_neg, -1,
                           0, sem_now() - t_run};
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    if (rc == SEM_OK && eval_heldout(o, tr, rd, &card, &err) == SEM_OK)
        rc = save(o, tr, rd, &card, &err);
    else
        rc = err.code ? err.code : SEM_EINTERNAL;
    int done = sem_trainer_done(tr);
    long step = sem_trainer_step(tr), total = sem_trainer_params(tr)->steps;
    sem_trainer_free(tr);
    if (rc != SEM_OK)
        return sem_cli_fail(&err);
    if (!done) {
        fprintf(stderr, "train: stopped at update %ld of %ld; model and checkpoint written to %s; rerun the same "
                        "command with --resume to continue\n", step, total, o->out);
        return *g_stop ? SEM_EXIT_FAIL : SEM_EXIT_OK;
    }
    fprintf(stderr, "train: done: %ld updates; model written to %s\n", step, o->out);
    return SEM_EXIT_OK;
}

static int train_main(const char *name, int contrastive, int argc, char **argv)
{
    opts o;
    int st;
    if (!parse(name, contrastive, argc, argv, &o, &st))
        return st;
    if (o.threads > 0)
        sem_cli_set_threads(o.threads); /* OpenBLAS and the trainer's own loops (attention, activations, AdamW) */
    if (o.model && !(o.model = sem_cli_model_dir(o.model)))
        return SEM_EXIT_FAIL;
    sem_error err;
    sem_error_clear(&err);
    run_data rd;
    sem_tdata *d = read_data(&o, &rd, &err);
    if (!d)
        return sem_cli_fail(&err);
    size_t n_neg = d->n_neg;
    sem_trainer *tr = start(&o, d, &err);
    return tr ? run(&o, tr, &rd, n_neg) : sem_cli_fail(&err);
}

int sem_cmd_train_mlm(int argc, char **argv)
{
    return train_main("train mlm", 0, argc, argv);
}

int sem_cmd_train_contrastive(int argc, char **argv)
{
    return train_main("train contrastive", 1, argc, argv);
}
