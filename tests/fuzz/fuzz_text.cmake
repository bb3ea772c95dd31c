# Tokenizer fuzzing: a libFuzzer target with -DSILKIE_FUZZ=ON (clang), and a deterministic replay
# of seeds and seeded mutations in the normal suite.
set(SK_FUZZ_TEXT_SRC ${CMAKE_CURRENT_LIST_DIR}/fuzz_tokenizer.c)
silkie_add_test(fuzz_tokenizer_replay SOURCES ${SK_FUZZ_TEXT_SRC} LIBS silkie_text
                LABELS unit TIMEOUT 120)
target_compile_definitions(fuzz_tokenizer_replay PRIVATE SK_FUZZ_REPLAY
                           SILKIE_SHARED_DIR_FOR_FUZZ="${SILKIE_SHARED_DIR}"
                           SK_FUZZ_CORPUS_DIR="${CMAKE_CURRENT_LIST_DIR}/corpus")
if(SILKIE_FUZZ)
  # Coverage of the tokenizer itself, not only of the harness.
  target_compile_options(silkie_text PRIVATE -fsanitize=fuzzer-no-link,address,undefined)
  add_executable(fuzz_tokenizer ${SK_FUZZ_TEXT_SRC})
  target_compile_options(fuzz_tokenizer PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_options(fuzz_tokenizer PRIVATE -fsanitize=fuzzer,address,undefined)
  target_compile_definitions(fuzz_tokenizer PRIVATE
                             SILKIE_SHARED_DIR_FOR_FUZZ="${SILKIE_SHARED_DIR}")
  target_link_libraries(fuzz_tokenizer PRIVATE silkie_text)
endif()
