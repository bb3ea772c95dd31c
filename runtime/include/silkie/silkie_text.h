/* Silkie Edge: Qwen tokenizer, ChatML prompts and grounding output. Pure CPU.
 *
 * Usage:
 *
 *     silkie_tokenizer *tok;
 *     if (silkie_tokenizer_load("model/qwen.tiktoken", &tok) != SILKIE_OK) {
 *         fprintf(stderr, "%s\n", silkie_last_error());
 *         return 1;
 *     }
 *     const char *paths[] = {"cat.jpg"};
 *     silkie_chat_turn q = {.query = "What is this?", .image_paths = paths, .n_images = 1};
 *     silkie_chat_params cp;
 *     silkie_chat_params_init(&cp);
 *     silkie_token_list *ids;
 *     if (silkie_chat_build_prompt(tok, &cp, NULL, 0, &q, &ids) == SILKIE_OK) {
 *         run_model(silkie_token_list_ids(ids), silkie_token_list_size(ids));
 *         silkie_token_list_destroy(ids);
 *     }
 *     silkie_tokenizer_destroy(tok);
 *
 * Threading: a silkie_tokenizer is immutable after loading and may be used by several threads
 * at once. A silkie_token_list or silkie_text_stream is used by one thread at a time.
 *
 * Text in and out is UTF-8 with an explicit byte length (NUL bytes are ordinary characters).
 */
#ifndef SILKIE_SILKIE_TEXT_H
#define SILKIE_SILKIE_TEXT_H

#include "silkie/silkie.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Fixed ids of the released Qwen vocabulary (151,643 ranks, then 217 special tokens). */
#define SILKIE_TOKEN_ENDOFTEXT 151643
#define SILKIE_TOKEN_IM_START 151644
#define SILKIE_TOKEN_IM_END 151645
#define SILKIE_TOKEN_REF_START 151851
#define SILKIE_TOKEN_REF_END 151852
#define SILKIE_TOKEN_BOX_START 151853
#define SILKIE_TOKEN_BOX_END 151854
#define SILKIE_TOKEN_QUAD_START 151855
#define SILKIE_TOKEN_QUAD_END 151856
#define SILKIE_TOKEN_IMG_START 151857
#define SILKIE_TOKEN_IMG_END 151858
#define SILKIE_TOKEN_IMG_PAD 151859
#define SILKIE_N_QUERIES_DEFAULT 256u  /* image span length of the released model */
#define SILKIE_MAX_WINDOW_DEFAULT 6144u /* generation_config max_window_size */

typedef struct silkie_tokenizer silkie_tokenizer;   /* opaque; shareable across threads */
typedef struct silkie_token_list silkie_token_list; /* opaque; result of encode / chat */
typedef struct silkie_text_stream silkie_text_stream; /* opaque; incremental decoder */

/* ---------------------------------------------------------------------------------------------
 * Tokenizer
 */

/* Loads a qwen.tiktoken vocabulary (lines of "<base64 bytes> <rank>", LF or CRLF) and appends
 * the 217 special tokens after the last rank. Ranks must run 0, 1, 2, ... and every single byte
 * must be a token. SILKIE_ERR_IO if the file can't be read, SILKIE_ERR_BAD_FILE (naming the
 * line) for bad base64, a duplicate token or a rank out of order. */
SILKIE_API silkie_status silkie_tokenizer_load(const char *path, silkie_tokenizer **out);
/* Same from memory; `data` is copied as needed and may be freed after the call. */
SILKIE_API silkie_status silkie_tokenizer_load_memory(const void *data, size_t size,
                                                     silkie_tokenizer **out);
/* Loads the vocabulary of a GGUF model file (tokenizer.ggml.model "gpt2": NORMAL tokens in
 * GPT-2 byte rendering are the ranks, CONTROL tokens must be the Qwen specials at their ids),
 * as written by silkie-pack. SILKIE_ERR_IO / SILKIE_ERR_BAD_FILE for an unreadable or malformed
 * file, SILKIE_ERR_BAD_MODEL naming the key or token for a vocabulary that is not Qwen's kind. */
SILKIE_API silkie_status silkie_tokenizer_load_gguf(const char *path, silkie_tokenizer **out);
SILKIE_API void silkie_tokenizer_destroy(silkie_tokenizer *t); /* NULL is fine */

/* Number of ids, ranks plus specials (151860 for Qwen). Ids at or above it are invalid. */
SILKIE_API uint32_t silkie_tokenizer_n_vocab(const silkie_tokenizer *t);
/* Id of a special token given its literal string ("<|im_end|>", "<img>"), or -1. */
SILKIE_API int32_t silkie_tokenizer_special_id(const silkie_tokenizer *t, const char *literal);

/* Which special strings the encoder turns into special ids; all others are plain text. */
typedef enum silkie_specials {
    SILKIE_SPECIALS_ALL = 0,       /* all 217 (the tokenizer's default) */
    SILKIE_SPECIALS_CHAT_USER = 1, /* only <ref> </ref> <box> </box> <quad> </quad> <img> </img>
                                    * <imgpad>: what the chat builder uses for user content, so a
                                    * typed "<|im_start|>" can't open a fake turn */
    SILKIE_SPECIALS_NONE = 2,      /* none (tiktoken encode_ordinary) */
    SILKIE_SPECIALS_MAX_ = 0x7fffffff
} silkie_specials;

typedef struct silkie_encode_params {
    uint32_t struct_size;     /* set by silkie_encode_params_init() */
    silkie_specials specials; /* default SILKIE_SPECIALS_ALL */
    uint32_t n_queries;       /* tokens between <img> and </img>; 0 = 256 */
    /* new fields are added here, at the end, and nowhere else */
} silkie_encode_params;
SILKIE_API void silkie_encode_params_init_size(silkie_encode_params *p, size_t size);
static inline void silkie_encode_params_init(silkie_encode_params *p)
{
    silkie_encode_params_init_size(p, sizeof *p);
}

/* Encodes UTF-8 text: NFC normalisation, special tokens, Qwen's pre-tokenizer regex, byte-pair
 * merging, then each <img>PATH</img> becomes <img>, one id per path byte (id = byte value),
 * <imgpad> up to n_queries ids, </img>. p may be NULL (defaults). On success *out holds the ids
 * and the index of every <img>. SILKIE_ERR_BAD_TEXT for invalid UTF-8, an unclosed <img>, a
 * special token inside an image span, or a path longer than n_queries bytes;
 * SILKIE_ERR_INVALID_ARGUMENT for bad arguments. */
SILKIE_API silkie_status silkie_tokenizer_encode(const silkie_tokenizer *t, const char *text,
                                                 size_t len, const silkie_encode_params *p,
                                                 silkie_token_list **out);

/* Decoding flags. */
#define SILKIE_DECODE_SKIP_SPECIAL 1u /* drop every id >= <|endoftext|> */
/* A non-byte id inside an image span ends the span and decodes as usual, instead of failing:
 * for generated text (sessions use it), where a model may emit <img> and then anything. */
#define SILKIE_DECODE_LENIENT_SPANS 2u

/* Decodes ids to UTF-8: ranks to their bytes, specials to their literal strings, image spans back
 * to <img>PATH</img>, invalid UTF-8 replaced by U+FFFD (Python's errors="replace"). Ids the
 * tokenizer does not know (negative, or >= silkie_tokenizer_n_vocab(): Qwen's LM head has 151936
 * rows for 151860 ids) decode to nothing, wherever they stand. *text is NUL-terminated, *len
 * excludes the NUL; free it with silkie_text_free(). len may be NULL.
 * SILKIE_ERR_INVALID_ARGUMENT for an unclosed image span or a non-byte id inside one. */
SILKIE_API silkie_status silkie_tokenizer_decode(const silkie_tokenizer *t, const int32_t *ids,
                                                 size_t n_ids, uint32_t flags, char **text,
                                                 size_t *len);
/* Frees a string returned by this header's functions. NULL is fine. */
SILKIE_API void silkie_text_free(void *p);

/* Incremental decoder for generated tokens: each push returns the text that is complete so far,
 * holding back the bytes of an unfinished UTF-8 character until a later token completes it.
 * Concatenating every push and the finish gives exactly silkie_tokenizer_decode() of all ids.
 * t is borrowed and must outlive the stream. */
SILKIE_API silkie_status silkie_text_stream_create(const silkie_tokenizer *t, uint32_t flags,
                                                   silkie_text_stream **out);
/* Adds one id. *text (not NUL-terminated) is borrowed; valid until the next call on s. An id
 * the tokenizer does not know gives no text and leaves the stream as it was.
 * SILKIE_ERR_INVALID_ARGUMENT for a non-byte id inside an image span (the stream is
 * unchanged). */
SILKIE_API silkie_status silkie_text_stream_push(silkie_text_stream *s, int32_t id,
                                                 const char **text, size_t *len);
/* Ends the stream: held bytes come out as U+FFFD, and s is ready for a new text.
 * *text is borrowed; valid until the next call on s. */
SILKIE_API silkie_status silkie_text_stream_finish(silkie_text_stream *s, const char **text,
                                                   size_t *len);
SILKIE_API void silkie_text_stream_destroy(silkie_text_stream *s); /* NULL is fine */

/* ---------------------------------------------------------------------------------------------
 * Token lists (results of encoding and of the chat builders)
 */
SILKIE_API size_t silkie_token_list_size(const silkie_token_list *l);
/* Borrowed; valid until silkie_token_list_destroy(l). */
SILKIE_API const int32_t *silkie_token_list_ids(const silkie_token_list *l);
/* 1 where a training layout scores the token, else 0; NULL for lists that are not a training
 * layout. Borrowed; valid until silkie_token_list_destroy(l). */
SILKIE_API const uint8_t *silkie_token_list_scored(const silkie_token_list *l);
/* Index in ids of each <img> (the features of image k go to the n_queries positions after it).
 * Borrowed; valid until silkie_token_list_destroy(l). */
SILKIE_API uint32_t silkie_token_list_n_images(const silkie_token_list *l);
SILKIE_API const uint32_t *silkie_token_list_image_positions(const silkie_token_list *l);
/* Chat prompts: how many history turns fitted the window (the newest ones). */
SILKIE_API uint32_t silkie_token_list_n_turns_kept(const silkie_token_list *l);
SILKIE_API void silkie_token_list_destroy(silkie_token_list *l); /* NULL is fine */

/* ---------------------------------------------------------------------------------------------
 * ChatML (Qwen-VL-Chat make_context)
 */

/* One exchange. Images are written before the text as "Picture k: <img>PATH</img>\n", k from 1
 * within the turn; the text may also contain such tags itself. */
typedef struct silkie_chat_turn {
    const char *query;              /* user text; NULL = "" */
    const char *const *image_paths; /* [n_images]; each at most n_queries bytes */
    uint32_t n_images;
    const char *response; /* assistant text; NULL = no answer (history) / required (training) */
} silkie_chat_turn;

typedef struct silkie_chat_params {
    uint32_t struct_size;       /* set by silkie_chat_params_init() */
    const char *system;         /* NULL = "You are a helpful assistant." */
    uint32_t max_window_tokens; /* history budget; 0 = 6144 */
    uint32_t n_queries;         /* image span length; 0 = 256 */
    /* new fields are added here, at the end, and nowhere else */
} silkie_chat_params;
SILKIE_API void silkie_chat_params_init_size(silkie_chat_params *p, size_t size);
static inline void silkie_chat_params_init(silkie_chat_params *p)
{
    silkie_chat_params_init_size(p, sizeof *p);
}

/* Builds the prompt ids: system block, history turns (oldest first in `history`; added newest
 * first while they fit max_window_tokens, older ones dropped), the query, and the opening
 * "<|im_start|>assistant\n". Role words, newlines and contents are tokenized separately and
 * contents with SILKIE_SPECIALS_CHAT_USER. query->response is ignored. p may be NULL. */
SILKIE_API silkie_status silkie_chat_build_prompt(const silkie_tokenizer *t,
                                                  const silkie_chat_params *p,
                                                  const silkie_chat_turn *history,
                                                  uint32_t n_history,
                                                  const silkie_chat_turn *query,
                                                  silkie_token_list **out);

typedef enum silkie_chat_layout {
    /* prompt + answer + <|im_end|>; the answer and <|im_end|> are scored */
    SILKIE_CHAT_LAYOUT_PLAIN = 0,
    /* Silkie / VLFeedback collator: prompt + answer + <|im_end|> "\n" <|endoftext|>; scored are
     * the <|im_start|> opening the answer, the answer, <|im_end|>, "\n" and <|endoftext|> */
    SILKIE_CHAT_LAYOUT_SILKIE = 1,
    SILKIE_CHAT_LAYOUT_MAX_ = 0x7fffffff
} silkie_chat_layout;

/* Training sequence for one single-turn sample (turn->response is the answer, required), with
 * the per-token scored mask (silkie_token_list_scored). Used for SFT and for each side of a DPO
 * pair. p may be NULL. */
SILKIE_API silkie_status silkie_chat_build_training(const silkie_tokenizer *t,
                                                    const silkie_chat_params *p,
                                                    const silkie_chat_turn *turn,
                                                    silkie_chat_layout layout,
                                                    silkie_token_list **out);

/* 1 for ids that end a chat answer (<|endoftext|>, <|im_start|>, <|im_end|>), else 0. */
SILKIE_API int silkie_chat_is_stop_token(int32_t id);

/* ---------------------------------------------------------------------------------------------
 * Grounding: <ref>phrase</ref><box>(x1,y1),(x2,y2)</box> in generated text
 */
typedef struct silkie_ground_box {
    uint32_t phrase_offset; /* bytes into the parsed text; the phrase (trimmed) of the <ref> this
                             * box follows, directly or after other boxes of the same phrase */
    uint32_t phrase_len;    /* 0 when the box has no phrase */
    uint32_t n_points;      /* 2 for <box> (top-left, bottom-right), 4 for <quad> */
    int32_t norm[8];        /* x0,y0,x1,y1,... as written, 0..1000 of the image size */
    int32_t pixel[8];       /* int(x / 1000 * width), int(y / 1000 * height) */
} silkie_ground_box;

/* Finds every well-formed <box> and <quad> of text, in order. Writes the first `cap` of them to
 * boxes (may be NULL when cap is 0) and the total count to *n_boxes. Malformed tags are skipped.
 * SILKIE_ERR_INVALID_ARGUMENT only for NULL arguments. */
SILKIE_API silkie_status silkie_grounding_parse(const char *text, size_t len, uint32_t width,
                                                uint32_t height, silkie_ground_box *boxes,
                                                uint32_t cap, uint32_t *n_boxes);

/* Replaces each <ref>phrase</ref> and the <box>/<quad> groups right after it by the phrase (the
 * reference regex <ref>(.*?)</ref>(<box>.*?</box>)*(<quad>.*?</quad>)*, no newlines inside).
 * out needs len + 1 bytes (cap); the result is NUL-terminated and *out_len excludes the NUL. */
SILKIE_API silkie_status silkie_grounding_strip(const char *text, size_t len, char *out,
                                                size_t cap, size_t *out_len);

#ifdef __cplusplus
}
#endif
#endif /* SILKIE_SILKIE_TEXT_H */
