# The README's main job: generate the demo model and answer a question about its photo.
if(TARGET silkie_cli AND TARGET silkie-make-demo)
  set(SK_DEMO_DIR ${CMAKE_CURRENT_BINARY_DIR}/demo-model)
  add_test(NAME demo_main_job
           COMMAND sh -c "\"$<TARGET_FILE:silkie-make-demo>\" \"${SK_DEMO_DIR}\" && \"$<TARGET_FILE:silkie_cli>\" ask --model \"${SK_DEMO_DIR}\" --image \"${SK_DEMO_DIR}/demo.jpg\" --greedy --max-tokens 4 --json \"What is in this picture?\" | grep -q '\"decode_tok_s\"' && \"$<TARGET_FILE:silkie-example-ask>\" \"${SK_DEMO_DIR}\" \"${SK_DEMO_DIR}/demo.jpg\" \"Describe it.\" > /dev/null")
  set_tests_properties(demo_main_job PROPERTIES LABELS golden TIMEOUT 600
                       ENVIRONMENT "SILKIE_VALIDATE=1")
endif()
