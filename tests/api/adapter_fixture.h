/* Adapter folders written by the adapter tests: PEFT configs and deliberately misfit tensors. */
#ifndef SILKIE_TEST_ADAPTER_FIXTURE_H
#define SILKIE_TEST_ADAPTER_FIXTURE_H

/* The tensor a misfit adapter gets wrong, as runtime and packer must name it. */
#define ADAPTER_MISFIT_TENSOR "base_model.model.transformer.h.0.attn.c_attn.lora_A.weight"

/* dir/adapter_config.json: r 4, alpha 8, the given target_modules (JSON text) and dropout. */
int adapter_write_config(const char *dir, const char *targets_json, double dropout);
/* Creates dir holding an adapter for a model of hidden size 64 (c_attn A is [4, 64]; the golden
 * model's is [4, 128]). 1 on success. */
int adapter_write_misfit(const char *dir);
/* Creates dir with a copy of src_dir's adapter_model.safetensors. 1 on success. */
int adapter_copy_tensors(const char *src_dir, const char *dir);

#endif
