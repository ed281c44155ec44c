/* tests/indexer/test_modelpick.c: the model auto-pick of a new KB (indexer/modelpick.c): script counts on mixed
 * text, invalid UTF-8 and empty input; and sem_index_pick_model over real inputs with a models folder of our own
 * (both models installed, the Chinese one missing, none), the bounded sample, and what it logs. */
#include "test.h"
#include "test_util.h"

#include <stdlib.h>
#include <unistd.h>

#include "common/log.h"
#include "hub/hub.h"
#include "indexer/indexer.h"

static char tmp[256], models[512];

static sem_script_count count_of(const char *s, size_t len)
{
    sem_script_count c = {0, 0, 0};
    sem_script_count_add(&c, s, len);
    return c;
}

#define COUNT(lit, h, w, bad)                                                                              \
    do {                                                                                                   \
        sem_script_count c_ = count_of(lit, sizeof(lit) - 1);                                              \
        CHECK_MSG(c_.han == (h) && c_.words == (w) && c_.invalid == (bad),                                 \
                  "%s: han %llu words %llu invalid %llu", #lit, (unsigned long long)c_.han,                \
                  (unsigned long long)c_.words, (unsigned long long)c_.invalid);                           \
    } while (0)

static void test_counts(void)
{
    COUNT("", 0, 0, 0);
    COUNT("   \n\t ", 0, 0, 0);
    COUNT("Hello, world!", 0, 2, 0);
    COUNT("apt install 软件包", 3, 2, 0);          /* mixed: 3 Han units, 2 words */
    COUNT("apt 怎么升级", 4, 1, 0);
    COUNT("如何用apt-get升级系统？", 7, 2, 0);      /* no spaces between scripts: "apt", "get" */
    COUNT("x86 i386 2024年 3.14", 1, 2, 0);         /* a word may hold digits; bare numbers count nothing */
    COUNT("，。！“”（）【】", 0, 0, 0);              /* CJK punctuation is neither */
    COUNT("café naïve e\xcc\x81t\xc3\xa9", 0, 3, 0); /* accents, a combining mark inside a word */
    COUNT("ひらがな カタカナ 한국어", 0, 3, 0);      /* kana and Hangul are other scripts' words */
    COUNT("\xef\xbc\xa1\xef\xbc\xa2\xef\xbc\xa3", 0, 1, 0); /* full-width ＡＢＣ is a Latin word */
    COUNT("\xf0\xa0\x80\x80\xef\xa4\x80", 2, 0, 0);          /* U+20000 (Ext B), U+F900 (compatibility) */
    COUNT("中\0文", 2, 0, 0);                        /* a NUL is not the end: the length is */
    /* invalid UTF-8: each bad byte is skipped and counted, and breaks a word */
    COUNT("\xff\xfe中文abc\xc3", 2, 1, 3);          /* stray bytes, a sequence cut at the end */
    COUNT("ab\xff" "cd", 0, 2, 1);
    COUNT("\xc0\xaf", 0, 0, 2);                      /* overlong '/' */
    COUNT("\xed\xa0\x80", 0, 0, 3);                  /* a UTF-16 surrogate */
    COUNT("\xe4\xb8", 0, 0, 2);                      /* 中 cut short */
    /* counts add up over calls */
    sem_script_count c = {0, 0, 0};
    sem_script_count_add(&c, "中文", 6);
    sem_script_count_add(&c, "two words", 9);
    CHECK_EQ_INT(c.han, 2);
    CHECK_EQ_INT(c.words, 2);
    CHECK_NEAR(sem_script_han_ratio(&c), 0.5, 1e-12);
    /* ratios */
    sem_script_count z = {0, 0, 0};
    CHECK_NEAR(sem_script_han_ratio(&z), 0.0, 0);
    c = count_of("apt install 软件包", strlen("apt install 软件包"));
    CHECK_NEAR(sem_script_han_ratio(&c), 0.6, 1e-12);
    c = count_of("\xff\xff", 2);
    CHECK_NEAR(sem_script_han_ratio(&c), 0.0, 0);
    /* linear and exact on a large input */
    const char *unit = "软件 apt ";
    size_t ul = strlen(unit), reps = 100000;
    char *big = malloc(ul * reps);
    CHECK(big != NULL);
    if (big) {
        for (size_t i = 0; i < reps; i++)
            memcpy(big + i * ul, unit, ul);
        c = count_of(big, ul * reps);
        CHECK_EQ_INT(c.han, 2 * reps);
        CHECK_EQ_INT(c.words, reps);
        CHECK_EQ_INT(c.invalid, 0);
        free(big);
    }
}

/* ---- sem_index_pick_model ---- */

static char logbuf[8192];
static int last_level;

static void capture(int level, const char *msg, void *ud)
{
    (void)ud;
    last_level = level;
    snprintf(logbuf, sizeof logbuf, "%s", msg);
}

static const char *write_input(const char *name, const char *content)
{
    static char path[1024];
    snprintf(path, sizeof path, "%s/%s", tmp, name);
    CHECK_EQ_INT(tst_write_file(path, content, strlen(content)), 0);
    return path;
}

/* A JSONL file of n documents, each with the given text. */
static const char *write_docs(const char *name, int n, const char *text, int first_id)
{
    static char path[1024];
    snprintf(path, sizeof path, "%s/%s", tmp, name);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (!f)
        return path;
    for (int i = 0; i < n; i++)
        fprintf(f, "{\"id\":\"d%d\",\"text\":\"%s\"}\n", first_id + i, text);
    fclose(f);
    return path;
}

static sem_model_pick pick1(const char *input)
{
    sem_model_pick p;
    const char *in[1] = {input};
    logbuf[0] = 0;
    last_level = -1;
    sem_index_pick_model(in, 1, NULL, models, &p);
    return p;
}

#define ZH_TEXT "如何把软件包设置为保留，不让 apt 升级它？使用 apt-mark hold 命令即可。"
#define EN_TEXT "How do I keep a package from being upgraded? Use apt-mark hold."

static void test_pick(void)
{
    char zh_dir[600], en_dir[600];
    snprintf(models, sizeof models, "%s/models", tmp);
    snprintf(zh_dir, sizeof zh_dir, "%s/semsearch-zh", models);
    snprintf(en_dir, sizeof en_dir, "%s/semsearch-default", models);
    CHECK_EQ_INT(tst_sh("mkdir -p '%s' '%s' && echo '{}' >'%s/config.json' && echo '{}' >'%s/config.json'", zh_dir,
                        en_dir, zh_dir, en_dir), 0);
    sem_log_set(capture, NULL);

    char zh[1024], en[1024];
    snprintf(zh, sizeof zh, "%s", write_docs("zh.jsonl", 5, ZH_TEXT, 0));
    snprintf(en, sizeof en, "%s", write_docs("en.jsonl", 5, EN_TEXT, 0));
    sem_model_pick p = pick1(zh);
    CHECK_STREQ(p.model, zh_dir);
    CHECK_STREQ(p.name, SEM_MODEL_ZH_NAME);
    CHECK_EQ_INT(p.chinese, 1);
    CHECK_EQ_INT(p.zh_missing, 0);
    CHECK_EQ_INT(p.docs, 5);
    CHECK(p.han_ratio > 0.8);
    CHECK_EQ_INT(last_level, SEM_LOG_INFO);
    CHECK_MSG(strstr(logbuf, "semsearch-zh") && strstr(logbuf, "Chinese") && strstr(logbuf, "5 documents"), "%s",
              logbuf);

    p = pick1(en);
    CHECK_STREQ(p.model, en_dir);
    CHECK_STREQ(p.name, SEM_MODEL_DEFAULT_NAME);
    CHECK_EQ_INT(p.chinese, 0);
    CHECK_EQ_INT(p.count.han, 0);
    CHECK_EQ_INT(last_level, SEM_LOG_INFO);
    CHECK_MSG(strstr(logbuf, "semsearch-default") && strstr(logbuf, "non-Chinese"), "%s", logbuf);

    /* a CSV FAQ (question/answer columns) and a folder of text files are sampled like JSONL */
    p = pick1(write_input("faq.csv", "question,answer\n"
                                     "怎么升级系统？,运行 apt update 然后 apt upgrade。\n"));
    CHECK_STREQ(p.name, SEM_MODEL_ZH_NAME);
    CHECK_EQ_INT(p.docs, 1);
    CHECK_EQ_INT(tst_sh("mkdir -p '%s/txt' && printf '%%s' '软件包是什么？软件包是一组文件。' >'%s/txt/a.md'",
                        tmp, tmp), 0);
    char txt[600];
    snprintf(txt, sizeof txt, "%s/txt", tmp);
    p = pick1(txt);
    CHECK_STREQ(p.name, SEM_MODEL_ZH_NAME);

    /* several inputs: counted together, in order */
    const char *two[2] = {en, zh};
    sem_index_pick_model(two, 2, NULL, models, &p);
    CHECK_EQ_INT(p.docs, 10);
    CHECK(p.count.han > 0 && p.count.words > 0);

    /* nothing readable: the English model, no crash, and nothing said beyond debug level */
    p = pick1(write_input("empty.jsonl", ""));
    CHECK_EQ_INT(p.docs, 0);
    CHECK_STREQ(p.name, SEM_MODEL_DEFAULT_NAME);
    CHECK_EQ_INT(last_level, SEM_LOG_DEBUG);
    snprintf(txt, sizeof txt, "%s/no-such-file.jsonl", tmp);
    p = pick1(txt);
    CHECK_EQ_INT(p.docs, 0);
    CHECK_STREQ(p.name, SEM_MODEL_DEFAULT_NAME);
    sem_index_pick_model(NULL, 0, NULL, models, &p);
    CHECK_EQ_INT(p.docs, 0);

    /* bad records (invalid UTF-8, not JSON) are skipped, the good ones still count */
    p = pick1(write_input("bad.jsonl", "{\"id\":\"a\",\"text\":\"\xff\xfe\"}\nnot json\n"
                                       "{\"id\":\"b\",\"text\":\"中文文本\"}\n"));
    CHECK_EQ_INT(p.docs, 1);
    CHECK_STREQ(p.name, SEM_MODEL_ZH_NAME);

    /* mostly Chinese with English terms is Chinese; mostly English with a Chinese name is not */
    p = pick1(write_docs("mixed1.jsonl", 3, "用 apt install 安装软件包，用 apt remove 删除软件包。", 0));
    CHECK_STREQ(p.name, SEM_MODEL_ZH_NAME);
    p = pick1(write_docs("mixed2.jsonl", 3, "The Debian FAQ was translated by 王小明 for the Chinese team.", 0));
    CHECK_STREQ(p.name, SEM_MODEL_DEFAULT_NAME);
}

/* The sample is the first SEM_PICK_SAMPLE_DOCS documents, and the first SEM_PICK_SAMPLE_BYTES of each. */
static void test_bounds(void)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/order.jsonl", tmp);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (!f)
        return;
    for (int i = 0; i < SEM_PICK_SAMPLE_DOCS; i++)
        fprintf(f, "{\"id\":\"e%d\",\"text\":\"%s\"}\n", i, EN_TEXT);
    for (int i = 0; i < 3 * SEM_PICK_SAMPLE_DOCS; i++)
        fprintf(f, "{\"id\":\"z%d\",\"text\":\"%s\"}\n", i, ZH_TEXT);
    fclose(f);
    sem_model_pick p = pick1(path);
    CHECK_EQ_INT(p.docs, SEM_PICK_SAMPLE_DOCS);
    CHECK_EQ_INT(p.count.han, 0); /* the Chinese documents after the sample are not read */
    CHECK_STREQ(p.name, SEM_MODEL_DEFAULT_NAME);

    /* one long document: English first, Chinese after the byte budget */
    size_t n_en = 2 * SEM_PICK_SAMPLE_BYTES;
    f = fopen(path, "w");
    CHECK(f != NULL);
    if (!f)
        return;
    fputs("{\"id\":\"long\",\"text\":\"", f);
    for (size_t i = 0; i < n_en / 4; i++)
        fputs("abc ", f);
    for (int i = 0; i < 1000; i++)
        fputs("中文", f);
    fputs("\"}\n", f);
    fclose(f);
    p = pick1(path);
    CHECK_EQ_INT(p.docs, 1);
    CHECK_EQ_INT(p.count.han, 0);
    CHECK(p.count.words <= SEM_PICK_SAMPLE_BYTES / 4 + 1);
}

/* Models missing: the Chinese one (a warning and the English one), then both (no model). */
static void test_missing(void)
{
    char zh[1024];
    snprintf(zh, sizeof zh, "%s/zh.jsonl", tmp);
    CHECK_EQ_INT(tst_sh("rm -f '%s/semsearch-zh/config.json'", models), 0);
    sem_model_pick p = pick1(zh);
    CHECK_STREQ(p.name, SEM_MODEL_DEFAULT_NAME);
    CHECK_EQ_INT(p.chinese, 1);
    CHECK_EQ_INT(p.zh_missing, 1);
    CHECK_EQ_INT(last_level, SEM_LOG_WARN);
    CHECK_MSG(strstr(logbuf, "not installed") && strstr(logbuf, "semsearch-zh") && strstr(logbuf, "semsearch-default"),
              "%s", logbuf);
    CHECK_EQ_INT(tst_sh("rm -rf '%s/semsearch-default'", models), 0);
    p = pick1(zh);
    CHECK(p.name == NULL);
    CHECK_STREQ(p.model, "");
    CHECK_EQ_INT(last_level, SEM_LOG_WARN);
    CHECK_MSG(strstr(logbuf, "none"), "%s", logbuf);
    snprintf(zh, sizeof zh, "%s/en.jsonl", tmp);
    p = pick1(zh);
    CHECK(p.name == NULL);
    CHECK_EQ_INT(last_level, SEM_LOG_INFO);
    sem_log_set(NULL, NULL);
}

int main(void)
{
    tst_mkdtemp(tmp, sizeof tmp, "sem_modelpick");
    test_counts();
    test_pick();
    test_bounds();
    test_missing();
    tst_sh("rm -rf '%s'", tmp);
    TEST_END();
}
