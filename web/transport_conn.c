/* web/transport_conn.c: deadlines for connections. libmicrohttpd's only timeout is for inactivity, so a client
 * that sends one header byte every few seconds keeps a connection (and its memory) forever. Every connection is
 * registered here from MHD_OPTION_NOTIFY_CONNECTION; server.c reports each request's progress; a reaper thread
 * wakes every 100 ms and shuts down (shutdown(fd, SHUT_RDWR)) each connection past its deadline, which makes
 * libmicrohttpd's own thread see the end of the stream and close it.
 *
 * The fd is never used after it is closed: libmicrohttpd sends MHD_CONNECTION_NOTIFY_CLOSED before it closes the
 * socket (MHD_cleanup_connections in daemon.c: the notification, then MHD_socket_close_chk_), and
 * web_conns_remove takes the same lock as the reaper, so a shutdown in progress finishes first and a removed
 * connection is never looked at again. */
#include "web/transport.h"

#include "common/fileio.h"

#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

enum { C_FIRST = 0, C_READING, C_BUSY, C_IDLE };

struct web_conn {
    int fd;
    int state;
    double deadline; /* sem_now() seconds; 0 = none */
    int reaped;
    web_conn *prev, *next;
};

struct web_conns {
    pthread_mutex_t mu;
    pthread_cond_t cv; /* monotonic clock; signalled to stop */
    web_conn *head;
    double read_to, idle_to;
    long open, reaped;
    int stop;
    pthread_t thread;
};

static void *reaper(void *arg)
{
    web_conns *cs = arg;
    pthread_mutex_lock(&cs->mu);
    while (!cs->stop) {
        double now = sem_now();
        for (web_conn *c = cs->head; c; c = c->next)
            if (c->deadline > 0 && now >= c->deadline && !c->reaped) {
                shutdown(c->fd, SHUT_RDWR);
                c->reaped = 1;
                cs->reaped++;
            }
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_nsec += 100 * 1000 * 1000;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&cs->cv, &cs->mu, &ts);
    }
    pthread_mutex_unlock(&cs->mu);
    return NULL;
}

web_conns *web_conns_new(double read_timeout_s, double idle_timeout_s, sem_error *err)
{
    web_conns *cs = calloc(1, sizeof *cs);
    if (!cs)
        return sem_error_set(err, SEM_ENOMEM, "out of memory"), NULL;
    cs->read_to = read_timeout_s;
    cs->idle_to = idle_timeout_s;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&cs->cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&cs->mu, NULL);
    if (pthread_create(&cs->thread, NULL, reaper, cs) != 0) {
        pthread_cond_destroy(&cs->cv);
        pthread_mutex_destroy(&cs->mu);
        free(cs);
        return sem_error_set(err, SEM_EIO, "cannot start the connection reaper thread"), NULL;
    }
    return cs;
}

void web_conns_free(web_conns *cs)
{
    if (!cs)
        return;
    pthread_mutex_lock(&cs->mu);
    cs->stop = 1;
    pthread_cond_signal(&cs->cv);
    pthread_mutex_unlock(&cs->mu);
    pthread_join(cs->thread, NULL);
    while (cs->head) { /* none should be left; free them anyway */
        web_conn *c = cs->head;
        cs->head = c->next;
        free(c);
    }
    pthread_cond_destroy(&cs->cv);
    pthread_mutex_destroy(&cs->mu);
    free(cs);
}

web_conn *web_conns_add(web_conns *cs, int fd)
{
    web_conn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->fd = fd;
    c->state = C_FIRST;
    c->deadline = sem_now() + cs->read_to;
    pthread_mutex_lock(&cs->mu);
    c->next = cs->head;
    if (cs->head)
        cs->head->prev = c;
    cs->head = c;
    cs->open++;
    pthread_mutex_unlock(&cs->mu);
    return c;
}

void web_conns_remove(web_conns *cs, web_conn *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&cs->mu);
    if (c->prev)
        c->prev->next = c->next;
    else
        cs->head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    cs->open--;
    pthread_mutex_unlock(&cs->mu);
    free(c);
}

/* Moves c to state with a deadline `after` seconds from now (0 = none, < 0 = keep the current one). */
static void set_state(web_conns *cs, web_conn *c, int state, double after)
{
    if (!c)
        return;
    double now = sem_now();
    pthread_mutex_lock(&cs->mu);
    c->state = state;
    if (after >= 0)
        c->deadline = after > 0 ? now + after : 0;
    pthread_mutex_unlock(&cs->mu);
}

void web_conns_request_line(web_conns *cs, web_conn *c)
{
    /* The first request's deadline runs from the accept; a later one's from its request line (the idle
     * deadline bounded the wait for that line). */
    set_state(cs, c, C_READING, c && c->state == C_FIRST ? -1 : cs->read_to);
}

void web_conns_request_done(web_conns *cs, web_conn *c)
{
    set_state(cs, c, C_BUSY, 0);
}

void web_conns_response_sent(web_conns *cs, web_conn *c)
{
    set_state(cs, c, C_IDLE, cs->idle_to);
}

/* A counter of cs read under its lock. */
static long counter(web_conns *cs, const long *field)
{
    pthread_mutex_lock(&cs->mu);
    long n = *field;
    pthread_mutex_unlock(&cs->mu);
    return n;
}

long web_conns_open(web_conns *cs) { return counter(cs, &cs->open); }
long web_conns_reaped(web_conns *cs) { return counter(cs, &cs->reaped); }
