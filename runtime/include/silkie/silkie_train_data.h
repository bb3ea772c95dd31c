/* Preference data preparation for silkie_train.h: VLFeedback records -> preference pairs
 * (spec §9.3), written as the JSONL that silkie_pref_reader reads.
 *
 *     silkie_vlfeedback_stats s;
 *     silkie_vlfeedback_stats_init(&s);
 *     silkie_status st = silkie_vlfeedback_convert("vlfeedback.jsonl", "pairs.jsonl", NULL, &s);
 *     printf("%llu pairs from %llu records\n", (unsigned long long)s.pairs_written,
 *            (unsigned long long)s.records_read);
 *
 * Input: a JSON array of records, or JSONL (one record per line; blank lines are skipped).
 * A record is an object with "prompt" (string), "img_path" (non-empty string), optional "id"
 * (copied to the pairs when it is a string or an integer) and "completions": either a list of
 * {"model", "response", "annotations"} or, as Hugging Face datasets stores it, one object of
 * parallel lists {"model": [...], "response": [...], "annotations": [...]} ("model" optional;
 * "models" and "Rationale" are not used). "annotations" holds
 * "Helpfulness", "Ethical Considerations" and "Visual Faithfulness", each {"Rating": "4",
 * "Rationale": "..."}; a rating is a decimal string or a number. Other keys are ignored.
 *
 * Pairs: a completion's score is the mean of its three ratings. For every pair of completions
 * i < j the higher score is "chosen" and the lower "rejected". The pair is skipped, counted
 * under the first reason that applies, when either completion has a rating that is missing or
 * not a finite number, when either has a rating outside [1, 5], when either response is empty
 * (or null), when the scores are equal, or when both responses are the same text (the trainer
 * refuses such pairs). Output lines, in input order and i < j order within a record:
 *
 *     {"images": [img_path], "prompt": ..., "chosen": ..., "rejected": ...,
 *      "id": the record's id (when it has a usable one), "pair": [chosen index, rejected index]}
 *
 * (indices into the record's completions). The strings are copied byte for byte.
 *
 * A malformed record (not an object or not valid JSON, prompt/img_path/completions missing or
 * of the wrong type, completions of inconsistent shape, a response that is neither a string nor
 * null, more than SILKIE_VLFEEDBACK_MAX_COMPLETIONS completions, larger than max_record_bytes)
 * is counted and skipped; the first few are logged at WARN with their line.
 *
 * Thread safety: calls share no state; two conversions may run at once on different outputs. */
#ifndef SILKIE_SILKIE_TRAIN_DATA_H
#define SILKIE_SILKIE_TRAIN_DATA_H

#include "silkie/silkie.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Records with more completions than this are malformed (pairs grow with the square). */
#define SILKIE_VLFEEDBACK_MAX_COMPLETIONS 64

typedef enum silkie_vlfeedback_format {
    SILKIE_VLFEEDBACK_FORMAT_AUTO = 0,  /* '[' as the first non-blank byte: array; else JSONL */
    SILKIE_VLFEEDBACK_FORMAT_ARRAY = 1,
    SILKIE_VLFEEDBACK_FORMAT_JSONL = 2,
    SILKIE_VLFEEDBACK_FORMAT_MAX_ = 0x7fffffff
} silkie_vlfeedback_format;

typedef struct silkie_vlfeedback_params {
    uint32_t struct_size;             /* set by silkie_vlfeedback_params_init() */
    silkie_vlfeedback_format format;  /* init: AUTO */
    uint64_t max_record_bytes;        /* one record's JSON text; 0 = 64 MiB */
    /* new fields are added here, at the end, and nowhere else */
} silkie_vlfeedback_params;
SILKIE_API void silkie_vlfeedback_params_init_size(silkie_vlfeedback_params *p, size_t size);
static inline void silkie_vlfeedback_params_init(silkie_vlfeedback_params *p)
{
    silkie_vlfeedback_params_init_size(p, sizeof *p);
}

/* Counts of one conversion. Every skipped pair is counted under exactly one reason, so
 * pairs_written + all pairs_skipped_* = the sum over good records of n * (n - 1) / 2. */
typedef struct silkie_vlfeedback_stats {
    uint32_t struct_size;              /* set by silkie_vlfeedback_stats_init() */
    uint64_t records_read;             /* good and malformed; blank JSONL lines not counted */
    uint64_t records_malformed;
    uint64_t completions_read;         /* in good records */
    uint64_t pairs_written;
    uint64_t pairs_skipped_unparsable; /* a rating missing, not a number, NaN or Inf */
    uint64_t pairs_skipped_out_of_range; /* a rating outside [1, 5] */
    uint64_t pairs_skipped_empty;      /* an empty or null response */
    uint64_t pairs_skipped_equal;      /* equal mean ratings */
    uint64_t pairs_skipped_identical;  /* chosen and rejected are the same text */
    uint64_t first_malformed_line;     /* 1-based line where the first malformed record starts;
                                          0 when none */
    /* new fields are added here, at the end, and nowhere else */
} silkie_vlfeedback_stats;
SILKIE_API void silkie_vlfeedback_stats_init_size(silkie_vlfeedback_stats *s, size_t size);
static inline void silkie_vlfeedback_stats_init(silkie_vlfeedback_stats *s)
{
    silkie_vlfeedback_stats_init_size(s, sizeof *s);
}

/* Converts the VLFeedback file in_path into preference pairs at out_path. The output is written
 * to a temporary file in out_path's folder, synced and renamed over out_path, so out_path holds
 * either its old content or the whole new file; on failure it is left as it was. out_path NULL
 * only counts. p NULL means defaults. stats may be NULL; when given (struct_size set) it is
 * filled on success and on SILKIE_ERR_BAD_DATA/IO failures alike, as far as the input was read.
 * Errors: SILKIE_ERR_INVALID_ARGUMENT; SILKIE_ERR_IO (cannot read in_path, cannot write or
 * rename the output); SILKIE_ERR_BAD_DATA when the file has no record, every record is
 * malformed, no pair could be formed, or the array structure itself is broken (truncated,
 * missing commas, data after the closing bracket); SILKIE_ERR_OUT_OF_MEMORY. */
SILKIE_API silkie_status silkie_vlfeedback_convert(const char *in_path, const char *out_path,
                                                   const silkie_vlfeedback_params *p,
                                                   silkie_vlfeedback_stats *stats);

/* As silkie_vlfeedback_convert, reading size bytes at data (borrowed for the call only) instead
 * of a file. */
SILKIE_API silkie_status silkie_vlfeedback_convert_buffer(const void *data, size_t size,
                                                          const char *out_path,
                                                          const silkie_vlfeedback_params *p,
                                                          silkie_vlfeedback_stats *stats);

#ifdef __cplusplus
}
#endif
#endif /* SILKIE_SILKIE_TRAIN_DATA_H */
