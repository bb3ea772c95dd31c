/* Fault injection: SILKIE_FAULT=KIND:N makes the N-th (from 1) call of that kind in this process
 * fail the way a driver or a disk would, so field failures can be replayed on any build.
 * Vulkan kinds: submit, fence (VK_ERROR_DEVICE_LOST), alloc, map (VK_ERROR_OUT_OF_DEVICE_MEMORY),
 * pipeline (a pipeline that fails to compile). File kinds, counted over the writes of the shared
 * output writer: short (the write stores half and reports it), enospc, eio (the write fails
 * with that errno). */
#ifndef SILKIE_FAULT_H
#define SILKIE_FAULT_H

#include <stdbool.h>
#include <stdint.h>

#include "silkie/silkie.h"

typedef enum sk_fault_kind {
    SK_FAULT_NONE = 0,
    SK_FAULT_SUBMIT,
    SK_FAULT_ALLOC,
    SK_FAULT_MAP,
    SK_FAULT_FENCE,
    SK_FAULT_PIPELINE,
    SK_FAULT_SHORT,
    SK_FAULT_ENOSPC,
    SK_FAULT_EIO,
    SK_FAULT_KIND_COUNT
} sk_fault_kind;

/* Parses SILKIE_FAULT once per process. SILKIE_ERR_INVALID_ARGUMENT (naming the value) for an
 * unknown KIND or a bad N; later calls return the same result. */
silkie_status sk_fault_init(void);

/* True when this call is the armed one. Cheap when nothing is armed (one load and a branch).
 * Counting is process-wide and thread-safe. */
bool sk_fault_hit(sk_fault_kind kind);

/* Test hook: arms KIND:N from now (counting restarts), as if SILKIE_FAULT said so; NONE disarms.
 * Lets one process sweep N without respawning. */
void sk_fault_arm(sk_fault_kind kind, uint64_t n);

/* True when the armed fault has already fired (tests stop a sweep on false). */
bool sk_fault_fired(void);

/* The file kinds as one check: 0 when no file fault fires on this write, else SK_FAULT_SHORT,
 * SK_FAULT_ENOSPC or SK_FAULT_EIO. */
sk_fault_kind sk_fault_file_write(void);

#endif
