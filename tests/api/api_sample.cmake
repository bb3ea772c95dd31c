# Device sampling against the host sampler: synthetic steps, then sessions on the tiny model.
if(TARGET silkie_api)
  silkie_add_test(test_sample_session SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_sample_session.c
                  LIBS silkie_test_api silkie_ref LABELS api TIMEOUT 900)
endif()
