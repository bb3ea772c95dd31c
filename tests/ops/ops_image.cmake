# GPU image preprocessing against the CPU reference.
if(TARGET silkie_test_harness_vk)
  silkie_add_test(test_image_preprocess
    SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_image_preprocess.c
            ${PROJECT_SOURCE_DIR}/tests/unit/image_test_util.c
    LIBS silkie_test_harness_vk silkie_ref PkgConfig::TURBOJPEG LABELS op TIMEOUT 120)
  target_include_directories(test_image_preprocess PRIVATE ${PROJECT_SOURCE_DIR}/tests/unit)
  target_compile_definitions(test_image_preprocess PRIVATE
    SILKIE_IMAGE_DATA_DIR="${PROJECT_SOURCE_DIR}/tests/data/image")
endif()
