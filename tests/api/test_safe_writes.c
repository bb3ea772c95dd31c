/* Every writer of the project goes through the safe output writer (base/outfile.h): safetensors
 * dumps, adapter configs, GGUF packing, VLFeedback preparation, session files, the pipeline
 * cache, training runs (checkpoints, final adapter, log) and silkie-make-demo.
 *
 * For each, with the N-th write failing (ENOSPC, EIO) or stored short, for N = 1, 2, ... until
 * the fault no longer fires: a failing call returns SILKIE_ERR_IO naming the file, the previous
 * file is byte-identical afterwards, no temporary file is left, nothing leaks; a short write
 * still gives the exact output. And for each: a FIFO, a symbolic link (its target must stay
 * unchanged) and a character device (root only) at the output path are refused and left as
 * they were. Models are generated tiny; the device writers are skipped without Vulkan.
 *
 *   test_safe_writes SILKIE_MAKE_DEMO [--full]
 *
 * silkie-make-demo runs as a child with SILKIE_FAULT=KIND:N in its environment (the switch as
 * apps use it). Its weights take a second to generate, so by default only eio is swept, up to
 * the first fault inside model.safetensors; --full (label slow) sweeps every kind to the end. */
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "base/fault.h"
#include "base/outfile.h"
#include "harness_model.h"
#include "model/lora_peft.h"
#include "model/model.h"
#include "silkie/silkie_train.h"
#include "vk/vk.h"

#define MAX_WRITES 1000u /* no writer here makes this many write(2) calls */

static char g_root[256];
static const char k_prev[] = "previous contents\n";

typedef struct kind_info {
    sk_fault_kind kind;
    const char *name;
    int err;
} kind_info;

static const kind_info k_kinds[] = {
    {SK_FAULT_SHORT, "short", 0},
    {SK_FAULT_ENOSPC, "enospc", ENOSPC},
    {SK_FAULT_EIO, "eio", EIO},
};

/* ---- files --------------------------------------------------------------------------------- */

static const char *join(int slot, const char *dir, const char *name)
{
    static char buf[8][1024];
    if (snprintf(buf[slot], sizeof buf[slot], "%s/%s", dir, name) >= (int)sizeof buf[slot])
        SK_TEST_CHECK(0, "path too long: %s/%s", dir, name);
    return buf[slot];
}

/* g_root/name, created; into out (a caller's buffer, as join's slots get reused). */
static const char *make_dir(char out[512], const char *name)
{
    snprintf(out, 512, "%s/%s", g_root, name);
    mkdir(out, 0755);
    return out;
}

static int put_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    int ok = f && fwrite(data, 1, n, f) == n;
    if (f) ok = fclose(f) == 0 && ok;
    return ok;
}

typedef struct blob {
    uint8_t *p;
    size_t n;
} blob;

static blob read_blob(const char *path)
{
    blob b = {0};
    b.p = sk_read_file(path, &b.n);
    return b;
}

static int blob_equals(const char *path, const void *data, size_t n)
{
    blob b = read_blob(path);
    int ok = b.p && b.n == n && (n == 0 || memcmp(b.p, data, n) == 0);
    silkie_free(b.p);
    return ok;
}

static int g_hidden;
static int count_hidden(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag;
    if (p[ftw->base] == '.') {
        fprintf(stderr, "  left behind: %s\n", p);
        g_hidden++;
    }
    return 0;
}

/* Temporary files and folders all start with '.'; none may remain anywhere under dir. */
static void check_no_temp(const char *what, const char *dir)
{
    g_hidden = 0;
    nftw(dir, count_hidden, 8, FTW_PHYS);
    SK_TEST_CHECK(g_hidden == 0, "%s: %d temporary entries left", what, g_hidden);
}

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(p);
}

static void rm_tree(const char *dir) { nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS); }

/* ---- one-file writers: the sweep and the refusals ------------------------------------------ */

typedef silkie_status (*write_fn)(const char *path);

static void expect_io(const char *what, silkie_status st, const char *path)
{
    const char *msg = silkie_last_error();
    SK_TEST_CHECK(st == SILKIE_ERR_IO && strstr(msg, path), "%s: %s: '%s' does not name %s",
                  what, silkie_status_name(st), msg, path);
}

/* Writes path with the N-th write(2) faulted, for every kind and N until nothing fires. */
static void sweep(const char *what, write_fn fn, const char *path)
{
    const char *dir = join(7, g_root, "");
    SK_TEST_OK(fn(path));
    blob ref = read_blob(path);
    SK_TEST_CHECK(ref.p && ref.n > 0, "%s: reference output", what);
    printf("  %-22s", what);
    for (size_t k = 0; k < SK_ARRAY_LEN(k_kinds) && ref.p; k++) {
        const kind_info *ki = &k_kinds[k];
        uint64_t n = 1;
        for (; n < MAX_WRITES; n++) {
            SK_TEST_CHECK(put_file(path, k_prev, sizeof k_prev - 1), "%s: setup", what);
            int64_t live = silkie_alloc_live();
            sk_fault_arm(ki->kind, n);
            silkie_status st = fn(path);
            bool fired = sk_fault_fired();
            sk_fault_arm(SK_FAULT_NONE, 0);
            SK_TEST_CHECK(silkie_alloc_live() == live, "%s: %s:%llu: %lld allocations leaked",
                          what, ki->name, (unsigned long long)n,
                          (long long)(silkie_alloc_live() - live));
            check_no_temp(what, dir);
            if (!fired || ki->kind == SK_FAULT_SHORT) {
                SK_TEST_OK(st);
                SK_TEST_CHECK(blob_equals(path, ref.p, ref.n), "%s: %s:%llu: output differs",
                              what, ki->name, (unsigned long long)n);
                if (!fired) break;
                continue;
            }
            expect_io(what, st, path);
            SK_TEST_CHECK(strstr(silkie_last_error(), strerror(ki->err)), "%s: %s: '%s'", what,
                          ki->name, silkie_last_error());
            SK_TEST_CHECK(blob_equals(path, k_prev, sizeof k_prev - 1),
                          "%s: %s:%llu: previous file changed", what, ki->name,
                          (unsigned long long)n);
        }
        printf(" %s 1..%llu", ki->name, (unsigned long long)n - 1);
    }
    printf("\n");
    silkie_free(ref.p);
    unlink(path);
}

typedef enum refusal { REFUSE_SYMLINK, REFUSE_FIFO, REFUSE_CHARDEV } refusal;
static const char *const k_refusal_kind[] = {"symbolic link", "FIFO", "character device"};

/* Puts a link (to a file beside it), a FIFO or a character device at path. 0 when this one
 * cannot be made here (a device needs root). */
static int plant(refusal r, const char *path, const char *victim)
{
    switch (r) {
    case REFUSE_SYMLINK:
        return put_file(victim, "victim\n", 7) && symlink(victim, path) == 0;
    case REFUSE_FIFO: return mkfifo(path, 0644) == 0;
    case REFUSE_CHARDEV:
        /* makedev(1, 3) is what /dev/null is; made in our own folder, never the real node */
        return geteuid() == 0 && mknod(path, S_IFCHR | 0666, makedev(1, 3)) == 0;
    }
    return 0;
}

/* The planted thing is still there, unchanged, and a link's target is intact. */
static void check_planted(const char *what, refusal r, const char *path, const char *victim)
{
    struct stat sb;
    int ok = lstat(path, &sb) == 0;
    if (r == REFUSE_SYMLINK) ok = ok && S_ISLNK(sb.st_mode) && blob_equals(victim, "victim\n", 7);
    if (r == REFUSE_FIFO) ok = ok && S_ISFIFO(sb.st_mode);
    if (r == REFUSE_CHARDEV) ok = ok && S_ISCHR(sb.st_mode) && sb.st_rdev == makedev(1, 3);
    SK_TEST_CHECK(ok, "%s: the %s at %s was changed", what, k_refusal_kind[r], path);
}

static void note_no_root(const char *what)
{
    printf("  note: %s: not root, so no character device could be made; case skipped\n", what);
}

static void refusals(const char *what, write_fn fn, const char *path)
{
    const char *dir = join(7, g_root, "");
    const char *victim = join(6, g_root, "victim.txt");
    for (refusal r = REFUSE_SYMLINK; r <= REFUSE_CHARDEV; r++) {
        if (!plant(r, path, victim)) {
            if (r == REFUSE_CHARDEV) note_no_root(what);
            else SK_TEST_CHECK(0, "%s: cannot make a %s", what, k_refusal_kind[r]);
            continue;
        }
        int64_t live = silkie_alloc_live();
        silkie_status st = fn(path);
        expect_io(what, st, path);
        SK_TEST_CHECK(strstr(silkie_last_error(), k_refusal_kind[r]), "%s: '%s' lacks '%s'",
                      what, silkie_last_error(), k_refusal_kind[r]);
        SK_TEST_CHECK(silkie_alloc_live() == live, "%s: leak on refusal", what);
        check_planted(what, r, path, victim);
        check_no_temp(what, dir);
        unlink(path);
        unlink(victim);
    }
}

/* ---- CPU writers ---------------------------------------------------------------------------- */

/* A safetensors dump: a tensor larger than the write buffer, small ones around it. */
static silkie_status write_dump(const char *path)
{
    static float big[600 * 1024];
    static int64_t ids[5] = {1, 2, 3, 151900, -1};
    static uint16_t half[6];
    for (size_t i = 0; i < SK_ARRAY_LEN(big); i++) big[i] = (float)i * 0.25f;
    for (int i = 0; i < 6; i++) half[i] = silkie_f32_to_bf16((float)i);
    const silkie_st_tensor t[] = {
        {"input_ids", SILKIE_DTYPE_I64, 1, {5}, ids},
        {"logits", SILKIE_DTYPE_F32, 2, {600, 1024}, big},
        {"scale", SILKIE_DTYPE_BF16, 2, {2, 3}, half},
    };
    return silkie_safetensors_write(path, t, SK_ARRAY_LEN(t));
}

static silkie_status write_adapter_config(const char *path)
{
    static const char json[] =
        "{\"peft_type\": \"LORA\", \"r\": 4, \"lora_alpha\": 8, \"lora_dropout\": 0.05, "
        "\"target_modules\": [\"c_attn\", \"w1\"], \"base_model_name_or_path\": \"tiny\"}";
    silkie_lora_config c;
    SK_CHECK(silkie_lora_config_parse(json, sizeof json - 1, "adapter_config.json", &c));
    return silkie_lora_config_save(&c, path);
}

static const char *g_tiny; /* the generated model folder */

static silkie_status write_gguf(const char *path)
{
    silkie_gguf_pack_params p = {.llm_type = SILKIE_DTYPE_F16, .vision_type = SILKIE_DTYPE_F16};
    return silkie_gguf_pack_qwen(g_tiny, path, &p);
}

#define ANN3 "{\"Helpfulness\": {\"Rating\": \"%d\"}, \"Ethical Considerations\": "   \
             "{\"Rating\": \"%d\"}, \"Visual Faithfulness\": {\"Rating\": \"%d\"}}"

static silkie_status write_pairs(const char *path)
{
    static char input[1 << 16];
    size_t len = 0;
    for (int r = 0; r < 40; r++)
        len += (size_t)snprintf(
            input + len, sizeof input - len,
            "{\"id\": %d, \"prompt\": \"Question %d?\", \"img_path\": \"img/%d.jpg\", "
            "\"completions\": [{\"response\": \"Answer a%d.\", \"annotations\": " ANN3 "}, "
            "{\"response\": \"Answer b%d.\", \"annotations\": " ANN3 "}]}\n",
            r, r, r, r, 1 + r % 3, 2, 3, r, 5, 4, 5);
    silkie_vlfeedback_stats s;
    silkie_vlfeedback_stats_init(&s);
    return silkie_vlfeedback_convert_buffer(input, len, path, NULL, &s);
}

/* ---- the tiny model ------------------------------------------------------------------------ */

/* T_KNOWN: token ids of the byte-only tokenizer (256 ranks + 217 specials) */
enum { T_H = 128, T_F = 64, T_V = 512, T_KNOWN = 473, T_W = 32, T_M = 64, T_Q = 4, T_P = 14 };

typedef struct tiny_tensors {
    silkie_st_tensor t[64];
    uint32_t n;
    uint16_t *data[64];
    sk_rng rng;
} tiny_tensors;

/* kind: 0 small random, 1 ones (norm weights), 2 zeros (biases), 3 the LM head: zero rows for
 * the ids the tokenizer knows, random ones past them, so greedy answers are unknown ids only */
static void tiny_add(tiny_tensors *tt, const char *name, int kind, uint64_t d0, uint64_t d1,
                     uint64_t d2, uint64_t d3)
{
    silkie_st_tensor *t = &tt->t[tt->n];
    uint64_t dims[4] = {d0, d1, d2, d3}, count = 1;
    t->n_dims = 0;
    for (int i = 0; i < 4 && dims[i]; i++) count *= (t->shape[t->n_dims++] = dims[i]);
    uint16_t *d = malloc(count * 2);
    for (uint64_t i = 0; i < count; i++) {
        bool rnd = kind == 0 || (kind == 3 && i >= (uint64_t)T_KNOWN * d1);
        d[i] = silkie_f32_to_bf16(rnd ? 0.05f * sk_rng_normal(&tt->rng) : kind == 1 ? 1.0f : 0.0f);
    }
    t->name = silkie_strdup(name);
    t->dtype = SILKIE_DTYPE_BF16;
    t->data = d;
    tt->data[tt->n++] = d;
}

/* A Qwen-VL folder with the real structure at toy sizes: 1 LLM block of width 128, a 512-row
 * vocabulary over a byte-only tokenizer (256 ranks + 217 specials), a 1-block vision tower on
 * 28 x 28 images. */
static int make_tiny_model(const char *dir)
{
    char cfg[1024];
    snprintf(cfg, sizeof cfg,
             "{\"architectures\": [\"QWenLMHeadModel\"], \"model_type\": \"qwen\", "
             "\"vocab_size\": %d, \"hidden_size\": %d, \"num_hidden_layers\": 1, "
             "\"num_attention_heads\": 4, \"kv_channels\": 32, \"intermediate_size\": %d, "
             "\"layer_norm_epsilon\": 1e-06, \"rotary_pct\": 1.0, \"rotary_emb_base\": 10000, "
             "\"use_dynamic_ntk\": true, \"use_logn_attn\": true, \"seq_length\": 2048, "
             "\"max_position_embeddings\": 8192, \"no_bias\": true, "
             "\"tie_word_embeddings\": false, \"scale_attn_weights\": true, "
             "\"visual\": {\"image_size\": 28, \"patch_size\": %d, \"width\": %d, \"layers\": 1, "
             "\"heads\": 2, \"mlp_ratio\": 2.0, \"output_dim\": %d, \"image_start_id\": 470, "
             "\"n_queries\": %d}}\n",
             T_V, T_H, 2 * T_F, T_P, T_W, T_H, T_Q);
    static const char gen[] = "{\"chat_format\": \"chatml\", \"eos_token_id\": 256, "
                              "\"pad_token_id\": 256, \"max_window_size\": 6144, "
                              "\"max_new_tokens\": 16, \"do_sample\": false}\n";
    int ok = put_file(join(0, dir, "config.json"), cfg, strlen(cfg)) &&
             put_file(join(0, dir, "generation_config.json"), gen, sizeof gen - 1);
    /* every single byte as its own rank, base64 + space + rank per line */
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char vocab[256 * 12];
    size_t vl = 0;
    for (int b = 0; b < 256; b++)
        vl += (size_t)snprintf(vocab + vl, sizeof vocab - vl, "%c%c== %d\n", b64[b >> 2],
                               b64[(b & 3) << 4], b);
    ok = ok && put_file(join(0, dir, "qwen.tiktoken"), vocab, vl);

    tiny_tensors tt = {.n = 0};
    sk_rng_seed(&tt.rng, 5);
    const uint64_t H = T_H, F = T_F, V = T_V, W = T_W, M = T_M, D = T_H, Q = T_Q;
    tiny_add(&tt, "transformer.wte.weight", 0, V, H, 0, 0);
    tiny_add(&tt, "transformer.h.0.ln_1.weight", 1, H, 0, 0, 0);
    tiny_add(&tt, "transformer.h.0.attn.c_attn.weight", 0, 3 * H, H, 0, 0);
    tiny_add(&tt, "transformer.h.0.attn.c_attn.bias", 2, 3 * H, 0, 0, 0);
    tiny_add(&tt, "transformer.h.0.attn.c_proj.weight", 0, H, H, 0, 0);
    tiny_add(&tt, "transformer.h.0.ln_2.weight", 1, H, 0, 0, 0);
    tiny_add(&tt, "transformer.h.0.mlp.w1.weight", 0, F, H, 0, 0);
    tiny_add(&tt, "transformer.h.0.mlp.w2.weight", 0, F, H, 0, 0);
    tiny_add(&tt, "transformer.h.0.mlp.c_proj.weight", 0, H, F, 0, 0);
    tiny_add(&tt, "transformer.ln_f.weight", 1, H, 0, 0, 0);
    tiny_add(&tt, "lm_head.weight", 3, V, H, 0, 0);
#define VIS "transformer.visual."
#define BLK VIS "transformer.resblocks.0."
#define POOL VIS "attn_pool."
    tiny_add(&tt, VIS "conv1.weight", 0, W, 3, T_P, T_P);
    tiny_add(&tt, VIS "positional_embedding", 0, 256, W, 0, 0);
    tiny_add(&tt, VIS "ln_pre.weight", 1, W, 0, 0, 0);
    tiny_add(&tt, VIS "ln_pre.bias", 2, W, 0, 0, 0);
    tiny_add(&tt, BLK "ln_1.weight", 1, W, 0, 0, 0);
    tiny_add(&tt, BLK "ln_1.bias", 2, W, 0, 0, 0);
    tiny_add(&tt, BLK "attn.in_proj.weight", 0, 3 * W, W, 0, 0);
    tiny_add(&tt, BLK "attn.in_proj.bias", 2, 3 * W, 0, 0, 0);
    tiny_add(&tt, BLK "attn.out_proj.weight", 0, W, W, 0, 0);
    tiny_add(&tt, BLK "attn.out_proj.bias", 2, W, 0, 0, 0);
    tiny_add(&tt, BLK "ln_2.weight", 1, W, 0, 0, 0);
    tiny_add(&tt, BLK "ln_2.bias", 2, W, 0, 0, 0);
    tiny_add(&tt, BLK "mlp.c_fc.weight", 0, M, W, 0, 0);
    tiny_add(&tt, BLK "mlp.c_fc.bias", 2, M, 0, 0, 0);
    tiny_add(&tt, BLK "mlp.c_proj.weight", 0, W, M, 0, 0);
    tiny_add(&tt, BLK "mlp.c_proj.bias", 2, W, 0, 0, 0);
    tiny_add(&tt, POOL "query", 0, Q, D, 0, 0);
    tiny_add(&tt, POOL "pos_embed", 0, Q, D, 0, 0);
    tiny_add(&tt, POOL "kv_proj.weight", 0, D, W, 0, 0);
    tiny_add(&tt, POOL "attn.in_proj_weight", 0, 3 * D, D, 0, 0);
    tiny_add(&tt, POOL "attn.in_proj_bias", 2, 3 * D, 0, 0, 0);
    tiny_add(&tt, POOL "attn.out_proj.weight", 0, D, D, 0, 0);
    tiny_add(&tt, POOL "attn.out_proj.bias", 2, D, 0, 0, 0);
    tiny_add(&tt, POOL "ln_q.weight", 1, D, 0, 0, 0);
    tiny_add(&tt, POOL "ln_q.bias", 2, D, 0, 0, 0);
    tiny_add(&tt, POOL "ln_kv.weight", 1, D, 0, 0, 0);
    tiny_add(&tt, POOL "ln_kv.bias", 2, D, 0, 0, 0);
    tiny_add(&tt, VIS "ln_post.weight", 1, D, 0, 0, 0);
    tiny_add(&tt, VIS "ln_post.bias", 2, D, 0, 0, 0);
    tiny_add(&tt, VIS "proj", 0, D, D, 0, 0);
#undef VIS
#undef BLK
#undef POOL
    silkie_status st = silkie_safetensors_write(join(0, dir, "model.safetensors"), tt.t, tt.n);
    SK_TEST_OK(st);
    for (uint32_t i = 0; i < tt.n; i++) {
        silkie_free((void *)tt.t[i].name);
        free(tt.data[i]);
    }
    return ok && st == SILKIE_OK;
}

/* ---- device writers ------------------------------------------------------------------------ */

static silkie_session *g_session;

static silkie_status write_session(const char *path)
{
    return silkie_session_save(g_session, path);
}

/* The tiny model's LM head has 512 rows for 473 token ids, and only the rows past the known ids
 * are non-zero: every greedy token is one the tokenizer does not know. Such ids decode to
 * nothing and must not end the answer. */
static void ask_through_unknown_ids(silkie_model *m)
{
    silkie_session_params sp;
    sk_test_greedy_params(&sp, SILKIE_DTYPE_F16, 256);
    silkie_session *s = NULL;
    SK_TEST_OK(silkie_session_create(m, &sp, &s));
    if (!s) return;
    silkie_ask_params ap;
    silkie_ask_params_init(&ap);
    ap.max_new_tokens = 24;
    ap.no_stop = 1;
    SK_TEST_OK(silkie_session_ask(s, "Say something.", &ap));
    uint32_t n = 0, unknown = 0;
    const int32_t *ids = silkie_session_answer_tokens(s, &n);
    for (uint32_t i = 0; i < n; i++) unknown += ids[i] >= T_KNOWN;
    SK_TEST_CHECK(n == 24 && unknown == n, "answer: %u tokens, %u unknown; want 24 unknown", n,
                  unknown);
    SK_TEST_CHECK(!strcmp(silkie_session_answer(s), ""), "unknown ids gave text '%s'",
                  silkie_session_answer(s));
    silkie_session_destroy(s);
}

static void test_session(silkie_model *m)
{
    silkie_session_params sp;
    sk_test_greedy_params(&sp, SILKIE_DTYPE_F16, 256);
    SK_TEST_OK(silkie_session_create(m, &sp, &g_session));
    if (!g_session) return;
    silkie_ask_params ap;
    silkie_ask_params_init(&ap);
    ap.max_new_tokens = 4;
    ap.no_stop = 1;
    SK_TEST_OK(silkie_session_ask(g_session, "Hello there.", &ap));
    char dir[512];
    make_dir(dir, "session");
    const char *path = join(1, dir, "chat.session");
    sweep("session save", write_session, path);
    refusals("session save", write_session, path);
    silkie_session_destroy(g_session);
    g_session = NULL;
    rmdir(dir);
}

/* The pipeline cache is written when the device is destroyed; a failure there is a WARN line
 * naming the file (the cache is optional), caught here. */
static char g_log[4096];
static void on_log(silkie_log_level level, const char *module, const char *msg, void *user)
{
    (void)module, (void)user;
    if (level <= SILKIE_LOG_WARN && strstr(msg, "pipeline cache"))
        snprintf(g_log, sizeof g_log, "%s", msg);
}

static silkie_status write_pipeline_cache(const char *path)
{
    silkie_vk_device_params p;
    silkie_vk_device_params_init(&p);
    p.pipeline_cache_path = path;
    silkie_vk_device *d = NULL;
    g_log[0] = 0;
    silkie_log_set(on_log, NULL);
    silkie_status st = silkie_vk_device_create(&p, &d);
    silkie_vk_device_destroy(d);
    silkie_log_set(NULL, NULL);
    if (st != SILKIE_OK) return st;
    /* the writer's message comes back as the status of the destroy that ran it */
    return g_log[0] ? SK_FAIL(SILKIE_ERR_IO, "%s", g_log) : SILKIE_OK;
}

static void test_pipeline_cache(void)
{
    char dir[512];
    make_dir(dir, "pipeline");
    const char *path = join(1, dir, "pipelines.bin");
    sweep("pipeline cache", write_pipeline_cache, path);
    refusals("pipeline cache", write_pipeline_cache, path);
    rmdir(dir);
}

/* ---- training runs -------------------------------------------------------------------------- */

static silkie_trainer *g_trainer;
static char g_run[600], g_data[600], g_init[600];

static silkie_status train_once(void)
{
    /* every run starts from the same adapter and optimizer state, so runs write equal bytes */
    SK_CHECK(silkie_trainer_load_state(g_trainer, g_init));
    silkie_train_run_params rp;
    silkie_train_run_params_init(&rp);
    rp.data = g_data;
    rp.out_dir = g_run;
    rp.steps = 1;
    rp.save_every = 1;
    rp.seed = 3;
    silkie_train_summary sum;
    return silkie_trainer_run(g_trainer, &rp, &sum);
}

static const char *const k_run_files[] = {
    "checkpoint-1/adapter_model.safetensors", "checkpoint-1/adapter_config.json",
    "checkpoint-1/optimizer.safetensors",     "checkpoint-1/trainer_state.json",
    "adapter/adapter_model.safetensors",      "adapter/adapter_config.json",
};
enum { N_RUN_FILES = 6, N_CKPT_FILES = 4 };

static int folder_entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d))) n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    if (d) closedir(d);
    return n;
}

/* The state before each faulted run: an older checkpoint-1 (one file) and older adapter files. */
static void plant_old_run(void)
{
    rm_tree(join(0, g_run, "checkpoint-1"));
    mkdir(join(0, g_run, "checkpoint-1"), 0755);
    SK_TEST_CHECK(put_file(join(0, g_run, "checkpoint-1/old.txt"), k_prev, sizeof k_prev - 1),
                  "setup");
    for (int i = N_CKPT_FILES; i < N_RUN_FILES; i++)
        SK_TEST_CHECK(put_file(join(0, g_run, k_run_files[i]), k_prev, sizeof k_prev - 1),
                      "setup");
}

/* checkpoint-1 is the old one or the whole new one; each adapter file is old or new; the file
 * the message names is old. */
static void check_run_after(const char *what, const blob *ref, bool failed)
{
    const char *ck = join(0, g_run, "checkpoint-1");
    bool old_ck = blob_equals(join(1, g_run, "checkpoint-1/old.txt"), k_prev, sizeof k_prev - 1);
    bool new_ck = folder_entries(ck) == N_CKPT_FILES;
    for (int i = 0; new_ck && i < N_CKPT_FILES; i++)
        new_ck = blob_equals(join(1, g_run, k_run_files[i]), ref[i].p, ref[i].n);
    SK_TEST_CHECK((old_ck && folder_entries(ck) == 1) || new_ck,
                  "%s: checkpoint-1 is neither the old nor a complete new one", what);
    SK_TEST_CHECK(!failed || !new_ck || strstr(silkie_last_error(), "/adapter/"),
                  "%s: checkpoint replaced although its writing failed", what);
    for (int i = N_CKPT_FILES; i < N_RUN_FILES; i++) {
        const char *p = join(1, g_run, k_run_files[i]);
        bool old = blob_equals(p, k_prev, sizeof k_prev - 1);
        SK_TEST_CHECK(old || blob_equals(p, ref[i].p, ref[i].n), "%s: %s is neither old nor new",
                      what, k_run_files[i]);
        SK_TEST_CHECK(!failed || !strstr(silkie_last_error(), k_run_files[i]) || old,
                      "%s: %s changed by a failed write", what, k_run_files[i]);
    }
}

static void test_training(silkie_model *m)
{
    silkie_train_params tp;
    silkie_train_params_init(&tp);
    tp.lora_r = 2;
    tp.seed = 11;
    tp.system = "Be brief."; /* short sequences: the step is most of a run's time */
    tp.max_prompt_tokens = 48;
    tp.max_total_tokens = 64;
    SK_TEST_OK(silkie_trainer_create(m, &tp, &g_trainer));
    if (!g_trainer) return;
    char dir[512];
    make_dir(dir, "train");
    snprintf(g_run, sizeof g_run, "%s/run", dir);
    snprintf(g_data, sizeof g_data, "%s/pairs.jsonl", dir);
    snprintf(g_init, sizeof g_init, "%s/init", dir);
    static const char pairs[] = "{\"prompt\": \"Colour?\", \"chosen\": \"Red.\", "
                                "\"rejected\": \"Cat.\"}\n";
    SK_TEST_CHECK(put_file(g_data, pairs, sizeof pairs - 1), "pairs");
    SK_TEST_OK(silkie_trainer_save_state(g_trainer, g_init));
    SK_TEST_OK(train_once());
    blob ref[N_RUN_FILES];
    for (int i = 0; i < N_RUN_FILES; i++) {
        ref[i] = read_blob(join(0, g_run, k_run_files[i]));
        SK_TEST_CHECK(ref[i].p, "training wrote no %s", k_run_files[i]);
    }
    printf("  %-22s", "training run");
    for (size_t k = 0; k < SK_ARRAY_LEN(k_kinds); k++) {
        const kind_info *ki = &k_kinds[k];
        uint64_t n = 1;
        for (; n < MAX_WRITES; n++) {
            plant_old_run();
            int64_t live = silkie_alloc_live();
            sk_fault_arm(ki->kind, n);
            silkie_status st = train_once();
            bool fired = sk_fault_fired();
            sk_fault_arm(SK_FAULT_NONE, 0);
            SK_TEST_CHECK(silkie_alloc_live() == live, "training: %s:%llu: leak", ki->name,
                          (unsigned long long)n);
            check_no_temp("training", g_run);
            bool failed = fired && ki->kind != SK_FAULT_SHORT;
            if (failed) expect_io("training", st, g_run);
            else SK_TEST_OK(st);
            check_run_after("training", ref, failed);
            if (!failed) /* a run that succeeded wrote everything new */
                for (int i = 0; i < N_RUN_FILES; i++)
                    SK_TEST_CHECK(blob_equals(join(0, g_run, k_run_files[i]), ref[i].p, ref[i].n),
                                  "training: %s:%llu: %s differs", ki->name,
                                  (unsigned long long)n, k_run_files[i]);
            if (!fired) break;
        }
        printf(" %s 1..%llu", ki->name, (unsigned long long)n - 1);
    }
    printf("\n");

    /* refused targets: log.jsonl and the checkpoint folder's name (the adapter files are the
     * safetensors and adapter config writers, refusing as above) */
    const char *victim = join(6, dir, "victim.txt");
    static const char *const targets[] = {"log.jsonl", "checkpoint-1"};
    for (size_t i = 0; i < SK_ARRAY_LEN(targets); i++) {
        for (refusal r = REFUSE_SYMLINK; r <= REFUSE_CHARDEV; r++) {
            plant_old_run();
            const char *path = join(2, g_run, targets[i]);
            rm_tree(path);
            if (!plant(r, path, victim)) {
                if (r == REFUSE_CHARDEV) note_no_root("training");
                else SK_TEST_CHECK(0, "training: cannot make a %s", k_refusal_kind[r]);
                continue;
            }
            int64_t live = silkie_alloc_live();
            silkie_status st = train_once();
            expect_io("training", st, path);
            SK_TEST_CHECK(strstr(silkie_last_error(), k_refusal_kind[r]), "training: '%s'",
                          silkie_last_error());
            SK_TEST_CHECK(silkie_alloc_live() == live, "training: leak on refusal");
            check_planted("training", r, path, victim);
            check_no_temp("training", g_run);
            unlink(path);
            unlink(victim);
        }
    }
    for (int i = 0; i < N_RUN_FILES; i++) silkie_free(ref[i].p);
    silkie_trainer_destroy(g_trainer);
    g_trainer = NULL;
    rm_tree(dir);
}

/* ---- silkie-make-demo in a child process --------------------------------------------------- */

static const char *const k_demo_files[] = {"config.json", "generation_config.json",
                                           "qwen.tiktoken", "demo.jpg", "model.safetensors"};
enum { N_DEMO_FILES = 5 };

/* Runs the tool with SILKIE_FAULT=fault (NULL: none); its stderr into *msg. */
static int run_demo(const char *exe, const char *out, const char *fault, char *msg, size_t cap)
{
    const char *log = join(5, g_root, "demo.log");
    if (fault) setenv("SILKIE_FAULT", fault, 1);
    char *argv[] = {"/bin/sh", "-c", "exec \"$0\" \"$1\" 2>&1", (char *)exe, (char *)out, NULL};
    int rc = sk_run(argv, log);
    unsetenv("SILKIE_FAULT");
    size_t n = 0;
    char *text = sk_read_file(log, &n);
    snprintf(msg, cap, "%.*s", text ? (int)n : 0, text ? text : "");
    silkie_free(text);
    unlink(log);
    return rc;
}

/* One faulted run: exit 1 naming a file whose old bytes stayed, like those of the files it did
 * not reach; or success. Returns the index of the file named, -1 on success. */
static int demo_faulted(const char *exe, const char *out, const kind_info *ki, unsigned n,
                        const blob *ref)
{
    char msg[2048], fault[64];
    for (int i = 0; i < N_DEMO_FILES; i++)
        put_file(join(0, out, k_demo_files[i]), k_prev, sizeof k_prev - 1);
    snprintf(fault, sizeof fault, "%s:%u", ki->name, n);
    int rc = run_demo(exe, out, fault, msg, sizeof msg);
    check_no_temp("make-demo", out);
    if (rc == 0) {
        for (int i = 0; ref && i < N_DEMO_FILES; i++)
            SK_TEST_CHECK(blob_equals(join(0, out, k_demo_files[i]), ref[i].p, ref[i].n),
                          "make-demo %s: %s differs", fault, k_demo_files[i]);
        return -1;
    }
    SK_TEST_CHECK(ki->kind != SK_FAULT_SHORT && rc == 1 && strstr(msg, out) &&
                      strstr(msg, strerror(ki->err)),
                  "make-demo %s: exit %d: %s", fault, rc, msg);
    int named = -1;
    for (int i = 0; i < N_DEMO_FILES; i++)
        if (strstr(msg, join(0, out, k_demo_files[i]))) named = i;
    SK_TEST_CHECK(named >= 0, "make-demo %s: no file named in '%s'", fault, msg);
    for (int i = named; named >= 0 && i < N_DEMO_FILES; i++)
        SK_TEST_CHECK(blob_equals(join(0, out, k_demo_files[i]), k_prev, sizeof k_prev - 1),
                      "make-demo %s: %s changed", fault, k_demo_files[i]);
    return named >= 0 ? named : 0;
}

static void test_make_demo(const char *exe, bool full)
{
    char out[512];
    make_dir(out, "demo");
    char msg[2048];
    blob ref[N_DEMO_FILES] = {{0}};
    if (full) {
        SK_TEST_CHECK(run_demo(exe, out, NULL, msg, sizeof msg) == 0, "make-demo: %s", msg);
        for (int i = 0; i < N_DEMO_FILES; i++) ref[i] = read_blob(join(0, out, k_demo_files[i]));
    }
    /* eio first: where it stops firing is the number of writes, which bounds the short sweep
     * (a short write succeeds, so the child alone cannot tell whether it fired). */
    static const kind_info *const order[] = {&k_kinds[2], &k_kinds[1], &k_kinds[0]};
    unsigned writes = 0;
    printf("  %-22s", "silkie-make-demo");
    for (size_t k = 0; k < (full ? 3u : 1u); k++) {
        const kind_info *ki = order[k];
        unsigned n = 1;
        for (; n < MAX_WRITES && (ki->kind != SK_FAULT_SHORT || n <= writes); n++) {
            int named = demo_faulted(exe, out, ki, n, full ? ref : NULL);
            if (named < 0 && ki->kind != SK_FAULT_SHORT) break; /* past the last write */
            /* quick mode stops at the first fault in the weights (a second each to make) */
            if (!full && named == N_DEMO_FILES - 1) {
                n++;
                break;
            }
        }
        if (ki->kind == SK_FAULT_EIO) writes = n - 1;
        printf(" %s 1..%u", ki->name, n - 1);
    }
    printf("%s\n", full ? "" : " (quick: up to the weights file)");
    /* refused targets: one of its files as a link, a FIFO, a device */
    const char *path = join(1, out, "config.json");
    const char *victim = join(2, g_root, "victim.txt");
    for (refusal r = REFUSE_SYMLINK; r <= REFUSE_CHARDEV; r++) {
        unlink(path);
        if (!plant(r, path, victim)) {
            if (r == REFUSE_CHARDEV) note_no_root("make-demo");
            else SK_TEST_CHECK(0, "make-demo: cannot make a %s", k_refusal_kind[r]);
            continue;
        }
        int rc = run_demo(exe, out, NULL, msg, sizeof msg);
        SK_TEST_CHECK(rc == 1 && strstr(msg, path) && strstr(msg, k_refusal_kind[r]),
                      "make-demo: %s at config.json: exit %d: %s", k_refusal_kind[r], rc, msg);
        check_planted("make-demo", r, path, victim);
        check_no_temp("make-demo", out);
        unlink(path);
        unlink(victim);
    }
    for (int i = 0; i < N_DEMO_FILES; i++) silkie_free(ref[i].p);
    rm_tree(out);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_safe_writes SILKIE_MAKE_DEMO [--full]\n");
        return 2;
    }
    bool full = argc > 2 && !strcmp(argv[2], "--full");
    /* Parse SILKIE_FAULT now: the make-demo children get theirs through setenv later. */
    SK_TEST_OK(sk_fault_init());
    const char *tmp = getenv("TMPDIR");
    snprintf(g_root, sizeof g_root, "%s/silkie-safe-writes-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(g_root)) {
        fprintf(stderr, "cannot create %s\n", g_root);
        return 1;
    }
    if (full) {
        test_make_demo(argv[1], true);
        rm_tree(g_root);
        return sk_test_result("test_safe_writes --full");
    }
    static char tiny[512];
    make_dir(tiny, "tiny-model");
    g_tiny = tiny;
    SK_TEST_CHECK(make_tiny_model(tiny), "tiny model");

    struct {
        const char *what, *file;
        write_fn fn;
    } cpu[] = {
        {"safetensors dump", "dump.safetensors", write_dump},
        {"adapter config", "adapter_config.json", write_adapter_config},
        {"gguf pack", "tiny.gguf", write_gguf},
        {"vlfeedback pairs", "pairs.jsonl", write_pairs},
    };
    for (size_t i = 0; i < SK_ARRAY_LEN(cpu); i++) {
        char dir[512];
        make_dir(dir, "out");
        const char *path = join(1, dir, cpu[i].file);
        sweep(cpu[i].what, cpu[i].fn, path);
        refusals(cpu[i].what, cpu[i].fn, path);
        rmdir(dir);
    }

    test_make_demo(argv[1], false);

    silkie_model *m = NULL;
    int rc = sk_test_load_model(tiny, SILKIE_DTYPE_F32, SILKIE_DTYPE_F32, &m);
    if (m) {
        ask_through_unknown_ids(m);
        test_session(m);
        test_training(m);
        silkie_model_destroy(m);
        test_pipeline_cache();
    } else if (rc == 77) {
        printf("  note: no Vulkan device: session, pipeline cache and training writers skipped\n");
    } else {
        sk_test_failures++;
    }
    rm_tree(g_root);
    return sk_test_result("test_safe_writes");
}
