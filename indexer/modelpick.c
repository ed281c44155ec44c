/* indexer/modelpick.c: which shipped model a new KB gets when `index add` is given none: the Chinese model
 * (semsearch-zh) for documents that are mostly Han text, else the English default (semsearch-default).
 *
 * The test is a ratio of units, not of bytes or characters: a Han character is a unit (Chinese has no spaces
 * and one character carries about what one English word does), and so is each word of another script. A
 * Chinese FAQ full of "apt", "Debian" and URLs still reads as Chinese; an English text quoting a Chinese name
 * does not. The sample is bounded (SEM_PICK_SAMPLE_DOCS documents, SEM_PICK_SAMPLE_BYTES bytes of each), so
 * the pick costs the same for a 100-document and a 10-million-document input. */
#include <stdio.h>
#include <string.h>
#include <utf8proc.h>

#include "common/jsonstr.h"
#include "common/log.h"
#include "hub/hub.h"
#include "indexer/indexer.h"

/* The ranges BERT's BasicTokenizer treats as Chinese characters (HF _is_chinese_char; also what
 * encoder/tokenizer.c splits), so "Han" here is what a Chinese vocabulary sees one character at a time. */
static int is_han(int32_t c)
{
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
           (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B820 && c <= 0x2CEAF) ||
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

/* The code point of the valid sequence s[0..n) (n from sem_utf8_seq_len, 1..4). */
static int32_t decode(const unsigned char *s, size_t n)
{
    if (n == 1)
        return s[0];
    int32_t c = s[0] & (0x7F >> n);
    for (size_t i = 1; i < n; i++)
        c = (c << 6) | (s[i] & 0x3F);
    return c;
}

void sem_script_count_add(sem_script_count *c, const char *text, size_t len)
{
    int in_word = 0;
    size_t i = 0;
    while (i < len) {
        size_t n = sem_utf8_seq_len(text + i, len - i);
        if (n == 0) {
            c->invalid++;
            in_word = 0;
            i++;
            continue;
        }
        int32_t cp = decode((const unsigned char *)text + i, n);
        i += n;
        if (is_han(cp)) {
            c->han++;
            in_word = 0;
            continue;
        }
        utf8proc_category_t cat = utf8proc_category(cp);
        int letter = cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_LO;
        int inner = cat >= UTF8PROC_CATEGORY_MN && cat <= UTF8PROC_CATEGORY_NO; /* marks and digits */
        if (letter && !in_word)
            c->words++;
        in_word = letter || (in_word && inner);
    }
}

double sem_script_han_ratio(const sem_script_count *c)
{
    uint64_t units = c->han + c->words;
    return units ? (double)c->han / (double)units : 0.0;
}

/* Counts the first SEM_PICK_SAMPLE_BYTES bytes of d (title, then text) into c. */
static void count_doc(sem_script_count *c, const sem_doc *d)
{
    size_t budget = SEM_PICK_SAMPLE_BYTES;
    const char *parts[2] = {d->title, d->text};
    for (int k = 0; k < 2 && budget; k++) {
        if (!parts[k])
            continue;
        size_t n = strlen(parts[k]);
        if (n > budget)
            n = sem_utf8_cut(parts[k], budget);
        sem_script_count_add(c, parts[k], n);
        budget -= n;
    }
}

/* Reads up to SEM_PICK_SAMPLE_DOCS documents from the start of the inputs into out->count / out->docs. */
static void sample(const char *const *inputs, int n_inputs, const sem_reader_params *rp, sem_model_pick *out)
{
    sem_doc d;
    memset(&d, 0, sizeof d);
    for (int i = 0; i < n_inputs && out->docs < SEM_PICK_SAMPLE_DOCS; i++) {
        sem_reader *r = sem_reader_open(inputs[i], rp, NULL);
        int rc = r ? 1 : 0;
        while (rc != 0 && out->docs < SEM_PICK_SAMPLE_DOCS) {
            rc = sem_reader_next(r, &d, NULL);
            if (rc == 1) {
                count_doc(&out->count, &d);
                out->docs++;
            } else if (rc != SEM_EINVAL && rc != SEM_ERANGE) {
                break; /* the end, or an error that indexing will report */
            }
        }
        sem_reader_free(r);
    }
    sem_doc_clear(&d);
}

/* Sets out->model / out->name to the shipped model `name` if it is installed; 1 if it is. */
static int take(sem_model_pick *out, const char *name, const char *models_dir)
{
    if (sem_hub_shipped_model_in(name, models_dir, out->model, sizeof out->model, NULL) != SEM_OK)
        return 0;
    out->name = name;
    return 1;
}

void sem_index_pick_model(const char *const *inputs, int n_inputs, const sem_reader_params *rp,
                          const char *models_dir, sem_model_pick *out)
{
    memset(out, 0, sizeof *out);
    sample(inputs, n_inputs, rp, out);
    out->han_ratio = sem_script_han_ratio(&out->count);
    out->chinese = out->count.han > 0 && out->han_ratio >= SEM_PICK_HAN_MIN;
    char why[160];
    snprintf(why, sizeof why, "%.0f%% Han characters among the words and characters of the first %ld document%s",
             100.0 * out->han_ratio, out->docs, out->docs == 1 ? "" : "s");
    if (out->chinese && take(out, SEM_MODEL_ZH_NAME, models_dir)) {
        sem_log(SEM_LOG_INFO, "model: %s, chosen for Chinese text (%s); pass --model to choose another",
                SEM_MODEL_ZH_NAME, why);
        return;
    }
    out->zh_missing = out->chinese;
    if (!take(out, SEM_MODEL_DEFAULT_NAME, models_dir))
        sem_log(out->chinese ? SEM_LOG_WARN : SEM_LOG_INFO, "model: none: neither %s nor %s is installed (%s)",
                SEM_MODEL_ZH_NAME, SEM_MODEL_DEFAULT_NAME, why);
    else if (out->chinese)
        sem_log(SEM_LOG_WARN, "the text is Chinese (%s) but the Chinese model %s is not installed: using the "
                "English model %s, which finds little in Chinese; pass --model to choose another (docs/hub.md)",
                why, SEM_MODEL_ZH_NAME, SEM_MODEL_DEFAULT_NAME);
    else /* with nothing read (a missing or empty input: indexing reports it) there is no reason to give */
        sem_log(out->docs ? SEM_LOG_INFO : SEM_LOG_DEBUG, "model: %s, chosen for non-Chinese text (%s); pass "
                "--model to choose another", SEM_MODEL_DEFAULT_NAME, why);
}
