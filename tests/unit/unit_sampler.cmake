# Host token sampler of the session layer (label unit: pure CPU).
if(TARGET silkie_session)
  silkie_add_test(test_sampler SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_sampler.c
                  LIBS silkie_session ${MATH_LIB} LABELS unit TIMEOUT 60)
endif()
