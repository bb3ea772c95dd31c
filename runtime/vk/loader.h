/* The Vulkan loader is opened at run time, not linked: a machine without one still runs the
 * tokenizer and file tools, and a model load there fails with SILKIE_ERR_NO_DEVICE. Every
 * Vulkan command runtime/vk calls is a function pointer of the same name, filled from the
 * loader's exports (what linking against it would have bound). */
#ifndef SILKIE_VK_LOADER_H
#define SILKIE_VK_LOADER_H

#ifndef VK_NO_PROTOTYPES
#define VK_NO_PROTOTYPES
#endif
#include <vulkan/vulkan.h>

#include "base/base.h"

#define SK_VK_LOADER_FUNCS(X) \
    X(vkAllocateCommandBuffers) X(vkAllocateDescriptorSets) X(vkAllocateMemory) \
    X(vkBeginCommandBuffer) X(vkBindBufferMemory) X(vkCmdBindDescriptorSets) \
    X(vkCmdBindPipeline) X(vkCmdCopyBuffer) X(vkCmdDispatch) X(vkCmdFillBuffer) \
    X(vkCmdPipelineBarrier) X(vkCmdPushConstants) X(vkCmdResetQueryPool) X(vkCmdWriteTimestamp) \
    X(vkCreateBuffer) X(vkCreateCommandPool) X(vkCreateComputePipelines) \
    X(vkCreateDescriptorPool) X(vkCreateDescriptorSetLayout) X(vkCreateDevice) X(vkCreateFence) \
    X(vkCreateInstance) X(vkCreatePipelineCache) X(vkCreatePipelineLayout) X(vkCreateQueryPool) \
    X(vkCreateShaderModule) X(vkDestroyBuffer) X(vkDestroyCommandPool) \
    X(vkDestroyDescriptorPool) X(vkDestroyDescriptorSetLayout) X(vkDestroyDevice) \
    X(vkDestroyFence) X(vkDestroyInstance) X(vkDestroyPipeline) X(vkDestroyPipelineCache) \
    X(vkDestroyPipelineLayout) X(vkDestroyQueryPool) X(vkDestroyShaderModule) \
    X(vkDeviceWaitIdle) X(vkEndCommandBuffer) X(vkEnumerateDeviceExtensionProperties) \
    X(vkEnumerateInstanceExtensionProperties) X(vkEnumerateInstanceLayerProperties) \
    X(vkEnumeratePhysicalDevices) X(vkFreeMemory) X(vkGetBufferMemoryRequirements) \
    X(vkGetDeviceQueue) X(vkGetInstanceProcAddr) X(vkGetPhysicalDeviceFeatures2) \
    X(vkGetPhysicalDeviceMemoryProperties) X(vkGetPhysicalDeviceProperties) \
    X(vkGetPhysicalDeviceProperties2) X(vkGetPhysicalDeviceQueueFamilyProperties) \
    X(vkGetPipelineCacheData) X(vkGetQueryPoolResults) X(vkMapMemory) X(vkQueueSubmit) \
    X(vkResetCommandBuffer) X(vkResetCommandPool) X(vkResetDescriptorPool) X(vkResetFences) \
    X(vkUnmapMemory) X(vkUpdateDescriptorSets) X(vkWaitForFences)

#define SK_VK_LOADER_DECLARE(name) extern __attribute__((visibility("hidden"))) PFN_##name name;
SK_VK_LOADER_FUNCS(SK_VK_LOADER_DECLARE)
#undef SK_VK_LOADER_DECLARE

/* Opens the loader once per process: SILKIE_VULKAN_LOADER when set (a vendor's own build),
 * else libvulkan.so.1 or libvulkan.so (Android: libvulkan.so). SILKIE_ERR_NO_DEVICE naming the
 * library when it or one of the commands is missing; later calls return the first call's
 * result. */
silkie_status silkie_vk_loader_open(void);

#endif
