# Every writer through the safe output writer (label api): faults swept at each write(2),
# links / FIFOs / devices refused at the output path, on a generated tiny model. silkie-make-demo
# runs as a child with SILKIE_FAULT set; its full sweep takes a minute (label slow).
if(TARGET silkie_test_harness_model AND TARGET silkie_trainer AND TARGET silkie-make-demo)
  silkie_add_test(test_safe_writes SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_safe_writes.c
                  LIBS silkie_test_harness_model silkie_trainer LABELS api TIMEOUT 300
                  ARGS $<TARGET_FILE:silkie-make-demo>)
  add_dependencies(test_safe_writes silkie-make-demo)
  add_test(NAME test_safe_writes_demo_full
           COMMAND test_safe_writes $<TARGET_FILE:silkie-make-demo> --full)
  set_tests_properties(test_safe_writes_demo_full PROPERTIES LABELS "api;slow" TIMEOUT 600)
endif()
