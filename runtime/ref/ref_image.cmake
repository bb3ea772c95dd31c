list(APPEND SILKIE_REF_SOURCES image_resize.c)
