/* A PEFT LoRA adapter merged into a Hugging Face Qwen-VL weight set on the CPU (spec §9.1):
 * W' = W + s * B A for every LLM linear the adapter targets, so that the converter writes the
 * adapted model as a plain checkpoint (silkie-pack --merge-adapter). Pure CPU. */
#ifndef SILKIE_LORA_MERGE_H
#define SILKIE_LORA_MERGE_H

#include "model.h"

/* A weights view equal to `base` (Hugging Face names, not GGUF) except that every matrix the
 * adapter in adapter_dir targets is replaced by its merged f32 copy W + s * B A (each element's
 * products summed in double, rounded once to f32). `base` is borrowed by the result and must
 * outlive it; close the result with silkie_weights_close. *n_merged (may be NULL) receives the
 * number of merged matrices. The adapter must fit cfg and base: SILKIE_ERR_BAD_MODEL naming the
 * tensor for a missing, unexpected or misshapen adapter tensor (or base matrix), or when
 * target_modules matches no LLM linear; SILKIE_ERR_UNSUPPORTED when it matches a module outside
 * the LLM blocks (the runtime does not adapt those either), for a GGUF base, or for a PEFT
 * feature not run (see silkie_lora_config_parse). Peak host memory: 4 bytes per element of the
 * merged matrices. */
silkie_status silkie_lora_merge(const silkie_weights *base, const silkie_model_config *cfg,
                                const char *adapter_dir, silkie_weights **out,
                                uint32_t *n_merged);

#endif /* SILKIE_LORA_MERGE_H */
