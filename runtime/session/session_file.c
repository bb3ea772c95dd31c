/* Session files: the conversation's tokens and KV cache, written through the safe output writer
 * (base/outfile.h: temp + fsync + rename) so a crash never leaves a half-written file under the
 * real name.
 *
 * Layout (little-endian): magic "SKSESS01", u32 n_vocab, hidden, n_layers, kv dtype, n_tokens,
 * need_im_end, f32 freq_base, i32 tokens[n_tokens], u64 cache bytes, cache, u64 FNV-1a of all
 * preceding bytes. */
#include <stdio.h>

#include "base/outfile.h"
#include "session_int.h"

static const char MAGIC[8] = {'S', 'K', 'S', 'E', 'S', 'S', '0', '1'};

typedef struct hdr {
    uint32_t n_vocab, hidden, n_layers, kv_dtype, n_tokens, need_im_end;
    float freq_base;
} hdr;

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

static silkie_status put(silkie_outfile *f, uint64_t *h, const void *p, size_t n)
{
    if (n == 0) return SILKIE_OK; /* an empty session has no token array (p may be NULL) */
    *h = fnv(*h, p, n);
    return silkie_outfile_write(f, p, n);
}

silkie_status silkie_session_save(silkie_session *s, const char *path)
{
    if (!s || !path) return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "session_save: s, path required");
    SK_CHECK(silkie_session_check_usable(s, "session_save"));
    uint64_t bytes = silkie_qwen_ctx_state_bytes(s->ctx);
    void *cache = silkie_malloc(bytes ? bytes : 1);
    if (!cache) return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "session_save: %llu bytes",
                               (unsigned long long)bytes);
    silkie_status st = silkie_qwen_ctx_state_read(s->ctx, cache, bytes);
    silkie_outfile *f = NULL;
    if (st == SILKIE_OK) st = silkie_outfile_open(path, &f); /* messages name the file */
    if (st == SILKIE_OK) {
        const silkie_model_config *c = &s->m->cfg;
        hdr h = {c->vocab_size, c->hidden_size, s->m->q->n_layers, (uint32_t)s->p.kv_type,
                 s->n_tokens, s->need_im_end, silkie_qwen_ctx_freq_base(s->ctx)};
        uint64_t sum = 0xcbf29ce484222325ull;
        st = put(f, &sum, MAGIC, sizeof MAGIC);
        if (st == SILKIE_OK) st = put(f, &sum, &h, sizeof h);
        if (st == SILKIE_OK) st = put(f, &sum, s->tokens, s->n_tokens * sizeof(int32_t));
        if (st == SILKIE_OK) st = put(f, &sum, &bytes, sizeof bytes);
        if (st == SILKIE_OK) st = put(f, &sum, cache, bytes);
        if (st == SILKIE_OK) st = silkie_outfile_write(f, &sum, sizeof sum);
        if (st == SILKIE_OK) st = silkie_outfile_commit(f);
        else silkie_outfile_abort(f);
    }
    silkie_free(cache);
    return st;
}

silkie_status silkie_session_restore(silkie_session *s, const char *path)
{
    if (!s || !path)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "session_restore: s, path required");
    SK_CHECK(silkie_session_check_usable(s, "session_restore"));
    FILE *f = fopen(path, "rb");
    if (!f) return SK_FAIL(SILKIE_ERR_IO, "session_restore: cannot open %s", path);
    silkie_status st = SILKIE_OK;
    char magic[8];
    hdr h;
    uint64_t bytes = 0, sum = 0xcbf29ce484222325ull, want;
    int32_t *tokens = NULL;
    void *cache = NULL;
    const silkie_model_config *c = &s->m->cfg;
    if (fread(magic, 1, 8, f) != 8 || memcmp(magic, MAGIC, 8) || fread(&h, sizeof h, 1, f) != 1)
        st = SK_FAIL(SILKIE_ERR_BAD_FILE, "session_restore: %s is not a session file", path);
    if (st == SILKIE_OK && (h.n_vocab != c->vocab_size || h.hidden != c->hidden_size ||
                            h.n_layers != s->m->q->n_layers || h.kv_dtype != (uint32_t)s->p.kv_type))
        st = SK_FAIL(SILKIE_ERR_BAD_FILE, "session_restore: %s belongs to another model or cache "
                     "type", path);
    if (st == SILKIE_OK && h.n_tokens > s->p.n_ctx)
        st = SK_FAIL(SILKIE_ERR_CONTEXT_FULL, "session_restore: %u tokens exceed n_ctx %u",
                     h.n_tokens, s->p.n_ctx);
    if (st == SILKIE_OK) {
        sum = fnv(fnv(sum, magic, 8), &h, sizeof h);
        tokens = silkie_malloc((h.n_tokens + 1) * sizeof *tokens);
        if (!tokens) st = SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "session_restore: tokens");
    }
    if (st == SILKIE_OK && (fread(tokens, sizeof *tokens, h.n_tokens, f) != h.n_tokens ||
                            fread(&bytes, sizeof bytes, 1, f) != 1))
        st = SK_FAIL(SILKIE_ERR_BAD_FILE, "session_restore: %s is truncated", path);
    if (st == SILKIE_OK) {
        uint64_t rb = (s->p.kv_type == SILKIE_DTYPE_F32 ? 4 : 2) * (uint64_t)c->hidden_size;
        if (bytes != 2ull * h.n_layers * h.n_tokens * rb)
            st = SK_FAIL(SILKIE_ERR_BAD_FILE, "session_restore: cache size %llu is inconsistent",
                         (unsigned long long)bytes);
    }
    if (st == SILKIE_OK) {
        cache = silkie_malloc(bytes ? bytes : 1);
        if (!cache) st = SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "session_restore: cache");
    }
    if (st == SILKIE_OK && (fread(cache, 1, bytes, f) != bytes || fread(&want, 8, 1, f) != 1))
        st = SK_FAIL(SILKIE_ERR_BAD_FILE, "session_restore: %s is truncated", path);
    if (st == SILKIE_OK) {
        sum = fnv(fnv(fnv(sum, tokens, h.n_tokens * sizeof *tokens), &bytes, 8), cache, bytes);
        if (sum != want) st = SK_FAIL(SILKIE_ERR_BAD_FILE, "session_restore: checksum mismatch");
    }
    for (uint32_t i = 0; st == SILKIE_OK && i < h.n_tokens; i++)
        if (tokens[i] < 0 || (uint32_t)tokens[i] >= c->vocab_size)
            st = SK_FAIL(SILKIE_ERR_BAD_FILE, "session_restore: token %u out of range", i);
    fclose(f);
    /* Only now touch the session: a bad file leaves it as it was. */
    if (st == SILKIE_OK) st = silkie_session_reset(s);
    if (st == SILKIE_OK)
        st = silkie_qwen_ctx_state_write(s->ctx, h.n_tokens, h.freq_base, cache, bytes);
    if (st == SILKIE_OK) {
        silkie_free(s->tokens);
        s->tokens = tokens;
        s->cap_tokens = h.n_tokens + 1;
        s->n_tokens = h.n_tokens;
        s->need_im_end = h.need_im_end;
        silkie_sampler_accept(&s->sampler, tokens, h.n_tokens);
        tokens = NULL;
    }
    silkie_free(tokens);
    silkie_free(cache);
    return st;
}
