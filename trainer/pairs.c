/* Preference JSONL reader: one {"images", "prompt", "chosen", "rejected"} object per line. */
#include <cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#define SK_LOG_MODULE "train"
#include "base/base.h"
#include "trainer_int.h"

#define MAX_LINE_BYTES ((size_t)64 << 20)
#define MAX_IMAGES 8

struct silkie_pref_reader {
    FILE *f;
    char *path;
    char *line;
    size_t cap;
    uint64_t line_no;
    cJSON *doc;
    const char *images[MAX_IMAGES];
};

silkie_status silkie_pref_reader_open(const char *path, silkie_pref_reader **out)
{
    if (!path || !out) return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "pref_reader: path, out");
    *out = NULL;
    silkie_pref_reader *r = SK_NEW(silkie_pref_reader);
    if (!r) return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "pref_reader");
    r->path = silkie_strdup(path);
    r->f = fopen(path, "rb");
    if (!r->f || !r->path) {
        silkie_status st = r->path ? SK_FAIL(SILKIE_ERR_IO, "%s: cannot open (%s)", path,
                                             strerror(errno))
                                   : SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "pref_reader");
        silkie_pref_reader_destroy(r);
        return st;
    }
    *out = r;
    return SILKIE_OK;
}

void silkie_pref_reader_destroy(silkie_pref_reader *r)
{
    if (!r) return;
    if (r->f) fclose(r->f);
    cJSON_Delete(r->doc);
    free(r->line); /* getline's buffer comes from the C library */
    silkie_free(r->path);
    silkie_free(r);
}

static silkie_status string_field(const silkie_pref_reader *r, const char *key, const char **out)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(r->doc, key);
    if (!cJSON_IsString(j))
        return SK_FAIL(SILKIE_ERR_BAD_DATA, "%s:%llu: \"%s\" is missing or not a string", r->path,
                       (unsigned long long)r->line_no, key);
    *out = j->valuestring;
    return SILKIE_OK;
}

static silkie_status parse_record(silkie_pref_reader *r, silkie_pref_pair *pair)
{
    if (!cJSON_IsObject(r->doc))
        return SK_FAIL(SILKIE_ERR_BAD_DATA, "%s:%llu: not a JSON object", r->path,
                       (unsigned long long)r->line_no);
    memset(pair, 0, sizeof *pair);
    SK_CHECK(string_field(r, "prompt", &pair->prompt));
    SK_CHECK(string_field(r, "chosen", &pair->chosen));
    SK_CHECK(string_field(r, "rejected", &pair->rejected));
    const cJSON *im = cJSON_GetObjectItemCaseSensitive(r->doc, "images");
    if (im && !cJSON_IsNull(im)) {
        if (!cJSON_IsArray(im))
            return SK_FAIL(SILKIE_ERR_BAD_DATA, "%s:%llu: \"images\" is not a list", r->path,
                           (unsigned long long)r->line_no);
        const cJSON *it;
        cJSON_ArrayForEach(it, im)
        {
            if (!cJSON_IsString(it) || !it->valuestring[0])
                return SK_FAIL(SILKIE_ERR_BAD_DATA, "%s:%llu: an image reference is not a name",
                               r->path, (unsigned long long)r->line_no);
            if (pair->n_images == MAX_IMAGES)
                return SK_FAIL(SILKIE_ERR_BAD_DATA, "%s:%llu: more than %d images", r->path,
                               (unsigned long long)r->line_no, MAX_IMAGES);
            r->images[pair->n_images++] = it->valuestring;
        }
    }
    pair->images = pair->n_images ? r->images : NULL;
    return SILKIE_OK;
}

silkie_status silkie_pref_reader_next(silkie_pref_reader *r, silkie_pref_pair *pair,
                                      uint64_t *line)
{
    if (!r || !pair) return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "pref_reader_next: arguments");
    cJSON_Delete(r->doc);
    r->doc = NULL;
    for (;;) {
        errno = 0;
        ssize_t n = getline(&r->line, &r->cap, r->f);
        if (n < 0) {
            if (ferror(r->f))
                return SK_FAIL(SILKIE_ERR_IO, "%s: read error (%s)", r->path, strerror(errno));
            return SK_FAIL(SILKIE_ERR_END_OF_STREAM, "%s: no more records", r->path);
        }
        r->line_no++;
        if (line) *line = r->line_no;
        if ((size_t)n > MAX_LINE_BYTES)
            return SK_FAIL(SILKIE_ERR_BAD_DATA, "%s:%llu: line longer than %zu bytes", r->path,
                           (unsigned long long)r->line_no, MAX_LINE_BYTES);
        size_t k = 0;
        while (k < (size_t)n && (r->line[k] == ' ' || r->line[k] == '\t' || r->line[k] == '\r' ||
                                 r->line[k] == '\n'))
            k++;
        if (k == (size_t)n) continue; /* blank line */
        r->doc = cJSON_ParseWithLength(r->line, (size_t)n);
        if (!r->doc)
            return SK_FAIL(SILKIE_ERR_BAD_DATA, "%s:%llu: malformed JSON", r->path,
                           (unsigned long long)r->line_no);
        return parse_record(r, pair);
    }
}
