/* cli/cmd_adapt.c: semsearch adapt KB: adapts the KB's model to the KB's own text and re-encodes the KB with it
 * (adapt/adapt.h). Options, progress on stderr and exit codes only; the work is the library's. */
#include "adapt/adapt.h"
#include "cli/cli.h"
#include "common/fileio.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct opts {
    const char *kb;
    int quiet, threads, npos;
    double minutes;
    sem_adapt_params p;
} opts;

/* --steps M,C */
static int parse_steps(const char *v, void *dst)
{
    sem_adapt_params *p = dst;
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

static int parse(int argc, char **argv, opts *o, int *status)
{
    sem_adapt_params *p = &o->p;
    const sem_cli_opt opts[] = {
        SEM_OPT_SEC("Options:"),
        SEM_OPT_D("--minutes", o->minutes, "N", 0, 1e6,
                  "training time for both stages (default 5; mining and re-encoding add theirs)"),
        SEM_OPT_C("--steps", p, "M,C", parse_steps, "MLM,CONTRASTIVE update counts (e.g. 0,200)",
                  "fixed MLM and contrastive update counts instead of the time plan (M = 0 skips\nMLM); with "
                  "--minutes the time still stops them"),
        SEM_OPT_D("--mlm-share", p->mlm_share, "X", 0, 0.99,
                  "share of the time for MLM (default 0.3; MLM's leftover goes to contrastive)"),
        SEM_OPT_I("--batch", 0, p->con_batch, "N", 2, 4096, "contrastive pairs per update (default 32)"),
        SEM_OPT_I("--mlm-batch", 0, p->mlm_batch, "N", 1, 4096, "MLM sequences per update (default 16)"),
        SEM_OPT_I("--seq", 0, p->seq, "L", 8, 512, "tokens per sequence (default 128)"),
        SEM_OPT_D("--lr", p->con_lr, "X", 1e-9, 0.5, "contrastive learning rate (default 1e-4)"),
        SEM_OPT_D("--mlm-lr", p->mlm_lr, "X", 1e-9, 0.5, "MLM learning rate (default 5e-5)"),
        SEM_OPT_I("--max-pairs", 0, p->max_pairs, "N", SEM_ADAPT_MIN_PAIRS, 100000000, "pairs mined at most "
                                                                                       "(default 20000)"),
        SEM_OPT_I("--seed", 0, p->seed, "S", 0, 9000000000000000L, "data order, masking, mining choices (default "
                                                                   "42)"),
        SEM_OPT_I("--threads", 0, o->threads, "N", 1, 256, "OpenBLAS/encoder threads (default: all cores)"),
        SEM_OPT_FV("--f32", p->f16, 0, "write the adapted weights in float32 (default float16)"),
        SEM_OPT_F("--restart", 0, p->restart, "discard an unfinished run and start over"),
        SEM_OPT_QUIET(o->quiet, "no progress lines"),
        {0}};
    const sem_cli_cmd cmd = {
        "adapt",
        "Usage: semsearch adapt KB [options]\n\n"
        "Adapts the KB's model to the KB's own text: masked-LM on its passages, then contrastive training on\n"
        "pairs mined from them (title <-> body, a sentence <-> the rest of its passage, neighbouring passages;\n"
        "hard negatives from the KB's lexical search). Writes the adapted model to KB/adapted-N (HF folder and\n"
        "model card), re-encodes the KB with it and makes it the KB's model; the original model folder is not\n"
        "touched. No queries are used. A stopped or killed run continues by itself when run again.\n\n",
        opts,
        "Exit status: 0 adapted, 1 failure or stopped by a signal (run again to continue), 2 usage error.\n"
        "Example:\n  semsearch adapt kb/faq --minutes 3\n",
        &o->kb, 1, &o->npos, 0, " (one KB at a time)"};
    if (!sem_cli_parse(&cmd, argc, argv, status))
        return 0;
    if (!o->kb) {
        *status = sem_cli_usage_error("adapt", "missing KB folder");
        return 0;
    }
    if (o->minutes >= 0)
        p->minutes = o->minutes;
    else if (p->con_steps > 0)
        p->minutes = 0; /* --steps alone: the counts decide */
    p->threads = o->threads;
    return 1;
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
    opts o = {.minutes = -1, .p = sem_adapt_default_params()};
    int st;
    if (!parse(argc, argv, &o, &st))
        return st;
    sem_cli_set_threads(o.threads); /* OpenBLAS and the trainer's own loops */
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
