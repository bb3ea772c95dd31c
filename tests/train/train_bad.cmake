# Bad input to the trainer through the C API (label train): truncation through an image, empty
# and identical responses, a missing image, a NaN scale, adapters that do not fit.
if(TARGET silkie_test_harness_model)
  silkie_add_test(test_train_bad_input SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_train_bad_input.c
                  LIBS silkie_test_harness_model silkie_trainer LABELS train TIMEOUT 300
                  ARGS "${SILKIE_SHARED_DIR}/golden/tiny-a")
endif()
