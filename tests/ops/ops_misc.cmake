# Misc forward ops: norms, softmax, rope, activations, element-wise, vision helpers, attention,
# sampling helpers.
if(TARGET silkie_test_harness_vk)
  foreach(t rms_norm layer_norm softmax rope gelu swiglu binary patchify interp_bicubic attention
            argmax topk sample rope_qkv)
    if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/test_${t}.c)
      silkie_add_test(test_${t} SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_${t}.c
                      LIBS silkie_test_harness_vk LABELS op TIMEOUT 60)
    endif()
  endforeach()
endif()
# silkie-bench-ops's GPU-timestamp timing and its wall-clock mode (docs/PERFORMANCE.md). The
# test starts the tool itself, which an emulated cross build cannot do, so only natively.
if(TARGET silkie-bench-ops AND NOT CMAKE_CROSSCOMPILING)
  silkie_add_test(test_bench_ops_timing SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_bench_ops_timing.c
                  LIBS PkgConfig::CJSON ${MATH_LIB} LABELS op TIMEOUT 120
                  ARGS $<TARGET_FILE:silkie-bench-ops>)
  add_dependencies(test_bench_ops_timing silkie-bench-ops)
endif()
