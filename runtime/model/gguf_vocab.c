/* The Qwen vocabulary (qwen.tiktoken + the 217 specials of spec §7.1) as llama.cpp's "gpt2"
 * tokenizer keys: every rank's bytes rendered with GPT-2's byte->unicode map, specials as
 * literals, unused ids as [PAD{id}], and a merge list rebuilt by running the BPE on each token
 * with only lower ranks allowed, so that a llama.cpp-style BPE reproduces tiktoken's result. */
#include <stdio.h>

#include "files_int.h"

#define N_SPECIALS 217u
#define TOKEN_NORMAL 1
#define TOKEN_CONTROL 3
#define TOKEN_UNUSED 5

/* GPT-2 byte->code point: printable Latin-1 bytes keep their value, the other 68 bytes take
 * 256, 257, ... in byte order (so every byte renders as a visible, non-space character). */
static uint32_t byte_cp(uint8_t b)
{
    if ((b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE) return b;
    uint32_t n = 0;
    for (uint32_t c = 0; c < b; c++)
        if (!((c >= '!' && c <= '~') || (c >= 0xA1 && c <= 0xAC) || c >= 0xAE)) n++;
    return 256 + n;
}

static size_t put_cp(char *o, uint32_t cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    o[0] = (char)(0xC0 | (cp >> 6));
    o[1] = (char)(0x80 | (cp & 0x3F));
    return 2; /* the map never exceeds U+0143 */
}

typedef struct vocab {
    uint8_t *bytes;    /* all ranks' bytes back to back */
    uint64_t *off;     /* [n + 1] */
    uint32_t n;
    uint32_t *slots;   /* hash: rank + 1, 0 = empty */
    uint32_t n_slots;
} vocab;

static uint64_t hash(const uint8_t *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

/* Rank of bytes p[0..n), or UINT32_MAX. */
static uint32_t rank_of(const vocab *v, const uint8_t *p, size_t n)
{
    for (uint64_t i = hash(p, n) & (v->n_slots - 1);; i = (i + 1) & (v->n_slots - 1)) {
        uint32_t s = v->slots[i];
        if (!s) return UINT32_MAX;
        uint64_t a = v->off[s - 1], len = v->off[s] - a;
        if (len == n && memcmp(v->bytes + a, p, n) == 0) return s - 1;
    }
}

static int b64v(uint8_t c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

static void vocab_free(vocab *v)
{
    silkie_free(v->bytes);
    silkie_free(v->off);
    silkie_free(v->slots);
}

/* Parses "<base64> <rank>" lines (LF or CRLF), ranks 0, 1, 2, ... in order. */
static silkie_status vocab_parse(const char *what, const char *t, size_t len, vocab *v)
{
    uint32_t lines = 0;
    for (size_t i = 0; i < len; i++) lines += t[i] == '\n';
    lines += 1;
    v->bytes = silkie_malloc(len + 1);
    v->off = silkie_malloc(((size_t)lines + 1) * sizeof *v->off);
    if (!v->bytes || !v->off) return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "%s: vocabulary", what);
    uint64_t o = 0;
    v->off[0] = 0;
    for (size_t i = 0; i < len;) {
        size_t e = i;
        while (e < len && t[e] != '\n') e++;
        size_t le = e;
        while (le > i && (t[le - 1] == '\r' || t[le - 1] == ' ')) le--;
        if (le > i) {
            size_t sp = i;
            while (sp < le && t[sp] != ' ') sp++;
            uint32_t acc = 0, nb = 0;
            for (size_t k = i; k < sp && t[k] != '='; k++) {
                int d = b64v((uint8_t)t[k]);
                if (d < 0) return SK_FAIL(SILKIE_ERR_BAD_FILE, "%s: line %u: bad base64", what,
                                          v->n + 1);
                acc = (acc << 6) | (uint32_t)d;
                nb += 6;
                if (nb >= 8) {
                    nb -= 8;
                    v->bytes[o++] = (uint8_t)(acc >> nb);
                }
            }
            unsigned long r = 0;
            size_t k = sp + 1;
            bool digits = k < le;
            for (; k < le; k++) {
                if (t[k] < '0' || t[k] > '9' || r > 100000000ul) digits = false;
                else r = r * 10 + (unsigned long)(t[k] - '0');
            }
            if (!digits || r != v->n || o == v->off[v->n])
                return SK_FAIL(SILKIE_ERR_BAD_FILE, "%s: line %u: want \"<base64> %u\"", what,
                               v->n + 1, v->n);
            v->off[++v->n] = o;
        }
        i = e + 1;
    }
    if (v->n < 256) return SK_FAIL(SILKIE_ERR_BAD_FILE, "%s: %u ranks, want at least 256", what,
                                   v->n);
    v->n_slots = 1;
    while (v->n_slots < 2 * v->n) v->n_slots <<= 1;
    v->slots = silkie_calloc(v->n_slots, sizeof *v->slots);
    if (!v->slots) return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "%s: vocabulary hash", what);
    for (uint32_t r = 0; r < v->n; r++) {
        const uint8_t *p = v->bytes + v->off[r];
        size_t n = (size_t)(v->off[r + 1] - v->off[r]);
        if (rank_of(v, p, n) != UINT32_MAX)
            return SK_FAIL(SILKIE_ERR_BAD_FILE, "%s: rank %u repeats an earlier token", what, r);
        uint64_t i = hash(p, n) & (v->n_slots - 1);
        while (v->slots[i]) i = (i + 1) & (v->n_slots - 1);
        v->slots[i] = r + 1;
    }
    return SILKIE_OK;
}

/* tiktoken's byte-pair merge of rank r's bytes, allowed only merges of lower rank: a BPE
 * vocabulary leaves exactly two parts, whose split point goes to *split. */
static bool bpe_split(const vocab *v, uint32_t r, uint32_t *starts, size_t *split)
{
    const uint8_t *p = v->bytes + v->off[r];
    uint32_t n = (uint32_t)(v->off[r + 1] - v->off[r]), parts = n;
    for (uint32_t i = 0; i <= n; i++) starts[i] = i;
    while (parts > 2) {
        uint32_t best = UINT32_MAX, at = 0;
        for (uint32_t i = 0; i + 1 < parts; i++) {
            uint32_t k = rank_of(v, p + starts[i], starts[i + 2] - starts[i]);
            if (k < best) {
                best = k;
                at = i;
            }
        }
        if (best >= r) return false;
        memmove(starts + at + 1, starts + at + 2, (parts - at - 1) * sizeof *starts);
        parts--;
    }
    *split = starts[1];
    return parts == 2;
}

static const char *special_name(uint32_t i, char *buf, size_t cap)
{
    static const char *const head[] = {"<|endoftext|>", "<|im_start|>", "<|im_end|>"};
    static const char *const tail[] = {"<ref>", "</ref>", "<box>", "</box>", "<quad>",
                                       "</quad>", "<img>", "</img>", "<imgpad>"};
    if (i < 3) return head[i];
    if (i < 208) {
        snprintf(buf, cap, "<|extra_%u|>", i - 3);
        return buf;
    }
    return tail[i - 208];
}

/* GPT-2 rendering of bytes p[0..n) into o (room for 2n bytes); returns the length. */
static size_t render(char *o, const uint8_t *p, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) k += put_cp(o + k, byte_cp(p[i]));
    return k;
}

silkie_status silkie_gguf_write_qwen_vocab(silkie_gguf_writer *g, const char *tiktoken_path,
                                           uint32_t vocab_size)
{
    if (!g || !tiktoken_path)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "gguf_vocab: g, tiktoken_path required");
    char *text = NULL;
    size_t len = 0;
    SK_CHECK(sk_read_text(tiktoken_path, (size_t)64 << 20, &text, &len));
    vocab v = {0};
    silkie_status st = vocab_parse(tiktoken_path, text, len, &v);
    silkie_free(text);
    uint32_t n_ids = v.n + N_SPECIALS, n_tok = SK_MAX(n_ids, vocab_size);
    char **tok = NULL, **mer = NULL, *arena = NULL, *marena = NULL;
    size_t *tlen = NULL, *mlen = NULL;
    int32_t *types = NULL;
    uint32_t *starts = NULL, n_mer = 0;
    if (st == SILKIE_OK) {
        uint64_t raw = v.off[v.n];
        tok = SK_NEW_ARRAY(char *, n_tok);
        tlen = SK_NEW_ARRAY(size_t, n_tok);
        types = SK_NEW_ARRAY(int32_t, n_tok);
        mer = SK_NEW_ARRAY(char *, v.n);
        mlen = SK_NEW_ARRAY(size_t, v.n);
        starts = SK_NEW_ARRAY(uint32_t, raw + 2);
        /* Rendering at most doubles a byte; specials and pads need < 24 bytes each. */
        arena = silkie_malloc((size_t)(2 * raw) + (size_t)(n_tok - v.n) * 24 + 1);
        marena = silkie_malloc((size_t)(2 * raw) + v.n + 1);
        if (!tok || !tlen || !types || !mer || !mlen || !starts || !arena || !marena)
            st = SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "gguf_vocab: %u tokens", n_tok);
    }
    size_t ao = 0, mo = 0;
    for (uint32_t i = 0; st == SILKIE_OK && i < n_tok; i++) {
        tok[i] = arena + ao;
        if (i < v.n) {
            const uint8_t *p = v.bytes + v.off[i];
            size_t n = (size_t)(v.off[i + 1] - v.off[i]), split;
            tlen[i] = render(tok[i], p, n);
            types[i] = TOKEN_NORMAL;
            if (n > 1) {
                if (!bpe_split(&v, i, starts, &split)) {
                    st = SK_FAIL(SILKIE_ERR_BAD_FILE, "%s: rank %u is not a merge of two lower "
                                 "ranks", tiktoken_path, i);
                    break;
                }
                mer[n_mer] = marena + mo;
                size_t a = render(marena + mo, p, split);
                marena[mo + a] = ' ';
                size_t b = render(marena + mo + a + 1, p + split, n - split);
                mlen[n_mer++] = a + 1 + b;
                mo += a + 1 + b;
            }
        } else if (i < n_ids) {
            char buf[24];
            const char *s = special_name(i - v.n, buf, sizeof buf);
            tlen[i] = strlen(s);
            memcpy(tok[i], s, tlen[i]);
            types[i] = TOKEN_CONTROL;
        } else {
            tlen[i] = (size_t)snprintf(tok[i], 24, "[PAD%u]", i);
            types[i] = TOKEN_UNUSED;
        }
        ao += tlen[i];
    }
    if (st == SILKIE_OK) st = silkie_gguf_writer_add_str(g, "tokenizer.ggml.model", "gpt2");
    /* llama.cpp's "qwen2" pre-tokenizer uses the regex of spec §7.2. */
    if (st == SILKIE_OK) st = silkie_gguf_writer_add_str(g, "tokenizer.ggml.pre", "qwen2");
    if (st == SILKIE_OK)
        st = silkie_gguf_writer_add_arr_str(g, "tokenizer.ggml.tokens", (const char *const *)tok,
                                            tlen, n_tok);
    if (st == SILKIE_OK)
        st = silkie_gguf_writer_add_arr(g, "tokenizer.ggml.token_type", SILKIE_GGUF_I32, types,
                                        n_tok);
    if (st == SILKIE_OK)
        st = silkie_gguf_writer_add_arr_str(g, "tokenizer.ggml.merges", (const char *const *)mer,
                                            mlen, n_mer);
    const char *ids[] = {"tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id",
                         "tokenizer.ggml.unknown_token_id", "tokenizer.ggml.padding_token_id"};
    for (size_t i = 0; st == SILKIE_OK && i < SK_ARRAY_LEN(ids); i++)
        st = silkie_gguf_writer_add_u32(g, ids[i], v.n); /* <|endoftext|> */
    silkie_free(tok);
    silkie_free(tlen);
    silkie_free(types);
    silkie_free(mer);
    silkie_free(mlen);
    silkie_free(starts);
    silkie_free(arena);
    silkie_free(marena);
    vocab_free(&v);
    return st;
}
