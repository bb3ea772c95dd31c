/* silkie-inspect: what a model file or folder holds (`silkie-inspect --help`).
 *
 * Prints the container format, every tensor (name, dtype, shape in PyTorch order, bytes) and,
 * for GGUF, every metadata key with its type and value (arrays: element type, count and the
 * first few elements). Every container is validated completely before anything is printed, so
 * a damaged or hostile file gives one error line on stderr and exit status 1. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli_opts.h"
#include "model/model.h"

#define ARRAY_SHOWN 4u

static const char *format_name(silkie_weights_format f)
{
    switch (f) {
    case SILKIE_WEIGHTS_SAFETENSORS: return "safetensors";
    case SILKIE_WEIGHTS_TORCH_BIN: return "pytorch-bin";
    case SILKIE_WEIGHTS_GGUF: return "gguf";
    default: return "?";
    }
}

static const char *type_name(silkie_gguf_type t)
{
    static const char *const n[] = {"u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool",
                                    "string", "array", "u64", "i64", "f64"};
    return (unsigned)t < sizeof n / sizeof n[0] ? n[t] : "?";
}

/* Text from a file goes out escaped: JSON rules, which are also safe on a terminal. */
static void put_str(const char *s, size_t n)
{
    putchar('"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') printf("\\%c", c);
        else if (c < 0x20 || c == 0x7f) printf("\\u%04x", c);
        else putchar(c);
    }
    putchar('"');
}

static void put_scalar(silkie_gguf_type t, const uint8_t *p)
{
    uint64_t u = 0;
    switch (t) {
    case SILKIE_GGUF_U8: printf("%u", p[0]); break;
    case SILKIE_GGUF_I8: printf("%d", (int8_t)p[0]); break;
    case SILKIE_GGUF_U16: memcpy(&u, p, 2); printf("%" PRIu64, u); break;
    case SILKIE_GGUF_I16: { int16_t v; memcpy(&v, p, 2); printf("%d", v); break; }
    case SILKIE_GGUF_U32: memcpy(&u, p, 4); printf("%" PRIu64, u); break;
    case SILKIE_GGUF_I32: { int32_t v; memcpy(&v, p, 4); printf("%" PRId32, v); break; }
    case SILKIE_GGUF_F32: { float v; memcpy(&v, p, 4); printf("%.9g", (double)v); break; }
    case SILKIE_GGUF_BOOL: printf("%s", p[0] ? "true" : "false"); break;
    case SILKIE_GGUF_U64: memcpy(&u, p, 8); printf("%" PRIu64, u); break;
    case SILKIE_GGUF_I64: { int64_t v; memcpy(&v, p, 8); printf("%" PRId64, v); break; }
    case SILKIE_GGUF_F64: { double v; memcpy(&v, p, 8); printf("%.17g", v); break; }
    default: printf("null"); break;
    }
}

static size_t scalar_size(silkie_gguf_type t)
{
    static const size_t s[] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
    return (unsigned)t < sizeof s / sizeof s[0] ? s[t] : 0;
}

static void put_value(const silkie_gguf_kv *kv, bool json)
{
    if (kv->type == SILKIE_GGUF_STRING) {
        put_str((const char *)kv->data, (size_t)kv->n);
        return;
    }
    if (kv->type != SILKIE_GGUF_ARRAY) {
        uint8_t b[8] = {0};
        if (kv->type == SILKIE_GGUF_F32 || kv->type == SILKIE_GGUF_F64) {
            printf("%.9g", kv->v.f);
            return;
        }
        if (kv->type == SILKIE_GGUF_I8 || kv->type == SILKIE_GGUF_I16 ||
            kv->type == SILKIE_GGUF_I32 || kv->type == SILKIE_GGUF_I64) {
            printf("%" PRId64, kv->v.i);
            return;
        }
        memcpy(b, &kv->v.u, 8);
        put_scalar(kv->type == SILKIE_GGUF_BOOL ? SILKIE_GGUF_BOOL : SILKIE_GGUF_U64, b);
        return;
    }
    uint64_t shown = kv->n < ARRAY_SHOWN ? kv->n : ARRAY_SHOWN;
    printf(json ? "{\"type\":\"%s\",\"count\":%" PRIu64 ",\"first\":[" : "%s[%" PRIu64 "] [",
           type_name(kv->arr_type), kv->n);
    for (uint64_t i = 0; i < shown; i++) {
        if (i) printf(", ");
        if (kv->arr_type == SILKIE_GGUF_STRING) {
            const char *s;
            size_t len;
            if (silkie_gguf_arr_str(kv, i, &s, &len) == SILKIE_OK) put_str(s, len);
        } else {
            put_scalar(kv->arr_type, kv->data + i * scalar_size(kv->arr_type));
        }
    }
    printf(json ? "]}" : "%s]", json ? "" : (kv->n > shown ? ", ..." : ""));
}

static void put_shape(const silkie_weight *t)
{
    printf("[");
    for (uint32_t d = 0; d < t->n_dims; d++) printf("%s%" PRIu64, d ? ", " : "", t->shape[d]);
    printf("]");
}

static void print_text(const char *path, const silkie_weights *w)
{
    const silkie_gguf *g = silkie_weights_gguf(w);
    uint32_t n = silkie_weights_count(w);
    uint64_t total = 0;
    for (uint32_t i = 0; i < n; i++) total += silkie_weights_at(w, i)->nbytes;
    printf("%s: %s", path, format_name(silkie_weights_format_of(w)));
    if (g) printf(" v%u, alignment %u", silkie_gguf_version(g), silkie_gguf_alignment(g));
    printf(", %u tensors, %" PRIu64 " bytes\n", n, total);
    if (g) {
        printf("metadata (%" PRIu64 " keys):\n", silkie_gguf_n_kv(g));
        for (uint64_t i = 0; i < silkie_gguf_n_kv(g); i++) {
            const silkie_gguf_kv *kv = silkie_gguf_kv_at(g, i);
            printf("  %-44s %-7s ", kv->key, type_name(kv->type));
            put_value(kv, false);
            printf("\n");
        }
    }
    printf("tensors:\n");
    for (uint32_t i = 0; i < n; i++) {
        const silkie_weight *t = silkie_weights_at(w, i);
        printf("  %-56s %-5s ", t->name, silkie_dtype_name(t->dtype));
        put_shape(t);
        printf(" %zu\n", t->nbytes);
    }
}

static void print_json(const char *path, const silkie_weights *w)
{
    const silkie_gguf *g = silkie_weights_gguf(w);
    printf("{\"path\":");
    put_str(path, strlen(path));
    printf(",\"format\":\"%s\"", format_name(silkie_weights_format_of(w)));
    if (g) {
        printf(",\"version\":%u,\"alignment\":%u,\"metadata\":{", silkie_gguf_version(g),
               silkie_gguf_alignment(g));
        for (uint64_t i = 0; i < silkie_gguf_n_kv(g); i++) {
            const silkie_gguf_kv *kv = silkie_gguf_kv_at(g, i);
            if (i) printf(",");
            put_str(kv->key, strlen(kv->key));
            printf(":");
            put_value(kv, true);
        }
        printf("}");
    }
    printf(",\"tensors\":[");
    for (uint32_t i = 0; i < silkie_weights_count(w); i++) {
        const silkie_weight *t = silkie_weights_at(w, i);
        printf("%s{\"name\":", i ? "," : "");
        put_str(t->name, strlen(t->name));
        printf(",\"dtype\":\"%s\",\"shape\":", silkie_dtype_name(t->dtype));
        put_shape(t);
        printf(",\"bytes\":%zu}", t->nbytes);
    }
    printf("]}\n");
}

int main(int argc, char **argv)
{
    int json = 0;
    const silkie_opt t[] = {
        {"--json", SILKIE_OPT_FLAG, &json, NULL, "print one JSON object instead of text", NULL, 0,
         0, 0, NULL},
    };
    const silkie_cmd_spec spec = {
        "silkie-inspect", "FILE|DIR",
        "Lists what a model file or folder holds: the container format, every tensor (name, "
        "type, shape in PyTorch order, bytes) and, for GGUF, every metadata key. The file is "
        "validated completely first; a damaged one gives one error line and exit status 1.",
        t, sizeof t / sizeof t[0], 1, 1, NULL};
    const char *path = NULL;
    int rc = silkie_cli_parse(&spec, argc, argv, &path, NULL);
    if (rc != SILKIE_CLI_CONTINUE) return rc;
    struct stat sb;
    if (stat(path, &sb) != 0)
        return silkie_cli_usage_error(&spec, "cannot use '%s': %s", path, strerror(errno));
    silkie_weights *w = NULL;
    silkie_status st = silkie_weights_open(path, &w);
    if (st != SILKIE_OK) {
        fprintf(stderr, "silkie-inspect: %s (%s)\n", silkie_last_error(), silkie_status_name(st));
        return 1;
    }
    if (json) print_json(path, w);
    else print_text(path, w);
    silkie_weights_close(w);
    return 0;
}
