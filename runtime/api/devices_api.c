/* silkie_devices_list and silkie_build_string: what `silkie devices` and `--version` print. */
#include <stdio.h>
#include <string.h>

#include "base/base.h"
#include "vk/vk.h"

#ifndef SILKIE_COMMIT
#define SILKIE_COMMIT "unknown"
#endif
#ifndef SILKIE_BUILD_TYPE
#define SILKIE_BUILD_TYPE "unknown"
#endif

const char *silkie_build_string(void)
{
    static char s[160];
    if (!s[0])
        snprintf(s, sizeof s, "%s (commit %s, %s)", silkie_version_string(), SILKIE_COMMIT,
                 SILKIE_BUILD_TYPE);
    return s;
}

static const char *type_name(uint32_t t)
{
    switch (t) {
    case 1: return "integrated"; /* VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU */
    case 2: return "discrete";
    case 3: return "virtual";
    case 4: return "cpu";
    default: return "other";
    }
}

/* Opens device i on its own (as a model load would) to read what the runtime sees. */
static void describe(uint32_t i, silkie_device_info *o)
{
    memset(o, 0, sizeof *o);
    o->index = i;
    char want[16];
    snprintf(want, sizeof want, "%u", i);
    silkie_vk_device_params p;
    silkie_vk_device_params_init(&p);
    p.device = want;
    p.exact_device = 1;
    silkie_vk_device *d = NULL;
    if (silkie_vk_device_create(&p, &d) != SILKIE_OK) {
        snprintf(o->name, sizeof o->name, "device %u", i);
        snprintf(o->type, sizeof o->type, "other");
        snprintf(o->reason, sizeof o->reason, "%s", silkie_last_error());
        return;
    }
    const silkie_vk_caps *c = silkie_vk_device_caps(d);
    o->usable = 1;
    snprintf(o->name, sizeof o->name, "%s", c->device_name);
    snprintf(o->type, sizeof o->type, "%s", type_name(c->device_type));
    snprintf(o->driver, sizeof o->driver, "%s", c->driver_name);
    o->vendor_id = c->vendor_id;
    o->device_id = c->device_id;
    o->api_version = c->api_version;
    o->memory_bytes = c->device_local_bytes;
    o->subgroup_size = c->subgroup_size;
    o->fp16 = c->fp16_arith;
    o->storage16 = c->storage16;
    o->int8 = c->int8_arith;
    o->int_dot = c->int_dot;
    o->coopmat = c->coopmat_nv;
    o->unified_memory = c->unified_memory;
    o->timestamps = c->timestamps;
    silkie_vk_device_destroy(d);
}

silkie_status silkie_devices_list(silkie_device_info *out, uint32_t max, uint32_t *n,
                                  uint32_t *loader_version)
{
    silkie_error_clear();
    if (!n || (max && !out))
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "devices_list: n (and out) required");
    uint32_t lv = 0;
    silkie_status st = silkie_vk_physical_count(n, &lv);
    if (loader_version) *loader_version = lv;
    if (st != SILKIE_OK) return st;
    for (uint32_t i = 0; i < *n && i < max; i++) describe(i, &out[i]);
    silkie_error_clear();
    return SILKIE_OK;
}
