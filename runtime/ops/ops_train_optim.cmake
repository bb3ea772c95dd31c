# Optimizer step and the sum of squares behind gradient-norm clipping.
list(APPEND SILKIE_OPS_SOURCES adamw.c sum_sq.c)
