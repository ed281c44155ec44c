/* cli/calibrate.c: the hybrid-weight calibration as `index add` runs it after adding and `kb calibrate` runs it
 * on demand (query/search.h, sem_calibrate). */
#include "cli/cli.h"
#include "query/search.h"

#include <stdio.h>

/* One line: the weight and its evidence. */
static void print_calibration(const char *kb_dir, const sem_calibration *c)
{
    printf("%s: hybrid weight %.2f calibrated on %d pseudo-queries in %.1f s (nDCG@10 lexical %.3f, semantic %.3f, "
           "hybrid %.3f)\n",
           kb_dir, (double)c->semantic_weight, c->n_queries, c->seconds, c->lexical, c->semantic, c->hybrid);
}

/* A failure after index add: the documents are in; say so and go on with the default weight. */
static int warn(const char *kb_dir, const sem_error *err)
{
    fprintf(stderr, "semsearch: warning: calibrating the hybrid weight of %s failed (%s); hybrid search uses the "
                    "default weight until 'semsearch kb calibrate %s' succeeds\n", kb_dir, err->msg, kb_dir);
    return SEM_EXIT_OK;
}

int sem_cli_calibrate(const char *kb_dir, const char *model, int quiet, int warn_only)
{
    sem_error err;
    sem_error_clear(&err);
    sem_search_open_params op = sem_search_default_open_params();
    op.model = model;
    op.read_only = 0; /* the calibration is recorded in the KB */
    sem_search *s = sem_search_open(kb_dir, &op, &err);
    if (!s)
        return warn_only ? warn(kb_dir, &err) : sem_cli_fail(&err);
    sem_calibration c;
    int rc = sem_calibrate(s, NULL, &c, &err);
    sem_search_free(s);
    if (rc != SEM_OK)
        return warn_only ? warn(kb_dir, &err) : sem_cli_fail(&err);
    if (!c.present) {
        if (!quiet)
            printf("%s: no model (lexical-only KB): nothing to calibrate\n", kb_dir);
    } else if (!quiet) {
        print_calibration(kb_dir, &c);
    }
    return SEM_EXIT_OK;
}
