# Integrity of model files: SHA-256, CRC-32, sealed GGUF files with every byte flipped, zip CRCs
# of torch.save archives (docs/FIRMWARE.md, "Integrity").
silkie_add_test(test_integrity SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_integrity.c
                LIBS silkie_model_files LABELS unit TIMEOUT 120)
# Packing options: per-tensor types, progress, chat template, integrity keys of a split pair.
silkie_add_test(test_pack_types SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_pack_types.c
                LIBS silkie_model_files LABELS unit TIMEOUT 120)
