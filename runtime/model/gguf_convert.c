/* Hugging Face <-> GGUF tensor names for Qwen-VL (spec §10), row conversion/quantization, and
 * the converter that writes the LLM or the vision part of a checkpoint as GGUF. */
#include <fnmatch.h>
#include <stdio.h>

#include "files_int.h"
#include "ref/ref.h"

#define V "transformer.visual."

/* Patterns: '#' matches a decimal block/layer number, '$' matches "weight" or "bias". */
typedef struct name_rule {
    const char *hf;
    const char *gguf[3];
    silkie_gguf_conv conv;
    silkie_gguf_part part;
} name_rule;

static const name_rule k_rules[] = {
    {"transformer.wte.weight", {"token_embd.weight"}, SILKIE_GGUF_CONV_COPY, SILKIE_GGUF_PART_LLM},
    {"transformer.h.#.ln_1.weight", {"blk.#.attn_norm.weight"}, 0, SILKIE_GGUF_PART_LLM},
    {"transformer.h.#.attn.c_attn.$", {"blk.#.attn_qkv.$"}, 0, SILKIE_GGUF_PART_LLM},
    {"transformer.h.#.attn.c_proj.weight", {"blk.#.attn_output.weight"}, 0, SILKIE_GGUF_PART_LLM},
    {"transformer.h.#.ln_2.weight", {"blk.#.ffn_norm.weight"}, 0, SILKIE_GGUF_PART_LLM},
    {"transformer.h.#.mlp.w2.weight", {"blk.#.ffn_gate.weight"}, 0, SILKIE_GGUF_PART_LLM},
    {"transformer.h.#.mlp.w1.weight", {"blk.#.ffn_up.weight"}, 0, SILKIE_GGUF_PART_LLM},
    {"transformer.h.#.mlp.c_proj.weight", {"blk.#.ffn_down.weight"}, 0, SILKIE_GGUF_PART_LLM},
    {"transformer.ln_f.weight", {"output_norm.weight"}, 0, SILKIE_GGUF_PART_LLM},
    {"lm_head.weight", {"output.weight"}, 0, SILKIE_GGUF_PART_LLM},
    {V "conv1.weight", {"v.patch_embd.weight"}, 0, SILKIE_GGUF_PART_VISION},
    {V "positional_embedding", {"v.position_embd.weight"}, 0, SILKIE_GGUF_PART_VISION},
    {V "ln_pre.$", {"v.pre_ln.$"}, 0, SILKIE_GGUF_PART_VISION},
    {V "transformer.resblocks.#.ln_1.$", {"v.blk.#.ln1.$"}, 0, SILKIE_GGUF_PART_VISION},
    {V "transformer.resblocks.#.attn.in_proj.$",
     {"v.blk.#.attn_q.$", "v.blk.#.attn_k.$", "v.blk.#.attn_v.$"}, SILKIE_GGUF_CONV_QKV_HEADS,
     SILKIE_GGUF_PART_VISION},
    {V "transformer.resblocks.#.attn.out_proj.$", {"v.blk.#.attn_out.$"}, 0,
     SILKIE_GGUF_PART_VISION},
    {V "transformer.resblocks.#.ln_2.$", {"v.blk.#.ln2.$"}, 0, SILKIE_GGUF_PART_VISION},
    {V "transformer.resblocks.#.mlp.c_fc.$", {"v.blk.#.ffn_up.$"}, 0, SILKIE_GGUF_PART_VISION},
    {V "transformer.resblocks.#.mlp.c_proj.$", {"v.blk.#.ffn_down.$"}, 0,
     SILKIE_GGUF_PART_VISION},
    {V "attn_pool.query", {"resampler.query"}, 0, SILKIE_GGUF_PART_VISION},
    {V "attn_pool.pos_embed", {"resampler.pos_embed"}, 0, SILKIE_GGUF_PART_VISION},
    {V "attn_pool.kv_proj.weight", {"resampler.kv.weight"}, 0, SILKIE_GGUF_PART_VISION},
    {V "attn_pool.attn.in_proj_weight",
     {"resampler.attn.q.weight", "resampler.attn.k.weight", "resampler.attn.v.weight"},
     SILKIE_GGUF_CONV_QKV_THIRDS, SILKIE_GGUF_PART_VISION},
    {V "attn_pool.attn.in_proj_bias",
     {"resampler.attn.q.bias", "resampler.attn.k.bias", "resampler.attn.v.bias"},
     SILKIE_GGUF_CONV_QKV_THIRDS, SILKIE_GGUF_PART_VISION},
    {V "attn_pool.attn.out_proj.$", {"resampler.attn.out.$"}, 0, SILKIE_GGUF_PART_VISION},
    {V "attn_pool.ln_q.$", {"resampler.ln_q.$"}, 0, SILKIE_GGUF_PART_VISION},
    {V "attn_pool.ln_kv.$", {"resampler.ln_kv.$"}, 0, SILKIE_GGUF_PART_VISION},
    {V "ln_post.$", {"resampler.ln_post.$"}, 0, SILKIE_GGUF_PART_VISION},
    {V "proj", {"resampler.proj.weight"}, SILKIE_GGUF_CONV_TRANSPOSE, SILKIE_GGUF_PART_VISION},
};

typedef struct caps {
    char num[16];
    const char *wb; /* "weight" / "bias" */
} caps;

static bool match(const char *pat, const char *s, caps *c)
{
    c->num[0] = 0;
    c->wb = NULL;
    while (*pat) {
        if (*pat == '#') {
            size_t n = 0;
            while (s[n] >= '0' && s[n] <= '9') n++;
            if (n == 0 || n >= sizeof c->num || (n > 1 && s[0] == '0')) return false;
            memcpy(c->num, s, n);
            c->num[n] = 0;
            s += n;
        } else if (*pat == '$') {
            if (strcmp(s, "weight") == 0) c->wb = "weight";
            else if (strcmp(s, "bias") == 0) c->wb = "bias";
            else return false;
            s += strlen(c->wb);
        } else if (*pat++ == *s) {
            s++;
            continue;
        } else {
            return false;
        }
        pat++;
    }
    return *s == 0;
}

static bool expand(const char *pat, const caps *c, char *out, size_t cap)
{
    size_t o = 0;
    for (; *pat; pat++) {
        const char *ins = *pat == '#' ? c->num : *pat == '$' ? c->wb : NULL;
        size_t n = ins ? strlen(ins) : 1;
        if (o + n >= cap) return false;
        if (ins) memcpy(out + o, ins, n);
        else out[o] = *pat;
        o += n;
    }
    out[o] = 0;
    return true;
}

uint32_t silkie_gguf_name_from_hf(const char *hf, char out[3][96], silkie_gguf_conv *conv,
                                  silkie_gguf_part *part)
{
    if (!hf) return 0;
    for (size_t i = 0; i < SK_ARRAY_LEN(k_rules); i++) {
        caps c;
        if (!match(k_rules[i].hf, hf, &c)) continue;
        uint32_t n = k_rules[i].gguf[1] ? 3 : 1;
        for (uint32_t k = 0; k < n; k++)
            if (!expand(k_rules[i].gguf[k], &c, out[k], 96)) return 0;
        if (conv) *conv = k_rules[i].conv;
        if (part) *part = k_rules[i].part;
        return n;
    }
    return 0;
}

bool silkie_gguf_name_to_hf(const char *gguf, char *out, size_t cap)
{
    if (!gguf || !out) return false;
    for (size_t i = 0; i < SK_ARRAY_LEN(k_rules); i++) {
        caps c;
        if (k_rules[i].gguf[1] || !match(k_rules[i].gguf[0], gguf, &c)) continue;
        return expand(k_rules[i].hf, &c, out, cap);
    }
    return false;
}

/* ---- row conversion ----------------------------------------------------------------------- */

static bool is_float_type(silkie_dtype t)
{
    return t == SILKIE_DTYPE_F32 || t == SILKIE_DTYPE_F16 || t == SILKIE_DTYPE_BF16 ||
           t == SILKIE_DTYPE_Q8_0 || t == SILKIE_DTYPE_Q4_0;
}

silkie_status silkie_convert_rows(silkie_dtype src_type, const void *src, silkie_dtype dst_type,
                                  void *dst, uint64_t n_rows, uint64_t row_len)
{
    if (!is_float_type(src_type) || !is_float_type(dst_type))
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "convert_rows: %s -> %s is not supported",
                       silkie_dtype_name(src_type) ? silkie_dtype_name(src_type) : "?",
                       silkie_dtype_name(dst_type) ? silkie_dtype_name(dst_type) : "?");
    if ((n_rows && row_len && (!src || !dst)) ||
        row_len % silkie_dtype_block_elems(src_type) ||
        row_len % silkie_dtype_block_elems(dst_type))
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "convert_rows: rows of %llu (%s -> %s) need "
                       "whole blocks of 32", (unsigned long long)row_len,
                       silkie_dtype_name(src_type), silkie_dtype_name(dst_type));
    if (!n_rows || !row_len) return SILKIE_OK;
    float *tmp = silkie_malloc((size_t)row_len * sizeof(float));
    if (!tmp) return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "convert_rows: %llu floats",
                             (unsigned long long)row_len);
    uint64_t sb = silkie_ref_row_bytes(src_type, row_len);
    uint64_t db = silkie_ref_row_bytes(dst_type, row_len);
    for (uint64_t r = 0; r < n_rows; r++) {
        silkie_ref_dequant_row(src_type, (const uint8_t *)src + r * sb, tmp, row_len);
        silkie_ref_quantize_row(dst_type, tmp, (uint8_t *)dst + r * db, row_len);
    }
    silkie_free(tmp);
    return SILKIE_OK;
}

/* ---- converter ---------------------------------------------------------------------------- */

static float load_elem(silkie_dtype t, const uint8_t *base, uint64_t i)
{
    switch (t) {
    case SILKIE_DTYPE_F32: {
        float f;
        memcpy(&f, base + 4 * i, 4);
        return f;
    }
    case SILKIE_DTYPE_F16: return silkie_f16_to_f32(sk_le16(base + 2 * i));
    case SILKIE_DTYPE_BF16: return silkie_bf16_to_f32(sk_le16(base + 2 * i));
    default: return 0.0f; /* callers accept only the three types above */
    }
}

typedef struct out_desc {
    uint32_t n_dims;
    uint64_t shape[SILKIE_WEIGHT_MAX_DIMS];
    uint64_t rows, row_len;
} out_desc;

/* Source element index of output element (r, j) of output k. */
static uint64_t src_index(const silkie_weight *s, silkie_gguf_conv conv, uint32_t k,
                          const out_desc *o, uint32_t heads, uint64_t r, uint64_t j)
{
    if (s->n_dims == 1) {
        /* 1-D split: the single row's element j follows the same rule as a 2-D row index. */
        uint64_t n = s->shape[0] / 3;
        if (conv == SILKIE_GGUF_CONV_QKV_THIRDS) return k * n + j;
        if (conv == SILKIE_GGUF_CONV_QKV_HEADS) {
            uint64_t hd = n / heads;
            return (j / hd) * 3 * hd + k * hd + j % hd;
        }
        return j;
    }
    uint64_t cols = s->shape[s->n_dims - 1];
    switch (conv) {
    case SILKIE_GGUF_CONV_QKV_THIRDS: return (k * o->rows + r) * cols + j;
    case SILKIE_GGUF_CONV_QKV_HEADS: {
        uint64_t hd = o->rows / heads;
        return ((r / hd) * 3 * hd + k * hd + r % hd) * cols + j;
    }
    case SILKIE_GGUF_CONV_TRANSPOSE: return j * cols + r;
    default: return r * cols + j;
    }
}

static silkie_status out_shape(const silkie_weight *s, silkie_gguf_conv conv, uint32_t heads,
                               out_desc *o)
{
    o->n_dims = s->n_dims;
    for (uint32_t d = 0; d < s->n_dims; d++) o->shape[d] = s->shape[d];
    if (s->n_dims == 0 || s->n_dims > 4)
        return SK_FAIL(SILKIE_ERR_BAD_MODEL, "gguf_convert: tensor '%s' has %u dims", s->name,
                       s->n_dims);
    if (conv == SILKIE_GGUF_CONV_QKV_HEADS || conv == SILKIE_GGUF_CONV_QKV_THIRDS) {
        if (s->n_dims > 2 || s->shape[0] % 3 ||
            (conv == SILKIE_GGUF_CONV_QKV_HEADS && (s->shape[0] / 3) % heads))
            return SK_FAIL(SILKIE_ERR_BAD_MODEL, "gguf_convert: tensor '%s' cannot be split into "
                           "q, k, v", s->name);
        o->shape[0] /= 3;
    }
    if (conv == SILKIE_GGUF_CONV_TRANSPOSE) {
        if (s->n_dims != 2)
            return SK_FAIL(SILKIE_ERR_BAD_MODEL, "gguf_convert: tensor '%s' is not 2-D", s->name);
        o->shape[0] = s->shape[1];
        o->shape[1] = s->shape[0];
    }
    o->row_len = o->shape[o->n_dims - 1];
    o->rows = 1;
    for (uint32_t d = 0; d + 1 < o->n_dims; d++) o->rows *= o->shape[d];
    return SILKIE_OK;
}

static bool is_table(const char *gguf)
{
    return strstr(gguf, "position_embd") || strstr(gguf, "pos_embed") ||
           strcmp(gguf, "resampler.query") == 0;
}

static silkie_dtype pick_type(const silkie_gguf_convert_params *p, const char *gguf,
                              const out_desc *o, silkie_gguf_part part)
{
    silkie_dtype mt = p->matrix_type, ot = p->other_type;
    if (p->part == SILKIE_GGUF_PART_ALL && part == SILKIE_GGUF_PART_VISION)
        mt = p->vision_matrix_type;
    silkie_dtype t = (o->n_dims == 2 && !is_table(gguf)) ? mt : ot;
    if (silkie_dtype_block_elems(t) > 1 && o->row_len % 32) t = SILKIE_DTYPE_F16;
    return t;
}

static silkie_status write_llm_meta(silkie_gguf_writer *g, const silkie_model_config *c)
{
    SK_CHECK(silkie_gguf_writer_add_str(g, "general.architecture", "qwen"));
    SK_CHECK(silkie_gguf_writer_add_str(g, "general.name", "Qwen-VL-Chat"));
    SK_CHECK(silkie_gguf_writer_add_u32(g, "qwen.context_length", c->max_position_embeddings));
    SK_CHECK(silkie_gguf_writer_add_u32(g, "qwen.block_count", c->n_layers));
    SK_CHECK(silkie_gguf_writer_add_u32(g, "qwen.embedding_length", c->hidden_size));
    SK_CHECK(silkie_gguf_writer_add_u32(g, "qwen.feed_forward_length", c->intermediate_size));
    SK_CHECK(silkie_gguf_writer_add_f32(g, "qwen.rope.freq_base", c->rotary_base));
    SK_CHECK(silkie_gguf_writer_add_u32(g, "qwen.rope.dimension_count", c->rotary_dims));
    SK_CHECK(silkie_gguf_writer_add_u32(g, "qwen.attention.head_count", c->n_heads));
    SK_CHECK(silkie_gguf_writer_add_u32(g, "qwen.attention.key_length", c->head_dim));
    SK_CHECK(silkie_gguf_writer_add_u32(g, "qwen.attention.value_length", c->head_dim));
    SK_CHECK(silkie_gguf_writer_add_f32(g, "qwen.attention.layer_norm_rms_epsilon", c->eps));
    SK_CHECK(silkie_gguf_writer_add_u32(g, "qwen.vocab_size", c->vocab_size));
    /* Product keys: seq_length is the base of both inference-time corrections (spec §5.5,
     * §5.6); the two optional keys say which of them the checkpoint enables. */
    SK_CHECK(silkie_gguf_writer_add_u32(g, "qwen.seq_length", c->seq_length));
    if (c->use_logn_attn)
        SK_CHECK(silkie_gguf_writer_add_u32(g, "qwen.attention.logn_base_length",
                                            c->seq_length));
    if (c->use_dynamic_ntk)
        SK_CHECK(silkie_gguf_writer_add_u32(g, "qwen.rope.dynamic_ntk_base_length",
                                            c->seq_length));
    return silkie_gguf_writer_add_i32(g, "qwen.vision.image_start_token_id",
                                      c->visual.image_start_id);
}

static silkie_status write_vision_meta(silkie_gguf_writer *g, const silkie_model_config *c,
                                       bool own_file)
{
    const silkie_vision_config *v = &c->visual;
    static const float mean[3] = {0.48145466f, 0.4578275f, 0.40821073f};
    static const float std[3] = {0.26862954f, 0.26130258f, 0.27577711f};
    if (own_file) {
        SK_CHECK(silkie_gguf_writer_add_str(g, "general.architecture", "clip"));
        SK_CHECK(silkie_gguf_writer_add_str(g, "general.name", "Qwen-VL-Chat vision"));
    }
    SK_CHECK(silkie_gguf_writer_add_bool(g, "clip.has_vision_encoder", true));
    SK_CHECK(silkie_gguf_writer_add_str(g, "clip.projector_type", "qwenvl_resampler"));
    SK_CHECK(silkie_gguf_writer_add_u32(g, "clip.vision.image_size", v->image_size));
    SK_CHECK(silkie_gguf_writer_add_u32(g, "clip.vision.patch_size", v->patch_size));
    SK_CHECK(silkie_gguf_writer_add_u32(g, "clip.vision.embedding_length", v->width));
    SK_CHECK(silkie_gguf_writer_add_u32(g, "clip.vision.feed_forward_length", v->mlp_width));
    SK_CHECK(silkie_gguf_writer_add_u32(g, "clip.vision.block_count", v->layers));
    SK_CHECK(silkie_gguf_writer_add_u32(g, "clip.vision.attention.head_count", v->heads));
    SK_CHECK(silkie_gguf_writer_add_f32(g, "clip.vision.attention.layer_norm_epsilon", 1e-6f));
    SK_CHECK(silkie_gguf_writer_add_u32(g, "clip.vision.projection_dim", v->output_dim));
    SK_CHECK(silkie_gguf_writer_add_arr(g, "clip.vision.image_mean", SILKIE_GGUF_F32, mean, 3));
    SK_CHECK(silkie_gguf_writer_add_arr(g, "clip.vision.image_std", SILKIE_GGUF_F32, std, 3));
    SK_CHECK(silkie_gguf_writer_add_u32(g, "clip.minicpmv_query_num", v->n_queries));
    return silkie_gguf_writer_add_bool(g, "clip.use_gelu", true);
}

static silkie_status write_gen_meta(silkie_gguf_writer *g, const silkie_generation_config *x)
{
    SK_CHECK(silkie_gguf_writer_add_i32(g, "silkie.generation.eos_token_id", x->eos_token_id));
    SK_CHECK(silkie_gguf_writer_add_i32(g, "silkie.generation.pad_token_id", x->pad_token_id));
    SK_CHECK(silkie_gguf_writer_add_u32(g, "silkie.generation.max_new_tokens",
                                        x->max_new_tokens));
    SK_CHECK(silkie_gguf_writer_add_u32(g, "silkie.generation.max_window_size",
                                        x->max_window_size));
    SK_CHECK(silkie_gguf_writer_add_bool(g, "silkie.generation.do_sample", x->do_sample));
    SK_CHECK(silkie_gguf_writer_add_u32(g, "silkie.generation.top_k", x->top_k));
    SK_CHECK(silkie_gguf_writer_add_f32(g, "silkie.generation.top_p", x->top_p));
    SK_CHECK(silkie_gguf_writer_add_f32(g, "silkie.generation.temperature", x->temperature));
    return silkie_gguf_writer_add_f32(g, "silkie.generation.repetition_penalty",
                                      x->repetition_penalty);
}

/* ChatML as Qwen-VL-Chat is prompted (spec §8.1), as a Jinja template for tools that format
 * chats from tokenizer.chat_template: a system turn first (the default one when the messages
 * bring none), each message between <|im_start|>ROLE and <|im_end|>, then the assistant's
 * opening when a reply is wanted. */
static const char k_chat_template[] =
    "{% for message in messages %}"
    "{% if loop.first and message['role'] != 'system' %}"
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
    "{% endif %}"
    "<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}";

static silkie_status write_meta(silkie_gguf_writer *g, const silkie_model_config *c,
                                const silkie_gguf_convert_params *p)
{
    if (p->part != SILKIE_GGUF_PART_VISION) {
        SK_CHECK(write_llm_meta(g, c));
        if (p->tiktoken_path) {
            SK_CHECK(silkie_gguf_write_qwen_vocab(g, p->tiktoken_path, c->vocab_size));
            SK_CHECK(silkie_gguf_writer_add_str(g, "tokenizer.chat_template", k_chat_template));
        }
        if (p->selftest)
            SK_CHECK(silkie_gguf_selftest_reserve(g, p->selftest, p->selftest_slots));
    }
    if (p->gen) SK_CHECK(write_gen_meta(g, p->gen));
    if (p->part == SILKIE_GGUF_PART_LLM) return SILKIE_OK;
    return write_vision_meta(g, c, p->part == SILKIE_GGUF_PART_VISION);
}

typedef struct job {
    const silkie_weight *src;
    silkie_gguf_conv conv;
    uint32_t k;
    out_desc o;
    silkie_dtype type;
    float *pre; /* precomputed f32 rows (upsampled tables), owned; NULL = from src */
} job;

static uint64_t job_bytes(const job *jb)
{
    return jb->o.rows * silkie_ref_row_bytes(jb->type, jb->o.row_len);
}

/* Progress in bytes of tensor data; reported every few MiB and at the end of each tensor. */
typedef struct progress {
    const silkie_gguf_convert_params *p;
    uint64_t done, total, last;
} progress;

static void progress_step(progress *pr, uint64_t bytes, bool force)
{
    pr->done += bytes;
    if (!pr->p->progress || (!force && pr->done - pr->last < ((uint64_t)4 << 20))) return;
    pr->last = pr->done;
    pr->p->progress(pr->p->progress_stage ? pr->p->progress_stage : "packing", pr->done,
                    pr->total, pr->p->progress_user);
}

/* Source bytes read before their pages are dropped again (bounded memory, see below). */
#define RELEASE_STEP ((uint64_t)8 << 20)

static silkie_status write_job(const silkie_weights *src, silkie_gguf_writer *g, const job *jb,
                               uint32_t heads, float *row, uint8_t *qrow, progress *pr)
{
    const uint8_t *base = jb->src->data;
    uint64_t qb = silkie_ref_row_bytes(jb->type, jb->o.row_len);
    /* A copied tensor (or a third of a fused q/k/v matrix) reads its source row after row, so
     * the pages behind the current row can go while it is written: an embedding table never
     * becomes resident as a whole. */
    bool in_order = !jb->pre && jb->src->n_dims == 2 &&
                    (jb->conv == SILKIE_GGUF_CONV_COPY || jb->conv == SILKIE_GGUF_CONV_QKV_THIRDS);
    uint64_t src_rb = jb->o.row_len * silkie_dtype_block_bytes(jb->src->dtype), released = 0;
    const uint8_t *from = base;
    if (jb->conv == SILKIE_GGUF_CONV_QKV_THIRDS) from += jb->k * jb->o.rows * src_rb;
    for (uint64_t r = 0; r < jb->o.rows; r++) {
        if (jb->pre) memcpy(row, jb->pre + r * jb->o.row_len, jb->o.row_len * sizeof(float));
        for (uint64_t j = 0; !jb->pre && j < jb->o.row_len; j++)
            row[j] = load_elem(jb->src->dtype, base,
                               src_index(jb->src, jb->conv, jb->k, &jb->o, heads, r, j));
        silkie_ref_quantize_row(jb->type, row, qrow, jb->o.row_len);
        SK_CHECK(silkie_gguf_writer_write(g, qrow, (size_t)qb));
        progress_step(pr, qb, r + 1 == jb->o.rows);
        uint64_t read = (r + 1) * src_rb;
        if (in_order && read - released >= RELEASE_STEP) {
            silkie_weights_release_range(src, from + released, (size_t)(read - released));
            released = read;
        }
    }
    return SILKIE_OK;
}

/* The per-tensor types of p (the last matching pattern wins). */
static silkie_status override_type(const silkie_gguf_convert_params *p, const char *gguf,
                                   const char *hf, silkie_gguf_part part, job *jb)
{
    int hit = -1;
    for (uint32_t i = 0; i < p->n_overrides; i++)
        if (fnmatch(p->overrides[i].pattern, gguf, 0) == 0 ||
            fnmatch(p->overrides[i].pattern, hf, 0) == 0)
            hit = (int)i;
    if (hit < 0) return SILKIE_OK;
    const silkie_gguf_tensor_type *o = &p->overrides[hit];
    bool block = silkie_dtype_block_elems(o->type) > 1;
    if (!is_float_type(o->type))
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "tensor type '%s': not f32, f16, bf16, q8_0 "
                       "or q4_0", o->pattern);
    if (block && part == SILKIE_GGUF_PART_VISION)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "tensor type '%s=%s': '%s' belongs to the "
                       "vision tower, which takes f32, f16 or bf16", o->pattern,
                       silkie_dtype_name(o->type), gguf);
    if (block && jb->o.row_len % 32)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "tensor type '%s=%s': rows of '%s' have %llu "
                       "elements, not whole blocks of 32", o->pattern, silkie_dtype_name(o->type),
                       gguf, (unsigned long long)jb->o.row_len);
    jb->type = o->type;
    if (p->override_hits) p->override_hits[hit]++;
    return SILKIE_OK;
}

/* A [g*g, D] grid table bicubically upsampled to the patch grid, as the model does at load
 * time, so that a reader (llama.cpp's clip loader included) needs no interpolation. */
static silkie_status upsample_job(const silkie_weight *s, const silkie_vision_config *v, job *jb)
{
    if (s->n_dims != 2)
        return SK_FAIL(SILKIE_ERR_BAD_MODEL, "gguf_convert: table '%s' is not 2-D", s->name);
    uint64_t D = s->shape[1], rows = s->shape[0];
    uint32_t grid = 1;
    while ((uint64_t)(grid + 1) * (grid + 1) <= rows) grid++;
    if ((uint64_t)grid * grid != rows)
        return SK_FAIL(SILKIE_ERR_BAD_MODEL, "gguf_convert: table '%s' has %llu rows, not a "
                       "square grid", s->name, (unsigned long long)rows);
    uint64_t P = v->patch_grid;
    float *src = silkie_malloc(rows * D * sizeof(float));
    jb->pre = silkie_malloc(P * P * D * sizeof(float));
    if (!src || !jb->pre) {
        silkie_free(src);
        return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "gguf_convert: table '%s'", s->name);
    }
    for (uint64_t i = 0; i < rows * D; i++) src[i] = load_elem(s->dtype, s->data, i);
    silkie_ref_interp_bicubic(src, grid, grid, (uint32_t)D, jb->pre, (uint32_t)P, (uint32_t)P);
    silkie_free(src);
    jb->src = s;
    jb->conv = SILKIE_GGUF_CONV_COPY;
    jb->o.n_dims = 2;
    jb->o.shape[0] = P * P;
    jb->o.shape[1] = D;
    jb->o.rows = P * P;
    jb->o.row_len = D;
    jb->type = SILKIE_DTYPE_F32;
    return SILKIE_OK;
}

silkie_status silkie_gguf_convert_qwen(const silkie_weights *src, const silkie_model_config *cfg,
                                       const silkie_gguf_convert_params *p, const char *path)
{
    if (!src || !cfg || !p || !path)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "gguf_convert: src, cfg, p, path required");
    if (src->format == SILKIE_WEIGHTS_GGUF)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "gguf_convert: source is already GGUF");
    silkie_dtype mt = p->matrix_type, ot = p->other_type;
    if (p->part != SILKIE_GGUF_PART_LLM && p->part != SILKIE_GGUF_PART_VISION &&
        p->part != SILKIE_GGUF_PART_ALL)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "gguf_convert: part %d", (int)p->part);
    if (!is_float_type(mt) || !is_float_type(ot) || !is_float_type(p->vision_matrix_type))
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "gguf_convert: output types must be f32, "
                       "f16, bf16, q8_0 or q4_0");
    SK_CHECK(silkie_weights_check_qwen_vl(src, cfg));
    uint32_t heads = cfg->visual.heads;
    job *jobs = SK_NEW_ARRAY(job, (size_t)src->n * 3 + 2);
    if (!jobs) return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "gguf_convert: job list");
    silkie_gguf_writer *g = NULL;
    silkie_status st = silkie_gguf_writer_create(path, 32, &g);
    if (st == SILKIE_OK && p->sums) st = silkie_gguf_writer_enable_checksums(g);
    if (st == SILKIE_OK) st = write_meta(g, cfg, p);
    uint32_t n_jobs = 0;
    uint64_t max_row = 1;
    for (uint32_t i = 0; st == SILKIE_OK && i < src->n; i++) {
        const silkie_weight *s = &src->entries[i].w;
        char names[3][96];
        silkie_gguf_conv conv;
        silkie_gguf_part part;
        uint32_t n = silkie_gguf_name_from_hf(s->name, names, &conv, &part);
        if (!n || (part != p->part && p->part != SILKIE_GGUF_PART_ALL)) continue;
        if (s->dtype != SILKIE_DTYPE_F32 && s->dtype != SILKIE_DTYPE_F16 &&
            s->dtype != SILKIE_DTYPE_BF16) {
            st = SK_FAIL(SILKIE_ERR_UNSUPPORTED, "gguf_convert: tensor '%s' is %s, want f32, f16 "
                         "or bf16", s->name, silkie_dtype_name(s->dtype));
            break;
        }
        for (uint32_t k = 0; k < n && st == SILKIE_OK; k++) {
            job *jb = &jobs[n_jobs++];
            jb->src = s;
            jb->conv = conv;
            jb->k = k;
            bool pos = strcmp(names[k], "v.position_embd.weight") == 0;
            if (p->vision_tables && pos) st = upsample_job(s, &cfg->visual, jb);
            else st = out_shape(s, conv, heads, &jb->o);
            if (st != SILKIE_OK) break;
            if (!jb->pre) jb->type = pick_type(p, names[k], &jb->o, part);
            st = override_type(p, names[k], s->name, part, jb);
            if (st != SILKIE_OK) break;
            max_row = SK_MAX(max_row, jb->o.row_len);
            st = silkie_gguf_writer_add_tensor(g, names[k], jb->type, jb->o.n_dims, jb->o.shape);
        }
        /* The key-side table of the resampler is the query-side table upsampled. */
        if (st == SILKIE_OK && p->vision_tables && strcmp(names[0], "resampler.pos_embed") == 0) {
            job *jb = &jobs[n_jobs++];
            st = upsample_job(s, &cfg->visual, jb);
            if (st == SILKIE_OK)
                st = override_type(p, "resampler.pos_embed_k", s->name, part, jb);
            if (st == SILKIE_OK)
                st = silkie_gguf_writer_add_tensor(g, "resampler.pos_embed_k", jb->type, 2,
                                                   jb->o.shape);
        }
    }
    if (st == SILKIE_OK && p->extra) st = p->extra(p->extra_user, g, 0);
    float *row = st == SILKIE_OK ? silkie_malloc((size_t)max_row * sizeof(float)) : NULL;
    uint8_t *qrow = st == SILKIE_OK ? silkie_malloc((size_t)max_row * sizeof(float)) : NULL;
    if (st == SILKIE_OK && (!row || !qrow))
        st = SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "gguf_convert: row buffers");
    progress pr = {.p = p};
    for (uint32_t i = 0; i < n_jobs; i++) pr.total += job_bytes(&jobs[i]);
    for (uint32_t i = 0; st == SILKIE_OK && i < n_jobs; i++) {
        st = write_job(src, g, &jobs[i], heads, row, qrow, &pr);
        /* Bounded memory: a source tensor's pages are dropped once its last output is out (the
         * q/k/v thirds of one tensor are consecutive jobs), so a checkpoint read through its
         * mapping never becomes resident as a whole. */
        if (i + 1 == n_jobs || jobs[i + 1].src != jobs[i].src)
            silkie_weights_release_range(src, jobs[i].src->data, jobs[i].src->nbytes);
    }
    if (st == SILKIE_OK && p->extra) st = p->extra(p->extra_user, g, 1);
    silkie_free(row);
    silkie_free(qrow);
    for (uint32_t i = 0; i < n_jobs; i++) silkie_free(jobs[i].pre);
    silkie_free(jobs);
    if (st == SILKIE_OK) return silkie_gguf_writer_finish_sums(g, p->sums);
    silkie_gguf_writer_destroy(g);
    return st;
}
