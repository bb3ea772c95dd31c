# Matmul family, embedding lookup and conversions. Variants only for the weight storage type.
silkie_add_shader(gemv VARIANTS w_f32 w_f16 w_bf16 w_q8_0 w_q4_0)
silkie_add_shader(gemv_q VARIANTS w_q8_0 w_q4_0)
silkie_add_shader(matmul VARIANTS w_f32 w_f16 w_bf16 w_q8_0 w_q4_0)
silkie_add_shader(matmul_f16 VARIANTS w_f16 w_q8_0 w_q4_0)
silkie_add_shader(matmul_coopmat VARIANTS w_f32 w_f16 w_bf16 w_q8_0 w_q4_0)
silkie_add_shader(get_rows VARIANTS w_f32 w_f16 w_bf16 w_q8_0 w_q4_0)
silkie_add_shader(convert)
