/* A Qwen-VL checkpoint folder in PyTorch .bin shards loads like its safetensors twin.
 *
 *   test_bin_twin [CASE_DIR]          (built twice: unit, and golden with BIN_TWIN_GOLDEN)
 *
 * The golden tiny-a weights are rewritten the way the released Qwen-VL-Chat ships them: three
 * torch.save shards plus pytorch_model.bin.index.json, tensors in state-dict order (wte, h.*,
 * ln_f, visual.*, lm_head) split at layer boundaries, with the storage arrangements real
 * checkpoints contain: tensors sharing one storage (with offsets, and a storage longer than its
 * views), a transposed matrix and a channels-last convolution kernel (strided views the reader
 * must copy), an OrderedDict-with-_metadata shard, a plain-dict shard and a shard with the newer
 * byteorder/serialization_id records.
 *
 * unit: every tensor of the folder equals the safetensors tensor (name, dtype, shape, bytes),
 * each shard's tensors come from one file in state-dict order, silkie_weights_check_qwen_vl
 * passes, the config loads from the folder, and an index that disagrees with the shards fails.
 * golden: the public API loads both folders (f32 weights and KV cache) and the greedy answer to
 * the golden question starts with the same tokens, which are also the reference's. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "model/model.h"
#include "torch_save_writer.h"
#ifdef BIN_TWIN_GOLDEN
#include "harness_model.h"
#endif

#define N_SHARDS 3
#define MAX_TENSORS 1024

static const char *const k_copied[] = {"config.json", "generation_config.json", "qwen.tiktoken",
                                       "tokenizer_config.json"};

/* ---- the .bin folder --------------------------------------------------------------------- */

typedef struct plan {
    const silkie_weight *src[MAX_TENSORS]; /* the safetensors twin of each entry */
    tsw_tensor t[MAX_TENSORS];
    uint32_t shard[MAX_TENSORS];
    uint32_t n;
    tsw_storage s[MAX_TENSORS];
    void *owned[MAX_TENSORS]; /* storages built here */
    uint32_t n_s;
} plan;

static void contiguous_strides(tsw_tensor *t)
{
    int64_t st = 1;
    for (uint32_t d = t->n_dims; d-- > 0;) {
        t->stride[d] = st;
        st *= (int64_t)t->shape[d];
    }
}

/* Appends `name` with its own contiguous storage (the safetensors bytes, borrowed). */
static void add(plan *p, const silkie_weights *w, const char *name)
{
    const silkie_weight *x = silkie_weights_find(w, name);
    SK_TEST_CHECK(x != NULL, "safetensors lacks %s", name);
    if (!x || p->n == MAX_TENSORS) return;
    tsw_tensor *t = &p->t[p->n];
    t->name = x->name;
    t->storage = p->n_s;
    t->offset = 0;
    t->n_dims = x->n_dims;
    for (uint32_t d = 0; d < x->n_dims; d++) t->shape[d] = x->shape[d];
    contiguous_strides(t);
    uint64_t numel = x->nbytes / silkie_dtype_block_bytes(x->dtype);
    p->s[p->n_s++] = (tsw_storage){x->dtype, x->data, numel};
    p->src[p->n++] = x;
}

static int find(const plan *p, const char *name)
{
    for (uint32_t i = 0; i < p->n; i++)
        if (!strcmp(p->t[i].name, name)) return (int)i;
    return -1;
}

static uint8_t *new_storage(plan *p, silkie_dtype dt, uint64_t numel, uint32_t *index)
{
    uint8_t *b = calloc(numel ? numel : 1, silkie_dtype_block_bytes(dt));
    SK_TEST_CHECK(b != NULL, "out of memory");
    if (!b) return NULL;
    *index = p->n_s;
    p->owned[p->n_s] = b;
    p->s[p->n_s++] = (tsw_storage){dt, b, numel};
    return b;
}

/* a and b become views of one storage [a | b | slack elements], b at offset numel(a). */
static void share(plan *p, const char *a, const char *b, uint64_t slack)
{
    int i = find(p, a), j = find(p, b);
    SK_TEST_CHECK(i >= 0 && j >= 0, "share %s %s", a, b);
    if (i < 0 || j < 0) return;
    size_t es = silkie_dtype_block_bytes(p->src[i]->dtype);
    uint64_t na = p->src[i]->nbytes / es, nb = p->src[j]->nbytes / es;
    uint32_t k;
    uint8_t *m = new_storage(p, p->src[i]->dtype, na + nb + slack, &k);
    if (!m) return;
    memcpy(m, p->src[i]->data, p->src[i]->nbytes);
    memcpy(m + na * es, p->src[j]->data, p->src[j]->nbytes);
    p->t[i].storage = p->t[j].storage = k;
    p->t[j].offset = na;
}

/* `name` becomes a view `lead` elements into a longer storage (still contiguous). */
static void offset_into(plan *p, const char *name, uint64_t lead)
{
    int i = find(p, name);
    SK_TEST_CHECK(i >= 0, "offset %s", name);
    if (i < 0) return;
    size_t es = silkie_dtype_block_bytes(p->src[i]->dtype);
    uint32_t k;
    uint8_t *m = new_storage(p, p->src[i]->dtype, lead + p->src[i]->nbytes / es, &k);
    if (!m) return;
    memcpy(m + lead * es, p->src[i]->data, p->src[i]->nbytes);
    p->t[i].storage = k;
    p->t[i].offset = lead;
}

/* A [R, C] matrix stored as the transpose of a contiguous [C, R] one: strides (1, R). */
static void transposed(plan *p, const char *name)
{
    int i = find(p, name);
    SK_TEST_CHECK(i >= 0 && p->t[i].n_dims == 2, "transpose %s", name);
    if (i < 0 || p->t[i].n_dims != 2) return;
    size_t es = silkie_dtype_block_bytes(p->src[i]->dtype);
    uint64_t r = p->t[i].shape[0], c = p->t[i].shape[1];
    uint32_t k;
    uint8_t *m = new_storage(p, p->src[i]->dtype, r * c, &k);
    if (!m) return;
    const uint8_t *src = p->src[i]->data;
    for (uint64_t y = 0; y < r; y++)
        for (uint64_t x = 0; x < c; x++) memcpy(m + (x * r + y) * es, src + (y * c + x) * es, es);
    p->t[i].storage = k;
    p->t[i].stride[0] = 1;
    p->t[i].stride[1] = (int64_t)r;
}

/* An [O, C, H, W] kernel in channels_last memory format: storage [O, H, W, C], strides
 * (H*W*C, 1, W*C, C). */
static void channels_last(plan *p, const char *name)
{
    int i = find(p, name);
    SK_TEST_CHECK(i >= 0 && p->t[i].n_dims == 4, "channels_last %s", name);
    if (i < 0 || p->t[i].n_dims != 4) return;
    size_t es = silkie_dtype_block_bytes(p->src[i]->dtype);
    const uint64_t *sh = p->t[i].shape;
    uint64_t o = sh[0], c = sh[1], h = sh[2], wd = sh[3];
    uint32_t k;
    uint8_t *m = new_storage(p, p->src[i]->dtype, o * c * h * wd, &k);
    if (!m) return;
    const uint8_t *src = p->src[i]->data;
    for (uint64_t a = 0; a < o; a++)
        for (uint64_t b = 0; b < c; b++)
            for (uint64_t y = 0; y < h; y++)
                for (uint64_t x = 0; x < wd; x++)
                    memcpy(m + (((a * h + y) * wd + x) * c + b) * es,
                           src + (((a * c + b) * h + y) * wd + x) * es, es);
    p->t[i].storage = k;
    const int64_t st[4] = {(int64_t)(h * wd * c), 1, (int64_t)(wd * c), (int64_t)c};
    memcpy(p->t[i].stride, st, sizeof st);
}

/* State-dict order of Qwen-VL-Chat: a module's own parameters first, then its children in
 * registration order (QWenBlock: ln_1, attn.c_attn, attn.c_proj, ln_2, mlp.w1, mlp.w2,
 * mlp.c_proj; VisionTransformer: positional_embedding, proj, conv1, ln_pre, resblocks,
 * attn_pool, ln_post). */
static void plan_order(plan *p, const silkie_weights *w, const silkie_model_config *cfg,
                       uint32_t *start1, uint32_t *start2)
{
    static const char *const llm[] = {"ln_1.weight", "attn.c_attn.weight", "attn.c_attn.bias",
                                      "attn.c_proj.weight", "ln_2.weight", "mlp.w1.weight",
                                      "mlp.w2.weight", "mlp.c_proj.weight"};
    static const char *const vis_head[] = {"positional_embedding", "proj", "conv1.weight",
                                           "ln_pre.weight", "ln_pre.bias"};
    static const char *const vis_block[] = {
        "ln_1.weight", "ln_1.bias", "ln_2.weight", "ln_2.bias", "attn.in_proj.weight",
        "attn.in_proj.bias", "attn.out_proj.weight", "attn.out_proj.bias", "mlp.c_fc.weight",
        "mlp.c_fc.bias", "mlp.c_proj.weight", "mlp.c_proj.bias"};
    static const char *const pool[] = {
        "attn_pool.pos_embed", "attn_pool.query", "attn_pool.kv_proj.weight",
        "attn_pool.attn.in_proj_weight", "attn_pool.attn.in_proj_bias",
        "attn_pool.attn.out_proj.weight", "attn_pool.attn.out_proj.bias", "attn_pool.ln_q.weight",
        "attn_pool.ln_q.bias", "attn_pool.ln_kv.weight", "attn_pool.ln_kv.bias",
        "ln_post.weight", "ln_post.bias"};
    char name[160];
    add(p, w, "transformer.wte.weight");
    /* Shard 1: wte and the first LLM block; shard 2 from the second block through ln_pre;
     * shard 3 the vision blocks, the resampler and lm_head (the release also keeps visual.* in
     * its last shards). Shard 3 is large enough for its pickle memo to pass 255 entries, so
     * LONG_BINPUT and LONG_BINGET appear as they do in real shards. */
    *start1 = *start2 = 0;
    for (uint32_t l = 0; l < cfg->n_layers; l++) {
        if (l == 1) *start1 = p->n;
        for (size_t k = 0; k < SK_ARRAY_LEN(llm); k++) {
            snprintf(name, sizeof name, "transformer.h.%u.%s", l, llm[k]);
            add(p, w, name);
        }
    }
    if (!*start1) *start1 = p->n;
    add(p, w, "transformer.ln_f.weight");
    for (size_t k = 0; k < SK_ARRAY_LEN(vis_head); k++) {
        snprintf(name, sizeof name, "transformer.visual.%s", vis_head[k]);
        add(p, w, name);
    }
    *start2 = p->n;
    for (uint32_t b = 0; b < cfg->visual.layers; b++) {
        for (size_t k = 0; k < SK_ARRAY_LEN(vis_block); k++) {
            snprintf(name, sizeof name, "transformer.visual.transformer.resblocks.%u.%s", b,
                     vis_block[k]);
            add(p, w, name);
        }
    }
    for (size_t k = 0; k < SK_ARRAY_LEN(pool); k++) {
        snprintf(name, sizeof name, "transformer.visual.%s", pool[k]);
        /* kv_proj is an identity (absent) when the ViT width equals output_dim. */
        if (!strcmp(pool[k], "attn_pool.kv_proj.weight") && !silkie_weights_find(w,
            "transformer.visual.attn_pool.kv_proj.weight"))
            continue;
        add(p, w, name);
    }
    add(p, w, "lm_head.weight");
    SK_TEST_CHECK(p->n == silkie_weights_count(w), "%u tensors placed, safetensors has %u", p->n,
                  silkie_weights_count(w));
    for (uint32_t i = 0; i < p->n; i++)
        p->shard[i] = i < *start1 ? 0 : i < *start2 ? 1 : 2;
}

static void plan_release(plan *p)
{
    for (uint32_t i = 0; i < p->n_s; i++) free(p->owned[i]);
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp((*(const tsw_tensor *const *)a)->name, (*(const tsw_tensor *const *)b)->name);
}

static char *join(char *buf, size_t cap, const char *a, const char *b)
{
    int n = snprintf(buf, cap, "%s/%s", a, b);
    SK_TEST_CHECK(n > 0 && (size_t)n < cap, "path too long");
    return buf;
}

static void shard_name(char *buf, size_t cap, uint32_t k, const char *ext)
{
    snprintf(buf, cap, "pytorch_model-%05u-of-%05u%s", k + 1, N_SHARDS, ext);
}

/* pytorch_model.bin.index.json as transformers writes it (sorted keys, indent 2). `drop` skips
 * one tensor, `wrong` lists one under another shard (both -1 for the true index). */
static void write_index(const plan *p, const char *dir, int drop, int wrong)
{
    char path[4096], shard[64];
    const tsw_tensor *by_name[MAX_TENSORS];
    uint64_t total = 0;
    for (uint32_t i = 0; i < p->n; i++) {
        by_name[i] = &p->t[i];
        total += p->src[i]->nbytes;
    }
    qsort(by_name, p->n, sizeof by_name[0], name_cmp);
    FILE *f = fopen(join(path, sizeof path, dir, "pytorch_model.bin.index.json"), "w");
    SK_TEST_CHECK(f != NULL, "cannot write %s", path);
    if (!f) return;
    fprintf(f, "{\n  \"metadata\": {\n    \"total_size\": %llu\n  },\n  \"weight_map\": {\n",
            (unsigned long long)total);
    bool first = true;
    for (uint32_t k = 0; k < p->n; k++) {
        uint32_t i = (uint32_t)(by_name[k] - p->t);
        if ((int)i == drop) continue;
        uint32_t s = p->shard[i];
        if ((int)i == wrong) s = (s + 1) % N_SHARDS;
        shard_name(shard, sizeof shard, s, ".bin");
        fprintf(f, "%s    \"%s\": \"%s\"", first ? "" : ",\n", p->t[i].name, shard);
        first = false;
    }
    fprintf(f, "\n  }\n}\n");
    SK_TEST_CHECK(fclose(f) == 0, "cannot write %s", path);
}

static void copy_file(const char *from_dir, const char *to_dir, const char *name)
{
    char a[4096], b[4096];
    size_t n = 0;
    void *data = sk_read_file(join(a, sizeof a, from_dir, name), &n);
    SK_TEST_CHECK(data != NULL, "cannot read %s", a);
    if (!data) return;
    FILE *f = fopen(join(b, sizeof b, to_dir, name), "wb");
    SK_TEST_CHECK(f && fwrite(data, 1, n, f) == n, "cannot write %s", b);
    if (f) SK_TEST_CHECK(fclose(f) == 0, "cannot write %s", b);
    silkie_free(data);
}

/* Writes the .bin twin of `model_dir` into the new folder `dir`. */
static void write_folder(plan *p, const silkie_weights *w, const silkie_model_config *cfg,
                         const char *model_dir, const char *dir)
{
    uint32_t start1, start2;
    plan_order(p, w, cfg, &start1, &start2);
    for (uint32_t l = 0; l < cfg->n_layers; l++) {
        char a[96], b[96];
        snprintf(a, sizeof a, "transformer.h.%u.ln_1.weight", l);
        snprintf(b, sizeof b, "transformer.h.%u.ln_2.weight", l);
        share(p, a, b, 0);
    }
    share(p, "transformer.visual.ln_pre.weight", "transformer.visual.ln_pre.bias", 0);
    share(p, "transformer.visual.attn_pool.pos_embed", "transformer.visual.attn_pool.query", 7);
    /* Late in shard 3: the second reference to the storage key is a LONG_BINGET. */
    share(p, "transformer.visual.attn_pool.ln_kv.weight", "transformer.visual.attn_pool.ln_kv.bias",
          0);
    offset_into(p, "transformer.ln_f.weight", 3);
    char last[96];
    snprintf(last, sizeof last, "transformer.h.%u.mlp.c_proj.weight", cfg->n_layers - 1);
    transposed(p, last);
    transposed(p, "transformer.visual.proj");
    channels_last(p, "transformer.visual.conv1.weight");

    uint32_t begin[N_SHARDS + 1] = {0, start1, start2, p->n};
    for (uint32_t k = 0; k < N_SHARDS; k++) {
        char file[64], prefix[64], path[4096];
        shard_name(file, sizeof file, k, ".bin");
        shard_name(prefix, sizeof prefix, k, "");
        const tsw_options opt = {.ordered_dict = k == 0, .torch2 = k == 2};
        SK_TEST_CHECK(begin[k] < begin[k + 1], "shard %u is empty", k + 1);
        SK_TEST_CHECK(tsw_save(join(path, sizeof path, dir, file), prefix, p->t + begin[k],
                               begin[k + 1] - begin[k], p->s, p->n_s, &opt) == 0,
                      "writing %s", file);
    }
    write_index(p, dir, -1, -1);
    for (size_t i = 0; i < SK_ARRAY_LEN(k_copied); i++) copy_file(model_dir, dir, k_copied[i]);
}

static void remove_folder(const char *dir)
{
    char path[4096], file[64];
    for (uint32_t k = 0; k < N_SHARDS; k++) {
        shard_name(file, sizeof file, k, ".bin");
        remove(join(path, sizeof path, dir, file));
    }
    remove(join(path, sizeof path, dir, "pytorch_model.bin.index.json"));
    for (size_t i = 0; i < SK_ARRAY_LEN(k_copied); i++)
        remove(join(path, sizeof path, dir, k_copied[i]));
    SK_TEST_CHECK(rmdir(dir) == 0, "cannot remove %s", dir);
}

/* ---- unit: the weights view ---------------------------------------------------------------- */

#ifndef BIN_TWIN_GOLDEN

static void check_twin(const plan *p, const silkie_weights *bin, const silkie_weights *st)
{
    SK_TEST_CHECK(silkie_weights_format_of(bin) == SILKIE_WEIGHTS_TORCH_BIN, "format");
    SK_TEST_CHECK(silkie_weights_count(bin) == silkie_weights_count(st), "%u tensors, want %u",
                  silkie_weights_count(bin), silkie_weights_count(st));
    uint32_t file_of[N_SHARDS] = {UINT32_MAX, UINT32_MAX, UINT32_MAX};
    int bad = 0;
    for (uint32_t i = 0; i < silkie_weights_count(st); i++) {
        const silkie_weight *a = silkie_weights_at(st, i);
        const silkie_weight *b = silkie_weights_find(bin, a->name);
        bool same = b && b->dtype == a->dtype && b->n_dims == a->n_dims &&
                    b->nbytes == a->nbytes &&
                    !memcmp(b->shape, a->shape, a->n_dims * sizeof a->shape[0]) &&
                    !memcmp(b->data, a->data, a->nbytes);
        if (!same && bad++ < 8) SK_TEST_CHECK(same, "%s differs from the safetensors", a->name);
    }
    SK_TEST_CHECK(bad == 0, "%d tensors differ", bad);
    /* Each shard's tensors come from one file, distinct per shard, in state-dict order. */
    int64_t prev_at[N_SHARDS] = {-1, -1, -1};
    for (uint32_t i = 0; i < p->n; i++) {
        const silkie_weight *b = silkie_weights_find(bin, p->t[i].name);
        if (!b) continue;
        uint32_t k = p->shard[i];
        if (file_of[k] == UINT32_MAX) file_of[k] = b->file;
        SK_TEST_CHECK(b->file == file_of[k], "%s: file %u, shard's other tensors %u",
                      b->name, b->file, file_of[k]);
        int64_t at = -1;
        for (uint32_t j = 0; j < silkie_weights_count(bin) && at < 0; j++)
            if (silkie_weights_at(bin, j) == b) at = j;
        SK_TEST_CHECK(at > prev_at[k], "%s out of state-dict order", b->name);
        prev_at[k] = at;
    }
    SK_TEST_CHECK(file_of[0] != file_of[1] && file_of[1] != file_of[2] &&
                      file_of[0] != file_of[2],
                  "shards share a file index");
}

static void expect_bad_index(const char *dir, const char *needle)
{
    silkie_weights *w = NULL;
    silkie_status st = silkie_weights_open(dir, &w);
    SK_TEST_CHECK(st == SILKIE_ERR_BAD_FILE && !w, "bad index: %s (%s)", silkie_status_name(st),
                  silkie_last_error());
    SK_TEST_CHECK(strstr(silkie_last_error(), needle), "message '%s' lacks '%s'",
                  silkie_last_error(), needle);
    silkie_weights_close(w);
}

static void run_unit(const char *model_dir, const char *dir)
{
    char path[4096];
    silkie_model_config cfg, cfg2;
    silkie_generation_config gen, gen2;
    silkie_weights *st = NULL, *bin = NULL;
    SK_TEST_OK(silkie_model_config_load(model_dir, &cfg, &gen));
    SK_TEST_OK(silkie_weights_open(join(path, sizeof path, model_dir, "model.safetensors"), &st));
    if (!st || sk_test_failures) {
        silkie_weights_close(st);
        return;
    }
    plan *p = calloc(1, sizeof *p);
    SK_TEST_CHECK(p != NULL, "out of memory");
    if (!p) return;
    write_folder(p, st, &cfg, model_dir, dir);

    SK_TEST_OK(silkie_weights_open(dir, &bin));
    if (bin) check_twin(p, bin, st);
    SK_TEST_OK(silkie_model_config_load(dir, &cfg2, &gen2));
    SK_TEST_CHECK(cfg2.vocab_size == cfg.vocab_size && cfg2.hidden_size == cfg.hidden_size &&
                      cfg2.n_layers == cfg.n_layers && cfg2.mlp_width == cfg.mlp_width &&
                      cfg2.visual.width == cfg.visual.width &&
                      cfg2.visual.layers == cfg.visual.layers &&
                      cfg2.visual.n_queries == cfg.visual.n_queries &&
                      cfg2.visual.image_start_id == cfg.visual.image_start_id &&
                      gen2.eos_token_id == gen.eos_token_id,
                  "config of the .bin folder differs");
    if (bin) SK_TEST_OK(silkie_weights_check_qwen_vl(bin, &cfg2));
    silkie_weights_close(bin);

    /* The index must agree with the shards both ways. */
    int lm = find(p, "lm_head.weight");
    write_index(p, dir, lm, -1);
    expect_bad_index(dir, "'lm_head.weight'");
    write_index(p, dir, -1, lm);
    expect_bad_index(dir, "index says");
    write_index(p, dir, -1, -1);

    plan_release(p);
    free(p);
    silkie_weights_close(st);
}
#endif

/* ---- golden: the public API on both folders ------------------------------------------------ */

#ifdef BIN_TWIN_GOLDEN
#define N_TOKENS 4

/* Loads `model` with f32 weights and KV cache, asks the golden question greedily. 77: no
 * device. */
static int answer(const char *model, const char *image, int32_t tok[N_TOKENS], uint32_t *n)
{
    *n = 0;
    silkie_model *m = NULL;
    int rc = sk_test_load_model(model, SILKIE_DTYPE_F32, SILKIE_DTYPE_F32, &m);
    if (rc) return rc;
    silkie_session_params sp;
    sk_test_greedy_params(&sp, SILKIE_DTYPE_F32, 128);
    silkie_session *s = NULL;
    SK_TEST_OK(silkie_session_create(m, &sp, &s));
    silkie_ask_params ap;
    silkie_ask_params_init(&ap);
    ap.max_new_tokens = N_TOKENS;
    ap.no_stop = 1;
    if (s) SK_TEST_OK(silkie_session_add_image_file(s, image));
    if (s) SK_TEST_OK(silkie_session_ask(s, "What is in this picture? Answer briefly.", &ap));
    const int32_t *ids = s ? silkie_session_answer_tokens(s, n) : NULL;
    if (*n > N_TOKENS) *n = N_TOKENS;
    if (ids) memcpy(tok, ids, *n * sizeof *tok);
    silkie_session_destroy(s);
    silkie_model_destroy(m);
    return 0;
}

static int run_golden(const char *case_dir, const char *model_dir, const char *dir)
{
    char path[4096], image[4096];
    silkie_model_config cfg;
    silkie_weights *st = NULL, *exp = NULL;
    SK_TEST_OK(silkie_model_config_load(model_dir, &cfg, NULL));
    SK_TEST_OK(silkie_weights_open(join(path, sizeof path, model_dir, "model.safetensors"), &st));
    SK_TEST_OK(silkie_weights_open(join(path, sizeof path, case_dir, "expected.safetensors"),
                                   &exp));
    plan *p = calloc(1, sizeof *p);
    SK_TEST_CHECK(p != NULL, "out of memory");
    if (!st || !exp || !p || sk_test_failures) {
        free(p);
        silkie_weights_close(st);
        silkie_weights_close(exp);
        return 1;
    }
    write_folder(p, st, &cfg, model_dir, dir);
    plan_release(p);
    free(p);
    silkie_weights_close(st);

    join(image, sizeof image, case_dir, "hopper.jpg");
    int32_t a[N_TOKENS] = {0}, b[N_TOKENS] = {0};
    uint32_t na = 0, nb = 0;
    int rc = answer(model_dir, image, a, &na);
    if (rc == 0) rc = answer(dir, image, b, &nb);
    if (rc == 0) {
        printf("safetensors: %d %d %d %d\n.bin shards:  %d %d %d %d\n", a[0], a[1], a[2], a[3],
               b[0], b[1], b[2], b[3]);
        SK_TEST_CHECK(na == N_TOKENS && nb == N_TOKENS, "%u and %u tokens, want %d", na, nb,
                      N_TOKENS);
        SK_TEST_CHECK(!memcmp(a, b, sizeof a), "the .bin folder answers differently");
        const silkie_weight *g = silkie_weights_find(exp, "greedy_ids");
        SK_TEST_CHECK(g && g->dtype == SILKIE_DTYPE_I64 && g->nbytes >= N_TOKENS * 8,
                      "expected greedy_ids missing");
        for (int i = 0; g && g->nbytes >= N_TOKENS * 8 && i < N_TOKENS; i++)
            SK_TEST_CHECK(b[i] == ((const int64_t *)g->data)[i], "token %d: %d, reference %lld",
                          i, b[i], (long long)((const int64_t *)g->data)[i]);
    }
    silkie_weights_close(exp);
    return rc;
}
#endif

int main(int argc, char **argv)
{
    char case_dir[2048], model_dir[4096], dir[4096];
    if (argc > 1) snprintf(case_dir, sizeof case_dir, "%s", argv[1]);
    else if (sk_shared_dir())
        snprintf(case_dir, sizeof case_dir, "%s/golden/tiny-a", sk_shared_dir());
    else case_dir[0] = 0;
    join(model_dir, sizeof model_dir, case_dir, "model/model.safetensors");
    struct stat sb;
    if (!case_dir[0] || stat(model_dir, &sb) != 0) {
        fprintf(stderr, "no golden tiny-a model (%s)\n", case_dir);
        return 77;
    }
    join(model_dir, sizeof model_dir, case_dir, "model");
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/silkie_bin_twin_XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        fprintf(stderr, "cannot create %s\n", dir);
        return 1;
    }
    int rc = 0;
#ifdef BIN_TWIN_GOLDEN
    rc = run_golden(case_dir, model_dir, dir);
#else
    run_unit(model_dir, dir);
#endif
    remove_folder(dir);
    if (rc) return rc;
    return sk_test_result("test_bin_twin");
}
