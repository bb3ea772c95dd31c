# Training runs through `silkie train dpo` on the golden tiny model (label train): learning on a
# synthetic preference set, SIGKILL + --resume giving identical logs and adapter bytes, bad data,
# and the PEFT export loading back. Minutes on lavapipe: labelled slow (not rerun under ASan).
if(TARGET silkie_cli)
  add_executable(test_train_run ${CMAKE_CURRENT_LIST_DIR}/test_train_run.c)
  target_link_libraries(test_train_run PRIVATE silkie_test_harness PkgConfig::CJSON)
  add_dependencies(test_train_run silkie_cli)
  add_test(NAME test_train_run COMMAND test_train_run $<TARGET_FILE:silkie_cli>
           "${SILKIE_SHARED_DIR}/golden/tiny-a/model")
  set_tests_properties(test_train_run PROPERTIES LABELS "train;slow" SKIP_RETURN_CODE 77 TIMEOUT 1200
                       ENVIRONMENT "SILKIE_VALIDATE=1")
endif()
