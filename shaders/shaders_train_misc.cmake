# Training ops without attention: RMSNorm / SwiGLU backward, dropout, log-softmax gather.
silkie_add_shader(rms_norm_back)
silkie_add_shader(swiglu_back)
silkie_add_shader(dropout)
silkie_add_shader(logsoftmax_gather VARIANTS fold finish back)
