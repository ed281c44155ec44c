/* web/auth.c: who may call what. The request policy that routes.c applies before a handler runs:
 *   - write routes (POST /documents, DELETE /documents/{id}) need the API key when one is configured, accepted as
 *     "Authorization: Bearer KEY" (OpenAI's way) or "api-key: KEY" (Azure's way) and compared in a time that does
 *     not depend on where the first difference is. Without a key writes are refused (403), unless the operator
 *     allowed unauthenticated writes AND the server listens on loopback only AND the Host header names a loopback
 *     address (a DNS-rebinding page reaches 127.0.0.1 under its own host name, so that name must not do).
 *   - JSON POST routes need "Content-Type: application/json": a cross-site page can send text/plain or form
 *     posts without a CORS preflight, never application/json.
 *   - a POST or DELETE with an Origin header (browsers send one) must come from the server's own origin: the
 *     Origin's host[:port] must equal the Host header. Clients that send no Origin (curl, SDKs) are not browsers
 *     and pass. */
#include "web/internal.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Constant-time equality over the key's length; a length difference also makes it fail without an early exit. */
static int ct_equal(const char *given, const char *key)
{
    size_t gl = strlen(given), kl = strlen(key);
    unsigned diff = (unsigned)(gl ^ kl);
    for (size_t i = 0; i < kl; i++) {
        unsigned char g = i < gl ? (unsigned char)given[i] : 0;
        diff |= (unsigned)(g ^ (unsigned char)key[i]);
    }
    return diff == 0;
}

int web_auth_ok(const char *key, const web_http_req *req)
{
    if (!key || !*key)
        return 0; /* no key configured is not "anything goes": the caller decides what happens without one */
    int ok = 0;
    const char *a = req->authorization;
    if (a && strncasecmp(a, "Bearer", 6) == 0 && (a[6] == ' ' || a[6] == '\t')) {
        a += 6;
        while (*a == ' ' || *a == '\t')
            a++;
        ok |= ct_equal(a, key);
    }
    if (req->api_key)
        ok |= ct_equal(req->api_key, key);
    return ok;
}

int web_content_type_is_json(const char *ct)
{
    if (!ct)
        return 0;
    while (*ct == ' ' || *ct == '\t')
        ct++;
    static const char want[] = "application/json";
    if (strncasecmp(ct, want, sizeof want - 1) != 0)
        return 0;
    ct += sizeof want - 1;
    while (*ct == ' ' || *ct == '\t')
        ct++;
    return *ct == '\0' || *ct == ';'; /* parameters such as "; charset=utf-8" are fine */
}

/* Copies host[:port] into out (lowercase), without the port when it is the scheme's default one
 * (https: 443, otherwise 80). -1 when it does not fit. */
static int authority(const char *s, size_t n, int https, char *out, size_t cap)
{
    if (n >= cap)
        return -1;
    for (size_t i = 0; i < n; i++)
        out[i] = (char)((s[i] >= 'A' && s[i] <= 'Z') ? s[i] - 'A' + 'a' : s[i]);
    out[n] = '\0';
    const char *dflt = https ? ":443" : ":80";
    size_t dl = strlen(dflt);
    if (n > dl && strcmp(out + n - dl, dflt) == 0)
        out[n - dl] = '\0';
    return 0;
}

int web_origin_matches_host(const char *origin, const char *host)
{
    if (!origin)
        return 1;
    if (!host)
        return 0;
    /* Origin: scheme "://" host [":" port], nothing after (RFC 6454); "null" (sandboxed frames, files) never
     * matches */
    const char *sep = strstr(origin, "://");
    if (!sep || sep == origin)
        return 0;
    const char *auth = sep + 3;
    size_t al = strcspn(auth, "/?#");
    if (al == 0 || auth[al] != '\0')
        return 0;
    int https = (size_t)(sep - origin) == 5 && strncasecmp(origin, "https", 5) == 0;
    char a[512], h[512];
    if (authority(auth, al, https, a, sizeof a) || authority(host, strlen(host), https, h, sizeof h))
        return 0;
    return strcmp(a, h) == 0;
}

int web_host_is_loopback(const char *host)
{
    if (!host)
        return 1; /* no Host header: HTTP/1.0 from a program; browsers always send one */
    char name[256];
    size_t n;
    if (host[0] == '[') { /* [IPv6]:port */
        const char *close = strchr(host, ']');
        if (!close)
            return 0;
        host++;
        n = (size_t)(close - host);
    } else {
        const char *colon = strchr(host, ':');
        n = colon ? (size_t)(colon - host) : strlen(host);
    }
    if (n == 0 || n >= sizeof name)
        return 0;
    memcpy(name, host, n);
    name[n] = '\0';
    if (strcasecmp(name, "localhost") == 0)
        return 1;
    struct in_addr a4;
    struct in6_addr a6;
    if (inet_pton(AF_INET, name, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    return inet_pton(AF_INET6, name, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

int web_check_origin(const web_http_req *req, web_reply *r)
{
    if (web_origin_matches_host(req->origin, req->host))
        return 0;
    return web_error(r, 403,
                     "cross-origin request refused: Origin '%.200s' does not match Host '%.200s' (browsers may call "
                     "this API only from pages the server itself serves)",
                     req->origin, req->host ? req->host : "(none)");
}

int web_check_json_type(const web_http_req *req, web_reply *r)
{
    if (web_content_type_is_json(req->content_type))
        return 0;
    if (!req->content_type)
        return web_error(r, 415, "the request has no Content-Type: send the JSON body with "
                                 "Content-Type: application/json");
    return web_error(r, 415, "Content-Type must be application/json, not '%.200s'", req->content_type);
}

int web_check_write(const web_state *st, const web_http_req *req, web_reply *r)
{
    const char *key = st->p.api_key;
    if (key && *key) {
        if (web_auth_ok(key, req))
            return 0;
        int given = req->authorization || req->api_key;
        web_error(r, 401, given ? "the API key is wrong" : "this route needs an API key (Authorization: Bearer KEY or "
                                                           "api-key: KEY)");
        r->hdr_name = "WWW-Authenticate";
        r->hdr_value = "Bearer";
        return -1;
    }
    if (!st->p.allow_unauthenticated_writes || !req->loopback_only)
        return web_error(r, 403, "writes are disabled: this server has no API key. Start it with --api-key KEY "
                                 "(clients then send Authorization: Bearer KEY), or, when it listens on a loopback "
                                 "address only, with --allow-unauthenticated-writes");
    if (!web_host_is_loopback(req->host))
        return web_error(r, 403, "writes without an API key are accepted only for a loopback Host (localhost, "
                                 "127.0.0.1, [::1]), not '%.200s'",
                         req->host);
    return 0;
}
