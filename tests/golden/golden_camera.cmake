# `silkie camera` end to end: an MJPEG stream built by the test, against `silkie ask`.
if(TARGET silkie_cli)
  silkie_add_test(test_golden_camera SOURCES test_golden_camera.c
                  LIBS PkgConfig::CJSON PkgConfig::TURBOJPEG LABELS golden TIMEOUT 300
                  ARGS $<TARGET_FILE:silkie_cli> ${SILKIE_SHARED_DIR}/golden/tiny-a
                       ${CMAKE_CURRENT_BINARY_DIR}/camera-work)
  add_dependencies(test_golden_camera silkie_cli)
endif()
