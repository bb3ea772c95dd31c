# Image and camera input path (CPU only).
set(SK_IMAGE_TEST_SRC ${CMAKE_CURRENT_SOURCE_DIR}/image_test_util.c)
set(SK_IMAGE_TEST_LIBS silkie_camera silkie_ref PkgConfig::TURBOJPEG)
foreach(t decode resize mjpeg sources v4l2)
  if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/test_image_${t}.c)
    silkie_add_test(test_image_${t}
      SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_image_${t}.c ${SK_IMAGE_TEST_SRC}
      LIBS ${SK_IMAGE_TEST_LIBS} LABELS unit TIMEOUT 60)
    target_compile_definitions(test_image_${t} PRIVATE
      SILKIE_IMAGE_DATA_DIR="${PROJECT_SOURCE_DIR}/tests/data/image")
  endif()
endforeach()
