/* PEFT LoRA adapter configuration (spec §9.1): adapter_config.json parsed and written, and
 * PEFT's rules for which module an adapter targets and with what rank and alpha. Pure CPU. */
#ifndef SILKIE_LORA_PEFT_H
#define SILKIE_LORA_PEFT_H

#include "model.h"

#define SILKIE_LORA_MAX_TARGETS 16
#define SILKIE_LORA_MAX_PATTERNS 64

typedef struct silkie_lora_pattern {
    char key[128];    /* PEFT matches (.*\.)?key$ against the module name */
    double value;
} silkie_lora_pattern;

typedef struct silkie_lora_config {
    uint32_t r;
    double alpha;
    double dropout;
    bool use_rslora;
    /* target_modules: a list of names (a module matches when its name equals one or ends with
     * "." + it) or one regular expression matched against the whole name. */
    bool target_is_regex;
    char target_regex[512];
    char targets[SILKIE_LORA_MAX_TARGETS][64];
    uint32_t n_targets;
    int32_t layers[256];          /* layers_to_transform; n_layers == 0 means all */
    uint32_t n_layers;
    silkie_lora_pattern rank_pattern[SILKIE_LORA_MAX_PATTERNS];
    uint32_t n_rank_pattern;
    silkie_lora_pattern alpha_pattern[SILKIE_LORA_MAX_PATTERNS];
    uint32_t n_alpha_pattern;
    char base_model[256];
} silkie_lora_config;

/* Parses adapter_config.json text. SILKIE_ERR_BAD_FILE for malformed JSON, SILKIE_ERR_BAD_MODEL
 * naming the key for a bad value, SILKIE_ERR_UNSUPPORTED for a valid feature we do not run
 * (bias other than "none", modules_to_save, DoRA, fan_in_fan_out, another peft_type). */
silkie_status silkie_lora_config_parse(const char *json, size_t len, const char *what,
                                       silkie_lora_config *out);
/* Reads DIR/adapter_config.json. */
silkie_status silkie_lora_config_load(const char *dir, silkie_lora_config *out);
/* Writes the config with PEFT's keys (temporary file + rename). */
silkie_status silkie_lora_config_save(const silkie_lora_config *c, const char *path);
/* Targets from a command line: a comma-separated list of names, or, when it contains a regex
 * metacharacter other than '.', one regular expression. */
silkie_status silkie_lora_config_set_targets(silkie_lora_config *c, const char *spec);

/* Whether the module `name` (e.g. "transformer.h.3.mlp.w1") in layer `layer` (-1: not a layer
 * module) is adapted; *r and *alpha receive its rank and alpha (patterns applied). */
silkie_status silkie_lora_config_match(const silkie_lora_config *c, const char *name,
                                       int32_t layer, bool *adapted, uint32_t *r, double *alpha);
/* The first linear outside the LLM blocks (the LM head, the vision tower's and resampler's
 * linears, n_vision_blocks blocks) that c would adapt, into hit (cap bytes); "" when none.
 * Only the LLM blocks are adapted here (the vision tower is frozen and runs without LoRA). */
silkie_status silkie_lora_config_outside(const silkie_lora_config *c, uint32_t n_vision_blocks,
                                         char *hit, size_t cap);
/* SILKIE_ERR_UNSUPPORTED naming that module when there is one. */
silkie_status silkie_lora_config_check_llm_only(const silkie_lora_config *c,
                                                uint32_t n_vision_blocks);
/* The LoRA scale alpha / r (or alpha / sqrt(r) with rsLoRA). */
float silkie_lora_scale(const silkie_lora_config *c, uint32_t r, double alpha);

/* ---- the LLM linears an adapter may target (spec §9.1) ---------------------------------- */
typedef enum silkie_lora_target {
    SILKIE_LORA_C_ATTN = 0,      /* attn.c_attn   [3H, H] */
    SILKIE_LORA_ATTN_C_PROJ = 1, /* attn.c_proj   [H, H] */
    SILKIE_LORA_W1 = 2,          /* mlp.w1 (up)   [F, H] */
    SILKIE_LORA_W2 = 3,          /* mlp.w2 (gate) [F, H] */
    SILKIE_LORA_MLP_C_PROJ = 4,  /* mlp.c_proj    [H, F] */
    SILKIE_LORA_N_TARGETS = 5
} silkie_lora_target;

/* PEFT module name of target t of layer l ("transformer.h.3.attn.c_attn"). */
void silkie_lora_module_name(uint32_t layer, silkie_lora_target t, char *out, size_t cap);
/* PEFT tensor name of its A (b = 0) or B (b = 1):
 * "base_model.model.transformer.h.3.mlp.w1.lora_B.weight". */
void silkie_lora_tensor_name(uint32_t layer, silkie_lora_target t, int b, char *out, size_t cap);
/* in/out features of a target for cfg. */
void silkie_lora_target_dims(const silkie_model_config *cfg, silkie_lora_target t,
                             uint32_t *in, uint32_t *out);

/* Rank and scale of every LLM linear (index layer * SILKIE_LORA_N_TARGETS + target; r 0 = not
 * adapted) under c for cfg. SILKIE_ERR_BAD_MODEL when the targets match no LLM linear,
 * SILKIE_ERR_UNSUPPORTED when they match a linear outside the LLM blocks. */
typedef struct silkie_lora_plan_entry {
    uint32_t r;
    float scale;
} silkie_lora_plan_entry;
silkie_status silkie_lora_plan(const silkie_model_config *cfg, const silkie_lora_config *c,
                               silkie_lora_plan_entry *out);
/* SILKIE_ERR_BAD_MODEL naming the first tensor of an adapter file that no planned module
 * claims (a file with tensors for modules its config does not target, or another model's). */
silkie_status silkie_lora_check_claimed(const silkie_weights *adapter,
                                        const silkie_lora_plan_entry *plan, uint32_t n_layers);

#endif /* SILKIE_LORA_PEFT_H */
