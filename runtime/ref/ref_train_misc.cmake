# References of the training ops without attention.
list(APPEND SILKIE_REF_SOURCES rms_norm_back.c swiglu_back.c dropout.c logsoftmax_gather.c)
