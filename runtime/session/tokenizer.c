/* Vocabulary loading (qwen.tiktoken), rank lookup, special tokens and token lists. */
#define SK_LOG_MODULE "text"
#include <stdio.h>

#include "text_int.h"

/* The pre-tokenizer of Qwen (spec §7.2), verbatim. */
static const char k_pattern[] =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}"
    "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

static const char *const k_fixed_specials[3] = {"<|endoftext|>", "<|im_start|>", "<|im_end|>"};
static const char *const k_tags[9] = {"<ref>", "</ref>", "<box>",  "</box>",  "<quad>",
                                      "</quad>", "<img>", "</img>", "<imgpad>"};

/* ---- growable arrays ---- */

silkie_status silkie_ids_reserve(sk_ids *a, size_t extra)
{
    size_t need;
    if (!sk_add_size(a->n, extra, &need))
        return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "token ids: count overflows");
    if (need <= a->cap) return SILKIE_OK;
    size_t cap = a->cap ? a->cap : 64;
    while (cap < need) cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    size_t bytes;
    if (!sk_mul_size(cap, sizeof(int32_t), &bytes))
        return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "token ids: %zu ids", cap);
    int32_t *v = silkie_realloc(a->v, bytes);
    if (!v) return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "token ids: %zu bytes", bytes);
    a->v = v;
    a->cap = cap;
    return SILKIE_OK;
}

silkie_status silkie_ids_push(sk_ids *a, int32_t id)
{
    if (a->n == a->cap) SK_CHECK(silkie_ids_reserve(a, 1));
    a->v[a->n++] = id;
    return SILKIE_OK;
}

silkie_status silkie_ids_append(sk_ids *a, const int32_t *v, size_t n)
{
    if (n == 0) return SILKIE_OK;
    SK_CHECK(silkie_ids_reserve(a, n));
    memcpy(a->v + a->n, v, n * sizeof *v);
    a->n += n;
    return SILKIE_OK;
}

void silkie_ids_release(sk_ids *a)
{
    silkie_free(a->v);
    *a = (sk_ids){0};
}

silkie_status silkie_bytes_reserve(sk_bytes *b, size_t extra)
{
    size_t need;
    if (!sk_add_size(b->n, extra, &need) || need == SIZE_MAX)
        return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "text buffer: size overflows");
    need++; /* room for a terminating NUL */
    if (need <= b->cap) return SILKIE_OK;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need) cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    uint8_t *v = silkie_realloc(b->v, cap);
    if (!v) return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "text buffer: %zu bytes", cap);
    b->v = v;
    b->cap = cap;
    return SILKIE_OK;
}

silkie_status silkie_bytes_append(sk_bytes *b, const void *p, size_t n)
{
    SK_CHECK(silkie_bytes_reserve(b, n));
    if (n) memcpy(b->v + b->n, p, n);
    b->n += n;
    return SILKIE_OK;
}

void silkie_bytes_release(sk_bytes *b)
{
    silkie_free(b->v);
    *b = (sk_bytes){0};
}

/* ---- hashing ---- */

static inline uint64_t hash_bytes(const uint8_t *p, size_t n)
{
    uint64_t h = 0x9e3779b97f4a7c15ull ^ (uint64_t)n;
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdull;
        h ^= h >> 32;
        p += 8;
        n -= 8;
    }
    uint64_t w = 0;
    for (size_t i = 0; i < n; i++) w |= (uint64_t)p[i] << (8 * i);
    /* full avalanche (murmur3's finaliser): the table uses the low bits, the tag the high */
    h ^= w;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h;
}

/* First (up to) 8 bytes of a key, zero-padded: short keys compare without touching the blob. */
static inline uint64_t key_head(const uint8_t *p, size_t n)
{
    uint64_t w = 0;
    memcpy(&w, p, n < 8 ? n : 8);
    return w;
}

static uint32_t table_find(const silkie_tokenizer *t, const uint8_t *p, size_t n)
{
    uint64_t h = hash_bytes(p, n);
    uint64_t head = key_head(p, n);
    uint32_t meta = (uint32_t)n << 24 | (uint32_t)(h >> 40);
    uint32_t i = (uint32_t)h & t->table_mask;
    for (;;) {
        const sk_slot *sl = &t->table[i];
        if (sl->rank1 == 0) return SK_NO_RANK;
        if (sl->meta == meta && sl->head == head) {
            uint32_t r = sl->rank1 - 1;
            if (n <= 8 || memcmp(t->blob + t->offs[r] + 8, p + 8, n - 8) == 0) return r;
        }
        i = (i + 1) & t->table_mask;
    }
}

uint32_t silkie_tok_rank(const silkie_tokenizer *t, const uint8_t *p, size_t n)
{
    if (n == 1) return t->byte_rank[p[0]];
    if (n == 2) return t->pair_rank[(uint32_t)p[0] << 8 | p[1]];
    if (n > t->max_token_len) return SK_NO_RANK; /* spares hashing long spans */
    return table_find(t, p, n);
}

/* ---- loading ---- */

static int b64_value(uint8_t c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

/* Strict standard base64 with padding. Returns decoded length, or -1. */
static long b64_decode(const uint8_t *s, size_t n, uint8_t *out)
{
    if (n == 0 || n % 4) return -1;
    size_t o = 0;
    for (size_t i = 0; i < n; i += 4) {
        int v[4];
        int pad = 0;
        for (int k = 0; k < 4; k++) {
            if (s[i + k] == '=') {
                if (i + 4 != n || k < 2) return -1;
                pad++;
                v[k] = 0;
            } else {
                if (pad) return -1;
                v[k] = b64_value(s[i + k]);
                if (v[k] < 0) return -1;
            }
        }
        uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 |
                     (uint32_t)v[3];
        out[o++] = (uint8_t)(w >> 16);
        if (pad < 2) out[o++] = (uint8_t)(w >> 8);
        if (pad < 1) out[o++] = (uint8_t)w;
    }
    return (long)o;
}

static bool is_space(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static void *pcre_alloc(size_t n, void *user)
{
    (void)user;
    return silkie_malloc(n);
}
static void pcre_free(void *p, void *user)
{
    (void)user;
    silkie_free(p);
}

static silkie_status compile_regex(silkie_tokenizer *t)
{
    t->gctx = pcre2_general_context_create(pcre_alloc, pcre_free, NULL);
    if (!t->gctx) return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "tokenizer: pcre2 context");
    pcre2_compile_context *cc = pcre2_compile_context_create(t->gctx);
    if (!cc) return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "tokenizer: pcre2 compile context");
    int err = 0;
    PCRE2_SIZE err_off = 0;
    t->re = pcre2_compile((PCRE2_SPTR)k_pattern, PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_UCP,
                          &err, &err_off, cc);
    pcre2_compile_context_free(cc);
    if (!t->re) {
        /* running out of memory is the only way a fixed, tested pattern can fail */
        PCRE2_UCHAR msg[160];
        pcre2_get_error_message(err, msg, sizeof msg);
        silkie_status st = err == PCRE2_ERROR_HEAP_FAILED ? SILKIE_ERR_OUT_OF_MEMORY
                                                          : SILKIE_ERR_INTERNAL;
        return SK_FAIL(st, "tokenizer: regex at %zu: %s", (size_t)err_off, (const char *)msg);
    }
    t->re_jit = pcre2_jit_compile(t->re, PCRE2_JIT_COMPLETE) == 0;
    if (!t->re_jit) SK_LOGD("tokenizer: pcre2 jit unavailable, using the interpreter");
    return SILKIE_OK;
}

static silkie_status parse_vocab(silkie_tokenizer *t, const uint8_t *d, size_t size)
{
    /* one pass to size the arrays: lines bound the rank count, bytes bound the blob */
    size_t n_lines = 1;
    for (size_t i = 0; i < size; i++) n_lines += d[i] == '\n';
    if (n_lines >= (size_t)INT32_MAX - SK_N_SPECIALS || size >= UINT32_MAX)
        return SK_FAIL(SILKIE_ERR_BAD_FILE, "tokenizer: vocabulary too large");
    t->offs = SK_NEW_ARRAY(uint32_t, n_lines + 1);
    t->blob = silkie_malloc(size + 1);
    if (!t->offs || !t->blob)
        return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "tokenizer: %zu-byte vocabulary", size);

    uint32_t rank = 0, blob_n = 0;
    size_t line_no = 0;
    for (size_t i = 0; i < size;) {
        size_t e = i;
        while (e < size && d[e] != '\n') e++;
        line_no++;
        size_t a = i, b = e;
        i = e + 1;
        while (a < b && is_space(d[a])) a++;
        while (b > a && is_space(d[b - 1])) b--;
        if (a == b) continue; /* blank lines carry nothing, as in tiktoken's loader */
        size_t f = a;
        while (f < b && !is_space(d[f])) f++;
        size_t g = f;
        while (g < b && is_space(d[g])) g++;
        if (g == b)
            return SK_FAIL(SILKIE_ERR_BAD_FILE, "tokenizer: line %zu: want '<base64> <rank>'",
                           line_no);
        uint64_t r = 0;
        for (size_t k = g; k < b; k++) {
            if (d[k] < '0' || d[k] > '9' || r > UINT32_MAX)
                return SK_FAIL(SILKIE_ERR_BAD_FILE, "tokenizer: line %zu: bad rank", line_no);
            r = r * 10 + (d[k] - '0');
        }
        if (r != rank)
            return SK_FAIL(SILKIE_ERR_BAD_FILE,
                           "tokenizer: line %zu: rank %llu, want %u (ranks must run from 0)",
                           line_no, (unsigned long long)r, rank);
        long n = b64_decode(d + a, f - a, t->blob + blob_n);
        if (n <= 0)
            return SK_FAIL(SILKIE_ERR_BAD_FILE, "tokenizer: line %zu: bad base64", line_no);
        t->offs[rank] = blob_n;
        blob_n += (uint32_t)n;
        if ((uint32_t)n > t->max_token_len) t->max_token_len = (uint32_t)n;
        rank++;
        t->offs[rank] = blob_n;
    }
    if (rank == 0) return SK_FAIL(SILKIE_ERR_BAD_FILE, "tokenizer: vocabulary is empty");
    t->n_ranks = rank;
    t->n_vocab = rank + SK_N_SPECIALS;

    uint32_t cap = 1024;
    while (cap < 2u * rank) cap *= 2;
    t->table = SK_NEW_ARRAY(sk_slot, cap);
    t->pair_rank = silkie_malloc(65536 * sizeof(uint32_t));
    if (!t->table || !t->pair_rank)
        return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "tokenizer: hash table of %u slots", cap);
    t->table_mask = cap - 1;
    memset(t->pair_rank, 0xff, 65536 * sizeof(uint32_t));
    memset(t->byte_rank, 0xff, sizeof t->byte_rank);

    /* second walk over the lines only to name the line of a duplicate */
    line_no = 0;
    uint32_t r = 0;
    for (size_t i = 0; i < size && r < rank;) {
        size_t e = i;
        while (e < size && d[e] != '\n') e++;
        line_no++;
        size_t a = i;
        i = e + 1;
        while (a < e && is_space(d[a])) a++;
        if (a == e) continue;
        const uint8_t *p = t->blob + t->offs[r];
        size_t n = t->offs[r + 1] - t->offs[r];
        if (table_find(t, p, n) != SK_NO_RANK)
            return SK_FAIL(SILKIE_ERR_BAD_FILE, "tokenizer: line %zu: duplicate token (rank %u)",
                           line_no, r);
        if (n > 255)
            return SK_FAIL(SILKIE_ERR_BAD_FILE, "tokenizer: line %zu: token of %zu bytes",
                           line_no, n);
        uint64_t hv = hash_bytes(p, n);
        uint32_t h = (uint32_t)hv & t->table_mask;
        while (t->table[h].rank1) h = (h + 1) & t->table_mask;
        t->table[h] = (sk_slot){.head = key_head(p, n), .rank1 = r + 1,
                                .meta = (uint32_t)n << 24 | (uint32_t)(hv >> 40)};
        if (n == 1) t->byte_rank[p[0]] = r;
        if (n == 2) t->pair_rank[(uint32_t)p[0] << 8 | p[1]] = r;
        r++;
    }
    for (int c = 0; c < 256; c++)
        if (t->byte_rank[c] == SK_NO_RANK)
            return SK_FAIL(SILKIE_ERR_BAD_FILE, "tokenizer: vocabulary lacks byte 0x%02x", c);
    return SILKIE_OK;
}

static void init_specials(silkie_tokenizer *t)
{
    for (uint32_t i = 0; i < SK_N_SPECIALS; i++) {
        char *s = t->special_text[i];
        if (i < 3)
            snprintf(s, sizeof t->special_text[i], "%s", k_fixed_specials[i]);
        else if (i < SK_SPECIAL_FIRST_TAG)
            snprintf(s, sizeof t->special_text[i], "<|extra_%u|>", i - 3);
        else
            snprintf(s, sizeof t->special_text[i], "%s", k_tags[i - SK_SPECIAL_FIRST_TAG]);
        t->special_len[i] = (uint8_t)strlen(s);
    }
}

silkie_status silkie_tokenizer_load_memory(const void *data, size_t size, silkie_tokenizer **out)
{
    silkie_error_clear();
    if (!out) return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "tokenizer_load: out required");
    *out = NULL;
    if (!data && size)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "tokenizer_load: data required");
    silkie_tokenizer *t = SK_NEW(silkie_tokenizer);
    if (!t) return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "tokenizer: %zu bytes", sizeof *t);
    init_specials(t);
    silkie_status st = parse_vocab(t, data, size);
    if (st == SILKIE_OK) st = compile_regex(t);
    if (st != SILKIE_OK) {
        silkie_tokenizer_destroy(t);
        return st;
    }
    *out = t;
    return SILKIE_OK;
}

silkie_status silkie_tokenizer_load(const char *path, silkie_tokenizer **out)
{
    silkie_error_clear();
    if (!path || !out)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "tokenizer_load: path, out required");
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return SK_FAIL(SILKIE_ERR_IO, "tokenizer: cannot open '%s'", path);
    sk_bytes b = {0};
    silkie_status st = SILKIE_OK;
    for (;;) {
        st = silkie_bytes_reserve(&b, 1 << 16);
        if (st != SILKIE_OK) break;
        size_t got = fread(b.v + b.n, 1, 1 << 16, f);
        b.n += got;
        if (got < (1 << 16)) {
            if (ferror(f)) st = SK_FAIL(SILKIE_ERR_IO, "tokenizer: cannot read '%s'", path);
            break;
        }
    }
    fclose(f);
    if (st == SILKIE_OK) st = silkie_tokenizer_load_memory(b.v, b.n, out);
    silkie_bytes_release(&b);
    return st;
}

void silkie_tokenizer_destroy(silkie_tokenizer *t)
{
    if (!t) return;
    pcre2_code_free(t->re);
    pcre2_general_context_free(t->gctx);
    silkie_free(t->blob);
    silkie_free(t->offs);
    silkie_free(t->table);
    silkie_free(t->pair_rank);
    silkie_free(t);
}

uint32_t silkie_tokenizer_n_vocab(const silkie_tokenizer *t) { return t ? t->n_vocab : 0; }

int32_t silkie_tokenizer_special_id(const silkie_tokenizer *t, const char *literal)
{
    if (!t || !literal) return -1;
    for (uint32_t i = 0; i < SK_N_SPECIALS; i++)
        if (strcmp(t->special_text[i], literal) == 0) return sk_special_id(t, i);
    return -1;
}

void silkie_encode_params_init_size(silkie_encode_params *p, size_t size)
{
    silkie_encode_params d = {.specials = SILKIE_SPECIALS_ALL};
    sk_params_fill(p, size, &d, sizeof d);
}

void silkie_text_free(void *p) { silkie_free(p); }

/* ---- token lists ---- */

silkie_status silkie_token_list_make(const silkie_tokenizer *t, sk_ids *ids, uint8_t *scored,
                                 silkie_token_list **out)
{
    *out = NULL;
    silkie_token_list *l = SK_NEW(silkie_token_list);
    uint32_t img = (uint32_t)sk_tag_id(t, SILKIE_TOKEN_IMG_START);
    uint32_t n_img = 0;
    for (size_t i = 0; i < ids->n; i++) n_img += (uint32_t)ids->v[i] == img;
    uint32_t *pos = n_img ? SK_NEW_ARRAY(uint32_t, n_img) : NULL;
    if (!l || (n_img && !pos)) {
        silkie_free(l);
        silkie_free(pos);
        silkie_ids_release(ids);
        silkie_free(scored);
        return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "token list: %zu ids", ids->n);
    }
    uint32_t k = 0;
    for (size_t i = 0; i < ids->n; i++)
        if ((uint32_t)ids->v[i] == img) pos[k++] = (uint32_t)i;
    l->ids = *ids;
    *ids = (sk_ids){0};
    l->scored = scored;
    l->image_pos = pos;
    l->n_images = n_img;
    *out = l;
    return SILKIE_OK;
}

size_t silkie_token_list_size(const silkie_token_list *l) { return l ? l->ids.n : 0; }
const int32_t *silkie_token_list_ids(const silkie_token_list *l) { return l ? l->ids.v : NULL; }
const uint8_t *silkie_token_list_scored(const silkie_token_list *l)
{
    return l ? l->scored : NULL;
}
uint32_t silkie_token_list_n_images(const silkie_token_list *l) { return l ? l->n_images : 0; }
const uint32_t *silkie_token_list_image_positions(const silkie_token_list *l)
{
    return l ? l->image_pos : NULL;
}
uint32_t silkie_token_list_n_turns_kept(const silkie_token_list *l)
{
    return l ? l->n_turns_kept : 0;
}

void silkie_token_list_destroy(silkie_token_list *l)
{
    if (!l) return;
    silkie_ids_release(&l->ids);
    silkie_free(l->scored);
    silkie_free(l->image_pos);
    silkie_free(l);
}
