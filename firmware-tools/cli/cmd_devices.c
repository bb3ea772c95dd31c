/* `silkie devices`: the Vulkan devices and what the runtime can use on each. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "silkie/silkie.h"

#define MAX_DEVICES 16

static void print_version(uint32_t v)
{
    printf("%u.%u.%u", (v >> 22) & 0x7fu, (v >> 12) & 0x3ffu, v & 0xfffu);
}

static void print_json(const silkie_device_info *d, uint32_t n, uint32_t loader)
{
    printf("{\"loader\":\"%u.%u.%u\",\"devices\":[", (loader >> 22) & 0x7fu,
           (loader >> 12) & 0x3ffu, loader & 0xfffu);
    for (uint32_t i = 0; i < n; i++) {
        printf("%s{\"index\":%u,\"usable\":%s,\"name\":", i ? "," : "", d[i].index,
               d[i].usable ? "true" : "false");
        silkie_cli_json_string(stdout, d[i].name);
        printf(",\"type\":\"%s\",\"driver\":", d[i].type);
        silkie_cli_json_string(stdout, d[i].driver);
        printf(",\"vendor_id\":%u,\"device_id\":%u,\"vulkan\":\"%u.%u.%u\",\"memory_bytes\":%llu,"
               "\"subgroup_size\":%u,\"fp16\":%u,\"storage16\":%u,\"int8\":%u,\"int_dot\":%u,"
               "\"coopmat\":%u,\"unified_memory\":%u,\"timestamps\":%u,\"reason\":",
               d[i].vendor_id, d[i].device_id, (d[i].api_version >> 22) & 0x7fu,
               (d[i].api_version >> 12) & 0x3ffu, d[i].api_version & 0xfffu,
               (unsigned long long)d[i].memory_bytes, d[i].subgroup_size, d[i].fp16,
               d[i].storage16, d[i].int8, d[i].int_dot, d[i].coopmat, d[i].unified_memory,
               d[i].timestamps);
        silkie_cli_json_string(stdout, d[i].reason);
        printf("}");
    }
    printf("]}\n");
}

static void print_text(const silkie_device_info *d, uint32_t n, uint32_t loader)
{
    printf("Vulkan loader ");
    print_version(loader);
    printf(", %u device%s\n", n, n == 1 ? "" : "s");
    for (uint32_t i = 0; i < n; i++) {
        printf("%u: %s (%s)%s\n", d[i].index, d[i].name, d[i].type,
               d[i].usable ? "" : " - not usable");
        if (!d[i].usable) {
            printf("   %s\n", d[i].reason);
            continue;
        }
        printf("   driver %s, Vulkan ", d[i].driver);
        print_version(d[i].api_version);
        printf("\n   memory %.1f GiB, subgroup %u\n   features:%s%s%s%s%s%s%s\n",
               (double)d[i].memory_bytes / (1u << 30), d[i].subgroup_size,
               d[i].fp16 ? " fp16" : "", d[i].storage16 ? " storage16" : "",
               d[i].int8 ? " int8" : "", d[i].int_dot ? " int-dot" : "",
               d[i].coopmat ? " coopmat" : "", d[i].unified_memory ? " unified-memory" : "",
               d[i].timestamps ? " timestamps" : "");
    }
}

int silkie_cmd_devices(int argc, char **argv)
{
    int json = 0;
    const silkie_opt t[] = {
        {"--json", SILKIE_OPT_FLAG, &json, NULL, "print one JSON object", NULL, 0, 0, 0, NULL},
    };
    const silkie_cmd_spec spec = {
        "silkie devices", "",
        "Lists the Vulkan devices with their type, memory, subgroup size and the features the "
        "runtime uses; the index or a name substring is what --device takes.",
        t, sizeof t / sizeof t[0], 0, 0, NULL};
    int rc = silkie_cli_parse(&spec, argc, argv, NULL, NULL);
    if (rc != SILKIE_CLI_CONTINUE) return rc;
    silkie_device_info d[MAX_DEVICES];
    uint32_t n = 0, loader = 0;
    if (silkie_devices_list(d, MAX_DEVICES, &n, &loader) != SILKIE_OK)
        return silkie_cli_fail("listing the Vulkan devices");
    if (n > MAX_DEVICES) n = MAX_DEVICES;
    if (json) print_json(d, n, loader);
    else print_text(d, n, loader);
    return 0;
}
