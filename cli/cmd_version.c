/* cli/cmd_version.c: `semsearch version`: our version and those of the libraries we link. */
#include "cli/cli.h"
#include "encoder/encoder.h"

#include <cblas.h>
#include <cjson/cJSON.h>
#include <microhttpd.h>
#include <sqlite3.h>
#include <stdio.h>
#include <utf8proc.h>

#ifndef SEM_VERSION
#define SEM_VERSION "0.0.0"
#endif

int sem_cmd_version(int argc, char **argv)
{
    static const sem_cli_opt opts[] = {{0}};
    const sem_cli_cmd cmd = {.name = "version", .opts = opts,
                             .usage = "Usage: semsearch version\n\nPrints the semsearch version and the versions of "
                                      "the libraries it uses, and which kernels the encoder and OpenBLAS run on this CPU and why.\n\n"};
    int st;
    if (!sem_cli_parse(&cmd, argc, argv, &st))
        return st;
    printf("semsearch %s\n", SEM_VERSION);
    printf("faiss %s\n", sem_faiss_version());
    printf("sqlite %s\n", sqlite3_libversion());
    printf("openblas %s\n", openblas_get_config());
    printf("libmicrohttpd %s\n", MHD_get_version());
    printf("cjson %s\n", cJSON_Version());
    printf("utf8proc %s\n", utf8proc_version());
    char kernels[1024];
    sem_kernels_describe(kernels, sizeof kernels);
    fputs(kernels, stdout);
    return SEM_EXIT_OK;
}
