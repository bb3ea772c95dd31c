/* silkie_op_add / silkie_op_mul (same shape and one-row broadcast, strided a, in place) and
 * silkie_op_scale against the reference. */
#include "harness_vk.h"
#include "ref/ref.h"

enum { ADD = 0, MUL = 1, SCALE = 2 };

typedef struct {
    int op;
    uint32_t n_cols, n_rows, pad;
    int broadcast, in_place;
} op_case;

static const op_case cases[] = {
    {ADD, 1, 1, 0, 0, 0},
    {ADD, 4096, 3, 0, 0, 1},     /* residual add in place */
    {ADD, 1664, 5, 0, 1, 0},     /* bias row broadcast */
    {MUL, 257, 9, 3, 0, 0},      /* strided a */
    {MUL, 48, 33, 0, 1, 1},      /* broadcast, in place, odd rows */
    {SCALE, 1, 1, 0, 0, 0},
    {SCALE, 1000, 3, 5, 0, 0},   /* strided */
    {SCALE, 129, 2, 0, 0, 1},    /* in place */
};

static void run_case(silkie_vk_device *d, const op_case *k, uint64_t seed)
{
    static const char *names[] = {"add", "mul", "scale"};
    char what[96];
    snprintf(what, sizeof what, "%s %ux%u pad %u bcast %d in_place %d", names[k->op], k->n_rows,
             k->n_cols, k->pad, k->broadcast, k->in_place);
    const uint32_t ld = k->n_cols + k->pad, col0 = k->pad ? 1 : 0;
    const uint32_t b_rows = k->broadcast ? 1 : k->n_rows;
    const uint64_t n = (uint64_t)k->n_cols * k->n_rows;
    const float s = 0.37f, bias = -1.25f;
    sk_rng rng;
    sk_rng_seed(&rng, seed);
    float *aw = silkie_malloc((size_t)ld * k->n_rows * 4), *a = silkie_malloc(n * 4);
    float *b = silkie_malloc((size_t)k->n_cols * b_rows * 4);
    float *want = silkie_malloc(n * 4), *got = silkie_malloc(n * 4);
    sk_fill_uniform(&rng, aw, (uint64_t)ld * k->n_rows, -4, 4);
    sk_fill_uniform(&rng, b, (uint64_t)k->n_cols * b_rows, -4, 4);
    for (uint32_t r = 0; r < k->n_rows; r++)
        memcpy(a + (size_t)r * k->n_cols, aw + (size_t)r * ld + col0, k->n_cols * 4);
    if (k->op == SCALE)
        silkie_ref_scale(a, want, n, s, bias);
    else
        silkie_ref_binary(k->op, a, b, want, k->n_cols, k->n_rows, b_rows);

    silkie_owned_tensor ta = {0}, tb = {0};
    sk_guarded gy = {0};
    const uint32_t ne_a[4] = {ld, k->n_rows, 1, 1}, ne_b[4] = {k->n_cols, b_rows, 1, 1};
    const uint32_t ne_y[4] = {k->n_cols, k->n_rows, 1, 1};
    if (sk_tensor_from_host(d, SILKIE_DTYPE_F32, ne_a, aw, &ta) &&
        sk_tensor_from_host(d, SILKIE_DTYPE_F32, ne_b, b, &tb) &&
        sk_guarded_alloc(d, SILKIE_DTYPE_F32, ne_y, &gy)) {
        silkie_tensor av = k->pad ? silkie_tensor_cols(&ta.t, col0, k->n_cols) : ta.t;
        if (k->in_place) {
            SK_TEST_OK(silkie_vk_buffer_write(gy.o.t.buf, gy.o.t.offset, a, n * 4));
            av = gy.o.t;
        }
        silkie_op_ctx c;
        if (sk_op_begin(d, &c)) {
            if (k->op == ADD) SK_TEST_OK(silkie_op_add(&c, &av, &tb.t, &gy.o.t));
            if (k->op == MUL) SK_TEST_OK(silkie_op_mul(&c, &av, &tb.t, &gy.o.t));
            if (k->op == SCALE) SK_TEST_OK(silkie_op_scale(&c, &av, &gy.o.t, s, bias));
            if (sk_op_run(&c)) {
                SK_TEST_OK(silkie_tensor_download(&gy.o.t, got, n * 4));
                sk_check_close(what, want, got, n, 1e-7, 1e-5, seed);
                sk_guarded_check(&gy, what);
            }
        }
    }
    sk_guarded_free(&gy);
    silkie_tensor_free(&ta);
    silkie_tensor_free(&tb);
    silkie_free(aw);
    silkie_free(a);
    silkie_free(b);
    silkie_free(want);
    silkie_free(got);
}

/* Shapes that must be refused: b with a wrong row count or width. */
static void bad_shapes(silkie_vk_device *d)
{
    silkie_owned_tensor ta = {0}, tb = {0};
    const uint32_t ne_a[4] = {8, 4, 1, 1}, ne_b[4] = {8, 2, 1, 1};
    if (silkie_tensor_alloc(d, SILKIE_VK_POOL_ACTIVATIONS, SILKIE_DTYPE_F32, ne_a, &ta) ||
        silkie_tensor_alloc(d, SILKIE_VK_POOL_ACTIVATIONS, SILKIE_DTYPE_F32, ne_b, &tb)) {
        SK_TEST_CHECK(0, "bad_shapes: alloc: %s", silkie_last_error());
    } else {
        silkie_op_ctx c;
        if (sk_op_begin(d, &c)) {
            SK_TEST_STATUS(silkie_op_add(&c, &ta.t, &tb.t, &ta.t), SILKIE_ERR_INVALID_ARGUMENT);
            silkie_tensor bw = tb.t;
            bw.ne[0] = 7;
            bw.ne[1] = 1;
            SK_TEST_STATUS(silkie_op_mul(&c, &ta.t, &bw, &ta.t), SILKIE_ERR_INVALID_ARGUMENT);
            sk_op_run(&c);
        }
    }
    silkie_tensor_free(&ta);
    silkie_tensor_free(&tb);
}

int main(void)
{
    silkie_vk_device *d = sk_test_device();
    for (size_t i = 0; i < SK_ARRAY_LEN(cases); i++) run_case(d, &cases[i], 500 + i);
    bad_shapes(d);
    return sk_test_device_finish(d, "test_binary");
}
