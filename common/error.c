/* common/error.c: see error.h. */
#include "common/error.h"

#include "common/jsonstr.h" /* sem_utf8_cut */

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void sem_error_clear(sem_error *err)
{
    if (!err)
        return;
    err->code = SEM_OK;
    err->msg[0] = '\0';
}

int sem_error_set(sem_error *err, int code, const char *fmt, ...)
{
    if (!err)
        return code;
    err->code = code;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    if (n >= (int)sizeof err->msg) /* cut short: not inside a character (the message may reach a client) */
        err->msg[sem_utf8_cut(err->msg, sizeof err->msg - 1)] = '\0';
    return code;
}

int sem_error_prefix(sem_error *err, const char *fmt, ...)
{
    if (!err)
        return 0;
    char old[SEM_ERROR_MSG_MAX];
    memcpy(old, err->msg, sizeof old);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    size_t used = n < 0 ? 0 : (size_t)n < sizeof err->msg ? (size_t)n : sem_utf8_cut(err->msg, sizeof err->msg - 1);
    size_t left = sizeof err->msg - used;
    if (left > 2) {
        memcpy(err->msg + used, ": ", 2);
        used += 2;
        left -= 2;
        size_t ol = strnlen(old, sizeof old);
        if (ol >= left)
            ol = sem_utf8_cut(old, left - 1);
        memcpy(err->msg + used, old, ol);
        err->msg[used + ol] = '\0';
    } else {
        err->msg[used] = '\0';
    }
    return err->code;
}

const char *sem_strerror(int code)
{
    switch (code) {
    case SEM_OK: return "success";
    case SEM_EINVAL: return "invalid input";
    case SEM_ENOMEM: return "out of memory";
    case SEM_EIO: return "I/O error";
    case SEM_EFORMAT: return "malformed file";
    case SEM_ENOTFOUND: return "not found";
    case SEM_EMISMATCH: return "mismatch";
    case SEM_EFAISS: return "FAISS error";
    case SEM_ESQLITE: return "SQLite error";
    case SEM_ERANGE: return "out of range";
    case SEM_EBUSY: return "busy";
    case SEM_ENET: return "network error";
    case SEM_EINTERNAL: return "internal error";
    default: return "unknown error";
    }
}
