/* tests/indexer/test_reader_fuzz.c: deterministic mutation fuzzing of the CSV, JSONL and text readers and of the
 * chunker: seed inputs (the COVID FAQ's first rows, JSONL and Markdown samples) get bytes flipped, inserted
 * (quotes, commas, newlines, NULs, invalid UTF-8) and deleted; every mutant must be read to the end with only
 * documents or clean errors (message with the file name), never a crash, a hang or a leak (run under ASan).
 * The chunker gets random byte strings with random limits and must return in-bounds, ordered spans. */
#include "test.h"

#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/fileio.h"
#include "indexer/indexer.h"

static uint64_t rng = 0x9E3779B97F4A7C15ULL;
static unsigned rnd(unsigned n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return n ? (unsigned)(rng % n) : 0;
}

static size_t mutate(const char *seed, size_t n, char *out, size_t cap)
{
    static const char special[] = {'"', ',', '\n', '\r', 0, '{', '}', '\\', ':', '#', (char)0xC3, (char)0xFF,
                                   (char)0x80, ' '};
    size_t k = n < cap ? n : cap;
    memcpy(out, seed, k);
    int edits = 1 + (int)rnd(8);
    for (int e = 0; e < edits; e++) {
        unsigned op = rnd(3);
        size_t at = k ? rnd((unsigned)k) : 0;
        char c = rnd(2) ? special[rnd(sizeof special)] : (char)rnd(256);
        if (op == 0 && k) {
            out[at] = c;
        } else if (op == 1 && k + 1 < cap) {
            memmove(out + at + 1, out + at, k - at);
            out[at] = c;
            k++;
        } else if (k) {
            memmove(out + at, out + at + 1, k - at - 1);
            k--;
        }
    }
    return k;
}

static int read_mutant(const char *path, const char *data, size_t n, int fmt, int *bad)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    fwrite(data, 1, n, f);
    fclose(f);
    sem_reader_params p = sem_reader_default_params();
    p.format = (sem_input_format)fmt;
    p.max_record_bytes = rnd(4) == 0 ? 64 : SEM_DEFAULT_MAX_RECORD_BYTES;
    sem_error err;
    sem_reader *r = sem_reader_open(path, &p, &err);
    if (!r) {
        *bad += err.msg[0] == 0;
        return 0;
    }
    int docs = 0;
    for (int guard = 0; guard < 100000; guard++) {
        sem_doc d = {0};
        int rc = sem_reader_next(r, &d, &err);
        if (rc == 0)
            break;
        if (rc < 0) {
            *bad += strstr(err.msg, path) == NULL; /* every record error names the file */
            if (rc != SEM_EINVAL && rc != SEM_ERANGE)
                break;
            continue;
        }
        /* what comes out is valid: non-empty id and text, valid UTF-8, metadata an object */
        *bad += !d.id || !d.id[0] || !d.text || !d.metadata_json || d.metadata_json[0] != '{' ||
                !sem_utf8_valid(d.text, strlen(d.text), NULL);
        docs++;
        sem_doc_clear(&d);
    }
    sem_reader_free(r);
    return docs;
}

int main(void)
{
    /* thousands of small rewrites: tmpfs when there is one (ext4 with discard makes each truncate slow) */
    char dir[64];
    snprintf(dir, sizeof dir, "%s/sem_rfuzz_XXXXXX", access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    if (!mkdtemp(dir))
        return 1;
    char *faq = NULL;
    size_t faq_len = 0;
    sem_error err;
    CHECK(sem_read_file(SEM_SOURCE_DIR "/data/covid-faq/faq_covidbert.csv", 1 << 20, &faq, &faq_len, &err) ==
          SEM_OK);
    if (faq_len > 3000)
        faq_len = 3000;
    const char *jsonl = "{\"id\":\"a\",\"text\":\"hello \\u00e9 world\",\"title\":\"t\",\"x\":[1,2]}\n"
                        "{\"_id\":5,\"question\":\"q?\",\"answer\":\"a.\",\"metadata\":{\"k\":\"v\"}}\n"
                        "{\"text\":\"no id\"}\n";
    const char *md = "Title\n=====\n\n# Heading #\n\n```\n# code\n```\nBody text. More text!\n";
    const struct {
        const char *seed;
        size_t n;
        const char *name;
        int fmt;
    } seeds[] = {{faq, faq_len, "m.csv", SEM_FMT_CSV},
                 {jsonl, strlen(jsonl), "m.jsonl", SEM_FMT_JSONL},
                 {md, strlen(md), "m.md", SEM_FMT_TEXT}};
    char *buf = malloc(8192);
    int bad = 0, total_docs = 0;
    for (int it = 0; it < 1500; it++) {
        int s = it % 3;
        size_t n = mutate(seeds[s].seed ? seeds[s].seed : "", seeds[s].seed ? seeds[s].n : 0, buf, 8192);
        char path[256];
        snprintf(path, sizeof path, "%s/%s", dir, seeds[s].name);
        int d = read_mutant(path, buf, n, seeds[s].fmt, &bad);
        if (d > 0)
            total_docs += d;
    }
    CHECK_EQ_INT(bad, 0);
    CHECK(total_docs > 500); /* most mutants still yield documents */

    /* chunker on random bytes */
    int cbad = 0;
    for (int it = 0; it < 2000; it++) {
        size_t n = rnd(600);
        for (size_t i = 0; i < n; i++)
            buf[i] = rnd(3) == 0 ? " \n.!?"[rnd(5)] : (char)rnd(256);
        int max = 1 + (int)rnd(20), ov = (int)rnd((unsigned)max);
        sem_span *sp;
        size_t ns;
        if (sem_chunk(buf, n, max, ov, NULL, NULL, &sp, &ns, &err) != SEM_OK) {
            cbad++;
            continue;
        }
        for (size_t i = 0; i < ns; i++) {
            cbad += sp[i].start >= sp[i].end || sp[i].end > n || sp[i].n_tokens > max;
            if (i)
                cbad += sp[i].start <= sp[i - 1].start;
        }
        free(sp);
    }
    CHECK_EQ_INT(cbad, 0);
    free(buf);
    free(faq);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    TEST_END();
}
