list(APPEND SILKIE_OPS_SOURCES matmul.c get_rows.c convert.c)
