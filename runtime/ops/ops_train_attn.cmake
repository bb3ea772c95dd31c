list(APPEND SILKIE_OPS_SOURCES attention_back.c)
