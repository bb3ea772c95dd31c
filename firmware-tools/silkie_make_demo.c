/* silkie-make-demo OUT_DIR: writes a tiny Qwen-VL-Chat checkpoint with the real structure
 * (config keys, tensor names and layouts, 151936-entry vocabulary, special-token ids) and
 * random weights, plus a synthetic photo OUT_DIR/demo.jpg. Everything the README's first command
 * needs comes from here, so a fresh clone runs the whole pipeline without downloads. Its answers
 * are a pipeline self-test, not language.
 *
 * The vocabulary is synthetic too: the 256 single bytes, then letter pairs and triples, up to
 * Qwen's 151643 ranks, so the special tokens land on their real ids.
 *
 * Every file goes through the runtime's safe output writer (base/outfile.h): built beside its
 * name and renamed when complete; a link, FIFO or device already at a name is refused. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <turbojpeg.h>

#include "base/base.h"
#include "base/outfile.h"
#include "cli_opts.h"

enum { HIDDEN = 128, LAYERS = 2, HEADS = 4, MLP = 256, VOCAB = 151936, RANKS = 151643 };
enum { IMG = 224, PATCH = 14, VW = 64, VLAYERS = 2, VHEADS = 4, VMLP = 256, NQ = 16 };

static uint64_t g_rng = 0x5111c1e;
static float rnd_normal(void)
{
    /* xorshift + Box-Muller: reproducible on every platform */
    double u[2];
    for (int i = 0; i < 2; i++) {
        g_rng ^= g_rng << 13;
        g_rng ^= g_rng >> 7;
        g_rng ^= g_rng << 17;
        u[i] = ((g_rng >> 11) + 0.5) / 9007199254740992.0;
    }
    return (float)(sqrt(-2.0 * log(u[0])) * cos(6.283185307179586 * u[1]));
}

static uint16_t to_bf16(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    x += 0x7fffu + ((x >> 16) & 1u);
    return (uint16_t)(x >> 16);
}

typedef struct tensor {
    char name[128];
    uint32_t n_dims;
    uint64_t shape[4];
    uint16_t *data;
    uint64_t n;
} tensor;

static tensor g_t[256];
static int g_nt;

/* kind: 0 matrix (std), 1 norm weight (1 + noise), 2 bias (small), 3 sin-cos table */
static void add(const char *name, uint32_t nd, const uint64_t *shape, int kind, float std)
{
    tensor *t = &g_t[g_nt++];
    snprintf(t->name, sizeof t->name, "%s", name);
    t->n_dims = nd;
    t->n = 1;
    for (uint32_t i = 0; i < nd; i++) t->n *= (t->shape[i] = shape[i]);
    t->data = malloc(t->n * 2);
    for (uint64_t i = 0; i < t->n; i++) {
        float v = kind == 0 ? std * rnd_normal()
                  : kind == 1 ? 1.0f + 0.1f * rnd_normal()
                              : 0.02f * rnd_normal();
        t->data[i] = to_bf16(v);
    }
    if (kind == 3) { /* 2-D sin-cos table of the resampler queries (column coordinate first) */
        uint32_t g = (uint32_t)sqrt((double)shape[0]), D = (uint32_t)shape[1], q = D / 4;
        for (uint32_t m = 0; m < shape[0]; m++)
            for (uint32_t k = 0; k < q; k++) {
                double w = pow(10000.0, -(double)k / q), r = m / g, c = m % g;
                uint16_t *row = t->data + (uint64_t)m * D;
                row[k] = to_bf16((float)sin(c * w));
                row[q + k] = to_bf16((float)cos(c * w));
                row[2 * q + k] = to_bf16((float)sin(r * w));
                row[3 * q + k] = to_bf16((float)cos(r * w));
            }
    }
}

#define SHAPE(...) (const uint64_t[]){__VA_ARGS__}
#define NDIMS(...) (uint32_t)(sizeof((uint64_t[]){__VA_ARGS__}) / sizeof(uint64_t))
#define ADD(name, kind, std, ...) add(name, NDIMS(__VA_ARGS__), SHAPE(__VA_ARGS__), kind, std)

static void make_tensors(void)
{
    char n[128];
    ADD("transformer.wte.weight", 0, 0.05f, VOCAB, HIDDEN);
    for (int l = 0; l < LAYERS; l++) {
#define L(s) (snprintf(n, sizeof n, "transformer.h.%d." s, l), n)
        ADD(L("ln_1.weight"), 1, 0, HIDDEN);
        ADD(L("attn.c_attn.weight"), 0, 0.05f, 3 * HIDDEN, HIDDEN);
        ADD(L("attn.c_attn.bias"), 2, 0, 3 * HIDDEN);
        ADD(L("attn.c_proj.weight"), 0, 0.05f, HIDDEN, HIDDEN);
        ADD(L("ln_2.weight"), 1, 0, HIDDEN);
        ADD(L("mlp.w1.weight"), 0, 0.05f, MLP, HIDDEN);
        ADD(L("mlp.w2.weight"), 0, 0.05f, MLP, HIDDEN);
        ADD(L("mlp.c_proj.weight"), 0, 0.05f, HIDDEN, MLP);
#undef L
    }
    ADD("transformer.ln_f.weight", 1, 0, HIDDEN);
#define V(s) "transformer.visual." s
    ADD(V("conv1.weight"), 0, 0.05f, VW, 3, PATCH, PATCH);
    ADD(V("positional_embedding"), 0, 0.05f, 256, VW);
    ADD(V("ln_pre.weight"), 1, 0, VW);
    ADD(V("ln_pre.bias"), 2, 0, VW);
    for (int b = 0; b < VLAYERS; b++) {
#define B(s) (snprintf(n, sizeof n, V("transformer.resblocks.%d.") s, b), n)
        ADD(B("ln_1.weight"), 1, 0, VW);
        ADD(B("ln_1.bias"), 2, 0, VW);
        ADD(B("attn.in_proj.weight"), 0, 0.08f, 3 * VW, VW);
        ADD(B("attn.in_proj.bias"), 2, 0, 3 * VW);
        ADD(B("attn.out_proj.weight"), 0, 0.08f, VW, VW);
        ADD(B("attn.out_proj.bias"), 2, 0, VW);
        ADD(B("ln_2.weight"), 1, 0, VW);
        ADD(B("ln_2.bias"), 2, 0, VW);
        ADD(B("mlp.c_fc.weight"), 0, 0.08f, VMLP, VW);
        ADD(B("mlp.c_fc.bias"), 2, 0, VMLP);
        ADD(B("mlp.c_proj.weight"), 0, 0.08f, VW, VMLP);
        ADD(B("mlp.c_proj.bias"), 2, 0, VW);
#undef B
    }
    ADD(V("attn_pool.query"), 0, 0.05f, NQ, HIDDEN);
    ADD(V("attn_pool.pos_embed"), 3, 0, NQ, HIDDEN);
    ADD(V("attn_pool.kv_proj.weight"), 0, 0.08f, HIDDEN, VW);
    ADD(V("attn_pool.attn.in_proj_weight"), 0, 0.05f, 3 * HIDDEN, HIDDEN);
    ADD(V("attn_pool.attn.in_proj_bias"), 2, 0, 3 * HIDDEN);
    ADD(V("attn_pool.attn.out_proj.weight"), 0, 0.05f, HIDDEN, HIDDEN);
    ADD(V("attn_pool.attn.out_proj.bias"), 2, 0, HIDDEN);
    ADD(V("attn_pool.ln_q.weight"), 1, 0, HIDDEN);
    ADD(V("attn_pool.ln_q.bias"), 2, 0, HIDDEN);
    ADD(V("attn_pool.ln_kv.weight"), 1, 0, HIDDEN);
    ADD(V("attn_pool.ln_kv.bias"), 2, 0, HIDDEN);
    ADD(V("ln_post.weight"), 1, 0, HIDDEN);
    ADD(V("ln_post.bias"), 2, 0, HIDDEN);
    ADD(V("proj"), 0, 0.05f, HIDDEN, HIDDEN);
#undef V
    ADD("lm_head.weight", 0, 0.05f, VOCAB, HIDDEN);
}

static silkie_status write_safetensors(const char *path)
{
    size_t cap = 65536, len = 0;
    char *h = malloc(cap);
    if (!h) return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "%s: header", path);
    uint64_t off = 0;
    len += (size_t)snprintf(h + len, cap - len, "{\"__metadata__\":{\"format\":\"pt\"}");
    for (int i = 0; i < g_nt; i++) {
        len += (size_t)snprintf(h + len, cap - len, ",\"%s\":{\"dtype\":\"BF16\",\"shape\":[",
                                g_t[i].name);
        for (uint32_t d = 0; d < g_t[i].n_dims; d++)
            len += (size_t)snprintf(h + len, cap - len, "%s%llu", d ? "," : "",
                                    (unsigned long long)g_t[i].shape[d]);
        len += (size_t)snprintf(h + len, cap - len, "],\"data_offsets\":[%llu,%llu]}",
                                (unsigned long long)off, (unsigned long long)(off + 2 * g_t[i].n));
        off += 2 * g_t[i].n;
    }
    len += (size_t)snprintf(h + len, cap - len, "}");
    while (len % 8) h[len++] = ' ';
    silkie_outfile *f = NULL;
    silkie_status st = silkie_outfile_open(path, &f);
    uint64_t hl = len;
    if (st == SILKIE_OK) st = silkie_outfile_write(f, &hl, 8);
    if (st == SILKIE_OK) st = silkie_outfile_write(f, h, len);
    for (int i = 0; st == SILKIE_OK && i < g_nt; i++)
        st = silkie_outfile_write(f, g_t[i].data, 2 * g_t[i].n);
    free(h);
    if (st == SILKIE_OK) return silkie_outfile_commit(f);
    silkie_outfile_abort(f);
    return st;
}

/* One vocabulary line: base64 of the token's n (<= 3) bytes, a space, the rank. */
static silkie_status vocab_line(silkie_outfile *f, const unsigned char *p, int n, int rank)
{
    static const char *a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    uint32_t v = (uint32_t)p[0] << 16 | (n > 1 ? (uint32_t)p[1] << 8 : 0) | (n > 2 ? p[2] : 0);
    return silkie_outfile_printf(f, "%c%c%c%c %d\n", a[v >> 18], a[(v >> 12) & 63],
                                 n > 1 ? a[(v >> 6) & 63] : '=', n > 2 ? a[v & 63] : '=', rank);
}

static silkie_status write_vocab(const char *path)
{
    silkie_outfile *f = NULL;
    SK_CHECK(silkie_outfile_open(path, &f));
    silkie_status st = SILKIE_OK;
    int rank = 0;
    unsigned char t[4];
    for (int b = 0; st == SILKIE_OK && b < 256; b++, rank++) {
        t[0] = (unsigned char)b;
        st = vocab_line(f, t, 1, rank);
    }
    /* Multi-byte tokens: " x", "xy", " xy", "xyz" over letters, then anything two-byte. */
    static const char *letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    for (int form = 0; form < 4 && rank < RANKS; form++)
        for (int i = 0; letters[i] && rank < RANKS; i++)
            for (int j = 0; (form == 0 ? j < 1 : letters[j] != 0) && rank < RANKS; j++)
                for (int k = 0; (form == 3 ? letters[k] != 0 : k < 1) && rank < RANKS; k++) {
                    int n = 0;
                    if (form == 0 || form == 2) t[n++] = ' ';
                    t[n++] = (unsigned char)letters[i];
                    if (form >= 1) t[n++] = (unsigned char)letters[j];
                    if (form == 3) t[n++] = (unsigned char)letters[k];
                    if (st == SILKIE_OK) st = vocab_line(f, t, n, rank);
                    rank++;
                }
    for (int a = 128; a < 256 && rank < RANKS; a++)
        for (int b = 0; b < 256 && rank < RANKS; b++) {
            t[0] = (unsigned char)a, t[1] = (unsigned char)b, t[2] = 0xff;
            if (st == SILKIE_OK) st = vocab_line(f, t, 3, rank);
            rank++;
        }
    if (st == SILKIE_OK && rank != RANKS)
        st = SK_FAIL(SILKIE_ERR_INTERNAL, "%s: %d ranks, want %d", path, rank, RANKS);
    if (st == SILKIE_OK) return silkie_outfile_commit(f);
    silkie_outfile_abort(f);
    return st;
}

static silkie_status write_text(const char *path, const char *text)
{
    return silkie_outfile_write_all(path, text, strlen(text));
}

static silkie_status write_photo(const char *path)
{
    enum { W = 320, H = 240 };
    static unsigned char rgb[W * H * 3];
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            unsigned char *p = rgb + 3 * (y * W + x);
            int sky = y < H / 2, dx = x - 220, dy = y - 60, sun = dx * dx + dy * dy < 900;
            int hill = y > H / 2 + (int)(20 * sin(x / 30.0));
            p[0] = (unsigned char)(sun ? 250 : hill ? 40 + y / 8 : sky ? 90 + y / 3 : 120);
            p[1] = (unsigned char)(sun ? 210 : hill ? 140 - y / 6 : sky ? 150 + y / 4 : 120);
            p[2] = (unsigned char)(sun ? 60 : hill ? 50 : sky ? 230 : 120);
        }
    tjhandle tj = tjInitCompress();
    unsigned char *jpg = NULL;
    unsigned long n = 0;
    silkie_status st = SILKIE_OK;
    if (!tj || tjCompress2(tj, rgb, W, 0, H, TJPF_RGB, &jpg, &n, TJSAMP_420, 90, 0) != 0)
        st = SK_FAIL(SILKIE_ERR_INTERNAL, "%s: JPEG encoding failed", path);
    if (st == SILKIE_OK) st = silkie_outfile_write_all(path, jpg, n);
    tjFree(jpg);
    if (tj) tjDestroy(tj);
    return st;
}

int main(int argc, char **argv)
{
    const silkie_cmd_spec spec = {
        "silkie-make-demo", "OUT_DIR",
        "Writes a tiny Qwen-VL-Chat checkpoint (real structure, random weights) and a synthetic "
        "photo OUT_DIR/demo.jpg, so the pipeline runs without downloads. Its answers are a "
        "pipeline self-test, not language.",
        NULL, 0, 1, 1, NULL};
    const char *dir = NULL;
    int rc = silkie_cli_parse(&spec, argc, argv, &dir, NULL);
    if (rc != SILKIE_CLI_CONTINUE) return rc;
    struct stat sb;
    if (stat(dir, &sb) == 0 && !S_ISDIR(sb.st_mode))
        return silkie_cli_usage_error(&spec, "'%s' exists and is not a folder", dir);
    char p[4096];
    mkdir(dir, 0755);
    char cfg[2048];
    snprintf(cfg, sizeof cfg,
             "{\n  \"architectures\": [\"QWenLMHeadModel\"],\n  \"model_type\": \"qwen\",\n"
             "  \"vocab_size\": %d,\n  \"hidden_size\": %d,\n  \"num_hidden_layers\": %d,\n"
             "  \"num_attention_heads\": %d,\n  \"kv_channels\": %d,\n"
             "  \"intermediate_size\": %d,\n  \"layer_norm_epsilon\": 1e-06,\n"
             "  \"rotary_pct\": 1.0,\n  \"rotary_emb_base\": 10000,\n"
             "  \"use_dynamic_ntk\": true,\n  \"use_logn_attn\": true,\n  \"seq_length\": 2048,\n"
             "  \"max_position_embeddings\": 8192,\n  \"no_bias\": true,\n"
             "  \"tie_word_embeddings\": false,\n  \"scale_attn_weights\": true,\n"
             "  \"torch_dtype\": \"bfloat16\",\n  \"tokenizer_type\": \"QWenTokenizer\",\n"
             "  \"visual\": {\"image_size\": %d, \"patch_size\": %d, \"width\": %d, "
             "\"layers\": %d, \"heads\": %d, \"mlp_ratio\": 4.0, \"output_dim\": %d, "
             "\"image_start_id\": 151857, \"n_queries\": %d}\n}\n",
             VOCAB, HIDDEN, LAYERS, HEADS, HIDDEN / HEADS, 2 * MLP, IMG, PATCH, VW, VLAYERS,
             VHEADS, HIDDEN, NQ);
    silkie_status st;
    snprintf(p, sizeof p, "%s/config.json", dir);
    st = write_text(p, cfg);
    snprintf(p, sizeof p, "%s/generation_config.json", dir);
    if (st == SILKIE_OK)
        st = write_text(p, "{\n  \"chat_format\": \"chatml\",\n  \"eos_token_id\": 151643,\n"
                           "  \"pad_token_id\": 151643,\n  \"max_window_size\": 6144,\n"
                           "  \"max_new_tokens\": 512,\n  \"do_sample\": true,\n"
                           "  \"top_k\": 0,\n  \"top_p\": 0.3\n}\n");
    snprintf(p, sizeof p, "%s/qwen.tiktoken", dir);
    if (st == SILKIE_OK) st = write_vocab(p);
    snprintf(p, sizeof p, "%s/demo.jpg", dir);
    if (st == SILKIE_OK) st = write_photo(p);
    /* The weights last: generating them is most of the run, so a failure before stops early. */
    if (st == SILKIE_OK) make_tensors();
    snprintf(p, sizeof p, "%s/model.safetensors", dir);
    if (st == SILKIE_OK) st = write_safetensors(p);
    for (int i = 0; i < g_nt; i++) free(g_t[i].data);
    if (st != SILKIE_OK) { /* the writer's message names the file and the reason */
        fprintf(stderr, "silkie-make-demo: %s\n", silkie_last_error());
        return 1;
    }
    printf("demo model (random weights, real Qwen-VL-Chat structure) written to %s\n", dir);
    return 0;
}
