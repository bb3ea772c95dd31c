# silkie_model: Qwen-VL weights on the device and its forward passes (built on the op layer).
if(TARGET silkie_ops)
  add_library(silkie_model STATIC
    ${CMAKE_CURRENT_SOURCE_DIR}/qwen_load.c
    ${CMAKE_CURRENT_SOURCE_DIR}/qwen_ws.c
    ${CMAKE_CURRENT_SOURCE_DIR}/qwen_forward.c
    ${CMAKE_CURRENT_SOURCE_DIR}/qwen_ctx.c
    ${CMAKE_CURRENT_SOURCE_DIR}/qwen_lora.c
    ${CMAKE_CURRENT_SOURCE_DIR}/qwen_lora_load.c
    ${CMAKE_CURRENT_SOURCE_DIR}/qwen_train.c)
  target_link_libraries(silkie_model PUBLIC silkie_model_files silkie_ops silkie_ref)
endif()
