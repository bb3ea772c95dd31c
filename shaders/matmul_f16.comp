#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#include "include/common.glsl"
#include "include/params/matmul.h"
// Tiled GEMM with f16 tiles and f16 products summed per K step (include/matmul_body.glsl), for
// devices with shaderFloat16. Weight types that are no wider than f16: f16, q8_0, q4_0.
#define F16_ARITH 1
#include "include/matmul_body.glsl"
