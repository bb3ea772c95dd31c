/* A Hugging Face Qwen-VL folder -> one GGUF file that silkie_model_load runs by itself: LLM and
 * vision tensors, the config as qwen.* / clip.* keys, the tokenizer and chat template, the
 * precomputed vision tables, and the integrity keys (checksums, self-test vector).
 *
 * The digests and the self-test outputs are known only after the data has been written (the
 * self-test runs the finished file), so the files are written under hidden temporary names,
 * completed in place (silkie_gguf_seal) and renamed to their own names last: a reader never
 * sees a file under the final name whose integrity keys are not filled in. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/outfile.h"
#include "files_int.h"
#include "lora_merge.h"

/* "<dir>/.<name>.<random>.tmp.gguf": the runtime opens only *.gguf paths as GGUF. */
static char *temp_gguf_name(const char *path)
{
    char *t = silkie_outfile_temp_name(path);
    if (!t) return NULL;
    size_t n = strlen(t);
    char *g = silkie_realloc(t, n + 6);
    if (!g) {
        silkie_free(t);
        return NULL;
    }
    memcpy(g + n, ".gguf", 6);
    return g;
}

/* The rule of base/outfile.h for a target: missing or a regular file (*sb filled, *exists set);
 * anything else is refused, naming it. */
static silkie_status check_target(const char *path, struct stat *sb, bool *exists)
{
    *exists = false;
    if (lstat(path, sb) != 0) {
        if (errno == ENOENT) return SILKIE_OK;
        return SK_FAIL(SILKIE_ERR_IO, "%s: cannot check the output path: %s", path,
                       strerror(errno));
    }
    if (!S_ISREG(sb->st_mode))
        return SK_FAIL(SILKIE_ERR_IO, "%s: is %s, not a regular file; refusing to replace it",
                       path, silkie_file_kind((uint32_t)sb->st_mode));
    *exists = true;
    return SILKIE_OK;
}

/* Renames tmp over path (checked again: it may have changed during the work); a replaced file
 * passes its permission bits on. */
static silkie_status place(const char *tmp, const char *path)
{
    struct stat sb;
    bool exists = false;
    SK_CHECK(check_target(path, &sb, &exists));
    if (exists) {
        if (chmod(tmp, sb.st_mode & 07777) != 0)
            return SK_FAIL(SILKIE_ERR_IO, "%s: cannot set permissions: %s", tmp,
                           strerror(errno));
    }
    if (rename(tmp, path) != 0)
        return SK_FAIL(SILKIE_ERR_IO, "%s: rename to %s failed: %s", tmp, path, strerror(errno));
    /* The rename itself reaches the disk with the folder (best effort, as outfile does). */
    const char *slash = strrchr(path, '/');
    char dir[4096];
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - path + 1) : 1, slash ? path : ".");
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
    return SILKIE_OK;
}

static bool is_vision_type(silkie_dtype t)
{
    return t == SILKIE_DTYPE_F32 || t == SILKIE_DTYPE_F16 || t == SILKIE_DTYPE_BF16;
}

typedef struct pack_job {
    const silkie_gguf_pack_params *p;
    silkie_model_config cfg;
    silkie_generation_config gen;
    char *vocab;
    char *tmp, *vtmp;   /* temporary names of the model file and its mmproj sibling */
    char vpath[4096];   /* final name of the mmproj sibling */
    silkie_gguf_sums sums, vsums;
    silkie_gguf_selftest vec;
    silkie_gguf_selftest_slots slots;
    uint32_t *hits;
} pack_job;

static silkie_status convert_all(pack_job *j, const silkie_weights *w)
{
    const silkie_gguf_pack_params *p = j->p;
    silkie_gguf_convert_params cp = {.part = SILKIE_GGUF_PART_ALL,
                                     .matrix_type = p->llm_type,
                                     .other_type = SILKIE_DTYPE_F32,
                                     .vision_matrix_type = p->vision_type,
                                     .tiktoken_path = j->vocab,
                                     .gen = &j->gen,
                                     .vision_tables = true,
                                     .overrides = p->overrides,
                                     .n_overrides = p->n_overrides,
                                     .override_hits = j->hits,
                                     .sums = &j->sums,
                                     .selftest = p->selftest ? &j->vec : NULL,
                                     .selftest_slots = &j->slots,
                                     .progress = p->progress,
                                     .progress_user = p->progress_user,
                                     .progress_stage = "packing"};
    if (p->split) cp.part = SILKIE_GGUF_PART_LLM;
    SK_CHECK(silkie_gguf_convert_qwen(w, &j->cfg, &cp, j->tmp));
    if (!p->split) return SILKIE_OK;
    /* The vision file takes its matrix type from matrix_type (part VISION). */
    cp = (silkie_gguf_convert_params){.part = SILKIE_GGUF_PART_VISION,
                                      .matrix_type = p->vision_type,
                                      .other_type = SILKIE_DTYPE_F32,
                                      .vision_tables = true,
                                      .overrides = p->overrides,
                                      .n_overrides = p->n_overrides,
                                      .override_hits = j->hits,
                                      .sums = &j->vsums,
                                      .progress = p->progress,
                                      .progress_user = p->progress_user,
                                      .progress_stage = "packing vision"};
    return silkie_gguf_convert_qwen(w, &j->cfg, &cp, j->vtmp);
}

/* Reads and converts the checkpoint; the weights are closed before the self-test runs. */
static silkie_status write_files(pack_job *j, const char *model_dir)
{
    const silkie_gguf_pack_params *p = j->p;
    silkie_weights *base = NULL, *merged = NULL;
    silkie_status st = silkie_weights_open(model_dir, &base);
    if (st == SILKIE_OK && p->merge_adapter) {
        /* A malformed base is reported as such, not as an adapter that does not fit it. */
        st = silkie_weights_check_qwen_vl(base, &j->cfg);
        if (st == SILKIE_OK) st = silkie_lora_merge(base, &j->cfg, p->merge_adapter, &merged, NULL);
    }
    if (st == SILKIE_OK) st = convert_all(j, merged ? merged : base);
    silkie_weights_close(merged);
    silkie_weights_close(base);
    for (uint32_t i = 0; st == SILKIE_OK && i < p->n_overrides; i++)
        if (!j->hits[i])
            st = SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "tensor type '%s': the pattern matches no "
                         "tensor of the file", p->overrides[i].pattern);
    return st;
}

static silkie_status finish_files(pack_job *j, const char *out_path)
{
    const silkie_gguf_pack_params *p = j->p;
    silkie_gguf_patch patches[4];
    uint32_t n_patches = 0;
    if (p->selftest) {
        SK_CHECK(p->selftest(p->selftest_user, j->tmp, &j->vec));
        n_patches = silkie_gguf_selftest_patches(&j->vec, &j->slots, patches);
    }
    if (p->split) SK_CHECK(silkie_gguf_seal(j->vtmp, &j->vsums, NULL, 0));
    SK_CHECK(silkie_gguf_seal(j->tmp, &j->sums, patches, n_patches));
    /* The vision file first: once the model file appears under its name, its sibling is there. */
    if (p->split) SK_CHECK(place(j->vtmp, j->vpath));
    return place(j->tmp, out_path);
}

silkie_status silkie_gguf_pack_qwen(const char *model_dir, const char *out_path,
                                    const silkie_gguf_pack_params *p)
{
    if (!model_dir || !out_path)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "gguf_pack: model_dir, out_path required");
    silkie_gguf_pack_params pp = {0};
    if (p) pp = *p;
    if (!is_vision_type(pp.vision_type))
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "gguf_pack: vision type must be f32, f16 or "
                       "bf16 (the vision loader keeps no block types)");
    if (pp.n_overrides && !pp.overrides)
        return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "gguf_pack: overrides required");
    for (uint32_t i = 0; i < pp.n_overrides; i++)
        if (!pp.overrides[i].pattern || !pp.overrides[i].pattern[0])
            return SK_FAIL(SILKIE_ERR_INVALID_ARGUMENT, "gguf_pack: tensor type %u has no name",
                           i);
    pack_job j = {.p = &pp};
    SK_CHECK(silkie_model_config_load(model_dir, &j.cfg, &j.gen));
    silkie_gguf_selftest_inputs(&j.vec, true); /* a checkpoint always has the vision tower */
    j.vocab = sk_path_join(model_dir, "qwen.tiktoken");
    j.tmp = temp_gguf_name(out_path);
    j.hits = SK_NEW_ARRAY(uint32_t, pp.n_overrides ? pp.n_overrides : 1);
    silkie_status st = SILKIE_OK;
    if (!j.vocab || !j.tmp || !j.hits) st = SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "gguf_pack: paths");
    if (st == SILKIE_OK && !sk_is_file(j.vocab))
        st = SK_FAIL(SILKIE_ERR_IO, "gguf_pack: %s is missing", j.vocab);
    if (st == SILKIE_OK && pp.split) {
        char v[4200];
        st = silkie_qwen_gguf_mmproj_path(out_path, j.vpath, sizeof j.vpath);
        if (st == SILKIE_OK) st = silkie_qwen_gguf_mmproj_path(j.tmp, v, sizeof v);
        if (st == SILKIE_OK && !(j.vtmp = silkie_strdup(v)))
            st = SK_FAIL(SILKIE_ERR_OUT_OF_MEMORY, "gguf_pack: paths");
    }
    /* The targets are checked before the work too, so a refusal costs no conversion. */
    struct stat sb;
    bool exists;
    if (st == SILKIE_OK) st = check_target(out_path, &sb, &exists);
    if (st == SILKIE_OK && pp.split) st = check_target(j.vpath, &sb, &exists);
    if (st == SILKIE_OK) st = write_files(&j, model_dir);
    if (st == SILKIE_OK) st = finish_files(&j, out_path);
    if (st == SILKIE_ERR_IO && !strstr(silkie_last_error(), out_path)) {
        /* The writer names the temporary file; say which output it was for. */
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", silkie_last_error());
        st = SK_FAIL(st, "%s: %s", out_path, msg);
    }
    if (st != SILKIE_OK) { /* whatever is left under a temporary name is this failed run's */
        if (j.tmp) remove(j.tmp);
        if (j.vtmp) remove(j.vtmp);
    }
    silkie_gguf_sums_release(&j.sums);
    silkie_gguf_sums_release(&j.vsums);
    silkie_free(j.hits);
    silkie_free(j.vtmp);
    silkie_free(j.tmp);
    silkie_free(j.vocab);
    return st;
}
