/* Public-API part of the harness: loading a model folder the way every end-to-end test does. */
#ifndef SILKIE_TEST_HARNESS_MODEL_H
#define SILKIE_TEST_HARNESS_MODEL_H

#include "harness.h"
#include "silkie/silkie.h"

/* silkie_model_load with the given storage types. Returns 0 with *out set, 77 when there is no
 * Vulkan device (1 under CI=true: a broken driver install must not pass as a skip), 1 when the
 * load failed (reported as a check failure). */
int sk_test_load_model(const char *path, silkie_dtype weight_type, silkie_dtype vision_type,
                       silkie_model **out);
/* Session params for reproducible answers: greedy, no top-k/top-p/penalty, the given cache. */
void sk_test_greedy_params(silkie_session_params *sp, silkie_dtype kv_type, uint32_t n_ctx);

#endif
