/* cli/cmd_adapt.c: semsearch adapt KB: adapts the KB's model to the KB's own text and re-encodes the KB with it
 * (adapt/adapt.h). Options, progress on stderr and exit codes only; the work is the library's. */
#include "adapt/adapt.h"
#include "cli/cli.h"
#include "common/fileio.h"

#include <cblas.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: semsearch adapt KB [options]\n\n"
            "Adapts the KB's model to the KB's own text: masked-LM on its passages, then contrastive training on\n"
            "pairs mined from them (title <-> body, a sentence <-> the rest of its passage, neighbouring passages;\n"
            "hard negatives from the KB's lexical search). Writes the adapted model to KB/adapted-N (HF folder and\n"
            "model card), re-encodes the KB with it and makes it the KB's model; the original model folder is not\n"
            "touched. No queries are used. A stopped or killed run continues by itself when run again.\n\n"
            "Options:\n"
            "  --minutes N       training time for both stages (default 5; mining and re-encoding add theirs)\n"
            "  --steps M,C       fixed MLM and contrastive update counts instead of the time plan (M = 0 skips\n"
            "                    MLM); with --minutes the time still stops them\n"
            "  --mlm-share X     share of the time for MLM (default 0.3; MLM's leftover goes to contrastive)\n"
            "  --batch N         contrastive pairs per update (default 32)\n"
            "  --mlm-batch N     MLM sequences per update (default 16)\n"
            "  --seq L           tokens per sequence (default 128)\n"
            "  --lr X            contrastive learning rate (default 1e-4)\n"
            "  --mlm-lr X        MLM learning rate (default 5e-5)\n"
            "  --max-pairs N     pairs mined at most (default 20000)\n"
            "  --seed S          data order, masking, mining choices (default 42)\n"
            "  --threads N       OpenBLAS/encoder threads (default: all cores)\n"
            "  --f32             write the adapted weights in float32 (default float16)\n"
            "  --restart         discard an unfinished run and start over\n"
            "  -q, --quiet       no progress lines\n"
            "  -h, --help        this help\n\n"
            "Exit status: 0 adapted, 1 failure or stopped by a signal (run again to continue), 2 usage error.\n"
            "Example:\n  semsearch adapt kb/faq --minutes 3\n");
}

typedef struct opts {
    const char *kb;
    int quiet, threads;
    sem_adapt_params p;
} opts;

/* One option with a numeric value; 1 if argv[*i] was it, -1 on a bad value (usage error printed). */
static int num_opt(int argc, char **argv, int *i, const char *name, double lo, double hi, double *out)
{
    int missing = 0;
    const char *v = sem_cli_opt_value(argc, argv, i, name, &missing);
    if (!v && !missing)
        return 0;
    if (!v || sem_cli_parse_double(v, lo, hi, out))
        return sem_cli_usage_error("adapt", "%s needs a number in [%g, %g]", name, lo, hi), -1;
    return 1;
}

static int parse_steps(const char *v, sem_adapt_params *p)
{
    char *end;
    long m = strtol(v, &end, 10);
    if (end == v || *end != ',' || m < 0 || m > 1000000000L)
        return -1;
    const char *c = end + 1;
    long n = strtol(c, &end, 10);
    if (end == c || *end || n < 1 || n > 1000000000L)
        return -1;
    p->mlm_steps = m ? m : -1;
    p->con_steps = n;
    return 0;
}

static int parse(int argc, char **argv, opts *o)
{
    memset(o, 0, sizeof *o);
    o->p = sem_adapt_default_params();
    int minutes_given = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        double d = 0;
        int r, missing = 0;
        if (sem_cli_is_help(a))
            return usage(stdout), -1;
        if (sem_cli_is_quiet(a)) {
            o->quiet = 1;
        } else if (strcmp(a, "--restart") == 0) {
            o->p.restart = 1;
        } else if (strcmp(a, "--f32") == 0) {
            o->p.f16 = 0;
        } else if ((r = num_opt(argc, argv, &i, "--minutes", 0, 1e6, &o->p.minutes))) {
            if (r < 0)
                return SEM_EXIT_USAGE;
            minutes_given = 1;
        } else if ((r = num_opt(argc, argv, &i, "--mlm-share", 0, 0.99, &o->p.mlm_share)) ||
                   (r = num_opt(argc, argv, &i, "--lr", 1e-9, 0.5, &o->p.con_lr)) ||
                   (r = num_opt(argc, argv, &i, "--mlm-lr", 1e-9, 0.5, &o->p.mlm_lr))) {
            if (r < 0)
                return SEM_EXIT_USAGE;
        } else if ((r = num_opt(argc, argv, &i, "--batch", 2, 4096, &d)) > 0) {
            o->p.con_batch = (int)d;
        } else if (r == 0 && (r = num_opt(argc, argv, &i, "--mlm-batch", 1, 4096, &d)) > 0) {
            o->p.mlm_batch = (int)d;
        } else if (r == 0 && (r = num_opt(argc, argv, &i, "--seq", 8, 512, &d)) > 0) {
            o->p.seq = (int)d;
        } else if (r == 0 && (r = num_opt(argc, argv, &i, "--max-pairs", SEM_ADAPT_MIN_PAIRS, 1e8, &d)) > 0) {
            o->p.max_pairs = (long)d;
        } else if (r == 0 && (r = num_opt(argc, argv, &i, "--seed", 0, 9e15, &d)) > 0) {
            o->p.seed = (uint64_t)d;
        } else if (r == 0 && (r = num_opt(argc, argv, &i, "--threads", 1, 256, &d)) > 0) {
            o->threads = (int)d;
        } else if (r < 0) {
            return SEM_EXIT_USAGE;
        } else if (strncmp(a, "--steps", 7) == 0) {
            const char *v = sem_cli_opt_value(argc, argv, &i, "--steps", &missing);
            if (!v || parse_steps(v, &o->p))
                return sem_cli_usage_error("adapt", "--steps needs MLM,CONTRASTIVE update counts (e.g. 0,200)");
        } else if (a[0] == '-' && a[1]) {
            return sem_cli_usage_error("adapt", "unknown option '%s'", a);
        } else if (o->kb) {
            return sem_cli_usage_error("adapt", "one KB at a time ('%s' and '%s')", o->kb, a);
        } else {
            o->kb = a;
        }
    }
    if (!o->kb)
        return sem_cli_usage_error("adapt", "missing KB folder");
    if (o->p.con_steps > 0 && !minutes_given)
        o->p.minutes = 0; /* --steps alone: the counts decide */
    o->p.threads = o->threads;
    return 0;
}

static void progress(const sem_adapt_progress *p, void *ud)
{
    static double last;
    opts *o = ud;
    if (o->quiet)
        return;
    const sem_train_progress *t = p->train;
    double now = sem_now();
    if (t && !t->final && t->step > 1 && now - last < 10)
        return;
    last = now;
    if (t)
        fprintf(stderr, "adapt %s: update %ld/%ld  loss %.4f  acc %.3f  lr %.2e  %.0f tok/s  %.0f s\n",
                sem_adapt_stage_name(p->stage), t->step, t->total, t->loss, t->acc, t->lr, t->tokens_per_s,
                t->elapsed_s);
    else if (p->stage == SEM_ADAPT_REENCODE && p->done > 0)
        fprintf(stderr, "adapt reencode: %ld/%ld passages  %.0f s\n", p->done, p->total, p->elapsed_s);
    else if (p->stage != SEM_ADAPT_DONE && p->done == 0)
        fprintf(stderr, "adapt: %s\n", sem_adapt_stage_name(p->stage));
}

static void summary(const sem_adapt_report *r)
{
    fprintf(stderr, "adapt: %ld passages in %ld documents (%ld held out) -> %ld pairs (%ld title, %ld sentence, "
                    "%ld neighbour; %ld with a hard negative), %ld MLM tokens\n",
            r->passages, r->docs, r->docs_held_out, r->pairs, r->pairs_title, r->pairs_sentence, r->pairs_neighbour,
            r->negatives, r->corpus_tokens);
    fprintf(stderr, "adapt: MLM %ld updates (loss %.3f -> %.3f), contrastive %ld updates (loss %.3f -> %.3f); "
                    "re-encoding %.1f s; %.1f s in all%s\n",
            r->mlm_steps, r->mlm_loss_first, r->mlm_loss_last, r->con_steps, r->con_loss_first, r->con_loss_last,
            r->reencode_s, r->total_s, r->resumed ? " (this call; a resumed run)" : "");
}

int sem_cmd_adapt(int argc, char **argv)
{
    opts o;
    int pr = parse(argc, argv, &o);
    if (pr)
        return pr < 0 ? SEM_EXIT_OK : pr;
    if (o.threads > 0) {
        sem_cli_set_threads(o.threads);
#ifdef _OPENMP
        omp_set_num_threads(o.threads); /* the trainer's own loops */
#endif
    }
    if (o.quiet)
        sem_cli_set_quiet();
    volatile sig_atomic_t *stop = sem_cli_catch_stop_signals();
    sem_error err;
    sem_adapt_report rep;
    int rc = sem_adapt_run(o.kb, &o.p, progress, &o, stop, &rep, &err);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    if (rc != SEM_OK)
        return sem_cli_fail(&err);
    if (!rep.finished) {
        fprintf(stderr, "adapt: stopped; checkpoint written under %s/%s: run the same command again to continue\n",
                o.kb, SEM_ADAPT_WORK_DIR);
        return SEM_EXIT_FAIL;
    }
    if (!o.quiet)
        summary(&rep);
    sem_cli_calibrate(o.kb, NULL, o.quiet, 1); /* the hybrid weight follows the new model */
    if (!o.quiet)
        fprintf(stderr, "adapt: %s now searches with %s (adapted from %s)\n", o.kb, rep.model_dir, rep.base_model);
    return SEM_EXIT_OK;
}
