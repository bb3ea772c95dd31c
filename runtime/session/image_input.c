/* Image bytes -> the vision tower's input, exactly as the reference preprocesses: decode to
 * RGB (no EXIF rotation), Pillow BICUBIC resize to the model's square size, CLIP normalise. */
#include <stdio.h>

#include "camera/camera.h"
#include "ref/ref_image.h"
#include "session_int.h"

silkie_status silkie_session_preprocess_rgb(const uint8_t *rgb, uint32_t w, uint32_t h,
                                            uint32_t stride, uint32_t size, float *chw)
{
    SK_CHECK(silkie_image_check_dims("image", w, h));
    uint8_t *resized = silkie_malloc((size_t)size * size * 3);
    if (!resized) return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "image: resize buffer");
    silkie_status st = silkie_ref_resize_bicubic(rgb, w, h, 3, stride ? stride : 3 * w, resized,
                                                 size, size);
    if (st == SILKIE_OK)
        silkie_ref_rgb_to_chw(resized, size, size, silkie_clip_mean, silkie_clip_std, chw);
    silkie_free(resized);
    return st;
}

silkie_status silkie_session_read_image_file(const char *path, uint8_t **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return SK_FAIL(SILKIE_ERR_IO, "image: cannot open %s", path);
    uint8_t *buf = NULL;
    size_t n = 0, cap = 0;
    silkie_status st = SILKIE_OK;
    for (;;) {
        if (n == cap) {
            cap = cap ? cap * 2 : 1 << 20;
            if (cap > ((size_t)1 << 30)) {
                st = SK_FAIL(SILKIE_ERR_BAD_IMAGE, "image: %s is larger than 1 GiB", path);
                break;
            }
            uint8_t *nb = silkie_realloc(buf, cap);
            if (!nb) {
                st = SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "image: %s", path);
                break;
            }
            buf = nb;
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0) break;
    }
    if (st == SILKIE_OK && ferror(f)) st = SK_FAIL(SILKIE_ERR_IO, "image: reading %s", path);
    fclose(f);
    if (st != SILKIE_OK) {
        silkie_free(buf);
        return st;
    }
    *out = buf;
    *len = n;
    return SILKIE_OK;
}

silkie_status silkie_session_preprocess_encoded(const void *data, size_t n, const char *name,
                                                uint32_t size, float *chw)
{
    silkie_image img;
    silkie_image_init(&img);
    /* JPEG, PNG, WebP, BMP, GIF or PPM, told apart by magic bytes; Pillow's RGB pixels. */
    silkie_status st = silkie_image_decode(NULL, data, n, name, &img);
    if (st == SILKIE_OK)
        st = silkie_session_preprocess_rgb(img.data, img.width, img.height, 0, size, chw);
    silkie_image_release(&img);
    return st;
}
