# PEFT LoRA adapters at inference: applied unmerged through the C API (label api) and by
# `silkie ask --adapter`, against the same adapter merged by `silkie-pack --merge-adapter`
# (label golden); misfit adapters refused by both.
if(TARGET silkie_api)
  add_library(silkie_test_adapter STATIC ${CMAKE_CURRENT_LIST_DIR}/adapter_fixture.c)
  target_link_libraries(silkie_test_adapter PUBLIC silkie_test_harness silkie_model_files)
  silkie_add_test(test_api_adapter SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_api_adapter.c
                  LIBS silkie_test_api silkie_test_harness_model silkie_test_adapter
                  LABELS api TIMEOUT 300)
  if(TARGET silkie_cli AND TARGET silkie-pack)
    silkie_add_test(test_golden_adapter SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_golden_adapter.c
                    LIBS silkie_test_harness_model silkie_test_adapter PkgConfig::CJSON
                    LABELS golden TIMEOUT 300
                    ARGS $<TARGET_FILE:silkie_cli> $<TARGET_FILE:silkie-pack>
                         "${SILKIE_SHARED_DIR}/golden/tiny-a")
    add_dependencies(test_golden_adapter silkie_cli silkie-pack)
  endif()
endif()
