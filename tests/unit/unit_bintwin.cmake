# A checkpoint folder in PyTorch .bin shards (written by a test-side torch.save writer) loads like
# its safetensors twin: the weights view (unit), and the greedy answer through the public API
# (golden).
silkie_add_test(test_bin_twin SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_bin_twin.c
                LIBS silkie_model_files LABELS unit TIMEOUT 60
                ARGS "${SILKIE_SHARED_DIR}/golden/tiny-a")
if(TARGET silkie_api)
  silkie_add_test(test_bin_twin_golden SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_bin_twin.c
                  LIBS silkie_test_harness_model silkie_model_files LABELS golden TIMEOUT 120
                  ARGS "${SILKIE_SHARED_DIR}/golden/tiny-a")
  target_compile_definitions(test_bin_twin_golden PRIVATE BIN_TWIN_GOLDEN)
endif()
