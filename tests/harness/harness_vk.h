/* Vulkan part of the harness: a validated device per test and guarded output tensors. */
#ifndef SILKIE_TEST_HARNESS_VK_H
#define SILKIE_TEST_HARNESS_VK_H

#include "harness.h"
#include "ops/ops.h"

/* Creates a device with the validation layer on (and SILKIE_DEVICE honoured). With no Vulkan
 * device it exits 77, or 1 when CI=true. */
silkie_vk_device *sk_test_device(void);
/* The same with the caller's parameters (validation is turned on). */
silkie_vk_device *sk_test_device_with(silkie_vk_device_params *p);
/* Destroys the device; a validation message counts as a failure. Returns sk_test_result(). */
int sk_test_device_finish(silkie_vk_device *d, const char *name);

/* A device tensor surrounded by canary words that must come back unchanged. */
typedef struct sk_guarded {
    silkie_owned_tensor o;   /* o.t is the tensor to pass to ops */
    uint64_t guard_bytes;
} sk_guarded;
/* Allocates [guard | tensor | guard] in one ACTIVATIONS buffer and fills the guards. */
int sk_guarded_alloc(silkie_vk_device *d, silkie_dtype dt, const uint32_t ne[4], sk_guarded *g);
/* 1 when both guards are intact; reports otherwise. */
int sk_guarded_check(sk_guarded *g, const char *what);
void sk_guarded_free(sk_guarded *g);

/* Uploads host data into a new tensor (single buffer, ACTIVATIONS pool). */
int sk_tensor_from_host(silkie_vk_device *d, silkie_dtype dt, const uint32_t ne[4],
                        const void *data, silkie_owned_tensor *out);

/* Records with a fresh command list, submits and waits: the usual op-test flow.
 *   silkie_op_ctx c; sk_op_begin(d, &c); silkie_op_x(&c, ...); sk_op_run(&c); */
int sk_op_begin(silkie_vk_device *d, silkie_op_ctx *c);
int sk_op_run(silkie_op_ctx *c); /* end + submit_wait + destroy the list; 1 on success */

#endif
