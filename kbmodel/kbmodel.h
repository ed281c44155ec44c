/* kbmodel/kbmodel.h: the model of a knowledge base: which encoder model made a KB's vectors, where its folder
 * is, and opening a KB together with that model, checked, in one call.
 *
 * A KB (store/kb.h) records its model as plain data: the identity (sem_kb_model: name, config hash, pooling,
 * normalize, dim) and the folder it was loaded from (sem_kb_get_model_dir). This part, between the store and
 * the encoder below it and the indexer, query layer, server, adapt and eval above it, is the one place that
 * turns a loaded model into that identity, finds the folder again, records it, and refuses a model that is not
 * the KB's with ONE error (SEM_EMISMATCH, the store's message "KB DIR was built with X, not Y"; sem_kb_check_model).
 *
 * Usage (what `semsearch query`, `serve`, `index add` and `adapt` do):
 *     sem_error err;
 *     sem_kbmodel_params p = sem_kbmodel_default_params();
 *     p.read_only = 1;                                  // p.model = "DIR or NAME" to override the recorded one
 *     sem_kbmodel km;
 *     if (sem_kbmodel_open("kb/faq", &p, &km, &err) != SEM_OK) ...   // err says why
 *     ... km.kb (the store handle), km.model (NULL for a KB without a model), km.model_dir ...
 *     sem_kbmodel_close(&km);
 *
 * Finding the folder (sem_kbmodel_find): the one given (a folder or a cached hub name, sem_hub_resolve_model);
 * else the folder the KB records, if it still exists; else the KB's model name in the hub cache or among the
 * shipped models (semsearch-default, semsearch-zh: a KB moved to another checkout finds it).
 *
 * Ownership: sem_kbmodel_open fills a caller-owned sem_kbmodel whose kb and model it owns until
 * sem_kbmodel_close (a caller may take either over by copying the pointer and setting the field to NULL).
 * Threads: every function may be called from any thread; those taking a sem_kb follow store/kb.h (the handle is
 * shared; recording needs a read-write handle). The model is immutable once loaded (encoder/encoder.h).
 * Errors: int functions return SEM_OK or a negative SEM_E* code and fill err (may be NULL); nothing prints. */
#ifndef SEM_KBMODEL_H
#define SEM_KBMODEL_H

#include <limits.h>
#include <stddef.h>

#include "common/error.h"
#include "encoder/encoder.h"
#include "store/kb.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The identity a KB records for a loaded model (name, config hash, resolved pooling, normalize, dim). Compare
 * with sem_kb_model_match / sem_kb_check_model. */
void sem_kbmodel_identity(const sem_model *model, sem_kb_model *out);

/* SEM_OK if model is the KB's model; else SEM_EMISMATCH with the store's one message, prefixed with "the model
 * at DIR: " when model_dir is not NULL. */
int sem_kbmodel_check(const sem_kb *kb, const sem_model *model, const char *model_dir, sem_error *err);

/* Finds the model folder of kb (see the top; given may be NULL) and writes it into out (cap bytes). Errors:
 * those of sem_hub_resolve_model for given; else SEM_ENOTFOUND naming the model and the KB, hinting that a
 * folder or name can be given. */
int sem_kbmodel_find(sem_kb *kb, const char *given, char *out, size_t cap, sem_error *err);

/* Records model_dir (made absolute; it must exist) as the KB's model folder (sem_kb_set_model_dir), so that
 * later opens find it. kb must be open read-write. */
int sem_kbmodel_record(sem_kb *kb, const char *model_dir, sem_error *err);

/* The encode parameters of the KB's vectors: L2-normalized for an inner-product KB (inner product of unit
 * vectors is cosine similarity), the model's choice for L2. What indexing, re-encoding and search use. */
sem_encode_params sem_kbmodel_encode_params(const sem_kb *kb);

/* The text a KB's model encodes for a passage of a document with this title: "title. passage" (sentence-
 * transformers' way with titled documents, BEIR's title + text), or the passage alone when the title is empty
 * or the passage starts with it within 8 bytes (a FAQ's question, a Markdown heading). Returns passage or
 * *owned (malloc'd, the caller frees *owned); NULL when out of memory. What indexing, re-encoding, calibration
 * and adapt's training pairs all use. */
const char *sem_kbmodel_passage_text(const char *title, const char *passage, char **owned);

/* ---- the encoder precision a KB records ------------------------------------------------------------------ */

/* The KB setting (sem_kb_set_setting) holding the precision `index add --precision` recorded: "f32", "bf16" or
 * "int8" (sem_precision_name). */
#define SEM_KBMODEL_PRECISION_KEY "ext.encoder.precision"

/* The precision kb records into *out: SEM_PRECISION_F32 with *recorded = 0 when it records none (recorded may
 * be NULL). A value that is not a precision is SEM_EFORMAT naming the KB and the value. */
int sem_kbmodel_get_precision(sem_kb *kb, sem_precision *out, int *recorded, sem_error *err);

/* Records precision as the KB's (kb open read-write); later opens with precision -1 load the model with it. */
int sem_kbmodel_set_precision(sem_kb *kb, sem_precision precision, sem_error *err);

/* ---- opening a KB with its model ------------------------------------------------------------------------- */

typedef struct sem_kbmodel_params {
    int read_only;     /* as sem_kb_open_params.read_only; default 0 */
    const char *model; /* a model folder or cached hub name instead of the KB's own; NULL = find it */
    int n_threads;     /* sem_model_params.n_threads for the load; 0 = the encoder's default */
    int precision;     /* a sem_precision for the load; -1 (default) = the KB's recorded one (f32 when none) */
} sem_kbmodel_params;
sem_kbmodel_params sem_kbmodel_default_params(void);

typedef struct sem_kbmodel {
    sem_kb *kb;                /* open */
    sem_model *model;          /* the KB's model; NULL for a KB without one */
    char model_dir[PATH_MAX];  /* the folder it was loaded from (absolute when found from the record); "" if none */
} sem_kbmodel;

/* Opens the KB in kb_dir (sem_kb_open), finds its model (sem_kbmodel_find with p->model), loads it at
 * p->precision (-1: sem_kbmodel_get_precision, whose SEM_EFORMAT it returns) and checks that it is the KB's
 * (sem_kbmodel_check: SEM_EMISMATCH). A KB without a model opens without one (p->precision is ignored); giving
 * it a model (p->model) is SEM_EMISMATCH. p may be NULL (defaults). On failure *out holds nothing (nothing to close). */
int sem_kbmodel_open(const char *kb_dir, const sem_kbmodel_params *p, sem_kbmodel *out, sem_error *err);

/* Closes the KB and frees the model (either may be NULL); out's fields are cleared. NULL is a no-op. */
void sem_kbmodel_close(sem_kbmodel *km);

#ifdef __cplusplus
}
#endif
#endif
