# Attention backward (training).
if(TARGET silkie_test_harness_vk)
  silkie_add_test(test_attention_back SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_attention_back.c
                  LIBS silkie_test_harness_vk LABELS op TIMEOUT 120)
endif()
