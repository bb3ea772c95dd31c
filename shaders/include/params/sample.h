#include "params.h"
/* Device sampling (shaders sample_mark, sample_prep, sample; runtime/ops/sample.c). */

/* Output buffer, 32-bit words: a header, then up to SK_SAMPLE_CAP candidates as
 * (penalized logit bits, token id) pairs sorted by logit descending, lower id first on ties. */
#define SK_SAMPLE_CAP 256u        /* most candidates a step returns */
#define SK_SAMPLE_MARGIN 8u       /* candidates past top_k or the nucleus estimate */
#define SK_SAMPLE_OUT_ID 0u       /* argmax of the penalized logits */
#define SK_SAMPLE_OUT_N 1u        /* candidates written */
#define SK_SAMPLE_OUT_FLAGS 2u    /* SK_SAMPLE_FLAG_* */
#define SK_SAMPLE_OUT_MAX 3u      /* largest penalized logit (f32 bits) */
#define SK_SAMPLE_OUT_SUM 4u      /* sum of exp((v - max) / T) over the vocabulary (f32 bits) */
#define SK_SAMPLE_OUT_SUM_ERR 5u  /* sum of exp(x) * |x| over the same terms (f32 bits) */
#define SK_SAMPLE_OUT_HEADER 8u   /* words before the first candidate */
#define SK_SAMPLE_OUT_WORDS (SK_SAMPLE_OUT_HEADER + 2u * SK_SAMPLE_CAP)
#define SK_SAMPLE_FLAG_NONFINITE 1u /* a NaN or +inf logit, or every logit -inf */
#define SK_SAMPLE_MAX_GROUPS 1024u  /* sample_prep workgroups (partials in the scratch) */

/* GLSL allows one push-constant block per shader: each shader defines the macro naming its own
 * block before including this file; C sees all three. */

#if !defined(SK_GLSL) || defined(SK_SAMPLE_MARK)
SK_PUSH_BEGIN(sample_mark_push)
    SK_U32 n_ids;      /* ids to mark */
    SK_U32 ids_off;
    SK_U32 seen_off;
    SK_U32 n_vocab;    /* ids outside [0, n_vocab) are ignored */
SK_PUSH_END(sample_mark_push)
#endif

#if !defined(SK_GLSL) || defined(SK_SAMPLE_PREP)
SK_PUSH_BEGIN(sample_prep_push)
    SK_U32 n;          /* vocabulary */
    SK_U32 x_off;
    SK_U32 seen_off;
    SK_U32 s_off;      /* scratch: penalized logits [n], then 3 words per workgroup */
    SK_F32 penalty;
    SK_U32 id_off;     /* has_id: the pass's token, penalized as if already marked */
    SK_U32 has_id;
SK_PUSH_END(sample_prep_push)
#endif

#if !defined(SK_GLSL) || defined(SK_SAMPLE_MAIN)
SK_PUSH_BEGIN(sample_push)
    SK_U32 n;          /* vocabulary */
    SK_U32 s_off;
    SK_U32 n_groups;   /* partials written by sample_prep */
    SK_U32 out_off;
    SK_U32 n_want;     /* candidates to select, <= SK_SAMPLE_CAP */
    SK_F32 temperature;
    SK_F32 top_p;      /* nucleus estimate that trims the written list (NEED_SUM only) */
    SK_U32 seen_off;   /* has_id: the pass's token is marked in seen once the step is done */
    SK_U32 id_off;
    SK_U32 has_id;
SK_PUSH_END(sample_push)
#endif
