/* web/page.c: serves the search page's files from the copies compiled into the binary. */
#include "web/internal.h"
#include "web/static_files.h"

#include <string.h>

int web_page_lookup(const char *path, web_reply *r)
{
    if (strcmp(path, "/") == 0)
        path = "/index.html";
    for (int i = 0; i < web_static_count; i++) {
        if (strcmp(path, web_static_files[i].path) != 0)
            continue;
        web_reply_free(r);
        r->status = 200;
        r->body = (char *)web_static_files[i].data;
        r->len = web_static_files[i].len;
        r->body_static = 1;
        r->content_type = web_static_files[i].content_type;
        return 0;
    }
    return -1;
}
