/* web/routes.c: dispatch by method and path; 404 for an unknown path, 405 (with Allow) for a known path asked
 * with another method. Before a POST or DELETE handler runs, the policy of auth.c: 403 for a foreign Origin,
 * 415 for a POST that is not application/json, and on the write routes 401/403 without the right key. */
#include "web/internal.h"

#include <string.h>

static const struct {
    const char *method, *path;
} route_names[WEB_R_COUNT] = {
    [WEB_R_PAGE] = {"GET", "/"},
    [WEB_R_SEARCH] = {"POST", "/search"},
    [WEB_R_EMBED] = {"POST", "/embed"},
    [WEB_R_OPENAI] = {"POST", "/v1/embeddings"},
    [WEB_R_ENCODE] = {"POST", "/encode"},
    [WEB_R_DOCS_ADD] = {"POST", "/documents"},
    [WEB_R_DOC_GET] = {"GET", "/documents/{id}"},
    [WEB_R_DOC_DEL] = {"DELETE", "/documents/{id}"},
    [WEB_R_HEALTH] = {"GET", "/health"},
    [WEB_R_STATS] = {"GET", "/stats"},
    [WEB_R_METRICS] = {"GET", "/metrics"},
    [WEB_R_OTHER] = {"*", "other"},
};

const char *web_route_method(int route)
{
    return route >= 0 && route < WEB_R_COUNT ? route_names[route].method : "*";
}

const char *web_route_path(int route)
{
    return route >= 0 && route < WEB_R_COUNT ? route_names[route].path : "other";
}

/* The JSON POST routes with a fixed path. */
static const int post_routes[] = {WEB_R_SEARCH, WEB_R_EMBED, WEB_R_OPENAI, WEB_R_ENCODE, WEB_R_DOCS_ADD};
/* The GET routes with a fixed path (besides the page). */
static const int get_routes[] = {WEB_R_HEALTH, WEB_R_STATS, WEB_R_METRICS};

static int method_not_allowed(web_reply *r, const char *allow, const char *method, const char *path)
{
    web_error(r, 405, "method %s is not allowed on %s (allowed: %s)", method, path, allow);
    r->hdr_name = "Allow";
    r->hdr_value = allow;
    return -1;
}

void web_dispatch(const web_state *st, const web_http_req *req, web_reply *r)
{
    const char *m = req->method, *p = req->path;
    int is_get = strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0;
    int is_post = strcmp(m, "POST") == 0;
    r->route = WEB_R_OTHER;

    for (size_t i = 0; i < sizeof post_routes / sizeof post_routes[0]; i++) {
        int rt = post_routes[i];
        if (strcmp(p, route_names[rt].path) != 0)
            continue;
        if (!is_post) {
            method_not_allowed(r, "POST", m, p);
            return;
        }
        r->route = rt;
        if (web_check_origin(req, r) || web_check_json_type(req, r))
            return;
        switch (rt) {
        case WEB_R_SEARCH: web_h_search(st, req, r); break;
        case WEB_R_EMBED: web_h_embed(st, req, r); break;
        case WEB_R_OPENAI: web_h_openai(st, req, r); break;
        case WEB_R_ENCODE: web_h_encode(st, req, r); break;
        case WEB_R_DOCS_ADD:
            if (web_check_write(st, req, r) == 0)
                web_h_docs_add(st, req, r);
            break;
        }
        return;
    }
    for (size_t i = 0; i < sizeof get_routes / sizeof get_routes[0]; i++) {
        int rt = get_routes[i];
        if (strcmp(p, route_names[rt].path) != 0)
            continue;
        if (!is_get) {
            method_not_allowed(r, "GET, HEAD", m, p);
            return;
        }
        r->route = rt;
        switch (rt) {
        case WEB_R_HEALTH: web_h_health(st, r); break;
        case WEB_R_STATS: web_h_stats(st, r); break;
        case WEB_R_METRICS: web_h_metrics(st, r); break;
        }
        return;
    }
    static const char doc_prefix[] = "/documents/";
    if (strncmp(p, doc_prefix, sizeof doc_prefix - 1) == 0 && p[sizeof doc_prefix - 1]) {
        const char *id = p + sizeof doc_prefix - 1;
        if (is_get) {
            r->route = WEB_R_DOC_GET;
            web_h_doc_get(st, req, id, r);
        } else if (strcmp(m, "DELETE") == 0) {
            r->route = WEB_R_DOC_DEL;
            if (web_check_origin(req, r) == 0 && web_check_write(st, req, r) == 0)
                web_h_doc_del(st, req, id, r);
        } else {
            method_not_allowed(r, "GET, HEAD, DELETE", m, p);
        }
        return;
    }
    if (web_page_lookup(p, r) == 0) {
        if (is_get)
            r->route = WEB_R_PAGE;
        else
            method_not_allowed(r, "GET, HEAD", m, p);
        return;
    }
    web_error(r, 404, "no such endpoint: %s %s", m, p);
}
