/* cli/cmd_train.c: semsearch train mlm | contrastive: masked-LM pretraining and contrastive sentence training of
 * a BERT model in C (train/train.h), writing an HF model folder that semsearch embed, HF transformers and
 * sentence-transformers load. Progress goes to stderr; SIGINT/SIGTERM stop after the current update with a
 * checkpoint, and the same command with --resume continues exactly where it stopped. */
#include "cli/cli.h"
#include "common/fileio.h"
#include "common/log.h"
#include "encoder/tokenizer.h"
#include "train/train.h"

#include <cblas.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static volatile sig_atomic_t *g_stop;

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: semsearch train mlm (--model DIR | --config FILE --vocab FILE) --corpus FILE... --out DIR [options]\n"
            "       semsearch train contrastive (--model DIR | --config FILE --vocab FILE)\n"
            "                 (--pairs FILE... | --simcse FILE...) --out DIR [options]\n\n"
            "Trains a BERT model in C and writes an HF folder (config.json, model.safetensors, vocab.txt,\n"
            "tokenizer files, modules.json, 1_Pooling/config.json) to --out, with checkpoint.bin and train_log.tsv.\n"
            "  mlm          masked-LM: text files, one paragraph per line; 15%% of tokens predicted\n"
            "  contrastive  InfoNCE with in-batch negatives: --pairs files of 'text<TAB>positive' lines (or\n"
            "               'text<TAB>positive<TAB>hard negative': the batch's hard negatives join the candidates),\n"
            "               or --simcse files of sentences (each paired with itself; dropout is the augmentation)\n\n"
            "Model:\n"
            "  --model DIR            start from an HF BERT folder (its vocab.txt unless --vocab)\n"
            "  --config FILE          start from random weights with this config.json (needs --vocab)\n"
            "  --vocab FILE           WordPiece vocabulary (vocab.txt)\n"
            "  --cased                do not lower-case (default: lower-case, as bert-base-uncased)\n"
            "  --dropout P            hidden and attention dropout (default: the config's)\n"
            "Training:\n"
            "  --steps N              optimizer updates (default 1000)\n"
            "  --batch B              sequences (mlm) or pairs (contrastive) per micro-batch (default 16)\n"
            "  --seq L                tokens per sequence incl. [CLS]/[SEP] (default 128)\n"
            "  --accum N              micro-batches per update (gradient accumulation, default 1)\n"
            "  --lr X                 peak learning rate (default 1e-4 mlm, 3e-5 contrastive)\n"
            "  --warmup N             warm-up updates (default 6%% of --steps), then linear decay to 0\n"
            "  --weight-decay X       AdamW decoupled weight decay (default 0.01; none on biases/LayerNorm)\n"
            "  --clip X               max global gradient norm, 0 = off (default 1.0)\n"
            "  --mask-prob X          mlm: fraction of tokens predicted (default 0.15)\n"
            "  --temperature T        contrastive: softmax temperature of cosine similarities (default 0.05)\n"
            "  --pooling mean|cls     contrastive: sentence vector (default mean)\n"
            "  --seed S               data order, masking, dropout, initialisation (default 42)\n"
            "  --threads N            OpenBLAS threads (default: OpenBLAS's choice; keep it fixed across a\n"
            "                         resumed run for bit-identical results)\n"
            "Checkpoints and output:\n"
            "  --out DIR              output folder (created)\n"
            "  --resume               continue the run checkpointed in --out (same data options required)\n"
            "  --checkpoint-steps N   checkpoint every N updates (default 0 = by time only)\n"
            "  --checkpoint-minutes M checkpoint every M minutes (default 10)\n"
            "  --stop-at N            stop after update N with a checkpoint (spread a run over sessions)\n"
            "  --f16                  store model.safetensors as float16 (default float32)\n"
            "  --eval FILE...         mlm: held-out text; its MLM loss and accuracy are reported at the end (also\n"
            "                         at --stop-at; not when a signal stops the run)\n"
            "  --progress-seconds S   progress interval on stderr (default 10)\n"
            "  -q, --quiet            no progress lines (the start and end summaries still show)\n"
            "  -h, --help             this help\n\n"
            "Example:\n"
            "  semsearch train mlm --config cfg.json --vocab vocab.txt --corpus data/text/*.txt --out models/x \\\n"
            "      --steps 20000 --batch 32 --seq 128 --checkpoint-minutes 15\n"
            "  semsearch train contrastive --model models/x --pairs data/pairs/*.tsv --out models/x-st\n");
}

typedef struct opts {
    int contrastive, simcse, cased, resume, f16, threads, quiet;
    const char *model, *config, *vocab, *out;
    char **corpus, **pairs, **simcse_files, **eval;
    int n_corpus, n_pairs, n_simcse, n_eval;
    double dropout, ckpt_minutes, lr;
    sem_train_params p;
} opts;


/* Collects the arguments after argv[*i] up to the next option. */
static int take_list(int argc, char **argv, int *i, char ***out, int *n)
{
    int start = *i + 1, k = start;
    while (k < argc && strncmp(argv[k], "--", 2) != 0)
        k++;
    if (k == start)
        return -1;
    *out = argv + start;
    *n = k - start;
    *i = k - 1;
    return 0;
}

static int parse(int argc, char **argv, opts *o)
{
    const char *cmd = "train";
    memset(o, 0, sizeof *o);
    o->p = sem_train_default_params();
    o->dropout = -1;
    o->ckpt_minutes = 10;
    o->lr = -1;
    if (argc < 2)
        return sem_cli_usage_error(cmd, "missing mode (mlm or contrastive)");
    if (sem_cli_is_help(argv[1])) {
        usage(stdout);
        return -1;
    }
    if (strcmp(argv[1], "mlm") == 0)
        o->contrastive = 0;
    else if (strcmp(argv[1], "contrastive") == 0)
        o->contrastive = 1;
    else
        return sem_cli_usage_error(cmd, "unknown mode '%s' (mlm or contrastive)", argv[1]);
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        long n;
        if (sem_cli_is_help(a)) {
            usage(stdout);
            return -1;
        }
#define NEED_V()                                                                                                  \
    do {                                                                                                          \
        if (!v)                                                                                                   \
            return sem_cli_usage_error(cmd, "%s needs a value", a);                                               \
        i++;                                                                                                      \
    } while (0)
        if (strcmp(a, "--model") == 0) {
            NEED_V();
            o->model = v;
        } else if (strcmp(a, "--config") == 0) {
            NEED_V();
            o->config = v;
        } else if (strcmp(a, "--vocab") == 0) {
            NEED_V();
            o->vocab = v;
        } else if (strcmp(a, "--out") == 0) {
            NEED_V();
            o->out = v;
        } else if (strcmp(a, "--corpus") == 0) {
            if (take_list(argc, argv, &i, &o->corpus, &o->n_corpus))
                return sem_cli_usage_error(cmd, "--corpus needs at least one file");
        } else if (strcmp(a, "--pairs") == 0) {
            if (take_list(argc, argv, &i, &o->pairs, &o->n_pairs))
                return sem_cli_usage_error(cmd, "--pairs needs at least one file");
        } else if (strcmp(a, "--simcse") == 0) {
            if (take_list(argc, argv, &i, &o->simcse_files, &o->n_simcse))
                return sem_cli_usage_error(cmd, "--simcse needs at least one file");
        } else if (strcmp(a, "--eval") == 0) {
            if (take_list(argc, argv, &i, &o->eval, &o->n_eval))
                return sem_cli_usage_error(cmd, "--eval needs at least one file");
        } else if (strcmp(a, "--cased") == 0) {
            o->cased = 1;
        } else if (strcmp(a, "--resume") == 0) {
            o->resume = 1;
        } else if (strcmp(a, "--f16") == 0) {
            o->f16 = 1;
        } else if (strcmp(a, "--steps") == 0) {
            NEED_V();
            if (sem_cli_parse_int(v, 1, 1000000000L, &n))
                return sem_cli_usage_error(cmd, "--steps must be an integer in [1, 1e9]");
            o->p.steps = n;
        } else if (strcmp(a, "--batch") == 0) {
            NEED_V();
            if (sem_cli_parse_int(v, 1, 4096, &n))
                return sem_cli_usage_error(cmd, "--batch must be an integer in [1, 4096]");
            o->p.batch = (int)n;
        } else if (strcmp(a, "--seq") == 0) {
            NEED_V();
            if (sem_cli_parse_int(v, 4, 8192, &n))
                return sem_cli_usage_error(cmd, "--seq must be an integer in [4, 8192]");
            o->p.seq = (int)n;
        } else if (strcmp(a, "--accum") == 0) {
            NEED_V();
            if (sem_cli_parse_int(v, 1, 4096, &n))
                return sem_cli_usage_error(cmd, "--accum must be an integer in [1, 4096]");
            o->p.accum = (int)n;
        } else if (strcmp(a, "--lr") == 0) {
            NEED_V();
            if (sem_cli_parse_double(v, 1e-12, 0.999, &o->lr))
                return sem_cli_usage_error(cmd, "--lr must be a number in (0, 1)");
        } else if (strcmp(a, "--warmup") == 0) {
            NEED_V();
            if (sem_cli_parse_int(v, 0, 1000000000L, &n))
                return sem_cli_usage_error(cmd, "--warmup must be an integer >= 0");
            o->p.warmup = n;
        } else if (strcmp(a, "--weight-decay") == 0) {
            NEED_V();
            if (sem_cli_parse_double(v, 0, 0.999, &o->p.weight_decay))
                return sem_cli_usage_error(cmd, "--weight-decay must be in [0, 1)");
        } else if (strcmp(a, "--clip") == 0) {
            NEED_V();
            if (sem_cli_parse_double(v, 0, 1e9, &o->p.clip))
                return sem_cli_usage_error(cmd, "--clip must be >= 0");
        } else if (strcmp(a, "--mask-prob") == 0) {
            NEED_V();
            if (sem_cli_parse_double(v, 0.001, 0.999, &o->p.mask_prob))
                return sem_cli_usage_error(cmd, "--mask-prob must be in (0, 1)");
        } else if (strcmp(a, "--temperature") == 0) {
            NEED_V();
            if (sem_cli_parse_double(v, 1e-4, 100, &o->p.temperature))
                return sem_cli_usage_error(cmd, "--temperature must be in [1e-4, 100]");
        } else if (strcmp(a, "--pooling") == 0) {
            NEED_V();
            if (strcmp(v, "mean") == 0)
                o->p.pooling = SEM_TPOOL_MEAN;
            else if (strcmp(v, "cls") == 0)
                o->p.pooling = SEM_TPOOL_CLS;
            else
                return sem_cli_usage_error(cmd, "--pooling must be mean or cls");
        } else if (strcmp(a, "--seed") == 0) {
            NEED_V();
            if (sem_cli_parse_int(v, 0, 0x7fffffffffffffffL, &n))
                return sem_cli_usage_error(cmd, "--seed must be a non-negative integer");
            o->p.seed = (uint64_t)n;
        } else if (strcmp(a, "--threads") == 0) {
            NEED_V();
            if (sem_cli_parse_int(v, 1, 256, &n))
                return sem_cli_usage_error(cmd, "--threads must be an integer in [1, 256]");
            o->threads = (int)n;
        } else if (strcmp(a, "--dropout") == 0) {
            NEED_V();
            if (sem_cli_parse_double(v, 0, 0.9, &o->dropout))
                return sem_cli_usage_error(cmd, "--dropout must be in [0, 0.9]");
        } else if (strcmp(a, "--checkpoint-steps") == 0) {
            NEED_V();
            if (sem_cli_parse_int(v, 0, 1000000000L, &n))
                return sem_cli_usage_error(cmd, "--checkpoint-steps must be an integer >= 0");
            o->p.ckpt_steps = n;
        } else if (strcmp(a, "--checkpoint-minutes") == 0) {
            NEED_V();
            if (sem_cli_parse_double(v, 0, 1e7, &o->ckpt_minutes))
                return sem_cli_usage_error(cmd, "--checkpoint-minutes must be >= 0");
        } else if (strcmp(a, "--stop-at") == 0) {
            NEED_V();
            if (sem_cli_parse_int(v, 1, 1000000000L, &n))
                return sem_cli_usage_error(cmd, "--stop-at must be an integer >= 1");
            o->p.stop_at = n;
        } else if (sem_cli_is_quiet(a)) {
            o->quiet = 1;
        } else if (strcmp(a, "--progress-seconds") == 0) {
            NEED_V();
            if (sem_cli_parse_double(v, 0, 1e7, &o->p.progress_seconds))
                return sem_cli_usage_error(cmd, "--progress-seconds must be >= 0");
        } else {
            return sem_cli_usage_error(cmd, "unknown option '%s'", a);
        }
#undef NEED_V
    }
    if (!o->out)
        return sem_cli_usage_error(cmd, "--out DIR is required");
    if (!!o->model == !!o->config)
        return sem_cli_usage_error(cmd, "give exactly one of --model DIR and --config FILE");
    if (o->config && !o->vocab)
        return sem_cli_usage_error(cmd, "--config needs --vocab FILE");
    if (!o->contrastive) {
        if (!o->n_corpus)
            return sem_cli_usage_error(cmd, "mlm needs --corpus FILE...");
        if (o->n_pairs || o->n_simcse)
            return sem_cli_usage_error(cmd, "--pairs and --simcse belong to contrastive");
    } else {
        if (!!o->n_pairs == !!o->n_simcse)
            return sem_cli_usage_error(cmd, "contrastive needs exactly one of --pairs FILE... and --simcse FILE...");
        if (o->n_corpus || o->n_eval)
            return sem_cli_usage_error(cmd, "--corpus and --eval belong to mlm");
        o->simcse = o->n_simcse > 0;
    }
    o->p.lr = o->lr > 0 ? o->lr : o->contrastive ? 3e-5 : 1e-4;
    o->p.ckpt_seconds = o->ckpt_minutes * 60;
    return 0;
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

static int write_card(const char *out, const opts *o, const sem_trainer *tr, const char *vocab, size_t n_neg,
                      double eval_loss, double eval_acc, double seconds, sem_error *err)
{
    const sem_tmodel *m = sem_trainer_model(tr);
    const sem_train_params *p = sem_trainer_params(tr);
    size_t cap = 8192, len = 0;
    char *s = malloc(cap);
    if (!s)
        return sem_error_set(err, SEM_ENOMEM, "out of memory");
#define ADD(...)                                                                                                  \
    do {                                                                                                          \
        if (len < cap)                                                                                            \
            len += (size_t)snprintf(s + len, cap - len, __VA_ARGS__);                                            \
    } while (0)
    ADD("# %s\n\nTrained with `semsearch train %s` (semsearch's C trainer).\n\n", out,
        o->contrastive ? "contrastive" : "mlm");
    ADD("| | |\n|---|---|\n| architecture | BERT, %d layers, hidden %d, %d heads, FFN %d, vocab %d |\n",
        m->cfg.layers, m->cfg.hidden, m->cfg.heads, m->cfg.ffn, m->cfg.vocab_size);
    ADD("| parameters | %zu |\n| start | %s |\n| vocabulary | %s |\n", m->n_params,
        o->model ? o->model : o->config, vocab);
    ADD("| objective | %s |\n", o->contrastive ? (o->simcse ? "SimCSE (InfoNCE, dropout views)"
                                                  : n_neg ? "InfoNCE with in-batch and hard negatives on pairs"
                                                          : "InfoNCE with in-batch negatives on pairs")
                                                : "masked LM (15%: 80% [MASK], 10% random, 10% kept)");
    if (n_neg)
        ADD("| pairs with a hard negative | %zu |\n", n_neg);
    ADD("| updates | %ld of %ld |\n| batch x accum x seq | %d x %d x %d |\n| lr, warm-up | %g, %ld |\n",
        sem_trainer_step(tr), p->steps, p->batch, p->accum, p->seq, p->lr, p->warmup);
    ADD("| tokens seen | %ld |\n| last loss | %.4f |\n| seed | %llu |\n| time of the last session | %.0f s |\n",
        sem_trainer_tokens(tr), sem_trainer_last_loss(tr), (unsigned long long)p->seed, seconds);
    if (eval_loss >= 0)
        ADD("| held-out MLM loss / accuracy | %.4f / %.4f |\n", eval_loss, eval_acc);
    ADD("\nTraining data files:\n\n");
    char **files = o->contrastive ? (o->simcse ? o->simcse_files : o->pairs) : o->corpus;
    int nf = o->contrastive ? (o->simcse ? o->n_simcse : o->n_pairs) : o->n_corpus;
    for (int i = 0; i < nf; i++)
        ADD("- %s\n", files[i]);
    ADD("\nThe per-update log is train_log.tsv; list the data's sources and licences here (see "
        "data/training/LICENSES when made by scripts/make_training_data.sh).\n");
#undef ADD
    if (len >= cap)
        len = cap - 1;
    char path[4096];
    snprintf(path, sizeof path, "%s/README.md", out);
    int rc = sem_write_file_atomic(path, s, len, err);
    free(s);
    return rc;
}

int sem_cmd_train(int argc, char **argv)
{
    opts o;
    int pr = parse(argc, argv, &o);
    if (pr == -1)
        return SEM_EXIT_OK; /* --help */
    if (pr)
        return pr;
    if (o.threads > 0) {
        openblas_set_num_threads(o.threads);
#ifdef _OPENMP
        omp_set_num_threads(o.threads); /* the trainer's own loops (attention, activations, AdamW) */
#endif
    }
    if (o.model && !(o.model = sem_cli_model_dir(o.model)))
        return SEM_EXIT_FAIL;
    sem_error err;
    sem_error_clear(&err);
    char vocab_buf[4096];
    const char *vocab = o.vocab;
    if (!vocab) {
        snprintf(vocab_buf, sizeof vocab_buf, "%s/vocab.txt", o.model);
        vocab = vocab_buf;
    }
    sem_tokenizer_config tc = sem_tokenizer_default_config();
    if (o.model && sem_tokenizer_config_load(o.model, &tc, &err) != SEM_OK)
        return sem_cli_fail(&err);
    int lower = o.cased ? 0 : tc.do_lower_case;
    tc.do_lower_case = lower;
    sem_tokenizer *tk = sem_tokenizer_load(vocab, &tc, &err);
    if (!tk)
        return sem_cli_fail(&err);
    sem_tspecial sp = {sem_tokenizer_cls_id(tk), sem_tokenizer_sep_id(tk), sem_tokenizer_pad_id(tk),
                       sem_tokenizer_mask_id(tk), sem_tokenizer_unk_id(tk), sem_tokenizer_vocab_size(tk)};
    sem_tokenizer_free(tk);

    sem_tdata_kind kind = !o.contrastive ? SEM_TDATA_MLM : o.simcse ? SEM_TDATA_SIMCSE : SEM_TDATA_PAIRS;
    char **files = kind == SEM_TDATA_MLM ? o.corpus : kind == SEM_TDATA_SIMCSE ? o.simcse_files : o.pairs;
    int nf = kind == SEM_TDATA_MLM ? o.n_corpus : kind == SEM_TDATA_SIMCSE ? o.n_simcse : o.n_pairs;
    double t0 = sem_now();
    sem_tdata *d = load_data(kind, &sp, vocab, lower, files, nf, o.p.seq, &err);
    if (!d)
        return sem_cli_fail(&err);
    fprintf(stderr, "train: %zu examples, %zu tokens from %d file(s) in %.1f s%s\n", d->n_ex, d->n_tok, nf,
            sem_now() - t0, d->skipped ? " (some lines skipped: invalid UTF-8, no tab, empty, or > 3 columns)" : "");
    size_t n_neg = d->n_neg;
    if (n_neg)
        fprintf(stderr, "train: %zu pairs carry a hard negative\n", n_neg);
    if (d->skipped)
        fprintf(stderr, "train: %zu lines skipped\n", d->skipped);

    sem_trainer *tr = NULL;
    if (o.resume && sem_trainer_has_checkpoint(o.out)) {
        sem_train_params ov = o.p;
        int steps_given = 0;
        for (int i = 2; i < argc; i++)
            steps_given |= strcmp(argv[i], "--steps") == 0;
        if (!steps_given)
            ov.steps = 0;
        tr = sem_trainer_resume(o.out, d, &ov, &err);
        if (!tr)
            return sem_cli_fail(&err);
        fprintf(stderr, "train: resuming %s at update %ld of %ld\n", o.out, sem_trainer_step(tr),
                sem_trainer_params(tr)->steps);
    } else {
        if (o.resume)
            fprintf(stderr, "train: no checkpoint in %s yet: starting a new run\n", o.out);
        else if (sem_trainer_has_checkpoint(o.out)) {
            sem_tdata_free(d);
            fprintf(stderr, "semsearch: error: %s already holds a checkpoint: add --resume to continue it, or "
                            "choose another --out\n", o.out);
            return SEM_EXIT_FAIL;
        }
        sem_tmodel *m = NULL;
        if (o.model) {
            m = sem_tmodel_load_hf(o.model, o.p.seed, NULL, &err);
        } else {
            sem_tconfig c;
            if (sem_tconfig_load(o.config, &c, &err) == SEM_OK && (m = sem_tmodel_new(&c, &err)))
                sem_tmodel_init(m, o.p.seed);
            else
                sem_error_prefix(&err, "%s", o.config);
        }
        if (!m) {
            sem_tdata_free(d);
            return sem_cli_fail(&err);
        }
        if (o.dropout >= 0) {
            m->cfg.hidden_dropout = o.dropout;
            m->cfg.attn_dropout = o.dropout;
        }
        fprintf(stderr, "train: model %d layers, hidden %d, %zu parameters\n", m->cfg.layers, m->cfg.hidden,
                m->n_params);
        tr = sem_trainer_new(m, d, &o.p, o.out, &err);
        if (!tr)
            return sem_cli_fail(&err);
    }
    g_stop = sem_cli_catch_stop_signals();
    double t_run = sem_now();
    int rc = sem_trainer_run(tr, o.quiet ? NULL : progress, (void *)(o.contrastive ? "contrastive" : "mlm"), g_stop,
                             &err);
    double run_s = sem_now() - t_run;
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    if (rc != SEM_OK) {
        sem_trainer_free(tr);
        return sem_cli_fail(&err);
    }
    double eval_loss = -1, eval_acc = 0;
    if (o.n_eval && (sem_trainer_done(tr) || !*g_stop)) { /* the end, or --stop-at; not after a signal */
        sem_tdata *ed = load_data(SEM_TDATA_MLM, &sp, vocab, lower, o.eval, o.n_eval, sem_trainer_params(tr)->seq,
                                  &err);
        if (!ed || sem_train_eval_mlm((sem_tmodel *)sem_trainer_model(tr), ed, sem_trainer_params(tr)->batch, 200,
                                      sem_trainer_params(tr)->mask_prob, &eval_loss, &eval_acc, &err) != SEM_OK) {
            sem_tdata_free(ed);
            sem_trainer_free(tr);
            return sem_cli_fail(&err);
        }
        sem_tdata_free(ed);
        fprintf(stderr, "train: held-out MLM loss %.4f, accuracy %.4f\n", eval_loss, eval_acc);
    }
    sem_hf_save_params hp = {o.f16, o.contrastive ? sem_trainer_params(tr)->pooling : SEM_TPOOL_MEAN,
                             o.contrastive, sem_trainer_params(tr)->seq > 512 ? 512 : 0, vocab, lower};
    /* vocab.txt may be the output folder's own (continuing in place): copying it onto itself is harmless */
    if (sem_tmodel_save_hf(sem_trainer_model(tr), o.out, &hp, &err) != SEM_OK ||
        write_card(o.out, &o, tr, vocab, n_neg, eval_loss, eval_acc, run_s, &err) != SEM_OK) {
        sem_trainer_free(tr);
        return sem_cli_fail(&err);
    }
    int done = sem_trainer_done(tr);
    long step = sem_trainer_step(tr), total = sem_trainer_params(tr)->steps;
    sem_trainer_free(tr);
    if (!done) {
        fprintf(stderr, "train: stopped at update %ld of %ld; model and checkpoint written to %s; rerun the same "
                        "command with --resume to continue\n", step, total, o.out);
        return *g_stop ? SEM_EXIT_FAIL : SEM_EXIT_OK;
    }
    fprintf(stderr, "train: done: %ld updates; model written to %s\n", step, o.out);
    return SEM_EXIT_OK;
}
