/* Image-input fuzzing: JPEG / PPM / PNG / WebP / BMP / GIF decode (with EXIF and scaled JPEG
 * decode) and Motion-JPEG splitting. A libFuzzer target with -DSILKIE_FUZZ=ON (clang), and a
 * deterministic replay of seeds and seeded mutations in the normal suite (SK_FUZZ_REPLAY); the
 * seeds are built here (JPEG, PPM, MJPEG) and read from corpus/fuzz_image/ (the other formats).
 *
 * Input: byte 0 picks the mode and options, the rest is the file or stream. */
#include <stdio.h>
#include <stdlib.h>

#include "camera/camera.h"

static silkie_jpeg_decoder *g_dec;
static silkie_image g_img;

/* A few bytes of file may declare a canvas of the full 64 MP (a GIF's logical screen): reading
 * or rotating all of it takes seconds under the sanitizers and says nothing more, so above
 * this many pixels the checksum samples and the rotation is skipped. */
#define FUZZ_FULL_PIXELS (1u << 22)

static uint32_t checksum(const silkie_image *img)
{
    /* Reads the output bytes so the sanitizers see any buffer shorter than the decoded size:
     * all of them, or for a huge image the first and last rows and every 4099th byte. */
    uint32_t acc = 0;
    const size_t row = (size_t)img->width * img->channels, n = row * img->height;
    const int full = (size_t)img->width * img->height <= FUZZ_FULL_PIXELS;
    for (size_t i = 0; i < n; i += full || i < row || i >= n - row ? 1 : 4099)
        acc = acc * 31 + img->data[i];
    return acc;
}

static void decode_one(const uint8_t *d, size_t n, uint8_t opt)
{
    silkie_status st;
    switch (silkie_image_sniff(d, n)) {
    case SILKIE_IMAGE_KIND_JPEG: {
        silkie_jpeg_decode_opts o = { .grey = opt & 1 };
        if (opt & 2) o.min_width = o.min_height = 8u << (opt >> 4 & 3);
        st = silkie_jpeg_decode(g_dec, d, n, &o, &g_img);
        (void)silkie_exif_orientation(d, n);
        break;
    }
    case SILKIE_IMAGE_KIND_PPM: st = silkie_ppm_decode(d, n, opt & 1, &g_img); break;
    case SILKIE_IMAGE_KIND_PNG:
    case SILKIE_IMAGE_KIND_WEBP:
    case SILKIE_IMAGE_KIND_BMP:
    case SILKIE_IMAGE_KIND_GIF:
        st = silkie_image_decode(g_dec, d, n, "fuzz", &g_img);
        if (st != SILKIE_OK && (g_img.width || g_img.height)) abort(); /* stale size */
        if (st == SILKIE_OK && g_img.channels != 3) abort();
        break;
    default: st = silkie_jpeg_decode(g_dec, d, n, NULL, &g_img); break;
    }
    if (st == SILKIE_OK) {
        volatile uint32_t sink = checksum(&g_img);
        (void)sink;
        if ((opt & 4) && (size_t)g_img.width * g_img.height <= FUZZ_FULL_PIXELS) {
            silkie_image scratch;
            silkie_image_init(&scratch);
            (void)silkie_image_orient(&g_img, 1 + (opt >> 3) % 8, &scratch);
            silkie_image_release(&scratch);
        }
    } else if (st != SILKIE_ERR_BAD_IMAGE && st != SILKIE_ERR_OUT_OF_MEMORY) {
        fprintf(stderr, "unexpected status %s: %s\n", silkie_status_name(st), silkie_last_error());
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    if (!g_dec && silkie_jpeg_decoder_create(&g_dec) != SILKIE_OK) return 0;
    uint8_t mode = data[0];
    data++, size--;
    if (!(mode & 0x80)) {
        decode_one(data, size, mode);
        return 0;
    }
    /* MJPEG: feed in chunks of 1..64 bytes (from the mode byte), decode what comes out. */
    size_t chunk = 1 + (mode & 63);
    silkie_mjpeg_splitter sp;
    silkie_mjpeg_splitter_init(&sp, 1 << 16);
    size_t pos = 0;
    for (int guard = 0; guard < 1 << 20; guard++) {
        const uint8_t *f;
        size_t n;
        silkie_status st = silkie_mjpeg_splitter_next(&sp, pos >= size, &f, &n);
        if (st == SILKIE_OK) {
            if (n < 4 || f[0] != 0xFF || f[1] != 0xD8 || f[n - 2] != 0xFF || f[n - 1] != 0xD9)
                abort(); /* frames are always SOI ... EOI */
            decode_one(f, n, 0);
            continue;
        }
        if (st == SILKIE_ERR_END_OF_STREAM) break;
        if (st != SILKIE_ERR_AGAIN) abort();
        size_t k = SK_MIN(chunk, size - pos);
        if (silkie_mjpeg_splitter_feed(&sp, data + pos, k) != SILKIE_OK) break;
        pos += k;
    }
    silkie_mjpeg_splitter_release(&sp);
    return 0;
}

#ifdef SK_FUZZ_REPLAY
#include <turbojpeg.h>

#include "harness.h"

static uint8_t *encode(uint32_t w, uint32_t h, int samp, size_t *n)
{
    uint8_t *rgb = silkie_malloc((size_t)w * h * 3);
    for (size_t i = 0; i < (size_t)w * h * 3; i++) rgb[i] = (uint8_t)(i * 37 ^ i >> 5);
    tjhandle tj = tjInitCompress();
    unsigned char *buf = NULL;
    unsigned long len = 0;
    tjCompress2(tj, rgb, (int)w, 0, (int)h, TJPF_RGB, &buf, &len, samp, 75, 0);
    uint8_t *out = silkie_malloc(len + 1);
    memcpy(out, buf, len);
    *n = len;
    tjFree(buf);
    tjDestroy(tj);
    silkie_free(rgb);
    return out;
}

static void run(const uint8_t *d, size_t n)
{
    LLVMFuzzerTestOneInput(d, n);
}

typedef struct seeds {
    uint8_t *d[1024];
    size_t n[1024];
    int count;
} seeds;

/* The corpus files, in name order, after the built seeds. */
static void add_corpus_file(const char *name, const uint8_t *data, size_t n, void *user)
{
    seeds *s = user;
    SK_TEST_CHECK(s->count < 1024, "corpus file %s: more than 1024 seeds", name);
    if (s->count >= 1024) return;
    s->d[s->count] = silkie_malloc(n ? n : 1);
    if (!s->d[s->count]) return;
    if (n) memcpy(s->d[s->count], data, n);
    s->n[s->count++] = n;
}

int main(void)
{
    /* Built seeds get many mutations each, the campaign's corpus files a few. */
    enum { N_BUILT = 4, N_MUT = 2000, N_MUT_CORPUS = 16, MUT_CAP = 1 << 16 };
    static seeds sd;
    size_t a, b;
    uint8_t *j1 = encode(24, 16, TJSAMP_420, &a), *j2 = encode(17, 9, TJSAMP_444, &b);
    uint8_t **seed = sd.d;
    size_t *len = sd.n;
    /* Seed 0: mode 0 + JPEG; 1: PPM; 2: MJPEG of two frames; 3: progressive-like grey JPEG. */
    seed[0] = silkie_malloc(a + 1), seed[0][0] = 0x06, memcpy(seed[0] + 1, j1, a), len[0] = a + 1;
    static const char ppm[] = "\x01P6\n# c\n3 2\n255\n0123456789abcdefgh";
    seed[1] = silkie_malloc(sizeof ppm), memcpy(seed[1], ppm, sizeof ppm - 1);
    len[1] = sizeof ppm - 1;
    seed[2] = silkie_malloc(a + b + 8), seed[2][0] = 0x85;
    memcpy(seed[2] + 1, j1, a), memcpy(seed[2] + 1 + a, "xx", 2), memcpy(seed[2] + 3 + a, j2, b);
    len[2] = a + b + 3;
    seed[3] = silkie_malloc(b + 1), seed[3][0] = 0x13, memcpy(seed[3] + 1, j2, b), len[3] = b + 1;
    silkie_free(j1), silkie_free(j2);
    sd.count = N_BUILT;
    const int n_files = sk_for_each_file(SK_FUZZ_IMAGE_CORPUS, add_corpus_file, &sd);
    SK_TEST_CHECK(n_files >= 8, "corpus %s: %d files", SK_FUZZ_IMAGE_CORPUS, n_files);
    const int n_seeds = sd.count;

    sk_rng r;
    sk_rng_seed(&r, 20261126);
    uint8_t *m = silkie_malloc(MUT_CAP);
    uint64_t runs = 0;
    for (int s = 0; s < n_seeds; s++) {
        run(seed[s], len[s]);
        const int n_mut = s < N_BUILT ? N_MUT : N_MUT_CORPUS;
        for (int k = 0; k < n_mut && len[s] >= 2 && len[s] <= MUT_CAP; k++) {
            size_t n = len[s];
            memcpy(m, seed[s], n);
            int edits = 1 + (int)(sk_rng_u32(&r) % 4);
            for (int e = 0; e < edits; e++) {
                uint32_t op = sk_rng_u32(&r) % 4, at = 1 + sk_rng_u32(&r) % (uint32_t)(n - 1);
                if (op == 0) m[at] ^= (uint8_t)(1u << (sk_rng_u32(&r) % 8));
                else if (op == 1) m[at] = (uint8_t)sk_rng_u32(&r);
                else if (op == 2) n = at; /* truncate */
                else m[at] = 0xFF, m[(at + 1) % n] = (uint8_t)(0xC0 + sk_rng_u32(&r) % 64);
                if (n < 2) n = 2;
            }
            run(m, n);
            runs++;
        }
    }
    silkie_free(m);
    for (int s = 0; s < n_seeds; s++) silkie_free(seed[s]);
    silkie_image_release(&g_img);
    silkie_jpeg_decoder_destroy(g_dec);
    SK_TEST_CHECK(silkie_alloc_live() == 0, "%lld allocations leaked",
                  (long long)silkie_alloc_live());
    printf("fuzz_image_replay: %d seeds (%d corpus files), %llu mutated inputs\n", n_seeds,
           n_files, (unsigned long long)runs);
    return sk_test_result("fuzz_image_replay");
}
#endif
