/* Decoder: ids -> UTF-8 with Python's errors="replace", in one go or token by token. */
#define SK_LOG_MODULE "text"
#include "text_int.h"

struct silkie_text_stream {
    const silkie_tokenizer *t;
    uint32_t flags;
    bool in_span;   /* between <img> and </img> */
    bool after_pad; /* in a span, past the first <imgpad>: the path is over */
    uint8_t held[4]; /* start of an unfinished UTF-8 character */
    uint8_t n_held;
    sk_bytes out; /* text of the latest push */
};

static const uint8_t k_replacement[3] = {0xef, 0xbf, 0xbd}; /* U+FFFD */

/* Appends the valid characters of s to out, one U+FFFD per maximal invalid subpart (the rule
 * Python's decoder follows). An unfinished character at the end is kept in held unless final. */
static silkie_status utf8_feed(silkie_text_stream *s, const uint8_t *in, size_t n, bool final)
{
    uint8_t tmp[8];
    const uint8_t *p = in;
    size_t len = n;
    if (s->n_held) {
        /* join the held bytes with enough new ones to finish (or refute) that character */
        size_t take = SK_MIN(n, (size_t)(4 - s->n_held));
        memcpy(tmp, s->held, s->n_held);
        if (take) memcpy(tmp + s->n_held, in, take);
        size_t tn = s->n_held + take;
        s->n_held = 0;
        /* decode tmp as a prefix; whatever of it belongs to later characters is reprocessed */
        size_t i = 0;
        uint8_t b = tmp[0];
        size_t need = b >= 0xf0 ? 3 : b >= 0xe0 ? 2 : 1;
        uint8_t lo = 0x80, hi = 0xbf;
        if (b == 0xe0) lo = 0xa0;
        if (b == 0xed) hi = 0x9f;
        if (b == 0xf0) lo = 0x90;
        if (b == 0xf4) hi = 0x8f;
        size_t j = 1;
        for (; j <= need && j < tn; j++) {
            uint8_t c = tmp[j];
            if (c < (j == 1 ? lo : 0x80) || c > (j == 1 ? hi : 0xbf)) break;
        }
        if (j > need) {
            SK_CHECK(silkie_bytes_append(&s->out, tmp, need + 1));
            i = need + 1;
        } else if (j == tn) { /* still unfinished: every byte so far fits */
            if (final) {
                SK_CHECK(silkie_bytes_append(&s->out, k_replacement, 3));
            } else {
                memcpy(s->held, tmp, tn);
                s->n_held = (uint8_t)tn;
            }
            return SILKIE_OK;
        } else {
            SK_CHECK(silkie_bytes_append(&s->out, k_replacement, 3));
            i = j;
        }
        /* bytes of tmp from i on came from `in` */
        size_t used = i - (tn - take);
        p = in + used;
        len = n - used;
    }
    SK_CHECK(silkie_bytes_reserve(&s->out, len * 3));
    size_t i = 0;
    while (i < len) {
        uint8_t b = p[i];
        if (b < 0x80) {
            s->out.v[s->out.n++] = b;
            i++;
            continue;
        }
        size_t need;
        uint8_t lo = 0x80, hi = 0xbf;
        if (b >= 0xc2 && b <= 0xdf) need = 1;
        else if (b == 0xe0) need = 2, lo = 0xa0;
        else if (b >= 0xe1 && b <= 0xef) need = 2, hi = b == 0xed ? 0x9f : 0xbf;
        else if (b == 0xf0) need = 3, lo = 0x90;
        else if (b >= 0xf1 && b <= 0xf3) need = 3;
        else if (b == 0xf4) need = 3, hi = 0x8f;
        else {
            memcpy(s->out.v + s->out.n, k_replacement, 3);
            s->out.n += 3;
            i++;
            continue;
        }
        size_t j = 1;
        for (; j <= need && i + j < len; j++) {
            uint8_t c = p[i + j];
            if (c < (j == 1 ? lo : 0x80) || c > (j == 1 ? hi : 0xbf)) break;
        }
        if (j > need) {
            memcpy(s->out.v + s->out.n, p + i, need + 1);
            s->out.n += need + 1;
            i += need + 1;
        } else if (i + j == len) {
            if (final) {
                memcpy(s->out.v + s->out.n, k_replacement, 3);
                s->out.n += 3;
            } else {
                memcpy(s->held, p + i, j);
                s->n_held = (uint8_t)j;
            }
            i = len;
        } else {
            memcpy(s->out.v + s->out.n, k_replacement, 3);
            s->out.n += 3;
            i += j;
        }
    }
    return SILKIE_OK;
}

/* Raw bytes of one id given the span state; updates the state only on success. */
static silkie_status stream_step(silkie_text_stream *s, int32_t id)
{
    const silkie_tokenizer *t = s->t;
    /* Ids the tokenizer does not know (the LM head has padding rows past the last special, so
     * sampling can pick one) have no text: they decode to nothing and change no state, so an
     * answer never ends on one. */
    if (id < 0 || (uint32_t)id >= t->n_vocab) return SILKIE_OK;
    const bool skip = s->flags & SILKIE_DECODE_SKIP_SPECIAL;
    const int32_t img_open = sk_tag_id(t, SILKIE_TOKEN_IMG_START);
    const int32_t img_close = sk_tag_id(t, SILKIE_TOKEN_IMG_END);
    const int32_t pad = sk_tag_id(t, SILKIE_TOKEN_IMG_PAD);
    if (s->in_span) {
        if (id == img_close) {
            s->in_span = false;
            if (skip) return SILKIE_OK;
            return utf8_feed(s, (const uint8_t *)"</img>", 6, false);
        }
        if (id == pad) {
            s->after_pad = true;
            return SILKIE_OK;
        }
        if (s->after_pad) return SILKIE_OK;
        if (id <= 255) {
            uint8_t b = (uint8_t)id;
            return utf8_feed(s, &b, 1, false);
        }
        if (!(s->flags & SILKIE_DECODE_LENIENT_SPANS))
            return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT,
                           "decode: id %d inside an image span (want a byte value)", (int)id);
        s->in_span = false; /* not a path after all: the id is ordinary text */
    }
    if (id == img_open) {
        s->in_span = true;
        s->after_pad = false;
        if (skip) return SILKIE_OK;
        return utf8_feed(s, (const uint8_t *)"<img>", 5, false);
    }
    if ((uint32_t)id >= t->n_ranks) {
        if (skip) return SILKIE_OK;
        uint32_t k = (uint32_t)id - t->n_ranks;
        return utf8_feed(s, (const uint8_t *)t->special_text[k], t->special_len[k], false);
    }
    size_t n;
    const uint8_t *p = sk_tok_bytes(t, (uint32_t)id, &n);
    return utf8_feed(s, p, n, false);
}

silkie_status silkie_tokenizer_decode(const silkie_tokenizer *t, const int32_t *ids, size_t n_ids,
                                      uint32_t flags, char **text, size_t *len)
{
    silkie_error_clear();
    if (text) *text = NULL;
    if (len) *len = 0;
    if (!t || (!ids && n_ids) || !text)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "decode: tokenizer, ids, text required");
    silkie_text_stream s = {.t = t, .flags = flags};
    silkie_status st = silkie_bytes_reserve(&s.out, SK_MIN(n_ids, (size_t)1 << 20) * 4);
    for (size_t i = 0; i < n_ids && st == SILKIE_OK; i++) st = stream_step(&s, ids[i]);
    if (st == SILKIE_OK && s.in_span)
        st = SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "decode: image span is not closed");
    if (st == SILKIE_OK) st = utf8_feed(&s, NULL, 0, true);
    if (st == SILKIE_OK) st = silkie_bytes_reserve(&s.out, 0);
    if (st != SILKIE_OK) {
        silkie_bytes_release(&s.out);
        return st;
    }
    s.out.v[s.out.n] = 0;
    *text = (char *)s.out.v;
    if (len) *len = s.out.n;
    return SILKIE_OK;
}

silkie_status silkie_text_stream_create(const silkie_tokenizer *t, uint32_t flags,
                                        silkie_text_stream **out)
{
    silkie_error_clear();
    if (!t || !out) return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "text_stream: t, out required");
    *out = NULL;
    silkie_text_stream *s = SK_NEW(silkie_text_stream);
    if (!s) return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "text_stream: %zu bytes", sizeof *s);
    s->t = t;
    s->flags = flags;
    /* one token's worth, so pushes never allocate once running */
    silkie_status st = silkie_bytes_reserve(&s->out, 3 * (t->max_token_len + 8));
    if (st != SILKIE_OK) {
        silkie_text_stream_destroy(s);
        return st;
    }
    *out = s;
    return SILKIE_OK;
}

silkie_status silkie_text_stream_push(silkie_text_stream *s, int32_t id, const char **text,
                                      size_t *len)
{
    silkie_error_clear();
    if (!s || !text || !len)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "text_stream_push: s, text, len required");
    *text = "";
    *len = 0;
    silkie_text_stream saved = *s;
    s->out.n = 0;
    silkie_status st = stream_step(s, id);
    if (st != SILKIE_OK) {
        /* keep the buffer (it may have moved) but restore the state */
        saved.out = s->out;
        saved.out.n = 0;
        *s = saved;
        return st;
    }
    *text = (const char *)s->out.v;
    *len = s->out.n;
    return SILKIE_OK;
}

silkie_status silkie_text_stream_finish(silkie_text_stream *s, const char **text, size_t *len)
{
    silkie_error_clear();
    if (!s || !text || !len)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "text_stream_finish: s, text, len required");
    *text = "";
    *len = 0;
    s->out.n = 0;
    silkie_status st = utf8_feed(s, NULL, 0, true);
    s->n_held = 0;
    s->in_span = false;
    s->after_pad = false;
    if (st != SILKIE_OK) return st;
    *text = (const char *)s->out.v;
    *len = s->out.n;
    return SILKIE_OK;
}

void silkie_text_stream_destroy(silkie_text_stream *s)
{
    if (!s) return;
    silkie_bytes_release(&s->out);
    silkie_free(s);
}
