/* A PEFT adapter saved as adapter_model.bin (torch.save, PEFT 0.5's default) trains and
 * evaluates exactly like the same adapter as adapter_model.safetensors:
 *
 *   test_adapter_bin SILKIE_EXE CASE_DIR
 *
 * The .bin is written from the case's lora/ tensors by the test's torch.save writer; both
 * folders go through `silkie train dpo --steps 0 --dump` and the dumps must be byte-identical. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "model/model.h"
#include "torch_save_writer.h"

static int copy_file(const char *from, const char *to)
{
    size_t n = 0;
    char *d = sk_read_file(from, &n);
    FILE *f = d ? fopen(to, "wb") : NULL;
    int ok = f && fwrite(d, 1, n, f) == n;
    if (f) ok = fclose(f) == 0 && ok;
    silkie_free(d);
    return ok;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s SILKIE_EXE CASE_DIR\n", argv[0]);
        return 2;
    }
    const char *exe = argv[1], *cs = argv[2];
    char lora[1024], tmp[] = "/tmp/silkie-adapter-bin-XXXXXX", path[1200], pairs[1200];
    snprintf(lora, sizeof lora, "%s/lora", cs);
    SK_TEST_CHECK(mkdtemp(tmp) != NULL, "mkdtemp");
    silkie_weights *w = NULL;
    snprintf(path, sizeof path, "%s/adapter_model.safetensors", lora);
    SK_TEST_OK(silkie_weights_open(path, &w));
    if (!w) return sk_test_result("test_adapter_bin");
    uint32_t n = silkie_weights_count(w);
    tsw_tensor *t = calloc(n, sizeof *t);
    tsw_storage *s = calloc(n, sizeof *s);
    for (uint32_t i = 0; t && s && i < n; i++) {
        const silkie_weight *x = silkie_weights_at(w, i);
        s[i] = (tsw_storage){.dtype = x->dtype, .data = x->data,
                             .numel = x->nbytes / silkie_dtype_block_bytes(x->dtype)};
        t[i] = (tsw_tensor){.name = x->name, .storage = i, .n_dims = x->n_dims};
        int64_t stride = 1;
        for (uint32_t d = x->n_dims; d-- > 0;) {
            t[i].shape[d] = x->shape[d];
            t[i].stride[d] = stride;
            stride *= (int64_t)x->shape[d];
        }
    }
    char bin_dir[256];
    snprintf(bin_dir, sizeof bin_dir, "%s/bin", tmp);
    mkdir(bin_dir, 0755);
    snprintf(path, sizeof path, "%s/adapter_model.bin", bin_dir);
    SK_TEST_CHECK(t && s && tsw_save(path, "adapter_model", t, n, s, n, NULL) == 0, "torch.save");
    char cfg_from[1200], cfg_to[1300];
    snprintf(cfg_from, sizeof cfg_from, "%s/adapter_config.json", lora);
    snprintf(cfg_to, sizeof cfg_to, "%s/adapter_config.json", bin_dir);
    SK_TEST_CHECK(copy_file(cfg_from, cfg_to), "config copy");
    silkie_weights_close(w);
    free(t);
    free(s);

    snprintf(pairs, sizeof pairs, "%s/pairs.jsonl", tmp);
    FILE *f = fopen(pairs, "w");
    if (f) {
        fputs("{\"images\": [], \"prompt\": \"Name a colour.\", \"chosen\": \"Blue.\", "
              "\"rejected\": \"A dog.\"}\n", f);
        fclose(f);
    }
    char model[1200], d1[1300], d2[1300];
    snprintf(model, sizeof model, "%s/model", cs);
    snprintf(d1, sizeof d1, "%s/st.safetensors", tmp);
    snprintf(d2, sizeof d2, "%s/bin.safetensors", tmp);
    char *a1[] = {(char *)exe, "train", "dpo", "--model", model, "--init-adapter", lora,
                  "--data", pairs, "--weights", "f32", "--steps", "0", "--dump", d1, NULL};
    SK_TEST_CHECK(sk_run(a1, NULL) == 0, "safetensors adapter");
    a1[6] = bin_dir;
    a1[14] = d2;
    SK_TEST_CHECK(sk_run(a1, NULL) == 0, "adapter_model.bin");
    size_t n1 = 0, n2 = 0;
    char *x1 = sk_read_file(d1, &n1), *x2 = sk_read_file(d2, &n2);
    SK_TEST_CHECK(x1 && x2 && n1 == n2 && !memcmp(x1, x2, n1),
                  "the .bin adapter evaluates differently from the .safetensors one");
    silkie_free(x1);
    silkie_free(x2);
    unlink(d1);
    unlink(d2);
    unlink(pairs);
    unlink(cfg_to);
    unlink(path);
    rmdir(bin_dir);
    rmdir(tmp);
    return sk_test_result("test_adapter_bin");
}
