# Optimizer step and the sum of squares behind gradient-norm clipping.
if(TARGET silkie_test_harness_vk)
  foreach(t adamw sum_sq)
    silkie_add_test(test_${t} SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_${t}.c
                    LIBS silkie_test_harness_vk LABELS op TIMEOUT 120)
  endforeach()
endif()
