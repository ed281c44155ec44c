/* store/settings.c: the settings that layers above the store keep in a KB ("ext." keys of the meta table; see
 * sem_kb_get_setting in kb.h). The store's own keys (uuid, dim, index_spec, ...) have no "ext." prefix, so these
 * functions can never change them. */
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
