/* Instance, physical-device choice, features, validation messenger and the compute queue. */
#include "vk_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void silkie_vk_device_params_init(silkie_vk_device_params *p)
{
    if (!p) return;
    memset(p, 0, sizeof *p);
    p->struct_size = sizeof *p;
}

const char *silkie_vk_result_name(VkResult r)
{
    switch (r) {
#define SK_R(x) case x: return #x;
        SK_R(VK_SUCCESS) SK_R(VK_NOT_READY) SK_R(VK_TIMEOUT) SK_R(VK_INCOMPLETE)
        SK_R(VK_ERROR_OUT_OF_HOST_MEMORY) SK_R(VK_ERROR_OUT_OF_DEVICE_MEMORY)
        SK_R(VK_ERROR_INITIALIZATION_FAILED) SK_R(VK_ERROR_DEVICE_LOST)
        SK_R(VK_ERROR_MEMORY_MAP_FAILED) SK_R(VK_ERROR_LAYER_NOT_PRESENT)
        SK_R(VK_ERROR_EXTENSION_NOT_PRESENT) SK_R(VK_ERROR_FEATURE_NOT_PRESENT)
        SK_R(VK_ERROR_INCOMPATIBLE_DRIVER) SK_R(VK_ERROR_TOO_MANY_OBJECTS)
        SK_R(VK_ERROR_FORMAT_NOT_SUPPORTED) SK_R(VK_ERROR_FRAGMENTED_POOL)
        SK_R(VK_ERROR_UNKNOWN) SK_R(VK_ERROR_OUT_OF_POOL_MEMORY)
        SK_R(VK_ERROR_INVALID_EXTERNAL_HANDLE) SK_R(VK_ERROR_FRAGMENTATION)
        SK_R(VK_PIPELINE_COMPILE_REQUIRED) SK_R(VK_ERROR_INVALID_SHADER_NV)
#undef SK_R
    default: return "VK_RESULT_UNKNOWN";
    }
}

silkie_status silkie_vk_result(silkie_vk_device *d, VkResult r, const char *what)
{
    switch (r) {
    case VK_SUCCESS: return SILKIE_OK;
    case VK_ERROR_OUT_OF_DEVICE_MEMORY:
        return SK_FAIL(SILKIE_ERR_OUT_OF_DEVICE_MEMORY, "vulkan: %s: out of device memory", what);
    case VK_ERROR_OUT_OF_HOST_MEMORY:
        return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "vulkan: %s: out of host memory", what);
    case VK_ERROR_DEVICE_LOST:
        if (d) d->lost = 1;
        return SK_FAIL(SILKIE_ERR_DEVICE_LOST, "vulkan: %s: device lost", what);
    default:
        return SK_FAIL(SILKIE_ERR_VULKAN, "vulkan: %s: %s (%d)", what, silkie_vk_result_name(r),
                       (int)r);
    }
}

static VKAPI_ATTR VkBool32 VKAPI_CALL on_validation(VkDebugUtilsMessageSeverityFlagBitsEXT sev,
                                                    VkDebugUtilsMessageTypeFlagsEXT type,
                                                    const VkDebugUtilsMessengerCallbackDataEXT *cb,
                                                    void *user)
{
    (void)type;
    silkie_vk_device *d = user;
    if (sev & (VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT |
               VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT)) {
        d->validation_messages++;
        SK_LOGW("validation: %s", cb && cb->pMessage ? cb->pMessage : "(no message)");
    }
    return VK_FALSE;
}

static int has_layer(const char *name)
{
    uint32_t n = 0;
    if (vkEnumerateInstanceLayerProperties(&n, NULL) != VK_SUCCESS || n == 0) return 0;
    VkLayerProperties *props = SK_NEW_ARRAY(VkLayerProperties, n);
    if (!props) return 0;
    int found = 0;
    if (vkEnumerateInstanceLayerProperties(&n, props) == VK_SUCCESS)
        for (uint32_t i = 0; i < n && !found; i++) found = !strcmp(props[i].layerName, name);
    silkie_free(props);
    return found;
}

static int has_instance_ext(const char *layer, const char *name)
{
    uint32_t n = 0;
    if (vkEnumerateInstanceExtensionProperties(layer, &n, NULL) != VK_SUCCESS || n == 0) return 0;
    VkExtensionProperties *props = SK_NEW_ARRAY(VkExtensionProperties, n);
    if (!props) return 0;
    int found = 0;
    if (vkEnumerateInstanceExtensionProperties(layer, &n, props) == VK_SUCCESS)
        for (uint32_t i = 0; i < n && !found; i++) found = !strcmp(props[i].extensionName, name);
    silkie_free(props);
    return found;
}

static silkie_status create_instance(silkie_vk_device *d)
{
    SK_CHECK(silkie_vk_loader_open());
    uint32_t loader_version = 0;
    /* vkEnumerateInstanceVersion is missing from 1.0 loaders; reaching it through the loader
     * also tells us whether a loader works at all. */
    PFN_vkEnumerateInstanceVersion ev =
        (PFN_vkEnumerateInstanceVersion)vkGetInstanceProcAddr(NULL, "vkEnumerateInstanceVersion");
    if (!ev || ev(&loader_version) != VK_SUCCESS || loader_version < VK_API_VERSION_1_2)
        return SK_FAIL(SILKIE_ERR_NO_DEVICE, "vulkan: no Vulkan 1.2 loader found");

    const char *layers[1];
    const char *exts[2];
    int sync_validation = 0;
    uint32_t n_layers = 0, n_exts = 0;
    if (d->validation) {
        if (!has_layer("VK_LAYER_KHRONOS_validation"))
            return SK_FAIL(SILKIE_ERR_UNSUPPORTED,
                           "vulkan: validation requested but VK_LAYER_KHRONOS_validation is not "
                           "installed");
        layers[n_layers++] = "VK_LAYER_KHRONOS_validation";
        if (!has_instance_ext(NULL, VK_EXT_DEBUG_UTILS_EXTENSION_NAME) &&
            !has_instance_ext("VK_LAYER_KHRONOS_validation", VK_EXT_DEBUG_UTILS_EXTENSION_NAME))
            return SK_FAIL(SILKIE_ERR_UNSUPPORTED,
                           "vulkan: validation requested but VK_EXT_debug_utils is missing");
        exts[n_exts++] = VK_EXT_DEBUG_UTILS_EXTENSION_NAME;
        if (has_instance_ext("VK_LAYER_KHRONOS_validation",
                             VK_EXT_VALIDATION_FEATURES_EXTENSION_NAME)) {
            exts[n_exts++] = VK_EXT_VALIDATION_FEATURES_EXTENSION_NAME;
            sync_validation = 1;
        }
    }
    const VkApplicationInfo app = {
        .sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
        .pApplicationName = "silkie",
        .pEngineName = "silkie",
        .apiVersion = VK_API_VERSION_1_3,
    };
    /* Synchronization validation checks the barriers the command recorder derives; that is
     * the part of this layer most likely to be subtly wrong and least likely to show on a
     * serial CPU driver. */
    const VkValidationFeatureEnableEXT enables[] = {
        VK_VALIDATION_FEATURE_ENABLE_SYNCHRONIZATION_VALIDATION_EXT};
    const VkValidationFeaturesEXT vf = {
        .sType = VK_STRUCTURE_TYPE_VALIDATION_FEATURES_EXT,
        .enabledValidationFeatureCount = SK_ARRAY_LEN(enables),
        .pEnabledValidationFeatures = enables,
    };
    const VkInstanceCreateInfo ci = {
        .sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
        .pNext = sync_validation ? &vf : NULL,
        .pApplicationInfo = &app,
        .enabledLayerCount = n_layers,
        .ppEnabledLayerNames = layers,
        .enabledExtensionCount = n_exts,
        .ppEnabledExtensionNames = exts,
    };
    VkResult r = vkCreateInstance(&ci, NULL, &d->instance);
    if (r == VK_ERROR_INCOMPATIBLE_DRIVER)
        return SK_FAIL(SILKIE_ERR_NO_DEVICE, "vulkan: no compatible driver (ICD) found");
    if (r != VK_SUCCESS) return silkie_vk_result(d, r, "vkCreateInstance");

    if (d->validation) {
        PFN_vkCreateDebugUtilsMessengerEXT create =
            (PFN_vkCreateDebugUtilsMessengerEXT)vkGetInstanceProcAddr(
                d->instance, "vkCreateDebugUtilsMessengerEXT");
        d->destroy_messenger = (PFN_vkDestroyDebugUtilsMessengerEXT)vkGetInstanceProcAddr(
            d->instance, "vkDestroyDebugUtilsMessengerEXT");
        if (!create || !d->destroy_messenger)
            return SK_FAIL(SILKIE_ERR_UNSUPPORTED, "vulkan: debug utils entry points missing");
        const VkDebugUtilsMessengerCreateInfoEXT mi = {
            .sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT,
            .messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT |
                               VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT,
            .messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT |
                           VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                           VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT,
            .pfnUserCallback = on_validation,
            .pUserData = d,
        };
        SK_VK(d, create(d->instance, &mi, NULL, &d->messenger));
    }
    return SILKIE_OK;
}

static int type_rank(VkPhysicalDeviceType t)
{
    switch (t) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return 4;
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return 3;
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return 2;
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return 1;
    default: return 0;
    }
}

static int compute_family(VkPhysicalDevice pd, uint32_t *family, uint32_t *ts_bits)
{
    uint32_t n = 0;
    vkGetPhysicalDeviceQueueFamilyProperties(pd, &n, NULL);
    if (n == 0) return 0;
    VkQueueFamilyProperties *qf = SK_NEW_ARRAY(VkQueueFamilyProperties, n);
    if (!qf) return 0;
    vkGetPhysicalDeviceQueueFamilyProperties(pd, &n, qf);
    int best = -1;
    /* A compute family without graphics is often a dedicated async-compute engine; take it
     * when present, else any family with compute. */
    for (uint32_t i = 0; i < n; i++) {
        if (!(qf[i].queueFlags & VK_QUEUE_COMPUTE_BIT)) continue;
        if (best < 0 || (!(qf[i].queueFlags & VK_QUEUE_GRAPHICS_BIT) &&
                         (qf[best].queueFlags & VK_QUEUE_GRAPHICS_BIT)))
            best = (int)i;
    }
    if (best >= 0) {
        *family = (uint32_t)best;
        *ts_bits = qf[best].timestampValidBits;
    }
    silkie_free(qf);
    return best >= 0;
}

static int all_digits(const char *s)
{
    if (!*s) return 0;
    for (; *s; s++)
        if (*s < '0' || *s > '9') return 0;
    return 1;
}

static silkie_status pick_physical(silkie_vk_device *d, const char *want)
{
    uint32_t n = 0;
    VkResult r = vkEnumeratePhysicalDevices(d->instance, &n, NULL);
    if (r != VK_SUCCESS) return silkie_vk_result(d, r, "vkEnumeratePhysicalDevices");
    if (n == 0) return SK_FAIL(SILKIE_ERR_NO_DEVICE, "vulkan: no physical devices");
    VkPhysicalDevice *pds = SK_NEW_ARRAY(VkPhysicalDevice, n);
    if (!pds) return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "vulkan: %u device handles", n);
    r = vkEnumeratePhysicalDevices(d->instance, &n, pds);
    if (r != VK_SUCCESS && r != VK_INCOMPLETE) {
        silkie_free(pds);
        return silkie_vk_result(d, r, "vkEnumeratePhysicalDevices");
    }
    int best = -1, best_rank = -1;
    uint32_t fam = 0, ts = 0;
    for (uint32_t i = 0; i < n; i++) {
        VkPhysicalDeviceProperties pp;
        vkGetPhysicalDeviceProperties(pds[i], &pp);
        uint32_t f, t;
        if (pp.apiVersion < VK_API_VERSION_1_2 || !compute_family(pds[i], &f, &t)) continue;
        int match;
        if (want && *want)
            match = all_digits(want) ? strtoul(want, NULL, 10) == i
                                     : strcasestr(pp.deviceName, want) != NULL;
        else
            match = 1;
        if (!match) continue;
        int rank = type_rank(pp.deviceType);
        if (rank > best_rank) {
            best = (int)i;
            best_rank = rank;
            fam = f;
            ts = t;
        }
    }
    if (best >= 0) {
        d->phys = pds[best];
        d->queue_family = fam;
        d->timestamp_bits = ts;
    }
    silkie_free(pds);
    if (best < 0) {
        if (want && *want)
            return SK_FAIL(SILKIE_ERR_NO_DEVICE,
                           "vulkan: no Vulkan 1.2 compute device matches '%s'", want);
        return SK_FAIL(SILKIE_ERR_NO_DEVICE, "vulkan: no Vulkan 1.2 device with a compute queue");
    }
    return SILKIE_OK;
}

static int has_device_ext(const VkExtensionProperties *e, uint32_t n, const char *name)
{
    for (uint32_t i = 0; i < n; i++)
        if (!strcmp(e[i].extensionName, name)) return 1;
    return 0;
}

/* Cooperative matrix is only useful to us in the f16 x f16 -> f16/f32 16x16x16 shape. */
static int coopmat_f16_16(silkie_vk_device *d)
{
    PFN_vkGetPhysicalDeviceCooperativeMatrixPropertiesNV get =
        (PFN_vkGetPhysicalDeviceCooperativeMatrixPropertiesNV)vkGetInstanceProcAddr(
            d->instance, "vkGetPhysicalDeviceCooperativeMatrixPropertiesNV");
    if (!get) return 0;
    uint32_t n = 0;
    if (get(d->phys, &n, NULL) != VK_SUCCESS || n == 0) return 0;
    VkCooperativeMatrixPropertiesNV *p = SK_NEW_ARRAY(VkCooperativeMatrixPropertiesNV, n);
    if (!p) return 0;
    for (uint32_t i = 0; i < n; i++)
        p[i].sType = VK_STRUCTURE_TYPE_COOPERATIVE_MATRIX_PROPERTIES_NV;
    int ok = 0;
    if (get(d->phys, &n, p) == VK_SUCCESS)
        for (uint32_t i = 0; i < n; i++)
            if (p[i].MSize == 16 && p[i].NSize == 16 && p[i].KSize == 16 &&
                p[i].AType == VK_COMPONENT_TYPE_FLOAT16_NV &&
                p[i].BType == VK_COMPONENT_TYPE_FLOAT16_NV && p[i].scope == VK_SCOPE_SUBGROUP_NV)
                ok = 1;
    silkie_free(p);
    return ok;
}

static silkie_status create_device(silkie_vk_device *d, const silkie_vk_device_params *p)
{
    VkPhysicalDeviceProperties pp;
    vkGetPhysicalDeviceProperties(d->phys, &pp);
    uint32_t n_ext = 0;
    SK_VK(d, vkEnumerateDeviceExtensionProperties(d->phys, NULL, &n_ext, NULL));
    VkExtensionProperties *ext = SK_NEW_ARRAY(VkExtensionProperties, n_ext ? n_ext : 1);
    if (!ext) return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "vulkan: extension list");
    VkResult r = vkEnumerateDeviceExtensionProperties(d->phys, NULL, &n_ext, ext);
    if (r != VK_SUCCESS) {
        silkie_free(ext);
        return silkie_vk_result(d, r, "vkEnumerateDeviceExtensionProperties");
    }
    const int v13 = pp.apiVersion >= VK_API_VERSION_1_3;
    const int fast = !p->disable_fast_paths;
    const int has_coop =
        fast && has_device_ext(ext, n_ext, VK_NV_COOPERATIVE_MATRIX_EXTENSION_NAME);
    /* Named by its string: the Vulkan headers of Debian 12 predate the extension. */
    d->caps.coopmat_khr = (uint32_t)has_device_ext(ext, n_ext, "VK_KHR_cooperative_matrix");
    const int has_dot_ext =
        !v13 && has_device_ext(ext, n_ext, VK_KHR_SHADER_INTEGER_DOT_PRODUCT_EXTENSION_NAME);
    const int has_ssc_ext =
        !v13 && has_device_ext(ext, n_ext, VK_EXT_SUBGROUP_SIZE_CONTROL_EXTENSION_NAME);
    silkie_free(ext);

    /* Query what exists, then enable exactly the useful subset of it. */
    VkPhysicalDeviceCooperativeMatrixFeaturesNV q_coop = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_NV};
    VkPhysicalDeviceShaderIntegerDotProductFeatures q_dot = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_INTEGER_DOT_PRODUCT_FEATURES};
    VkPhysicalDeviceSubgroupSizeControlFeatures q_ssc = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_SIZE_CONTROL_FEATURES};
    VkPhysicalDeviceVulkan13Features q13 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_3_FEATURES};
    VkPhysicalDeviceVulkan12Features q12 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES};
    VkPhysicalDeviceVulkan11Features q11 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES};
    VkPhysicalDeviceFeatures2 q = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2};
    q.pNext = &q11;
    q11.pNext = &q12;
    void **tail = &q12.pNext;
    if (v13) { *tail = &q13; tail = &q13.pNext; }
    if (has_dot_ext) { *tail = &q_dot; tail = &q_dot.pNext; }
    if (has_ssc_ext) { *tail = &q_ssc; tail = &q_ssc.pNext; }
    if (has_coop) { *tail = &q_coop; tail = &q_coop.pNext; }
    vkGetPhysicalDeviceFeatures2(d->phys, &q);

    VkPhysicalDeviceCooperativeMatrixFeaturesNV e_coop = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_NV,
        .cooperativeMatrix = q_coop.cooperativeMatrix};
    VkPhysicalDeviceShaderIntegerDotProductFeatures e_dot = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_INTEGER_DOT_PRODUCT_FEATURES,
        .shaderIntegerDotProduct = q_dot.shaderIntegerDotProduct};
    VkPhysicalDeviceSubgroupSizeControlFeatures e_ssc = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_SIZE_CONTROL_FEATURES,
        .subgroupSizeControl = q_ssc.subgroupSizeControl,
        .computeFullSubgroups = q_ssc.computeFullSubgroups};
    VkPhysicalDeviceVulkan13Features e13 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_3_FEATURES,
        .subgroupSizeControl = q13.subgroupSizeControl,
        .computeFullSubgroups = q13.computeFullSubgroups,
        .shaderIntegerDotProduct = fast && q13.shaderIntegerDotProduct,
        .maintenance4 = q13.maintenance4};
    VkPhysicalDeviceVulkan12Features e12 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES,
        .shaderFloat16 = q12.shaderFloat16,
        .shaderInt8 = q12.shaderInt8,
        .storageBuffer8BitAccess = q12.storageBuffer8BitAccess,
        .uniformAndStorageBuffer8BitAccess = q12.uniformAndStorageBuffer8BitAccess,
        .storagePushConstant8 = q12.storagePushConstant8,
        .shaderSubgroupExtendedTypes = q12.shaderSubgroupExtendedTypes,
        .vulkanMemoryModel = q12.vulkanMemoryModel,
        .vulkanMemoryModelDeviceScope = q12.vulkanMemoryModelDeviceScope,
        .hostQueryReset = q12.hostQueryReset};
    VkPhysicalDeviceVulkan11Features e11 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES,
        .storageBuffer16BitAccess = q11.storageBuffer16BitAccess,
        .uniformAndStorageBuffer16BitAccess = q11.uniformAndStorageBuffer16BitAccess,
        .storagePushConstant16 = q11.storagePushConstant16};
    VkPhysicalDeviceFeatures2 e = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2};
    e.features.shaderInt64 = q.features.shaderInt64;
    e.features.shaderInt16 = q.features.shaderInt16;
    e.features.shaderFloat64 = q.features.shaderFloat64;

    const char *dev_exts[4];
    uint32_t n_dev_exts = 0;
    e.pNext = &e11;
    e11.pNext = &e12;
    tail = &e12.pNext;
    if (v13) { *tail = &e13; tail = &e13.pNext; }
    if (has_dot_ext && q_dot.shaderIntegerDotProduct && fast) {
        *tail = &e_dot; tail = &e_dot.pNext;
        dev_exts[n_dev_exts++] = VK_KHR_SHADER_INTEGER_DOT_PRODUCT_EXTENSION_NAME;
    }
    if (has_ssc_ext && q_ssc.subgroupSizeControl) {
        *tail = &e_ssc; tail = &e_ssc.pNext;
        dev_exts[n_dev_exts++] = VK_EXT_SUBGROUP_SIZE_CONTROL_EXTENSION_NAME;
    }
    int coop = has_coop && q_coop.cooperativeMatrix && coopmat_f16_16(d);
    if (coop) {
        *tail = &e_coop; tail = &e_coop.pNext;
        dev_exts[n_dev_exts++] = VK_NV_COOPERATIVE_MATRIX_EXTENSION_NAME;
    }

    const float prio = 1.0f;
    const VkDeviceQueueCreateInfo qi = {
        .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
        .queueFamilyIndex = d->queue_family,
        .queueCount = 1,
        .pQueuePriorities = &prio,
    };
    const VkDeviceCreateInfo ci = {
        .sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
        .pNext = &e,
        .queueCreateInfoCount = 1,
        .pQueueCreateInfos = &qi,
        .enabledExtensionCount = n_dev_exts,
        .ppEnabledExtensionNames = dev_exts,
    };
    SK_VK(d, vkCreateDevice(d->phys, &ci, NULL, &d->dev));
    vkGetDeviceQueue(d->dev, d->queue_family, 0, &d->queue);

    silkie_vk_caps *c = &d->caps;
    c->fp16_arith = e12.shaderFloat16;
    c->int8_arith = e12.shaderInt8;
    c->storage16 = e11.storageBuffer16BitAccess;
    c->storage8 = e12.storageBuffer8BitAccess;
    c->int_dot = v13 ? e13.shaderIntegerDotProduct
                     : (has_dot_ext && fast ? q_dot.shaderIntegerDotProduct : 0);
    c->coopmat_nv = (uint32_t)coop;
    return SILKIE_OK;
}

static void fill_caps(silkie_vk_device *d, const silkie_vk_device_params *p)
{
    VkPhysicalDeviceDriverProperties drv = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES};
    VkPhysicalDeviceSubgroupProperties sg = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES, .pNext = &drv};
    VkPhysicalDeviceProperties2 pp2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2,
                                       .pNext = &sg};
    vkGetPhysicalDeviceProperties2(d->phys, &pp2);
    const VkPhysicalDeviceProperties *pp = &pp2.properties;
    const VkPhysicalDeviceLimits *l = &pp->limits;
    silkie_vk_caps *c = &d->caps;
    snprintf(c->device_name, sizeof c->device_name, "%s", pp->deviceName);
    c->vendor_id = pp->vendorID;
    c->device_id = pp->deviceID;
    c->device_type = (uint32_t)pp->deviceType;
    c->api_version = pp->apiVersion;
    c->driver_version = pp->driverVersion;
    snprintf(c->driver_name, sizeof c->driver_name, "%s %s", drv.driverName, drv.driverInfo);
    c->max_storage_buffer_range = l->maxStorageBufferRange;
    if (p->max_binding_bytes && p->max_binding_bytes < c->max_storage_buffer_range)
        c->max_storage_buffer_range = p->max_binding_bytes;
    c->max_storage_buffers = SK_MIN(l->maxPerStageDescriptorStorageBuffers,
                                    l->maxDescriptorSetStorageBuffers);
    c->max_shared_memory = l->maxComputeSharedMemorySize;
    c->max_workgroup_invocations = l->maxComputeWorkGroupInvocations;
    for (int i = 0; i < 3; i++) c->max_workgroup_count[i] = l->maxComputeWorkGroupCount[i];
    c->max_push_constants = l->maxPushConstantsSize;
    c->subgroup_size = sg.subgroupSize;
    const VkSubgroupFeatureFlags need =
        VK_SUBGROUP_FEATURE_BASIC_BIT | VK_SUBGROUP_FEATURE_ARITHMETIC_BIT |
        VK_SUBGROUP_FEATURE_SHUFFLE_BIT;
    c->subgroup_ops = (sg.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT) &&
                      (sg.supportedOperations & need) == need;
    c->timestamps = d->timestamp_bits > 0 && l->timestampPeriod > 0;
    c->timestamp_period_ns = l->timestampPeriod;
    d->offset_align = l->minStorageBufferOffsetAlignment ? l->minStorageBufferOffsetAlignment : 1;
    memcpy(d->cache_uuid, pp->pipelineCacheUUID, VK_UUID_SIZE);

    vkGetPhysicalDeviceMemoryProperties(d->phys, &d->mem_props);
    const VkPhysicalDeviceMemoryProperties *m = &d->mem_props;
    for (uint32_t i = 0; i < m->memoryHeapCount; i++)
        if ((m->memoryHeaps[i].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) &&
            m->memoryHeaps[i].size > c->device_local_bytes)
            c->device_local_bytes = m->memoryHeaps[i].size;
    /* Unified: integrated/CPU devices whose device-local memory the host can map coherently.
     * Discrete cards with a resizable BAR also expose such a type, but reading it from the
     * host is slow there, so they keep the staging path. */
    const VkMemoryPropertyFlags uni = VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT |
                                      VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT |
                                      VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
    int uni_type = 0;
    for (uint32_t i = 0; i < m->memoryTypeCount; i++)
        if ((m->memoryTypes[i].propertyFlags & uni) == uni) uni_type = 1;
    c->unified_memory = uni_type && !p->force_staging &&
                        (pp->deviceType == VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU ||
                         pp->deviceType == VK_PHYSICAL_DEVICE_TYPE_CPU);
}

static void log_caps(const silkie_vk_device *d)
{
    const silkie_vk_caps *c = &d->caps;
    SK_LOGI("device: %s (vendor 0x%04x, device 0x%04x, type %u, api %u.%u.%u)", c->device_name,
            c->vendor_id, c->device_id, c->device_type, VK_API_VERSION_MAJOR(c->api_version),
            VK_API_VERSION_MINOR(c->api_version), VK_API_VERSION_PATCH(c->api_version));
    SK_LOGI("paths: fp16 %u, storage16 %u, storage8 %u, int8 %u, int-dot %u, coopmat-nv %u, "
            "coopmat-khr %u (no kernel), subgroup %u (ops %u), unified memory %u, timestamps %u, "
            "f16 GEMM opt-in %d",
            c->fp16_arith, c->storage16, c->storage8, c->int8_arith, c->int_dot, c->coopmat_nv,
            c->coopmat_khr, c->subgroup_size, c->subgroup_ops, c->unified_memory, c->timestamps,
            d->f16_gemm);
    SK_LOGI("limits: binding %llu bytes, shared %u bytes, %u invocations, device-local %llu MiB",
            (unsigned long long)c->max_storage_buffer_range, c->max_shared_memory,
            c->max_workgroup_invocations, (unsigned long long)(c->device_local_bytes >> 20));
}

static int env_on(const char *name)
{
    const char *e = silkie_env(name);
    return e && *e && strcmp(e, "0") != 0;
}

silkie_status silkie_vk_device_create(const silkie_vk_device_params *p_in, silkie_vk_device **out)
{
    if (!out) return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "vk_device_create: out is NULL");
    *out = NULL;
    /* A mistyped SILKIE_FAULT must not silently run without the fault it asked for. */
    SK_CHECK(sk_fault_init());
    silkie_vk_device_params p;
    silkie_vk_device_params_init(&p);
    if (p_in) {
        if (p_in->struct_size == 0 || p_in->struct_size > sizeof p)
            return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT,
                           "vk_device_create: params.struct_size %u (want 1..%zu)",
                           p_in->struct_size, sizeof p);
        memcpy(&p, p_in, p_in->struct_size);
    }
    silkie_vk_device *d = SK_NEW(silkie_vk_device);
    if (!d) return SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "vk_device_create: %zu bytes", sizeof *d);
    d->validation = p.validation || env_on("SILKIE_VALIDATE");
    d->profile = p.profile || env_on("SILKIE_PROFILE");
    d->f16_gemm = p.f16_gemm != 0;
    const char *want = p.exact_device ? NULL : silkie_env("SILKIE_DEVICE");
    if (!want || !*want) want = p.device;
    const char *cache = p.pipeline_cache_path;
    if (!cache || !*cache) cache = silkie_env("SILKIE_PIPELINE_CACHE");

    silkie_status st = create_instance(d);
    if (st == SILKIE_OK) st = pick_physical(d, want);
    if (st == SILKIE_OK) st = create_device(d, &p);
    if (st == SILKIE_OK) {
        fill_caps(d, &p);
        if (d->profile && !d->caps.timestamps) {
            SK_LOGW("profiling requested but the compute queue has no timestamps; disabled");
            d->profile = 0;
        }
        log_caps(d);
        st = silkie_vk_memory_init(d);
    }
    if (st == SILKIE_OK) st = silkie_vk_pipelines_init(d, cache);
    if (st != SILKIE_OK) {
        silkie_vk_device_destroy(d);
        return st;
    }
    *out = d;
    return SILKIE_OK;
}

void silkie_vk_device_destroy(silkie_vk_device *d)
{
    if (!d) return;
    if (d->dev) vkDeviceWaitIdle(d->dev);
    if (d->profile && d->n_prof) silkie_vk_profile_print(d);
    if (d->dev) {
        silkie_vk_pipelines_release(d);
        silkie_vk_memory_release(d);
        vkDestroyDevice(d->dev, NULL);
    }
    silkie_vk_profile_release(d);
    if (d->messenger) d->destroy_messenger(d->instance, d->messenger, NULL);
    if (d->instance) vkDestroyInstance(d->instance, NULL);
    silkie_free(d);
}

const silkie_vk_caps *silkie_vk_device_caps(const silkie_vk_device *d)
{
    return d ? &d->caps : NULL;
}

uint32_t silkie_vk_validation_messages(const silkie_vk_device *d)
{
    return d ? d->validation_messages : 0;
}

int silkie_vk_device_lost(const silkie_vk_device *d) { return d ? d->lost : 0; }

uint32_t silkie_vk_pipeline_count(const silkie_vk_device *d) { return d ? d->n_pipes : 0; }

int silkie_vk_device_f16_gemm(const silkie_vk_device *d) { return d && d->f16_gemm; }

uint64_t silkie_vk_offset_alignment(const silkie_vk_device *d) { return d ? d->offset_align : 1; }

silkie_status silkie_vk_device_wait_idle(silkie_vk_device *d)
{
    if (!d) return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "vk_device_wait_idle: device is NULL");
    SK_VK_ALIVE(d, "vk_device_wait_idle");
    SK_VK(d, vkDeviceWaitIdle(d->dev));
    return SILKIE_OK;
}

silkie_status silkie_vk_physical_count(uint32_t *n, uint32_t *loader_version)
{
    *n = 0;
    *loader_version = 0;
    SK_CHECK(silkie_vk_loader_open());
    PFN_vkEnumerateInstanceVersion ev =
        (PFN_vkEnumerateInstanceVersion)vkGetInstanceProcAddr(NULL, "vkEnumerateInstanceVersion");
    if (ev && ev(loader_version) != VK_SUCCESS) *loader_version = 0;
    silkie_vk_device tmp;
    memset(&tmp, 0, sizeof tmp);
    SK_CHECK(create_instance(&tmp));
    VkResult r = vkEnumeratePhysicalDevices(tmp.instance, n, NULL);
    vkDestroyInstance(tmp.instance, NULL);
    if (r != VK_SUCCESS) return SK_FAIL(SILKIE_ERR_NO_DEVICE, "vulkan: cannot list devices (%s)",
                                        silkie_vk_result_name(r));
    return SILKIE_OK;
}
