/* silkie-cache --model FILE --out FILE: builds, ahead of time, every compute pipeline a model
 * uses on one Vulkan device and writes the driver's pipeline cache to FILE, so that a product's
 * first answer is not slowed by shader compilation (docs/FIRMWARE.md, "Pipeline cache").
 * The pipelines are those of real work: the model answers a question about a synthetic image
 * (when it has a vision tower) greedily, then a text question with every sampling step on. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli_opts.h"
#include "cli_progress.h"
#include "session/session_int.h"
#include "vk/vk.h"

#define CACHE_MAGIC "SKPCACHE" /* runtime/vk/pipeline.c */

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int fail(const char *what)
{
    fprintf(stderr, "silkie-cache: %s: %s\n", what, silkie_last_error());
    return 1;
}

/* One short answer; the sessions' settings decide which kernels run. */
static silkie_status answer(silkie_model *m, const silkie_session_params *sp, int with_image,
                            const char *question)
{
    silkie_session *s = NULL;
    silkie_status st = silkie_session_create(m, sp, &s);
    if (st == SILKIE_OK && with_image) {
        /* An odd, non-square size: the resize to the model's input runs too. */
        enum { W = 97, H = 61 };
        static uint8_t rgb[W * H * 3];
        for (uint32_t i = 0; i < sizeof rgb; i++) rgb[i] = (uint8_t)(i * 7 + i / 291);
        st = silkie_session_add_image_rgb(s, rgb, W, H, W * 3, "cache.png");
    }
    if (st == SILKIE_OK) {
        silkie_ask_params ap;
        silkie_ask_params_init(&ap);
        ap.max_new_tokens = 3;
        ap.no_stop = 1; /* decode steps run even when the model would stop at once */
        st = silkie_session_ask(s, question, &ap);
    }
    silkie_session_destroy(s);
    return st;
}

/* The written file starts with the runtime's cache header. */
static int cache_written(const char *path, long *size)
{
    FILE *f = fopen(path, "rb");
    char magic[8];
    int ok = f && fread(magic, 1, 8, f) == 8 && !memcmp(magic, CACHE_MAGIC, 8) &&
             fseek(f, 0, SEEK_END) == 0 && (*size = ftell(f)) > 8;
    if (f) fclose(f);
    return ok;
}

int main(int argc, char **argv)
{
    const char *model = NULL, *out = NULL, *device = NULL;
    silkie_model_params mp;
    silkie_model_params_init(&mp);
    silkie_session_params sp;
    silkie_session_params_init(&sp);
    int json = 0, quiet = 0;
    const char *dtypes = "f32|f16|bf16|q8_0|q4_0";
    const silkie_opt t[] = {
        {"--model", SILKIE_OPT_STR, &model, "FILE|DIR",
         "packed GGUF file (or model folder) the product will run", NULL, 0, 0,
         SILKIE_OPT_REQUIRED | SILKIE_OPT_IN_PATH, NULL},
        {"--device", SILKIE_OPT_STR, &device, "GPU",
         "Vulkan device the cache is for: index or name substring (see `silkie devices`)",
         "the best device", 0, 0, 0, NULL},
        {"--out", SILKIE_OPT_STR, &out, "FILE",
         "cache file to write (replaced atomically; read first when it is for this device)",
         NULL, 0, 0, SILKIE_OPT_REQUIRED | SILKIE_OPT_OUT_FILE, NULL},
        {"--weights", SILKIE_OPT_DTYPE, &mp.weight_type, NULL,
         "model folder: type of the LLM weights, as the product loads them (a GGUF file keeps "
         "its own)", NULL, 0, 0, 0, dtypes},
        {"--vision-weights", SILKIE_OPT_DTYPE, &mp.vision_type, NULL,
         "model folder: type of the vision tower's weights", NULL, 0, 0, 0, dtypes},
        {"--kv", SILKIE_OPT_DTYPE, &sp.kv_type, "f16|f32", "type of the KV cache the product uses",
         NULL, 0, 0, 0, "f16|f32"},
        {"--json", SILKIE_OPT_FLAG, &json, NULL, "print one JSON object", NULL, 0, 0, 0, NULL},
        {"--quiet", SILKIE_OPT_FLAG, &quiet, NULL, "no progress line on standard error", NULL, 0,
         0, 0, NULL},
    };
    const silkie_cmd_spec spec = {
        "silkie-cache", "",
        "Builds every compute pipeline the model uses on one Vulkan device (image encode, "
        "prefill, decode, greedy and sampled steps) and writes the driver's pipeline cache, to "
        "be given to the runtime as silkie_model_params.pipeline_cache or `silkie ask "
        "--pipeline-cache FILE`. The file names its device, driver and shaders; the runtime "
        "ignores it, with a log line, anywhere else.",
        t, sizeof t / sizeof t[0], 0, 0, NULL};
    int rc = silkie_cli_parse(&spec, argc, argv, NULL, NULL);
    if (rc != SILKIE_CLI_CONTINUE) return rc;

    silkie_cli_progress pr;
    silkie_cli_progress_init(&pr, quiet || json);
    silkie_cli_progress_attach(&pr, &mp);
    mp.device = device;
    mp.pipeline_cache = out;
    const double t0 = now_ms();
    silkie_model *m = NULL;
    silkie_status st = silkie_model_load(model, &mp, &m);
    silkie_cli_progress_done(&pr);
    if (st != SILKIE_OK) return fail("loading the model");
    const int vision = silkie_model_image_size(m) > 0;
    silkie_session_params greedy = sp, sampled = sp;
    greedy.temperature = 0;
    sampled.temperature = 0.8f;
    sampled.top_k = 40;
    sampled.top_p = 0.9f;
    sampled.repetition_penalty = 1.05f;
    sampled.seed = 1;
    st = answer(m, &greedy, vision, "Describe the picture.");
    if (st == SILKIE_OK) st = answer(m, &sampled, 0, "Hello");
    const uint32_t pipelines = silkie_vk_pipeline_count(m->dev);
    char dev_name[256];
    snprintf(dev_name, sizeof dev_name, "%s", silkie_model_device_name(m));
    if (st != SILKIE_OK) {
        silkie_model_destroy(m);
        return fail("running the model");
    }
    silkie_model_destroy(m); /* writes the cache */
    const double ms = now_ms() - t0;
    long size = 0;
    if (!cache_written(out, &size)) {
        fprintf(stderr, "silkie-cache: %s was not written (the warning above says why)\n", out);
        return 1;
    }
    if (json) {
        printf("{\"file\":");
        silkie_cli_json_string(stdout, out);
        printf(",\"device\":");
        silkie_cli_json_string(stdout, dev_name);
        printf(",\"pipelines\":%u,\"bytes\":%ld,\"vision\":%s,\"ms\":%.0f}\n", pipelines, size,
               vision ? "true" : "false", ms);
    } else {
        printf("%s: %u pipelines for %s, %ld bytes (%.1f s)\n", out, pipelines, dev_name, size,
               ms / 1e3);
    }
    return 0;
}
