/* Bad input to the trainer through the C API (golden tiny model): each case gets its status and
 * a message naming the reason, never a crash, and the trainer stays usable afterwards.
 *
 *   test_train_bad_input CASE_DIR        (a golden case: model/, lora/, its image) */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness_model.h"
#include "model/model.h"
#include "silkie/silkie_train.h"

static const char *g_case;

/* Cancels the run from its own progress callback, as an app's other thread might. */
static void cancel_on_progress(const silkie_train_progress *p, void *user)
{
    (void)p;
    silkie_trainer_cancel((silkie_trainer *)user);
}

/* A run cancelled after its first step stops with SILKIE_ERR_CANCELLED and one step done. */
static void test_cancel(silkie_trainer *t, const char *tmp)
{
    char data[512], run[512];
    snprintf(data, sizeof data, "%s/cancel.jsonl", tmp);
    snprintf(run, sizeof run, "%s/cancel-run", tmp);
    FILE *f = fopen(data, "w");
    if (!f) return;
    for (int i = 0; i < 3; i++)
        fprintf(f, "{\"prompt\": \"Pick %d.\", \"chosen\": \"Red.\", \"rejected\": \"A cat.\"}\n",
                i);
    fclose(f);
    silkie_train_run_params rp;
    silkie_train_run_params_init(&rp);
    rp.data = data;
    rp.out_dir = run;
    rp.steps = 3;
    rp.on_progress = cancel_on_progress;
    rp.user = t;
    silkie_train_summary sum;
    SK_TEST_STATUS(silkie_trainer_run(t, &rp, &sum), SILKIE_ERR_CANCELLED);
    SK_TEST_CHECK(sum.steps == 1, "cancelled run did %u steps, want 1", sum.steps);
    printf("  %-34s %s after %u step(s)\n", "cancel from the progress callback",
           silkie_last_error(), sum.steps);
    static const char *const files[] = {"log.jsonl", "ref_cache.bin"};
    char path[700];
    for (size_t i = 0; i < SK_ARRAY_LEN(files); i++) {
        snprintf(path, sizeof path, "%s/%s", run, files[i]);
        unlink(path);
    }
    rmdir(run);
    unlink(data);
}

static void expect(silkie_trainer *t, const silkie_pref_pair *p, silkie_status want,
                   const char *needle, const char *what)
{
    silkie_dpo_metrics m;
    silkie_status st = silkie_trainer_pair(t, p, 1.0f, &m);
    const char *msg = silkie_last_error();
    printf("  %-34s %s: %s\n", what, silkie_status_name(st), msg);
    SK_TEST_CHECK(st == want, "%s: %s, want %s", what, silkie_status_name(st),
                  silkie_status_name(want));
    SK_TEST_CHECK(!needle || strstr(msg, needle), "%s: message '%s' lacks '%s'", what, msg,
                  needle);
}

/* An adapter folder: the golden config with its target_modules replaced, the golden tensors. */
static int write_adapter(const char *dir, const char *targets_json)
{
    char src[2048], dst[2048];
    mkdir(dir, 0755);
    snprintf(dst, sizeof dst, "%s/adapter_config.json", dir);
    FILE *f = fopen(dst, "w");
    if (!f) return 0;
    fprintf(f, "{\"peft_type\": \"LORA\", \"r\": 4, \"lora_alpha\": 8, \"target_modules\": %s}\n",
            targets_json);
    fclose(f);
    snprintf(src, sizeof src, "%s/lora/adapter_model.safetensors", g_case);
    snprintf(dst, sizeof dst, "%s/adapter_model.safetensors", dir);
    size_t n = 0;
    char *data = sk_read_file(src, &n);
    f = data ? fopen(dst, "wb") : NULL;
    int ok = f && fwrite(data, 1, n, f) == n;
    if (f) ok = fclose(f) == 0 && ok;
    silkie_free(data);
    return ok;
}

int main(int argc, char **argv)
{
    char def[1024];
    if (argc > 1) {
        g_case = argv[1];
    } else {
        const char *sh = sk_shared_dir();
        if (!sh) return 77;
        snprintf(def, sizeof def, "%s/golden/tiny-a", sh);
        g_case = def;
    }
    char model_dir[1200], lora[1200];
    snprintf(model_dir, sizeof model_dir, "%s/model", g_case);
    snprintf(lora, sizeof lora, "%s/lora", g_case);
    silkie_model *m = NULL;
    int rc = sk_test_load_model(model_dir, SILKIE_DTYPE_F32, SILKIE_DTYPE_F32, &m);
    if (rc) return rc;

    silkie_train_params tp;
    silkie_train_params_init(&tp);
    tp.init_adapter = lora;
    tp.layout = SILKIE_CHAT_LAYOUT_PLAIN;
    tp.max_total_tokens = 40; /* a 16-token image span + chat scaffolding exceeds it */
    tp.max_prompt_tokens = 20;
    silkie_trainer *t = NULL;
    SK_TEST_OK(silkie_trainer_create(m, &tp, &t));
    const char *img[] = {"hopper.jpg"}, *missing[] = {"nope.jpg"};
    silkie_pref_pair p = {.prompt = "What is this?", .chosen = "A woman in uniform.",
                          .rejected = "A rocket.", .images = img, .n_images = 1,
                          .image_dir = g_case};
    if (t) {
        expect(t, &p, SILKIE_ERR_BAD_DATA, "<img>", "truncation through the image");
        silkie_pref_pair q = p;
        q.chosen = "";
        expect(t, &q, SILKIE_ERR_BAD_DATA, "empty", "empty response");
        q = p;
        q.rejected = p.chosen;
        expect(t, &q, SILKIE_ERR_BAD_DATA, "identical", "identical responses");
        silkie_dpo_metrics met;
        SK_TEST_STATUS(silkie_trainer_pair(t, &p, NAN, &met), SILKIE_ERR_NOT_FINITE);
    }
    silkie_trainer_destroy(t);
    t = NULL;

    /* Normal lengths: a missing image is an I/O error naming the file; then a good pair works. */
    tp.max_total_tokens = 2048;
    tp.max_prompt_tokens = 1024;
    SK_TEST_OK(silkie_trainer_create(m, &tp, &t));
    if (t) {
        silkie_pref_pair q = p;
        q.images = missing;
        expect(t, &q, SILKIE_ERR_IO, "nope.jpg", "missing image");
        expect(t, &p, SILKIE_OK, NULL, "a good pair afterwards");
    }
    silkie_trainer_destroy(t);
    t = NULL;

    char tmp[] = "/tmp/silkie-train-bad-XXXXXX", dir[256];
    SK_TEST_CHECK(mkdtemp(tmp) != NULL, "mkdtemp");
    /* Cancelling a run (text-only pairs, the adapter of the case). */
    SK_TEST_OK(silkie_trainer_create(m, &tp, &t));
    if (t) test_cancel(t, tmp);
    silkie_trainer_destroy(t);
    t = NULL;

    /* Adapters that do not fit. */
    snprintf(dir, sizeof dir, "%s/nomatch", tmp);
    SK_TEST_CHECK(write_adapter(dir, "\"transformer\\\\.nothing\\\\.here\""), "adapter");
    tp.init_adapter = dir;
    SK_TEST_STATUS(silkie_trainer_create(m, &tp, &t), SILKIE_ERR_BAD_MODEL);
    printf("  %-34s %s\n", "targets matching nothing", silkie_last_error());
    snprintf(dir, sizeof dir, "%s/partial", tmp);
    /* Targets c_attn only: the file's other tensors belong to no targeted module. */
    SK_TEST_CHECK(write_adapter(dir, "[\"c_attn\"]"), "adapter");
    tp.init_adapter = dir;
    SK_TEST_STATUS(silkie_trainer_create(m, &tp, &t), SILKIE_ERR_BAD_MODEL);
    printf("  %-34s %s\n", "tensors of untargeted modules", silkie_last_error());
    snprintf(dir, sizeof dir, "%s/vision", tmp);
    SK_TEST_CHECK(write_adapter(dir, "[\"c_attn\", \"c_fc\"]"), "adapter");
    tp.init_adapter = dir;
    SK_TEST_STATUS(silkie_trainer_create(m, &tp, &t), SILKIE_ERR_UNSUPPORTED);
    printf("  %-34s %s\n", "vision targets", silkie_last_error());
    silkie_trainer_destroy(t);
    static const char *const sub[] = {"nomatch", "partial", "vision"};
    for (size_t i = 0; i < SK_ARRAY_LEN(sub); i++) {
        static const char *const files[] = {"adapter_config.json", "adapter_model.safetensors"};
        for (size_t k = 0; k < SK_ARRAY_LEN(files); k++) {
            char f[512];
            snprintf(f, sizeof f, "%s/%s/%s", tmp, sub[i], files[k]);
            unlink(f);
        }
        snprintf(dir, sizeof dir, "%s/%s", tmp, sub[i]);
        rmdir(dir);
    }
    rmdir(tmp);
    silkie_model_destroy(m);
    return sk_test_result("test_train_bad_input");
}
