/* eval/sts.h: semantic textual similarity evaluation (what `semsearch eval sts` runs).
 *
 * Reads sentence pairs with gold similarity scores in the STS Benchmark format: tab-separated lines "genre, file,
 * year, id, score, sentence 1, sentence 2" (extra trailing fields, such as the source columns some lines carry,
 * are ignored). Fields are split on tabs only: quotes are ordinary characters in this format, not CSV quoting.
 * Scores a model by the Spearman and Pearson correlation between the cosine similarity of the two sentences'
 * vectors and the gold scores, next to a word-overlap baseline (the Jaccard index of the lowercased word sets).
 * Threads: reentrant. Ownership: sem_sts_set owns its strings (sem_sts_free). */
#ifndef SEM_EVAL_STS_H
#define SEM_EVAL_STS_H

#include <stddef.h>

#include "common/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sem_sts_pair {
    double gold;
    char *s1, *s2;
} sem_sts_pair;

typedef struct sem_sts_set {
    sem_sts_pair *pairs;
    size_t n;
} sem_sts_set;

/* Reads path into *out. A line with fewer than 7 fields, a score that is not a finite number, or invalid UTF-8
 * is SEM_EFORMAT naming the line; blank lines are skipped. */
int sem_sts_read(const char *path, sem_sts_set *out, sem_error *err);
void sem_sts_free(sem_sts_set *set); /* NULL is a no-op */

/* Jaccard index |A ∩ B| / |A ∪ B| of the word sets of a and b: words are maximal runs of letters and digits
 * (ASCII lowercased; every non-ASCII byte counts as a letter, so UTF-8 words stay whole). 1 when both are
 * empty. */
double sem_word_jaccard(const char *a, const char *b);

typedef struct sem_sts_result {
    size_t n;
    double spearman, pearson;                   /* cosine vs gold; NaN when no model was run */
    double baseline_spearman, baseline_pearson; /* word Jaccard vs gold */
    double seconds;                             /* encoding time */
} sem_sts_result;

/* Fills the baseline fields of out (and n); leaves the model fields NaN. */
void sem_sts_baseline(const sem_sts_set *set, sem_sts_result *out);

/* Encodes every sentence with the model folder model_dir (encoder/encoder.h; threads: OpenBLAS threads, 0 =
 * default) and fills out: the model fields and the baseline. */
int sem_sts_eval(const sem_sts_set *set, const char *model_dir, int threads, sem_sts_result *out, sem_error *err);


#ifdef __cplusplus
}
#endif
#endif
