/* hub/hub.h: models from the HuggingFace hub: download into a local cache, list the cache, and resolve what a
 * user passes to --model (a folder or a cached ORG/NAME) to a folder the encoder can load.
 *
 *     sem_error err;
 *     char cache[4096], dir[4096];
 *     if (sem_hub_cache_dir(cache, sizeof cache, &err) != SEM_OK) ...;
 *     if (sem_hub_pull("sentence-transformers/all-MiniLM-L6-v2", NULL, cache, NULL, NULL, NULL, &err) != SEM_OK)
 *         ...;                                   // err.msg says what failed (offline, 404, checksum, disk)
 *     if (sem_hub_resolve_model("sentence-transformers/all-MiniLM-L6-v2", dir, sizeof dir, &err) != SEM_OK) ...;
 *     sem_model *m = sem_model_load(dir, NULL, &err);
 *
 * Cache layout: CACHE/models/ORG/NAME/ holds the model's files under their hub names (config.json, vocab.txt,
 * model.safetensors, 1_Pooling/config.json, ...) so that the folder is an ordinary model folder, plus
 * .semsearch-hub.json (the manifest: repo, revision, commit, each file's size and etag, complete or not) and
 * .lock (held with flock() during a pull). A download in progress is FILE.incomplete beside its final name; it
 * is renamed over FILE only once its content matches the hub's etag (sha256 for LFS files, the git blob sha1
 * for small files), so a file under its final name has always been verified.
 *
 * Network: the endpoint is $HF_ENDPOINT when set (as in huggingface_hub), else https://huggingface.co; $HF_TOKEN,
 * when set, is sent as "Authorization: Bearer" to the endpoint (curl does not forward it across a redirect to
 * another host). Connections time out after a few seconds, so with no network a pull fails fast.
 *
 * Threads: every function here is reentrant (no global state but libcurl's one-time global init, done with
 * pthread_once). Two processes pulling the same model are serialized by the lock file: the second fails with
 * SEM_EBUSY. The library never prints; progress goes to the caller's callback. */
#ifndef SEM_HUB_H
#define SEM_HUB_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SEM_HUB_DEFAULT_ENDPOINT "https://huggingface.co"

/* The default model: the folder used when a command that needs a model (kb create, index add on a new KB,
 * eval sts, tokenize, embed, fill-mask) is given no --model. $SEMSEARCH_MODEL when set and not empty (a folder
 * or a cached ORG/NAME; the value "none" means no default model), else the project's own model,
 * models/semsearch-default in the source tree (under the compile definition SEM_MODELS_DIR) when it is there,
 * else NULL. The string is static or from the environment; do not free. (`index add` on a new KB without
 * --model and without $SEMSEARCH_MODEL picks between the shipped models by the documents' script instead:
 * sem_index_pick_model in indexer/indexer.h.) */
#define SEM_DEFAULT_MODEL_ENV "SEMSEARCH_MODEL"
const char *sem_hub_default_model(void);

/* Short names of the models the project ships in its models/ folder: `--model semsearch-default` (English)
 * and `--model semsearch-zh` (Chinese) work wherever a model is taken (sem_hub_resolve_model). */
#define SEM_MODEL_DEFAULT_NAME "semsearch-default"
#define SEM_MODEL_ZH_NAME "semsearch-zh"

/* 1 if name is one of the short names above, else 0 (NULL too). */
int sem_hub_is_shipped_name(const char *name);

/* Writes the folder of the shipped model `name` (a short name above) into out (cap bytes): models_dir/NAME
 * (models_dir NULL = the project's models/ folder) when it holds a config.json. SEM_EINVAL if name is not a
 * short name, SEM_ENOTFOUND ("... is not installed", naming the folder looked at) when the folder or its
 * config.json is missing, SEM_ERANGE if cap is too small. Reentrant. */
int sem_hub_shipped_model_in(const char *name, const char *models_dir, char *out, size_t cap, sem_error *err);
#define SEM_HUB_MANIFEST ".semsearch-hub.json"

/* Progress of one file's download: done of total bytes (total 0 when unknown), including bytes already on disk
 * from an earlier, interrupted download. Called from the pulling thread, often (throttle in the callback). */
typedef void (*sem_hub_progress_fn)(const char *file, uint64_t done, uint64_t total, void *user_data);

/* What a pull did (all counters of this call only). */
typedef struct sem_hub_pull_stats {
    char commit[64];          /* the commit the revision resolved to (40 hex), or the revision if the hub gave none */
    int files_total;          /* files of the model that the encoder needs and the repo has */
    int files_downloaded;     /* files fetched (fully or by resuming) */
    int files_cached;         /* files already in the cache and up to date */
    uint64_t bytes_downloaded; /* bytes received over the network for file contents */
    uint64_t bytes_total;     /* total size of the model's files */
} sem_hub_pull_stats;

/* 1 if repo is a hub model id ORG/NAME: two non-empty parts of [A-Za-z0-9._-], neither starting with '.' or '-'
 * nor containing "..", at most 96 characters each. Anything else (a path, a URL) is 0. */
int sem_hub_valid_repo_id(const char *repo);

/* Writes the cache directory into out (cap bytes): $SEMSEARCH_HOME if set and non-empty, else
 * $XDG_CACHE_HOME/semsearch if that is an absolute path, else $HOME/.cache/semsearch (HOME from the password
 * database when unset). The directory is not created. SEM_ERANGE if cap is too small, SEM_ENOTFOUND if no
 * home directory can be found. */
int sem_hub_cache_dir(char *out, size_t cap, sem_error *err);

/* Downloads the files of hub model repo (ORG/NAME) at revision (NULL = "main": a branch, tag or commit) that the
 * encoder needs into cache_dir/models/ORG/NAME/ (cache_dir NULL = sem_hub_cache_dir()). The files are
 * config.json, vocab.txt and model.safetensors (required: a repo without one of them fails with SEM_ENOTFOUND
 * and nothing is downloaded), and, when the repo has them, tokenizer_config.json, special_tokens_map.json,
 * modules.json, 1_Pooling/config.json, sentence_bert_config.json, config_sentence_transformers.json and
 * README.md. Files already cached for the same etag are not downloaded again; a FILE.incomplete left by an
 * interrupted pull is resumed with a Range request. Each file is checked against the hub's etag; a mismatch
 * deletes the bad download and fails with SEM_EMISMATCH. progress (may be NULL) is called with user_data;
 * stats (may be NULL) receives counters. Returns SEM_OK, or SEM_EINVAL (bad repo id / revision), SEM_ENET
 * (cannot connect, HTTP failure; the message names the endpoint), SEM_ENOTFOUND (no such repo, revision or
 * file), SEM_EMISMATCH, SEM_EFORMAT (unparsable hub answer), SEM_EIO (disk), SEM_EBUSY (another pull of the same
 * model holds the lock). On failure the files already verified stay in the cache and the manifest says the model
 * is incomplete. */
int sem_hub_pull(const char *repo, const char *revision, const char *cache_dir, sem_hub_progress_fn progress,
                 void *user_data, sem_hub_pull_stats *stats, sem_error *err);

/* One cached model, as sem_hub_list() reports it. Strings are owned by the list. */
typedef struct sem_hub_model {
    char *name;         /* ORG/NAME */
    char *path;         /* cache_dir/models/ORG/NAME */
    char *revision;     /* the revision pulled ("main", a tag...), or "-" without a manifest */
    char *commit;       /* the commit it resolved to, or "-" */
    uint64_t size;      /* bytes of the model's files present (incomplete downloads included) */
    int n_files;        /* files present under their final names */
    int n_expected;     /* files the manifest lists (0 without a manifest) */
    int n_incomplete;   /* FILE.incomplete downloads left behind */
    int complete;       /* 1: every listed file present with its size and the last pull finished; without a
                           manifest, 1 when config.json, vocab.txt and model.safetensors are present */
} sem_hub_model;

/* Lists the models under cache_dir/models (cache_dir NULL = sem_hub_cache_dir()), sorted by name, into *out
 * (*n entries; caller frees with sem_hub_list_free). A missing cache is an empty list, not an error. */
int sem_hub_list(const char *cache_dir, sem_hub_model **out, size_t *n, sem_error *err);
void sem_hub_list_free(sem_hub_model *models, size_t n); /* NULL is a no-op */

/* Resolves what the user passed as --model into a folder path in out (cap bytes): an existing directory wins
 * (returned as given); otherwise a short name of a shipped model (semsearch-default, semsearch-zh: see
 * sem_hub_shipped_model_in, whose errors it returns), or a valid ORG/NAME whose folder is in the cache
 * (sem_hub_cache_dir()) and was pulled completely. Fails with SEM_ENOTFOUND and a message naming both places
 * looked at, SEM_EINVAL if the name exists but is not a folder, SEM_EFORMAT if the cached copy is incomplete,
 * SEM_ERANGE if cap is small. */
int sem_hub_resolve_model(const char *name_or_dir, char *out, size_t cap, sem_error *err);

/* As sem_hub_resolve_model() with an explicit cache_dir (NULL = sem_hub_cache_dir()). */
int sem_hub_resolve_model_in(const char *name_or_dir, const char *cache_dir, char *out, size_t cap, sem_error *err);

#ifdef __cplusplus
}
#endif
#endif
