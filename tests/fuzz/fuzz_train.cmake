# Training-data parsers: the preference JSONL reader, the VLFeedback converter and the PEFT
# adapter config. libFuzzer targets with -DSILKIE_FUZZ=ON (clang), and a deterministic replay of
# the committed corpus plus seeded mutations in the normal suite (test_fuzz_replay_train).
include_guard(GLOBAL)
if(NOT TARGET silkie_trainer)
  return()
endif()
set(SK_FUZZ_TRAIN_DIR ${CMAKE_CURRENT_LIST_DIR})
silkie_add_test(test_fuzz_replay_train
                SOURCES ${PROJECT_SOURCE_DIR}/tests/unit/test_fuzz_replay_train.c
                LIBS silkie_trainer silkie_model_files LABELS unit TIMEOUT 300)
target_include_directories(test_fuzz_replay_train PRIVATE ${SK_FUZZ_TRAIN_DIR})
target_compile_definitions(test_fuzz_replay_train PRIVATE
                           SK_FUZZ_CORPUS_DIR="${SK_FUZZ_TRAIN_DIR}/corpus")
if(SILKIE_FUZZ)
  target_compile_options(silkie_trainer PRIVATE -fsanitize=fuzzer-no-link,address,undefined)
  target_compile_options(silkie_model_files PRIVATE -fsanitize=fuzzer-no-link,address,undefined)
  foreach(f pref_reader vlfeedback lora_config)
    add_executable(fuzz_${f} ${SK_FUZZ_TRAIN_DIR}/fuzz_${f}.c)
    target_compile_options(fuzz_${f} PRIVATE -fsanitize=fuzzer,address,undefined)
    target_link_options(fuzz_${f} PRIVATE -fsanitize=fuzzer,address,undefined)
    target_link_libraries(fuzz_${f} PRIVATE silkie_trainer silkie_model_files)
  endforeach()
endif()
