# The `silkie` executable end to end (label golden): `silkie ask --dump` against a golden case
# (every dumped tensor within the case's tolerances) and `silkie ask --json` parsed with cJSON.
# SILKIE_GOLDEN_CLI_CASE picks another case directory of the same form.
if(TARGET silkie_cli AND TARGET silkie_test_harness_vk)
  set(SILKIE_GOLDEN_CLI_CASE "${SILKIE_SHARED_DIR}/golden/tiny-a" CACHE PATH
      "golden case directory for test_golden_cli")
  silkie_add_test(test_golden_cli SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_golden_cli.c
                  LIBS silkie_test_harness_vk silkie_model PkgConfig::CJSON PkgConfig::SPNG
                  LABELS golden
                  TIMEOUT 300
                  ARGS $<TARGET_FILE:silkie_cli> "${SILKIE_GOLDEN_CLI_CASE}")
  add_dependencies(test_golden_cli silkie_cli)
endif()

# The command line as a person uses it: several images, --json on failure, context size, chat
# slash commands, progress lines, `silkie devices` and `--version`.
if(TARGET silkie_cli AND TARGET silkie_test_harness_vk)
  silkie_add_test(test_golden_cli_usage SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_golden_cli_usage.c
                  LIBS silkie_test_harness_vk PkgConfig::CJSON LABELS golden TIMEOUT 300
                  ARGS $<TARGET_FILE:silkie_cli> "${SILKIE_GOLDEN_CLI_CASE}")
  add_dependencies(test_golden_cli_usage silkie_cli)
endif()
