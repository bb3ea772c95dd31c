/* Push-constant blocks are written once and included by C and GLSL. In C each block is a
 * plain struct of 32-bit scalars; in GLSL (SK_GLSL defined by common.glsl) it becomes the
 * push_constant uniform block `pc`. */
#ifndef SK_PARAMS_H
#define SK_PARAMS_H
#ifndef SK_GLSL
#include <stdint.h>
#define SK_U32 uint32_t
#define SK_I32 int32_t
#define SK_F32 float
#define SK_PUSH_BEGIN(name) typedef struct name {
#define SK_PUSH_END(name) \
    } name;               \
    _Static_assert(sizeof(name) <= 128, #name " exceeds 128 bytes");
#endif
#endif
