/* Pieces shared by `silkie ask`, `chat` and `camera`: model and generation options, JSON. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int silkie_cli_parse_dtype(const char *s, silkie_dtype *out)
{
    static const struct { const char *n; silkie_dtype t; } k[] = {
        {"f32", SILKIE_DTYPE_F32}, {"f16", SILKIE_DTYPE_F16}, {"bf16", SILKIE_DTYPE_BF16},
        {"q8_0", SILKIE_DTYPE_Q8_0}, {"q4_0", SILKIE_DTYPE_Q4_0}};
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++)
        if (!strcmp(s, k[i].n)) {
            *out = k[i].t;
            return 1;
        }
    fprintf(stderr, "silkie: unknown type '%s' (f32, f16, bf16, q8_0, q4_0)\n", s);
    return 0;
}

int silkie_cli_model_option(int argc, char **argv, int *i, silkie_model_params *mp,
                            silkie_session_params *sp)
{
    const char *a = argv[*i], *v = *i + 1 < argc ? argv[*i + 1] : NULL;
    if (!strcmp(a, "--greedy")) sp->temperature = 0;
    else if (!strcmp(a, "--validate")) mp->validation = 1;
    else if (!v) return 0;
    else if (!strcmp(a, "--system")) sp->system = v;
    else if (!strcmp(a, "--temp")) sp->temperature = strtof(v, NULL);
    else if (!strcmp(a, "--top-k")) sp->top_k = atoi(v);
    else if (!strcmp(a, "--top-p")) sp->top_p = strtof(v, NULL);
    else if (!strcmp(a, "--repeat-penalty")) sp->repetition_penalty = strtof(v, NULL);
    else if (!strcmp(a, "--seed")) sp->seed = strtoull(v, NULL, 10);
    else if (!strcmp(a, "--max-tokens")) sp->max_new_tokens = atoi(v);
    else if (!strcmp(a, "--n-ctx")) sp->n_ctx = (uint32_t)atoi(v);
    else if (!strcmp(a, "--adapter")) mp->adapter = v;
    else if (!strcmp(a, "--weights")) { if (!silkie_cli_parse_dtype(v, &mp->weight_type)) return -1; }
    else if (!strcmp(a, "--vision-weights")) { if (!silkie_cli_parse_dtype(v, &mp->vision_type)) return -1; }
    else if (!strcmp(a, "--kv")) { if (!silkie_cli_parse_dtype(v, &sp->kv_type)) return -1; }
    else return 0;
    if (strcmp(a, "--greedy") && strcmp(a, "--validate")) (*i)++;
    return 1;
}

void silkie_cli_json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
        else if (c == '\n') fputs("\\n", f);
        else if (c == '\r') fputs("\\r", f);
        else if (c == '\t') fputs("\\t", f);
        else if (c < 0x20) fprintf(f, "\\u%04x", c);
        else fputc(c, f);
    }
    fputc('"', f);
}
