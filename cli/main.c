/* cli/main.c: the semsearch program: a dispatcher over subcommands (one file each, cmd_*.c). */
#include "cli/cli.h"
#include "encoder/encoder.h"
#include "common/log.h"

#include <stdio.h>
#include <string.h>

struct command {
    const char *name;
    int (*fn)(int, char **);
    const char *summary;
};

static const struct command commands[] = {
    {"tokenize", sem_cmd_tokenize, "tokenize JSON lines exactly as HF BertTokenizer"},
    {"embed", sem_cmd_embed, "embed JSON lines of text with a BERT model"},
    {"fill-mask", sem_cmd_fill_mask, "predict [MASK] tokens with a masked-LM model"},
    {"kb", sem_cmd_kb, "create and inspect knowledge bases (create, info, check, compact, export)"},
    {"index", sem_cmd_index, "add documents to a knowledge base and remove them (add, rm)"},
    {"query", sem_cmd_query, "ask a knowledge base a question"},
    {"serve", sem_cmd_serve, "serve knowledge bases over HTTP"},
    {"eval", sem_cmd_eval, "offline evaluation (ann, retrieval, sts)"},
    {"model", sem_cmd_model, "download, list and locate models (pull, list, path)"},
    {"train", sem_cmd_train, "train or adapt a BERT model (mlm, contrastive)"},
    {"adapt", sem_cmd_adapt, "adapt a knowledge base's model to its own text, then re-encode it"},
    {"version", sem_cmd_version, "print versions of semsearch and its libraries"},
};

static void usage(FILE *f)
{
    fprintf(f, "semsearch: semantic search with a BERT encoder, FAISS and SQLite\n\n"
               "Usage: semsearch COMMAND [ARGS...]\n\nCommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\nRun 'semsearch COMMAND --help' for a command's options.\n");
}

int main(int argc, char **argv)
{
    sem_kernels_setup(argv); /* OpenBLAS's core by CPU features: may re-execute the program once */
    static int log_level = SEM_LOG_INFO;
    sem_log_set(sem_log_stderr, &log_level);
    if (argc < 2) {
        usage(stderr);
        return SEM_EXIT_USAGE;
    }
    if (sem_cli_is_help(argv[1]) || strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return SEM_EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0)
        return sem_cmd_version(1, argv + 1);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "semsearch: unknown command '%s'\nRun 'semsearch --help' for the list of commands.\n", argv[1]);
    return SEM_EXIT_USAGE;
}
