/* VLFeedback records -> preference pairs (spec §9.3). Records are cut out of the input one at a
 * time, so memory follows the largest record rather than the file (the full dataset is large). */
#include <cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define SK_LOG_MODULE "train"
#include "base/base.h"
#include "base/outfile.h"
#include "silkie/silkie_train_data.h"

#define READ_CHUNK ((size_t)1 << 16)
#define DEFAULT_MAX_RECORD ((uint64_t)64 << 20)
#define MAX_LOGGED 3

static const char *const k_aspects[3] = {"Helpfulness", "Ethical Considerations",
                                         "Visual Faithfulness"};

/* ---- input: a file read in chunks, or a caller's buffer ---------------------------------- */

typedef struct src {
    FILE *f;            /* NULL: p/len is the whole input */
    const uint8_t *p;
    size_t pos, len;
    uint8_t *buf;       /* READ_CHUNK bytes when reading a file */
    int io_err;         /* errno of a failed read */
    uint64_t line;      /* 1-based line of the next byte */
} src;

static int src_peek(src *s)
{
    if (s->pos == s->len) {
        if (!s->f || s->io_err) return -1;
        size_t n = fread(s->buf, 1, READ_CHUNK, s->f);
        if (n == 0) {
            if (ferror(s->f)) s->io_err = errno ? errno : EIO;
            return -1;
        }
        s->p = s->buf;
        s->pos = 0;
        s->len = n;
    }
    return s->p[s->pos];
}

static int src_get(src *s)
{
    int c = src_peek(s);
    if (c >= 0) {
        s->pos++;
        if (c == '\n') s->line++;
    }
    return c;
}

static bool is_ws(int c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

static void skip_ws(src *s)
{
    while (is_ws(src_peek(s))) src_get(s);
}

/* ---- one record's text -------------------------------------------------------------------- */

typedef struct rec_buf {
    char *b;
    size_t n, cap;
    size_t max;   /* record text limit in bytes */
    bool over;    /* the record is longer than max; the rest of it is dropped */
    bool oom;
} rec_buf;

static void rb_append(rec_buf *r, const void *p, size_t n)
{
    if (r->over || !n) return;
    if (n > r->max - r->n) {
        r->over = true;
        return;
    }
    if (r->n + n + 1 > r->cap) { /* +1: the terminating NUL cJSON is given */
        size_t cap = r->cap ? r->cap : 4096;
        while (cap < r->n + n + 1) cap = cap > r->max / 2 ? r->max + 1 : cap * 2;
        char *b = silkie_realloc(r->b, cap);
        if (!b) {
            r->oom = r->over = true;
            return;
        }
        r->b = b;
        r->cap = cap;
    }
    memcpy(r->b + r->n, p, n);
    r->n += n;
}

/* Cuts one JSON value of an array out of the input into rb, tracking only strings and bracket
 * depth; cJSON judges the rest. Returns false when the input ends inside the value. */
static bool scan_value(src *s, rec_buf *rb)
{
    int c = src_peek(s);
    if (c < 0) return false;
    if (c != '{' && c != '[' && c != '"') { /* a scalar runs to the next delimiter */
        while ((c = src_peek(s)) >= 0 && c != ',' && c != ']' && !is_ws(c)) {
            uint8_t b = (uint8_t)c;
            rb_append(rb, &b, 1);
            src_get(s);
        }
        return true;
    }
    uint64_t depth = 0;
    bool in_str = false, esc = false;
    for (;;) {
        if (src_peek(s) < 0) return false;
        const uint8_t *p = s->p + s->pos;
        size_t avail = s->len - s->pos, k = 0;
        bool done = false;
        while (k < avail && !done) {
            uint8_t b = p[k++];
            if (b == '\n') s->line++;
            if (in_str) {
                if (esc) esc = false;
                else if (b == '\\') esc = true;
                else if (b == '"') in_str = false, done = depth == 0;
            } else if (b == '"') {
                in_str = true;
            } else if (b == '{' || b == '[') {
                depth++;
            } else if (b == '}' || b == ']') {
                done = --depth == 0; /* depth >= 1 here: the value opened with a bracket */
            }
        }
        rb_append(rb, p, k);
        s->pos += k;
        if (done) return true;
    }
}

/* One line (without its '\n') into rb. */
static void scan_line(src *s, rec_buf *rb)
{
    while (src_peek(s) >= 0) {
        const uint8_t *p = s->p + s->pos;
        size_t avail = s->len - s->pos;
        const uint8_t *nl = memchr(p, '\n', avail);
        size_t k = nl ? (size_t)(nl - p) : avail;
        rb_append(rb, p, k);
        s->pos += k;
        if (nl) {
            src_get(s);
            return;
        }
    }
}

/* ---- output ------------------------------------------------------------------------------ */

/* The output file (base/outfile.h). Writes after a failure are dropped; the failure is reported
 * once the record is done (handle_record) and again by commit. */
typedef struct sink {
    silkie_outfile *f; /* NULL: count only */
    silkie_status st;  /* first failed write */
} sink;

static silkie_status sink_open(sink *k, const char *path)
{
    k->st = SILKIE_OK;
    return silkie_outfile_open(path, &k->f);
}

static void sink_abort(sink *k)
{
    silkie_outfile_abort(k->f);
    k->f = NULL;
}

static silkie_status sink_commit(sink *k)
{
    silkie_status st = silkie_outfile_commit(k->f); /* also reports a failed write */
    k->f = NULL;
    return st;
}

static void sink_write(sink *k, const void *p, size_t n)
{
    if (!k->f || k->st != SILKIE_OK || !n) return;
    k->st = silkie_outfile_write(k->f, p, n);
}

static void sink_puts(sink *k, const char *s) { sink_write(k, s, strlen(s)); }

/* A JSON string literal. Bytes >= 0x80 pass through, so the text comes back byte for byte
 * (cJSON does not check UTF-8 either way). */
static void sink_json_string(sink *k, const char *s)
{
    sink_write(k, "\"", 1);
    const char *run = s;
    for (const char *p = s; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        sink_write(k, run, (size_t)(p - run));
        char esc[8];
        switch (c) {
        case '"': memcpy(esc, "\\\"", 3); break;
        case '\\': memcpy(esc, "\\\\", 3); break;
        case '\n': memcpy(esc, "\\n", 3); break;
        case '\r': memcpy(esc, "\\r", 3); break;
        case '\t': memcpy(esc, "\\t", 3); break;
        default: snprintf(esc, sizeof esc, "\\u%04x", c); break;
        }
        sink_puts(k, esc);
        run = p + 1;
    }
    sink_puts(k, run);
    sink_write(k, "\"", 1);
}

/* ---- records ----------------------------------------------------------------------------- */

/* Ordered so that a pair's reason is the larger of its two completions' states. */
enum { COMP_OK, COMP_EMPTY, COMP_OUT_OF_RANGE, COMP_UNPARSABLE };

typedef struct completion {
    const char *response; /* borrowed from the record's cJSON tree */
    int state;
    double mean;
} completion;

typedef struct record {
    const cJSON *id;
    const char *prompt, *img_path;
    completion c[SILKIE_VLFEEDBACK_MAX_COMPLETIONS];
    uint32_t n;
} record;

/* Decimal text as Python's float() reads it, minus nan/inf (those fail the rating check
 * anyway) and underscores. No strtod: it follows the C locale's decimal point. With up to 19
 * significant digits and a small exponent the result is one exact division or product, so it
 * is correctly rounded ("4.50" and "4.5" give the same double); beyond that it is close. */
static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static bool parse_decimal(const char *s, double *out)
{
    while (is_space(*s)) s++;
    bool neg = *s == '-';
    if (*s == '+' || *s == '-') s++;
    uint64_t mant = 0;
    long scale = 0; /* value = mant * 10^(scale + exponent) */
    int sig = 0, digits = 0;
    for (; *s >= '0' && *s <= '9'; s++, digits++) {
        if (sig < 19) {
            mant = mant * 10 + (uint64_t)(*s - '0');
            sig += mant != 0;
        } else {
            scale++;
        }
    }
    if (*s == '.')
        for (s++; *s >= '0' && *s <= '9'; s++, digits++)
            if (sig < 19) {
                mant = mant * 10 + (uint64_t)(*s - '0');
                sig += mant != 0;
                scale--;
            }
    if (!digits) return false;
    long ex = 0;
    if (*s == 'e' || *s == 'E') {
        s++;
        bool eneg = *s == '-';
        if (*s == '+' || *s == '-') s++;
        if (*s < '0' || *s > '9') return false;
        for (; *s >= '0' && *s <= '9'; s++) ex = ex < 100000 ? ex * 10 + (*s - '0') : ex;
        if (eneg) ex = -ex;
    }
    while (is_space(*s)) s++;
    if (*s) return false;
    static const double p10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                 1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    long e = scale + ex;
    double v = (double)mant;
    if (mant == 0) v = 0;
    else if (mant < ((uint64_t)1 << 53) && e >= -22 && e <= 22)
        v = e < 0 ? v / p10[-e] : v * p10[e];
    else v = e < 0 ? v / pow(10.0, (double)-e) : v * pow(10.0, (double)e);
    *out = neg ? -v : v;
    return true;
}

/* COMP_OK with the rating in *v, or why it cannot be used. */
static int rating_value(const cJSON *j, double *v)
{
    if (cJSON_IsObject(j)) j = cJSON_GetObjectItemCaseSensitive(j, "Rating");
    double x;
    if (cJSON_IsNumber(j)) x = j->valuedouble;
    else if (!cJSON_IsString(j) || !parse_decimal(j->valuestring, &x)) return COMP_UNPARSABLE;
    if (!isfinite(x)) return COMP_UNPARSABLE;
    if (x < 1.0 || x > 5.0) return COMP_OUT_OF_RANGE;
    *v = x;
    return COMP_OK;
}

/* NULL, or why the completion makes its record malformed. */
static const char *completion_read(const cJSON *resp, const cJSON *ann, completion *c)
{
    if (cJSON_IsString(resp)) c->response = resp->valuestring;
    else if (cJSON_IsNull(resp)) c->response = "";
    else return "a completion's \"response\" is missing or not a string";
    int state = COMP_OK;
    double sum = 0;
    for (int a = 0; a < 3; a++) {
        const cJSON *j = cJSON_IsObject(ann)
                             ? cJSON_GetObjectItemCaseSensitive(ann, k_aspects[a])
                             : NULL;
        double v = 0;
        int s = rating_value(j, &v);
        state = SK_MAX(state, s);
        sum += v;
    }
    if (state == COMP_OK && !c->response[0]) state = COMP_EMPTY;
    c->state = state;
    c->mean = sum / 3.0;
    return NULL;
}

static const char *record_read(const cJSON *doc, record *r)
{
    if (!cJSON_IsObject(doc)) return "not a JSON object";
    const cJSON *prompt = cJSON_GetObjectItemCaseSensitive(doc, "prompt");
    const cJSON *img = cJSON_GetObjectItemCaseSensitive(doc, "img_path");
    const cJSON *comp = cJSON_GetObjectItemCaseSensitive(doc, "completions");
    if (!cJSON_IsString(prompt)) return "\"prompt\" is missing or not a string";
    if (!cJSON_IsString(img) || !img->valuestring[0])
        return "\"img_path\" is missing, empty or not a string";
    r->prompt = prompt->valuestring;
    r->img_path = img->valuestring;
    r->id = cJSON_GetObjectItemCaseSensitive(doc, "id");
    r->n = 0;
    if (cJSON_IsArray(comp)) {
        const cJSON *it;
        cJSON_ArrayForEach(it, comp)
        {
            if (r->n == SILKIE_VLFEEDBACK_MAX_COMPLETIONS) return "too many completions";
            if (!cJSON_IsObject(it)) return "a completion is not an object";
            const char *why = completion_read(cJSON_GetObjectItemCaseSensitive(it, "response"),
                                              cJSON_GetObjectItemCaseSensitive(it, "annotations"),
                                              &r->c[r->n]);
            if (why) return why;
            r->n++;
        }
        return NULL;
    }
    if (!cJSON_IsObject(comp)) return "\"completions\" is missing or not a list or an object";
    /* Hugging Face datasets' layout: parallel lists. */
    const cJSON *resp = cJSON_GetObjectItemCaseSensitive(comp, "response");
    const cJSON *ann = cJSON_GetObjectItemCaseSensitive(comp, "annotations");
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(comp, "model");
    if (!cJSON_IsArray(resp) || !cJSON_IsArray(ann))
        return "\"completions\" lacks the \"response\" and \"annotations\" lists";
    if (model && !cJSON_IsNull(model) && !cJSON_IsArray(model))
        return "\"completions\".\"model\" is not a list";
    const cJSON *a = ann->child, *m = cJSON_IsArray(model) ? model->child : NULL;
    const cJSON *it;
    cJSON_ArrayForEach(it, resp)
    {
        if (!a || (cJSON_IsArray(model) && !m)) return "\"completions\" lists differ in length";
        if (r->n == SILKIE_VLFEEDBACK_MAX_COMPLETIONS) return "too many completions";
        const char *why = completion_read(it, a, &r->c[r->n]);
        if (why) return why;
        r->n++;
        a = a->next;
        if (m) m = m->next;
    }
    if (a || m) return "\"completions\" lists differ in length";
    return NULL;
}

/* ---- conversion -------------------------------------------------------------------------- */

typedef struct conv {
    src in;
    rec_buf rb;
    sink out;
    silkie_vlfeedback_stats st;
    const char *what;  /* input name for messages */
    record rec;
} conv;

static void write_id(sink *k, const cJSON *id)
{
    if (cJSON_IsString(id)) {
        sink_puts(k, ", \"id\": ");
        sink_json_string(k, id->valuestring);
    } else if (cJSON_IsNumber(id) && id->valuedouble == floor(id->valuedouble) &&
               fabs(id->valuedouble) <= 9007199254740992.0) {
        /* Integers only: %g would follow the C locale's decimal point. */
        char num[48];
        snprintf(num, sizeof num, ", \"id\": %lld", (long long)id->valuedouble);
        sink_puts(k, num);
    }
}

static void write_pair(conv *cv, uint32_t ci, uint32_t ri)
{
    const record *r = &cv->rec;
    sink *k = &cv->out;
    sink_puts(k, "{\"images\": [");
    sink_json_string(k, r->img_path);
    sink_puts(k, "], \"prompt\": ");
    sink_json_string(k, r->prompt);
    sink_puts(k, ", \"chosen\": ");
    sink_json_string(k, r->c[ci].response);
    sink_puts(k, ", \"rejected\": ");
    sink_json_string(k, r->c[ri].response);
    write_id(k, r->id);
    char tail[48];
    snprintf(tail, sizeof tail, ", \"pair\": [%u, %u]}\n", ci, ri);
    sink_puts(k, tail);
}

static void make_pairs(conv *cv)
{
    const record *r = &cv->rec;
    silkie_vlfeedback_stats *st = &cv->st;
    st->completions_read += r->n;
    for (uint32_t i = 0; i < r->n; i++)
        for (uint32_t j = i + 1; j < r->n; j++) {
            const completion *a = &r->c[i], *b = &r->c[j];
            switch (SK_MAX(a->state, b->state)) {
            case COMP_UNPARSABLE: st->pairs_skipped_unparsable++; continue;
            case COMP_OUT_OF_RANGE: st->pairs_skipped_out_of_range++; continue;
            case COMP_EMPTY: st->pairs_skipped_empty++; continue;
            default: break;
            }
            if (a->mean == b->mean) {
                st->pairs_skipped_equal++;
                continue;
            }
            uint32_t ci = a->mean > b->mean ? i : j, ri = ci == i ? j : i;
            if (!strcmp(r->c[ci].response, r->c[ri].response)) {
                st->pairs_skipped_identical++;
                continue;
            }
            write_pair(cv, ci, ri);
            st->pairs_written++;
        }
}

static void malformed(conv *cv, uint64_t line, const char *why)
{
    silkie_vlfeedback_stats *st = &cv->st;
    if (!st->records_malformed) st->first_malformed_line = line;
    if (st->records_malformed < MAX_LOGGED)
        SK_LOGW("%s:%llu: record skipped: %s", cv->what, (unsigned long long)line, why);
    st->records_malformed++;
}

/* Judges the record in cv->rb (starting at line) and writes its pairs. */
static silkie_status handle_record(conv *cv, uint64_t line)
{
    rec_buf *rb = &cv->rb;
    cv->st.records_read++;
    if (rb->oom)
        return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "%s:%llu: no memory for the record's text",
                       cv->what, (unsigned long long)line);
    if (rb->over) {
        malformed(cv, line, "record larger than the limit");
        return SILKIE_OK;
    }
    if (!rb->n) {
        malformed(cv, line, "empty record");
        return SILKIE_OK;
    }
    rb->b[rb->n] = 0;
    /* The length covers the NUL so that require_null_terminated rejects trailing text. */
    cJSON *doc = cJSON_ParseWithLengthOpts(rb->b, rb->n + 1, NULL, 1);
    const char *why = doc ? record_read(doc, &cv->rec) : "not valid JSON";
    if (why) malformed(cv, line, why);
    else make_pairs(cv);
    cJSON_Delete(doc);
    if (cv->out.st != SILKIE_OK) /* the message names the file; nothing since has replaced it */
        return cv->out.st;
    return SILKIE_OK;
}

static void rb_reset(rec_buf *rb)
{
    rb->n = 0;
    rb->over = false;
}

static silkie_status read_jsonl(conv *cv)
{
    src *s = &cv->in;
    while (src_peek(s) >= 0) {
        uint64_t line = s->line;
        rb_reset(&cv->rb);
        scan_line(s, &cv->rb);
        bool blank = !cv->rb.over;
        for (size_t i = 0; blank && i < cv->rb.n; i++) blank = is_ws((unsigned char)cv->rb.b[i]);
        if (blank) continue;
        SK_CHECK(handle_record(cv, line));
    }
    return SILKIE_OK;
}

static silkie_status read_array(conv *cv)
{
    src *s = &cv->in;
    const char *what = cv->what;
    skip_ws(s);
    if (src_get(s) != '[')
        return SK_FAIL(SILKIE_ERR_BAD_DATA, "%s:%llu: not a JSON array", what,
                       (unsigned long long)s->line);
    skip_ws(s);
    if (src_peek(s) == ']') {
        src_get(s);
    } else {
        for (;;) {
            uint64_t line = s->line;
            int c = src_peek(s);
            if (c == ',' || c == ']')
                return SK_FAIL(SILKIE_ERR_BAD_DATA, "%s:%llu: a value is missing in the array",
                               what, (unsigned long long)line);
            rb_reset(&cv->rb);
            if (!scan_value(s, &cv->rb)) {
                if (s->io_err) return SILKIE_OK; /* reported by the caller */
                return SK_FAIL(SILKIE_ERR_BAD_DATA, "%s:%llu: the input ends inside a record",
                               what, (unsigned long long)line);
            }
            SK_CHECK(handle_record(cv, line));
            skip_ws(s);
            c = src_get(s);
            if (c == ']') break;
            if (c < 0 && s->io_err) return SILKIE_OK;
            if (c != ',')
                return SK_FAIL(SILKIE_ERR_BAD_DATA, "%s:%llu: %s", what,
                               (unsigned long long)s->line,
                               c < 0 ? "the array is not closed" : "expected ',' or ']'");
            skip_ws(s);
        }
    }
    skip_ws(s);
    if (src_peek(s) >= 0)
        return SK_FAIL(SILKIE_ERR_BAD_DATA, "%s:%llu: data after the closing ']'", what,
                       (unsigned long long)s->line);
    return SILKIE_OK;
}

static silkie_status convert(conv *cv, silkie_vlfeedback_format fmt, const char *out_path)
{
    src *s = &cv->in;
    s->line = 1;
    if (src_peek(s) >= 0 && s->len - s->pos >= 3 && !memcmp(s->p + s->pos, "\xef\xbb\xbf", 3))
        s->pos += 3; /* UTF-8 byte order mark */
    if (fmt == SILKIE_VLFEEDBACK_FORMAT_AUTO) {
        skip_ws(s);
        fmt = src_peek(s) == '[' ? SILKIE_VLFEEDBACK_FORMAT_ARRAY : SILKIE_VLFEEDBACK_FORMAT_JSONL;
    }
    if (out_path) SK_CHECK(sink_open(&cv->out, out_path));
    silkie_status st = fmt == SILKIE_VLFEEDBACK_FORMAT_ARRAY ? read_array(cv) : read_jsonl(cv);
    const silkie_vlfeedback_stats *c = &cv->st;
    if (st == SILKIE_OK && s->io_err)
        st = SK_FAIL(SILKIE_ERR_IO, "%s: read error (%s)", cv->what, strerror(s->io_err));
    else if (st == SILKIE_OK && !c->records_read)
        st = SK_FAIL(SILKIE_ERR_BAD_DATA, "%s: no records", cv->what);
    else if (st == SILKIE_OK && c->records_malformed == c->records_read)
        st = SK_FAIL(SILKIE_ERR_BAD_DATA, "%s: all %llu records are malformed (the first at line "
                     "%llu)", cv->what, (unsigned long long)c->records_read,
                     (unsigned long long)c->first_malformed_line);
    else if (st == SILKIE_OK && !c->pairs_written)
        st = SK_FAIL(SILKIE_ERR_BAD_DATA, "%s: no preference pair could be formed from %llu "
                     "records", cv->what, (unsigned long long)c->records_read);
    if (c->records_malformed > MAX_LOGGED)
        SK_LOGW("%s: %llu malformed records skipped in all", cv->what,
                (unsigned long long)c->records_malformed);
    if (!out_path) return st;
    if (st != SILKIE_OK) {
        sink_abort(&cv->out);
        return st;
    }
    return sink_commit(&cv->out);
}

void silkie_vlfeedback_params_init_size(silkie_vlfeedback_params *p, size_t size)
{
    silkie_vlfeedback_params d = {0};
    d.format = SILKIE_VLFEEDBACK_FORMAT_AUTO;
    sk_params_fill(p, size, &d, sizeof d);
}

void silkie_vlfeedback_stats_init_size(silkie_vlfeedback_stats *s, size_t size)
{
    silkie_vlfeedback_stats d = {0};
    sk_params_fill(s, size, &d, sizeof d);
}

/* Checks the arguments shared by both entry points and prepares cv. */
static silkie_status begin(conv *cv, const silkie_vlfeedback_params *p,
                           const silkie_vlfeedback_stats *stats, silkie_vlfeedback_format *fmt)
{
    silkie_vlfeedback_params q;
    silkie_vlfeedback_params_init(&q);
    if (p) {
        if (p->struct_size < sizeof p->struct_size)
            return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "vlfeedback: params struct_size not set");
        memcpy(&q, p, SK_MIN((size_t)p->struct_size, sizeof q));
        q.struct_size = sizeof q;
    }
    if (stats && stats->struct_size < sizeof stats->struct_size)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "vlfeedback: stats struct_size not set");
    if ((uint32_t)q.format > SILKIE_VLFEEDBACK_FORMAT_JSONL)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "vlfeedback: format %u unknown",
                       (unsigned)q.format);
    uint64_t max = q.max_record_bytes ? q.max_record_bytes : DEFAULT_MAX_RECORD;
    cv->rb.max = (size_t)SK_MIN(max, (uint64_t)(SIZE_MAX / 4));
    silkie_vlfeedback_stats_init(&cv->st);
    *fmt = q.format;
    return SILKIE_OK;
}

static void finish(conv *cv, silkie_vlfeedback_stats *stats)
{
    if (stats) {
        uint32_t size = stats->struct_size;
        memcpy(stats, &cv->st, SK_MIN((size_t)size, sizeof cv->st));
        stats->struct_size = size;
    }
    silkie_free(cv->rb.b);
    silkie_free(cv->in.buf);
    silkie_free(cv);
}

silkie_status silkie_vlfeedback_convert(const char *in_path, const char *out_path,
                                        const silkie_vlfeedback_params *p,
                                        silkie_vlfeedback_stats *stats)
{
    silkie_error_clear();
    if (!in_path) return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "vlfeedback_convert: in_path");
    conv *cv = SK_NEW(conv);
    if (!cv) return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "vlfeedback_convert");
    silkie_vlfeedback_format fmt;
    silkie_status st = begin(cv, p, stats, &fmt);
    if (st != SILKIE_OK) {
        finish(cv, NULL);
        return st;
    }
    cv->what = in_path;
    cv->in.buf = silkie_malloc(READ_CHUNK);
    cv->in.f = cv->in.buf ? fopen(in_path, "rb") : NULL;
    if (!cv->in.buf) st = SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "vlfeedback_convert: read buffer");
    else if (!cv->in.f)
        st = SK_FAIL(SILKIE_ERR_IO, "%s: cannot open (%s)", in_path, strerror(errno));
    else st = convert(cv, fmt, out_path);
    if (cv->in.f) fclose(cv->in.f);
    finish(cv, stats);
    return st;
}

silkie_status silkie_vlfeedback_convert_buffer(const void *data, size_t size,
                                               const char *out_path,
                                               const silkie_vlfeedback_params *p,
                                               silkie_vlfeedback_stats *stats)
{
    silkie_error_clear();
    if (!data && size)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "vlfeedback_convert_buffer: data");
    conv *cv = SK_NEW(conv);
    if (!cv) return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "vlfeedback_convert_buffer");
    silkie_vlfeedback_format fmt;
    silkie_status st = begin(cv, p, stats, &fmt);
    if (st != SILKIE_OK) {
        finish(cv, NULL);
        return st;
    }
    cv->what = "buffer";
    cv->in.p = data;
    cv->in.len = size;
    st = convert(cv, fmt, out_path);
    finish(cv, stats);
    return st;
}
