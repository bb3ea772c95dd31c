/* Helpers shared by the tokenizer, chat and grounding tests. */
#ifndef SILKIE_TEST_TEXT_H
#define SILKIE_TEST_TEXT_H

#include <cjson/cJSON.h>

#include "harness.h"
#include "silkie/silkie_text.h"

/* Full path of a file under the shared folder (static buffer), NULL without the folder. */
const char *tt_shared_path(const char *rel);
/* The released vocabulary; NULL (and a note) when the shared folder is missing. */
silkie_tokenizer *tt_load_vocab(void);
/* Parsed JSON file or NULL. */
cJSON *tt_read_json(const char *path);
/* Compares ids with a JSON array; prints both on mismatch. Returns 1 when equal. */
int tt_ids_match_json(const char *what, const int32_t *ids, size_t n, const cJSON *want);
/* Compares two id arrays; prints both on mismatch. Returns 1 when equal. */
int tt_ids_match(const char *what, const int32_t *ids, size_t n, const int64_t *want, size_t nw);
/* One I64 tensor of a safetensors file (malloc'ed with silkie_malloc), NULL if absent. */
int64_t *tt_safetensors_i64(const char *path, const char *name, size_t *n);
/* Encodes text with the given mode; NULL on failure (reported). */
silkie_token_list *tt_encode(const silkie_tokenizer *t, const char *text, size_t len,
                             silkie_specials mode, uint32_t n_queries);

#endif
