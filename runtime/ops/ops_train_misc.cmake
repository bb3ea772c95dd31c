# Training ops without attention: RMSNorm / SwiGLU backward, dropout, log-softmax gather.
list(APPEND SILKIE_OPS_SOURCES rms_norm_back.c swiglu_back.c dropout.c logsoftmax_gather.c)
