# DPO loss functions against their formulas (label unit: no device).
if(TARGET silkie_trainer)
  silkie_add_test(test_dpo_loss SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_dpo_loss.c
                  LIBS silkie_trainer LABELS unit TIMEOUT 60)
endif()
