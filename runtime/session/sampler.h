/* Token sampling on the host from a row of logits: repetition penalty, temperature, top-k,
 * top-p (nucleus), then a seeded multinomial draw, in Hugging Face's order. The same draw can
 * be finished from a device sampling step (ops/ops.h, silkie_op_sample): the sampler then
 * reads a token id or a short candidate list instead of the logits and picks exactly the token
 * silkie_sampler_sample would have picked, or says it cannot (the caller then reads the logits
 * and calls silkie_sampler_sample; the random stream is untouched until a token is picked). */
#ifndef SILKIE_SAMPLER_H
#define SILKIE_SAMPLER_H

#include "base/base.h"
#include "ops/ops.h"

typedef struct silkie_sampler_params {
    float temperature;        /* <= 0: greedy (argmax) */
    uint32_t top_k;           /* 0: off */
    float top_p;              /* >= 1 or <= 0: off */
    float repetition_penalty; /* 1 (or 0): off */
    uint64_t seed;
} silkie_sampler_params;

/* Where the tokens of a sampler came from (tests and benchmarks). */
typedef struct silkie_sampler_stats {
    uint64_t device;          /* picked from a device step's id or candidates */
    uint64_t fallback;        /* a device step that could not decide: picked from the logits */
    uint64_t host;            /* sampled from the logits (settings the device does not take) */
} silkie_sampler_stats;

typedef struct silkie_sampler {
    silkie_sampler_params p;
    uint64_t rng;
    uint32_t n_vocab;
    uint32_t *idx;   /* [n_vocab] scratch */
    float *prob;     /* [n_vocab] scratch */
    uint8_t *seen;   /* [n_vocab] tokens seen (repetition penalty) */
    void *pairs;     /* [n_vocab] (probability, index) pairs for long sorts */
    uint64_t n_accepted;      /* ids passed to accept since the last reset (history sync) */
    uint32_t device;          /* set by the owner: a device step is configured for these params */
    uint32_t host_only;       /* 1: never use device steps (tests compare both paths) */
    silkie_sampler_stats stats;
} silkie_sampler;

silkie_status silkie_sampler_init(silkie_sampler *s, const silkie_sampler_params *p,
                                  uint32_t n_vocab);
void silkie_sampler_release(silkie_sampler *s);
/* Marks tokens as seen for the repetition penalty (prompt and generated ids). */
void silkie_sampler_accept(silkie_sampler *s, const int32_t *ids, uint32_t n);
void silkie_sampler_reset(silkie_sampler *s); /* forgets seen tokens; keeps the rng stream */
/* Picks the next token from logits[n_vocab] (modified in place by the penalty). With top-k on,
 * the k candidates are drawn from in descending order of probability, as with top-p. */
int32_t silkie_sampler_sample(silkie_sampler *s, float *logits);

/* Parameters of the device step that can stand in for silkie_sampler_sample: 1 and *out for
 * greedy, top-k up to 255 (with or without top-p) and top-p alone; 0 for plain temperature
 * sampling over the whole vocabulary and larger k, which need every logit. */
int silkie_sampler_device_params(const silkie_sampler *s, silkie_sample_params *out);
/* The token silkie_sampler_sample would pick from the same logits and history, from the device
 * step r (run with silkie_sampler_device_params): 1 and *tok, advancing the random stream as
 * silkie_sampler_sample would; 0 when r cannot decide (a NaN or +inf logit, a tie or a nucleus
 * at the edge of the candidate list, or a nucleus boundary within the bound on the device's
 * normaliser), leaving the sampler unchanged. */
int silkie_sampler_pick(silkie_sampler *s, const silkie_sample_result *r, int32_t *tok);

#endif
