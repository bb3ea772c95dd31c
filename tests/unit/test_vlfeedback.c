/* VLFeedback -> preference pairs (spec §9.3): every skip rule, both completions layouts, array
 * and JSONL input, malformed records, all-bad input, and the exact pairs read back through
 * silkie_pref_reader. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "silkie/silkie_train.h"

/* Annotations with the three aspects; each argument is a JSON fragment (a string or number). */
#define ANN(h, e, v)                                                                   \
    "{\"Helpfulness\": {\"Rating\": " h ", \"Rationale\": \"r\"}, "                    \
    "\"Ethical Considerations\": {\"Rating\": " e ", \"Rationale\": \"r\"}, "          \
    "\"Visual Faithfulness\": {\"Rating\": " v ", \"Rationale\": \"r\"}}"
#define COMP(model, resp, ann) \
    "{\"model\": \"" model "\", \"response\": \"" resp "\", \"annotations\": " ann "}"

/* Four completions with means 3, 5, 2, 4: all six pairs are written. */
#define REC0                                                                                 \
    "{\"id\": \"r0\", \"prompt\": \"What is shown?\", \"img_path\": \"img/0.jpg\", "         \
    "\"models\": [\"m1\", \"m2\", \"m3\", \"m4\"], \"completions\": ["                       \
    COMP("m1", "A cat.", ANN("\"3\"", "\"3.5\"", "\"2.5\"")) ", "                            \
    COMP("m2", "A dog.", ANN("5", "\"5\"", "\"5.0\"")) ", "                                  \
    COMP("m3", "A bird.", ANN("\"1\"", "\"2\"", "\"3\"")) ", "                               \
    COMP("m4", "A fish.", ANN("\"4\"", "\" 4 \"", "\"4.00\"")) "]}"
/* "N/A", "6", then two completions of mean 4: 3 unparsable, 2 out of range, 1 equal. */
#define REC1                                                                                 \
    "{\"id\": \"r1\", \"prompt\": \"p1\", \"img_path\": \"img/1.jpg\", \"completions\": ["   \
    COMP("a", "N/A one.", ANN("\"N/A\"", "\"5\"", "\"5\"")) ", "                             \
    COMP("b", "Six one.", ANN("\"6\"", "\"5\"", "\"5\"")) ", "                               \
    COMP("c", "Four.", ANN("\"4\"", "\"4\"", "\"4\"")) ", "                                  \
    COMP("d", "Also four.", ANN("\"5\"", "\"4\"", "\"3\"")) "]}"
/* Malformed: no img_path. */
#define REC2                                                                                 \
    "{\"id\": \"r2\", \"prompt\": \"p2\", \"completions\": ["                                \
    COMP("a", "x", ANN("\"1\"", "\"1\"", "\"1\"")) ", "                                      \
    COMP("b", "y", ANN("\"5\"", "\"5\"", "\"5\"")) "]}"
/* Parallel lists (Hugging Face datasets): means 3, 4.5 and an empty response. */
#define REC3                                                                                 \
    "{\"id\": 7, \"prompt\": \"p3\", \"img_path\": \"img/3.jpg\", \"completions\": {"        \
    "\"model\": [\"a\", \"b\", \"c\"], \"response\": [\"Low.\", \"High.\", \"\"], "          \
    "\"annotations\": [" ANN("3", "3", "3") ", " ANN("\"4.5\"", "\"4.5\"", "\"4.5\"") ", "   \
    ANN("5", "5", "5") "]}}"
#define REC4 "42"
/* Malformed: parallel lists of different lengths. */
#define REC5                                                                                 \
    "{\"prompt\": \"p5\", \"img_path\": \"x.jpg\", \"completions\": {\"response\": "         \
    "[\"a\", \"b\"], \"annotations\": [" ANN("1", "1", "1") "]}}"
/* Same text with different means (skipped), and two real pairs; no id. */
#define REC6                                                                                 \
    "{\"prompt\": \"p6\", \"img_path\": \"img/6.jpg\", \"completions\": ["                   \
    COMP("a", "Same.", ANN("5", "5", "5")) ", " COMP("b", "Same.", ANN("1", "1", "1")) ", "  \
    COMP("c", "Other.", ANN("2", "2", "2")) "]}"

static const char *const k_records[] = {REC0, REC1, REC2, REC3, REC4, REC5, REC6};

typedef struct want_pair {
    const char *image, *prompt, *chosen, *rejected, *tail; /* tail: the id and pair fields */
} want_pair;

static const want_pair k_want[] = {
    {"img/0.jpg", "What is shown?", "A dog.", "A cat.", ", \"id\": \"r0\", \"pair\": [1, 0]}"},
    {"img/0.jpg", "What is shown?", "A cat.", "A bird.", ", \"id\": \"r0\", \"pair\": [0, 2]}"},
    {"img/0.jpg", "What is shown?", "A fish.", "A cat.", ", \"id\": \"r0\", \"pair\": [3, 0]}"},
    {"img/0.jpg", "What is shown?", "A dog.", "A bird.", ", \"id\": \"r0\", \"pair\": [1, 2]}"},
    {"img/0.jpg", "What is shown?", "A dog.", "A fish.", ", \"id\": \"r0\", \"pair\": [1, 3]}"},
    {"img/0.jpg", "What is shown?", "A fish.", "A bird.", ", \"id\": \"r0\", \"pair\": [3, 2]}"},
    {"img/3.jpg", "p3", "High.", "Low.", ", \"id\": 7, \"pair\": [1, 0]}"},
    {"img/6.jpg", "p6", "Same.", "Other.", ", \"pair\": [0, 2]}"},
    {"img/6.jpg", "p6", "Other.", "Same.", ", \"pair\": [2, 1]}"},
};

static char g_dir[64];

static const char *path_of(const char *name)
{
    static char buf[4][256];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", g_dir, name);
    return buf[k];
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    SK_TEST_CHECK(f != NULL, "create %s", path);
    if (!f) return;
    fputs(text, f);
    fclose(f);
}

static char *read_text(const char *path)
{
    size_t n = 0;
    char *b = sk_read_file(path, &n);
    if (!b) return NULL;
    char *t = silkie_malloc(n + 1);
    memcpy(t, b, n);
    t[n] = 0;
    silkie_free(b);
    return t;
}

/* Joins the records: JSONL (one per line) or a JSON array with one record per line. */
static char *join(int array)
{
    size_t cap = 16;
    for (size_t i = 0; i < SK_ARRAY_LEN(k_records); i++) cap += strlen(k_records[i]) + 3;
    char *t = silkie_malloc(cap);
    strcpy(t, array ? "[\n" : "");
    for (size_t i = 0; i < SK_ARRAY_LEN(k_records); i++) {
        strcat(t, k_records[i]);
        bool last = i + 1 == SK_ARRAY_LEN(k_records);
        strcat(t, array ? (last ? "\n]\n" : ",\n") : "\n");
    }
    return t;
}

/* Reads every pair of path back with silkie_pref_reader and compares with k_want. */
static void check_pairs(const char *what, const char *path, const want_pair *want, size_t n_want)
{
    silkie_pref_reader *r = NULL;
    SK_TEST_OK(silkie_pref_reader_open(path, &r));
    if (!r) return;
    silkie_pref_pair p;
    uint64_t line = 0;
    size_t n = 0;
    silkie_status st;
    while ((st = silkie_pref_reader_next(r, &p, &line)) == SILKIE_OK) {
        if (n < n_want) {
            const want_pair *w = &want[n];
            SK_TEST_CHECK(p.n_images == 1 && !strcmp(p.images[0], w->image), "%s pair %zu image",
                          what, n);
            SK_TEST_CHECK(!strcmp(p.prompt, w->prompt), "%s pair %zu prompt '%s'", what, n,
                          p.prompt);
            SK_TEST_CHECK(!strcmp(p.chosen, w->chosen) && !strcmp(p.rejected, w->rejected),
                          "%s pair %zu: chosen '%s' rejected '%s', want '%s' '%s'", what, n,
                          p.chosen, p.rejected, w->chosen, w->rejected);
            SK_TEST_CHECK(line == n + 1, "%s pair %zu on line %llu", what, n,
                          (unsigned long long)line);
        }
        n++;
    }
    SK_TEST_STATUS(st, SILKIE_ERR_END_OF_STREAM);
    SK_TEST_CHECK(n == n_want, "%s: %zu pairs, want %zu", what, n, n_want);
    silkie_pref_reader_destroy(r);
    /* The id and pair fields, which the reader ignores, checked on the raw lines. */
    char *t = read_text(path);
    const char *line_start = t;
    for (size_t i = 0; t && i < n_want && line_start && *line_start; i++) {
        const char *nl = strchr(line_start, '\n');
        size_t len = nl ? (size_t)(nl - line_start) : strlen(line_start);
        size_t tl = strlen(want[i].tail);
        if (want[i].tail[0])
            SK_TEST_CHECK(len >= tl && !memcmp(line_start + len - tl, want[i].tail, tl),
                          "%s line %zu ends '%.*s', want '%s'", what, i + 1, (int)SK_MIN(len, 40),
                          line_start + (len > 40 ? len - 40 : 0), want[i].tail);
        line_start = nl ? nl + 1 : NULL;
    }
    silkie_free(t);
}

static void check_main_stats(const char *what, const silkie_vlfeedback_stats *s,
                             uint64_t first_bad_line)
{
    SK_TEST_CHECK(s->records_read == 7 && s->records_malformed == 3, "%s: records %llu/%llu", what,
                  (unsigned long long)s->records_read, (unsigned long long)s->records_malformed);
    SK_TEST_CHECK(s->completions_read == 14, "%s: completions %llu", what,
                  (unsigned long long)s->completions_read);
    SK_TEST_CHECK(s->pairs_written == 9, "%s: pairs %llu", what,
                  (unsigned long long)s->pairs_written);
    SK_TEST_CHECK(s->pairs_skipped_unparsable == 3 && s->pairs_skipped_out_of_range == 2 &&
                      s->pairs_skipped_empty == 2 && s->pairs_skipped_equal == 1 &&
                      s->pairs_skipped_identical == 1,
                  "%s: skipped %llu unparsable %llu range %llu empty %llu equal %llu identical",
                  what, (unsigned long long)s->pairs_skipped_unparsable,
                  (unsigned long long)s->pairs_skipped_out_of_range,
                  (unsigned long long)s->pairs_skipped_empty,
                  (unsigned long long)s->pairs_skipped_equal,
                  (unsigned long long)s->pairs_skipped_identical);
    SK_TEST_CHECK(s->first_malformed_line == first_bad_line, "%s: first malformed line %llu",
                  what, (unsigned long long)s->first_malformed_line);
}

/* No temporary file may be left beside the outputs. */
static void check_no_temp(const char *what)
{
    DIR *d = opendir(g_dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d)))
        SK_TEST_CHECK(!strstr(e->d_name, ".tmp"), "%s: leftover %s", what, e->d_name);
    closedir(d);
}

static void test_array_and_jsonl(void)
{
    silkie_vlfeedback_stats s;
    char *arr = join(1), *jsonl = join(0);
    write_text(path_of("in.json"), arr);
    write_text(path_of("in.jsonl"), jsonl);

    silkie_vlfeedback_stats_init(&s);
    SK_TEST_OK(silkie_vlfeedback_convert(path_of("in.json"), path_of("a.jsonl"), NULL, &s));
    check_main_stats("array", &s, 4);
    check_pairs("array", path_of("a.jsonl"), k_want, SK_ARRAY_LEN(k_want));

    silkie_vlfeedback_stats_init(&s);
    SK_TEST_OK(silkie_vlfeedback_convert(path_of("in.jsonl"), path_of("b.jsonl"), NULL, &s));
    check_main_stats("jsonl", &s, 3);
    check_pairs("jsonl", path_of("b.jsonl"), k_want, SK_ARRAY_LEN(k_want));

    /* Forcing the wrong format: read line by line, only the last record (no comma after it)
     * is a whole JSON value. */
    silkie_vlfeedback_params p;
    silkie_vlfeedback_params_init(&p);
    p.format = SILKIE_VLFEEDBACK_FORMAT_JSONL;
    silkie_vlfeedback_stats_init(&s);
    SK_TEST_OK(silkie_vlfeedback_convert(path_of("in.json"), NULL, &p, &s));
    SK_TEST_CHECK(s.records_read == 9 && s.records_malformed == 8 && s.pairs_written == 2 &&
                      s.first_malformed_line == 1,
                  "array as JSONL: %llu lines, %llu malformed",
                  (unsigned long long)s.records_read, (unsigned long long)s.records_malformed);
    p.format = SILKIE_VLFEEDBACK_FORMAT_ARRAY;
    SK_TEST_STATUS(silkie_vlfeedback_convert(path_of("in.jsonl"), NULL, &p, NULL),
                   SILKIE_ERR_BAD_DATA);

    /* The buffer entry point, counting only; a byte order mark and CRLF line ends. */
    size_t n = strlen(jsonl);
    char *crlf = silkie_malloc(2 * n + 4);
    size_t k = 0;
    memcpy(crlf, "\xef\xbb\xbf", 3);
    k = 3;
    for (size_t i = 0; i < n; i++) {
        if (jsonl[i] == '\n') crlf[k++] = '\r';
        crlf[k++] = jsonl[i];
    }
    silkie_vlfeedback_stats_init(&s);
    SK_TEST_OK(silkie_vlfeedback_convert_buffer(crlf, k, NULL, NULL, &s));
    check_main_stats("buffer crlf", &s, 3);
    SK_TEST_OK(silkie_vlfeedback_convert_buffer(crlf, k, path_of("c.jsonl"), NULL, NULL));
    check_pairs("buffer crlf", path_of("c.jsonl"), k_want, SK_ARRAY_LEN(k_want));
    silkie_free(crlf);
    check_no_temp("array and jsonl");
    silkie_free(arr);
    silkie_free(jsonl);
}

typedef struct rating_case {
    const char *rating; /* JSON fragment for Helpfulness; the other two are "3" */
    int want;           /* 0 written, 1 unparsable, 2 out of range */
} rating_case;

/* One record of two completions: the tested rating against a completion of mean 1. */
static void test_ratings(void)
{
    static const rating_case cases[] = {
        {"\"4\"", 0},       {"4", 0},          {"\"4.5\"", 0},     {"4.5", 0},
        {"\" 4 \"", 0},     {"\"1e0\"", 0},    {"\"+2\"", 0},      {"\"5\"", 0},
        {"\"1\"", 0},       {"\"5.0\"", 0},
        {"\"N/A\"", 1},     {"\"\"", 1},       {"\"0x4\"", 1},     {"\"nan\"", 1},
        {"\"inf\"", 1},     {"true", 1},       {"null", 1},        {"\"4,5\"", 1},
        {"\"4 5\"", 1},     {"\"e5\"", 1},     {"\"4e\"", 1},      {"1e400", 1},
        {"[4]", 1},         {"\".\"", 1},      {"\"four\"", 1},
        {"\"6\"", 2},       {"\"0\"", 2},      {"0.5", 2},         {"\"5.0001\"", 2},
        {"\"-1\"", 2},      {"\"1e1\"", 2},    {"0", 2},           {"\"0.99999\"", 2},
    };
    for (size_t i = 0; i < SK_ARRAY_LEN(cases); i++) {
        char rec[2048];
        snprintf(rec, sizeof rec,
                 "{\"prompt\": \"p\", \"img_path\": \"i.jpg\", \"completions\": [{\"response\": "
                 "\"t\", \"annotations\": {\"Helpfulness\": {\"Rating\": %s}, \"Ethical "
                 "Considerations\": {\"Rating\": \"3\"}, \"Visual Faithfulness\": {\"Rating\": "
                 "\"3\"}}}, {\"response\": \"u\", \"annotations\": " ANN("1", "1", "1") "}]}\n",
                 cases[i].rating);
        silkie_vlfeedback_stats s;
        silkie_vlfeedback_stats_init(&s);
        silkie_status st = silkie_vlfeedback_convert_buffer(rec, strlen(rec), NULL, NULL, &s);
        SK_TEST_STATUS(st, cases[i].want ? SILKIE_ERR_BAD_DATA : SILKIE_OK);
        uint64_t got[3] = {s.pairs_written, s.pairs_skipped_unparsable,
                           s.pairs_skipped_out_of_range};
        SK_TEST_CHECK(got[cases[i].want] == 1 && got[0] + got[1] + got[2] == 1 &&
                          s.records_malformed == 0,
                      "rating %s: written %llu unparsable %llu out of range %llu", cases[i].rating,
                      (unsigned long long)got[0], (unsigned long long)got[1],
                      (unsigned long long)got[2]);
    }
    /* Equal means from different spellings, a missing aspect, missing annotations, ratings
     * given directly as the aspect's value. */
    static const struct {
        const char *a, *b;
        int want; /* 0 written, 1 unparsable, 3 equal */
    } pairs[] = {
        {ANN("\"4.50\"", "\"4\"", "\"5\""), ANN("4.5", "\"5.0\"", "\" 4\""), 3},
        {ANN("\"2\"", "\"3\"", "\"4\""), ANN("3", "3", "3"), 3},
        {"{\"Helpfulness\": {\"Rating\": \"4\"}, \"Visual Faithfulness\": {\"Rating\": \"4\"}}",
         ANN("1", "1", "1"), 1},
        {"null", ANN("1", "1", "1"), 1},
        {"\"5\"", ANN("1", "1", "1"), 1},
        {"{\"Helpfulness\": \"5\", \"Ethical Considerations\": 5, \"Visual Faithfulness\": "
         "\"4\"}",
         ANN("1", "1", "1"), 0},
    };
    for (size_t i = 0; i < SK_ARRAY_LEN(pairs); i++) {
        char rec[2048];
        snprintf(rec, sizeof rec,
                 "[{\"prompt\": \"p\", \"img_path\": \"i.jpg\", \"completions\": [{\"response\": "
                 "\"t\", \"annotations\": %s}, {\"response\": \"u\", \"annotations\": %s}]}]",
                 pairs[i].a, pairs[i].b);
        silkie_vlfeedback_stats s;
        silkie_vlfeedback_stats_init(&s);
        (void)silkie_vlfeedback_convert_buffer(rec, strlen(rec), NULL, NULL, &s);
        uint64_t got[4] = {s.pairs_written, s.pairs_skipped_unparsable, 0,
                           s.pairs_skipped_equal};
        SK_TEST_CHECK(got[pairs[i].want] == 1 && got[0] + got[1] + got[3] == 1,
                      "annotation case %zu: written %llu unparsable %llu equal %llu", i,
                      (unsigned long long)got[0], (unsigned long long)got[1],
                      (unsigned long long)got[3]);
    }
}

/* Text that needs escaping comes back byte for byte. */
static void test_escaping(void)
{
    const char *rec =
        "{\"prompt\": \"Say \\\"hi\\\"\\n\\tnow \\\\ \\u0001 \\u00e9 \xe6\x97\xa5\", "
        "\"img_path\": \"dir/\\u56fe.jpg\", \"completions\": [{\"response\": \"line1\\r\\nline2\", "
        "\"annotations\": " ANN("5", "5", "5") "}, {\"response\": \"\\u001f\\b\\f/\", "
        "\"annotations\": " ANN("1", "1", "1") "}]}";
    write_text(path_of("esc.jsonl"), rec);
    SK_TEST_OK(silkie_vlfeedback_convert(path_of("esc.jsonl"), path_of("esc_out.jsonl"), NULL,
                                         NULL));
    const want_pair w = {"dir/\xe5\x9b\xbe.jpg", "Say \"hi\"\n\tnow \\ \x01 \xc3\xa9 \xe6\x97\xa5",
                         "line1\r\nline2", "\x1f\b\f/", ", \"pair\": [0, 1]}"};
    check_pairs("escaping", path_of("esc_out.jsonl"), &w, 1);
}

static void test_malformed_and_errors(void)
{
    static const struct {
        const char *text;
        silkie_status want;
        uint64_t read, malformed;
    } cases[] = {
        {"", SILKIE_ERR_BAD_DATA, 0, 0},
        {"  \n\n \r\n", SILKIE_ERR_BAD_DATA, 0, 0},
        {"[]", SILKIE_ERR_BAD_DATA, 0, 0},
        {" [ ] \n", SILKIE_ERR_BAD_DATA, 0, 0},
        {"[" REC0, SILKIE_ERR_BAD_DATA, 1, 0},               /* not closed */
        {"[" REC0 ",", SILKIE_ERR_BAD_DATA, 1, 0},
        {"[" REC0 ",]", SILKIE_ERR_BAD_DATA, 1, 0},          /* trailing comma */
        {"[" REC0 " " REC0 "]", SILKIE_ERR_BAD_DATA, 1, 0},  /* missing comma */
        {"[" REC0 "] x", SILKIE_ERR_BAD_DATA, 1, 0},         /* data after the array */
        {"[" REC0 "] []", SILKIE_ERR_BAD_DATA, 1, 0},
        {"[{\"a\": \"]\"", SILKIE_ERR_BAD_DATA, 0, 0},       /* ends inside a record */
        {"[,]", SILKIE_ERR_BAD_DATA, 0, 0},
        {"[" REC0 ", 1, \"s\", null, [1], {\"x\": tru}]", SILKIE_OK, 6, 5},
        {"[" REC2 "]", SILKIE_ERR_BAD_DATA, 1, 1},           /* all bad */
        {REC2 "\n" REC4 "\n" REC5 "\n{oops\n", SILKIE_ERR_BAD_DATA, 4, 4},
        {REC0 " trailing\n", SILKIE_ERR_BAD_DATA, 1, 1},
        {REC0 "\n" REC0 "x\n", SILKIE_OK, 2, 1},
        {"{\"prompt\": 1, \"img_path\": \"a\", \"completions\": []}", SILKIE_ERR_BAD_DATA, 1, 1},
        {"{\"prompt\": \"p\", \"img_path\": \"\", \"completions\": []}", SILKIE_ERR_BAD_DATA, 1, 1},
        {"{\"prompt\": \"p\", \"img_path\": \"a\", \"completions\": \"x\"}", SILKIE_ERR_BAD_DATA,
         1, 1},
        {"{\"prompt\": \"p\", \"img_path\": \"a\", \"completions\": [1]}", SILKIE_ERR_BAD_DATA, 1,
         1},
        {"{\"prompt\": \"p\", \"img_path\": \"a\", \"completions\": [{\"response\": 3}]}",
         SILKIE_ERR_BAD_DATA, 1, 1},
        {"{\"prompt\": \"p\", \"img_path\": \"a\", \"completions\": [{\"annotations\": {}}]}",
         SILKIE_ERR_BAD_DATA, 1, 1},
        {"{\"prompt\": \"p\", \"img_path\": \"a\", \"completions\": {\"response\": [\"a\"], "
         "\"annotations\": [{}], \"model\": [\"m\", \"n\"]}}",
         SILKIE_ERR_BAD_DATA, 1, 1},
        {"{\"prompt\": \"p\", \"img_path\": \"a\", \"completions\": {\"response\": [\"a\"], "
         "\"annotations\": [{}], \"model\": \"m\"}}",
         SILKIE_ERR_BAD_DATA, 1, 1},
        {"{\"prompt\": \"p\", \"img_path\": \"a\", \"completions\": {\"response\": \"a\", "
         "\"annotations\": [{}]}}",
         SILKIE_ERR_BAD_DATA, 1, 1},
        /* Good but pairless: one completion, no completions, all equal, null responses. */
        {"{\"prompt\": \"p\", \"img_path\": \"a\", \"completions\": ["
         COMP("a", "x", ANN("1", "1", "1")) "]}",
         SILKIE_ERR_BAD_DATA, 1, 0},
        {"{\"prompt\": \"p\", \"img_path\": \"a\", \"completions\": []}", SILKIE_ERR_BAD_DATA, 1,
         0},
        {"{\"prompt\": \"p\", \"img_path\": \"a\", \"completions\": {\"response\": [\"x\", null], "
         "\"annotations\": [" ANN("1", "1", "1") ", " ANN("5", "5", "5") "]}}",
         SILKIE_ERR_BAD_DATA, 1, 0},
    };
    for (size_t i = 0; i < SK_ARRAY_LEN(cases); i++) {
        silkie_vlfeedback_stats s;
        silkie_vlfeedback_stats_init(&s);
        int64_t live = silkie_alloc_live();
        write_text(path_of("old.jsonl"), "old\n");
        silkie_status st = silkie_vlfeedback_convert_buffer(
            cases[i].text, strlen(cases[i].text), path_of("old.jsonl"), NULL, &s);
        SK_TEST_CHECK(st == cases[i].want, "case %zu: %s (%s)", i, silkie_status_name(st),
                      silkie_last_error());
        SK_TEST_CHECK(st == SILKIE_OK || silkie_last_error()[0], "case %zu: no message", i);
        SK_TEST_CHECK(s.records_read == cases[i].read && s.records_malformed == cases[i].malformed,
                      "case %zu: %llu records, %llu malformed", i,
                      (unsigned long long)s.records_read, (unsigned long long)s.records_malformed);
        SK_TEST_CHECK(silkie_alloc_live() == live, "case %zu: leak", i);
        char *t = read_text(path_of("old.jsonl"));
        SK_TEST_CHECK(t && (st == SILKIE_OK) == (strcmp(t, "old\n") != 0),
                      "case %zu: output %s", i, st == SILKIE_OK ? "not replaced" : "changed");
        silkie_free(t);
    }
    check_no_temp("malformed");

    /* A record over the size limit is malformed; the next one is read. */
    silkie_vlfeedback_params p;
    silkie_vlfeedback_params_init(&p);
    p.max_record_bytes = strlen(REC0);
    char longer[4096], text[8192];
    snprintf(longer, sizeof longer, "{\"pad\": 1, %s", &REC0[1]);
    snprintf(text, sizeof text, "[%s, %s]", longer, REC0);
    silkie_vlfeedback_stats s;
    silkie_vlfeedback_stats_init(&s);
    SK_TEST_OK(silkie_vlfeedback_convert_buffer(text, strlen(text), NULL, &p, &s));
    SK_TEST_CHECK(s.records_read == 2 && s.records_malformed == 1 && s.pairs_written == 6,
                  "size limit: %llu read, %llu malformed", (unsigned long long)s.records_read,
                  (unsigned long long)s.records_malformed);
    snprintf(text, sizeof text, "%s\n%s\n", longer, REC0);
    silkie_vlfeedback_stats_init(&s);
    SK_TEST_OK(silkie_vlfeedback_convert_buffer(text, strlen(text), NULL, &p, &s));
    SK_TEST_CHECK(s.records_malformed == 1 && s.pairs_written == 6 && s.first_malformed_line == 1,
                  "size limit, JSONL");

    /* Too many completions. */
    size_t cap = 64 + (SILKIE_VLFEEDBACK_MAX_COMPLETIONS + 1) * 300;
    char *many = silkie_malloc(cap);
    strcpy(many, "{\"prompt\": \"p\", \"img_path\": \"a\", \"completions\": [");
    for (int i = 0; i <= SILKIE_VLFEEDBACK_MAX_COMPLETIONS; i++)
        snprintf(many + strlen(many), cap - strlen(many), "%s{\"response\": \"r%d\", "
                 "\"annotations\": " ANN("%d", "3", "3") "}", i ? ", " : "", i, 1 + i % 5);
    strcat(many, "]}");
    silkie_vlfeedback_stats_init(&s);
    SK_TEST_STATUS(silkie_vlfeedback_convert_buffer(many, strlen(many), NULL, NULL, &s),
                   SILKIE_ERR_BAD_DATA);
    SK_TEST_CHECK(s.records_malformed == 1, "too many completions");
    silkie_free(many);

    /* Arguments and files. */
    SK_TEST_STATUS(silkie_vlfeedback_convert(NULL, NULL, NULL, NULL), SILKIE_ERR_INVALID_ARGUMENT);
    SK_TEST_STATUS(silkie_vlfeedback_convert_buffer(NULL, 3, NULL, NULL, NULL),
                   SILKIE_ERR_INVALID_ARGUMENT);
    silkie_vlfeedback_stats zero = {0};
    SK_TEST_STATUS(silkie_vlfeedback_convert_buffer(REC0, strlen(REC0), NULL, NULL, &zero),
                   SILKIE_ERR_INVALID_ARGUMENT);
    p.format = (silkie_vlfeedback_format)7;
    SK_TEST_STATUS(silkie_vlfeedback_convert_buffer(REC0, strlen(REC0), NULL, &p, NULL),
                   SILKIE_ERR_INVALID_ARGUMENT);
    silkie_vlfeedback_params small = {.struct_size = sizeof(uint32_t)}; /* an older caller */
    SK_TEST_OK(silkie_vlfeedback_convert_buffer(REC0, strlen(REC0), NULL, &small, NULL));
    SK_TEST_STATUS(silkie_vlfeedback_convert(path_of("missing.json"), NULL, NULL, NULL),
                   SILKIE_ERR_IO);
    SK_TEST_STATUS(silkie_vlfeedback_convert_buffer(REC0, strlen(REC0),
                                                    path_of("no/such/dir.jsonl"), NULL, NULL),
                   SILKIE_ERR_IO);
    SK_TEST_STATUS(silkie_vlfeedback_convert_buffer(REC0, strlen(REC0), g_dir, NULL, NULL),
                   SILKIE_ERR_IO);
    check_no_temp("errors");
}

/* Records crossing the file reader's 64 KiB chunks, at many offsets: the file and the buffer
 * entry points must write the same bytes. */
static void test_chunk_boundaries(void)
{
    size_t cap = 400000, n = 0;
    char *body = silkie_malloc(cap);
    sk_rng r;
    sk_rng_seed(&r, 42);
    for (int i = 0; n + 4000 < cap / 2; i++) {
        char pad[1200];
        size_t pn = sk_rng_u32(&r) % (sizeof pad - 1);
        memset(pad, 'a' + i % 26, pn);
        pad[pn] = 0;
        n += (size_t)snprintf(body + n, cap - n,
                              "%s{\"id\": %d, \"prompt\": \"%s \\\"q\\\" [x] {y}\", \"img_path\": "
                              "\"i%d.jpg\", \"completions\": [{\"response\": \"r%d\", "
                              "\"annotations\": " ANN("%d", "3", "3") "}, {\"response\": "
                              "\"s%d\\n\", \"annotations\": " ANN("3", "3", "3") "}]}",
                              i ? "%SEP%" : "", i, pad, i, i, 1 + i % 5, i);
    }
    char *text = silkie_malloc(2 * cap);
    for (int array = 0; array < 2; array++)
        for (int shift = 0; shift < 24; shift++) {
            size_t k = 0;
            memset(text, ' ', (size_t)shift * 37);
            k = (size_t)shift * 37;
            if (array) text[k++] = '[';
            for (const char *q = body; *q;) {
                if (!strncmp(q, "%SEP%", 5)) {
                    const char *sep = array ? ",\n" : "\n";
                    memcpy(text + k, sep, strlen(sep));
                    k += strlen(sep);
                    q += 5;
                } else {
                    text[k++] = *q++;
                }
            }
            if (array) text[k++] = ']';
            text[k++] = '\n';
            text[k] = 0;
            write_text(path_of("big.in"), text);
            silkie_vlfeedback_stats a, b;
            silkie_vlfeedback_stats_init(&a);
            silkie_vlfeedback_stats_init(&b);
            SK_TEST_OK(silkie_vlfeedback_convert(path_of("big.in"), path_of("big_f.jsonl"), NULL,
                                                 &a));
            SK_TEST_OK(silkie_vlfeedback_convert_buffer(text, k, path_of("big_b.jsonl"), NULL,
                                                        &b));
            SK_TEST_CHECK(!memcmp(&a, &b, sizeof a) && a.records_malformed == 0 &&
                              a.pairs_written + a.pairs_skipped_equal == a.records_read,
                          "array %d shift %d: %llu/%llu records, %llu pairs", array, shift,
                          (unsigned long long)a.records_read,
                          (unsigned long long)a.records_malformed,
                          (unsigned long long)a.pairs_written);
            char *fa = read_text(path_of("big_f.jsonl")), *fb = read_text(path_of("big_b.jsonl"));
            SK_TEST_CHECK(fa && fb && !strcmp(fa, fb), "array %d shift %d: outputs differ", array,
                          shift);
            silkie_free(fa);
            silkie_free(fb);
        }
    SK_TEST_CHECK(n > 3 * 65536 / 2, "input of %zu bytes", n);
    silkie_free(text);
    silkie_free(body);
}

/* Every allocation point fails once: out of memory or success, never a leak or a crash. */
static void test_alloc_failures(void)
{
    char *arr = join(1);
    int64_t live = silkie_alloc_live();
    uint64_t n = 1;
    for (; n < 10000; n++) {
        silkie_alloc_fail_at(n);
        silkie_status st =
            silkie_vlfeedback_convert_buffer(arr, strlen(arr), path_of("oom.jsonl"), NULL, NULL);
        silkie_alloc_fail_at(0);
        SK_TEST_CHECK(silkie_alloc_live() == live, "fail at %llu leaks",
                      (unsigned long long)n);
        if (st == SILKIE_OK) break;
        SK_TEST_CHECK(st == SILKIE_ERR_OUT_OF_MEMORY, "fail at %llu: %s (%s)",
                      (unsigned long long)n, silkie_status_name(st), silkie_last_error());
    }
    SK_TEST_CHECK(n > 1, "no allocation seen");
    check_pairs("after allocation failures", path_of("oom.jsonl"), k_want, SK_ARRAY_LEN(k_want));
    check_no_temp("allocation failures");
    silkie_free(arr);
}

static void cleanup(void)
{
    DIR *d = opendir(g_dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)))
            if (e->d_name[0] != '.') remove(path_of(e->d_name));
        closedir(d);
    }
    rmdir(g_dir);
}

int main(void)
{
    snprintf(g_dir, sizeof g_dir, "vlfeedback_test_%ld", (long)getpid());
    if (mkdir(g_dir, 0755) != 0) {
        perror(g_dir);
        return 1;
    }
    silkie_log_set_level(SILKIE_LOG_ERROR); /* malformed records are logged at WARN */
    int64_t live = silkie_alloc_live();
    test_array_and_jsonl();
    test_ratings();
    test_escaping();
    test_malformed_and_errors();
    test_chunk_boundaries();
    test_alloc_failures();
    SK_TEST_CHECK(silkie_alloc_live() == live, "leak of %lld",
                  (long long)(silkie_alloc_live() - live));
    cleanup();
    return sk_test_result("test_vlfeedback");
}
