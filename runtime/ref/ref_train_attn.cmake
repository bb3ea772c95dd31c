list(APPEND SILKIE_REF_SOURCES attention_back.c)
