/* Reference log-probs of pairs, kept in the run folder so later epochs and resumed runs skip
 * the two reference passes. Keys are content hashes (base model fingerprint, layout, pair text
 * and image bytes): a changed base or pair is a miss, never a stale hit. */
#ifndef SILKIE_REF_CACHE_H
#define SILKIE_REF_CACHE_H

#include "base/base.h"

typedef struct silkie_ref_cache {
    uint64_t *keys;   /* open addressing; 0 = empty slot (a zero key is stored as 1) */
    double *vals;     /* 2 per slot */
    uint64_t cap, n;
    int fd;           /* append-only file of {key, chosen, rejected} records */
    char *path;
} silkie_ref_cache;

/* Loads the records of path (created when missing); a torn last record is ignored. */
silkie_status silkie_ref_cache_open(silkie_ref_cache *c, const char *path);
void silkie_ref_cache_close(silkie_ref_cache *c);
int silkie_ref_cache_get(const silkie_ref_cache *c, uint64_t key, double v[2]);
/* Adds in memory and appends to the file. */
silkie_status silkie_ref_cache_put(silkie_ref_cache *c, uint64_t key, const double v[2]);

#endif /* SILKIE_REF_CACHE_H */
