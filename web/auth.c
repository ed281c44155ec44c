/* web/auth.c: the API key on write routes. Accepted as "Authorization: Bearer KEY" (OpenAI's way) or
 * "api-key: KEY" (Azure's way). The comparison takes the same time wherever the first difference is, so that
 * response timing does not reveal how much of a guess was right. */
#include "web/internal.h"

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
        return 1;
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
