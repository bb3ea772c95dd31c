list(APPEND SILKIE_OPS_SOURCES
  rms_norm.c layer_norm.c softmax.c rope.c gelu.c swiglu.c binary.c patchify.c
  interp_bicubic.c attention.c argmax.c topk.c sample.c rope_qkv.c)
