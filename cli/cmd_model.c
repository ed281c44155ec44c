/* cli/cmd_model.c: semsearch model pull | list | path: the HuggingFace hub cache (hub/hub.h). */
#include "cli/cli.h"
#include "common/fileio.h"
#include "common/jsonstr.h"
#include "hub/hub.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: semsearch model pull ORG/NAME [--revision R] [-q]\n"
            "       semsearch model list [--json [FILE]]\n"
            "       semsearch model path NAME_OR_FOLDER\n\n"
            "Download BERT models from the HuggingFace hub into a local cache and list them. A model pulled once\n"
            "can be passed by its name (ORG/NAME) to --model of index add, query, serve and eval sts.\n\n"
            "  pull ORG/NAME      download the files the encoder needs (config.json, vocab.txt, model.safetensors,\n"
            "                     tokenizer and sentence-transformers configs, README.md); files already cached\n"
            "                     are kept, interrupted downloads resume, every file is checked against the hub's\n"
            "                     sha256 / git sha1\n"
            "    --revision R     branch, tag or commit (default: main)\n"
            "    -q, --quiet      no progress bar and no summary\n"
            "  list               cached models: name, revision, commit, size, files, complete or not\n"
            "    --json [FILE]    one JSON object per line instead of the table, on stdout or into FILE\n"
            "  path NAME          print the folder --model NAME resolves to (a folder wins over a cached name)\n\n"
            "Environment:\n"
            "  SEMSEARCH_HOME     cache root (models in SEMSEARCH_HOME/models/ORG/NAME); default\n"
            "                     $XDG_CACHE_HOME/semsearch, else ~/.cache/semsearch\n"
            "  HF_ENDPOINT        hub URL (default " SEM_HUB_DEFAULT_ENDPOINT "), e.g. a mirror\n"
            "  HF_TOKEN           access token for gated or private models\n");
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

static int cmd_pull(int argc, char **argv)
{
    const char *repo = NULL, *revision = NULL;
    int quiet = 0;
    for (int i = 1; i < argc; i++) {
        if (sem_cli_is_help(argv[i])) {
            usage(stdout);
            return SEM_EXIT_OK;
        } else if (strcmp(argv[i], "--revision") == 0) {
            if (++i >= argc || !argv[i][0])
                return sem_cli_usage_error("model pull", "--revision needs a value");
            revision = argv[i];
        } else if (sem_cli_is_quiet(argv[i])) {
            quiet = 1;
        } else if (argv[i][0] == '-') {
            return sem_cli_usage_error("model pull", "unknown option '%s'", argv[i]);
        } else if (repo) {
            return sem_cli_usage_error("model pull", "one model at a time (got '%s' and '%s')", repo, argv[i]);
        } else {
            repo = argv[i];
        }
    }
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

static int cmd_list(int argc, char **argv)
{
    const char *json = NULL;
    for (int i = 1; i < argc; i++) {
        if (sem_cli_is_help(argv[i])) {
            usage(stdout);
            return SEM_EXIT_OK;
        } else if (sem_cli_opt_json(argc, argv, &i, 1, &json) || sem_cli_is_quiet(argv[i])) {
            continue;
        } else {
            return sem_cli_usage_error("model list", "unexpected argument '%s'", argv[i]);
        }
    }
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

static int cmd_path(int argc, char **argv)
{
    const char *name = NULL;
    for (int i = 1; i < argc; i++) {
        if (sem_cli_is_help(argv[i])) {
            usage(stdout);
            return SEM_EXIT_OK;
        } else if (name || (argv[i][0] == '-' && argv[i][1])) {
            return sem_cli_usage_error("model path", "unexpected argument '%s'", argv[i]);
        }
        name = argv[i];
    }
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

int sem_cmd_model(int argc, char **argv)
{
    if (argc < 2)
        return sem_cli_usage_error("model", "missing subcommand (pull, list or path)");
    if (sem_cli_is_help(argv[1])) {
        usage(stdout);
        return SEM_EXIT_OK;
    }
    if (strcmp(argv[1], "pull") == 0)
        return cmd_pull(argc - 1, argv + 1);
    if (strcmp(argv[1], "list") == 0)
        return cmd_list(argc - 1, argv + 1);
    if (strcmp(argv[1], "path") == 0)
        return cmd_path(argc - 1, argv + 1);
    return sem_cli_usage_error("model", "unknown subcommand '%s' (pull, list or path)", argv[1]);
}
