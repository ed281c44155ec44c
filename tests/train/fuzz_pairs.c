/* tests/train/fuzz_pairs.c: libFuzzer target for the contrastive pairs file reader (train/data.c: lines
 * 'anchor<TAB>positive' or 'anchor<TAB>positive<TAB>hard negative', mixed). The input is a file's content.
 * Invariants: reading never crashes (ASan); every example is 2 or 3 sequences, the example list (when there are
 * hard negatives) rises by 2 or 3 and counts exactly n_neg 3s; 2-column data has no list; every batch has
 * B anchors, B positives and at most B negatives, all ids inside the vocabulary and every row [CLS] … [SEP].
 * A small vocabulary is written once (fast, no shared files). Replayed in ctest by test_pairs_fuzz. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "train/data.h"

static char vocab[64], input[64];

static void setup(void)
{
    if (vocab[0])
        return;
    snprintf(vocab, sizeof vocab, "/tmp/sem_fuzz_pairs_vocab_%d.txt", (int)getpid());
    snprintf(input, sizeof input, "/tmp/sem_fuzz_pairs_in_%d.tsv", (int)getpid());
    FILE *f = fopen(vocab, "w");
    if (!f)
        abort();
    fputs("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nthe\nvirus\nspread\n##s\n##ing\n.\n,\n?\n", f);
    for (char c = 'a'; c <= 'z'; c++)
        fprintf(f, "%c\n##%c\n", c, c);
    fclose(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup();
    FILE *f = fopen(input, "wb");
    if (!f)
        return 0;
    fwrite(data, 1, size, f);
    fclose(f);
    sem_tspecial sp = {2, 3, 0, 4, 1, 65}; /* 13 lines above + 52 letters */
    sem_tdata *d = sem_tdata_new(SEM_TDATA_PAIRS, &sp, NULL);
    char *files[1] = {input};
    if (!d || sem_tdata_add_files(d, vocab, 1, files, 1, NULL) != SEM_OK || sem_tdata_finish(d, 12, NULL) != SEM_OK) {
        sem_tdata_free(d);
        return 0;
    }
    if (d->ex) {
        size_t negs = 0;
        for (size_t i = 0; i < d->n_ex; i++) {
            size_t k = d->ex[i + 1] - d->ex[i];
            if (k != 2 && k != 3)
                abort();
            negs += k == 3;
        }
        if (negs != d->n_neg || d->ex[d->n_ex] > d->n_seq)
            abort();
    } else if (d->n_neg || d->n_seq < 2 * d->n_ex) {
        abort();
    }
    sem_tbatch_buf bb;
    if (sem_tbatch_buf_init(&bb, d, 4, 12, 0, NULL) == SEM_OK) {
        for (long pos = 0; pos < 12; pos += 4) {
            sem_tbatch b;
            sem_tdata_batch(d, &bb, pos, 4, 12, 0.15, 7, &b);
            if (b.n_anchors != 4 || b.B < 8 || b.B > 12 || b.T > 12)
                abort();
            for (int r = 0; r < b.B; r++) {
                if (b.ids[r * b.T] != sp.cls)
                    abort();
                for (int t = 0; t < b.T; t++)
                    if (b.ids[r * b.T + t] < 0 || b.ids[r * b.T + t] >= sp.vocab_size)
                        abort();
            }
        }
        sem_tbatch_buf_free(&bb);
    }
    sem_tdata_free(d);
    return 0;
}
