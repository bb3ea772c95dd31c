/* libFuzzer target: the VLFeedback converter (silkie_vlfeedback_convert_buffer). What it writes
 * must read back through silkie_pref_reader, one pair per line; a failure must leave no file. */
#include <string.h>

#include "fuzz_train_common.h"
#include "silkie/silkie_train.h"

#ifndef SK_FUZZ_ENTRY
#define SK_FUZZ_ENTRY LLVMFuzzerTestOneInput
#endif

int SK_FUZZ_ENTRY(const uint8_t *data, size_t size);
int SK_FUZZ_ENTRY(const uint8_t *data, size_t size)
{
    const char *out = sk_fuzz_scratch("vlf");
    silkie_vlfeedback_stats s;
    silkie_vlfeedback_stats_init(&s);
    silkie_status st = silkie_vlfeedback_convert_buffer(data, size, out, NULL, &s);
    SK_FUZZ_REQUIRE(s.records_malformed <= s.records_read, "%llu malformed of %llu",
                    (unsigned long long)s.records_malformed, (unsigned long long)s.records_read);
    if (st == SILKIE_OK) {
        SK_FUZZ_REQUIRE(s.pairs_written > 0 && s.records_malformed < s.records_read, "ok, empty");
        silkie_pref_reader *r = NULL;
        SK_FUZZ_REQUIRE(silkie_pref_reader_open(out, &r) == SILKIE_OK, "%s", silkie_last_error());
        silkie_pref_pair p;
        uint64_t n = 0, line = 0;
        while ((st = silkie_pref_reader_next(r, &p, &line)) == SILKIE_OK) {
            SK_FUZZ_REQUIRE(p.n_images == 1 && p.images[0][0], "image");
            SK_FUZZ_REQUIRE(p.chosen[0] && p.rejected[0] && strcmp(p.chosen, p.rejected),
                            "responses");
            n++;
        }
        SK_FUZZ_REQUIRE(st == SILKIE_ERR_END_OF_STREAM, "line %llu: %s", (unsigned long long)line,
                        silkie_last_error());
        SK_FUZZ_REQUIRE(n == s.pairs_written && line == n, "%llu pairs read, %llu written",
                        (unsigned long long)n, (unsigned long long)s.pairs_written);
        silkie_pref_reader_destroy(r);
        unlink(out);
    } else {
        SK_FUZZ_REQUIRE(st == SILKIE_ERR_BAD_DATA, "status %s: %s", silkie_status_name(st),
                        silkie_last_error());
        SK_FUZZ_REQUIRE(access(out, F_OK) != 0, "output written on failure");
    }
    /* The other format, counting only, with a record limit the input can reach. */
    silkie_vlfeedback_params p;
    silkie_vlfeedback_params_init(&p);
    p.format = size && data[0] == '[' ? SILKIE_VLFEEDBACK_FORMAT_JSONL
                                      : SILKIE_VLFEEDBACK_FORMAT_ARRAY;
    p.max_record_bytes = 16 + size % 509;
    (void)silkie_vlfeedback_convert_buffer(data, size, NULL, &p, NULL);
    return 0;
}
