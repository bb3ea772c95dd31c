// Shared by every shader: extensions and the push-constant macros of include/params/*.h.
#extension GL_EXT_shader_explicit_arithmetic_types : require
#extension GL_EXT_shader_16bit_storage : require
#extension GL_EXT_shader_8bit_storage : require
#extension GL_EXT_control_flow_attributes : enable

#define SK_GLSL 1
#define SK_U32 uint
#define SK_I32 int
#define SK_F32 float
#define SK_PUSH_BEGIN(name) layout(push_constant) uniform name {
#define SK_PUSH_END(name) } pc;
