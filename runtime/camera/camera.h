/* Camera layer: what other layers may use. Image decode (JPEG through TurboJPEG, PNG through
 * libspng, WebP through libwebp, BMP, GIF, binary PPM), EXIF orientation, Motion-JPEG
 * splitting; frame sources are in silkie/silkie_camera.h. */
#ifndef SILKIE_CAMERA_H
#define SILKIE_CAMERA_H

#include "base/base.h"
#include "silkie/silkie_camera.h"

/* A growable 8-bit image. Buffers only grow, so decoding a stream of same-size frames does not
 * allocate after the first one. */
typedef struct silkie_image {
    uint32_t width, height;
    uint32_t channels;     /* 3 (RGB) or 1 (grey) */
    uint8_t *data;         /* [height][width * channels], tightly packed */
    size_t capacity_bytes;
    uint32_t exif_orientation; /* 1..8; 1 when absent */
} silkie_image;

void silkie_image_init(silkie_image *img);
void silkie_image_release(silkie_image *img);
/* Sets the size and grows the buffer if needed; refuses sizes beyond the limits of
 * silkie_camera.h with SILKIE_ERR_BAD_IMAGE before allocating. */
silkie_status silkie_image_reserve(silkie_image *img, uint32_t width, uint32_t height,
                                   uint32_t channels);
/* SILKIE_ERR_BAD_IMAGE for 0 or over-limit dimensions. `what` names the thing in the message. */
silkie_status silkie_image_check_dims(const char *what, uint64_t width, uint64_t height);

/* JPEG decoder: one TurboJPEG handle, reused across frames. */
typedef struct silkie_jpeg_decoder silkie_jpeg_decoder;
silkie_status silkie_jpeg_decoder_create(silkie_jpeg_decoder **out);
void silkie_jpeg_decoder_destroy(silkie_jpeg_decoder *d);

typedef struct silkie_jpeg_info {
    uint32_t width, height;  /* full size */
    uint32_t components;     /* 1 grey, 3 YCbCr/RGB, 4 CMYK/YCCK */
    uint32_t exif_orientation;
} silkie_jpeg_info;
/* Reads the header only (dimensions checked against the limits). */
silkie_status silkie_jpeg_info_read(silkie_jpeg_decoder *d, const uint8_t *data, size_t size,
                                    silkie_jpeg_info *out);

typedef struct silkie_jpeg_decode_opts {
    /* >0: decode with the smallest DCT scale (1/1, 1/2, 1/4, 1/8) keeping both sides >= these */
    uint32_t min_width, min_height;
    uint32_t grey;   /* 1: output one channel (any JPEG); 0: RGB */
} silkie_jpeg_decode_opts;
/* Decodes to RGB8 (or grey) with the accurate integer IDCT and fancy upsampling, the settings
 * Pillow uses, so the pixels match PIL's convert("RGB"). Greyscale JPEGs are expanded to RGB;
 * CMYK/YCCK are converted as Pillow does (Adobe inverted CMYK, no colour management).
 * Errors: SILKIE_ERR_BAD_IMAGE (corrupt, truncated, over-limit), SILKIE_ERR_OUT_OF_MEMORY. */
silkie_status silkie_jpeg_decode(silkie_jpeg_decoder *d, const uint8_t *data, size_t size,
                                 const silkie_jpeg_decode_opts *opts, silkie_image *img);

/* Binary PPM (P6, maxval 255) or PGM (P5, maxval 255, expanded to RGB unless grey). */
silkie_status silkie_ppm_decode(const uint8_t *data, size_t size, int grey, silkie_image *img);

/* Image kind by magic bytes (never by file name). */
typedef enum silkie_image_kind {
    SILKIE_IMAGE_KIND_UNKNOWN = 0,
    SILKIE_IMAGE_KIND_JPEG = 1,
    SILKIE_IMAGE_KIND_PPM = 2,
    SILKIE_IMAGE_KIND_PNG = 3,
    SILKIE_IMAGE_KIND_WEBP = 4,
    SILKIE_IMAGE_KIND_BMP = 5,
    SILKIE_IMAGE_KIND_GIF = 6,
} silkie_image_kind;
silkie_image_kind silkie_image_sniff(const uint8_t *data, size_t size);
/* "jpeg", "ppm", "png", "webp", "bmp", "gif" or "unknown". */
const char *silkie_image_kind_name(silkie_image_kind kind);

/* Still-image decoders to RGB8 with the pixels of Pillow 9.4's Image.open(f).convert("RGB"):
 * alpha is dropped (not composited), palettes map through the palette, and indices past the end
 * of a short palette give grey (i, i, i) as in Pillow. `name` (may be NULL) is the file name
 * that messages start with. Dimensions are checked against the limits of silkie_camera.h before
 * the pixel buffer is allocated. EXIF is not read (exif_orientation = 1).
 * Errors: SILKIE_ERR_BAD_IMAGE (not that format, corrupt, truncated, over-limit, unsupported
 * variant; the message says which), SILKIE_ERR_OUT_OF_MEMORY.
 *
 * PNG: every colour type and bit depth, interlaced or not, tRNS ignored. 16-bit RGB, RGBA and
 *      grey+alpha keep the high byte of each sample; 16-bit grey is clipped to 0..255 (Pillow
 *      opens it as 32-bit integer mode "I" and its conversion to RGB clamps), so a 16-bit grey
 *      value v gives min(v, 255). Grey of 1, 2, 4 bits is scaled to 0..255.
 * WebP: lossy and lossless, with or without alpha; an animation gives its first frame, placed
 *      on a black canvas of the animation's size (as libwebp's animation decoder does).
 * BMP: BITMAPCOREHEADER, BITMAPINFOHEADER, OS/2 2.x, V4 and V5 headers; 1, 4, 8-bit palette,
 *      16-bit 5-5-5, 24 and 32-bit, BI_BITFIELDS with the masks Pillow accepts; bottom-up and
 *      top-down. RLE, JPEG and PNG compression are refused.
 * GIF: the first image, interlaced or not, local or global palette, on a canvas of the logical
 *      screen (grown to fit the image) filled with the transparent index, or index 0. */
silkie_status silkie_png_decode(const uint8_t *data, size_t size, const char *name,
                                silkie_image *img);
silkie_status silkie_webp_decode(const uint8_t *data, size_t size, const char *name,
                                 silkie_image *img);
silkie_status silkie_bmp_decode(const uint8_t *data, size_t size, const char *name,
                                silkie_image *img);
silkie_status silkie_gif_decode(const uint8_t *data, size_t size, const char *name,
                                silkie_image *img);

/* Any still image above, or JPEG (full size, RGB) or PPM, chosen by magic bytes, to RGB8.
 * `jpeg` is a decoder to reuse, or NULL for a temporary one. Unknown kinds are
 * SILKIE_ERR_BAD_IMAGE. */
silkie_status silkie_image_decode(silkie_jpeg_decoder *jpeg, const uint8_t *data, size_t size,
                                  const char *name, silkie_image *img);

/* EXIF orientation (1..8) from a JPEG's APP1 segment; 1 when absent or malformed. Never reads
 * outside [data, data + size). */
uint32_t silkie_exif_orientation(const uint8_t *data, size_t size);
/* Applies an EXIF orientation in place (using `scratch` as the second buffer, grown as
 * needed); orientation 1 is a no-op. */
silkie_status silkie_image_orient(silkie_image *img, uint32_t orientation, silkie_image *scratch);

/* Motion-JPEG splitter: feed bytes in any chunking, take complete JPEG frames out. A frame
 * starts at SOI (FF D8 FF) and ends at the EOI (FF D9) found by walking marker segments and
 * entropy-coded data, so FF D9 bytes inside APP segments do not end a frame early. A new SOI
 * before the EOI means the previous frame was truncated; garbage between frames is skipped. */
typedef struct silkie_mjpeg_splitter {
    uint8_t *buf;        /* pending bytes */
    size_t len, cap;
    size_t max_frame;    /* frames larger than this are dropped as corrupt */
    size_t scan;         /* parse position inside the current frame */
    int in_frame;        /* 1 after SOI */
    int in_entropy;      /* 1 inside entropy-coded data */
    size_t frame_len;    /* length of the frame handed out by next(), consumed on the next call */
    uint64_t n_truncated, n_corrupt, n_garbage_bytes;
} silkie_mjpeg_splitter;

void silkie_mjpeg_splitter_init(silkie_mjpeg_splitter *s, size_t max_frame);
void silkie_mjpeg_splitter_release(silkie_mjpeg_splitter *s);
/* Appends bytes (copied). */
silkie_status silkie_mjpeg_splitter_feed(silkie_mjpeg_splitter *s, const uint8_t *data,
                                         size_t size);
/* Next complete frame: SILKIE_OK with the frame and its size borrowed until the next call, or
 * SILKIE_ERR_AGAIN when more bytes are needed. With `eof` set, a pending incomplete frame is
 * counted as truncated and SILKIE_ERR_END_OF_STREAM is returned. */
silkie_status silkie_mjpeg_splitter_next(silkie_mjpeg_splitter *s, int eof, const uint8_t **frame,
                                         size_t *size);

/* Colour conversion of raw camera frames to RGB8, integer BT.601 limited range (the same
 * arithmetic as the GPU preprocess shader). */
silkie_status silkie_yuv_to_rgb(silkie_pixel_format fmt, const uint8_t *src, uint32_t stride,
                                uint32_t width, uint32_t height, silkie_image *rgb);

#endif /* SILKIE_CAMERA_H */
