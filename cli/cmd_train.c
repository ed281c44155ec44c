/* cli/cmd_train.c: placeholder until its issue lands; owned by the part that implements it. */
#include "cli/cli.h"
#include <stdio.h>

int sem_cmd_train(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "semsearch train: not available in this build yet\n");
    return SEM_EXIT_FAIL;
}

