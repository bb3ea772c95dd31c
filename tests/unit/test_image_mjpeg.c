/* Motion-JPEG splitting: frames come out whole under any chunking; truncated frames, corrupt
 * marker structure, garbage between frames and FF D9 inside APP segments are handled. */
#include <stdio.h>

#include "camera/camera.h"
#include "image_test_util.h"

typedef struct buf {
    uint8_t *p;
    size_t n, cap;
} buf;

static void put(buf *b, const void *d, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2;
        b->p = silkie_realloc(b->p, b->cap);
    }
    memcpy(b->p + b->n, d, n);
    b->n += n;
}

enum { N_FRAMES = 4 };
static uint8_t *g_jpg[N_FRAMES];
static size_t g_len[N_FRAMES];
static uint8_t *g_app; /* frame 0 with an APP15 segment holding FF D9 FF D8 */
static size_t g_app_len;

static void make_frames(void)
{
    for (int i = 0; i < N_FRAMES; i++) {
        uint8_t *rgb = sk_synth_rgb(32 + 8 * i, 24);
        g_jpg[i] = sk_encode_jpeg(rgb, 32 + 8 * i, 24, 80, &g_len[i]);
        silkie_free(rgb);
    }
    static const uint8_t app[] = { 0xFF, 0xEF, 0x00, 0x08, 0xFF, 0xD9, 0xFF, 0xD8, 0xFF, 0xD9 };
    g_app_len = g_len[0] + sizeof app;
    g_app = silkie_malloc(g_app_len);
    memcpy(g_app, g_jpg[0], 2);
    memcpy(g_app + 2, app, sizeof app);
    memcpy(g_app + 2 + sizeof app, g_jpg[0] + 2, g_len[0] - 2);
}

/* Splits `s` fed in `chunk`-byte pieces; checks the frames against want[]. */
static void split_check(const char *what, const buf *s, size_t chunk, const uint8_t **want,
                        const size_t *want_len, int n_want, uint64_t truncated, uint64_t corrupt)
{
    silkie_mjpeg_splitter sp;
    silkie_mjpeg_splitter_init(&sp, 1 << 20);
    int got = 0;
    size_t pos = 0;
    for (;;) {
        const uint8_t *f;
        size_t n;
        int eof = pos >= s->n;
        silkie_status st = silkie_mjpeg_splitter_next(&sp, eof, &f, &n);
        if (st == SILKIE_OK) {
            if (got < n_want)
                SK_TEST_CHECK(n == want_len[got] && memcmp(f, want[got], n) == 0,
                              "%s chunk %zu: frame %d differs (%zu bytes, want %zu)", what, chunk,
                              got, n, want_len[got]);
            got++;
            continue;
        }
        if (st == SILKIE_ERR_END_OF_STREAM) break;
        SK_TEST_CHECK(st == SILKIE_ERR_AGAIN, "%s: status %s", what, silkie_status_name(st));
        if (st != SILKIE_ERR_AGAIN) break;
        size_t k = SK_MIN(chunk, s->n - pos);
        SK_TEST_OK(silkie_mjpeg_splitter_feed(&sp, s->p + pos, k));
        pos += k;
    }
    SK_TEST_CHECK(got == n_want, "%s chunk %zu: %d frames, want %d", what, chunk, got, n_want);
    SK_TEST_CHECK(sp.n_truncated == truncated && sp.n_corrupt == corrupt,
                  "%s chunk %zu: truncated %llu corrupt %llu, want %llu %llu", what, chunk,
                  (unsigned long long)sp.n_truncated, (unsigned long long)sp.n_corrupt,
                  (unsigned long long)truncated, (unsigned long long)corrupt);
    silkie_mjpeg_splitter_release(&sp);
}

int main(void)
{
    make_frames();
    for (int i = 0; i < N_FRAMES; i++) SK_TEST_CHECK(g_jpg[i] != NULL, "encode %d", i);
    static const size_t chunks[] = { 1, 3, 7, 100, 4096, 1 << 20 };

    /* Clean stream with garbage around frames and an APP segment holding FF D9. */
    buf s = { 0 };
    put(&s, "junk", 4);
    put(&s, g_jpg[0], g_len[0]);
    put(&s, "\xFF\xFF\x00garbage\xFF", 11);
    put(&s, g_app, g_app_len);
    put(&s, g_jpg[1], g_len[1]);
    put(&s, "\xFF", 1);
    const uint8_t *w1[] = { g_jpg[0], g_app, g_jpg[1] };
    const size_t l1[] = { g_len[0], g_app_len, g_len[1] };
    for (size_t c = 0; c < SK_ARRAY_LEN(chunks); c++)
        split_check("clean", &s, chunks[c], w1, l1, 3, 0, 0);

    /* Truncated frames: cut inside entropy data, inside the headers, and at the end. */
    s.n = 0;
    put(&s, g_jpg[0], g_len[0] / 2);
    put(&s, g_jpg[1], g_len[1]);
    put(&s, g_jpg[2], 30);
    put(&s, g_jpg[3], g_len[3]);
    put(&s, g_jpg[2], g_len[2] - 1);
    const uint8_t *w2[] = { g_jpg[1], g_jpg[3] };
    const size_t l2[] = { g_len[1], g_len[3] };
    for (size_t c = 0; c < SK_ARRAY_LEN(chunks); c++)
        split_check("truncated", &s, chunks[c], w2, l2, 2, 3, 0);

    /* Corrupt marker structure: a non-marker byte where a segment should start, and a segment
     * length below 2. Both frames are dropped; the next ones are found again. */
    s.n = 0;
    SK_TEST_CHECK(g_jpg[0][20] == 0xFF, "JFIF header is not 20 bytes");
    put(&s, g_jpg[0], 20); /* SOI + APP0, then the DQT marker replaced */
    put(&s, "\x12\x34", 2);
    put(&s, g_jpg[0] + 22, g_len[0] - 22);
    put(&s, g_jpg[1], g_len[1]);
    put(&s, "\xFF\xD8\xFF\xE0\x00\x01", 6);
    put(&s, g_jpg[2], g_len[2]);
    const uint8_t *w3[] = { g_jpg[1], g_jpg[2] };
    const size_t l3[] = { g_len[1], g_len[2] };
    for (size_t c = 0; c < SK_ARRAY_LEN(chunks); c++)
        split_check("corrupt", &s, chunks[c], w3, l3, 2, 0, 2);

    /* A frame larger than the limit is dropped as corrupt. */
    silkie_mjpeg_splitter sp;
    silkie_mjpeg_splitter_init(&sp, 64);
    SK_TEST_OK(silkie_mjpeg_splitter_feed(&sp, g_jpg[0], g_len[0]));
    const uint8_t *f;
    size_t n;
    SK_TEST_STATUS(silkie_mjpeg_splitter_next(&sp, 1, &f, &n), SILKIE_ERR_END_OF_STREAM);
    SK_TEST_CHECK(sp.n_corrupt == 1, "oversized frame not counted");
    silkie_mjpeg_splitter_release(&sp);

    silkie_free(s.p);
    for (int i = 0; i < N_FRAMES; i++) silkie_free(g_jpg[i]);
    silkie_free(g_app);
    SK_TEST_CHECK(silkie_alloc_live() == 0, "%lld allocations leaked",
                  (long long)silkie_alloc_live());
    return sk_test_result("test_image_mjpeg");
}
