/* ChatML prompts as Qwen-VL-Chat's make_context builds them, and the training layouts. */
#define SK_LOG_MODULE "text"
#include <stdio.h>

#include "text_int.h"

static const char k_default_system[] = "You are a helpful assistant.";

void silkie_chat_params_init_size(silkie_chat_params *p, size_t size)
{
    silkie_chat_params d = {0};
    sk_params_fill(p, size, &d, sizeof d);
}

int silkie_chat_is_stop_token(int32_t id)
{
    return id == SILKIE_TOKEN_ENDOFTEXT || id == SILKIE_TOKEN_IM_START ||
           id == SILKIE_TOKEN_IM_END;
}

typedef struct chat_ctx {
    const silkie_tokenizer *t;
    silkie_chat_params p;
    int32_t im_start, im_end, nl;
} chat_ctx;

static silkie_status ctx_init(chat_ctx *c, const silkie_tokenizer *t, const silkie_chat_params *p)
{
    if (!t) return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "chat: tokenizer required");
    c->t = t;
    silkie_chat_params_init(&c->p);
    if (p) {
        if (p->struct_size < sizeof(uint32_t))
            return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "chat: params.struct_size unset");
        memcpy(&c->p, p, SK_MIN((size_t)p->struct_size, sizeof c->p));
    }
    if (!c->p.system) c->p.system = k_default_system;
    if (!c->p.max_window_tokens) c->p.max_window_tokens = SILKIE_MAX_WINDOW_DEFAULT;
    if (!c->p.n_queries) c->p.n_queries = SILKIE_N_QUERIES_DEFAULT;
    c->im_start = sk_special_id(t, 1);
    c->im_end = sk_special_id(t, 2);
    sk_ids nl = {0};
    SK_CHECK(silkie_tok_encode_append(t, "\n", 1, SILKIE_SPECIALS_ALL, 0, &nl));
    c->nl = nl.n == 1 ? nl.v[0] : -1;
    silkie_ids_release(&nl);
    if (c->nl < 0)
        return SK_FAIL(SILKIE_ERR_BAD_FILE, "chat: vocabulary has no single-token \"\\n\"");
    return SILKIE_OK;
}

/* Content as the reference encodes it: only the image/box tags are specials. */
static silkie_status enc(const chat_ctx *c, const char *s, sk_ids *out)
{
    return silkie_tok_encode_append(c->t, s, s ? strlen(s) : 0, SILKIE_SPECIALS_CHAT_USER,
                                c->p.n_queries, out);
}

/* "<|im_start|>" role "\n" content "<|im_end|>" */
static silkie_status message(const chat_ctx *c, const char *role, const sk_bytes *content,
                             sk_ids *out)
{
    SK_CHECK(silkie_ids_push(out, c->im_start));
    SK_CHECK(enc(c, role, out));
    SK_CHECK(silkie_ids_push(out, c->nl));
    SK_CHECK(silkie_tok_encode_append(c->t, content->n ? (const char *)content->v : "", content->n,
                                  SILKIE_SPECIALS_CHAT_USER, c->p.n_queries, out));
    return silkie_ids_push(out, c->im_end);
}

/* "Picture k: <img>PATH</img>\n" per image (k from 1), then the query. */
static silkie_status user_text(const silkie_chat_turn *turn, sk_bytes *out)
{
    out->n = 0;
    if (turn->n_images && !turn->image_paths)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "chat: %u images but no image_paths",
                       turn->n_images);
    for (uint32_t i = 0; i < turn->n_images; i++) {
        const char *path = turn->image_paths[i];
        if (!path) return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "chat: image %u has no path", i + 1);
        if (strstr(path, "<img>") || strstr(path, "</img>") || strchr(path, '\n'))
            return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT,
                           "chat: image path '%s' contains an image tag or newline", path);
        char head[32];
        int hn = snprintf(head, sizeof head, "Picture %u: <img>", i + 1);
        SK_CHECK(silkie_bytes_append(out, head, (size_t)hn));
        SK_CHECK(silkie_bytes_append(out, path, strlen(path)));
        SK_CHECK(silkie_bytes_append(out, "</img>\n", 7));
    }
    if (turn->query) SK_CHECK(silkie_bytes_append(out, turn->query, strlen(turn->query)));
    return SILKIE_OK;
}

static silkie_status text_bytes(const char *s, sk_bytes *out)
{
    out->n = 0;
    return s ? silkie_bytes_append(out, s, strlen(s)) : SILKIE_OK;
}

/* System block: <|im_start|>system\n{system}<|im_end|> */
static silkie_status system_block(const chat_ctx *c, sk_bytes *tmp, sk_ids *out)
{
    SK_CHECK(text_bytes(c->p.system, tmp));
    return message(c, "system", tmp, out);
}

/* \n<|im_start|>user\n{q}<|im_end|>\n */
static silkie_status user_block(const chat_ctx *c, const silkie_chat_turn *turn, sk_bytes *tmp,
                                sk_ids *out)
{
    SK_CHECK(silkie_ids_push(out, c->nl));
    SK_CHECK(user_text(turn, tmp));
    SK_CHECK(message(c, "user", tmp, out));
    return silkie_ids_push(out, c->nl);
}

/* <|im_start|>assistant\n */
static silkie_status assistant_open(const chat_ctx *c, sk_ids *out)
{
    SK_CHECK(silkie_ids_push(out, c->im_start));
    SK_CHECK(enc(c, "assistant", out));
    return silkie_ids_push(out, c->nl);
}

static silkie_status build_prompt(const chat_ctx *c, const silkie_chat_turn *history,
                                  uint32_t n_history, const silkie_chat_turn *query, sk_ids *out,
                                  uint32_t *n_kept)
{
    sk_bytes tmp = {0};
    sk_ids sys = {0};
    sk_ids *parts = n_history ? SK_NEW_ARRAY(sk_ids, n_history) : NULL;
    silkie_status st = SILKIE_OK;
    if (n_history && !parts) st = SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "chat: %u turns", n_history);
    if (st == SILKIE_OK) st = system_block(c, &tmp, &sys);

    /* newest first, while system + this turn + what is already in stays under the window */
    size_t used = 0;
    uint32_t kept = 0;
    for (uint32_t k = n_history; k-- > 0 && st == SILKIE_OK;) {
        const silkie_chat_turn *h = &history[k];
        sk_ids *q = &parts[k];
        st = user_block(c, h, &tmp, q);
        if (st == SILKIE_OK && h->response) {
            st = text_bytes(h->response, &tmp);
            if (st == SILKIE_OK) st = message(c, "assistant", &tmp, q);
        }
        if (st != SILKIE_OK) break;
        if (sys.n + q->n + used >= c->p.max_window_tokens) break;
        used += q->n;
        kept++;
    }
    if (st == SILKIE_OK) st = silkie_ids_append(out, sys.v, sys.n);
    for (uint32_t k = n_history - kept; k < n_history && st == SILKIE_OK; k++)
        st = silkie_ids_append(out, parts[k].v, parts[k].n);
    if (st == SILKIE_OK) st = user_block(c, query, &tmp, out);
    if (st == SILKIE_OK) st = assistant_open(c, out);
    for (uint32_t k = 0; k < n_history && parts; k++) silkie_ids_release(&parts[k]);
    silkie_free(parts);
    silkie_ids_release(&sys);
    silkie_bytes_release(&tmp);
    if (n_kept) *n_kept = kept;
    return st;
}

silkie_status silkie_chat_build_prompt(const silkie_tokenizer *t, const silkie_chat_params *p,
                                       const silkie_chat_turn *history, uint32_t n_history,
                                       const silkie_chat_turn *query, silkie_token_list **out)
{
    silkie_error_clear();
    if (!out) return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "chat_build_prompt: out required");
    *out = NULL;
    if (!query || (n_history && !history))
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "chat_build_prompt: query, history required");
    chat_ctx c;
    SK_CHECK(ctx_init(&c, t, p));
    sk_ids ids = {0};
    uint32_t kept = 0;
    silkie_status st = build_prompt(&c, history, n_history, query, &ids, &kept);
    if (st != SILKIE_OK) {
        silkie_ids_release(&ids);
        return st;
    }
    st = silkie_token_list_make(t, &ids, NULL, out);
    if (st == SILKIE_OK) (*out)->n_turns_kept = kept;
    return st;
}

silkie_status silkie_chat_build_training(const silkie_tokenizer *t, const silkie_chat_params *p,
                                         const silkie_chat_turn *turn, silkie_chat_layout layout,
                                         silkie_token_list **out)
{
    silkie_error_clear();
    if (!out) return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "chat_build_training: out required");
    *out = NULL;
    if (!turn || !turn->response)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "chat_build_training: turn with a response "
                                                    "required");
    if ((uint32_t)layout > SILKIE_CHAT_LAYOUT_SILKIE)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "chat_build_training: layout %d", (int)layout);
    chat_ctx c;
    SK_CHECK(ctx_init(&c, t, p));
    sk_ids ids = {0};
    uint8_t *scored = NULL;
    size_t n_prompt = 0, n_open = 0;
    silkie_status st = build_prompt(&c, NULL, 0, turn, &ids, NULL);
    if (st == SILKIE_OK) {
        n_prompt = ids.n;
        /* the assistant opening: <|im_start|> "assistant" "\n" */
        sk_ids tmp = {0};
        st = assistant_open(&c, &tmp);
        n_open = tmp.n;
        silkie_ids_release(&tmp);
    }
    if (st == SILKIE_OK) st = enc(&c, turn->response, &ids);
    if (st == SILKIE_OK) st = silkie_ids_push(&ids, c.im_end);
    if (st == SILKIE_OK && layout == SILKIE_CHAT_LAYOUT_SILKIE) {
        st = silkie_ids_push(&ids, c.nl);
        if (st == SILKIE_OK) st = silkie_ids_push(&ids, sk_special_id(t, 0));
    }
    if (st == SILKIE_OK) {
        scored = SK_NEW_ARRAY(uint8_t, ids.n ? ids.n : 1);
        if (!scored) st = SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "chat: mask of %zu", ids.n);
    }
    if (st != SILKIE_OK) {
        silkie_ids_release(&ids);
        return st;
    }
    for (size_t i = n_prompt; i < ids.n; i++) scored[i] = 1;
    /* Silkie's collator labels the <|im_start|> that opens the answer too, but not the role
     * word and its newline */
    if (layout == SILKIE_CHAT_LAYOUT_SILKIE) scored[n_prompt - n_open] = 1;
    return silkie_token_list_make(t, &ids, scored, out);
}
