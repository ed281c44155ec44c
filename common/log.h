/* common/log.h: the one piece of global state in semsearch: a logging callback.
 *
 * Libraries report progress and warnings (an index rebuilt from SQLite, a skipped row) through sem_log(); they
 * never write to stdout/stderr themselves. The program (CLI, server, a test) installs a callback with
 * sem_log_set(); with none installed, messages are dropped. Thread-safety: sem_log() may be called from any
 * thread; the callback must be thread-safe. sem_log_set() should be called once at start-up, before threads. */
#ifndef SEM_LOG_H
#define SEM_LOG_H

#ifdef __cplusplus
extern "C" {
#endif

enum sem_log_level { SEM_LOG_DEBUG = 0, SEM_LOG_INFO = 1, SEM_LOG_WARN = 2, SEM_LOG_ERROR = 3 };

typedef void (*sem_log_fn)(int level, const char *msg, void *user_data);

/* Installs cb (NULL drops all messages). */
void sem_log_set(sem_log_fn cb, void *user_data);

void sem_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A ready-made callback: "semsearch: warning: msg" on stderr for levels >= *(int *)user_data (INFO if NULL). */
void sem_log_stderr(int level, const char *msg, void *user_data);

#ifdef __cplusplus
}
#endif
#endif
