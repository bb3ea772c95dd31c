# A GGUF packed from the golden tiny-a folder answers exactly as the folder (f32) and agrees
# with the reference on the top token (q8_0, quantized by the packer).
if(TARGET silkie_api)
  silkie_add_test(test_golden_gguf SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_golden_gguf.c
                  LIBS silkie_test_harness_model silkie_model_files PkgConfig::CJSON LABELS golden TIMEOUT 300
                  ARGS "${SILKIE_SHARED_DIR}/golden/tiny-a" f32)
  add_test(NAME test_golden_gguf_q8_0
           COMMAND test_golden_gguf "${SILKIE_SHARED_DIR}/golden/tiny-a" q8_0)
  set_tests_properties(test_golden_gguf_q8_0 PROPERTIES LABELS golden SKIP_RETURN_CODE 77
                       TIMEOUT 300 ENVIRONMENT "SILKIE_VALIDATE=1")
endif()
