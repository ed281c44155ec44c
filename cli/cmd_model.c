/* cli/cmd_model.c: semsearch model pull | list | path: the HuggingFace hub cache (hub/hub.h). */
#include "cli/cli.h"
#include "common/fileio.h"
#include "common/jsonstr.h"
#include "hub/hub.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define MODEL_ENV                                                                                              \
    "Environment:\n"                                                                                           \
    "  SEMSEARCH_HOME     cache root (models in SEMSEARCH_HOME/models/ORG/NAME); default\n"                     \
    "                     $XDG_CACHE_HOME/semsearch, else ~/.cache/semsearch\n"                                  \
    "  HF_ENDPOINT        hub URL (default " SEM_HUB_DEFAULT_ENDPOINT "), e.g. a mirror\n"                     \
    "  HF_TOKEN           access token for gated or private models\n"

/* Parses a model subcommand with at most one positional argument (*name); 1 to go on, else 0 with *status. */
static int parse_model(const char *name, const char *usage, const sem_cli_opt *opts, const char *hint, int argc,
                       char **argv, const char **arg, int *status)
{
    int n = 0;
    const sem_cli_cmd cmd = {name, usage, opts, MODEL_ENV, arg, arg ? 1 : 0, &n, 0, hint};
    if (arg)
        *arg = NULL;
    return sem_cli_parse(&cmd, argc, argv, status);
}

static void human_size(uint64_t b, char *out, size_t cap)
{
    if (b < 1024)
        snprintf(out, cap, "%llu B", (unsigned long long)b);
    else if (b < 1024ull * 1024)
        snprintf(out, cap, "%.1f KB", (double)b / 1024);
    else if (b < 1024ull * 1024 * 1024)
        snprintf(out, cap, "%.1f MB", (double)b / (1024.0 * 1024));
    else
        snprintf(out, cap, "%.2f GB", (double)b / (1024.0 * 1024 * 1024));
}

struct progress {
    double start, last;
    char file[128];
    uint64_t start_bytes, last_done;
};

/* One status line on stderr, redrawn at most 10 times a second. */
static void on_progress(const char *file, uint64_t done, uint64_t total, void *ud)
{
    struct progress *pr = ud;
    double now = sem_now();
    if (strcmp(pr->file, file) != 0) {
        if (pr->file[0])
            fputc('\n', stderr);
        snprintf(pr->file, sizeof pr->file, "%s", file);
        pr->start = now;
        pr->last = 0;
        pr->start_bytes = done;
    }
    if ((now - pr->last < 0.1 && done != total) || (pr->last > 0 && done == pr->last_done))
        return;
    pr->last = now;
    pr->last_done = done;
    char d[32], t[32], r[32];
    human_size(done, d, sizeof d);
    human_size(total, t, sizeof t);
    double el = now - pr->start;
    human_size(el > 0 ? (uint64_t)((double)(done - pr->start_bytes) / el) : 0, r, sizeof r);
    fprintf(stderr, "\r  %-36s %10s / %-10s %5.1f%%  %10s/s ", file, d, t,
            total ? 100.0 * (double)done / (double)total : 0.0, r);
    fflush(stderr);
}

int sem_cmd_model_pull(int argc, char **argv)
{
    const char *repo = NULL, *revision = NULL;
    int quiet = 0, status;
    const sem_cli_opt opts[] = {
        SEM_OPT_SEC("Options:"),
        SEM_OPT_S1("--revision", revision, "R", "branch, tag or commit (default: main)"),
        SEM_OPT_QUIET(quiet, "no progress bar and no summary"),
        {0}};
    if (!parse_model("model pull",
                     "Usage: semsearch model pull ORG/NAME [--revision R] [-q]\n\n"
                     "Downloads the files the encoder needs (config.json, vocab.txt, model.safetensors, tokenizer\n"
                     "and sentence-transformers configs, README.md) from the HuggingFace hub into a local cache;\n"
                     "files already cached are kept, interrupted downloads resume, every file is checked against\n"
                     "the hub's sha256 / git sha1. A model pulled once can be passed by its name (ORG/NAME) to\n"
                     "--model of index add, query, serve and eval sts.\n\n",
                     opts, " (one model at a time)", argc, argv, &repo, &status))
        return status;
    if (!repo)
        return sem_cli_usage_error("model pull", "which model? e.g. semsearch model pull "
                                                 "sentence-transformers/all-MiniLM-L6-v2");
    if (!sem_hub_valid_repo_id(repo))
        return sem_cli_usage_error("model pull", "'%s' is not a hub model name ORG/NAME", repo);
    sem_error err;
    sem_error_clear(&err);
    char cache[4096];
    if (sem_hub_cache_dir(cache, sizeof cache, &err) != SEM_OK)
        return sem_cli_fail(&err);
    struct progress pr;
    memset(&pr, 0, sizeof pr);
    int tty = !quiet && isatty(STDERR_FILENO);
    sem_hub_pull_stats st;
    double t0 = sem_now();
    int rc = sem_hub_pull(repo, revision, cache, tty ? on_progress : NULL, &pr, &st, &err);
    if (tty && pr.file[0])
        fputc('\n', stderr);
    if (rc != SEM_OK)
        return sem_cli_fail(&err);
    char total[32], got[32];
    human_size(st.bytes_total, total, sizeof total);
    human_size(st.bytes_downloaded, got, sizeof got);
    if (quiet)
        return SEM_EXIT_OK;
    printf("%s@%s: %d files, %s in %s/models/%s\n", repo, revision ? revision : "main", st.files_total, total,
           cache, repo);
    printf("commit %s; downloaded %d files (%s) in %.1f s, %d already cached\n", st.commit, st.files_downloaded, got,
           sem_now() - t0, st.files_cached);
    return SEM_EXIT_OK;
}

/* One cached model as a JSON line. */
static void print_json_line(FILE *f, const sem_hub_model *m)
{
    fprintf(f, "{\"name\":");
    sem_json_write_string(f, m->name);
    fprintf(f, ",\"path\":");
    sem_json_write_string(f, m->path);
    fprintf(f, ",\"revision\":");
    sem_json_write_string(f, m->revision);
    fprintf(f, ",\"commit\":");
    sem_json_write_string(f, m->commit);
    fprintf(f, ",\"size\":%llu,\"files\":%d,\"expected_files\":%d,\"incomplete_downloads\":%d,\"complete\":%s}\n",
            (unsigned long long)m->size, m->n_files, m->n_expected, m->n_incomplete, m->complete ? "true" : "false");
}

int sem_cmd_model_list(int argc, char **argv)
{
    const char *json = NULL;
    int quiet = 0, st;
    const sem_cli_opt opts[] = {
        SEM_OPT_SEC("Options:"),
        SEM_OPT_JSON_(json, "one JSON object per line instead of the table, on stdout or into FILE"),
        SEM_OPT_QUIET(quiet, "accepted for symmetry (list prints nothing else)"),
        {0}};
    if (!parse_model("model list",
                     "Usage: semsearch model list [--json [FILE]]\n\nLists the cached models: name, revision, "
                     "commit, size, files, complete or not.\n\n",
                     opts, NULL, argc, argv, NULL, &st))
        return st;
    sem_error err;
    sem_error_clear(&err);
    char cache[4096];
    sem_hub_model *m = NULL;
    size_t n = 0;
    if (sem_hub_cache_dir(cache, sizeof cache, &err) != SEM_OK || sem_hub_list(cache, &m, &n, &err) != SEM_OK)
        return sem_cli_fail(&err);
    if (json) {
        FILE *f = strcmp(json, "-") == 0 ? stdout : fopen(json, "w");
        if (!f) {
            sem_hub_list_free(m, n);
            sem_error_set(&err, SEM_EIO, "cannot write %s", json);
            return sem_cli_fail(&err);
        }
        for (size_t i = 0; i < n; i++)
            print_json_line(f, &m[i]);
        int bad = f == stdout ? fflush(f) != 0 : fclose(f) != 0;
        sem_hub_list_free(m, n);
        if (bad) {
            sem_error_set(&err, SEM_EIO, "cannot write %s", json);
            return sem_cli_fail(&err);
        }
        return SEM_EXIT_OK;
    } else if (n == 0) {
        fprintf(stderr, "no models in %s/models (download one with 'semsearch model pull ORG/NAME')\n", cache);
    } else {
        printf("%-44s %-12s %-12s %10s %7s  %s\n", "NAME", "REVISION", "COMMIT", "SIZE", "FILES", "STATUS");
        for (size_t i = 0; i < n; i++) {
            char sz[32], files[32];
            human_size(m[i].size, sz, sizeof sz);
            if (m[i].n_expected)
                snprintf(files, sizeof files, "%d/%d", m[i].n_files, m[i].n_expected);
            else
                snprintf(files, sizeof files, "%d", m[i].n_files);
            printf("%-44s %-12.12s %-12.12s %10s %7s  %s%s\n", m[i].name, m[i].revision, m[i].commit, sz, files,
                   m[i].complete ? "complete" : "incomplete",
                   m[i].n_incomplete ? " (partial download: pull again to resume)" : "");
        }
        printf("(cache: %s/models)\n", cache);
    }
    sem_hub_list_free(m, n);
    return SEM_EXIT_OK;
}

int sem_cmd_model_path(int argc, char **argv)
{
    const char *name = NULL;
    int st;
    const sem_cli_opt opts[] = {{0}};
    if (!parse_model("model path",
                     "Usage: semsearch model path NAME_OR_FOLDER\n\nPrints the folder --model NAME resolves to "
                     "(a folder wins over a cached name).\n\n",
                     opts, NULL, argc, argv, &name, &st))
        return st;
    if (!name)
        return sem_cli_usage_error("model path", "which model? (a folder or ORG/NAME)");
    sem_error err;
    sem_error_clear(&err);
    char dir[4096];
    if (sem_hub_resolve_model(name, dir, sizeof dir, &err) != SEM_OK)
        return sem_cli_fail(&err);
    printf("%s\n", dir);
    return SEM_EXIT_OK;
}
