/* Adapter folders written by the adapter tests. */
#include "adapter_fixture.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "harness.h"
#include "model/model.h"

static int write_bytes(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    int ok = fwrite(data, 1, n, f) == n;
    return (fclose(f) == 0) && ok;
}

int adapter_write_config(const char *dir, const char *targets_json, double dropout)
{
    char json[1024], p[2048];
    snprintf(json, sizeof json,
             "{\"peft_type\": \"LORA\", \"task_type\": \"CAUSAL_LM\", \"r\": 4, "
             "\"lora_alpha\": 8, \"lora_dropout\": %g, \"target_modules\": %s, "
             "\"bias\": \"none\", \"fan_in_fan_out\": false, \"modules_to_save\": null}",
             dropout, targets_json);
    snprintf(p, sizeof p, "%s/adapter_config.json", dir);
    return write_bytes(p, json, strlen(json));
}

int adapter_write_misfit(const char *dir)
{
    static float a[4 * 64], b[384 * 4];
    for (size_t i = 0; i < SK_ARRAY_LEN(a); i++) a[i] = 0.01f * (float)(i % 7);
    for (size_t i = 0; i < SK_ARRAY_LEN(b); i++) b[i] = 0.02f * (float)(i % 5);
    char names[4][96], p[2048];
    silkie_st_tensor t[4];
    for (uint32_t l = 0; l < 2; l++)
        for (uint32_t k = 0; k < 2; k++) {
            snprintf(names[2 * l + k], sizeof names[0],
                     "base_model.model.transformer.h.%u.attn.c_attn.lora_%c.weight", l,
                     k ? 'B' : 'A');
            t[2 * l + k] = (silkie_st_tensor){.name = names[2 * l + k],
                                              .dtype = SILKIE_DTYPE_F32,
                                              .n_dims = 2,
                                              .shape = {k ? 384 : 4, k ? 4 : 64},
                                              .data = k ? (const void *)b : (const void *)a};
        }
    mkdir(dir, 0700);
    snprintf(p, sizeof p, "%s/adapter_model.safetensors", dir);
    return silkie_safetensors_write(p, t, 4) == SILKIE_OK &&
           adapter_write_config(dir, "[\"c_attn\"]", 0.0);
}

int adapter_copy_tensors(const char *src_dir, const char *dir)
{
    char src[2048], dst[2048];
    snprintf(src, sizeof src, "%s/adapter_model.safetensors", src_dir);
    snprintf(dst, sizeof dst, "%s/adapter_model.safetensors", dir);
    mkdir(dir, 0700);
    size_t n = 0;
    void *bytes = sk_read_file(src, &n);
    int ok = bytes && write_bytes(dst, bytes, n);
    silkie_free(bytes);
    return ok;
}
