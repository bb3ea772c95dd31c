# End-to-end golden checks of the model (need the shared reference folder).
if(TARGET silkie_session)
  foreach(mode f32 f16 q8_0 q4_0)
    set(name test_golden_model_${mode})
    if(mode STREQUAL "f32")
      silkie_add_test(test_golden_model SOURCES test_golden_model.c
                      LIBS silkie_test_harness_vk silkie_model silkie_text PkgConfig::CJSON
                      LABELS golden ARGS "${SILKIE_SHARED_DIR}/golden/tiny-a" f32)
    else()
      add_test(NAME ${name} COMMAND test_golden_model "${SILKIE_SHARED_DIR}/golden/tiny-a" ${mode})
      set_tests_properties(${name} PROPERTIES LABELS golden SKIP_RETURN_CODE 77 TIMEOUT 600
                           ENVIRONMENT "SILKIE_VALIDATE=1")
    endif()
  endforeach()
  # The f16-arithmetic GEMM for every product of the whole f16 model (the named setting).
  add_test(NAME test_golden_model_f16_gemm_f16
           COMMAND test_golden_model "${SILKIE_SHARED_DIR}/golden/tiny-a" f16 tuning=gemm-f16)
  set_tests_properties(test_golden_model_f16_gemm_f16 PROPERTIES LABELS golden
                       SKIP_RETURN_CODE 77 TIMEOUT 600)
  # The same kernel chosen automatically, for the inputs that fit f16 only (the app's opt-in).
  add_test(NAME test_golden_model_f16_f16_gemm
           COMMAND test_golden_model "${SILKIE_SHARED_DIR}/golden/tiny-a" f16 f16-gemm)
  set_tests_properties(test_golden_model_f16_f16_gemm PROPERTIES LABELS golden
                       SKIP_RETURN_CODE 77 TIMEOUT 600)
  # Embedding and LM head split across bindings, as on devices with a 128 MiB binding range.
  foreach(mode q8_0 q4_0)
    add_test(NAME test_golden_model_${mode}_split
             COMMAND test_golden_model "${SILKIE_SHARED_DIR}/golden/tiny-a" ${mode} split)
    set_tests_properties(test_golden_model_${mode}_split PROPERTIES LABELS golden
                         SKIP_RETURN_CODE 77 TIMEOUT 600)
  endforeach()
endif()
