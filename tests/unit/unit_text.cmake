# Tokenizer, chat format, grounding and the `silkie tokenize` CLI (label unit).
set(SK_TEXT_TEST_DIR ${CMAKE_CURRENT_LIST_DIR})
add_library(silkie_test_text STATIC ${SK_TEXT_TEST_DIR}/test_tokenizer_common.c)
target_link_libraries(silkie_test_text PUBLIC silkie_test_harness silkie_text PkgConfig::CJSON)

foreach(t test_tokenizer test_tokenizer_decode test_chat test_grounding)
  silkie_add_test(${t} SOURCES ${SK_TEXT_TEST_DIR}/${t}.c LIBS silkie_test_text
                  LABELS unit TIMEOUT 60)
endforeach()

if(TARGET silkie_cli)
  silkie_add_test(test_tokenizer_cli SOURCES ${SK_TEXT_TEST_DIR}/test_tokenizer_cli.c
                  LIBS silkie_test_text ARGS $<TARGET_FILE:silkie_cli> LABELS unit TIMEOUT 60)
  add_dependencies(test_tokenizer_cli silkie_cli)
endif()
