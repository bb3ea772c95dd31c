# libFuzzer targets for the model-file parsers. Configure with -DSILKIE_FUZZ=ON and
# CMAKE_C_COMPILER=clang; see docs/FILES.md for running them.
if(SILKIE_FUZZ)
  # Coverage instrumentation for the parsers themselves, not only the harness.
  target_compile_options(silkie_model_files PRIVATE -fsanitize=fuzzer-no-link,address,undefined)
  foreach(f safetensors pickle zip gguf config verify)
    add_executable(fuzz_${f} ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_${f}.c)
    target_compile_options(fuzz_${f} PRIVATE -fsanitize=fuzzer,address,undefined)
    target_link_options(fuzz_${f} PRIVATE -fsanitize=fuzzer,address,undefined)
    target_link_libraries(fuzz_${f} PRIVATE silkie_model_files)
  endforeach()
endif()
