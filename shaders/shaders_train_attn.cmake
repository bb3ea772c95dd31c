silkie_add_shader(attention_back VARIANTS delta dq dkv)
