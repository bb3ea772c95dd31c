# Camera frames into a session (silkie_session_add_image_frame) on the tiny golden model.
if(TARGET silkie_api)
  silkie_add_test(test_api_camera SOURCES test_api_camera.c LIBS silkie_api LABELS api
                  TIMEOUT 120)
endif()
