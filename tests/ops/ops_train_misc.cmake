# Training ops without attention: RMSNorm / SwiGLU backward, dropout, log-softmax gather, and
# the rotary backward (the forward op's inverse rotation).
if(TARGET silkie_test_harness_vk)
  foreach(t rms_norm_back swiglu_back dropout logsoftmax_gather rope_back)
    if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/test_${t}.c)
      silkie_add_test(test_${t} SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_${t}.c
                      LIBS silkie_test_harness_vk LABELS op TIMEOUT 120)
    endif()
  endforeach()
endif()
