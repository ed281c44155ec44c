/* tests/web/fuzz_transport.c: libFuzzer entry point for the transport's checks on what clients send
 * (web/transport.c): the access log escaper, the request-target check, the framing-header check and the lane
 * choice. Input: a request head in text, "METHOD TARGET VERSION\n" then "Name: value\n" lines (a missing part is
 * empty); the whole input is also escaped for the log with a capacity taken from its first byte.
 * Invariants: the escaped text has no control byte and is valid UTF-8, fits its buffer and is the input itself
 * when that is plain text that fits; a target that passes has no %00, control byte or space and decodes to valid
 * UTF-8; a framing verdict is 0, 400 or 501, and 0 only without duplicate Content-Length or Host, without
 * Transfer-Encoding next to Content-Length, and with at most one of length and chunked. */
#include "common/fileio.h"
#include "web/transport.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define FAIL(...)                                                                                            \
    do {                                                                                                     \
        fprintf(stderr, "fuzz_transport: " __VA_ARGS__);                                                     \
        fputc('\n', stderr);                                                                                 \
        abort();                                                                                             \
    } while (0)

static void check_escape(const uint8_t *data, size_t size)
{
    size_t cap = size ? 8 + data[0] % 120 : 8;
    char *out = malloc(cap);
    size_t n = web_log_escape(out, cap, (const char *)data, size);
    if (n >= cap || strlen(out) != n)
        FAIL("escape: length %zu for capacity %zu", n, cap);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)out[i] < 0x20 || (unsigned char)out[i] == 0x7f)
            FAIL("escape: control byte 0x%02x at %zu", (unsigned char)out[i], i);
    if (!sem_utf8_valid(out, n, NULL))
        FAIL("escape: invalid UTF-8 out");
    int plain = size < cap;
    for (size_t i = 0; i < size && plain; i++)
        plain = data[i] >= 0x20 && data[i] < 0x7f && data[i] != '"' && data[i] != '\\';
    if (plain && (n != size || memcmp(out, data, size) != 0))
        FAIL("escape: plain text changed");
    free(out);
}

static void check_target(const char *target)
{
    const char *why = NULL;
    int st = web_check_target(target, &why);
    if (st != 0 && st != 400)
        FAIL("target: status %d", st);
    if (st != 0) {
        if (!why)
            FAIL("target: no reason");
        return;
    }
    if (strstr(target, "%00"))
        FAIL("target: %%00 passed");
    for (const char *p = target; *p; p++)
        if ((unsigned char)*p <= 0x20 || *p == 0x7f)
            FAIL("target: control byte passed");
}

/* Splits the head into its request line and headers, and checks the framing verdict. */
static void check_head(char *head)
{
    char *line_end = strchr(head, '\n');
    if (line_end)
        *line_end = '\0';
    char *method = head, *target = strchr(head, ' '), *version = NULL;
    if (target) {
        *target++ = '\0';
        version = strrchr(target, ' ');
        if (version)
            *version++ = '\0';
    }
    check_target(target ? target : "");
    int lane = web_route_lane(method, target ? target : "/");
    if (lane < WEB_LANE_INLINE || lane > WEB_LANE_BULK)
        FAIL("lane %d", lane);
    web_hdrcheck h = {0};
    int n_cl = 0, n_te = 0, n_host = 0;
    for (char *p = line_end ? line_end + 1 : NULL; p && *p;) {
        char *e = strchr(p, '\n');
        if (e)
            *e = '\0';
        char *colon = strchr(p, ':');
        const char *value = colon ? colon + 1 + (colon[1] == ' ') : NULL;
        if (colon)
            *colon = '\0';
        web_hdrcheck_add(&h, p, value);
        n_cl += strcasecmp(p, "Content-Length") == 0;
        n_te += strcasecmp(p, "Transfer-Encoding") == 0;
        n_host += strcasecmp(p, "Host") == 0;
        p = e ? e + 1 : NULL;
    }
    int has_len = 0, chunked = 0;
    const char *why = NULL;
    int st = web_hdrcheck_finish(&h, version, &has_len, &chunked, &why);
    if (st != 0 && st != 400 && st != 501)
        FAIL("framing: status %d", st);
    if ((st == 0) != (why == NULL))
        FAIL("framing: reason and status disagree");
    if (st == 0 && (n_cl > 1 || n_host > 1 || (n_te && n_cl) || (has_len && chunked)))
        FAIL("framing: ambiguous request accepted (CL %d, TE %d, Host %d)", n_cl, n_te, n_host);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_escape(data, size);
    char *head = malloc(size + 1);
    if (!head)
        return 0;
    memcpy(head, data, size);
    head[size] = '\0'; /* libmicrohttpd's strings end at the first NUL too */
    check_head(head);
    free(head);
    return 0;
}
