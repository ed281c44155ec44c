/* cli/main.c: the semsearch program: a dispatcher over the command table (sem_cli_commands, cli/cli.c); each
 * command is one function in cli/cmd_*.c. */
#include "cli/cli.h"
#include "encoder/encoder.h"
#include "common/log.h"

#include <stdio.h>
#include <string.h>

/* The group's subcommand argv[0] names, run with argv; a usage error when there is none. */
static int run_group(const char *group, int argc, char **argv)
{
    if (argc >= 1) {
        for (const sem_cli_command *c = sem_cli_commands; c->group; c++)
            if (c->sub && strcmp(c->group, group) == 0 && strcmp(c->sub, argv[0]) == 0)
                return c->fn(argc, argv);
    }
    for (int i = 0; i < argc; i++) /* `kb -q --help`: the group's help */
        if (sem_cli_is_help(argv[i]) || (i == 0 && strcmp(argv[i], "help") == 0)) {
            sem_cli_print_commands(stdout, group);
            return SEM_EXIT_OK;
        }
    if (argc < 1) {
        sem_cli_print_commands(stderr, group);
        return SEM_EXIT_USAGE;
    }
    return sem_cli_usage_error(group, "unknown subcommand '%s'", argv[0]);
}

int main(int argc, char **argv)
{
    sem_kernels_setup(argv); /* OpenBLAS's core by CPU features: may re-execute the program once */
    static int log_level = SEM_LOG_INFO;
    sem_log_set(sem_log_stderr, &log_level);
    if (argc < 2) {
        sem_cli_print_commands(stderr, NULL);
        return SEM_EXIT_USAGE;
    }
    if (sem_cli_is_help(argv[1]) || strcmp(argv[1], "help") == 0) {
        sem_cli_print_commands(stdout, NULL);
        return SEM_EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0)
        return sem_cmd_version(1, argv + 1);
    for (const sem_cli_command *c = sem_cli_commands; c->group; c++)
        if (!c->sub && strcmp(argv[1], c->group) == 0)
            return c->fn ? c->fn(argc - 1, argv + 1) : run_group(c->group, argc - 2, argv + 2);
    fprintf(stderr, "semsearch: unknown command '%s'\nRun 'semsearch --help' for the list of commands.\n", argv[1]);
    return SEM_EXIT_USAGE;
}
