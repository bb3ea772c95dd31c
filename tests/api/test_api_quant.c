/* silkie_model_load with quantized LLM weights (q8_0 or q4_0, the argument) on the golden tiny
 * model: the model loads, is smaller than its f16 load, and answers the golden question with
 * valid tokens; with q8_0 the first greedy token is still the reference's (its top-2 margin is
 * 0.19, far above q8_0's logit error). */
#include <string.h>

#include "api_common.h"

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "q8_0";
    silkie_dtype wt = !strcmp(mode, "q4_0") ? SILKIE_DTYPE_Q4_0 : SILKIE_DTYPE_Q8_0;
    api_model_dir();
    silkie_model *f16 = api_load(SILKIE_DTYPE_F16, 1, 0);
    silkie_model *q = api_load(wt, 0, 0);
    uint64_t bf = silkie_model_weight_bytes(f16), bq = silkie_model_weight_bytes(q);
    /* The vocabulary matrices dominate: q8_0 stores 34 bytes and q4_0 18 bytes per 32 weights
     * against 64 for f16 (plus a small f16 vision tower in q). */
    double ratio = (double)bq / (double)bf;
    printf("  %s: %llu weight bytes, %.3f of the f16 load\n", mode, (unsigned long long)bq,
           ratio);
    SK_TEST_CHECK(ratio < (wt == SILKIE_DTYPE_Q4_0 ? 0.35 : 0.6) && ratio > 0.2,
                  "%s weight bytes %.3f of f16", mode, ratio);
    SK_TEST_CHECK(silkie_model_n_layers(q) == 2, "layers %u", silkie_model_n_layers(q));
    silkie_model_destroy(f16);

    silkie_session *s = api_session(q, 0, SILKIE_DTYPE_F16);
    if (s) {
        SK_TEST_OK(silkie_session_add_image_file(s, api_case_file(0, "hopper.jpg")));
        api_answer a = api_ask(s, "What is in this picture? Answer briefly.", 3);
        SK_TEST_OK(a.st);
        SK_TEST_CHECK(a.n == 3, "%u tokens", a.n);
        for (uint32_t i = 0; i < a.n; i++)
            SK_TEST_CHECK(a.ids[i] >= 0 && (uint32_t)a.ids[i] < silkie_model_n_vocab(q),
                          "token %d", a.ids[i]);
        printf("  %s answer ids: %d %d %d (reference 33020 60690 15704)\n", mode, a.ids[0],
               a.ids[1], a.ids[2]);
        if (wt == SILKIE_DTYPE_Q8_0)
            SK_TEST_CHECK(a.n && a.ids[0] == 33020, "q8_0 first token %d, want 33020", a.ids[0]);
    }
    silkie_session_destroy(s);
    silkie_model_destroy(q);
    return sk_test_result(wt == SILKIE_DTYPE_Q4_0 ? "test_api_quant q4_0" : "test_api_quant q8_0");
}
