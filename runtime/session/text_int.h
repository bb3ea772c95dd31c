/* Private to the tokenizer, chat and grounding code (and to the session code that embeds it). */
#ifndef SILKIE_SESSION_TEXT_INT_H
#define SILKIE_SESSION_TEXT_INT_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "base/base.h"
#include "silkie/silkie_text.h"

/* Specials in vocabulary order: <|endoftext|> <|im_start|> <|im_end|>, 205 extras, 9 tags. */
#define SK_N_EXTRAS 205u
#define SK_N_SPECIALS (3u + SK_N_EXTRAS + 9u)
#define SK_SPECIAL_FIRST_TAG (3u + SK_N_EXTRAS) /* index of <ref> */
#define SK_NO_RANK UINT32_MAX

/* Growable id array. */
typedef struct sk_ids {
    int32_t *v;
    size_t n, cap;
} sk_ids;
silkie_status silkie_ids_reserve(sk_ids *a, size_t extra);
silkie_status silkie_ids_push(sk_ids *a, int32_t id);
silkie_status silkie_ids_append(sk_ids *a, const int32_t *v, size_t n);
void silkie_ids_release(sk_ids *a);

/* Growable byte buffer. */
typedef struct sk_bytes {
    uint8_t *v;
    size_t n, cap;
} sk_bytes;
silkie_status silkie_bytes_reserve(sk_bytes *b, size_t extra);
silkie_status silkie_bytes_append(sk_bytes *b, const void *p, size_t n);
void silkie_bytes_release(sk_bytes *b);

/* One hash-table slot: a token's first 8 bytes inline, so the short keys that dominate BPE
 * lookups cost one cache line. */
typedef struct sk_slot {
    uint64_t head;  /* first min(len, 8) bytes, zero-padded */
    uint32_t rank1; /* rank + 1; 0 = empty */
    uint32_t meta;  /* len << 24 | 24 bits of hash */
} sk_slot;

struct silkie_tokenizer {
    uint32_t n_ranks;        /* ordinary tokens; specials follow */
    uint32_t n_vocab;        /* n_ranks + SK_N_SPECIALS */
    uint32_t max_token_len;  /* bytes of the longest ordinary token */
    uint8_t *blob;           /* token bytes, back to back */
    uint32_t *offs;          /* [n_ranks + 1] rank -> blob offset */
    struct sk_slot *table;   /* open addressing, linear probing */
    uint32_t table_mask;
    uint32_t *pair_rank;     /* [65536] rank of each two-byte token or SK_NO_RANK */
    uint32_t byte_rank[256]; /* rank of each single byte */
    char special_text[SK_N_SPECIALS][16];
    uint8_t special_len[SK_N_SPECIALS];
    pcre2_general_context *gctx; /* routes PCRE2 allocations to silkie_malloc */
    pcre2_code *re;
    bool re_jit;
};

struct silkie_token_list {
    sk_ids ids;
    uint8_t *scored;      /* [ids.n] or NULL */
    uint32_t *image_pos;  /* [n_images] */
    uint32_t n_images;
    uint32_t n_turns_kept;
};

static inline int32_t sk_special_id(const silkie_tokenizer *t, uint32_t idx)
{
    return (int32_t)(t->n_ranks + idx);
}
static inline int32_t sk_tag_id(const silkie_tokenizer *t, int32_t fixed_id)
{
    /* the public SILKIE_TOKEN_* values assume 151643 ranks; other vocabularies shift them */
    return fixed_id - SILKIE_TOKEN_ENDOFTEXT + (int32_t)t->n_ranks;
}

/* Rank of a byte string, SK_NO_RANK when it is not a token. */
uint32_t silkie_tok_rank(const silkie_tokenizer *t, const uint8_t *p, size_t n);
/* Bytes of a rank (< n_ranks). */
static inline const uint8_t *sk_tok_bytes(const silkie_tokenizer *t, uint32_t rank, size_t *n)
{
    *n = t->offs[rank + 1] - t->offs[rank];
    return t->blob + t->offs[rank];
}

/* Encodes and appends to out (out keeps its earlier content; on failure its length is restored).
 * n_queries 0 = default. */
silkie_status silkie_tok_encode_append(const silkie_tokenizer *t, const char *text, size_t len,
                                   silkie_specials specials, uint32_t n_queries, sk_ids *out);

/* Index of the first invalid UTF-8 byte, or len when the text is valid. */
size_t silkie_utf8_invalid_at(const uint8_t *s, size_t len);

/* Moves ids (and scored, may be NULL) into a new list and records the <img> positions. On
 * failure ids and scored are released. */
silkie_status silkie_token_list_make(const silkie_tokenizer *t, sk_ids *ids, uint8_t *scored,
                                 silkie_token_list **out);

#endif /* SILKIE_SESSION_TEXT_INT_H */
