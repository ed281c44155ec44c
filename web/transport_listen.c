/* web/transport_listen.c: the listening socket, bound here rather than by libmicrohttpd (which only logs "Failed
 * to bind to port 0" whatever went wrong), then handed over with MHD_OPTION_LISTEN_SOCKET; and room for the
 * connections in the open-file limit. */
#include "web/transport.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"

static int is_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
        return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    }
    if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
        if (IN6_IS_ADDR_LOOPBACK(a))
            return 1;
        return IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127;
    }
    return 0;
}

static int bind_error(int e, const char *host, int port, sem_error *err)
{
    switch (e) {
    case EADDRINUSE:
        return sem_error_set(err, SEM_EIO, "port %d is in use (on %s): stop what listens there or pick another "
                                           "--port", port, host);
    case EADDRNOTAVAIL:
        return sem_error_set(err, SEM_EINVAL, "%s is not an address of this machine (--host)", host);
    case EACCES:
        return sem_error_set(err, SEM_EIO, "permission denied binding port %d on %s (ports below 1024 need "
                                           "privileges)", port, host);
    default:
        return sem_error_set(err, SEM_EIO, "cannot listen on %s port %d: %s", host, port, strerror(e));
    }
}

int web_listen(const char *host, int port, web_listener *out, sem_error *err)
{
    memset(out, 0, sizeof *out);
    out->fd = -1;
    char portstr[16];
    snprintf(portstr, sizeof portstr, "%d", port);
    struct addrinfo hints = {0}, *ai = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    int rc = getaddrinfo(host, portstr, &hints, &ai);
    if (rc != 0 || !ai)
        return sem_error_set(err, SEM_EINVAL, "cannot resolve host '%s': %s", host,
                             rc ? gai_strerror(rc) : "no address");
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        int e = errno;
        freeaddrinfo(ai);
        return sem_error_set(err, SEM_EIO, "cannot create a socket for %s: %s", host, strerror(e));
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one); /* restart while old connections linger */
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 511) != 0) {
        int e = errno;
        close(fd);
        freeaddrinfo(ai);
        return bind_error(e, host, port, err);
    }
    out->ipv6 = ai->ai_family == AF_INET6;
    freeaddrinfo(ai);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) {
        int e = errno;
        close(fd);
        return sem_error_set(err, SEM_EIO, "getsockname failed: %s", strerror(e));
    }
    out->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                               : ((struct sockaddr_in *)&ss)->sin_port);
    out->loopback_only = is_loopback((const struct sockaddr *)&ss);
    out->fd = fd;
    return SEM_OK;
}

int web_fd_room(int n_conns, int reserve)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return n_conns;
    rlim_t want = (rlim_t)n_conns + (rlim_t)reserve;
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
        rlim_t cur = rl.rlim_cur;
        rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= want ? want : rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            rl.rlim_cur = cur;
    }
    if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= want)
        return n_conns;
    long fit = (long)rl.rlim_cur - reserve;
    fit = fit < 1 ? 1 : fit;
    sem_log(SEM_LOG_WARN, "the open-file limit (%ld) leaves room for %ld connections, not %d: allowing %ld "
                          "(raise it with ulimit -n)", (long)rl.rlim_cur, fit, n_conns, fit);
    return (int)fit;
}
