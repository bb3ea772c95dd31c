/* Sessions through the public API on the golden tiny model (f16 weights, greedy):
 *   - the first answer is the reference's greedy tokens;
 *   - a second question reuses the cache: it costs only its own tokens;
 *   - save -> restore (into a fresh session, and over another conversation) -> continue gives
 *     exactly the tokens of the uninterrupted run;
 *   - a callback returning non-zero stops the answer; silkie_session_cancel from the callback
 *     gives SILKIE_ERR_CANCELLED with the partial answer kept, and the session goes on;
 *   - the model may be destroyed before its sessions, which keep answering. */
#include <string.h>

#include "api_common.h"
#include "silkie/silkie_text.h"

static const char *Q1 = "What is in this picture? Answer briefly.";
static const char *Q2 = "And what colour is it?";
static const int32_t GOLDEN[4] = {33020, 60690, 15704, 78384};
#define N_TOK 3

/* Tokens a later turn adds: <|im_end|> closing the last answer (which stopped without it),
 * "\n<|im_start|>user\n" + question + "<|im_end|>\n<|im_start|>assistant\n". Counted with the
 * public tokenizer, independently of the session's prompt code. */
static uint32_t turn_tokens(const char *question)
{
    silkie_tokenizer *tok = NULL;
    SK_TEST_OK(silkie_tokenizer_load(api_case_file(3, "model/qwen.tiktoken"), &tok));
    silkie_token_list *l = NULL;
    SK_TEST_OK(silkie_tokenizer_encode(tok, question, strlen(question), NULL, &l));
    uint32_t n = (uint32_t)silkie_token_list_size(l);
    silkie_token_list_destroy(l);
    silkie_tokenizer_destroy(tok);
    /* im_end, "\n", im_start, "user", "\n", question, im_end, "\n", im_start, "assistant", "\n" */
    return n + 10;
}

static void test_turns_and_files(silkie_model *m)
{
    const char *img = api_case_file(0, "hopper.jpg");
    const char *file = api_tmp_path(0, "chat.session");

    /* Uninterrupted: Q1 (with the image), then Q2. */
    silkie_session *a = api_session(m, 0, SILKIE_DTYPE_F16);
    if (!a) return;
    SK_TEST_OK(silkie_session_add_image_file(a, img));
    api_answer a1 = api_ask(a, Q1, N_TOK);
    SK_TEST_OK(a1.st);
    SK_TEST_CHECK(a1.n == N_TOK && !memcmp(a1.ids, GOLDEN, N_TOK * sizeof(int32_t)),
                  "first answer %d %d %d, want the reference's greedy ids", a1.ids[0], a1.ids[1],
                  a1.ids[2]);
    silkie_timings t1, t2;
    silkie_session_timings(a, &t1);
    const uint32_t n1 = silkie_session_n_tokens(a);
    SK_TEST_CHECK(t1.prefill_tokens == 52 && t1.n_images == 1, "first turn: %u tokens, %u images",
                  t1.prefill_tokens, t1.n_images);
    SK_TEST_CHECK(n1 == t1.prefill_tokens + t1.decode_tokens && t1.decode_tokens == N_TOK,
                  "n_tokens %u after %u + %u", n1, t1.prefill_tokens, t1.decode_tokens);
    api_answer a2 = api_ask(a, Q2, N_TOK);
    SK_TEST_OK(a2.st);
    silkie_session_timings(a, &t2);
    const uint32_t want_turn = turn_tokens(Q2);
    SK_TEST_CHECK(t2.prefill_tokens == want_turn, "second turn prefilled %u tokens, want %u",
                  t2.prefill_tokens, want_turn);
    SK_TEST_CHECK(silkie_session_n_tokens(a) == n1 + t2.prefill_tokens + t2.decode_tokens,
                  "n_tokens %u, want %u + %u + %u", silkie_session_n_tokens(a), n1,
                  t2.prefill_tokens, t2.decode_tokens);
    printf("  turn 1: %u tokens prefilled, turn 2: %u (cache reused), history %u\n",
           t1.prefill_tokens, t2.prefill_tokens, silkie_session_n_tokens(a));
    silkie_session_destroy(a);

    /* Interrupted: Q1, save; then another conversation, restore over it, Q2. */
    silkie_session *b = api_session(m, 0, SILKIE_DTYPE_F16);
    if (!b) return;
    SK_TEST_OK(silkie_session_add_image_file(b, img));
    api_answer b1 = api_ask(b, Q1, N_TOK);
    api_same_answer("same question, new session", &a1, &b1);
    SK_TEST_OK(silkie_session_save(b, file));
    SK_TEST_OK(silkie_session_reset(b));
    api_answer other = api_ask(b, "Say hello.", 2);
    SK_TEST_OK(other.st);
    SK_TEST_OK(silkie_session_restore(b, file));
    SK_TEST_CHECK(silkie_session_n_tokens(b) == n1, "restored %u tokens, want %u",
                  silkie_session_n_tokens(b), n1);
    api_answer b2 = api_ask(b, Q2, N_TOK);
    api_same_answer("restore over another conversation", &a2, &b2);
    silkie_session_destroy(b);

    /* Restore into a fresh session. */
    silkie_session *c = api_session(m, 0, SILKIE_DTYPE_F16);
    if (!c) return;
    SK_TEST_OK(silkie_session_restore(c, file));
    api_answer c2 = api_ask(c, Q2, N_TOK);
    api_same_answer("restore into a fresh session", &a2, &c2);
    silkie_session_destroy(c);
}

/* Streaming callbacks. */
typedef struct stream_log {
    silkie_session *s;
    int calls, stop_at, cancel_at;
    int32_t last_token;
    char text[256];
    size_t len;
} stream_log;

static int on_text(const char *text, size_t len, int32_t token, void *user)
{
    stream_log *l = user;
    l->calls++;
    if (token >= 0) l->last_token = token;
    if (l->len + len < sizeof l->text) {
        memcpy(l->text + l->len, text, len);
        l->len += len;
        l->text[l->len] = 0;
    }
    if (l->cancel_at && l->calls == l->cancel_at) silkie_session_cancel(l->s);
    return l->stop_at && l->calls == l->stop_at;
}

static silkie_status ask_streamed(silkie_session *s, stream_log *l, int32_t max_tokens)
{
    silkie_ask_params ap;
    silkie_ask_params_init(&ap);
    ap.on_text = on_text;
    ap.user = l;
    ap.max_new_tokens = max_tokens;
    ap.no_stop = 1;
    l->s = s;
    return silkie_session_ask(s, Q1, &ap);
}

static void test_stop_and_cancel(silkie_model *m)
{
    silkie_session *s = api_session(m, 0, SILKIE_DTYPE_F16);
    if (!s) return;
    uint32_t n = 0;
    const int32_t *ids;

    /* The callback returns 1 on its first piece: the answer ends there, status OK. */
    stream_log stop = {.stop_at = 1};
    SK_TEST_OK(ask_streamed(s, &stop, 8));
    ids = silkie_session_answer_tokens(s, &n);
    SK_TEST_CHECK(stop.calls == 1 && n >= 1 && ids[n - 1] == stop.last_token,
                  "stop: %d calls, %u tokens", stop.calls, n);
    SK_TEST_CHECK(!strcmp(silkie_session_answer(s), stop.text), "stop: answer '%s' vs '%s'",
                  silkie_session_answer(s), stop.text);
    uint32_t after_stop = silkie_session_n_tokens(s);

    /* silkie_session_cancel from the callback: CANCELLED, the partial answer kept. */
    stream_log cancel = {.cancel_at = 2};
    silkie_error_clear();
    SK_TEST_STATUS(ask_streamed(s, &cancel, 8), SILKIE_ERR_CANCELLED);
    SK_TEST_CHECK(silkie_last_error()[0] != 0, "cancel: no message");
    ids = silkie_session_answer_tokens(s, &n);
    SK_TEST_CHECK(cancel.calls == 2 && n >= 2 && n < 8 && ids[n - 1] == cancel.last_token,
                  "cancel: %d calls, %u tokens", cancel.calls, n);
    SK_TEST_CHECK(silkie_session_answer(s)[0] && !strcmp(silkie_session_answer(s), cancel.text),
                  "cancel: partial answer '%s' vs streamed '%s'", silkie_session_answer(s),
                  cancel.text);
    SK_TEST_CHECK(silkie_session_n_tokens(s) > after_stop, "cancelled turn not kept");

    /* The session goes on; a cancel before ask does not leak into it. */
    silkie_session_cancel(s);
    api_answer next = api_ask(s, Q2, 2);
    SK_TEST_OK(next.st);
    SK_TEST_CHECK(next.n == 2, "after cancel: %u tokens", next.n);
    silkie_session_destroy(s);
}

/* The model handle goes first; sessions keep it alive. */
static void test_destroy_order(silkie_model *m)
{
    silkie_session *x = api_session(m, 0, SILKIE_DTYPE_F16);
    silkie_session *y = api_session(m, 0, SILKIE_DTYPE_F16);
    silkie_model_destroy(m);
    if (!x || !y) {
        silkie_session_destroy(x);
        silkie_session_destroy(y);
        return;
    }
    SK_TEST_OK(silkie_session_add_image_file(x, api_case_file(0, "hopper.jpg")));
    api_answer ax = api_ask(x, Q1, 2);
    SK_TEST_OK(ax.st);
    SK_TEST_CHECK(ax.n == 2 && ax.ids[0] == GOLDEN[0] && ax.ids[1] == GOLDEN[1],
                  "after model_destroy: %d %d", ax.ids[0], ax.ids[1]);
    silkie_session_destroy(x);
    api_answer ay = api_ask(y, Q2, 2);
    SK_TEST_OK(ay.st);
    silkie_session_destroy(y); /* the last reference: frees the model */
}

int main(void)
{
    api_model_dir();
    silkie_model *m = api_load(SILKIE_DTYPE_F16, 0, 0);
    test_turns_and_files(m);
    test_stop_and_cancel(m);
    test_destroy_order(m); /* destroys m */
    api_cleanup();
    return sk_test_result("test_api_session");
}
