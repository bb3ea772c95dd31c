# Preference data preparation (VLFeedback -> pairs) and the fuzz targets of the training data
# parsers: their libFuzzer builds (-DSILKIE_FUZZ=ON) and a deterministic replay in the suite.
if(TARGET silkie_trainer)
  silkie_add_test(test_vlfeedback SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_vlfeedback.c
                  LIBS silkie_trainer LABELS unit TIMEOUT 120)
  include(${PROJECT_SOURCE_DIR}/tests/fuzz/fuzz_train.cmake)
  if(TARGET silkie_cli)
    silkie_add_test(test_train_prepare_cli
                    SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_train_prepare_cli.c
                    LIBS silkie_trainer ARGS $<TARGET_FILE:silkie_cli> LABELS unit TIMEOUT 60)
    add_dependencies(test_train_prepare_cli silkie_cli)
  endif()
endif()
