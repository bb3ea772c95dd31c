/* Fuzz target for the encoder, decoder, chat builder and grounding parser. Built as a libFuzzer
 * target with -DSILKIE_FUZZ=ON, and as a deterministic replay of seeds and seeded mutations in
 * the normal suite (SK_FUZZ_REPLAY).
 *
 * Input: byte 0 picks the mode, the rest is text (or, read as 4-byte words, ids). */
#include <stdio.h>
#include <stdlib.h>

#include "base/base.h"
#include "silkie/silkie_text.h"

static silkie_tokenizer *g_tok;

static silkie_tokenizer *tokenizer(void)
{
    if (g_tok) return g_tok;
    const char *dir = SILKIE_SHARED_DIR_FOR_FUZZ;
    char path[4096];
    snprintf(path, sizeof path, "%s/spec/qwen.tiktoken", dir);
    if (silkie_tokenizer_load(path, &g_tok) != SILKIE_OK) return NULL;
    return g_tok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    silkie_tokenizer *t = tokenizer();
    if (!t || size == 0) return 0;
    uint8_t mode = data[0];
    const char *text = (const char *)data + 1;
    size_t len = size - 1;

    silkie_encode_params p;
    silkie_encode_params_init(&p);
    p.specials = (silkie_specials)(mode % 3);
    p.n_queries = 1 + (mode >> 2) % 32;
    silkie_token_list *l = NULL;
    if (silkie_tokenizer_encode(t, text, len, &p, &l) == SILKIE_OK) {
        /* every encoding decodes back to the normalised text, which encodes to the same ids */
        char *back = NULL;
        size_t bn = 0;
        const int32_t *ids = silkie_token_list_ids(l);
        size_t n = silkie_token_list_size(l);
        if (silkie_tokenizer_decode(t, ids, n, 0, &back, &bn) != SILKIE_OK) abort();
        if (p.specials == SILKIE_SPECIALS_ALL) {
            silkie_token_list *l2 = NULL;
            if (silkie_tokenizer_encode(t, back, bn, &p, &l2) != SILKIE_OK) abort();
            if (silkie_token_list_size(l2) != n ||
                (n && memcmp(silkie_token_list_ids(l2), ids, n * sizeof *ids) != 0))
                abort();
            silkie_token_list_destroy(l2);
        }
        silkie_text_free(back);
    }
    silkie_token_list_destroy(l);

    /* arbitrary ids through both decoders: same text or both failing */
    size_t n_ids = len / 4;
    int32_t *ids = n_ids ? malloc(n_ids * sizeof *ids) : NULL;
    for (size_t i = 0; i < n_ids; i++) {
        uint32_t w;
        memcpy(&w, text + 4 * i, 4);
        ids[i] = (int32_t)(w % 151870u) - (mode & 1 ? 0 : 2);
    }
    char *whole = NULL;
    size_t wn = 0;
    uint32_t flags = mode & 2 ? SILKIE_DECODE_SKIP_SPECIAL : 0;
    silkie_status st = silkie_tokenizer_decode(t, ids, n_ids, flags, &whole, &wn);
    silkie_text_stream *s = NULL;
    if (silkie_text_stream_create(t, flags, &s) == SILKIE_OK) {
        size_t off = 0;
        bool ok = true;
        for (size_t i = 0; i <= n_ids && ok; i++) {
            const char *piece;
            size_t k;
            ok = (i < n_ids ? silkie_text_stream_push(s, ids[i], &piece, &k)
                            : silkie_text_stream_finish(s, &piece, &k)) == SILKIE_OK;
            if (ok && st == SILKIE_OK) {
                if (off + k > wn || memcmp(whole + off, piece, k) != 0) abort();
                off += k;
            }
        }
        if (st == SILKIE_OK && (!ok || off != wn)) abort();
        silkie_text_stream_destroy(s);
    }
    silkie_text_free(whole);
    free(ids);

    /* chat prompt and grounding on the same text */
    char *z = malloc(len + 1);
    memcpy(z, text, len);
    z[len] = 0;
    silkie_chat_turn q = {.query = z};
    silkie_chat_params cp;
    silkie_chat_params_init(&cp);
    cp.n_queries = p.n_queries;
    if (silkie_chat_build_prompt(t, &cp, &q, 1, &q, &l) == SILKIE_OK)
        silkie_token_list_destroy(l);
    silkie_ground_box boxes[4];
    uint32_t nb;
    silkie_grounding_parse(text, len, 1000, 1000, boxes, 4, &nb);
    char *out = malloc(len + 1);
    size_t on;
    if (silkie_grounding_strip(text, len, out, len + 1, &on) != SILKIE_OK || on > len) abort();
    free(out);
    free(z);
    return 0;
}

#ifdef SK_FUZZ_REPLAY
#include "harness.h"

static const char *const k_seeds[] = {
    "\x00Hello, world!",
    "\x01<|im_start|>user\nhi<|im_end|>\n<img>a.jpg</img>",
    "\x00Picture 1: <img>\xe5\x9b\xbe.jpg</img>\nWhat?",
    "\x05<ref>the dog</ref><box>(120,340),(560,880)</box><quad>(1,2),(3,4),(5,6),(7,8)</quad>",
    "\002cafe\xcc\x81 \xe4\xbd\xa0\xe5\xa5\xbd \xf0\x9f\x98\x80 12345   \r\n\t x",
    "\x00<img>unclosed",
    "\x00\xff\xfe invalid",
    "\x03\x57\x51\x02\x00\x59\x51\x02\x00\x61\x00\x00\x00\x5a\x51\x02\x00",
    "\x00    \n\n  aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
};

static void replay_whole(const char *name, const uint8_t *data, size_t n, void *user)
{
    (void)name, (void)user;
    LLVMFuzzerTestOneInput(data, n);
}

int main(void)
{
    if (!tokenizer()) {
        fprintf(stderr, "fuzz_tokenizer_replay: vocabulary not found\n");
        return 77;
    }
    uint64_t rng = 0x5eed;
    uint8_t buf[512];
    int runs = 0;
    for (size_t i = 0; i < sizeof k_seeds / sizeof k_seeds[0]; i++) {
        size_t n = strlen(k_seeds[i] + 1) + 1;
        LLVMFuzzerTestOneInput((const uint8_t *)k_seeds[i], n);
        runs++;
        /* seeded mutations: flips, insertions of interesting bytes, truncations */
        for (int m = 0; m < 300; m++) {
            size_t len = SK_MIN(n, sizeof buf - 8);
            memcpy(buf, k_seeds[i], len);
            for (int k = 0; k < 1 + m % 4; k++) {
                rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
                size_t pos = len > 1 ? 1 + rng % (len - 1) : 0;
                static const uint8_t interesting[] = {'<', '>', '|', '/', '(', ')', ',', '\n',
                                                      0x80, 0xc3, 0xe4, 0xf0, 0xff, 0, ' ', '9'};
                switch ((rng >> 20) % 3) {
                case 0: buf[pos] ^= (uint8_t)(1u << ((rng >> 8) % 8)); break;
                case 1: buf[pos] = interesting[(rng >> 12) % sizeof interesting]; break;
                default: len = pos + 1; break;
                }
            }
            LLVMFuzzerTestOneInput(buf, len);
            runs++;
        }
    }
    /* The campaign's minimized corpus, each input whole. */
    const int n_corpus = sk_for_each_file(SK_FUZZ_CORPUS_DIR "/fuzz_tokenizer", replay_whole, NULL);
    silkie_tokenizer_destroy(g_tok);
    if (n_corpus <= 0) {
        fprintf(stderr, "fuzz_tokenizer_replay: no corpus in %s/fuzz_tokenizer\n",
                SK_FUZZ_CORPUS_DIR);
        return 1;
    }
    printf("fuzz_tokenizer_replay: %d inputs and %d corpus files, no failures\n", runs,
           n_corpus);
    return 0;
}
#endif
