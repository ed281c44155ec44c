/* store/settings.c: the settings that layers above the store keep in a KB ("ext." keys of the meta table; see
 * sem_kb_get_setting in kb.h). The store's own keys (uuid, dim, index_spec, ...) have no "ext." prefix, so these
 * functions can never change them. */
#include <stdlib.h>
#include <string.h>

#include "common/fileio.h"
#include "store/kb_impl.h"

#define KEY_MAX 64
#define VALUE_MAX 65536

static int key_check(const char *key, sem_error *err)
{
    size_t n = key ? strlen(key) : 0;
    if (n <= 4 || n > KEY_MAX || strncmp(key, "ext.", 4) != 0)
        return sem_error_set(err, SEM_EINVAL, "a KB setting's key is \"ext.\" then 1..%d characters", KEY_MAX - 4);
    for (size_t i = 4; i < n; i++) {
        char c = key[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.'))
            return sem_error_set(err, SEM_EINVAL, "a KB setting's key has only a-z, 0-9, '_' and '.'");
    }
    return SEM_OK;
}

int sem_kb_get_setting(sem_kb *kb, const char *key, char *out, size_t cap, sem_error *err)
{
    if (!out || cap == 0)
        return sem_error_set(err, SEM_EINVAL, "no room for the setting");
    out[0] = 0;
    int rc = key_check(key, err);
    if (rc)
        return rc;
    sqlite3 *db = sem_kb_conn_get(kb, err);
    if (!db)
        return err ? err->code : SEM_EIO;
    rc = sem_db_meta_get(db, key, out, cap, err);
    sem_kb_conn_put(kb, db);
    return rc;
}

int sem_kb_set_setting(sem_kb *kb, const char *key, const char *value, sem_error *err)
{
    int rc = key_check(key, err);
    if (rc)
        return rc;
    size_t n = value ? strlen(value) : 0, bad;
    if (!value || n > VALUE_MAX || !sem_utf8_valid(value, n, &bad))
        return sem_error_set(err, SEM_EINVAL, "a KB setting's value is UTF-8 text of at most %d bytes", VALUE_MAX);
    if (kb->read_only)
        return sem_error_set(err, SEM_EINVAL, "KB %s is open read-only", kb->dir);
    pthread_mutex_lock(&kb->write_mu);
    rc = sem_db_meta_set(kb->wdb, key, value, err);
    pthread_mutex_unlock(&kb->write_mu);
    return rc;
}

/* ---- the model folder (kbmodel/ records it; docs/store.md) ---------------------------------------------------- */

#define MODEL_DIR_KEY "model_dir"
#define MODEL_DIR_LEGACY_FILE "model_dir" /* KB/model_dir: where KBs made before the meta key kept it */
#define MODEL_DIR_MAX 4096

/* The folder an older KB records in its own file: one line (trailing newlines dropped). */
static int legacy_model_dir(const sem_kb *kb, char *out, size_t cap, sem_error *err)
{
    char *path = sem_path_join(kb->dir, MODEL_DIR_LEGACY_FILE), *txt = NULL;
    if (!path)
        return sem_error_set(err, SEM_ENOMEM, "out of memory");
    size_t n = 0;
    int rc = sem_path_exists(path) ? sem_read_file(path, 8192, &txt, &n, NULL) : SEM_ENOTFOUND;
    free(path);
    if (rc != SEM_OK)
        return sem_error_set(err, SEM_ENOTFOUND, "%s records no model folder", kb->dir);
    while (n && (txt[n - 1] == '\n' || txt[n - 1] == '\r'))
        txt[--n] = 0;
    if (n == 0 || n + 1 > cap)
        rc = sem_error_set(err, n ? SEM_ERANGE : SEM_ENOTFOUND, "%s/%s: bad content", kb->dir, MODEL_DIR_LEGACY_FILE);
    else
        memcpy(out, txt, n + 1);
    free(txt);
    return rc;
}

int sem_kb_get_model_dir(sem_kb *kb, char *out, size_t cap, sem_error *err)
{
    if (!out || cap == 0)
        return sem_error_set(err, SEM_EINVAL, "no room for the model folder");
    out[0] = 0;
    sqlite3 *db = sem_kb_conn_get(kb, err);
    if (!db)
        return err ? err->code : SEM_EIO;
    int rc = sem_db_meta_get(db, MODEL_DIR_KEY, out, cap, err);
    sem_kb_conn_put(kb, db);
    if (rc == SEM_EFORMAT) /* sem_db_meta_get: it does not fit */
        return sem_error_set(err, SEM_ERANGE, "%s: the recorded model folder is longer than %zu bytes", kb->dir,
                             cap - 1);
    return rc == SEM_ENOTFOUND || (rc == SEM_OK && !out[0]) ? legacy_model_dir(kb, out, cap, err) : rc;
}

int sem_kb_set_model_dir(sem_kb *kb, const char *folder, sem_error *err)
{
    size_t n = folder ? strlen(folder) : 0;
    if (n == 0 || n >= MODEL_DIR_MAX || !sem_utf8_valid(folder, n, NULL))
        return sem_error_set(err, SEM_EINVAL, "a model folder is a UTF-8 path of 1..%d bytes", MODEL_DIR_MAX - 1);
    if (kb->read_only)
        return sem_error_set(err, SEM_EINVAL, "KB %s is open read-only", kb->dir);
    char old[MODEL_DIR_MAX];
    if (sem_kb_get_model_dir(kb, old, sizeof old, NULL) == SEM_OK && strcmp(old, folder) == 0)
        return SEM_OK;
    pthread_mutex_lock(&kb->write_mu);
    int rc = sem_db_meta_set(kb->wdb, MODEL_DIR_KEY, folder, err);
    pthread_mutex_unlock(&kb->write_mu);
    return rc;
}
