/* Token sampling on the host from a row of logits: repetition penalty, temperature, top-k,
 * top-p (nucleus), then a seeded multinomial draw, in Hugging Face's order. */
#ifndef SILKIE_SAMPLER_H
#define SILKIE_SAMPLER_H

#include "base/base.h"

typedef struct silkie_sampler_params {
    float temperature;        /* <= 0: greedy (argmax) */
    uint32_t top_k;           /* 0: off */
    float top_p;              /* >= 1 or <= 0: off */
    float repetition_penalty; /* 1 (or 0): off */
    uint64_t seed;
} silkie_sampler_params;

typedef struct silkie_sampler {
    silkie_sampler_params p;
    uint64_t rng;
    uint32_t n_vocab;
    uint32_t *idx;   /* [n_vocab] scratch */
    float *prob;     /* [n_vocab] scratch */
    uint8_t *seen;   /* [n_vocab] tokens seen (repetition penalty) */
    void *pairs;     /* [n_vocab] (probability, index) pairs for long sorts */
} silkie_sampler;

silkie_status silkie_sampler_init(silkie_sampler *s, const silkie_sampler_params *p,
                                  uint32_t n_vocab);
void silkie_sampler_release(silkie_sampler *s);
/* Marks tokens as seen for the repetition penalty (prompt and generated ids). */
void silkie_sampler_accept(silkie_sampler *s, const int32_t *ids, uint32_t n);
void silkie_sampler_reset(silkie_sampler *s); /* forgets seen tokens; keeps the rng stream */
/* Picks the next token from logits[n_vocab] (modified in place by the penalty). */
int32_t silkie_sampler_sample(silkie_sampler *s, float *logits);

#endif
