silkie_add_test(test_quant SOURCES test_quant.c LIBS silkie_ref LABELS unit TIMEOUT 30)
