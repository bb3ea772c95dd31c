// Masking shared by the attention shaders; the includer declares pc with seg_begin, seg_end.

// Score of a hidden key: finite, so max/exp arithmetic on it stays NaN-free.
const float MASKED = -1.0e30;

// Segment exclusion: query at absolute index qa skips keys [seg_begin, seg_end) once past
// them. Never true when seg_end <= seg_begin, so unpacked calls compute exactly as before.
bool seg_hidden(uint qa, uint key)
{
    return qa >= pc.seg_end && key >= pc.seg_begin && key < pc.seg_end;
}
