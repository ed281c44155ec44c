/* cli/cmd_encoder.c: placeholder until its issue lands; owned by the part that implements it. */
#include "cli/cli.h"
#include <stdio.h>

int sem_cmd_tokenize(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "semsearch tokenize: not available in this build yet\n");
    return SEM_EXIT_FAIL;
}

int sem_cmd_embed(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "semsearch embed: not available in this build yet\n");
    return SEM_EXIT_FAIL;
}

int sem_cmd_fill_mask(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "semsearch fill-mask: not available in this build yet\n");
    return SEM_EXIT_FAIL;
}

