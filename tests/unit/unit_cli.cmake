# The command line (label unit): every command and tool against its option table, and
# docs/CLI.md against what the programs' --help-markdown print now.
if(TARGET silkie_cli AND TARGET silkie-pack AND TARGET silkie-inspect AND TARGET silkie-make-demo)
  set(SK_CLI_TOOLS $<TARGET_FILE:silkie_cli> $<TARGET_FILE:silkie-pack>
                   $<TARGET_FILE:silkie-inspect> $<TARGET_FILE:silkie-make-demo>)
  set(SK_CLI_DEPS silkie_cli silkie-pack silkie-inspect silkie-make-demo)
  foreach(tool silkie-bench-ops silkie-bench-camera silkie-verify silkie-cache)
    if(TARGET ${tool})
      list(APPEND SK_CLI_TOOLS $<TARGET_FILE:${tool}>)
      list(APPEND SK_CLI_DEPS ${tool})
    else()
      list(APPEND SK_CLI_TOOLS -)
    endif()
  endforeach()
  silkie_add_test(test_cli_options SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_cli_options.c
                  ARGS ${SK_CLI_TOOLS} LABELS unit TIMEOUT 120)
  add_dependencies(test_cli_options ${SK_CLI_DEPS})

  # The page documents every tool, so it is compared only in a build that has them all.
  if(TARGET silkie-bench-ops AND TARGET silkie-bench-camera AND TARGET silkie-verify AND
     TARGET silkie-cache)
    add_test(NAME test_cli_doc
             COMMAND bash ${PROJECT_SOURCE_DIR}/scripts/cli-doc.sh --check ${CMAKE_BINARY_DIR})
    set_tests_properties(test_cli_doc PROPERTIES LABELS unit TIMEOUT 60)
  endif()
endif()
