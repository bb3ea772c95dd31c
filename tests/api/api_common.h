/* Shared helpers of the api tests: the golden tiny model, a greedy session, answers. */
#ifndef SILKIE_TEST_API_COMMON_H
#define SILKIE_TEST_API_COMMON_H

#include "harness.h"
#include "silkie/silkie.h"

#define API_MAX_IDS 64

/* Model folder of the golden tiny-a case; exits 77 when the shared reference folder lacks it. */
const char *api_model_dir(void);
/* "<case>/<name>" in a static buffer per call slot (0..3). */
const char *api_case_file(int slot, const char *name);
/* Loads the tiny model; exits 77 without a Vulkan device (1 under CI=true). */
silkie_model *api_load(silkie_dtype weight_type, uint32_t text_only, uint32_t max_layers);
/* Greedy session (temperature 0, F16 KV unless kv says otherwise); n_ctx 0 = default. */
silkie_session *api_session(silkie_model *m, uint32_t n_ctx, silkie_dtype kv);

typedef struct api_answer {
    silkie_status st;
    int32_t ids[API_MAX_IDS];
    uint32_t n;
} api_answer;
/* Asks with no stop tokens and at most max_tokens tokens; copies the answer's ids. */
api_answer api_ask(silkie_session *s, const char *question, int32_t max_tokens);
/* 1 when both answers succeeded with the same ids; reports otherwise. */
int api_same_answer(const char *what, const api_answer *a, const api_answer *b);

/* A fresh private directory under $TMPDIR (or /tmp); api_cleanup removes what the tests wrote. */
const char *api_tmp_dir(void);
const char *api_tmp_path(int slot, const char *name);
void api_cleanup(void);
int api_write_file(const char *path, const void *data, size_t n);

#endif
