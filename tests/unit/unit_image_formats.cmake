# PNG / WebP / BMP / GIF decode against Pillow fixtures, truncations, hostile headers, the golden
# photo in lossless formats (CPU only). libspng and libwebp also encode test inputs here.
silkie_add_test(test_image_formats
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_image_formats.c
          ${CMAKE_CURRENT_SOURCE_DIR}/image_test_util.c
  LIBS silkie_camera silkie_ref PkgConfig::TURBOJPEG PkgConfig::SPNG PkgConfig::WEBP
  LABELS unit TIMEOUT 120)
target_compile_definitions(test_image_formats PRIVATE
  SILKIE_IMAGE_DATA_DIR="${PROJECT_SOURCE_DIR}/tests/data/image")
