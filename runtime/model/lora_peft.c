/* adapter_config.json (PEFT LoRA) and PEFT's target, rank and alpha rules. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <cJSON.h>
#include <math.h>
#include <pcre2.h>
#include <stdio.h>

#include "base/outfile.h"
#include "files_int.h"
#include "lora_peft.h"

static silkie_status copy_str(const char *what, const char *key, const char *s, char *out,
                              size_t cap)
{
    if (strlen(s) >= cap)
        return SK_FAIL(SILKIE_ERR_BAD_MODEL, "%s: '%s' is longer than %zu bytes", what, key,
                       cap - 1);
    memcpy(out, s, strlen(s) + 1);
    return SILKIE_OK;
}

static silkie_status parse_patterns(const char *what, const cJSON *root, const char *key,
                                    silkie_lora_pattern *out, uint32_t *n)
{
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(root, key);
    *n = 0;
    if (!o || cJSON_IsNull(o)) return SILKIE_OK;
    if (!cJSON_IsObject(o))
        return SK_FAIL(SILKIE_ERR_BAD_MODEL, "%s: '%s' is not an object", what, key);
    const cJSON *it;
    cJSON_ArrayForEach(it, o)
    {
        if (*n == SILKIE_LORA_MAX_PATTERNS)
            return SK_FAIL(SILKIE_ERR_UNSUPPORTED, "%s: '%s' has more than %d entries", what, key,
                           SILKIE_LORA_MAX_PATTERNS);
        if (!cJSON_IsNumber(it) || !(it->valuedouble > 0) || !isfinite(it->valuedouble))
            return SK_FAIL(SILKIE_ERR_BAD_MODEL, "%s: '%s.%s' is not a positive number", what, key,
                           it->string);
        SK_CHECK(copy_str(what, key, it->string, out[*n].key, sizeof out[*n].key));
        out[*n].value = it->valuedouble;
        (*n)++;
    }
    return SILKIE_OK;
}

static bool is_layer_index(const cJSON *j)
{
    return cJSON_IsNumber(j) && j->valuedouble >= 0 && j->valuedouble <= 1e6 &&
           j->valuedouble == floor(j->valuedouble);
}

static silkie_status parse_root(const cJSON *root, const char *what, silkie_lora_config *c)
{
    if (!cJSON_IsObject(root))
        return SK_FAIL(SILKIE_ERR_BAD_FILE, "%s: not a JSON object", what);
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(root, "peft_type");
    if (j && !cJSON_IsNull(j) && (!cJSON_IsString(j) || strcmp(j->valuestring, "LORA")))
        return SK_FAIL(SILKIE_ERR_UNSUPPORTED, "%s: peft_type is not \"LORA\"", what);
    j = cJSON_GetObjectItemCaseSensitive(root, "r");
    if (!cJSON_IsNumber(j) || j->valuedouble < 1 || j->valuedouble > 4096 ||
        j->valuedouble != floor(j->valuedouble))
        return SK_FAIL(SILKIE_ERR_BAD_MODEL, "%s: 'r' must be an integer in [1, 4096]", what);
    c->r = (uint32_t)j->valuedouble;
    j = cJSON_GetObjectItemCaseSensitive(root, "lora_alpha");
    c->alpha = c->r;
    if (j && !cJSON_IsNull(j)) {
        if (!cJSON_IsNumber(j) || !(j->valuedouble > 0) || !isfinite(j->valuedouble))
            return SK_FAIL(SILKIE_ERR_BAD_MODEL, "%s: 'lora_alpha' must be positive", what);
        c->alpha = j->valuedouble;
    }
    j = cJSON_GetObjectItemCaseSensitive(root, "lora_dropout");
    if (j && !cJSON_IsNull(j)) {
        if (!cJSON_IsNumber(j) || !(j->valuedouble >= 0 && j->valuedouble < 1))
            return SK_FAIL(SILKIE_ERR_BAD_MODEL, "%s: 'lora_dropout' must be in [0, 1)", what);
        c->dropout = j->valuedouble;
    }
    j = cJSON_GetObjectItemCaseSensitive(root, "use_rslora");
    c->use_rslora = cJSON_IsTrue(j);
    j = cJSON_GetObjectItemCaseSensitive(root, "bias");
    if (j && !cJSON_IsNull(j) && (!cJSON_IsString(j) || strcmp(j->valuestring, "none")))
        return SK_FAIL(SILKIE_ERR_UNSUPPORTED, "%s: only bias \"none\" is supported", what);
    j = cJSON_GetObjectItemCaseSensitive(root, "modules_to_save");
    if (j && !cJSON_IsNull(j) && !(cJSON_IsArray(j) && cJSON_GetArraySize(j) == 0))
        return SK_FAIL(SILKIE_ERR_UNSUPPORTED, "%s: modules_to_save is not supported", what);
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(root, "use_dora")))
        return SK_FAIL(SILKIE_ERR_UNSUPPORTED, "%s: DoRA adapters are not supported", what);
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(root, "fan_in_fan_out")))
        return SK_FAIL(SILKIE_ERR_UNSUPPORTED, "%s: fan_in_fan_out is not supported", what);

    j = cJSON_GetObjectItemCaseSensitive(root, "target_modules");
    if (cJSON_IsString(j)) {
        c->target_is_regex = true;
        SK_CHECK(copy_str(what, "target_modules", j->valuestring, c->target_regex,
                          sizeof c->target_regex));
    } else if (cJSON_IsArray(j) && cJSON_GetArraySize(j) > 0) {
        const cJSON *it;
        cJSON_ArrayForEach(it, j)
        {
            if (!cJSON_IsString(it) || !it->valuestring[0])
                return SK_FAIL(SILKIE_ERR_BAD_MODEL, "%s: target_modules holds a non-name", what);
            if (c->n_targets == SILKIE_LORA_MAX_TARGETS)
                return SK_FAIL(SILKIE_ERR_UNSUPPORTED, "%s: more than %d target_modules", what,
                               SILKIE_LORA_MAX_TARGETS);
            SK_CHECK(copy_str(what, "target_modules", it->valuestring, c->targets[c->n_targets],
                              sizeof c->targets[0]));
            c->n_targets++;
        }
    } else {
        return SK_FAIL(SILKIE_ERR_BAD_MODEL,
                       "%s: 'target_modules' must be a non-empty list or a regex string", what);
    }
    j = cJSON_GetObjectItemCaseSensitive(root, "layers_to_transform");
    if (cJSON_IsNumber(j)) {
        if (!is_layer_index(j))
            return SK_FAIL(SILKIE_ERR_BAD_MODEL, "%s: bad layers_to_transform", what);
        c->layers[0] = (int32_t)j->valuedouble;
        c->n_layers = 1;
    } else if (cJSON_IsArray(j)) {
        const cJSON *it;
        cJSON_ArrayForEach(it, j)
        {
            if (!is_layer_index(it) || c->n_layers == SK_ARRAY_LEN(c->layers))
                return SK_FAIL(SILKIE_ERR_BAD_MODEL, "%s: bad layers_to_transform", what);
            c->layers[c->n_layers++] = (int32_t)it->valuedouble;
        }
    } else if (j && !cJSON_IsNull(j)) {
        return SK_FAIL(SILKIE_ERR_BAD_MODEL, "%s: bad layers_to_transform", what);
    }
    SK_CHECK(parse_patterns(what, root, "rank_pattern", c->rank_pattern, &c->n_rank_pattern));
    SK_CHECK(parse_patterns(what, root, "alpha_pattern", c->alpha_pattern, &c->n_alpha_pattern));
    for (uint32_t i = 0; i < c->n_rank_pattern; i++)
        if (c->rank_pattern[i].value != floor(c->rank_pattern[i].value) ||
            c->rank_pattern[i].value > 4096)
            return SK_FAIL(SILKIE_ERR_BAD_MODEL, "%s: rank_pattern '%s' is not a rank", what,
                           c->rank_pattern[i].key);
    j = cJSON_GetObjectItemCaseSensitive(root, "base_model_name_or_path");
    if (cJSON_IsString(j))
        SK_CHECK(copy_str(what, "base_model_name_or_path", j->valuestring, c->base_model,
                          sizeof c->base_model));
    return SILKIE_OK;
}

silkie_status silkie_lora_config_parse(const char *json, size_t len, const char *what,
                                       silkie_lora_config *out)
{
    memset(out, 0, sizeof *out);
    cJSON *root = cJSON_ParseWithLength(json, len);
    if (!root) return SK_FAIL(SILKIE_ERR_BAD_FILE, "%s: malformed JSON", what);
    silkie_status st = parse_root(root, what, out);
    cJSON_Delete(root);
    if (st != SILKIE_OK) memset(out, 0, sizeof *out);
    return st;
}

silkie_status silkie_lora_config_load(const char *dir, silkie_lora_config *out)
{
    char *path = sk_path_join(dir, "adapter_config.json");
    if (!path) return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "adapter config path");
    char *text = NULL;
    size_t len = 0;
    silkie_status st = sk_read_text(path, 1u << 20, &text, &len);
    if (st == SILKIE_OK) st = silkie_lora_config_parse(text, len, path, out);
    silkie_free(text);
    silkie_free(path);
    return st;
}

/* Python's re.fullmatch (whole) or re.match of pattern + "$" (anchored start), through PCRE2. */
static silkie_status regex_match(const char *pattern, const char *subject, bool whole,
                                 bool *matched)
{
    int err = 0;
    PCRE2_SIZE erroff = 0;
    uint32_t opts = PCRE2_UTF | PCRE2_ANCHORED | (whole ? PCRE2_ENDANCHORED : 0);
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, opts, &err,
                                   &erroff, NULL);
    if (!re) {
        PCRE2_UCHAR msg[128];
        pcre2_get_error_message(err, msg, sizeof msg);
        return SK_FAIL(SILKIE_ERR_BAD_MODEL, "adapter: pattern '%s' at %zu: %s", pattern,
                       (size_t)erroff, (const char *)msg);
    }
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
    if (!md) {
        pcre2_code_free(re);
        return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "adapter: regex match data");
    }
    int rc = pcre2_match(re, (PCRE2_SPTR)subject, strlen(subject), 0, 0, md, NULL);
    pcre2_match_data_free(md);
    pcre2_code_free(re);
    *matched = rc >= 0;
    return SILKIE_OK;
}

static bool ends_with_module(const char *name, const char *target)
{
    size_t n = strlen(name), t = strlen(target);
    if (n == t) return !strcmp(name, target);
    return n > t && name[n - t - 1] == '.' && !strcmp(name + n - t, target);
}

/* PEFT: the first pattern key for which (.*\.)?key$ matches the name from its start. */
static silkie_status pattern_value(const silkie_lora_pattern *p, uint32_t n, const char *name,
                                   double *value)
{
    for (uint32_t i = 0; i < n; i++) {
        char pat[160];
        snprintf(pat, sizeof pat, "(.*\\.)?%s$", p[i].key);
        bool m = false;
        SK_CHECK(regex_match(pat, name, false, &m));
        if (m) {
            *value = p[i].value;
            return SILKIE_OK;
        }
    }
    return SILKIE_OK;
}

silkie_status silkie_lora_config_match(const silkie_lora_config *c, const char *name,
                                       int32_t layer, bool *adapted, uint32_t *r, double *alpha)
{
    *adapted = false;
    if (c->target_is_regex) {
        SK_CHECK(regex_match(c->target_regex, name, true, adapted));
    } else {
        for (uint32_t i = 0; i < c->n_targets && !*adapted; i++)
            *adapted = ends_with_module(name, c->targets[i]);
    }
    if (*adapted && c->n_layers) {
        bool in = false;
        for (uint32_t i = 0; i < c->n_layers; i++) in |= layer >= 0 && c->layers[i] == layer;
        *adapted = in;
    }
    if (!*adapted) return SILKIE_OK;
    double rv = c->r;
    *alpha = c->alpha;
    SK_CHECK(pattern_value(c->rank_pattern, c->n_rank_pattern, name, &rv));
    SK_CHECK(pattern_value(c->alpha_pattern, c->n_alpha_pattern, name, alpha));
    *r = (uint32_t)rv;
    return SILKIE_OK;
}

silkie_status silkie_lora_config_outside(const silkie_lora_config *c, uint32_t n_vision_blocks,
                                         char *hit, size_t cap)
{
    static const char *const fixed[] = {"lm_head", "transformer.visual.conv1",
                                        "transformer.visual.attn_pool.kv_proj",
                                        "transformer.visual.attn_pool.attn.out_proj"};
    static const char *const per_block[] = {"attn.out_proj", "mlp.c_fc", "mlp.c_proj"};
    const size_t nf = SK_ARRAY_LEN(fixed);
    hit[0] = 0;
    for (size_t i = 0; i < nf + (size_t)n_vision_blocks * 3; i++) {
        char name[128];
        if (i < nf)
            snprintf(name, sizeof name, "%s", fixed[i]);
        else
            snprintf(name, sizeof name, "transformer.visual.transformer.resblocks.%zu.%s",
                     (i - nf) / 3, per_block[(i - nf) % 3]);
        bool m = false;
        uint32_t r;
        double alpha;
        SK_CHECK(silkie_lora_config_match(c, name, -1, &m, &r, &alpha));
        if (m) {
            snprintf(hit, cap, "%s", name);
            return SILKIE_OK;
        }
    }
    return SILKIE_OK;
}

silkie_status silkie_lora_config_check_llm_only(const silkie_lora_config *c,
                                                uint32_t n_vision_blocks)
{
    char hit[128];
    SK_CHECK(silkie_lora_config_outside(c, n_vision_blocks, hit, sizeof hit));
    if (hit[0])
        return SK_FAIL(SILKIE_ERR_UNSUPPORTED,
                       "adapter: target_modules matches '%s'; only the LLM blocks' linears "
                       "(c_attn, attn.c_proj, w1, w2, mlp.c_proj) can be adapted", hit);
    return SILKIE_OK;
}

float silkie_lora_scale(const silkie_lora_config *c, uint32_t r, double alpha)
{
    return (float)(c->use_rslora ? alpha / sqrt((double)r) : alpha / r);
}

silkie_status silkie_lora_config_set_targets(silkie_lora_config *c, const char *spec)
{
    if (!spec || !spec[0]) return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "lora targets: empty");
    c->n_targets = 0;
    c->target_is_regex = strpbrk(spec, "\\^$*+?()[]{}|") != NULL;
    if (c->target_is_regex)
        return copy_str("lora targets", "targets", spec, c->target_regex, sizeof c->target_regex);
    for (const char *p = spec; *p;) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n == 0 || n >= sizeof c->targets[0] || c->n_targets == SILKIE_LORA_MAX_TARGETS)
            return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "lora targets: bad list '%s'", spec);
        memcpy(c->targets[c->n_targets], p, n);
        c->targets[c->n_targets++][n] = 0;
        p += n + (e ? 1 : 0);
    }
    return SILKIE_OK;
}

static cJSON *patterns_json(const silkie_lora_pattern *p, uint32_t n)
{
    cJSON *o = cJSON_CreateObject();
    for (uint32_t i = 0; o && i < n; i++) cJSON_AddNumberToObject(o, p[i].key, p[i].value);
    return o;
}

silkie_status silkie_lora_config_save(const silkie_lora_config *c, const char *path)
{
    cJSON *o = cJSON_CreateObject();
    if (!o) return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "adapter config");
    cJSON_AddNullToObject(o, "auto_mapping");
    cJSON_AddStringToObject(o, "base_model_name_or_path", c->base_model);
    cJSON_AddStringToObject(o, "bias", "none");
    cJSON_AddBoolToObject(o, "fan_in_fan_out", 0);
    cJSON_AddBoolToObject(o, "inference_mode", 1);
    cJSON_AddBoolToObject(o, "init_lora_weights", 1);
    cJSON_AddNullToObject(o, "layers_pattern");
    if (c->n_layers) {
        cJSON *a = cJSON_AddArrayToObject(o, "layers_to_transform");
        for (uint32_t i = 0; a && i < c->n_layers; i++)
            cJSON_AddItemToArray(a, cJSON_CreateNumber(c->layers[i]));
    } else {
        cJSON_AddNullToObject(o, "layers_to_transform");
    }
    cJSON_AddNumberToObject(o, "lora_alpha", c->alpha);
    cJSON_AddNumberToObject(o, "lora_dropout", c->dropout);
    cJSON_AddNullToObject(o, "modules_to_save");
    cJSON_AddStringToObject(o, "peft_type", "LORA");
    cJSON_AddNumberToObject(o, "r", c->r);
    cJSON_AddItemToObject(o, "rank_pattern", patterns_json(c->rank_pattern, c->n_rank_pattern));
    cJSON_AddItemToObject(o, "alpha_pattern", patterns_json(c->alpha_pattern, c->n_alpha_pattern));
    cJSON_AddNullToObject(o, "revision");
    if (c->target_is_regex) {
        cJSON_AddStringToObject(o, "target_modules", c->target_regex);
    } else {
        cJSON *a = cJSON_AddArrayToObject(o, "target_modules");
        for (uint32_t i = 0; a && i < c->n_targets; i++)
            cJSON_AddItemToArray(a, cJSON_CreateString(c->targets[i]));
    }
    cJSON_AddStringToObject(o, "task_type", "CAUSAL_LM");
    cJSON_AddBoolToObject(o, "use_rslora", c->use_rslora);
    char *text = cJSON_Print(o);
    cJSON_Delete(o);
    if (!text) return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "adapter config text");
    const void *parts[2] = {text, "\n"};
    const size_t sizes[2] = {strlen(text), 1};
    silkie_status st = silkie_outfile_write_parts(path, parts, sizes, 2);
    cJSON_free(text);
    return st;
}

static const char *const k_target_suffix[SILKIE_LORA_N_TARGETS] = {
    "attn.c_attn", "attn.c_proj", "mlp.w1", "mlp.w2", "mlp.c_proj"};

void silkie_lora_module_name(uint32_t layer, silkie_lora_target t, char *out, size_t cap)
{
    snprintf(out, cap, "transformer.h.%u.%s", layer, k_target_suffix[t]);
}

void silkie_lora_tensor_name(uint32_t layer, silkie_lora_target t, int b, char *out, size_t cap)
{
    snprintf(out, cap, "base_model.model.transformer.h.%u.%s.lora_%c.weight", layer,
             k_target_suffix[t], b ? 'B' : 'A');
}

void silkie_lora_target_dims(const silkie_model_config *cfg, silkie_lora_target t, uint32_t *in,
                             uint32_t *out)
{
    const uint32_t H = cfg->hidden_size, F = cfg->mlp_width;
    switch (t) {
    case SILKIE_LORA_C_ATTN: *in = H, *out = 3 * H; break;
    case SILKIE_LORA_ATTN_C_PROJ: *in = H, *out = H; break;
    case SILKIE_LORA_MLP_C_PROJ: *in = F, *out = H; break;
    default: *in = H, *out = F; break;
    }
}

silkie_status silkie_lora_plan(const silkie_model_config *cfg, const silkie_lora_config *c,
                               silkie_lora_plan_entry *out)
{
    uint32_t n = 0;
    for (uint32_t l = 0; l < cfg->n_layers; l++)
        for (uint32_t t = 0; t < SILKIE_LORA_N_TARGETS; t++) {
            char name[96];
            silkie_lora_module_name(l, (silkie_lora_target)t, name, sizeof name);
            bool hit = false;
            uint32_t r = 0;
            double alpha = 0;
            SK_CHECK(silkie_lora_config_match(c, name, (int32_t)l, &hit, &r, &alpha));
            silkie_lora_plan_entry *e = &out[l * SILKIE_LORA_N_TARGETS + t];
            *e = (silkie_lora_plan_entry){0};
            if (!hit || !r) continue;
            *e = (silkie_lora_plan_entry){.r = r, .scale = silkie_lora_scale(c, r, alpha)};
            n++;
        }
    if (n == 0)
        return SK_FAIL(SILKIE_ERR_BAD_MODEL, "adapter: target_modules matches no module of the "
                                             "model (e.g. transformer.h.0.attn.c_attn)");
    return silkie_lora_config_check_llm_only(c, cfg->visual.layers);
}

silkie_status silkie_lora_check_claimed(const silkie_weights *adapter,
                                        const silkie_lora_plan_entry *plan, uint32_t n_layers)
{
    for (uint32_t i = 0; i < silkie_weights_count(adapter); i++) {
        const char *n = silkie_weights_at(adapter, i)->name;
        bool known = false;
        for (uint32_t k = 0; k < n_layers * SILKIE_LORA_N_TARGETS && !known; k++) {
            if (!plan[k].r) continue;
            for (int b = 0; b < 2 && !known; b++) {
                char name[192];
                silkie_lora_tensor_name(k / SILKIE_LORA_N_TARGETS,
                                        (silkie_lora_target)(k % SILKIE_LORA_N_TARGETS), b, name,
                                        sizeof name);
                known = !strcmp(name, n);
            }
        }
        if (!known)
            return SK_FAIL(SILKIE_ERR_BAD_MODEL,
                           "adapter: tensor '%s' belongs to no module the config targets for "
                           "this model", n);
    }
    return SILKIE_OK;
}
