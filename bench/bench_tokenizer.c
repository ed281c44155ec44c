/* bench/bench_tokenizer.c: tokenizer throughput.
 *   bench_tokenizer [VOCAB [TEXT_FILE [SECONDS]]]
 * Tokenizes every non-empty line of TEXT_FILE (default: data/covid-faq/faq_covidbert.csv) with VOCAB (default:
 * the bundled model's vocab.txt, models/semsearch-default: bert-base-uncased's, lowercase + strip accents) for about SECONDS (default 2) per mode,
 * and prints lines/s, MB/s and WordPiece tokens/s for: unframed ids (sem_tokenize_ids, no truncation), counting
 * only (sem_tokenizer_count) and model input (sem_tokenize, max_length 512). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/fileio.h"
#include "encoder/tokenizer.h"

int main(int argc, char **argv)
{
    const char *vocab = argc > 1 ? argv[1] : SEM_SOURCE_DIR "/models/semsearch-default/vocab.txt";
    const char *file = argc > 2 ? argv[2] : SEM_SOURCE_DIR "/data/covid-faq/faq_covidbert.csv";
    double secs = argc > 3 ? atof(argv[3]) : 2.0;
    sem_error err;
    sem_tokenizer *t = sem_tokenizer_load(vocab, NULL, &err);
    char *buf = NULL;
    size_t len = 0;
    if (!t || sem_read_file(file, 1u << 30, &buf, &len, &err) != SEM_OK) {
        fprintf(stderr, "error: %s\n", err.msg);
        return 1;
    }
    /* lines (ptr, len) */
    size_t n_lines = 0, cap = 1024;
    const char **lp = malloc(cap * sizeof *lp);
    size_t *ll = malloc(cap * sizeof *ll);
    for (size_t i = 0; i < len;) {
        size_t s = i;
        while (i < len && buf[i] != '\n')
            i++;
        if (i > s) {
            if (n_lines == cap) {
                cap *= 2;
                lp = realloc(lp, cap * sizeof *lp);
                ll = realloc(ll, cap * sizeof *ll);
            }
            lp[n_lines] = buf + s;
            ll[n_lines++] = i - s;
        }
        i++;
    }
    printf("%s: %zu lines, %zu bytes; vocab %s\n", file, n_lines, len, vocab);
    const char *modes[] = {"sem_tokenize_ids (no truncation)", "sem_tokenizer_count", "sem_tokenize max_length 512"};
    for (int mode = 0; mode < 3; mode++) {
        double t0 = sem_now(), el = 0;
        size_t passes = 0, tokens = 0, bytes = 0, lines = 0;
        do {
            for (size_t i = 0; i < n_lines; i++) {
                if (mode == 0) {
                    int32_t *ids = NULL;
                    int n = 0;
                    if (sem_tokenize_ids(t, lp[i], (ptrdiff_t)ll[i], &ids, &n, &err) != SEM_OK) {
                        fprintf(stderr, "line %zu: %s\n", i + 1, err.msg);
                        return 1;
                    }
                    tokens += (size_t)n;
                    free(ids);
                } else if (mode == 1) {
                    int n = sem_tokenizer_count(t, lp[i], (ptrdiff_t)ll[i]);
                    if (n < 0)
                        return 1;
                    tokens += (size_t)n;
                } else {
                    sem_tokenized tk;
                    if (sem_tokenize(t, lp[i], (ptrdiff_t)ll[i], NULL, 0, 512, &tk, &err) != SEM_OK)
                        return 1;
                    tokens += (size_t)tk.n;
                    sem_tokenized_free(&tk);
                }
                bytes += ll[i];
            }
            lines += n_lines;
            passes++;
            el = sem_now() - t0;
        } while (el < secs);
        printf("%-34s %8.0f lines/s %7.1f MB/s %10.0f tokens/s (%zu passes, %.2f s)\n", modes[mode],
               (double)lines / el, (double)bytes / el / 1e6, (double)tokens / el, passes, el);
    }
    free(lp);
    free(ll);
    free(buf);
    sem_tokenizer_free(t);
    return 0;
}
