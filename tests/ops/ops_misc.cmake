# Misc forward ops: norms, softmax, rope, activations, element-wise, vision helpers, attention,
# sampling helpers.
if(TARGET silkie_test_harness_vk)
  foreach(t rms_norm layer_norm softmax rope gelu swiglu binary patchify interp_bicubic attention
            argmax topk)
    if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/test_${t}.c)
      silkie_add_test(test_${t} SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_${t}.c
                      LIBS silkie_test_harness_vk LABELS op TIMEOUT 60)
    endif()
  endforeach()
endif()
