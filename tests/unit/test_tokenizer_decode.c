/* Decoding: ids -> text, image spans, errors="replace", the streaming decoder, round trips. */
#include <stdlib.h>

#include "test_text.h"

static const char *const k_corpus[] = {
    "Hello, world!",
    /* 你好，世界！ */
    "\xe4\xbd\xa0\xe5\xa5\xbd\xef\xbc\x8c\xe4\xb8\x96\xe7\x95\x8c\xef\xbc\x81",
    "emoji \xf0\x9f\x98\x80\xf0\x9f\x91\x8d\xf0\x9f\x8f\xbd\xf0\x9f\x87\xa9\xf0\x9f\x87\xaa",
    "digits 1234567890 3.14159 2023-12-16",
    "    four spaces\t\ttabs   \n\n\n  trailing   ",
    "crlf line\r\nnext\r\n\r\n",
    "def f(x):\n    return {'a': x ** 2}  # square\n\tif x != 0: pass\n",
    "I'M sure you'LL see they've DONE it, didn't they?",
    "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82 \xe3\x81\x93\xe3\x82\x93\xe3\x81\xab "
    "\xe0\xa4\xa8\xe0\xa4\xae\xe0\xa4\xb8\xe0\xa5\x8d\xe0\xa4\xa4\xe0\xa5\x87 "
    "\xd9\x85\xd8\xb1\xd8\xad\xd8\xa8\xd8\xa7",
    "supercalifragilisticexpialidocious-antidisestablishmentarianism_pneumonoultramicroscopic",
    "<ref>the red car</ref><box>(12,340),(567,890)</box> and <quad>(1,2),(3,4),(5,6),(7,8)</quad>",
    "Picture 1: <img>\xe5\x9b\xbe/a b.jpg</img>\nWhat?",
    "\xc2\xa0nbsp\xe3\x80\x80ideographic\xe2\x80\203em\xc2\x85nel",
    "",
};

static char *decode(const silkie_tokenizer *t, const int32_t *ids, size_t n, uint32_t flags,
                    size_t *len)
{
    char *s = NULL;
    SK_TEST_OK(silkie_tokenizer_decode(t, ids, n, flags, &s, len));
    return s;
}

/* The streamed pieces must concatenate to the one-shot decode, and no piece may end inside a
 * character. */
static void check_stream(const silkie_tokenizer *t, const char *what, const int32_t *ids, size_t n,
                         uint32_t flags)
{
    size_t whole_n = 0;
    char *whole = decode(t, ids, n, flags, &whole_n);
    silkie_text_stream *s = NULL;
    SK_TEST_OK(silkie_text_stream_create(t, flags, &s));
    if (!whole || !s) {
        silkie_text_free(whole);
        silkie_text_stream_destroy(s);
        return;
    }
    char *acc = malloc(whole_n + 64);
    size_t m = 0;
    int split = 0;
    for (size_t i = 0; i <= n; i++) {
        const char *p = NULL;
        size_t k = 0;
        if (i < n) SK_TEST_OK(silkie_text_stream_push(s, ids[i], &p, &k));
        else SK_TEST_OK(silkie_text_stream_finish(s, &p, &k));
        if (m + k > whole_n + 64) break;
        memcpy(acc + m, p, k);
        m += k;
        /* a piece never ends with a lead byte or inside a sequence */
        if (k && (uint8_t)p[k - 1] >= 0xc0) split++;
    }
    SK_TEST_CHECK(m == whole_n && memcmp(acc, whole, m) == 0, "%s: stream != decode", what);
    SK_TEST_CHECK(split == 0, "%s: piece ends inside a character", what);
    free(acc);
    silkie_text_free(whole);
    silkie_text_stream_destroy(s);
}

static void test_round_trips(const silkie_tokenizer *t)
{
    for (size_t i = 0; i < SK_ARRAY_LEN(k_corpus); i++) {
        const char *text = k_corpus[i];
        silkie_token_list *l = tt_encode(t, text, strlen(text), SILKIE_SPECIALS_ALL, 0);
        if (!l) continue;
        size_t n = 0;
        char *back = decode(t, silkie_token_list_ids(l), silkie_token_list_size(l), 0, &n);
        SK_TEST_CHECK(back && n == strlen(text) && !memcmp(back, text, n),
                      "corpus %zu: decode(encode(x)) != x", i);
        /* and encoding the decoded text gives the same ids */
        silkie_token_list *l2 = back ? tt_encode(t, back, n, SILKIE_SPECIALS_ALL, 0) : NULL;
        if (l2) {
            int64_t *w = malloc((silkie_token_list_size(l) + 1) * sizeof *w);
            for (size_t k = 0; k < silkie_token_list_size(l); k++)
                w[k] = silkie_token_list_ids(l)[k];
            char what[48];
            snprintf(what, sizeof what, "corpus %zu: encode(decode(ids))", i);
            tt_ids_match(what, silkie_token_list_ids(l2), silkie_token_list_size(l2), w,
                         silkie_token_list_size(l));
            free(w);
        }
        char what[32];
        snprintf(what, sizeof what, "stream corpus %zu", i);
        check_stream(t, what, silkie_token_list_ids(l), silkie_token_list_size(l), 0);
        check_stream(t, what, silkie_token_list_ids(l), silkie_token_list_size(l),
                     SILKIE_DECODE_SKIP_SPECIAL);
        silkie_token_list_destroy(l2);
        silkie_text_free(back);
        silkie_token_list_destroy(l);
    }
}

/* Rank of a single byte: tiktoken keeps GPT-2's byte order ('!'..'~', 0xa1..0xac, 0xae..0xff,
 * then the remaining bytes ascending). */
static int32_t byte_rank(uint8_t b)
{
    if (b >= 0x21 && b <= 0x7e) return b - 0x21;
    if (b >= 0xa1 && b <= 0xac) return 94 + (b - 0xa1);
    if (b >= 0xae) return 106 + (b - 0xae);
    if (b <= 0x20) return 188 + b;
    if (b >= 0x7f && b <= 0xa0) return 221 + (b - 0x7f);
    return 255; /* 0xad */
}

/* Byte tokens fed one at a time split every multi-byte character at every boundary. */
static void test_stream_bytes(const silkie_tokenizer *t)
{
    /* multi-byte text, then invalid pieces: truncated sequences, a stray continuation, an
     * overlong, a surrogate, and an unfinished sequence at the end */
    static const char text[] = "a\xc3\xa9\xe4\xb8\xad\xf0\x9f\x98\x80z"
                               "\xe4\xb8" "b\x80" "c\xc0\xaf" "d\xed\xa0\x80" "e\xf0\x9f\x98";
    static const char want[] = "a\xc3\xa9\xe4\xb8\xad\xf0\x9f\x98\x80z"
                               "\xef\xbf\xbd" "b\xef\xbf\xbd" "c\xef\xbf\xbd\xef\xbf\xbd"
                               "d\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" "e\xef\xbf\xbd";
    size_t n = sizeof text - 1;
    int32_t ids[64];
    for (size_t i = 0; i < n; i++) ids[i] = byte_rank((uint8_t)text[i]);
    for (int c = 0x20; c < 0x7f; c++) { /* the table above, checked where bytes are printable */
        int32_t r = byte_rank((uint8_t)c);
        size_t k = 0;
        char *s = decode(t, &r, 1, 0, &k);
        SK_TEST_CHECK(s && k == 1 && s[0] == c, "byte rank of 0x%02x", c);
        silkie_text_free(s);
    }
    size_t got_n = 0;
    char *got = decode(t, ids, n, 0, &got_n);
    SK_TEST_CHECK(got && got_n == sizeof want - 1 && !memcmp(got, want, got_n),
                  "errors=replace semantics (%zu bytes)", got_n);
    silkie_text_free(got);
    check_stream(t, "byte stream", ids, n, 0);
}

static void test_specials_and_spans(const silkie_tokenizer *t)
{
    static const int32_t ids[] = {151644, 872, 198, 151857, 97, 46, 106, 151859, 151859, 151858,
                                  9707, 151645, 151643};
    size_t n = 0;
    char *s = decode(t, ids, SK_ARRAY_LEN(ids), 0, &n);
    const char *want = "<|im_start|>user\n<img>a.j</img>Hello<|im_end|><|endoftext|>";
    SK_TEST_CHECK(s && !strcmp(s, want), "specials: got '%s'", s ? s : "");
    silkie_text_free(s);
    s = decode(t, ids, SK_ARRAY_LEN(ids), SILKIE_DECODE_SKIP_SPECIAL, &n);
    SK_TEST_CHECK(s && !strcmp(s, "user\na.jHello"), "skip specials: got '%s'", s ? s : "");
    silkie_text_free(s);
    check_stream(t, "specials", ids, SK_ARRAY_LEN(ids), 0);

    /* errors */
    static const int32_t bad3[] = {151857, 97}, bad4[] = {151857, 9707, 151858};
    char *x = (char *)1;
    SK_TEST_STATUS(silkie_tokenizer_decode(t, bad3, 2, 0, &x, NULL), SILKIE_ERR_INVALID_ARGUMENT);
    SK_TEST_CHECK(x == NULL, "text cleared on failure");
    SK_TEST_STATUS(silkie_tokenizer_decode(t, bad4, 3, 0, &x, NULL), SILKIE_ERR_INVALID_ARGUMENT);
    SK_TEST_OK(silkie_tokenizer_decode(t, NULL, 0, 0, &x, &n));
    SK_TEST_CHECK(x && n == 0 && x[0] == 0, "empty decode");
    silkie_text_free(x);

    /* a bad id leaves the stream as it was */
    silkie_text_stream *st = NULL;
    SK_TEST_OK(silkie_text_stream_create(t, 0, &st));
    const char *p;
    size_t k;
    SK_TEST_OK(silkie_text_stream_push(st, 151857, &p, &k)); /* <img> */
    SK_TEST_STATUS(silkie_text_stream_push(st, 9707, &p, &k), SILKIE_ERR_INVALID_ARGUMENT);
    SK_TEST_OK(silkie_text_stream_push(st, 151860, &p, &k)); /* unknown: nothing, even here */
    SK_TEST_CHECK(k == 0, "unknown id inside a span gave %zu bytes", k);
    SK_TEST_OK(silkie_text_stream_push(st, 'q', &p, &k));
    SK_TEST_CHECK(k == 1 && p[0] == 'q', "span byte after a rejected id");
    SK_TEST_OK(silkie_text_stream_push(st, 151858, &p, &k));
    SK_TEST_CHECK(k == 6 && !memcmp(p, "</img>", 6), "span close");
    SK_TEST_OK(silkie_text_stream_finish(st, &p, &k));
    SK_TEST_CHECK(k == 0, "nothing held");
    silkie_text_stream_destroy(st);
    SK_TEST_STATUS(silkie_text_stream_create(NULL, 0, &st), SILKIE_ERR_INVALID_ARGUMENT);

    /* Generated text (lenient): <img> then an ordinary token ends the span and is text. */
    SK_TEST_OK(silkie_text_stream_create(t, SILKIE_DECODE_LENIENT_SPANS, &st));
    SK_TEST_OK(silkie_text_stream_push(st, 151857, &p, &k));
    SK_TEST_CHECK(k == 5 && !memcmp(p, "<img>", 5), "lenient: span open");
    SK_TEST_OK(silkie_text_stream_push(st, 'a', &p, &k));
    SK_TEST_OK(silkie_text_stream_push(st, 9707, &p, &k));
    char span_want[64];
    char *hello = NULL;
    const int32_t h[] = {9707};
    SK_TEST_OK(silkie_tokenizer_decode(t, h, 1, 0, &hello, NULL));
    snprintf(span_want, sizeof span_want, "%s", hello ? hello : "");
    silkie_text_free(hello);
    SK_TEST_CHECK(k == strlen(span_want) && !memcmp(p, span_want, k),
                  "lenient: id after a span is text");
    /* Outside a span an id below 256 is a token, not a raw byte value. */
    const int32_t id98[] = {98};
    SK_TEST_OK(silkie_tokenizer_decode(t, id98, 1, 0, &hello, NULL));
    snprintf(span_want, sizeof span_want, "%s", hello ? hello : "");
    silkie_text_free(hello);
    SK_TEST_OK(silkie_text_stream_push(st, 98, &p, &k));
    SK_TEST_CHECK(k == strlen(span_want) && !memcmp(p, span_want, k),
                  "lenient: the span stays closed");
    silkie_text_stream_destroy(st);
}

/* The LM head has more rows (151936) than the tokenizer has ids (151860): an id past the last
 * one, or a negative one, decodes to nothing, in one go and streamed, wherever it stands. */
static void test_unknown_ids(const silkie_tokenizer *t)
{
    SK_TEST_CHECK(silkie_tokenizer_n_vocab(t) == 151860, "n_vocab %u",
                  silkie_tokenizer_n_vocab(t));
    /* "Hello" <unknown> "Hello" <|im_end|> <unknown>..., and one between the two halves of a
     * UTF-8 character (0xe4 0xbd 0xa0, three byte ranks) */
    const int32_t ids[] = {9707,      151900,         9707,   151860,         151645,
                           -1,        151935,         INT32_MIN, byte_rank(0xe4), 151935,
                           byte_rank(0xbd), byte_rank(0xa0), INT32_MAX, 151643};
    const char *want = "HelloHello<|im_end|>\xe4\xbd\xa0<|endoftext|>";
    size_t n = 0;
    char *s = decode(t, ids, SK_ARRAY_LEN(ids), 0, &n);
    SK_TEST_CHECK(s && n == strlen(want) && !strcmp(s, want), "unknown ids: got '%s'",
                  s ? s : "");
    silkie_text_free(s);
    s = decode(t, ids, SK_ARRAY_LEN(ids), SILKIE_DECODE_SKIP_SPECIAL, &n);
    SK_TEST_CHECK(s && !strcmp(s, "HelloHello\xe4\xbd\xa0"), "unknown ids, skip specials: '%s'",
                  s ? s : "");
    silkie_text_free(s);
    check_stream(t, "unknown ids", ids, SK_ARRAY_LEN(ids), 0);
    /* only unknown ids: empty text */
    static const int32_t only[] = {151860, 151936, -5};
    s = decode(t, only, SK_ARRAY_LEN(only), 0, &n);
    SK_TEST_CHECK(s && n == 0 && s[0] == 0, "only unknown ids: %zu bytes", n);
    silkie_text_free(s);
    /* streamed: each unknown id is an empty piece and the stream goes on */
    silkie_text_stream *st = NULL;
    SK_TEST_OK(silkie_text_stream_create(t, 0, &st));
    const char *p = NULL;
    size_t k = 1;
    SK_TEST_OK(silkie_text_stream_push(st, 151900, &p, &k));
    SK_TEST_CHECK(k == 0, "unknown id streamed %zu bytes", k);
    SK_TEST_OK(silkie_text_stream_push(st, 9707, &p, &k));
    SK_TEST_CHECK(k == 5 && !memcmp(p, "Hello", 5), "text after an unknown id");
    silkie_text_stream_destroy(st);
}

int main(void)
{
    silkie_tokenizer *t = tt_load_vocab();
    if (!t) return sk_shared_dir() ? 1 : 77;
    int64_t live = silkie_alloc_live();
    test_round_trips(t);
    test_stream_bytes(t);
    test_specials_and_spans(t);
    test_unknown_ids(t);
    SK_TEST_CHECK(silkie_alloc_live() == live, "leak: %lld live allocations",
                  (long long)(silkie_alloc_live() - live));
    silkie_tokenizer_destroy(t);
    return sk_test_result("test_tokenizer_decode");
}
