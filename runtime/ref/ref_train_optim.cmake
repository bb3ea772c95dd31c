# References of the optimizer step and the sum of squares.
list(APPEND SILKIE_REF_SOURCES adamw.c sum_sq.c)
