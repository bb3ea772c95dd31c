/* Encoder: NFC, special tokens, regex pre-tokenizer, byte-pair merging, image spans. */
#define SK_LOG_MODULE "text"
#include <utf8proc.h>

#include "text_int.h"

/* ---- UTF-8 ---- */

/* Length of the valid UTF-8 sequence at s (1..4), 0 if invalid; *cp receives the code point. */
static inline size_t utf8_seq(const uint8_t *s, size_t n, uint32_t *cp)
{
    uint8_t b = s[0];
    if (b < 0x80) {
        *cp = b;
        return 1;
    }
    size_t need;
    uint8_t lo = 0x80, hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) need = 1;
    else if (b == 0xe0) need = 2, lo = 0xa0;
    else if (b >= 0xe1 && b <= 0xef) need = 2, hi = b == 0xed ? 0x9f : 0xbf;
    else if (b == 0xf0) need = 3, lo = 0x90;
    else if (b >= 0xf1 && b <= 0xf3) need = 3;
    else if (b == 0xf4) need = 3, hi = 0x8f;
    else return 0;
    if (n < need + 1) return 0;
    if (s[1] < lo || s[1] > hi) return 0;
    uint32_t c = b & (0x3f >> need);
    for (size_t k = 1; k <= need; k++) {
        if ((s[k] & 0xc0) != 0x80) return 0;
        c = c << 6 | (s[k] & 0x3f);
    }
    *cp = c;
    return need + 1;
}

size_t silkie_utf8_invalid_at(const uint8_t *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        if (s[i] < 0x80) {
            i++;
            continue;
        }
        uint32_t cp = 0;
        size_t k = utf8_seq(s + i, len - i, &cp);
        if (!k) return i;
        i += k;
    }
    return len;
}

/* Code points that NFC never changes and that never combine with a neighbour: starters with no
 * canonical decomposition that are not the second half of any composition. Checked against
 * utf8proc for every code point in test_tokenizer_nfc. */
static inline bool nfc_inert(uint32_t c)
{
    return c < 0x300 || (c >= 0x3000 && c <= 0x3029) || (c >= 0x3030 && c <= 0x303f) ||
           (c >= 0x4e00 && c <= 0x9fff) || (c >= 0xff00 && c <= 0xffef) ||
           (c >= 0x1f300 && c <= 0x1faff);
}

/* NFC of a unit that starts at a normalisation boundary and ends before one. */
static silkie_status nfc_unit(const uint8_t *s, size_t n, sk_bytes *out)
{
    utf8proc_int32_t stackbuf[256];
    utf8proc_int32_t *buf = stackbuf;
    utf8proc_ssize_t cap = (utf8proc_ssize_t)SK_ARRAY_LEN(stackbuf) - 1;
    const int opts = UTF8PROC_STABLE | UTF8PROC_COMPOSE;
    silkie_status st = SILKIE_OK;
    for (;;) {
        utf8proc_ssize_t r = utf8proc_decompose(s, (utf8proc_ssize_t)n, buf, cap, opts);
        if (r < 0) {
            st = SK_FAIL(SILKIE_ERR_BAD_TEXT, "encode: nfc: %s", utf8proc_errmsg(r));
            break;
        }
        if (r > cap) {
            if (buf != stackbuf) silkie_free(buf);
            buf = SK_NEW_ARRAY(utf8proc_int32_t, (size_t)r + 1);
            if (!buf) return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "encode: nfc of %zu bytes", n);
            cap = r;
            continue;
        }
        /* reencode composes in place and writes UTF-8 over the code-point buffer */
        r = utf8proc_reencode(buf, r, opts);
        if (r < 0) st = SK_FAIL(SILKIE_ERR_BAD_TEXT, "encode: nfc: %s", utf8proc_errmsg(r));
        else st = silkie_bytes_append(out, buf, (size_t)r);
        break;
    }
    if (buf != stackbuf) silkie_free(buf);
    return st;
}

/* Validates and NFC-normalises. *norm is text itself when nothing changes, else out->v. */
static silkie_status normalize(const uint8_t *s, size_t len, sk_bytes *out, const uint8_t **norm)
{
    bool inert = true;
    size_t i = 0;
    while (i < len) {
        if (s[i] < 0x80) {
            i++;
            continue;
        }
        uint32_t cp = 0;
        size_t k = utf8_seq(s + i, len - i, &cp);
        if (!k) return SK_FAIL(SILKIE_ERR_BAD_TEXT, "encode: invalid utf-8 at byte %zu", i);
        inert = inert && nfc_inert(cp);
        i += k;
    }
    *norm = s;
    if (inert) return SILKIE_OK;

    /* Every ASCII character is a normalisation boundary, so each run of non-ASCII characters,
     * together with the ASCII character before it (which a combining mark may join), is
     * normalised on its own and the rest copied. */
    SK_CHECK(silkie_bytes_reserve(out, len));
    size_t pos = 0;
    i = 0;
    while (i < len) {
        if (s[i] < 0x80) {
            i++;
            continue;
        }
        size_t unit = i > 0 ? i - 1 : i;
        size_t e = i;
        bool run_inert = true;
        while (e < len && s[e] >= 0x80) {
            uint32_t cp = 0;
            size_t k = utf8_seq(s + e, len - e, &cp);
            run_inert = run_inert && nfc_inert(cp);
            e += k;
        }
        if (!run_inert) {
            SK_CHECK(silkie_bytes_append(out, s + pos, unit - pos));
            SK_CHECK(nfc_unit(s + unit, e - unit, out));
            pos = e;
        }
        i = e;
    }
    SK_CHECK(silkie_bytes_append(out, s + pos, len - pos));
    *norm = out->v;
    return SILKIE_OK;
}

/* ---- byte-pair merge ---- */

#define BPE_SMALL 128

/* tiktoken's merge loop: parts[i] starts at st[i]; rk[i] is the rank of parts i and i+1 joined.
 * Quadratic, but for short pieces this beats any cleverness. */
static silkie_status bpe_small(const silkie_tokenizer *t, const uint8_t *p, size_t n, sk_ids *out)
{
    uint32_t st[BPE_SMALL + 1], rk[BPE_SMALL + 1];
    size_t m = n + 1;
    for (size_t i = 0; i + 1 < n; i++) {
        st[i] = (uint32_t)i;
        rk[i] = t->pair_rank[(uint32_t)p[i] << 8 | p[i + 1]];
    }
    st[n - 1] = (uint32_t)(n - 1);
    rk[n - 1] = SK_NO_RANK;
    st[n] = (uint32_t)n;
    rk[n] = SK_NO_RANK;
    for (;;) {
        uint32_t best = SK_NO_RANK;
        size_t bi = 0;
        for (size_t i = 0; i + 2 < m; i++)
            if (rk[i] < best) best = rk[i], bi = i;
        if (best == SK_NO_RANK) break;
        memmove(st + bi + 1, st + bi + 2, (m - bi - 2) * sizeof *st);
        memmove(rk + bi + 1, rk + bi + 2, (m - bi - 2) * sizeof *rk);
        m--;
        rk[bi] = bi + 2 < m ? silkie_tok_rank(t, p + st[bi], st[bi + 2] - st[bi]) : SK_NO_RANK;
        if (bi > 0) rk[bi - 1] = silkie_tok_rank(t, p + st[bi - 1], st[bi + 1] - st[bi - 1]);
    }
    SK_CHECK(silkie_ids_reserve(out, m - 1));
    for (size_t i = 0; i + 1 < m; i++) {
        uint32_t r = silkie_tok_rank(t, p + st[i], st[i + 1] - st[i]);
        SK_ASSERT(r != SK_NO_RANK);
        out->v[out->n++] = (int32_t)r;
    }
    return SILKIE_OK;
}

/* Same merge order for long pieces in O(n log n): live parts form a linked list and the
 * candidate pairs sit in a min-heap keyed by (rank, start). A pair's rank fixes its bytes, so an
 * entry is current exactly when its part is alive and still has that pair rank. */
typedef struct {
    uint32_t start, next, prev, rank; /* rank of this part joined with the next */
    bool alive;
} bpe_node;

static void heap_push(uint64_t *h, size_t *n, uint64_t v)
{
    size_t i = (*n)++;
    while (i > 0) {
        size_t up = (i - 1) / 2;
        if (h[up] <= v) break;
        h[i] = h[up];
        i = up;
    }
    h[i] = v;
}

static uint64_t heap_pop(uint64_t *h, size_t *n)
{
    uint64_t top = h[0], v = h[--*n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= *n) break;
        if (c + 1 < *n && h[c + 1] < h[c]) c++;
        if (h[c] >= v) break;
        h[i] = h[c];
        i = c;
    }
    if (*n) h[i] = v;
    return top;
}

static silkie_status bpe_large(const silkie_tokenizer *t, const uint8_t *p, size_t n, sk_ids *out)
{
    if (n >= UINT32_MAX - 1)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "encode: %zu-byte word", n);
    bpe_node *nd = SK_NEW_ARRAY(bpe_node, n + 1);
    uint64_t *heap = SK_NEW_ARRAY(uint64_t, 2 * n + 1);
    if (!nd || !heap) {
        silkie_free(nd);
        silkie_free(heap);
        return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "encode: merge of a %zu-byte word", n);
    }
    size_t hn = 0;
    for (size_t i = 0; i <= n; i++) {
        nd[i] = (bpe_node){.start = (uint32_t)i, .next = (uint32_t)i + 1,
                           .prev = (uint32_t)i - 1, .rank = SK_NO_RANK, .alive = true};
        if (i + 1 < n) nd[i].rank = t->pair_rank[(uint32_t)p[i] << 8 | p[i + 1]];
        if (nd[i].rank != SK_NO_RANK) heap_push(heap, &hn, (uint64_t)nd[i].rank << 32 | i);
    }
    /* node index == start offset, and node n is the end sentinel */
    while (hn) {
        uint64_t e = heap_pop(heap, &hn);
        uint32_t r = (uint32_t)(e >> 32), i = (uint32_t)e;
        if (!nd[i].alive || nd[i].rank != r) continue;
        uint32_t j = nd[i].next; /* merged into i */
        uint32_t k = nd[j].next;
        nd[j].alive = false;
        nd[i].next = k;
        nd[k].prev = i;
        uint32_t kn = k < n ? nd[k].next : (uint32_t)n;
        nd[i].rank = k < n ? silkie_tok_rank(t, p + i, kn - i) : SK_NO_RANK;
        if (nd[i].rank != SK_NO_RANK) heap_push(heap, &hn, (uint64_t)nd[i].rank << 32 | i);
        if (i > 0) {
            uint32_t h = nd[i].prev;
            nd[h].rank = silkie_tok_rank(t, p + h, k - h);
            if (nd[h].rank != SK_NO_RANK) heap_push(heap, &hn, (uint64_t)nd[h].rank << 32 | h);
        }
    }
    silkie_status st = SILKIE_OK;
    for (uint32_t i = 0; i < n && st == SILKIE_OK; i = nd[i].next) {
        uint32_t r = silkie_tok_rank(t, p + i, nd[i].next - i);
        SK_ASSERT(r != SK_NO_RANK);
        st = silkie_ids_push(out, (int32_t)r);
    }
    silkie_free(nd);
    silkie_free(heap);
    return st;
}

static silkie_status encode_piece(const silkie_tokenizer *t, const uint8_t *p, size_t n,
                                  sk_ids *out)
{
    uint32_t r = silkie_tok_rank(t, p, n);
    if (r != SK_NO_RANK) return silkie_ids_push(out, (int32_t)r);
    return n <= BPE_SMALL ? bpe_small(t, p, n, out) : bpe_large(t, p, n, out);
}

/* Pre-tokenizes one special-free segment and merges each piece. */
static silkie_status encode_ordinary(const silkie_tokenizer *t, pcre2_match_data *md,
                                     const uint8_t *s, size_t n, sk_ids *out)
{
    size_t off = 0;
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
    while (off < n) {
        int rc = t->re_jit ? pcre2_jit_match(t->re, s, n, off, PCRE2_NO_UTF_CHECK, md, NULL)
                           : pcre2_match(t->re, s, n, off, PCRE2_NO_UTF_CHECK, md, NULL);
        if (rc == PCRE2_ERROR_NOMATCH) break; /* every character matches some branch */
        if (rc < 0) return SK_FAIL(SILKIE_ERR_INTERNAL, "encode: pcre2 match error %d", rc);
        size_t a = ov[0], b = ov[1];
        if (b <= a) { /* the pattern has no empty branch; guard against looping anyway */
            off = a + 1;
            continue;
        }
        SK_CHECK(encode_piece(t, s + a, b - a, out));
        off = b;
    }
    return SILKIE_OK;
}

/* ---- special tokens ---- */

static bool special_allowed(uint32_t idx, silkie_specials mode)
{
    if (mode == SILKIE_SPECIALS_ALL) return true;
    if (mode == SILKIE_SPECIALS_CHAT_USER) return idx >= SK_SPECIAL_FIRST_TAG;
    return false;
}

/* Special token starting at s ('<'), or -1. No special string is a prefix of another, so at
 * most one can match at a position. */
static int match_special(const silkie_tokenizer *t, const uint8_t *s, size_t n,
                         silkie_specials mode)
{
    if (n >= 2 && s[1] == '|') {
        if (n >= 11 && memcmp(s, "<|extra_", 8) == 0) {
            uint32_t v = 0;
            size_t k = 8;
            while (k < n && k < 11 && s[k] >= '0' && s[k] <= '9') v = v * 10 + (s[k++] - '0');
            if (k == 8 || (s[8] == '0' && k > 9) || v >= SK_N_EXTRAS) return -1;
            if (k + 1 < n && s[k] == '|' && s[k + 1] == '>')
                return special_allowed(3 + v, mode) ? (int)(3 + v) : -1;
            return -1;
        }
        for (uint32_t i = 0; i < 3; i++)
            if (n >= t->special_len[i] && memcmp(s, t->special_text[i], t->special_len[i]) == 0)
                return special_allowed(i, mode) ? (int)i : -1;
        return -1;
    }
    for (uint32_t i = SK_SPECIAL_FIRST_TAG; i < SK_N_SPECIALS; i++)
        if (n >= t->special_len[i] && memcmp(s, t->special_text[i], t->special_len[i]) == 0)
            return special_allowed(i, mode) ? (int)i : -1;
    return -1;
}

/* Next allowed special at or after `from`; returns its position (len when none). */
static size_t find_special(const silkie_tokenizer *t, const uint8_t *s, size_t len, size_t from,
                           silkie_specials mode, int *idx)
{
    *idx = -1;
    if (mode == SILKIE_SPECIALS_NONE) return len;
    for (size_t i = from; i < len;) {
        const uint8_t *lt = memchr(s + i, '<', len - i);
        if (!lt) break;
        size_t at = (size_t)(lt - s);
        int m = match_special(t, lt, len - at, mode);
        if (m >= 0) {
            *idx = m;
            return at;
        }
        i = at + 1;
    }
    return len;
}

/* ---- whole encode ---- */

static silkie_status encode_norm(const silkie_tokenizer *t, const uint8_t *s, size_t len,
                                 silkie_specials mode, uint32_t n_queries, pcre2_match_data *md,
                                 sk_ids *out)
{
    const uint32_t img_open = SK_SPECIAL_FIRST_TAG + 6, img_close = SK_SPECIAL_FIRST_TAG + 7;
    const int32_t pad_id = sk_special_id(t, SK_SPECIAL_FIRST_TAG + 8);
    size_t pos = 0;
    while (pos <= len) {
        int idx;
        size_t at = find_special(t, s, len, pos, mode, &idx);
        SK_CHECK(encode_ordinary(t, md, s + pos, at - pos, out));
        if (idx < 0) break;
        pos = at + t->special_len[idx];
        SK_CHECK(silkie_ids_push(out, sk_special_id(t, (uint32_t)idx)));
        if ((uint32_t)idx != img_open) continue;

        /* §6.2: the path's bytes travel as ids equal to the byte values, padded to n_queries */
        int end_idx;
        size_t end = find_special(t, s, len, pos, mode, &end_idx);
        if (end_idx < 0)
            return SK_FAIL(SILKIE_ERR_BAD_TEXT, "encode: <img> at byte %zu is not closed", at);
        if ((uint32_t)end_idx != img_close)
            return SK_FAIL(SILKIE_ERR_BAD_TEXT, "encode: %s inside <img> at byte %zu",
                           t->special_text[end_idx], at);
        size_t path_n = end - pos;
        if (path_n > n_queries)
            return SK_FAIL(SILKIE_ERR_BAD_TEXT,
                           "encode: image path at byte %zu is %zu bytes, at most %u fit", pos,
                           path_n, n_queries);
        SK_CHECK(silkie_ids_reserve(out, n_queries + 1));
        for (size_t k = 0; k < path_n; k++) out->v[out->n++] = s[pos + k];
        for (size_t k = path_n; k < n_queries; k++) out->v[out->n++] = pad_id;
        out->v[out->n++] = sk_special_id(t, img_close);
        pos = end + t->special_len[img_close];
    }
    return SILKIE_OK;
}

silkie_status silkie_tok_encode_append(const silkie_tokenizer *t, const char *text, size_t len,
                                   silkie_specials specials, uint32_t n_queries, sk_ids *out)
{
    if (!t || (!text && len) || !out)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "encode: tokenizer, text, out required");
    if ((uint32_t)specials > SILKIE_SPECIALS_NONE)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "encode: specials mode %d", (int)specials);
    if (n_queries == 0) n_queries = SILKIE_N_QUERIES_DEFAULT;
    if (n_queries > (1u << 20))
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "encode: n_queries %u", n_queries);
    if (len == 0) return SILKIE_OK;
    size_t n0 = out->n;
    sk_bytes nb = {0};
    const uint8_t *norm = NULL;
    silkie_status st = normalize((const uint8_t *)text, len, &nb, &norm);
    size_t norm_len = norm == (const uint8_t *)text ? len : nb.n;
    pcre2_match_data *md = NULL;
    if (st == SILKIE_OK) {
        md = pcre2_match_data_create_from_pattern(t->re, t->gctx);
        if (!md) st = SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "encode: pcre2 match data");
    }
    if (st == SILKIE_OK) st = encode_norm(t, norm, norm_len, specials, n_queries, md, out);
    pcre2_match_data_free(md);
    silkie_bytes_release(&nb);
    if (st != SILKIE_OK) out->n = n0;
    return st;
}

silkie_status silkie_tokenizer_encode(const silkie_tokenizer *t, const char *text, size_t len,
                                      const silkie_encode_params *p, silkie_token_list **out)
{
    silkie_error_clear();
    if (!out) return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "encode: out required");
    *out = NULL;
    silkie_encode_params prm;
    silkie_encode_params_init(&prm);
    if (p) {
        if (p->struct_size < sizeof(uint32_t))
            return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "encode: params.struct_size unset");
        memcpy(&prm, p, SK_MIN((size_t)p->struct_size, sizeof prm));
    }
    sk_ids ids = {0};
    silkie_status st = silkie_tok_encode_append(t, text, len, prm.specials, prm.n_queries, &ids);
    if (st != SILKIE_OK) {
        silkie_ids_release(&ids);
        return st;
    }
    return silkie_token_list_make(t, &ids, NULL, out);
}
