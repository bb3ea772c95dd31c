# Bad input to the trainer through the C API (label train): truncation through an image, empty
# and identical responses, a missing image, a NaN scale, adapters that do not fit.
if(TARGET silkie_test_harness_model)
  silkie_add_test(test_train_bad_input SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_train_bad_input.c
                  LIBS silkie_test_harness_model silkie_trainer LABELS train TIMEOUT 300
                  ARGS "${SILKIE_SHARED_DIR}/golden/tiny-a")
endif()

# A PEFT adapter as adapter_model.bin (torch.save) against the same one as safetensors.
if(TARGET silkie_cli)
  add_executable(test_adapter_bin ${CMAKE_CURRENT_LIST_DIR}/test_adapter_bin.c)
  target_link_libraries(test_adapter_bin PRIVATE silkie_test_harness silkie_model_files)
  target_include_directories(test_adapter_bin PRIVATE ${PROJECT_SOURCE_DIR}/tests/unit)
  add_dependencies(test_adapter_bin silkie_cli)
  add_test(NAME test_adapter_bin COMMAND test_adapter_bin $<TARGET_FILE:silkie_cli>
           "${SILKIE_SHARED_DIR}/golden/tiny-a")
  set_tests_properties(test_adapter_bin PROPERTIES LABELS "train" TIMEOUT 300
                       ENVIRONMENT "SILKIE_VALIDATE=1")
endif()
