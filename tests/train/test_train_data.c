/* tests/train/test_train_data.c: training data and batches:
 * - MLM masking: ~15 % of the real tokens predicted, of those ~80 % [MASK] / ~10 % random / ~10 % kept, labels are
 *   the original tokens, specials and padding never predicted, every sequence predicts at least one token, and
 *   the masking of an example is a pure function of (seed, data position);
 * - epoch orders visit every example exactly once and differ between epochs;
 * - contrastive batches: anchors then positives, [CLS] … [SEP], right padding with mask 0, truncation to seq;
 * - text files: pairs without a tab, invalid UTF-8 and empty lines are skipped; token streams match the
 *   tokenizer;
 * - hard negatives (a third column): 2-column data keeps its layout and hash exactly; negatives follow all
 *   positives in a batch; files with 2 and 3 columns mix; more than 3 columns, or an empty middle, is skipped. */
#include "test.h"
#include "common/hash.h"
#include "train/data.h"

#include "encoder/tokenizer.h"

#include <stdlib.h>
#include <unistd.h>

static const sem_tspecial SP = {.cls = 2, .sep = 3, .pad = 0, .mask = 4, .unk = 1, .vocab_size = 1000};

/* The data hash as it was before hard negatives existed: kind, seq, tokens, offsets. */
static uint64_t old_hash(const sem_tdata *d, int seq)
{
    uint64_t h = 0xCBF29CE484222325ULL;
    int k = (int)d->kind;
    const void *parts[4] = {&k, &seq, d->tok, d->off};
    size_t sizes[4] = {sizeof k, sizeof seq, d->n_tok * sizeof(int32_t), (d->n_seq + 1) * sizeof(size_t)};
    for (int p = 0; p < 4; p++)
        for (size_t i = 0; i < sizes[p]; i++) {
            h ^= ((const unsigned char *)parts[p])[i];
            h *= 0x100000001B3ULL;
        }
    return h;
}

/* Pairs i = 0..9 (anchor 100+i, positive 200+i), with a hard negative 300+i where i % 3 != 0 when neg. */
static sem_tdata *pairs(int neg)
{
    sem_error err;
    sem_tdata *d = sem_tdata_new(SEM_TDATA_PAIRS, &SP, &err);
    for (int i = 0; i < 10; i++) {
        int32_t a[30], p[30], q[30];
        int na = 3 + i, np = 20 - i;
        for (int k = 0; k < 30; k++) {
            a[k] = 100 + i;
            p[k] = 200 + i;
            q[k] = 300 + i;
        }
        sem_tdata_add_ids(d, a, (size_t)na, &err);
        sem_tdata_add_ids(d, p, (size_t)np, &err);
        if (neg && i % 3 != 0)
            CHECK(sem_tdata_add_negative(d, q, 4, &err) == SEM_OK);
    }
    CHECK(sem_tdata_finish(d, 16, &err) == SEM_OK);
    return d;
}

static void hard_negatives(void)
{
    sem_error err;
    sem_tbatch_buf bb;
    sem_tbatch b;
    /* two columns: no example list, the old layout and hash, 2B rows */
    sem_tdata *d = pairs(0);
    CHECK(d->ex == NULL && d->n_neg == 0 && d->n_seq == 20);
    CHECK(d->hash == old_hash(d, 16));
    CHECK_EQ_INT(sem_tdata_rows(d, 4), 8);
    sem_tdata_free(d);
    /* three columns on 6 of 10 examples */
    d = pairs(1);
    CHECK_EQ_INT(d->n_ex, 10);
    CHECK_EQ_INT(d->n_neg, 6);
    CHECK_EQ_INT(d->n_seq, 26);
    CHECK(d->hash != old_hash(d, 16));
    CHECK_EQ_INT(sem_tdata_rows(d, 4), 12);
    CHECK(sem_tbatch_buf_init(&bb, d, 4, 16, 0, &err) == SEM_OK);
    for (long pos = 0; pos < 20; pos += 4) {
        sem_tdata_batch(d, &bb, pos, 4, 16, 0.15, 1, &b);
        CHECK_EQ_INT(b.n_anchors, 4);
        int negs = 0;
        for (int i = 0; i < 4; i++) {
            int ex = b.ids[i * b.T + 1] - 100;
            CHECK_EQ_INT(b.ids[(i + 4) * b.T + 1], 200 + ex); /* positive i is row 4 + i */
            if (ex % 3 != 0) { /* its negative comes next among the rows after the positives, in anchor order */
                CHECK_EQ_INT(b.ids[(8 + negs) * b.T + 1], 300 + ex);
                CHECK_EQ_INT(b.ids[(8 + negs) * b.T + 5], SP.sep);
                negs++;
            }
        }
        CHECK_EQ_INT(b.B, 8 + negs);
    }
    sem_tbatch_buf_free(&bb);
    /* a negative needs a complete pair without one */
    int32_t q[2] = {7, 8};
    CHECK(sem_tdata_add_negative(d, q, 2, &err) == SEM_OK); /* the last pair (9) had none */
    CHECK(sem_tdata_add_negative(d, q, 2, &err) == SEM_EINVAL); /* now it has one */
    sem_tdata_add_ids(d, q, 2, &err);
    CHECK(sem_tdata_add_negative(d, q, 2, &err) == SEM_EINVAL); /* half a pair */
    sem_tdata_free(d);
    d = sem_tdata_new(SEM_TDATA_PAIRS, &SP, &err);
    CHECK(sem_tdata_add_negative(d, q, 2, &err) == SEM_EINVAL); /* nothing yet */
    sem_tdata_add_ids(d, q, 2, &err);
    sem_tdata_add_ids(d, q, 2, &err);
    CHECK(sem_tdata_add_negative(d, q, 0, &err) == SEM_EINVAL);
    int32_t bad = 5000;
    CHECK(sem_tdata_add_negative(d, &bad, 1, &err) == SEM_EINVAL);
    CHECK(d->n_neg == 0 && d->n_seq == 2);
    sem_tdata_free(d);
    d = sem_tdata_new(SEM_TDATA_SIMCSE, &SP, &err);
    sem_tdata_add_ids(d, q, 2, &err);
    sem_tdata_add_ids(d, q, 2, &err);
    CHECK(sem_tdata_add_negative(d, q, 2, &err) == SEM_EINVAL);
    sem_tdata_free(d);
}

int main(void)
{
    sem_error err;
    /* MLM: 2000 paragraphs of 5..40 tokens with ids in [10, 1000) */
    sem_tdata *d = sem_tdata_new(SEM_TDATA_MLM, &SP, &err);
    CHECK(d != NULL);
    uint64_t st = 1;
    int32_t ids[64];
    for (int i = 0; i < 2000; i++) {
        int n = 5 + (int)(sem_rng_next(&st) % 36);
        for (int k = 0; k < n; k++)
            ids[k] = 10 + (int32_t)(sem_rng_next(&st) % 990);
        CHECK(sem_tdata_add_ids(d, ids, (size_t)n, &err) == SEM_OK);
    }
    int32_t bad = 1000;
    CHECK(sem_tdata_add_ids(d, &bad, 1, &err) == SEM_EINVAL);
    const int T = 64, B = 32;
    CHECK(sem_tdata_finish(d, T, &err) == SEM_OK);
    CHECK_EQ_INT(d->n_ex, (d->n_tok + T - 3) / (T - 2));
    sem_tbatch_buf bb;
    int per = sem_tdata_max_pred(T, 0.15);
    CHECK(sem_tbatch_buf_init(&bb, d, B, T, per, &err) == SEM_OK);
    long real = 0, pred = 0, masked = 0, kept = 0, random = 0;
    for (long pos = 0; pos < 20 * B; pos += B) {
        sem_tbatch b;
        long r = sem_tdata_batch(d, &bb, pos, B, T, 0.15, 9, &b);
        CHECK(b.B == B && b.T == T && b.n_pred <= B * per);
        real += r;
        int seq_has[32] = {0};
        for (int i = 0; i < b.n_pred; i++) {
            int p = b.pred_pos[i], row = p / T, t = p % T;
            seq_has[row] = 1;
            CHECK(b.mask[p] == 1 && t > 0 && b.pred_label[i] >= 10);
            /* the label is the token of the unmasked stream at that place */
            if (b.ids[p] == SP.mask)
                masked++;
            else if (b.ids[p] == b.pred_label[i])
                kept++;
            else
                random++;
            pred++;
        }
        for (int row = 0; row < B; row++)
            CHECK(seq_has[row]);
        for (int row = 0; row < B; row++) {
            CHECK_EQ_INT(b.ids[row * T], SP.cls);
            int n = 0;
            while (n < T && b.mask[row * T + n])
                n++;
            CHECK(b.ids[row * T + n - 1] == SP.sep);
            for (int t = n; t < T; t++)
                CHECK(b.ids[row * T + t] == SP.pad && b.mask[row * T + t] == 0);
        }
        /* the same position and seed give the same batch */
        int32_t copy[32 * 64];
        memcpy(copy, b.ids, sizeof copy);
        sem_tbatch b2;
        sem_tdata_batch(d, &bb, pos, B, T, 0.15, 9, &b2);
        CHECK(memcmp(copy, b2.ids, sizeof copy) == 0);
    }
    double share = (double)pred / (double)(real - 2 * 20 * B);
    CHECK_MSG(share > 0.13 && share < 0.17, "predicted share %g", share);
    CHECK_MSG(fabs((double)masked / pred - 0.8) < 0.03, "[MASK] share %g", (double)masked / pred);
    CHECK_MSG(fabs((double)kept / pred - 0.1) < 0.03, "kept share %g", (double)kept / pred);
    CHECK_MSG(fabs((double)random / pred - 0.1) < 0.03, "random share %g", (double)random / pred);
    /* epoch orders: a permutation per epoch, different between epochs */
    {
        size_t n = d->n_ex;
        char *seen = calloc(n, 1);
        uint32_t first[8];
        for (long pos = 0; pos < (long)n; pos++) {
            sem_tbatch b;
            sem_tdata_batch(d, &bb, pos, 1, T, 0.15, 9, &b);
            if (pos < 8)
                first[pos] = bb.perm[pos];
            seen[bb.perm[pos]]++;
        }
        size_t ones = 0;
        for (size_t i = 0; i < n; i++)
            ones += seen[i] == 1;
        CHECK_EQ_INT(ones, n);
        sem_tbatch b;
        sem_tdata_batch(d, &bb, (long)n, 1, T, 0.15, 9, &b); /* epoch 1 */
        CHECK(memcmp(first, bb.perm, sizeof first) != 0);
        free(seen);
    }
    sem_tbatch_buf_free(&bb);
    sem_tdata_free(d);

    /* pairs */
    d = sem_tdata_new(SEM_TDATA_PAIRS, &SP, &err);
    for (int i = 0; i < 10; i++) {
        int32_t a[30], p[30];
        int na = 3 + i, np = 20 - i;
        for (int k = 0; k < na; k++)
            a[k] = 100 + i;
        for (int k = 0; k < np; k++)
            p[k] = 200 + i;
        sem_tdata_add_ids(d, a, (size_t)na, &err);
        sem_tdata_add_ids(d, p, (size_t)np, &err);
    }
    CHECK(sem_tdata_finish(d, 16, &err) == SEM_OK);
    CHECK_EQ_INT(d->n_ex, 10);
    CHECK(sem_tbatch_buf_init(&bb, d, 4, 16, 0, &err) == SEM_OK);
    sem_tbatch b;
    sem_tdata_batch(d, &bb, 0, 4, 16, 0.15, 1, &b);
    CHECK_EQ_INT(b.B, 8);
    CHECK(b.T <= 16);
    for (int i = 0; i < 4; i++) {
        int32_t ia = b.ids[i * b.T + 1], ip = b.ids[(i + 4) * b.T + 1];
        CHECK_EQ_INT(ip - ia, 100); /* the positive of anchor i is row i + 4 */
        CHECK_EQ_INT(b.ids[i * b.T], SP.cls);
        int n = 0;
        while (n < b.T && b.mask[(i + 4) * b.T + n])
            n++;
        CHECK(n <= 16 && b.ids[(i + 4) * b.T + n - 1] == SP.sep);
    }
    sem_tbatch_buf_free(&bb);
    sem_tdata_free(d);

    /* from files, with the real tokenizer */
    const char *vocab = SEM_SHARED_DIR "/data/vocab/bert-base-uncased.txt";
    sem_tokenizer *tk = NULL;
    if (access(vocab, R_OK) != 0)
        TEST_SKIP_SECTION("%s is missing: the data files with the real tokenizer", vocab);
    else
        CHECK_MSG((tk = sem_tokenizer_load(vocab, NULL, &err)) != NULL, "%s", err.msg);
    if (tk) {
        sem_tspecial sp = {sem_tokenizer_cls_id(tk), sem_tokenizer_sep_id(tk), sem_tokenizer_pad_id(tk),
                           sem_tokenizer_mask_id(tk), sem_tokenizer_unk_id(tk), sem_tokenizer_vocab_size(tk)};
        char path[] = "/tmp/sem_train_data_XXXXXX";
        int fd = mkstemp(path);
        FILE *f = fdopen(fd, "w");
        fprintf(f, "Hello, World!\tGreetings to the planet.\n\nno tab here\nbad \xff utf8\tx\r\nA b\tC d\r\n");
        fclose(f);
        d = sem_tdata_new(SEM_TDATA_PAIRS, &sp, &err);
        char *files[1] = {path};
        CHECK(sem_tdata_add_files(d, vocab, 1, files, 1, &err) == SEM_OK);
        CHECK_EQ_INT(d->n_seq, 4);
        CHECK_EQ_INT(d->skipped, 2);
        int32_t *want = NULL;
        int nw = 0;
        CHECK(sem_tokenize_ids(tk, "hello, world!", -1, &want, &nw, &err) == SEM_OK);
        CHECK(d->off[1] == (size_t)nw && memcmp(d->tok, want, sizeof(int32_t) * (size_t)nw) == 0);
        free(want);
        want = NULL;
        nw = 0;
        sem_tdata_free(d);
        /* a third column is the pair's hard negative; 2- and 3-column lines mix; an empty third column is none */
        f = fopen(path, "w");
        fprintf(f, "how to boil eggs\tput the eggs in boiling water\tthe eggs of sea turtles\n"
                   "a b\tc d\n"
                   "e f\tg h\t\n"
                   "four\tcolumns\tare\ttoo many\n"
                   "empty\t\tmiddle\n"
                   "x\ty\tz\n");
        fclose(f);
        d = sem_tdata_new(SEM_TDATA_PAIRS, &sp, &err);
        CHECK(sem_tdata_add_files(d, vocab, 1, files, 1, &err) == SEM_OK);
        CHECK(sem_tdata_finish(d, 32, &err) == SEM_OK);
        CHECK_EQ_INT(d->n_ex, 4);
        CHECK_EQ_INT(d->n_neg, 2);
        CHECK_EQ_INT(d->skipped, 2);
        CHECK(d->ex && d->ex[1] == 3 && d->ex[2] == 5 && d->ex[3] == 7 && d->ex[4] == 10);
        CHECK(sem_tokenize_ids(tk, "the eggs of sea turtles", -1, &want, &nw, &err) == SEM_OK);
        CHECK(d->off[3] - d->off[2] == (size_t)nw &&
              memcmp(d->tok + d->off[2], want, sizeof(int32_t) * (size_t)nw) == 0);
        free(want);
        sem_tdata_free(d);
        /* a line over 16 MiB is skipped (counted) without being read into memory; the lines around it stay */
        f = fopen(path, "w");
        fputs("first line\n", f);
        for (int i = 0; i < 17 << 10; i++) /* 17.4 MB */
            fputs("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx "
                  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx "
                  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx "
                  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx "
                  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx "
                  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx "
                  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx "
                  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx "
                  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx "
                  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx ",
                  f);
        fputs("\nlast line\n", f);
        fclose(f);
        d = sem_tdata_new(SEM_TDATA_SIMCSE, &sp, &err);
        CHECK(d && sem_tdata_add_files(d, vocab, 1, files, 1, &err) == SEM_OK);
        CHECK(d && d->n_seq == 2 && d->skipped == 1);
        sem_tdata_free(d);
        d = sem_tdata_new(SEM_TDATA_MLM, &sp, &err);
        char *missing[1] = {"/nonexistent/file.txt"};
        CHECK(sem_tdata_add_files(d, vocab, 1, missing, 1, &err) == SEM_EIO);
        CHECK(sem_tdata_finish(d, 32, &err) == SEM_EINVAL); /* nothing to train on */
        sem_tdata_free(d);
        unlink(path);
        sem_tokenizer_free(tk);
    }
    hard_negatives();
    sem_tspecial nosp = SP;
    nosp.mask = -1;
    CHECK(sem_tdata_new(SEM_TDATA_MLM, &nosp, &err) == NULL);
    sem_tdata_free(NULL);
    TEST_END();
}
