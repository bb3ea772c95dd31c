list(APPEND SILKIE_REF_SOURCES quant.c matmul.c get_rows.c)
