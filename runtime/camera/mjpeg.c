/* Motion-JPEG splitting by walking JPEG marker structure (see camera.h). */
#include "camera/camera.h"

void silkie_mjpeg_splitter_init(silkie_mjpeg_splitter *s, size_t max_frame)
{
    memset(s, 0, sizeof *s);
    s->max_frame = max_frame ? max_frame : (size_t)64 << 20;
}

void silkie_mjpeg_splitter_release(silkie_mjpeg_splitter *s)
{
    if (!s) return;
    silkie_free(s->buf);
    memset(s, 0, sizeof *s);
}

static void drop_front(silkie_mjpeg_splitter *s, size_t n)
{
    if (n > s->len) n = s->len;
    if (n == 0) return;
    memmove(s->buf, s->buf + n, s->len - n);
    s->len -= n;
}

silkie_status silkie_mjpeg_splitter_feed(silkie_mjpeg_splitter *s, const uint8_t *data,
                                         size_t size)
{
    if (size == 0) return SILKIE_OK;
    if (!data) return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "mjpeg: data required");
    /* The frame handed out last is consumed now, before the buffer may move. */
    if (s->frame_len) {
        drop_front(s, s->frame_len);
        s->frame_len = 0;
    }
    size_t need;
    if (!sk_add_size(s->len, size, &need))
        return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "mjpeg: buffer size overflow");
    if (need > s->cap) {
        size_t cap = s->cap ? s->cap : 65536;
        while (cap < need) cap *= 2;
        uint8_t *p = silkie_realloc(s->buf, cap);
        if (!p) return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "mjpeg: %zu bytes", cap);
        s->buf = p;
        s->cap = cap;
    }
    memcpy(s->buf + s->len, data, size);
    s->len += size;
    return SILKIE_OK;
}

/* Finds the next SOI (FF D8 FF) at or after `from`; drops the bytes before it. */
static int find_soi(silkie_mjpeg_splitter *s, size_t from)
{
    for (size_t i = from; i + 3 <= s->len; i++) {
        if (s->buf[i] == 0xFF && s->buf[i + 1] == 0xD8 && s->buf[i + 2] == 0xFF) {
            s->n_garbage_bytes += i - from;
            drop_front(s, i);
            s->in_frame = 1;
            s->in_entropy = 0;
            s->scan = 2;
            return 1;
        }
    }
    /* Keep a possible partial marker at the end. */
    size_t keep = s->len < 2 ? s->len : 2;
    if (s->len - keep > from) s->n_garbage_bytes += s->len - keep - from;
    drop_front(s, s->len - keep);
    return 0;
}

/* The frame at the front is broken: resynchronise on the next SOI after its first byte, so a
 * bogus segment length cannot swallow the frame that follows. */
static void resync(silkie_mjpeg_splitter *s)
{
    s->in_frame = 0;
    s->in_entropy = 0;
    find_soi(s, 1);
}

silkie_status silkie_mjpeg_splitter_next(silkie_mjpeg_splitter *s, int eof, const uint8_t **frame,
                                         size_t *size)
{
    if (s->frame_len) {
        drop_front(s, s->frame_len);
        s->frame_len = 0;
    }
    for (;;) {
        if (!s->in_frame && !find_soi(s, 0)) {
            if (eof) {
                s->n_garbage_bytes += s->len;
                s->len = 0;
                return SILKIE_ERR_END_OF_STREAM;
            }
            return SILKIE_ERR_AGAIN;
        }
        const uint8_t *b = s->buf;
        size_t i = s->scan;
        int restart = 0;
        while (!restart) {
            if (i > s->max_frame) {
                s->n_corrupt++;
                resync(s);
                restart = 1;
                break;
            }
            if (i + 2 > s->len) break; /* need more bytes */
            if (s->in_entropy) {
                if (b[i] != 0xFF) { i++; continue; }
                uint8_t m = b[i + 1];
                if (m == 0x00 || (m >= 0xD0 && m <= 0xD7)) { i += 2; continue; }
                if (m == 0xFF) { i++; continue; }
                s->in_entropy = 0; /* a real marker: handled below */
            }
            if (b[i] != 0xFF) {
                s->n_corrupt++;
                resync(s);
                restart = 1;
                break;
            }
            uint8_t m = b[i + 1];
            if (m == 0xFF) { i++; continue; } /* fill byte */
            if (m == 0xD9) {                  /* EOI: a whole frame */
                s->frame_len = i + 2;
                s->in_frame = 0;
                s->scan = 0;
                *frame = s->buf;
                *size = s->frame_len;
                return SILKIE_OK;
            }
            if (m == 0xD8) { /* SOI before EOI: the previous frame was cut short */
                s->n_truncated++;
                drop_front(s, i);
                s->in_frame = 1;
                s->in_entropy = 0;
                s->scan = 2;
                restart = 1;
                break;
            }
            if ((m >= 0xD0 && m <= 0xD7) || m == 0x01) { i += 2; continue; }
            if (i + 4 > s->len) break;
            size_t len = (size_t)b[i + 2] << 8 | b[i + 3];
            if (len < 2) {
                s->n_corrupt++;
                resync(s);
                restart = 1;
                break;
            }
            if (i + 2 + len > s->len) break; /* whole segment first, to look inside it */
            /* Table segments never hold FF D8 FF; one that seems to means this frame was cut
             * and its "length" runs into the next frame. APPn and COM may embed thumbnails. */
            if (!(m >= 0xE0 && m <= 0xEF) && m != 0xFE) {
                size_t soi = 0;
                for (size_t k = i + 4; k + 3 <= i + 2 + len && !soi; k++)
                    if (b[k] == 0xFF && b[k + 1] == 0xD8 && b[k + 2] == 0xFF) soi = k;
                if (soi) {
                    s->n_truncated++;
                    drop_front(s, soi);
                    s->in_frame = 1;
                    s->in_entropy = 0;
                    s->scan = 2;
                    restart = 1;
                    break;
                }
            }
            if (m == 0xDA) s->in_entropy = 1;
            i += 2 + len;
        }
        if (restart) continue;
        s->scan = i;
        if (eof) {
            s->n_truncated++;
            s->len = 0;
            s->in_frame = 0;
            s->in_entropy = 0;
            return SILKIE_ERR_END_OF_STREAM;
        }
        return SILKIE_ERR_AGAIN;
    }
}
