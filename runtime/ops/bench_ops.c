/* Reference-point ops for the benchmark: peak copy bandwidth and peak FMA rate. */
#include "ops.h"
#include "params/copy.h"
#include "params/fma_peak.h"

#define SK_BENCH_WG 256u
/* Grid-stride loops cover any size; more groups than this only add scheduling cost. */
#define SK_COPY_MAX_GROUPS 4096u

silkie_status silkie_op_copy(silkie_op_ctx *c, const silkie_tensor *x, silkie_tensor *y)
{
    if (!c || !x || !y) return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "copy: c, x, y required");
    if (x->n_parts > 1 || y->n_parts > 1 || !silkie_tensor_is_contiguous(x) ||
        !silkie_tensor_is_contiguous(y))
        return SK_FAIL(SILKIE_ERR_UNSUPPORTED, "copy: split or strided tensors");
    uint64_t nb = silkie_tensor_nbytes(x);
    if (nb != silkie_tensor_nbytes(y) || nb % 4 || nb == 0)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT,
                       "copy: x has %llu bytes, y %llu (want equal, whole 32-bit words)",
                       (unsigned long long)nb, (unsigned long long)silkie_tensor_nbytes(y));
    if (nb / 4 > UINT32_MAX)
        return SK_FAIL(SILKIE_ERR_UNSUPPORTED, "copy: %llu bytes", (unsigned long long)nb);
    const copy_push pc = {.n_words = (uint32_t)(nb / 4)};
    const uint32_t spec[] = {SK_BENCH_WG};
    /* Bindings 2 and 3 view the same ranges as 0 and 1 word by word for the tail. */
    const silkie_vk_binding b[4] = {
        silkie_tensor_binding(x, SILKIE_VK_READ), silkie_tensor_binding(y, SILKIE_VK_WRITE),
        silkie_tensor_binding(x, SILKIE_VK_READ), silkie_tensor_binding(y, SILKIE_VK_WRITE)};
    uint64_t n4 = pc.n_words / 4;
    uint64_t groups = (n4 + SK_BENCH_WG - 1) / SK_BENCH_WG;
    groups = SK_MAX(1, SK_MIN(groups, SK_COPY_MAX_GROUPS));
    const silkie_vk_dispatch_desc dd = {
        .shader = SILKIE_SHADER_COPY,
        .spec = spec,
        .n_spec = 1,
        .push = &pc,
        .push_size = sizeof pc,
        .bindings = b,
        .n_bindings = 4,
        .groups = {(uint32_t)groups, 1, 1},
        .label = "copy",
    };
    return silkie_vk_cmd_dispatch(c->cmd, &dd);
}

silkie_status silkie_op_fma_peak(silkie_op_ctx *c, silkie_tensor *y, uint32_t n_groups,
                                 uint32_t iters)
{
    if (!c || !y) return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "fma_peak: c, y required");
    if (y->dtype != SILKIE_DTYPE_F32 || y->n_parts > 1 || !silkie_tensor_is_contiguous(y))
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "fma_peak: y must be contiguous f32");
    if (silkie_tensor_nelements(y) < (uint64_t)n_groups * SK_BENCH_WG)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT,
                       "fma_peak: y has %llu elements, %u groups need %llu",
                       (unsigned long long)silkie_tensor_nelements(y), n_groups,
                       (unsigned long long)n_groups * SK_BENCH_WG);
    const fma_peak_push pc = {.iters = iters};
    const uint32_t spec[] = {SK_BENCH_WG};
    const silkie_vk_binding b = silkie_tensor_binding(y, SILKIE_VK_WRITE);
    const silkie_vk_dispatch_desc dd = {
        .shader = SILKIE_SHADER_FMA_PEAK,
        .spec = spec,
        .n_spec = 1,
        .push = &pc,
        .push_size = sizeof pc,
        .bindings = &b,
        .n_bindings = 1,
        .groups = {n_groups, 1, 1},
        .label = "fma_peak",
    };
    return silkie_vk_cmd_dispatch(c->cmd, &dd);
}
