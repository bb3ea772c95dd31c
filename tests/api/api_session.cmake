# Public API tests (label api): headers as C11 and C++11, misuse, destroy orders, session files,
# multi-turn reuse of the cache, cancellation and quantized loading on the golden tiny model.
if(TARGET silkie)
  # Only the public headers and the shared library: no harness, no internal include paths.
  add_executable(test_api_headers ${CMAKE_CURRENT_LIST_DIR}/test_api_headers.c
                                  ${CMAKE_CURRENT_LIST_DIR}/test_api_headers.cpp)
  target_link_libraries(test_api_headers PRIVATE silkie)
  target_compile_options(test_api_headers PRIVATE -Wall -Wextra -Werror -pedantic)
  set_target_properties(test_api_headers PROPERTIES C_STANDARD 11 C_EXTENSIONS OFF
                        CXX_STANDARD 11 CXX_STANDARD_REQUIRED ON CXX_EXTENSIONS OFF)
  add_test(NAME test_api_headers COMMAND test_api_headers)
  set_tests_properties(test_api_headers PROPERTIES LABELS api TIMEOUT 30)
endif()

if(TARGET silkie_api)
  add_library(silkie_test_api STATIC ${CMAKE_CURRENT_LIST_DIR}/api_common.c)
  target_link_libraries(silkie_test_api PUBLIC silkie_test_harness silkie_api)
  foreach(t test_api_misuse test_api_session)
    silkie_add_test(${t} SOURCES ${CMAKE_CURRENT_LIST_DIR}/${t}.c LIBS silkie_test_api
                    LABELS api TIMEOUT 120)
  endforeach()
  silkie_add_test(test_api_quant SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_api_quant.c
                  LIBS silkie_test_api LABELS api TIMEOUT 120 ARGS q8_0)
  # No Vulkan loader on the machine (docs/SDK.md): CPU-only, so label unit (leak-checked).
  silkie_add_test(test_no_loader SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_no_loader.c
                  LIBS silkie_test_api LABELS unit TIMEOUT 60)
  set_tests_properties(test_no_loader PROPERTIES
                       ENVIRONMENT "SILKIE_VULKAN_LOADER=libsilkie-test-no-such-loader.so.1")
  add_test(NAME test_api_quant_q4_0 COMMAND test_api_quant q4_0)
  set_tests_properties(test_api_quant_q4_0 PROPERTIES LABELS api SKIP_RETURN_CODE 77
                       TIMEOUT 120 ENVIRONMENT "SILKIE_VALIDATE=1")
endif()
