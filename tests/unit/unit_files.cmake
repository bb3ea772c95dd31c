# Model files: safetensors, PyTorch .bin (zip + pickle), config JSON, GGUF, weights view, and a
# replay of the fuzz entry points over seeds and deterministic mutations (no libFuzzer needed).
foreach(t safetensors torch_bin model_config gguf weights_alloc fuzz_replay)
  silkie_add_test(test_${t} SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_${t}.c
                  LIBS silkie_model_files LABELS unit TIMEOUT 120)
  # zip_build.h and the fuzz sources live beside the fuzz targets.
  target_include_directories(test_${t} PRIVATE ${PROJECT_SOURCE_DIR}/tests/fuzz)
endforeach()
# The fuzzing campaign's minimized corpora (tests/fuzz/corpus/fuzz_NAME), each input once.
target_compile_definitions(test_fuzz_replay PRIVATE
                           SK_FUZZ_CORPUS_DIR="${PROJECT_SOURCE_DIR}/tests/fuzz/corpus")
