/* The self-test of a packed model file (docs/FIRMWARE.md, "Self-test vector"), run through
 * the public API on a Vulkan device: silkie-pack records it, silkie-verify repeats it. */
#ifndef SILKIE_SELFTEST_RUN_H
#define SILKIE_SELFTEST_RUN_H

#include "model/model.h"
#include "silkie/silkie.h"

typedef struct silkie_selftest_result {
    silkie_gguf_selftest out; /* the inputs it ran with, its outputs */
    float *logits;            /* all logits at the last prompt token (n_vocab); free() */
    uint32_t n_vocab;
    char device[256];         /* the device that ran it */
} silkie_selftest_result;

/* Loads the model file `path` on `device` (NULL = the best), asks in->prompt greedily (with the
 * synthetic image when in->image_width is set) and fills r. The status and silkie_last_error()
 * say what failed (load, device, image, dump). */
silkie_status silkie_selftest_run(const char *path, const char *device,
                                  const silkie_gguf_selftest *in, silkie_progress_fn progress,
                                  void *progress_user, silkie_selftest_result *r);
void silkie_selftest_result_release(silkie_selftest_result *r);

/* 1 when some Vulkan device the runtime can use is there (device NULL) or `device` names one
 * ("0", "1", ... or a name substring, as silkie_model_params.device); 0 with `why` filled. */
int silkie_selftest_device_ok(const char *device, char *why, size_t why_len);

#endif
