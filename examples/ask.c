/* Minimal Silkie Edge app: one image, one question, the answer streamed to stdout.
 *
 *   ask MODEL_DIR IMAGE.jpg "What is in this picture?"
 */
#include <stdio.h>

#include "silkie/silkie.h"

static int print_piece(const char *text, size_t len, int32_t token, void *user)
{
    (void)token;
    (void)user;
    fwrite(text, 1, len, stdout);
    fflush(stdout);
    return 0; /* non-zero would stop the answer here */
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s MODEL_DIR IMAGE QUESTION\n", argv[0]);
        return 2;
    }
    if (silkie_version_number() / 10000 != SILKIE_VERSION_MAJOR) {
        fprintf(stderr, "libsilkie %s does not match this header\n", silkie_version_string());
        return 1;
    }
    silkie_model *model = NULL;
    silkie_session *session = NULL;
    silkie_model_params mp;
    silkie_model_params_init(&mp);
    mp.weight_type = SILKIE_DTYPE_Q4_0; /* 4-bit LLM matrices, f16 vision tower */
    if (silkie_model_load(argv[1], &mp, &model) != SILKIE_OK ||
        silkie_session_create(model, NULL, &session) != SILKIE_OK ||
        silkie_session_add_image_file(session, argv[2]) != SILKIE_OK) {
        fprintf(stderr, "error: %s\n", silkie_last_error());
        silkie_session_destroy(session);
        silkie_model_destroy(model);
        return 1;
    }
    silkie_ask_params ap;
    silkie_ask_params_init(&ap);
    ap.on_text = print_piece;
    silkie_status st = silkie_session_ask(session, argv[3], &ap);
    printf("\n");
    if (st != SILKIE_OK) fprintf(stderr, "error: %s\n", silkie_last_error());
    silkie_timings t;
    silkie_session_timings(session, &t);
    fprintf(stderr, "prefill %.1f tok/s, decode %.1f tok/s\n",
            t.prefill_ms > 0 ? t.prefill_tokens * 1e3 / t.prefill_ms : 0.0,
            t.decode_ms > 0 ? t.decode_tokens * 1e3 / t.decode_ms : 0.0);
    silkie_session_destroy(session); /* any order: the session keeps the model alive */
    silkie_model_destroy(model);
    return st == SILKIE_OK ? 0 : 1;
}
