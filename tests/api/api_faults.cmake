# Vulkan fault sweeps (label api; docs/FAULTS.md, "Device faults"): each scenario with the N-th
# submit, fence wait, memory allocation, mapping and pipeline build failing, N = 1, 1 + S, ...
# until the kind stops firing; SILKIE_FAULT replayed in child processes; a soak of sessions.
if(TARGET silkie_test_api AND TARGET silkie_trainer)
  add_executable(test_fault_sweep ${CMAKE_CURRENT_LIST_DIR}/test_fault_sweep.c)
  target_link_libraries(test_fault_sweep PRIVATE silkie_test_api silkie_trainer)
  # Strides: KIND=S+O runs N = 1 + O, 1 + O + S, ... (every N where a kind is not listed). The
  # normal build takes every N of every kind in every scenario (measured times in
  # docs/FAULTS.md). Sanitizer builds run several times slower, so there the scenarios that
  # repeat ask's kernels and submission paths with more steps take every 2nd-4th submission
  # (fence between), every 12th-24th pipeline and every 48th upload.
  if(SILKIE_SANITIZE)
    set(sk_stride_load "pipeline=1")
    set(sk_stride_ask "submit=2,fence=2+1,pipeline=12")
    set(sk_stride_session "submit=4,fence=4+2,pipeline=20")
    set(sk_stride_frame "submit=4,fence=4+2,pipeline=20")
    set(sk_stride_train "submit=3,fence=3+1,pipeline=24")
    set(sk_stride_staging "submit=48,fence=48+24")
  else()
    foreach(sc load ask session frame train staging)
      set(sk_stride_${sc} "pipeline=1")
    endforeach()
  endif()
  foreach(sc load ask session frame train staging)
    add_test(NAME test_fault_${sc} COMMAND test_fault_sweep ${sc} --stride ${sk_stride_${sc}})
  endforeach()
  foreach(sc env-replay env-unknown)
    add_test(NAME test_fault_${sc} COMMAND test_fault_sweep ${sc})
  endforeach()
  foreach(sc load ask session frame train staging env-replay env-unknown)
    set_tests_properties(test_fault_${sc} PROPERTIES LABELS api SKIP_RETURN_CODE 77
                         TIMEOUT 600 ENVIRONMENT "SILKIE_VALIDATE=1")
  endforeach()
endif()

# Soak: sessions opened, asked (photo, RGB picture, camera frame; half the asks cancelled from
# another thread), saved, restored and destroyed for 30 rounds on one model; memory must stay
# flat. Without the validation layer: its own bookkeeping grows by about 60 KiB a round, which
# would hide ours (the sweeps above run with it).
if(TARGET silkie_test_api)
  add_executable(soak_sessions ${CMAKE_CURRENT_LIST_DIR}/soak_sessions.c)
  target_link_libraries(soak_sessions PRIVATE silkie_test_api)
  add_test(NAME soak_sessions COMMAND soak_sessions 30)
  set_tests_properties(soak_sessions PROPERTIES LABELS api SKIP_RETURN_CODE 77 TIMEOUT 300
                       ENVIRONMENT "SILKIE_VALIDATE=0")
endif()
