# Image decode (JPEG, PPM, PNG, WebP, BMP, GIF) and MJPEG splitting: libFuzzer target with
# -DSILKIE_FUZZ=ON (clang; run it on corpus/fuzz_image/), and a deterministic replay of seeds
# and seeded mutations in the normal suite. The corpus files are fixtures of tests/data/image
# with a leading mode byte.
silkie_add_test(fuzz_image_replay SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_image.c
                LIBS silkie_camera PkgConfig::TURBOJPEG LABELS unit TIMEOUT 120)
target_compile_definitions(fuzz_image_replay PRIVATE SK_FUZZ_REPLAY
                           SK_FUZZ_IMAGE_CORPUS="${CMAKE_CURRENT_LIST_DIR}/corpus/fuzz_image")
if(SILKIE_FUZZ)
  target_compile_options(silkie_camera PRIVATE -fsanitize=fuzzer-no-link,address,undefined)
  add_executable(fuzz_image ${CMAKE_CURRENT_LIST_DIR}/fuzz_image.c)
  target_compile_options(fuzz_image PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_options(fuzz_image PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_libraries(fuzz_image PRIVATE silkie_camera)
endif()
