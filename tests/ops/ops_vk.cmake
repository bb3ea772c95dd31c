# Vulkan device layer, tensor helpers and the benchmark reference ops.
if(TARGET silkie_test_harness_vk)
  foreach(t test_vk_device test_vk_memory test_copy test_pipeline_cache)
    silkie_add_test(${t} SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/${t}.c LIBS silkie_test_harness_vk
                    LABELS op TIMEOUT 120)
  endforeach()
endif()
