# The safe output writer (runtime/base/outfile.c) on its own: modes, replacing, refused targets,
# injected short writes / ENOSPC / EIO, the SILKIE_FAULT switch in a child process (label unit).
silkie_add_test(test_outfile SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_outfile.c LABELS unit
                TIMEOUT 60)
