# Integrity of packed files (docs/FIRMWARE.md, "Integrity"): silkie-pack on the golden tiny-a
# model, silkie-verify accepting it, `silkie ask --verify` giving the golden tokens, and
# silkie-verify naming the check or tensor for bytes flipped all over the file.
if(TARGET silkie-verify AND TARGET silkie_cli AND TARGET silkie_api)
  silkie_add_test(test_golden_verify SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_golden_verify.c
                  LIBS silkie_api silkie_model_files PkgConfig::CJSON LABELS golden TIMEOUT 600
                  ARGS $<TARGET_FILE:silkie-pack> $<TARGET_FILE:silkie-verify>
                       $<TARGET_FILE:silkie_cli> "${SILKIE_SHARED_DIR}/golden/tiny-a")
  add_dependencies(test_golden_verify silkie-pack silkie-verify silkie_cli)
endif()
# Packing in bounded memory (label slow): a generated 0.34 B-parameter checkpoint of the real
# layout; the peak resident set of silkie-pack must stay under 192 MiB.
if(TARGET silkie-pack)
  silkie_add_test(test_pack_memory SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_pack_memory.c
                  LABELS slow TIMEOUT 900
                  ARGS $<TARGET_FILE:silkie-pack> "${SILKIE_SHARED_DIR}/golden/tiny-a/model"
                       1024 8 256 2 q8_0 192)
  add_dependencies(test_pack_memory silkie-pack)
endif()
# Pipeline caches built ahead of time by silkie-cache, used through silkie_model_params, and a
# foreign or truncated one a logged miss that is rewritten (docs/FIRMWARE.md, "Pipeline cache").
if(TARGET silkie-cache AND TARGET silkie_api)
  silkie_add_test(test_golden_cache SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_golden_cache.c
                  LIBS silkie_api PkgConfig::CJSON LABELS golden TIMEOUT 300
                  ARGS $<TARGET_FILE:silkie-cache> "${SILKIE_SHARED_DIR}/golden/tiny-a")
  add_dependencies(test_golden_cache silkie-cache)
endif()
