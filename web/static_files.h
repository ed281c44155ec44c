/* web/static_files.h: the search page's files, compiled into the binary (static_files.c is generated at build
 * time from web/static/ by web/embed_static.cmake). */
#ifndef SEM_WEB_STATIC_FILES_H
#define SEM_WEB_STATIC_FILES_H

#include <stddef.h>

typedef struct web_static_file {
    const char *path;         /* "/index.html" */
    const char *content_type; /* "text/html; charset=utf-8" */
    const unsigned char *data;
    size_t len;
} web_static_file;

extern const web_static_file web_static_files[];
extern const int web_static_count;

#endif
