# Optimizer step and the sum of squares behind gradient-norm clipping.
silkie_add_shader(adamw)
silkie_add_shader(sum_sq)
