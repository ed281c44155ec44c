/* cli/cmd_kb.c: placeholder until its issue lands; owned by the part that implements it. */
#include "cli/cli.h"
#include <stdio.h>

int sem_cmd_kb(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "semsearch kb: not available in this build yet\n");
    return SEM_EXIT_FAIL;
}

