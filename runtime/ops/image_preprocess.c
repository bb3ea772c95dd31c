/* GPU image preprocessing wrapper: input staging, cached weight tables, two dispatches. */
#include "ops/ops_image.h"
#include "params/image_preprocess.h"
#include "ref/ref_image.h"

#define WG 64u
#define SK_PREP_CACHE 4

typedef struct prep_tables {
    uint32_t in_w, in_h, out_w, out_h;
    float mean[3], std[3];
    uint32_t kx, ky, xb_off, xw_off, yb_off, yw_off, lut_off;
    silkie_vk_buffer *buf;
    uint64_t last_use;
} prep_tables;

struct silkie_image_prep {
    silkie_vk_device *dev;
    silkie_vk_buffer *src; /* HOST pool: the frame bytes, read by the shader directly */
    silkie_vk_buffer *src_dev; /* device-local copy of src on discrete GPUs */
    uint64_t src_bytes;        /* bytes of the uploaded frame, word-rounded */
    int force_copy;
    silkie_vk_buffer *mid; /* ACTIVATIONS: [in_h][out_w] packed RGB */
    prep_tables cache[SK_PREP_CACHE];
    uint64_t use_clock;
    silkie_pixel_format format;
    uint32_t width, height, stride;
    int uploaded;
};

silkie_status silkie_image_prep_create(silkie_vk_device *d, silkie_image_prep **out)
{
    if (!d || !out)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "image_prep_create: d, out required");
    *out = NULL;
    silkie_image_prep *p = SK_NEW(silkie_image_prep);
    if (!p) return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "image_prep_create: %zu bytes", sizeof *p);
    p->dev = d;
    *out = p;
    return SILKIE_OK;
}

void silkie_image_prep_destroy(silkie_image_prep *p)
{
    if (!p) return;
    (void)silkie_vk_device_wait_idle(p->dev);
    silkie_vk_buffer_destroy(p->src);
    silkie_vk_buffer_destroy(p->src_dev);
    silkie_vk_buffer_destroy(p->mid);
    for (int i = 0; i < SK_PREP_CACHE; i++) silkie_vk_buffer_destroy(p->cache[i].buf);
    silkie_free(p);
}

/* Replaces *b by a buffer of at least `size` bytes when it is smaller. */
static silkie_status ensure_buffer(silkie_image_prep *p, silkie_vk_pool pool,
                                   silkie_vk_buffer **b, uint64_t size)
{
    if (*b && silkie_vk_buffer_size(*b) >= size) return SILKIE_OK;
    SK_CHECK(silkie_vk_device_wait_idle(p->dev)); /* the old buffer may still be read */
    silkie_vk_buffer_destroy(*b);
    *b = NULL;
    return silkie_vk_buffer_create(p->dev, pool, size, b);
}

silkie_status silkie_image_prep_upload(silkie_image_prep *p, const silkie_image_prep_input *in)
{
    if (!p || !in || !in->data)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "image_prep_upload: p, in, data required");
    uint32_t w = in->width, h = in->height;
    if (w == 0 || h == 0 || w > SILKIE_IMAGE_MAX_SIDE || h > SILKIE_IMAGE_MAX_SIDE ||
        (uint64_t)w * h > SILKIE_IMAGE_MAX_PIXELS)
        return SK_FAIL(SILKIE_ERR_BAD_IMAGE, "image_prep_upload: frame %ux%u", w, h);
    uint64_t row, rows = h;
    switch (in->format) {
    case SILKIE_PIXEL_FORMAT_RGB8: row = 3ull * w; break;
    case SILKIE_PIXEL_FORMAT_GRAY8: row = w; break;
    case SILKIE_PIXEL_FORMAT_YUYV: row = 2ull * w; break;
    case SILKIE_PIXEL_FORMAT_NV12: row = w, rows = (uint64_t)h + h / 2; break;
    default:
        return SK_FAIL(SILKIE_ERR_UNSUPPORTED, "image_prep_upload: pixel format %d",
                       (int)in->format);
    }
    if ((in->format == SILKIE_PIXEL_FORMAT_YUYV || in->format == SILKIE_PIXEL_FORMAT_NV12) &&
        ((w & 1) || (in->format == SILKIE_PIXEL_FORMAT_NV12 && (h & 1))))
        return SK_FAIL(SILKIE_ERR_BAD_IMAGE, "image_prep_upload: odd %ux%u chroma frame", w, h);
    uint64_t stride = in->stride ? in->stride : row;
    if (stride < row || stride > UINT32_MAX / 2 || stride * (rows - 1) + row > in->size_bytes)
        return SK_FAIL(SILKIE_ERR_BAD_IMAGE,
                       "image_prep_upload: %ux%u frame needs %llu bytes, got %zu", w, h,
                       (unsigned long long)(stride * (rows - 1) + row), in->size_bytes);
    uint64_t bytes = stride * rows;
    /* Rounded to words plus one spare word: the shader may load the word after a pixel. */
    SK_CHECK(ensure_buffer(p, SILKIE_VK_POOL_HOST, &p->src, ((bytes + 3) & ~3ull) + 4));
    uint8_t *m = silkie_vk_buffer_map(p->src);
    if (!m) return SK_FAIL(SILKIE_ERR_INTERNAL, "image_prep_upload: input buffer not mappable");
    memcpy(m, in->data, stride * (rows - 1) + row);
    p->src_bytes = ((bytes + 3) & ~3ull) + 4;
    p->format = in->format;
    p->width = w;
    p->height = h;
    p->stride = (uint32_t)stride;
    p->uploaded = 1;
    return SILKIE_OK;
}

void silkie_image_prep_set_device_copy(silkie_image_prep *p, int on)
{
    if (p) p->force_copy = on != 0;
}

silkie_status silkie_image_prep_upload_frame(silkie_image_prep *p, const silkie_frame *f)
{
    if (!f) return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "image_prep_upload_frame: f required");
    const silkie_image_prep_input in = { f->format, f->width, f->height, f->stride, f->data,
                                         f->size_bytes };
    return silkie_image_prep_upload(p, &in);
}

static int same_f3(const float a[3], const float b[3])
{
    return memcmp(a, b, 3 * sizeof(float)) == 0;
}

static silkie_status get_tables(silkie_image_prep *p, uint32_t ow, uint32_t oh,
                                const float mean[3], const float std[3], prep_tables **out)
{
    prep_tables *victim = &p->cache[0];
    for (int i = 0; i < SK_PREP_CACHE; i++) {
        prep_tables *t = &p->cache[i];
        if (t->buf && t->in_w == p->width && t->in_h == p->height && t->out_w == ow &&
            t->out_h == oh && same_f3(t->mean, mean) && same_f3(t->std, std)) {
            t->last_use = ++p->use_clock;
            *out = t;
            return SILKIE_OK;
        }
        if (!t->buf || t->last_use < victim->last_use) victim = t;
    }
    silkie_resize_axis ax, ay;
    SK_CHECK(silkie_ref_resize_axis_init(&ax, p->width, ow));
    silkie_status st = silkie_ref_resize_axis_init(&ay, p->height, oh);
    if (st != SILKIE_OK) {
        silkie_ref_resize_axis_release(&ax);
        return st;
    }
    prep_tables t = { .in_w = p->width, .in_h = p->height, .out_w = ow, .out_h = oh,
                      .kx = ax.ksize, .ky = ay.ksize };
    memcpy(t.mean, mean, sizeof t.mean);
    memcpy(t.std, std, sizeof t.std);
    t.xb_off = 0;
    t.xw_off = t.xb_off + 2 * ow;
    t.yb_off = t.xw_off + ow * ax.ksize;
    t.yw_off = t.yb_off + 2 * oh;
    t.lut_off = t.yw_off + oh * ay.ksize;
    size_t n = (size_t)t.lut_off + 3 * 256;
    int32_t *host = SK_NEW_ARRAY(int32_t, n);
    if (!host) {
        st = SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "image_preprocess: %zu table words", n);
    } else {
        memcpy(host + t.xb_off, ax.bounds, 2ull * ow * sizeof(int32_t));
        memcpy(host + t.xw_off, ax.weights, (size_t)ow * ax.ksize * sizeof(int32_t));
        memcpy(host + t.yb_off, ay.bounds, 2ull * oh * sizeof(int32_t));
        memcpy(host + t.yw_off, ay.weights, (size_t)oh * ay.ksize * sizeof(int32_t));
        float lut[3][256];
        silkie_ref_normalize_lut(mean, std, lut);
        memcpy(host + t.lut_off, lut, sizeof lut);
        /* The victim's buffer may be bound by a list still in flight. */
        st = silkie_vk_device_wait_idle(p->dev);
        if (st == SILKIE_OK) {
            silkie_vk_buffer_destroy(victim->buf);
            memset(victim, 0, sizeof *victim);
            st = silkie_vk_buffer_create(p->dev, SILKIE_VK_POOL_WEIGHTS, n * 4, &t.buf);
        }
        if (st == SILKIE_OK) st = silkie_vk_buffer_write(t.buf, 0, host, n * 4);
        if (st != SILKIE_OK) {
            silkie_vk_buffer_destroy(t.buf);
            t.buf = NULL;
        }
    }
    silkie_free(host);
    silkie_ref_resize_axis_release(&ax);
    silkie_ref_resize_axis_release(&ay);
    if (st != SILKIE_OK) return st;
    t.last_use = ++p->use_clock;
    *victim = t;
    *out = victim;
    return SILKIE_OK;
}

silkie_status silkie_op_image_preprocess(silkie_op_ctx *c, silkie_image_prep *p, silkie_tensor *y,
                                         const float mean[3], const float std[3])
{
    if (!c || !p || !y)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "image_preprocess: c, p, y required");
    if (!p->uploaded)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "image_preprocess: no frame uploaded");
    if (y->dtype != SILKIE_DTYPE_F32 || y->ne[2] != 3 || y->ne[3] > 1 ||
        !silkie_tensor_is_contiguous(y))
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT,
                       "image_preprocess: y must be contiguous f32 {W, H, 3}, got %s {%u, %u, %u}",
                       silkie_dtype_name(y->dtype), y->ne[0], y->ne[1], y->ne[2]);
    uint32_t ow = y->ne[0], oh = y->ne[1];
    if (ow == 0 || oh == 0 || ow > SILKIE_IMAGE_MAX_SIDE || oh > SILKIE_IMAGE_MAX_SIDE)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "image_preprocess: output %ux%u", ow, oh);
    if (!mean) mean = silkie_clip_mean;
    if (!std) std = silkie_clip_std;
    prep_tables *t;
    SK_CHECK(get_tables(p, ow, oh, mean, std, &t));
    SK_CHECK(ensure_buffer(p, SILKIE_VK_POOL_ACTIVATIONS, &p->mid, 4ull * p->height * ow));

    image_preprocess_push pc = { .in_w = p->width, .in_h = p->height, .out_w = ow, .out_h = oh,
                                 .src_stride = p->stride, .kx = t->kx, .ky = t->ky,
                                 .xb_off = t->xb_off, .xw_off = t->xw_off, .yb_off = t->yb_off,
                                 .yw_off = t->yw_off, .lut_off = t->lut_off };
    /* Each source byte is read by several taps: on a discrete GPU copy the frame into
     * device-local memory once per submission instead of reading it across the bus. */
    silkie_vk_buffer *src = p->src;
    if (p->force_copy || !silkie_vk_device_caps(p->dev)->unified_memory) {
        SK_CHECK(ensure_buffer(p, SILKIE_VK_POOL_ACTIVATIONS, &p->src_dev, p->src_bytes));
        SK_CHECK(silkie_vk_cmd_copy(c->cmd, p->src, 0, p->src_dev, 0, p->src_bytes));
        src = p->src_dev;
    }
    silkie_vk_binding b[4] = {
        { src, 0, 0, SILKIE_VK_READ },
        { t->buf, 0, 0, SILKIE_VK_READ },
        { p->mid, 0, 4ull * p->height * ow, SILKIE_VK_WRITE },
        { 0 },
    };
    SK_CHECK(silkie_op_bind_rows(c, y, SILKIE_VK_WRITE, "image_preprocess", &b[3], &pc.y_off));
    uint32_t fmt = p->format == SILKIE_PIXEL_FORMAT_YUYV   ? 1
                   : p->format == SILKIE_PIXEL_FORMAT_NV12  ? 2
                   : p->format == SILKIE_PIXEL_FORMAT_GRAY8 ? 3
                                                            : 0;
    const uint32_t spec_h[] = { WG, 0, fmt };
    silkie_vk_dispatch_desc d = { .shader = SILKIE_SHADER_IMAGE_PREPROCESS, .spec = spec_h,
                                  .n_spec = 3, .push = &pc, .push_size = sizeof pc,
                                  .bindings = b, .n_bindings = 4,
                                  .groups = { (ow + WG - 1) / WG, p->height, 1 },
                                  .label = "image_resize_h" };
    SK_CHECK(silkie_vk_cmd_dispatch(c->cmd, &d));
    /* Second pass reads the intermediate written above; declared accesses give the barrier. */
    const uint32_t spec_v[] = { WG, 1, fmt };
    b[2].access = SILKIE_VK_READ;
    d.spec = spec_v;
    d.groups[1] = oh;
    d.label = "image_resize_v";
    return silkie_vk_cmd_dispatch(c->cmd, &d);
}
