# The DPO step of a golden case through `silkie train dpo --steps 0 --dump` (label train), with
# the f32 base (the case's bounds) and q8_0 / q4_0 bases (scaled bounds, see the test).
# SILKIE_GOLDEN_TRAIN_CASE picks another case directory of the same form.
if(TARGET silkie_cli AND TARGET silkie_test_harness_vk)
  set(SILKIE_GOLDEN_TRAIN_CASE "${SILKIE_SHARED_DIR}/golden/tiny-a" CACHE PATH
      "golden case directory for test_train_golden")
  add_executable(test_train_golden ${CMAKE_CURRENT_LIST_DIR}/test_train_golden.c)
  target_link_libraries(test_train_golden PRIVATE silkie_test_harness_vk silkie_model
                        PkgConfig::CJSON)
  add_dependencies(test_train_golden silkie_cli)
  foreach(w f32 q8_0 q4_0)
    add_test(NAME test_train_golden_${w}
             COMMAND test_train_golden $<TARGET_FILE:silkie_cli> "${SILKIE_GOLDEN_TRAIN_CASE}" ${w})
    # The quantized bases repeat the same code path: the sanitizer pass (-LE slow) skips them.
    if(w STREQUAL "f32")
      set(labels "train;golden")
    else()
      set(labels "train;golden;slow")
    endif()
    set_tests_properties(test_train_golden_${w} PROPERTIES LABELS "${labels}"
                         SKIP_RETURN_CODE 77 TIMEOUT 600 ENVIRONMENT "SILKIE_VALIDATE=1")
  endforeach()
endif()
