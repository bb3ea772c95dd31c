/* The self-test run shared by silkie-pack and silkie-verify (selftest_run.h). The prompt's
 * logits come from the session's verification dump, read back with the model-files library. */
#include "selftest_run.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* The k largest of x, largest first; equal values by the lower id (a stable order). */
static void top_k(const float *x, uint32_t n, uint32_t k, int32_t *ids, float *vals)
{
    uint32_t m = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (m == k && !(x[i] > vals[k - 1])) continue;
        uint32_t j = m < k ? m++ : k - 1;
        while (j > 0 && x[i] > vals[j - 1]) {
            vals[j] = vals[j - 1];
            ids[j] = ids[j - 1];
            j--;
        }
        vals[j] = x[i];
        ids[j] = (int32_t)i;
    }
}

static silkie_status read_dump(const char *dump, silkie_selftest_result *r)
{
    silkie_weights *w = NULL;
    SK_CHECK(silkie_weights_open(dump, &w));
    const silkie_weight *l = silkie_weights_find(w, "prompt_logits_last");
    const silkie_weight *g = silkie_weights_find(w, "greedy_ids");
    const silkie_weight *ids = silkie_weights_find(w, "input_ids");
    silkie_status st = SILKIE_OK;
    if (!l || l->dtype != SILKIE_DTYPE_F32 || !g || g->dtype != SILKIE_DTYPE_I64 ||
        g->nbytes != SILKIE_SELFTEST_TOKENS * 8 || !ids)
        st = SK_FAIL(SILKIE_ERR_INTERNAL, "self-test: the dump lacks the logits or the %u "
                     "greedy tokens", SILKIE_SELFTEST_TOKENS);
    if (st == SILKIE_OK) {
        r->n_vocab = (uint32_t)(l->nbytes / 4);
        r->logits = malloc(l->nbytes ? l->nbytes : 4);
        if (!r->logits) st = SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "self-test: logits");
    }
    if (st == SILKIE_OK && r->n_vocab < SILKIE_SELFTEST_TOP_K)
        st = SK_FAIL(SILKIE_ERR_BAD_MODEL, "self-test: %u logits", r->n_vocab);
    if (st == SILKIE_OK) {
        memcpy(r->logits, l->data, l->nbytes);
        top_k(r->logits, r->n_vocab, SILKIE_SELFTEST_TOP_K, r->out.top_ids, r->out.top_logits);
        for (uint32_t i = 0; i < SILKIE_SELFTEST_TOKENS; i++) {
            int64_t t;
            memcpy(&t, (const uint8_t *)g->data + 8 * i, 8);
            r->out.tokens[i] = (int32_t)t;
        }
        r->out.n_prompt = (uint32_t)(ids->nbytes / 8);
    }
    silkie_weights_close(w);
    return st;
}

static silkie_status ask(silkie_model *m, const silkie_gguf_selftest *in, const char *dump)
{
    silkie_session_params sp;
    silkie_session_params_init(&sp);
    /* Plain greedy decoding: no penalty or filter from generation_config.json takes part. */
    sp.temperature = 0;
    sp.top_k = 0;
    sp.top_p = 1;
    sp.repetition_penalty = 1;
    sp.kv_type = in->kv_type;
    sp.system = in->system;
    sp.max_new_tokens = SILKIE_SELFTEST_TOKENS;
    silkie_session *s = NULL;
    SK_CHECK(silkie_session_create(m, &sp, &s));
    silkie_status st = SILKIE_OK;
    if (in->image_width) {
        size_t n = (size_t)in->image_width * in->image_height * 3;
        uint8_t *rgb = malloc(n);
        if (!rgb) st = SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "self-test: image");
        if (st == SILKIE_OK) {
            silkie_selftest_image(rgb, in->image_width, in->image_height);
            st = silkie_session_add_image_rgb(s, rgb, in->image_width, in->image_height, 0,
                                              "selftest");
        }
        free(rgb);
    }
    silkie_ask_params ap;
    silkie_ask_params_init(&ap);
    ap.max_new_tokens = SILKIE_SELFTEST_TOKENS;
    ap.no_stop = 1;
    ap.dump_path = dump;
    if (st == SILKIE_OK) st = silkie_session_ask(s, in->prompt, &ap);
    silkie_session_destroy(s);
    return st;
}

silkie_status silkie_selftest_run(const char *path, const char *device,
                                  const silkie_gguf_selftest *in, silkie_progress_fn progress,
                                  void *progress_user, silkie_selftest_result *r)
{
    memset(r, 0, sizeof *r);
    r->out = *in;
    const char *t = getenv("TMPDIR");
    char dir[4096], dump[4200];
    snprintf(dir, sizeof dir, "%s/silkie-selftest-XXXXXX", t && t[0] ? t : "/tmp");
    if (!mkdtemp(dir))
        return SK_FAIL(SILKIE_ERR_IO, "self-test: cannot create a folder like %s", dir);
    snprintf(dump, sizeof dump, "%s/dump.safetensors", dir);
    silkie_model_params mp;
    silkie_model_params_init(&mp);
    mp.device = device;
    mp.progress = progress;
    mp.progress_user = progress_user;
    silkie_model *m = NULL;
    silkie_status st = silkie_model_load(path, &mp, &m);
    if (st == SILKIE_OK) {
        snprintf(r->device, sizeof r->device, "%s", silkie_model_device_name(m));
        st = ask(m, in, dump);
    }
    silkie_model_destroy(m);
    if (st == SILKIE_OK) st = read_dump(dump, r);
    remove(dump);
    rmdir(dir);
    return st;
}

void silkie_selftest_result_release(silkie_selftest_result *r)
{
    free(r->logits);
    r->logits = NULL;
}

int silkie_selftest_device_ok(const char *device, char *why, size_t why_len)
{
    silkie_device_info info[16];
    uint32_t n = 0;
    if (silkie_devices_list(info, 16, &n, NULL) != SILKIE_OK) {
        snprintf(why, why_len, "%s", silkie_last_error());
        return 0;
    }
    char *end = NULL;
    long idx = device ? strtol(device, &end, 10) : -1;
    bool by_index = device && end && end != device && *end == 0;
    for (uint32_t i = 0; i < n && i < 16; i++) {
        if (!info[i].usable) continue;
        if (!device || (by_index && (long)info[i].index == idx) ||
            (!by_index && strcasestr(info[i].name, device)))
            return 1;
    }
    snprintf(why, why_len, "%s", device ? "no usable Vulkan device matches it"
                                        : "no usable Vulkan device");
    return 0;
}
