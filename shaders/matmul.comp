#version 450
#extension GL_GOOGLE_include_directive : require
#include "include/common.glsl"
#include "include/params/matmul.h"
// Tiled GEMM in f32 arithmetic (include/matmul_body.glsl).
#define F16_ARITH 0
#include "include/matmul_body.glsl"
