/* Tokenizer from a GGUF file's tokenizer.ggml.* keys (llama.cpp "gpt2" layout, as
 * silkie_gguf_convert_qwen writes it): the NORMAL tokens, GPT-2 byte rendering undone, are the
 * BPE ranks (rank = id) and are fed to the qwen.tiktoken parser as its own text; the CONTROL
 * tokens must be the Qwen specials at the ids the parser appends them at. The merge list is not
 * needed: tiktoken's merge order is the rank order. */
#include <stdio.h>

#include "model/model.h"
#include "silkie/silkie_text.h"

#define TOKEN_NORMAL 1
#define TOKEN_CONTROL 3

/* Inverse of GPT-2's byte->unicode map: code point -> byte, or -1. */
static int cp_byte(uint32_t cp)
{
    if ((cp >= '!' && cp <= '~') || (cp >= 0xA1 && cp <= 0xAC) || (cp >= 0xAE && cp <= 0xFF))
        return (int)cp;
    if (cp < 256 || cp >= 256 + 68) return -1;
    uint32_t n = 0;
    for (uint32_t b = 0; b < 256; b++) {
        if ((b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE) continue;
        if (n++ == cp - 256) return (int)b;
    }
    return -1;
}

/* Decodes one rendered token into bytes (at most len of them); -1 on anything but the map. */
static long unrender(const uint8_t *s, size_t len, uint8_t *out)
{
    long n = 0;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        if (s[i] < 0x80) cp = s[i++];
        else if ((s[i] & 0xE0) == 0xC0 && i + 1 < len && (s[i + 1] & 0xC0) == 0x80) {
            cp = ((uint32_t)(s[i] & 0x1F) << 6) | (s[i + 1] & 0x3F);
            i += 2;
        } else return -1;
        int b = cp_byte(cp);
        if (b < 0) return -1;
        out[n++] = (uint8_t)b;
    }
    return n;
}

static size_t b64(const uint8_t *p, size_t n, char *o)
{
    static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t k = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < n) v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < n) v |= p[i + 2];
        o[k++] = a[v >> 18];
        o[k++] = a[(v >> 12) & 63];
        o[k++] = i + 1 < n ? a[(v >> 6) & 63] : '=';
        o[k++] = i + 2 < n ? a[v & 63] : '=';
    }
    return k;
}

static silkie_status from_gguf(const silkie_gguf *g, const char *what, silkie_tokenizer **out)
{
    const char *model;
    size_t mlen;
    SK_CHECK(silkie_gguf_get_str(g, "tokenizer.ggml.model", &model, &mlen));
    if (mlen != 4 || memcmp(model, "gpt2", 4) != 0)
        return SK_FAIL(SILKIE_ERR_BAD_MODEL, "%s: tokenizer.ggml.model '%.*s' is not gpt2", what,
                       (int)SK_MIN(mlen, 32u), model);
    const silkie_gguf_kv *tk = silkie_gguf_find_kv(g, "tokenizer.ggml.tokens");
    const silkie_gguf_kv *ty = silkie_gguf_find_kv(g, "tokenizer.ggml.token_type");
    if (!tk || tk->type != SILKIE_GGUF_ARRAY || tk->arr_type != SILKIE_GGUF_STRING)
        return SK_FAIL(SILKIE_ERR_BAD_MODEL, "%s: tokenizer.ggml.tokens missing", what);
    if (!ty || ty->type != SILKIE_GGUF_ARRAY || ty->arr_type != SILKIE_GGUF_I32 || ty->n != tk->n)
        return SK_FAIL(SILKIE_ERR_BAD_MODEL, "%s: tokenizer.ggml.token_type is not one i32 per "
                       "token", what);
    uint64_t n_ranks = 0, text_cap = 0;
    for (; n_ranks < tk->n; n_ranks++) {
        int32_t t;
        memcpy(&t, ty->data + 4 * n_ranks, 4);
        if (t != TOKEN_NORMAL) break;
        const char *s;
        size_t len;
        SK_CHECK(silkie_gguf_arr_str(tk, n_ranks, &s, &len));
        text_cap += (len + 2) / 3 * 4 + 24;
    }
    if (n_ranks < 256 || n_ranks > INT32_MAX)
        return SK_FAIL(SILKIE_ERR_BAD_MODEL, "%s: %llu normal tokens before the first special, "
                       "want at least 256", what, (unsigned long long)n_ranks);
    char *text = silkie_malloc(text_cap + 1);
    uint8_t *bytes = silkie_malloc(4096);
    silkie_status st = text && bytes ? SILKIE_OK
                                     : SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "%s: tokenizer", what);
    size_t o = 0;
    for (uint64_t i = 0; st == SILKIE_OK && i < n_ranks; i++) {
        const char *s;
        size_t len;
        st = silkie_gguf_arr_str(tk, i, &s, &len);
        long nb = st == SILKIE_OK && len <= 4096 ? unrender((const uint8_t *)s, len, bytes) : -1;
        if (st == SILKIE_OK && nb <= 0)
            st = SK_FAIL(SILKIE_ERR_BAD_MODEL, "%s: token %llu is not GPT-2 byte text", what,
                         (unsigned long long)i);
        if (st != SILKIE_OK) break;
        o += b64(bytes, (size_t)nb, text + o);
        o += (size_t)snprintf(text + o, 24, " %llu\n", (unsigned long long)i);
    }
    silkie_tokenizer *t = NULL;
    if (st == SILKIE_OK) st = silkie_tokenizer_load_memory(text, o, &t);
    silkie_free(text);
    silkie_free(bytes);
    /* Every CONTROL token must be the special the tokenizer has at that id. */
    for (uint64_t i = n_ranks; st == SILKIE_OK && i < tk->n; i++) {
        int32_t type;
        memcpy(&type, ty->data + 4 * i, 4);
        if (type != TOKEN_CONTROL) continue;
        const char *s;
        size_t len;
        char lit[64];
        st = silkie_gguf_arr_str(tk, i, &s, &len);
        if (st != SILKIE_OK) break;
        if (len >= sizeof lit) len = sizeof lit - 1;
        memcpy(lit, s, len);
        lit[len] = 0;
        if (silkie_tokenizer_special_id(t, lit) != (int32_t)i)
            st = SK_FAIL(SILKIE_ERR_BAD_MODEL, "%s: special token %llu '%s' is not the Qwen "
                         "special of that id", what, (unsigned long long)i, lit);
    }
    if (st != SILKIE_OK) {
        silkie_tokenizer_destroy(t);
        return st;
    }
    *out = t;
    return SILKIE_OK;
}

silkie_status silkie_tokenizer_load_gguf(const char *path, silkie_tokenizer **out)
{
    if (!path || !out)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "tokenizer_load_gguf: path, out required");
    *out = NULL;
    silkie_weights *w = NULL;
    SK_CHECK(silkie_weights_open(path, &w));
    silkie_status st = silkie_weights_gguf(w)
                           ? from_gguf(silkie_weights_gguf(w), path, out)
                           : SK_FAIL(SILKIE_ERR_BAD_FILE, "%s: not a GGUF file", path);
    silkie_weights_close(w);
    return st;
}
