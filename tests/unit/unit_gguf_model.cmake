# Qwen-VL as one GGUF file (pack, config, tokenizer, tables) and the silkie-pack /
# silkie-inspect tools on the tiny golden model.
silkie_add_test(test_gguf_model SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_gguf_model.c
                LIBS silkie_model_files silkie_text LABELS unit TIMEOUT 120)
set(SK_TINY "${SILKIE_SHARED_DIR}/golden/tiny-a/model")
if(TARGET silkie-pack AND TARGET silkie-inspect)
  # Pack (q8_0; no self-test: a unit test needs no Vulkan device), then list the result: the
  # GGUF names, the quantized type and the tokenizer.
  add_test(NAME test_tool_pack COMMAND sh -c
           "\"$0\" --model \"$1\" --out tool_pack.gguf --type q8_0 --no-selftest && \"$2\" --json tool_pack.gguf; s=$?; rm -f tool_pack.gguf; exit $s"
           $<TARGET_FILE:silkie-pack> ${SK_TINY} $<TARGET_FILE:silkie-inspect>)
  set_tests_properties(test_tool_pack PROPERTIES LABELS unit TIMEOUT 120
    PASS_REGULAR_EXPRESSION "\"name\":\"blk\\.0\\.attn_qkv\\.weight\",\"dtype\":\"q8_0\".*\"name\":\"resampler\\.pos_embed_k\"")
  # A folder: format and Hugging Face names.
  add_test(NAME test_tool_inspect COMMAND $<TARGET_FILE:silkie-inspect> ${SK_TINY})
  set_tests_properties(test_tool_inspect PROPERTIES LABELS unit TIMEOUT 60
    PASS_REGULAR_EXPRESSION "safetensors.*transformer\\.visual\\.attn_pool\\.query +[a-z0-9_]+ +\\[16, 128\\]")
  # Hostile input: a JSON file and a truncated GGUF give one error line and exit status 1; a
  # missing folder for silkie-pack is refused while parsing (usage, 2).
  add_test(NAME test_tool_hostile COMMAND sh -c
           "\"$0\" \"$1/config.json\"; a=$?; printf 'GGUF\\003\\000\\000\\000\\377' > tool_trunc.gguf; \"$0\" tool_trunc.gguf; b=$?; \"$2\" --model no-such-dir --out x.gguf; c=$?; rm -f tool_trunc.gguf; echo \"status $a $b $c\"; [ $a = 1 ] && [ $b = 1 ] && [ $c = 2 ]"
           $<TARGET_FILE:silkie-inspect> ${SK_TINY} $<TARGET_FILE:silkie-pack>)
  set_tests_properties(test_tool_hostile PROPERTIES LABELS unit TIMEOUT 60)
endif()
