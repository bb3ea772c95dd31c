# Shader lists, one file per op family so parallel work does not collide. Each line:
#   silkie_add_shader(<name> [VARIANTS ...])
silkie_add_shader(copy)
silkie_add_shader(fma_peak)
foreach(part matmul misc image train_attn train_misc train_optim)
  include(${CMAKE_CURRENT_SOURCE_DIR}/shaders_${part}.cmake OPTIONAL)
endforeach()
