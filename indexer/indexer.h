/* indexer/indexer.h: from files to a knowledge base: readers (JSONL, BEIR, CSV, text/Markdown), the chunker and
 * the ingestion pipeline behind `semsearch index add` / `semsearch index rm`.
 *
 * Usage (what the CLI does):
 *     sem_error err;
 *     sem_index_params p = sem_index_default_params();
 *     p.reader.format = SEM_FMT_AUTO;
 *     sem_index_stats st;
 *     const char *inputs[] = {"data/covid-faq/faq_covidbert.csv"};
 *     int rc = sem_index_add("faq.kb", inputs, 1, &p, &st, &err);
 *
 * Readers stream their input: a record is read into one buffer of at most max_record_bytes; a longer record
 * (a 50 MB line) is reported as an error for that record and skipped without being held in memory.
 *
 * Ownership: every char * in a sem_doc is malloc'd and owned by the doc (sem_doc_clear frees them). Spans from
 * sem_chunk are malloc'd and owned by the caller.
 * Threads: a sem_reader belongs to one thread; sem_chunk is reentrant; sem_index_add / sem_index_rm open their
 * own KB handle and may run in any thread (SQLite serialises writers between processes).
 * Errors: int functions return SEM_OK or a negative SEM_E* code and fill err (common/error.h). */
#ifndef SEM_INDEXER_H
#define SEM_INDEXER_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------------------------- readers */

typedef enum sem_input_format {
    SEM_FMT_AUTO = 0, /* by extension: .jsonl/.ndjson → jsonl, .csv → csv, .txt/.md/.markdown/.text → text;
                         a folder → its text files, or its corpus.jsonl when it holds one (BEIR) */
    SEM_FMT_JSONL,    /* one JSON object per line */
    SEM_FMT_CSV,      /* RFC 4180 with a header row */
    SEM_FMT_TEXT,     /* one document per file (a folder: every regular, non-hidden file under it) */
    SEM_FMT_BEIR      /* a BEIR folder (its corpus.jsonl) or a corpus.jsonl file */
} sem_input_format;

/* Parses "auto", "jsonl", "csv", "text", "beir"; -1 if unknown. */
int sem_input_format_parse(const char *name);

#define SEM_DEFAULT_MAX_RECORD_BYTES ((size_t)16 << 20)

typedef struct sem_reader_params {
    sem_input_format format;
    /* CSV column names (NULL = detect from the header: id/_id, question+answer (FAQ mode), text, title). */
    const char *csv_id, *csv_question, *csv_answer, *csv_text, *csv_title;
    const char *csv_metadata;   /* comma-separated column names; NULL = every column not used above */
    size_t max_record_bytes;    /* a longer record (line, CSV row, text file) is an error; 0 = the default */
} sem_reader_params;
sem_reader_params sem_reader_default_params(void);

/* One input document. text is what is indexed (FAQ mode: "question\n\nanswer"); answer (FAQ mode only, else
 * NULL) is kept for display; metadata is a JSON object's text ("{}" when none). source/line say where the
 * record began, for messages. vector: a JSONL record's "vector" (finite numbers, stored as floats): the one
 * passage's vector in a KB made with `kb create --dim N` (no model), where every document needs one; a KB with
 * a model (which makes its own vectors) or a lexical-only KB refuses documents that carry one. */
typedef struct sem_doc {
    char *id;
    char *title;         /* NULL when none */
    char *text;
    char *answer;        /* NULL unless FAQ mode */
    char *metadata_json; /* never NULL after a successful read */
    char *source;        /* the file it came from */
    long line;           /* 1-based line where the record starts (1 for whole-file documents) */
    float *vector;       /* the document's own vector ("vector" in JSONL and POST /documents), NULL when none */
    int vector_dim;      /* its length, 1..SEM_DOC_MAX_VECTOR_DIM */
} sem_doc;
#define SEM_DOC_MAX_VECTOR_DIM 65536 /* the largest `kb create --dim` */
void sem_doc_clear(sem_doc *d); /* frees the fields and zeroes d; NULL is a no-op */

typedef struct sem_reader sem_reader;

/* Opens path (a file or a folder) for reading. params may be NULL (defaults). Returns NULL on failure (missing
 * file, unknown format, CSV header unusable). */
sem_reader *sem_reader_open(const char *path, const sem_reader_params *params, sem_error *err);

/* Reads the next document into *doc (cleared first). Returns 1 when a document was read, 0 at the end of the
 * input, SEM_EINVAL / SEM_ERANGE for a bad record (err says "file:line: why"; the record has been skipped and
 * the next call continues after it), or another negative code for a fatal error (I/O). */
int sem_reader_next(sem_reader *r, sem_doc *doc, sem_error *err);
/* How much of the input has been consumed, in [0, 1]. */
double sem_reader_fraction(const sem_reader *r);
void sem_reader_free(sem_reader *r); /* NULL is a no-op */

/* ---------------------------------------------------------------------------------------------- chunker */

/* Counts the tokens of text[0..len) (without [CLS]/[SEP]). Must be additive over whitespace-separated pieces
 * (true of BERT's WordPiece): the chunker sums counts of sentences and words. */
typedef int (*sem_count_tokens_fn)(void *user_data, const char *text, size_t len);

/* A passage: byte offsets [start, end) into the document's UTF-8 text, always on character boundaries, with
 * surrounding whitespace trimmed. */
typedef struct sem_span {
    size_t start, end;
    int n_tokens; /* tokens counted for the span (sum over its pieces) */
} sem_span;

/* Splits text into passages of at most max_tokens tokens: whole paragraphs (separated by blank lines) where
 * they fit, else sentences, else words (a single word longer than the limit is cut on character boundaries).
 * Consecutive passages share up to overlap_tokens tokens of whole sentences/words (0 = none). An empty or
 * all-whitespace text gives 0 spans. *out (caller frees) receives *n spans in text order.
 * count may be NULL: then a token is a whitespace-separated word. */
int sem_chunk(const char *text, size_t len, int max_tokens, int overlap_tokens, sem_count_tokens_fn count,
              void *user_data, sem_span **out, size_t *n, sem_error *err);

/* Whitespace word count: the counter used when a KB has no model (lexical-only). */
int sem_count_words(void *user_data, const char *text, size_t len);

/* --------------------------------------------------------------------------------------------- pipeline */

typedef enum sem_on_error { SEM_ON_ERROR_SKIP = 0, SEM_ON_ERROR_FAIL = 1 } sem_on_error;

/* Parses "skip" / "fail"; -1 if unknown. */
int sem_on_error_parse(const char *name);

typedef struct sem_index_progress {
    long docs_done;     /* documents read so far (added, unchanged or failed) */
    long passages_done; /* passages written */
    double fraction;    /* of the input consumed, in [0, 1] (for an ETA) */
    double elapsed_s;
} sem_index_progress;
typedef void (*sem_progress_fn)(void *user_data, const sem_index_progress *p);

typedef struct sem_index_params {
    sem_reader_params reader;
    sem_on_error on_error;
    int chunk_tokens;         /* 0 = the model's max_tokens - 2 (256 words for a KB without a model) */
    int chunk_overlap;        /* tokens shared by consecutive passages; -1 = the default (16, or 0 when the
                                 chunk is smaller than 64 tokens) */
    int batch;                /* passages per encoder batch and write transaction; 0 = 64 */
    int threads;              /* encoder threads; 0 = all cores */
    const char *model;        /* a model folder or cached hub name; NULL = the one the KB records */
    int precision;            /* a sem_precision for the encoder, recorded in a KB with a model for later opens
                                 (sem_kbmodel_set_precision); -1 (default) = the KB's recorded one, f32 when none */
    const char *index_spec;   /* for a KB created by this call: FAISS factory string or "auto" (NULL) */
    sem_progress_fn progress; /* called from the calling thread after each batch; may be NULL */
    void *progress_ud;
    /* Routing (sharded KBs, shard/shard.h): when keep is set, a document whose id keep(keep_ud, id) refuses (0)
     * is left out without a word, before the duplicate-id check. Bad records (which have no usable id) are then
     * logged and counted only when keep_bad is 1, so that one of several passes over the same inputs reports
     * them; under SEM_ON_ERROR_FAIL every pass stops at the first. */
    int (*keep)(void *keep_ud, const char *doc_id);
    void *keep_ud;
    int keep_bad;
} sem_index_params;
sem_index_params sem_index_default_params(void);

typedef struct sem_index_stats {
    long docs_added;     /* new documents written (ids the KB did not hold) */
    long docs_replaced;  /* documents written over a stored one of the same id whose content changed */
    long docs_unchanged; /* skipped: same id and same content already in the KB (e.g. a resumed run) */
    long docs_failed;    /* bad records skipped (on_error skip) */
    long passages;       /* passages written */
    int created;         /* 1 if this call created the KB */
    int lexical_only;    /* 1 if the KB has no model (FTS5 search only) */
    double seconds;
} sem_index_stats;

/* Adds every document of the inputs to the KB directory kb_dir, creating the KB when it does not exist (with
 * params->model, or lexical-only without one). Reads, chunks, encodes on params->threads threads (one encoder
 * context each) and writes batches of documents, each batch one transaction; a document replaces the one with
 * the same id. Documents already stored with the same title, text, metadata and passage boundaries are
 * skipped without encoding, so a run killed half-way is simply re-run. Duplicate ids within one call are bad
 * records. stats may be NULL. Bad records are logged (sem_log warning "file:line: why") and skipped under
 * SEM_ON_ERROR_SKIP; under SEM_ON_ERROR_FAIL the first one stops the run with its error. Documents committed
 * before an error stay committed. */
int sem_index_add(const char *kb_dir, const char *const *inputs, int n_inputs, const sem_index_params *params,
                  sem_index_stats *stats, sem_error *err);

/* ------------------------------------------------------------------------------------ model auto-pick */

/* What sem_script_count_add counts in UTF-8 text, to tell Chinese documents from others. */
typedef struct sem_script_count {
    uint64_t han;     /* Han characters (the CJK ideograph ranges BERT's tokenizer splits one by one) */
    uint64_t words;   /* words in other scripts: each run of letters (with the digits and marks inside it)
                         that holds no Han character counts once, so "apt install 软件包" is 3 Han, 2 words */
    uint64_t invalid; /* bytes that do not start a valid UTF-8 sequence (skipped) */
} sem_script_count;

/* Adds the counts of text[0..len) to *c (which the caller zeroes first). Digits, punctuation, symbols and
 * spaces count as nothing; invalid UTF-8 is skipped byte by byte. Linear in len; reentrant. */
void sem_script_count_add(sem_script_count *c, const char *text, size_t len);

/* han / (han + words): the share of Han among the text's units, in [0, 1]; 0 when there is neither. */
double sem_script_han_ratio(const sem_script_count *c);

#define SEM_PICK_SAMPLE_DOCS 64     /* documents sampled from the start of the inputs */
#define SEM_PICK_SAMPLE_BYTES 4096  /* bytes of each sampled document looked at (title, then text) */
#define SEM_PICK_HAN_MIN 0.5        /* a sample whose Han ratio is at least this is Chinese */

/* The model sem_index_pick_model chose for a new KB, and why. */
typedef struct sem_model_pick {
    char model[4096];      /* the chosen model's folder; "" when no model is available (lexical-only KB) */
    const char *name;      /* SEM_MODEL_ZH_NAME, SEM_MODEL_DEFAULT_NAME (hub/hub.h) or NULL (none) */
    int chinese;           /* 1 if the sample is mostly Han text */
    int zh_missing;        /* 1 if it is Chinese but the Chinese model is not installed (fell back) */
    long docs;             /* documents sampled */
    sem_script_count count; /* over the sample */
    double han_ratio;      /* sem_script_han_ratio(&count) */
} sem_model_pick;

/* Chooses the model for a new KB from its first documents: reads up to SEM_PICK_SAMPLE_DOCS documents of the
 * inputs (in order, with reader params rp, which may be NULL; bad records are skipped, an input that cannot
 * be read ends the sample: indexing reports it) and counts scripts in the first SEM_PICK_SAMPLE_BYTES bytes of
 * each. Mostly Han (ratio >= SEM_PICK_HAN_MIN) → the shipped Chinese model semsearch-zh; anything else, or
 * Chinese when semsearch-zh is not installed → the shipped English model semsearch-default; neither installed
 * → no model (*out->model == 0). models_dir is where the shipped models are (NULL = the project's models/,
 * see sem_hub_shipped_model_in). Logs the choice and the reason (sem_log INFO; falling back from a missing
 * Chinese model is a WARN). Cannot fail. Any thread. */
void sem_index_pick_model(const char *const *inputs, int n_inputs, const sem_reader_params *rp,
                          const char *models_dir, sem_model_pick *out);

/* Deletes documents by external id. Ids that do not exist are listed in err (SEM_ENOTFOUND) after the others
 * were deleted. *n_deleted (may be NULL) receives how many were deleted. */
int sem_index_rm(const char *kb_dir, const char *const *ids, int n_ids, int *n_deleted, sem_error *err);

/* For callers that hold the KB and the model already (the web server's POST /documents): chunks docs, encodes
 * their passages with ctx (model NULL: a lexical-only KB, zero vectors of the KB's dimension) and stores them
 * in ONE transaction (sem_kb_put), each replacing the document of the same id. chunk_tokens 0 / chunk_overlap
 * -1 mean the defaults. *n_passages (may be NULL) receives the passages written. Any thread (ctx is the
 * caller's, used by this thread only). */
typedef struct sem_kb sem_kb;
typedef struct sem_model sem_model;
typedef struct sem_encoder_ctx sem_encoder_ctx;
int sem_index_put_docs(sem_kb *kb, const sem_model *model, sem_encoder_ctx *ctx, const sem_doc *docs, int n,
                       int chunk_tokens, int chunk_overlap, long *n_passages, sem_error *err);

/* The same, also telling new documents from replaced ones. Documents with their own vector (sem_doc.vector)
 * follow the rules of sem_index_add: required in a KB without a model made with a dimension (its length must
 * be that dimension), refused elsewhere (SEM_EINVAL naming the document); such a document is one passage. */
typedef struct sem_index_put_counts {
    long added;    /* documents whose id the KB did not hold */
    long replaced; /* documents that replaced a stored one of the same id */
    long passages; /* passages written */
} sem_index_put_counts;
int sem_index_put_docs_counted(sem_kb *kb, const sem_model *model, sem_encoder_ctx *ctx, const sem_doc *docs, int n,
                               int chunk_tokens, int chunk_overlap, sem_index_put_counts *counts, sem_error *err);

/* Fills *doc from a parsed JSON object (a cJSON *) with the JSONL fields (id, text or question+answer, title,
 * metadata, other fields as metadata). A missing id is an error here (SEM_EINVAL). source is set to "request". */
int sem_doc_from_cjson(const void *cjson_object, sem_doc *doc, sem_error *err);

/* Re-encoding a KB with another model of the same dimension (indexer/reencode.c; `semsearch adapt` uses it). */
typedef struct sem_reencode_params {
    int threads;              /* encoder threads; 0 = all cores */
    sem_progress_fn progress; /* after each batch (passages_done of all); may be NULL */
    void *progress_ud;
} sem_reencode_params;

/* Encodes every passage of the KB at kb_dir with the model folder model_dir, then makes that model the KB's:
 * one store transaction swaps all vectors and the model identity (sem_kb_set_model_vectors), and the KB then
 * records the folder (sem_kbmodel_record). Until the swap the KB stays searchable with its old model; a crash
 * leaves the old or the new state whole (a crash between the swap and the record is finished by calling this
 * again). Holds the KB read-write (SEM_EBUSY if another process does); all new vectors are held in memory
 * (passages x dim floats). SEM_EINVAL for a KB without a model, SEM_EMISMATCH for a model of another dimension.
 * p may be NULL. */
int sem_index_reencode(const char *kb_dir, const char *model_dir, const sem_reencode_params *p, sem_error *err);

#ifdef __cplusplus
}
#endif
#endif
