/* silkie-pack works in bounded memory: packs a generated checkpoint of the real Qwen-VL layout
 * (random bf16 weights, the tokenizer of a golden model) and checks the packer's peak resident
 * set against a bound that does not grow with the model.
 *
 *   test_pack_memory PACK TOKENIZER_DIR HIDDEN LAYERS VISION_WIDTH VISION_LAYERS TYPE MAX_MIB
 *                    [KEEP_DIR]
 *
 * The checkpoint is written streaming (this process stays small too) into a temporary folder
 * and removed afterwards; with KEEP_DIR it is written there (a new folder) and kept, the packed
 * file beside it as KEEP_DIR.gguf, for measurements by hand. Prints parameters, file sizes and
 * the peak, which docs/FIRMWARE.md records for a series of sizes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

typedef struct gtensor {
    char name[96];
    uint32_t n_dims;
    uint64_t shape[4];
    int kind; /* 0 matrix, 1 norm weight, 2 bias or table */
} gtensor;

static gtensor *g_t;
static size_t g_n, g_cap;

static void add(const char *name, int kind, uint32_t nd, uint64_t a, uint64_t b, uint64_t c,
                uint64_t d)
{
    if (g_n == g_cap) {
        g_cap = g_cap ? 2 * g_cap : 256;
        g_t = realloc(g_t, g_cap * sizeof *g_t);
        if (!g_t) abort();
    }
    gtensor *t = &g_t[g_n++];
    snprintf(t->name, sizeof t->name, "%s", name);
    t->n_dims = nd;
    t->kind = kind;
    const uint64_t s[4] = {a, b, c, d};
    memcpy(t->shape, s, sizeof s);
}

static uint64_t numel(const gtensor *t)
{
    uint64_t n = 1;
    for (uint32_t i = 0; i < t->n_dims; i++) n *= t->shape[i];
    return n;
}

/* Qwen-VL-Chat's tensor set (spec §2.2, §2.3) for the given sizes. */
static void layout(uint64_t H, uint64_t L, uint64_t VW, uint64_t VL, uint64_t V, uint64_t mlp,
                   uint64_t vmlp, uint64_t Q)
{
    char n[96];
    add("transformer.wte.weight", 0, 2, V, H, 0, 0);
    for (uint64_t l = 0; l < L; l++) {
#define B(s) (snprintf(n, sizeof n, "transformer.h.%llu." s, (unsigned long long)l), n)
        add(B("ln_1.weight"), 1, 1, H, 0, 0, 0);
        add(B("attn.c_attn.weight"), 0, 2, 3 * H, H, 0, 0);
        add(B("attn.c_attn.bias"), 2, 1, 3 * H, 0, 0, 0);
        add(B("attn.c_proj.weight"), 0, 2, H, H, 0, 0);
        add(B("ln_2.weight"), 1, 1, H, 0, 0, 0);
        add(B("mlp.w1.weight"), 0, 2, mlp, H, 0, 0);
        add(B("mlp.w2.weight"), 0, 2, mlp, H, 0, 0);
        add(B("mlp.c_proj.weight"), 0, 2, H, mlp, 0, 0);
#undef B
    }
    add("transformer.ln_f.weight", 1, 1, H, 0, 0, 0);
    add("lm_head.weight", 0, 2, V, H, 0, 0);
#define VIS "transformer.visual."
    add(VIS "conv1.weight", 0, 4, VW, 3, 14, 14);
    add(VIS "positional_embedding", 2, 2, 256, VW, 0, 0);
    add(VIS "ln_pre.weight", 1, 1, VW, 0, 0, 0);
    add(VIS "ln_pre.bias", 2, 1, VW, 0, 0, 0);
    for (uint64_t l = 0; l < VL; l++) {
#define B(s) (snprintf(n, sizeof n, VIS "transformer.resblocks.%llu." s, (unsigned long long)l), n)
        add(B("ln_1.weight"), 1, 1, VW, 0, 0, 0);
        add(B("ln_1.bias"), 2, 1, VW, 0, 0, 0);
        add(B("attn.in_proj.weight"), 0, 2, 3 * VW, VW, 0, 0);
        add(B("attn.in_proj.bias"), 2, 1, 3 * VW, 0, 0, 0);
        add(B("attn.out_proj.weight"), 0, 2, VW, VW, 0, 0);
        add(B("attn.out_proj.bias"), 2, 1, VW, 0, 0, 0);
        add(B("ln_2.weight"), 1, 1, VW, 0, 0, 0);
        add(B("ln_2.bias"), 2, 1, VW, 0, 0, 0);
        add(B("mlp.c_fc.weight"), 0, 2, vmlp, VW, 0, 0);
        add(B("mlp.c_fc.bias"), 2, 1, vmlp, 0, 0, 0);
        add(B("mlp.c_proj.weight"), 0, 2, VW, vmlp, 0, 0);
        add(B("mlp.c_proj.bias"), 2, 1, VW, 0, 0, 0);
#undef B
    }
    add(VIS "attn_pool.query", 2, 2, Q, H, 0, 0);
    add(VIS "attn_pool.pos_embed", 2, 2, Q, H, 0, 0);
    add(VIS "attn_pool.kv_proj.weight", 0, 2, H, VW, 0, 0);
    add(VIS "attn_pool.attn.in_proj_weight", 0, 2, 3 * H, H, 0, 0);
    add(VIS "attn_pool.attn.in_proj_bias", 2, 1, 3 * H, 0, 0, 0);
    add(VIS "attn_pool.attn.out_proj.weight", 0, 2, H, H, 0, 0);
    add(VIS "attn_pool.attn.out_proj.bias", 2, 1, H, 0, 0, 0);
    add(VIS "attn_pool.ln_q.weight", 1, 1, H, 0, 0, 0);
    add(VIS "attn_pool.ln_q.bias", 2, 1, H, 0, 0, 0);
    add(VIS "attn_pool.ln_kv.weight", 1, 1, H, 0, 0, 0);
    add(VIS "attn_pool.ln_kv.bias", 2, 1, H, 0, 0, 0);
    add(VIS "ln_post.weight", 1, 1, H, 0, 0, 0);
    add(VIS "ln_post.bias", 2, 1, H, 0, 0, 0);
    add(VIS "proj", 0, 2, H, H, 0, 0);
#undef VIS
}

/* Random bf16: matrices and tables of magnitude 2^-6 to 2^-5 (exponent field 0x79), norm
 * weights just above 1. */
static uint16_t rnd_bf16(uint64_t *s, int kind)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    uint16_t m = (uint16_t)(*s >> 40) & 0x7f, sign = (uint16_t)((*s >> 60) & 1) << 15;
    if (kind == 1) return (uint16_t)(0x3f80 | (m & 0x0f));
    return (uint16_t)(sign | (0x79 << 7) | m);
}

static int write_checkpoint(const char *dir)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/model.safetensors", dir);
    FILE *f = fopen(p, "wb");
    if (!f) return 0;
    size_t cap = 256 + g_n * 200, len = 0;
    char *h = malloc(cap);
    uint64_t off = 0;
    len += (size_t)snprintf(h + len, cap - len, "{\"__metadata__\":{\"format\":\"pt\"}");
    for (size_t i = 0; i < g_n; i++) {
        len += (size_t)snprintf(h + len, cap - len, ",\"%s\":{\"dtype\":\"BF16\",\"shape\":[",
                                g_t[i].name);
        for (uint32_t d = 0; d < g_t[i].n_dims; d++)
            len += (size_t)snprintf(h + len, cap - len, "%s%llu", d ? "," : "",
                                    (unsigned long long)g_t[i].shape[d]);
        uint64_t nb = numel(&g_t[i]) * 2;
        len += (size_t)snprintf(h + len, cap - len, "],\"data_offsets\":[%llu,%llu]}",
                                (unsigned long long)off, (unsigned long long)(off + nb));
        off += nb;
    }
    len += (size_t)snprintf(h + len, cap - len, "}");
    while (len % 8) h[len++] = ' ';
    uint64_t hl = len;
    int ok = fwrite(&hl, 8, 1, f) == 1 && fwrite(h, 1, len, f) == len;
    free(h);
    uint16_t *buf = malloc((size_t)1 << 21);
    uint64_t s = 0x5eedf00dULL;
    for (size_t i = 0; ok && buf && i < g_n; i++)
        for (uint64_t n = numel(&g_t[i]), done = 0; ok && done < n;) {
            size_t k = (size_t)SK_MIN(n - done, (uint64_t)1 << 20);
            for (size_t j = 0; j < k; j++) buf[j] = rnd_bf16(&s, g_t[i].kind);
            ok = fwrite(buf, 2, k, f) == k;
            done += k;
        }
    free(buf);
    return fclose(f) == 0 && ok;
}

static int write_text(const char *dir, const char *name, const char *text)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    if (!f) return 0;
    int ok = fputs(text, f) >= 0;
    return fclose(f) == 0 && ok;
}

static int copy_file(const char *from, const char *dir, const char *name)
{
    size_t n = 0;
    char *b = sk_read_file(from, &n);
    char p[4200];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = b ? fopen(p, "wb") : NULL;
    int ok = f && fwrite(b, 1, n, f) == n;
    if (f && fclose(f) != 0) ok = 0;
    silkie_free(b);
    return ok;
}

static long file_mib(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (long)(sb.st_size >> 20) : -1;
}

int main(int argc, char **argv)
{
    if (argc != 9 && argc != 10) {
        fprintf(stderr, "usage: test_pack_memory PACK TOKENIZER_DIR HIDDEN LAYERS VISION_WIDTH "
                        "VISION_LAYERS TYPE MAX_MIB [KEEP_DIR]\n");
        return 2;
    }
    const uint64_t H = strtoull(argv[3], NULL, 10), L = strtoull(argv[4], NULL, 10);
    const uint64_t VW = strtoull(argv[5], NULL, 10), VL = strtoull(argv[6], NULL, 10);
    const long max_mib = strtol(argv[8], NULL, 10);
    if (H < 128 || H % 128 || !L || VW < 32 || VW % 16 || !VL) {
        fprintf(stderr, "HIDDEN a multiple of 128, VISION_WIDTH of 16, layers > 0\n");
        return 2;
    }
    /* Qwen-VL-Chat's proportions: MLP 11008/4096 of the width (rounded to 128). VISION_WIDTH
     * 1664 is the released ViT-bigG shape (MLP 8192, 448-pixel input, 256 queries); other
     * widths a small tower (MLP 4x, 224 pixels, 16 queries). */
    const bool big = VW == 1664;
    const uint64_t mlp = (H * 11008 / 4096 + 127) / 128 * 128, vmlp = big ? 8192 : 4 * VW;
    const uint64_t Q = big ? 256 : 16, image = big ? 448 : 224;
    layout(H, L, VW, VL, 151936, mlp, vmlp, Q);
    uint64_t params = 0;
    for (size_t i = 0; i < g_n; i++) params += numel(&g_t[i]);

    const char *t = getenv("TMPDIR");
    char dir[1024], model[1100], out[1100], vocab[4200], cfg[2048];
    snprintf(dir, sizeof dir, "%s/silkie_packmem_XXXXXX", t && t[0] ? t : "/tmp");
    if (!mkdtemp(dir)) return 1;
    const char *keep = argc == 10 ? argv[9] : NULL;
    snprintf(model, sizeof model, "%s", keep ? keep : dir);
    if (!keep) strcat(model, "/model");
    snprintf(out, sizeof out, "%s%s", keep ? keep : dir, keep ? ".gguf" : "/packed.gguf");
    snprintf(vocab, sizeof vocab, "%s/qwen.tiktoken", argv[2]);
    snprintf(cfg, sizeof cfg,
             "{\"architectures\":[\"QWenLMHeadModel\"],\"model_type\":\"qwen\","
             "\"vocab_size\":151936,\"hidden_size\":%llu,\"num_hidden_layers\":%llu,"
             "\"num_attention_heads\":%llu,\"kv_channels\":128,\"intermediate_size\":%llu,"
             "\"layer_norm_epsilon\":1e-06,\"rotary_pct\":1.0,\"rotary_emb_base\":10000,"
             "\"use_dynamic_ntk\":true,\"use_logn_attn\":true,\"seq_length\":2048,"
             "\"max_position_embeddings\":8192,\"no_bias\":true,\"tie_word_embeddings\":false,"
             "\"visual\":{\"image_size\":%llu,\"patch_size\":14,\"width\":%llu,"
             "\"layers\":%llu,\"heads\":16,\"mlp_ratio\":%s,\"output_dim\":%llu,"
             "\"image_start_id\":151857,\"n_queries\":%llu}}\n",
             (unsigned long long)H, (unsigned long long)L, (unsigned long long)(H / 128),
             (unsigned long long)(2 * mlp), (unsigned long long)image, (unsigned long long)VW,
             (unsigned long long)VL, big ? "4.9231" : "4.0", (unsigned long long)H,
             (unsigned long long)Q);
    int ok = mkdir(model, 0700) == 0 && write_text(model, "config.json", cfg) &&
             copy_file(vocab, model, "qwen.tiktoken") && write_checkpoint(model);
    SK_TEST_CHECK(ok, "cannot write the checkpoint in %s", model);
    if (ok) {
        char *args[] = {argv[1], "--model", model, "--out", out, "--type", argv[7],
                        "--no-selftest", "--quiet", NULL};
        int rc = sk_run(args, "/dev/null");
        SK_TEST_CHECK(rc == 0, "silkie-pack exit %d", rc);
        struct rusage ru;
        getrusage(RUSAGE_CHILDREN, &ru);
        long peak = ru.ru_maxrss / 1024; /* KiB on Linux */
        char st[1200];
        snprintf(st, sizeof st, "%s/model.safetensors", model);
        printf("%.3f B parameters, checkpoint %ld MiB, %s file %ld MiB: silkie-pack peak RSS "
               "%ld MiB (bound %ld)\n", (double)params / 1e9, file_mib(st), argv[7],
               file_mib(out), peak, max_mib);
        SK_TEST_CHECK(peak <= max_mib, "peak RSS %ld MiB above %ld MiB", peak, max_mib);
        if (!keep) remove(st);
    }
    if (keep) {
        rmdir(dir);
        free(g_t);
        return sk_test_result("test_pack_memory");
    }
    char p[1200];
    const char *names[] = {"config.json", "qwen.tiktoken", "model.safetensors"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s/%s", model, names[i]);
        remove(p);
    }
    rmdir(model);
    remove(out);
    rmdir(dir);
    free(g_t);
    return sk_test_result("test_pack_memory");
}
