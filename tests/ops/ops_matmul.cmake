foreach(t matmul get_rows convert)
  silkie_add_test(test_${t} SOURCES test_${t}.c LIBS silkie_test_harness_vk LABELS op TIMEOUT 60)
endforeach()
silkie_add_test(test_matmul_back SOURCES test_matmul_back.c LIBS silkie_test_harness_vk
                LABELS op TIMEOUT 120)
