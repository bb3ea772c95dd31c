# silkie_session: chat sessions on top of the Qwen-VL model (sampling, history, images, files).
if(TARGET silkie_model)
  add_library(silkie_session STATIC
    ${CMAKE_CURRENT_SOURCE_DIR}/session.c
    ${CMAKE_CURRENT_SOURCE_DIR}/session_frame.c
    ${CMAKE_CURRENT_SOURCE_DIR}/session_file.c
    ${CMAKE_CURRENT_SOURCE_DIR}/sampler.c
    ${CMAKE_CURRENT_SOURCE_DIR}/image_input.c)
  target_link_libraries(silkie_session PUBLIC silkie_model silkie_text silkie_camera)
endif()
