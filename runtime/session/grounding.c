/* Grounding output: <ref>phrase</ref><box>(x1,y1),(x2,y2)</box> and <quad>, parse and strip. */
#include "text_int.h"

static const uint8_t *find(const uint8_t *s, const uint8_t *end, const char *needle)
{
    size_t nl = strlen(needle);
    while (s + nl <= end) {
        const uint8_t *p = memchr(s, needle[0], (size_t)(end - s));
        if (!p || p + nl > end) return NULL;
        if (memcmp(p, needle, nl) == 0) return p;
        s = p + 1;
    }
    return NULL;
}

/* Searches that only move forward, remembering their last answer: the first match at or after
 * `from` stays the answer while from has not passed it, and no match stays no match. Keeps
 * hostile text full of unclosed tags linear. */
typedef struct finder {
    const char *needle;
    const uint8_t *end;
    const uint8_t *hit;
    bool none;
} finder;

static const uint8_t *finder_next(finder *f, const uint8_t *from)
{
    if (f->none) return NULL;
    if (f->hit && f->hit >= from) return f->hit;
    f->hit = find(from, f->end, f->needle);
    f->none = f->hit == NULL;
    return f->hit;
}

static bool starts(const uint8_t *s, const uint8_t *end, const char *lit)
{
    size_t n = strlen(lit);
    return (size_t)(end - s) >= n && memcmp(s, lit, n) == 0;
}

static bool py_space(uint8_t c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

/* Like the reference: drop '(' and ')', split on ',', int() each field. */
static bool parse_coords(const uint8_t *s, const uint8_t *end, int32_t *v, uint32_t want)
{
    uint32_t n = 0;
    const uint8_t *p = s;
    for (;;) {
        /* one field, up to the next ',' or the end, parentheses ignored */
        int64_t val = 0;
        int digits = 0, sign = 1;
        bool seen_sign = false, done_digits = false, bad = false;
        bool lead = true;
        while (p < end && *p != ',') {
            uint8_t c = *p++;
            if (c == '(' || c == ')') continue;
            if (py_space(c)) {
                if (digits) done_digits = true;
                else if (seen_sign) bad = true;
                continue;
            }
            if (done_digits) bad = true;
            if ((c == '+' || c == '-') && lead && !seen_sign) {
                seen_sign = true;
                sign = c == '-' ? -1 : 1;
            } else if (c >= '0' && c <= '9' && digits < 9) {
                val = val * 10 + (c - '0');
                digits++;
            } else {
                bad = true;
            }
            lead = false;
        }
        if (bad || !digits || n >= want) return false;
        v[n++] = (int32_t)(sign * val);
        if (p == end) break;
        p++; /* the ',' */
    }
    return n == want;
}

static int32_t scale(int32_t x, uint32_t size)
{
    double v = (double)x / 1000.0 * (double)size; /* Python: int(x / 1000 * W), truncating */
    if (v >= 2147483647.0) return INT32_MAX;
    if (v <= -2147483648.0) return INT32_MIN;
    return (int32_t)v;
}

silkie_status silkie_grounding_parse(const char *text, size_t len, uint32_t width, uint32_t height,
                                     silkie_ground_box *boxes, uint32_t cap, uint32_t *n_boxes)
{
    silkie_error_clear();
    if ((!text && len) || (!boxes && cap) || !n_boxes)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "grounding_parse: text, boxes, n_boxes "
                                                    "required");
    *n_boxes = 0;
    if (!text) return SILKIE_OK;
    if (len > UINT32_MAX)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "grounding_parse: %zu-byte text", len);
    const uint8_t *s = (const uint8_t *)text, *end = s + len;
    uint32_t count = 0;
    /* a box belongs to the phrase of the <ref> that it follows directly or through other
     * boxes of the same phrase (the reference draws those in the phrase's colour) */
    const uint8_t *group_end = NULL;
    uint32_t ph_off = 0, ph_len = 0;
    finder ref_close = {"</ref>", end}, box_close = {"</box>", end};
    finder quad_close = {"</quad>", end};
    const uint8_t *p = s;
    while (p < end) {
        const uint8_t *lt = memchr(p, '<', (size_t)(end - p));
        if (!lt) break;
        p = lt;
        if (starts(p, end, "<ref>")) {
            const uint8_t *a = p + 5, *b = finder_next(&ref_close, a);
            if (!b) {
                p++;
                continue;
            }
            while (a < b && py_space(*a)) a++;
            const uint8_t *e = b;
            while (e > a && py_space(e[-1])) e--;
            ph_off = (uint32_t)(a - s);
            ph_len = (uint32_t)(e - a);
            p = b + 6;
            group_end = p;
            continue;
        }
        bool quad = starts(p, end, "<quad>");
        if (!quad && !starts(p, end, "<box>")) {
            p++;
            continue;
        }
        const uint8_t *a = p + (quad ? 6 : 5);
        const uint8_t *b = finder_next(quad ? &quad_close : &box_close, a);
        silkie_ground_box bx = {.n_points = quad ? 4 : 2};
        if (!b || (size_t)(b - a) > 256 || !parse_coords(a, b, bx.norm, 2 * bx.n_points)) {
            p++;
            group_end = NULL;
            continue;
        }
        const bool in_group = group_end == lt;
        if (in_group) {
            bx.phrase_offset = ph_off;
            bx.phrase_len = ph_len;
        }
        for (uint32_t k = 0; k < 2 * bx.n_points; k++)
            bx.pixel[k] = scale(bx.norm[k], k % 2 ? height : width);
        if (count < cap) boxes[count] = bx;
        count++;
        p = b + (quad ? 7 : 6);
        group_end = in_group ? p : NULL;
    }
    *n_boxes = count;
    return SILKIE_OK;
}

/* One group (open ... close, no newline inside) at p; returns its end or NULL. */
static const uint8_t *group_at(const uint8_t *p, const uint8_t *end, const char *open,
                               finder *close, finder *newline)
{
    if (!starts(p, end, open)) return NULL;
    const uint8_t *c = finder_next(close, p + strlen(open));
    if (!c) return NULL;
    const uint8_t *nl = finder_next(newline, p);
    if (nl && nl < c) return NULL;
    return c + strlen(close->needle);
}

silkie_status silkie_grounding_strip(const char *text, size_t len, char *out, size_t cap,
                                     size_t *out_len)
{
    silkie_error_clear();
    if ((!text && len) || !out || !out_len)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "grounding_strip: text, out, out_len "
                                                    "required");
    *out_len = 0;
    if (cap < len + 1)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "grounding_strip: cap %zu, need %zu", cap,
                       len + 1);
    const uint8_t *s = (const uint8_t *)text, *end = s + len;
    size_t o = 0;
    finder ref_close = {"</ref>", end}, box_close = {"</box>", end};
    finder quad_close = {"</quad>", end};
    finder newline = {"\n", end};
    const uint8_t *p = s;
    while (p < end) {
        const uint8_t *e = group_at(p, end, "<ref>", &ref_close, &newline);
        if (!e) {
            out[o++] = (char)*p++;
            continue;
        }
        size_t ph = (size_t)(e - 6 - (p + 5));
        memmove(out + o, p + 5, ph);
        o += ph;
        p = e;
        const uint8_t *g;
        while ((g = group_at(p, end, "<box>", &box_close, &newline))) p = g;
        while ((g = group_at(p, end, "<quad>", &quad_close, &newline))) p = g;
    }
    out[o] = 0;
    *out_len = o;
    return SILKIE_OK;
}
