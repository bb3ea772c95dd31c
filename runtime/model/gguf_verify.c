/* Checking packed files: the silkie.sha256.* keys of a GGUF file, the zip CRCs of torch.save
 * archives, and the silkie.selftest.* keys (docs/FIRMWARE.md, "Integrity"). */
#include <stdio.h>
#include <stdlib.h>

#define SK_LOG_MODULE "model"
#include "files_int.h"
#include "sha256.h"

/* Bytes hashed (or CRC-checked) before their pages are dropped, when the buffer is a mapping of
 * an owner view: verifying reads a whole file with a bounded resident set. */
#define RELEASE_STEP ((size_t)8 << 20)

static void sha256_release(const silkie_weights *owner, const uint8_t *p, size_t n,
                           uint8_t out[SILKIE_SHA256_BYTES])
{
    silkie_sha256 h;
    silkie_sha256_init(&h);
    for (size_t at = 0; at < n; at += RELEASE_STEP) {
        size_t k = SK_MIN(n - at, RELEASE_STEP);
        silkie_sha256_update(&h, p + at, k);
        if (owner) silkie_weights_release_range(owner, p + at, k);
    }
    silkie_sha256_final(&h, out);
}

typedef struct reporter {
    silkie_verify_fn fn;
    void *user;
    silkie_status first; /* first failure */
} reporter;

/* Records a finding; returns true when checking should go on. */
static bool report(reporter *r, const char *check, const char *subject, silkie_status st)
{
    if (st != SILKIE_OK && r->first == SILKIE_OK) r->first = st;
    if (r->fn) r->fn(r->user, check, subject, st, st == SILKIE_OK ? "" : silkie_last_error());
    return st == SILKIE_OK || r->fn != NULL;
}

/* A u8 array key of exactly n bytes; its value's offset in the file into *at. */
static silkie_status digest_key(const silkie_gguf *g, const uint8_t *buf, const char *key,
                                uint64_t n, const char *what, uint64_t *at)
{
    const silkie_gguf_kv *kv = silkie_gguf_find_kv(g, key);
    if (!kv)
        return SK_FAIL(SILKIE_ERR_BAD_FILE, "%s: no '%s' key: the file carries no checksums "
                       "(pack it again with silkie-pack)", what, key);
    if (kv->type != SILKIE_GGUF_ARRAY || kv->arr_type != SILKIE_GGUF_U8 || kv->n != n)
        return SK_FAIL(SILKIE_ERR_BAD_FILE, "%s: '%s' is not an array of %llu bytes", what, key,
                       (unsigned long long)n);
    *at = (uint64_t)(kv->data - buf);
    return SILKIE_OK;
}

typedef struct span {
    uint64_t begin, end;
} span;

static int span_cmp(const void *a, const void *b)
{
    const span *x = a, *y = b;
    return x->begin < y->begin ? -1 : x->begin > y->begin;
}

static bool all_zero(const uint8_t *p, uint64_t n, uint64_t *bad)
{
    for (uint64_t i = 0; i < n; i++)
        if (p[i]) {
            *bad = i;
            return false;
        }
    return true;
}

/* Every byte of the data area outside the tensors is zero, and the file ends with the last
 * tensor's padding: then no byte of the file is outside some digest or this check. */
static silkie_status check_layout(const silkie_weights *v, const uint8_t *buf, size_t size,
                                  uint64_t data_start, uint32_t alignment, const char *what)
{
    span *sp = SK_NEW_ARRAY(span, v->n ? v->n : 1);
    if (!sp) return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "%s: layout", what);
    for (uint32_t i = 0; i < v->n; i++) {
        uint64_t b = (uint64_t)((const uint8_t *)v->entries[i].w.data - buf);
        sp[i] = (span){b, b + v->entries[i].w.nbytes};
    }
    qsort(sp, v->n, sizeof *sp, span_cmp);
    uint64_t pos = data_start, bad = 0;
    silkie_status st = SILKIE_OK;
    for (uint32_t i = 0; i <= v->n && st == SILKIE_OK; i++) {
        uint64_t end = i < v->n ? sp[i].begin : size;
        if (i == v->n) {
            uint64_t want = data_start + ((pos - data_start + alignment - 1) / alignment) *
                                             alignment;
            if (size != want) {
                st = SK_FAIL(SILKIE_ERR_BAD_FILE, "%s: the file has %zu bytes, its tensors and "
                             "padding end at %llu (truncated or extended)", what, size,
                             (unsigned long long)want);
                break;
            }
        }
        if (end > pos && !all_zero(buf + pos, end - pos, &bad))
            st = SK_FAIL(SILKIE_ERR_BAD_FILE, "%s: padding byte %llu of the data area is not "
                         "zero", what, (unsigned long long)(pos + bad));
        if (i < v->n) pos = SK_MAX(pos, sp[i].end);
    }
    silkie_free(sp);
    return st;
}

/* SHA-256 of [0, data_start) with the value bytes of both digest keys read as zeros. */
static void header_digest(const uint8_t *buf, uint64_t data_start, uint64_t a, uint64_t na,
                          uint64_t b, uint64_t nb, uint8_t out[SILKIE_SHA256_BYTES])
{
    static const uint8_t zeros[256];
    if (a > b) {
        uint64_t t = a, tn = na;
        a = b;
        na = nb;
        b = t;
        nb = tn;
    }
    const uint64_t cuts[4][2] = {{a, na}, {b, nb}, {data_start, 0}, {0, 0}};
    silkie_sha256 h;
    silkie_sha256_init(&h);
    uint64_t pos = 0;
    for (int k = 0; k < 3; k++) {
        uint64_t at = SK_MAX(cuts[k][0], pos), n = cuts[k][1];
        if (at > pos) silkie_sha256_update(&h, buf + pos, (size_t)(at - pos));
        for (uint64_t z = 0; z < n; z += sizeof zeros)
            silkie_sha256_update(&h, zeros, (size_t)SK_MIN(n - z, (uint64_t)sizeof zeros));
        pos = at + n;
    }
    silkie_sha256_final(&h, out);
}

silkie_status silkie_gguf_verify(const uint8_t *buf, size_t size, const char *what,
                                 const silkie_weights *owner, silkie_verify_fn fn, void *user)
{
    if (!buf || !what)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "gguf_verify: buf, what required");
    reporter r = {fn, user, SILKIE_OK};
    silkie_weights *v = sk_weights_new(SILKIE_WEIGHTS_GGUF);
    if (!v) return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "%s: verify", what);
    silkie_status st = sk_gguf_parse(v, buf, size, what);
    report(&r, "structure", NULL, st);
    uint64_t meta_at = 0, sums_at = 0, data_start = 0;
    if (st == SILKIE_OK) {
        data_start = sk_gguf_data_start(v->gguf);
        st = digest_key(v->gguf, buf, SILKIE_GGUF_KEY_SHA256_METADATA, SILKIE_SHA256_BYTES, what,
                        &meta_at);
        if (st == SILKIE_OK)
            st = digest_key(v->gguf, buf, SILKIE_GGUF_KEY_SHA256_TENSORS,
                            (uint64_t)v->n * SILKIE_SHA256_BYTES, what, &sums_at);
        /* The keys live in the metadata, which lies before the data. */
        if (st == SILKIE_OK && (data_start > size || meta_at + SILKIE_SHA256_BYTES > data_start ||
                                sums_at + (uint64_t)v->n * SILKIE_SHA256_BYTES > data_start))
            st = SK_FAIL(SILKIE_ERR_BAD_FILE, "%s: digest keys outside the header", what);
        report(&r, "checksums", NULL, st);
    }
    if (st == SILKIE_OK) {
        /* The metadata first: a damaged tensor info moves a tensor, which the layout check
         * would otherwise report as stray bytes. */
        uint8_t d[SILKIE_SHA256_BYTES];
        header_digest(buf, data_start, meta_at, SILKIE_SHA256_BYTES, sums_at,
                      (uint64_t)v->n * SILKIE_SHA256_BYTES, d);
        silkie_status ms = SILKIE_OK;
        if (memcmp(d, buf + meta_at, sizeof d) != 0)
            ms = SK_FAIL(SILKIE_ERR_BAD_FILE, "%s: the metadata is damaged: its SHA-256 differs "
                         "from the one recorded", what);
        bool go = report(&r, "metadata", NULL, ms);
        if (go)
            go = report(&r, "layout", NULL,
                        check_layout(v, buf, size, data_start, silkie_gguf_alignment(v->gguf),
                                     what));
        for (uint32_t i = 0; go && i < v->n; i++) {
            const silkie_weight *t = &v->entries[i].w;
            sha256_release(owner, t->data, t->nbytes, d);
            silkie_status ts = SILKIE_OK;
            if (memcmp(d, buf + sums_at + (uint64_t)i * SILKIE_SHA256_BYTES, sizeof d) != 0)
                ts = SK_FAIL(SILKIE_ERR_BAD_FILE, "%s: tensor '%s' is damaged: its SHA-256 "
                             "differs from the one recorded", what, t->name);
            go = report(&r, "tensor", t->name, ts);
        }
    }
    silkie_weights_close(v);
    return r.first;
}

silkie_status sk_torch_zip_verify(const uint8_t *buf, size_t size, const char *what,
                                  const silkie_weights *owner, silkie_verify_fn fn, void *user)
{
    reporter r = {fn, user, SILKIE_OK};
    sk_zip z;
    silkie_status st = sk_zip_open(buf, size, what, &z); /* checks the small entries */
    if (!report(&r, "structure", NULL, st) || st != SILKIE_OK) return r.first;
    for (uint32_t i = 0; i < z.n; i++) {
        const sk_zip_entry *e = &z.entries[i];
        char name[320];
        snprintf(name, sizeof name, "%.*s", (int)SK_MIN(e->name_len, 300u), e->name);
        silkie_status es = sk_zip_check_crc(e, what, owner);
        if (!report(&r, "zip", name, es)) break;
    }
    sk_zip_release(&z);
    return r.first;
}

silkie_status silkie_weights_verify(const silkie_weights *w, const char *what,
                                    silkie_verify_fn fn, void *user)
{
    if (!w || !what)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "weights_verify: w, what required");
    silkie_status first = SILKIE_OK;
    bool gguf_pair = w->format == SILKIE_WEIGHTS_GGUF && w->n_maps == 2;
    for (uint32_t i = 0; i < w->n_maps; i++) {
        const sk_map *m = &w->maps[i];
        char name[4200];
        /* A GGUF view holds the model file and possibly its mmproj sibling; shards are numbered
         * in opening order. */
        if (gguf_pair && i == 1) {
            if (silkie_qwen_gguf_mmproj_path(what, name, sizeof name) != SILKIE_OK)
                snprintf(name, sizeof name, "%s (vision file)", what);
        } else if (w->n_maps > 1 && !gguf_pair) {
            snprintf(name, sizeof name, "%s (file %u of %u)", what, i + 1, w->n_maps);
        } else {
            snprintf(name, sizeof name, "%s", what);
        }
        silkie_status st = SILKIE_OK;
        if (m->size >= 4 && memcmp(m->base, "GGUF", 4) == 0)
            st = silkie_gguf_verify(m->base, m->size, name, w, fn, user);
        else if (m->size >= 4 && memcmp(m->base, "PK\3\4", 4) == 0)
            st = sk_torch_zip_verify(m->base, m->size, name, w, fn, user);
        else
            SK_LOGW("%s: safetensors files carry no checksums; nothing to verify", name);
        if (st != SILKIE_OK && first == SILKIE_OK) first = st;
        if (st != SILKIE_OK && !fn) break;
    }
    return first;
}

/* ---- self-test vector ---------------------------------------------------------------------- */

#define ST "silkie.selftest."

silkie_status silkie_gguf_selftest_reserve(silkie_gguf_writer *w, const silkie_gguf_selftest *v,
                                           silkie_gguf_selftest_slots *slots)
{
    if (!w || !v || !slots)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "selftest_reserve: w, v, slots required");
    SK_CHECK(silkie_gguf_writer_add_u32(w, ST "version", v->version));
    SK_CHECK(silkie_gguf_writer_add_str(w, ST "system", v->system));
    SK_CHECK(silkie_gguf_writer_add_str(w, ST "prompt", v->prompt));
    SK_CHECK(silkie_gguf_writer_add_u32(w, ST "image_width", v->image_width));
    SK_CHECK(silkie_gguf_writer_add_u32(w, ST "image_height", v->image_height));
    SK_CHECK(silkie_gguf_writer_add_str(w, ST "kv_type", silkie_dtype_name(v->kv_type)));
    SK_CHECK(silkie_gguf_writer_add_reserved(w, ST "n_prompt", SILKIE_GGUF_U32, false, 1,
                                             &slots->n_prompt_at));
    SK_CHECK(silkie_gguf_writer_add_reserved(w, ST "top_ids", SILKIE_GGUF_I32, true,
                                             SILKIE_SELFTEST_TOP_K, &slots->top_ids_at));
    SK_CHECK(silkie_gguf_writer_add_reserved(w, ST "top_logits", SILKIE_GGUF_F32, true,
                                             SILKIE_SELFTEST_TOP_K, &slots->top_logits_at));
    return silkie_gguf_writer_add_reserved(w, ST "tokens", SILKIE_GGUF_I32, true,
                                           SILKIE_SELFTEST_TOKENS, &slots->tokens_at);
}

uint32_t silkie_gguf_selftest_patches(const silkie_gguf_selftest *v,
                                      const silkie_gguf_selftest_slots *s,
                                      silkie_gguf_patch out[4])
{
    /* GGUF is little-endian, like every target of the runtime (files_int.h). */
    out[0] = (silkie_gguf_patch){s->n_prompt_at, &v->n_prompt, sizeof v->n_prompt};
    out[1] = (silkie_gguf_patch){s->top_ids_at, v->top_ids, sizeof v->top_ids};
    out[2] = (silkie_gguf_patch){s->top_logits_at, v->top_logits, sizeof v->top_logits};
    out[3] = (silkie_gguf_patch){s->tokens_at, v->tokens, sizeof v->tokens};
    return 4;
}

static silkie_status st_text(const silkie_gguf *g, const char *key, char *out)
{
    const char *s = NULL;
    size_t n = 0;
    if (silkie_gguf_get_str(g, key, &s, &n) != SILKIE_OK || n >= SILKIE_SELFTEST_TEXT_MAX ||
        memchr(s, 0, n))
        return SK_FAIL(SILKIE_ERR_BAD_FILE, "self-test: '%s' is missing, not a string or longer "
                       "than %u bytes", key, SILKIE_SELFTEST_TEXT_MAX - 1);
    memcpy(out, s, n);
    out[n] = 0;
    return SILKIE_OK;
}

static silkie_status st_u32(const silkie_gguf *g, const char *key, uint32_t hi, uint32_t *out)
{
    const silkie_gguf_kv *kv = silkie_gguf_find_kv(g, key);
    if (!kv || kv->type != SILKIE_GGUF_U32 || kv->v.u > hi)
        return SK_FAIL(SILKIE_ERR_BAD_FILE, "self-test: '%s' is missing, not a u32 or above %u",
                       key, hi);
    *out = (uint32_t)kv->v.u;
    return SILKIE_OK;
}

static silkie_status st_arr(const silkie_gguf *g, const char *key, silkie_gguf_type t, uint32_t n,
                            void *out)
{
    const silkie_gguf_kv *kv = silkie_gguf_find_kv(g, key);
    if (!kv || kv->type != SILKIE_GGUF_ARRAY || kv->arr_type != t || kv->n != n)
        return SK_FAIL(SILKIE_ERR_BAD_FILE, "self-test: '%s' is missing or not an array of %u "
                       "%s", key, n, t == SILKIE_GGUF_F32 ? "f32" : "i32");
    memcpy(out, kv->data, (size_t)n * 4);
    return SILKIE_OK;
}

silkie_status silkie_gguf_selftest_read(const silkie_gguf *g, silkie_gguf_selftest *v,
                                        bool *present)
{
    if (!g || !v || !present)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "selftest_read: g, v, present required");
    memset(v, 0, sizeof *v);
    *present = false;
    for (uint64_t i = 0; i < silkie_gguf_n_kv(g) && !*present; i++)
        *present = strncmp(silkie_gguf_kv_at(g, i)->key, ST, sizeof ST - 1) == 0;
    if (!*present) return SILKIE_OK;
    SK_CHECK(st_u32(g, ST "version", UINT32_MAX, &v->version));
    if (v->version != SILKIE_SELFTEST_VERSION)
        return SK_FAIL(SILKIE_ERR_UNSUPPORTED, "self-test: version %u, this build reads %u",
                       v->version, SILKIE_SELFTEST_VERSION);
    SK_CHECK(st_text(g, ST "system", v->system));
    SK_CHECK(st_text(g, ST "prompt", v->prompt));
    SK_CHECK(st_u32(g, ST "image_width", 4096, &v->image_width));
    SK_CHECK(st_u32(g, ST "image_height", 4096, &v->image_height));
    if ((v->image_width == 0) != (v->image_height == 0))
        return SK_FAIL(SILKIE_ERR_BAD_FILE, "self-test: image of %u x %u", v->image_width,
                       v->image_height);
    char kv[SILKIE_SELFTEST_TEXT_MAX];
    SK_CHECK(st_text(g, ST "kv_type", kv));
    if (strcmp(kv, "f16") && strcmp(kv, "f32"))
        return SK_FAIL(SILKIE_ERR_BAD_FILE, "self-test: kv_type '%s', want f16 or f32", kv);
    v->kv_type = kv[1] == '1' ? SILKIE_DTYPE_F16 : SILKIE_DTYPE_F32;
    SK_CHECK(st_u32(g, ST "n_prompt", UINT32_MAX, &v->n_prompt));
    SK_CHECK(st_arr(g, ST "top_ids", SILKIE_GGUF_I32, SILKIE_SELFTEST_TOP_K, v->top_ids));
    SK_CHECK(st_arr(g, ST "top_logits", SILKIE_GGUF_F32, SILKIE_SELFTEST_TOP_K, v->top_logits));
    SK_CHECK(st_arr(g, ST "tokens", SILKIE_GGUF_I32, SILKIE_SELFTEST_TOKENS, v->tokens));
    for (uint32_t i = 0; i < SILKIE_SELFTEST_TOP_K; i++)
        if (v->top_ids[i] < 0 || !(v->top_logits[i] == v->top_logits[i]) ||
            v->top_logits[i] > 3e38f || v->top_logits[i] < -3e38f ||
            (i && v->top_logits[i] > v->top_logits[i - 1]))
            return SK_FAIL(SILKIE_ERR_BAD_FILE, "self-test: top-%u entry (id %d, logit %g) is "
                           "invalid or out of order", i + 1, v->top_ids[i],
                           (double)v->top_logits[i]);
    for (uint32_t i = 0; i < SILKIE_SELFTEST_TOKENS; i++)
        if (v->tokens[i] < 0)
            return SK_FAIL(SILKIE_ERR_BAD_FILE, "self-test: token %u is %d", i, v->tokens[i]);
    if (v->n_prompt == 0)
        return SK_FAIL(SILKIE_ERR_BAD_FILE, "self-test: the vector was never filled in (0 prompt "
                       "tokens)");
    return SILKIE_OK;
}
