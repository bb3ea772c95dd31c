list(APPEND SILKIE_OPS_SOURCES image_preprocess.c)
# The preprocess wrapper builds its weight tables with the reference code (ref is below ops).
cmake_language(DEFER CALL target_link_libraries silkie_ops PUBLIC silkie_ref)
