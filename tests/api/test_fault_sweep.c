/* Vulkan fault sweeps on the golden tiny model (see docs/FAULTS.md, "Device faults").
 *
 *   test_fault_sweep load|ask|session|frame|train|staging [--stride KIND=S[+O][,...]]
 *   test_fault_sweep env-replay | env-unknown         (child processes with SILKIE_FAULT set)
 *
 * For each kind (submit, fence, alloc, map, pipeline) and N = 1 + O, 1 + O + S, ... (S = 1,
 * O = 0 unless a stride is given) the scenario runs with the N-th call of that kind failing
 * (sk_fault_arm), until N passes the last call of that kind and the scenario succeeds with the
 * reference result. Each run must:
 *   - fail with the kind's status (DEVICE_LOST, OUT_OF_DEVICE_MEMORY, VULKAN) and a message,
 *     or, for a pipeline whose op has another kernel (flash or split-keys attention, gemv_q,
 *     the f16 and cooperative-matrix GEMMs), succeed on that kernel with the reference answers
 *     (a training step within summation-order error) after logging the switch;
 *   - after a device loss, keep returning SILKIE_ERR_DEVICE_LOST from every call on the model,
 *     its sessions and its trainer until they are destroyed;
 *   - after any other failure, leave the model (and the session or trainer) usable;
 *   - leak nothing: silkie_alloc_live() returns to its value before the run;
 *   - raise no validation-layer message and no "still alive at device destroy" warning.
 * Every run starts from a freshly loaded model, so each run after the first also shows that a
 * new model in the same process works after a fault; at the end a fresh model answers the
 * reference question exactly. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "api_common.h"
#include "base/fault.h"
#include "model/qwen.h"
#include "silkie/silkie_camera.h"
#include "silkie/silkie_train.h"

static const char *Q1 = "What is in this picture? Answer briefly.";
static const char *Q2 = "And what colour is it?";
static const int32_t GOLDEN[3] = {33020, 60690, 15704}; /* greedy ids of Q1 with hopper.jpg */
#define MAX_N 5000u                                     /* no scenario makes this many calls */

typedef struct kind_info {
    sk_fault_kind kind;
    const char *name;
    silkie_status want; /* what the app sees */
} kind_info;

static const kind_info k_kinds[] = {
    {SK_FAULT_SUBMIT, "submit", SILKIE_ERR_DEVICE_LOST},
    {SK_FAULT_FENCE, "fence", SILKIE_ERR_DEVICE_LOST},
    {SK_FAULT_ALLOC, "alloc", SILKIE_ERR_OUT_OF_DEVICE_MEMORY},
    {SK_FAULT_MAP, "map", SILKIE_ERR_OUT_OF_DEVICE_MEMORY},
    {SK_FAULT_PIPELINE, "pipeline", SILKIE_ERR_VULKAN},
};

/* ---- log sink: validation messages and device buffers left alive fail the test ----------- */
static unsigned g_bad_logs;
static unsigned g_fallbacks; /* an op took its other kernel after a pipeline failed to build */

static void on_log(silkie_log_level level, const char *module, const char *msg, void *user)
{
    (void)user;
    int bad = strstr(msg, "validation:") != NULL || strstr(msg, "still alive") != NULL;
    if (bad) g_bad_logs++;
    if (strstr(msg, "cannot be built on this device")) g_fallbacks++;
    if (bad || level == SILKIE_LOG_ERROR) fprintf(stderr, "[%s] %s\n", module, msg);
}

/* ---- what a scenario builds ------------------------------------------------------------- */
typedef struct world {
    silkie_model *m;
    silkie_session *s;
    silkie_trainer *t;
    silkie_vk_device *dev; /* staging: the network on a device of its own */
    silkie_qwen *q;
    api_answer a[2];       /* the answers the scenario checks */
    silkie_dpo_metrics dm; /* train */
    double grad_norm;
    uint8_t probe[2][1024]; /* staging: weight rows read back */
} world;

static void world_destroy(world *w)
{
    silkie_trainer_destroy(w->t);
    silkie_session_destroy(w->s);
    silkie_model_destroy(w->m);
    silkie_qwen_destroy(w->q);
    silkie_vk_device_destroy(w->dev);
    memset(w, 0, sizeof *w);
}

static silkie_status load_model(silkie_model **out)
{
    silkie_model_params mp;
    silkie_model_params_init(&mp);
    return silkie_model_load(api_model_dir(), &mp, out);
}

static silkie_status new_session(world *w)
{
    silkie_session_params sp;
    silkie_session_params_init(&sp);
    sp.temperature = 0;
    sp.n_ctx = 256;
    return silkie_session_create(w->m, &sp, &w->s);
}

static silkie_status ask(silkie_session *s, const char *q, int32_t n, api_answer *out)
{
    *out = api_ask(s, q, n);
    return out->st;
}

/* Seeded RGB8 camera frame, 64 x 48 (the GPU preprocess path). */
static uint8_t g_frame_px[2][64 * 48 * 3];

static silkie_frame frame_of(int i)
{
    return (silkie_frame){.width = 64, .height = 48, .format = SILKIE_PIXEL_FORMAT_RGB8,
                          .stride = 64 * 3, .data = g_frame_px[i],
                          .size_bytes = sizeof g_frame_px[i]};
}

/* ---- scenarios: each runs its armed part and stops at the first failure ------------------- */
typedef struct scenario {
    const char *name;
    int needs_model;                      /* loaded before the fault is armed */
    silkie_status (*run)(world *w);
} scenario;

static silkie_status run_load(world *w) { return load_model(&w->m); }

static silkie_status run_ask(world *w)
{
    SK_CHECK(new_session(w));
    SK_CHECK(silkie_session_add_image_file(w->s, api_case_file(0, "hopper.jpg")));
    return ask(w->s, Q1, 3, &w->a[0]);
}

/* Two turns, a save after the first, a restore, and the second turn again. */
static silkie_status run_session(world *w)
{
    const char *file = api_tmp_path(0, "sweep.session");
    api_answer first;
    SK_CHECK(new_session(w));
    SK_CHECK(silkie_session_add_image_file(w->s, api_case_file(0, "hopper.jpg")));
    SK_CHECK(ask(w->s, Q1, 2, &first));
    SK_CHECK(silkie_session_save(w->s, file));
    SK_CHECK(ask(w->s, Q2, 2, &w->a[0]));
    SK_CHECK(silkie_session_restore(w->s, file));
    return ask(w->s, Q2, 2, &w->a[1]);
}

/* Two same-size frames: the second replays the recorded preprocess list. */
static silkie_status run_frame(world *w)
{
    const silkie_frame f0 = frame_of(0), f1 = frame_of(1);
    SK_CHECK(new_session(w));
    SK_CHECK(silkie_session_add_image_frame(w->s, &f0, "frame.jpg"));
    SK_CHECK(ask(w->s, Q1, 2, &w->a[0]));
    SK_CHECK(silkie_session_add_image_frame(w->s, &f1, "frame.jpg"));
    return ask(w->s, Q2, 1, &w->a[1]);
}

static const char *g_img[] = {"hopper.jpg"};

static silkie_pref_pair train_pair(void)
{
    static char dir[1200];
    snprintf(dir, sizeof dir, "%s", api_case_file(1, ""));
    return (silkie_pref_pair){.prompt = "What is this?", .chosen = "A woman in uniform.",
                              .rejected = "A cat.", .images = g_img, .n_images = 1,
                              .image_dir = dir};
}

static const silkie_optim_params k_optim = {.lr = 1e-3f, .beta1 = 0.9f, .beta2 = 0.98f,
                                            .eps = 1e-8f, .weight_decay = 0.05f,
                                            .max_grad_norm = 1.0f};

static silkie_status new_trainer(world *w)
{
    char lora[1200];
    snprintf(lora, sizeof lora, "%s", api_case_file(2, "lora"));
    silkie_train_params tp;
    silkie_train_params_init(&tp);
    tp.init_adapter = lora;
    tp.layout = SILKIE_CHAT_LAYOUT_PLAIN; /* the shortest sequences that still hold the image */
    return silkie_trainer_create(w->m, &tp, &w->t);
}

/* The reference log-probs of the pair, once known: the sweeps pass them in as a training run's
 * cache does, which skips the two reference passes (the vocabulary-wide matmuls are most of
 * the time on a CPU driver). */
static double g_ref_logps[2];
static int g_have_ref_logps;
static unsigned g_fallback_runs; /* pipeline faults that ended in a fallback kernel */

/* One DPO step and one checkpoint. */
static silkie_status run_train(world *w)
{
    const silkie_pref_pair p = train_pair();
    SK_CHECK(new_trainer(w));
    SK_CHECK(silkie_trainer_pair_ref(w->t, &p, g_have_ref_logps ? g_ref_logps : NULL, 1.0f,
                                     &w->dm));
    SK_CHECK(silkie_trainer_step(w->t, &k_optim, &w->grad_norm));
    return silkie_trainer_save_state(w->t, api_tmp_path(0, "sweep-ckpt"));
}

/* The load as a discrete GPU runs it: device memory the host cannot map, every upload a
 * transfer submission through the staging buffer (lavapipe maps everything, so the public
 * load never submits). Config and weights are read once, outside the sweep. */
static silkie_model_config g_cfg;
static silkie_weights *g_weights;

static silkie_status qwen_on(silkie_vk_device *dev, silkie_qwen **out)
{
    const silkie_qwen_load_params lp = {.llm_dtype = SILKIE_DTYPE_F16,
                                        .vision_dtype = SILKIE_DTYPE_F16,
                                        .embed_dtype = SILKIE_DTYPE_F16};
    return silkie_qwen_create(dev, &g_cfg, g_weights, &lp, out);
}

static silkie_status run_staging(world *w)
{
    silkie_vk_device_params dp;
    silkie_vk_device_params_init(&dp);
    dp.force_staging = 1;
    SK_CHECK(silkie_vk_device_create(&dp, &w->dev));
    return qwen_on(w->dev, &w->q);
}

/* The first embedding row and the last lm_head row, read back through the staging buffer. */
static void probe_staging(world *w)
{
    if (!w->q || silkie_tensor_row_bytes(&w->q->lm_head.t) > sizeof w->probe[0] ||
        silkie_tensor_row_bytes(&w->q->wte.t) > sizeof w->probe[0])
        return;
    SK_TEST_OK(silkie_tensor_read_rows(&w->q->wte.t, 0, 1, w->probe[0]));
    SK_TEST_OK(silkie_tensor_read_rows(&w->q->lm_head.t, g_cfg.vocab_size - 1, 1, w->probe[1]));
}

static const scenario k_scenarios[] = {
    {"load", 0, run_load},       {"ask", 1, run_ask},     {"session", 1, run_session},
    {"frame", 1, run_frame},     {"train", 1, run_train}, {"staging", 0, run_staging},
};

/* ---- checks -------------------------------------------------------------------------------- */
static world g_ref; /* the scenario's results without a fault */

static void check_result(const scenario *sc, const world *w, const char *what)
{
    if (!strcmp(sc->name, "load")) return; /* the answer check after the kind covers it */
    if (!strcmp(sc->name, "staging")) {
        SK_TEST_CHECK(!memcmp(w->probe, g_ref.probe, sizeof w->probe),
                      "%s: weights read back differ from the reference load", what);
        return;
    }
    if (!strcmp(sc->name, "train")) {
        SK_TEST_CHECK(w->dm.loss == g_ref.dm.loss && w->grad_norm == g_ref.grad_norm,
                      "%s: loss %.17g, grad norm %.17g; reference %.17g, %.17g", what, w->dm.loss,
                      w->grad_norm, g_ref.dm.loss, g_ref.grad_norm);
        return;
    }
    for (int i = 0; i < 2; i++)
        if (g_ref.a[i].n) api_same_answer(what, &g_ref.a[i], &w->a[i]);
}

/* After a fallback kernel: the same answers; a training step as close as another summation
 * order allows (the fallback kernels are checked against the references in the op tests). */
static void check_result_fallback(const scenario *sc, const world *w, const char *what)
{
    if (strcmp(sc->name, "train")) {
        check_result(sc, w, what);
        return;
    }
    const double dl = fabs(w->dm.loss - g_ref.dm.loss);
    const double dg = fabs(w->grad_norm - g_ref.grad_norm);
    SK_TEST_CHECK(dl <= 1e-5 * fabs(g_ref.dm.loss) + 1e-7 && dg <= 1e-4 * g_ref.grad_norm,
                  "%s: loss %.17g, grad norm %.17g; reference %.17g, %.17g", what, w->dm.loss,
                  w->grad_norm, g_ref.dm.loss, g_ref.grad_norm);
}

static void expect_lost(silkie_status st, const char *call, const char *what)
{
    SK_TEST_CHECK(st == SILKIE_ERR_DEVICE_LOST && silkie_last_error()[0],
                  "%s: %s after the loss returned %s (%s)", what, call, silkie_status_name(st),
                  silkie_last_error());
}

/* Every call on a poisoned model, session and trainer reports the loss, again and again. */
static void check_poisoned(world *w, const char *what)
{
    const silkie_frame f = frame_of(0);
    const silkie_pref_pair p = train_pair();
    for (int round = 0; round < 2; round++) {
        if (w->s) {
            api_answer a;
            expect_lost(ask(w->s, Q2, 1, &a), "ask", what);
            expect_lost(silkie_session_add_image_file(w->s, api_case_file(0, "hopper.jpg")),
                        "add_image_file", what);
            expect_lost(silkie_session_add_image_frame(w->s, &f, NULL), "add_image_frame", what);
            expect_lost(silkie_session_save(w->s, api_tmp_path(1, "lost.session")), "save",
                        what);
            expect_lost(silkie_session_restore(w->s, api_tmp_path(1, "lost.session")),
                        "restore", what);
            expect_lost(silkie_session_reset(w->s), "reset", what);
        }
        if (w->t) {
            silkie_dpo_metrics dm;
            double norm;
            expect_lost(silkie_trainer_pair(w->t, &p, 1.0f, &dm), "trainer_pair", what);
            expect_lost(silkie_trainer_step(w->t, &k_optim, &norm), "trainer_step", what);
            silkie_pref_pair same = p; /* a data error, but the loss is what the app must see */
            same.rejected = same.chosen;
            expect_lost(silkie_trainer_pair(w->t, &same, 1.0f, &dm), "trainer_pair (bad)", what);
            const char *ckpt = api_tmp_path(1, "lost-ckpt");
            expect_lost(silkie_trainer_save_state(w->t, ckpt), "trainer_save_state", what);
            struct stat sb;
            SK_TEST_CHECK(stat(ckpt, &sb) != 0, "%s: save_state made %s after the loss", what,
                          ckpt);
        }
        if (w->dev) {
            silkie_vk_buffer *b = NULL;
            silkie_vk_cmd *c = NULL;
            expect_lost(silkie_vk_buffer_create(w->dev, SILKIE_VK_POOL_HOST, 256, &b),
                        "vk_buffer_create", what);
            expect_lost(silkie_vk_cmd_create(w->dev, &c), "vk_cmd_create", what);
            SK_TEST_CHECK(!b && !c, "%s: objects made on a lost device", what);
        }
        if (w->m) {
            world x = {.m = w->m};
            expect_lost(new_session(&x), "session_create", what);
            SK_TEST_CHECK(!x.s, "%s: session_create after the loss returned a session", what);
            expect_lost(new_trainer(&x), "trainer_create", what);
            SK_TEST_CHECK(!x.t, "%s: trainer_create after the loss returned a trainer", what);
            expect_lost(silkie_model_set_adapter(w->m, NULL), "model_set_adapter", what);
        }
    }
}

/* After an out-of-memory or a failed pipeline the objects are still usable. */
static void check_usable(world *w, const char *what)
{
    if (w->dev && !w->q) {
        /* The same device takes the whole upload again. */
        SK_TEST_OK(qwen_on(w->dev, &w->q));
        probe_staging(w);
        SK_TEST_CHECK(!memcmp(w->probe, g_ref.probe, sizeof w->probe),
                      "%s: weights after the retry differ from the reference load", what);
    }
    if (w->t) {
        silkie_dpo_metrics dm;
        const silkie_pref_pair p = train_pair();
        /* Every failure this can follow comes before the optimizer changed the adapter. */
        SK_TEST_OK(silkie_trainer_zero_grad(w->t));
        silkie_status st = silkie_trainer_pair_ref(w->t, &p, g_ref_logps, 0.0f, &dm);
        SK_TEST_CHECK(st == SILKIE_OK && dm.policy_chosen_logps == g_ref.dm.policy_chosen_logps,
                      "%s: trainer after the failure: %s, %.17g (want %.17g)", what,
                      silkie_status_name(st), dm.policy_chosen_logps,
                      g_ref.dm.policy_chosen_logps);
    }
    if (w->s) {
        api_answer a;
        SK_TEST_OK(silkie_session_reset(w->s));
        SK_TEST_OK(silkie_session_add_image_file(w->s, api_case_file(0, "hopper.jpg")));
        silkie_status st = ask(w->s, Q1, 1, &a);
        SK_TEST_CHECK(st == SILKIE_OK && a.n == 1 && a.ids[0] == GOLDEN[0],
                      "%s: session after the failure: %s, first id %d", what,
                      silkie_status_name(st), a.n ? a.ids[0] : -1);
    }
}

/* A fresh model in this process answers the reference question exactly. */
static void check_fresh_model(const char *what)
{
    world w = {0};
    SK_TEST_OK(load_model(&w.m));
    if (w.m && new_session(&w) == SILKIE_OK &&
        silkie_session_add_image_file(w.s, api_case_file(0, "hopper.jpg")) == SILKIE_OK) {
        api_answer a;
        silkie_status st = ask(w.s, Q1, 3, &a);
        SK_TEST_CHECK(st == SILKIE_OK && a.n == 3 && !memcmp(a.ids, GOLDEN, sizeof GOLDEN),
                      "%s: fresh model answered %s %d %d %d", what, silkie_status_name(st),
                      a.ids[0], a.ids[1], a.ids[2]);
    } else {
        SK_TEST_CHECK(0, "%s: fresh model: %s", what, silkie_last_error());
    }
    world_destroy(&w);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* No Vulkan device: skipped (77), except under CI=true where a broken driver must fail. */
static void exit_without_device(void)
{
    const char *ci = getenv("CI");
    printf("no Vulkan device: %s\n", silkie_last_error());
    api_cleanup();
    exit(ci && !strcmp(ci, "true") ? 1 : 77);
}

/* One run with the n-th call of k failing (n == 0: no fault). 1 while the fault fired. */
static int run_once(const scenario *sc, const kind_info *k, uint64_t n, world *out)
{
    char what[96];
    snprintf(what, sizeof what, "%s %s:%llu", sc->name, k ? k->name : "none",
             (unsigned long long)n);
    const int64_t live = silkie_alloc_live();
    const unsigned bad_logs = g_bad_logs, fallbacks = g_fallbacks;
    world w = {0};
    if (sc->needs_model) {
        silkie_status st = load_model(&w.m);
        if (st == SILKIE_ERR_NO_DEVICE) exit_without_device();
        SK_TEST_OK(st);
        if (!w.m) return 0;
    }
    silkie_error_clear();
    if (k) sk_fault_arm(k->kind, n);
    silkie_status st = sc->run(&w);
    const int fired = k && sk_fault_fired();
    sk_fault_arm(SK_FAULT_NONE, 0);
    char msg[512];
    snprintf(msg, sizeof msg, "%s", silkie_last_error());
    if (!fired) {
        if (st == SILKIE_ERR_NO_DEVICE) exit_without_device();
        SK_TEST_CHECK(st == SILKIE_OK, "%s: no fault fired but %s: %s", what,
                      silkie_status_name(st), msg);
        if (st == SILKIE_OK) probe_staging(&w);
        if (st == SILKIE_OK && !out) check_result(sc, &w, what);
    } else if (st == SILKIE_OK && k->kind == SK_FAULT_PIPELINE && g_fallbacks > fallbacks) {
        /* The pipeline that failed had another kernel for the job, and the op took it. */
        probe_staging(&w);
        if (!out) check_result_fallback(sc, &w, what);
        g_fallback_runs++;
    } else {
        SK_TEST_CHECK(st == k->want && msg[0], "%s: %s (want %s): '%s'", what,
                      silkie_status_name(st), silkie_status_name(k->want), msg);
        if (k->want == SILKIE_ERR_DEVICE_LOST)
            check_poisoned(&w, what);
        else
            check_usable(&w, what);
    }
    if (out) {
        *out = w;
        return fired;
    }
    world_destroy(&w);
    SK_TEST_CHECK(silkie_alloc_live() == live, "%s: %lld allocations leaked", what,
                  (long long)(silkie_alloc_live() - live));
    SK_TEST_CHECK(g_bad_logs == bad_logs, "%s: validation or leak warnings", what);
    return fired;
}

static int sweep(const scenario *sc, const uint64_t stride[SK_FAULT_KIND_COUNT],
                 const uint64_t first[SK_FAULT_KIND_COUNT])
{
    memset(g_frame_px, 0, sizeof g_frame_px);
    sk_rng r;
    sk_rng_seed(&r, 5);
    for (int i = 0; i < 2; i++)
        for (size_t j = 0; j < sizeof g_frame_px[i]; j++)
            g_frame_px[i][j] = (uint8_t)(sk_rng_u32(&r) >> (i ? 3 : 5));
    if (!strcmp(sc->name, "staging")) {
        silkie_generation_config gen;
        SK_TEST_OK(silkie_model_config_load(api_model_dir(), &g_cfg, &gen));
        SK_TEST_OK(silkie_weights_open(api_model_dir(), &g_weights));
        if (!g_weights) return 1;
    }
    /* The reference run, kept for comparisons (only its results are used). */
    run_once(sc, NULL, 0, &g_ref);
    if (!strcmp(sc->name, "ask"))
        SK_TEST_CHECK(g_ref.a[0].n == 3 && !memcmp(g_ref.a[0].ids, GOLDEN, sizeof GOLDEN),
                      "ask without a fault: not the reference answer");
    if (!strcmp(sc->name, "session"))
        api_same_answer("restored second turn", &g_ref.a[0], &g_ref.a[1]);
    g_ref_logps[0] = g_ref.dm.reference_chosen_logps;
    g_ref_logps[1] = g_ref.dm.reference_rejected_logps;
    g_have_ref_logps = 1;
    world keep = g_ref;
    world_destroy(&keep);
    g_ref.t = NULL;
    g_ref.s = NULL;
    g_ref.m = NULL;
    g_ref.q = NULL;
    g_ref.dev = NULL;

    for (size_t i = 0; i < SK_ARRAY_LEN(k_kinds); i++) {
        const kind_info *k = &k_kinds[i];
        const double t0 = now_s();
        uint64_t n = first[k->kind], runs = 0, last = 0;
        const unsigned fallback_runs = g_fallback_runs;
        for (; n < MAX_N; n += stride[k->kind]) {
            runs++;
            if (!run_once(sc, k, n, NULL)) break;
            last = n;
        }
        SK_TEST_CHECK(n < MAX_N, "%s %s: still firing at N = %u", sc->name, k->name, MAX_N);
        printf("  %-8s %-9s N = %llu..%-4llu stride %llu: %3llu runs (%u on a fallback "
               "kernel), %6.2f s\n", sc->name, k->name, (unsigned long long)first[k->kind],
               (unsigned long long)last, (unsigned long long)stride[k->kind],
               (unsigned long long)runs, g_fallback_runs - fallback_runs, now_s() - t0);
        fflush(stdout);
    }
    /* Every run above loads a fresh model, so each kind's last run already followed a fault
     * in this process; this also covers the scenarios that build the network themselves. */
    check_fresh_model(sc->name);
    silkie_weights_close(g_weights);
    g_weights = NULL;
    return 0;
}

/* ---- child processes: SILKIE_FAULT from the environment ---------------------------------- */
/* Loads the model (from `dir` when given) and asks with the image; prints the status and the
 * message, exits with -status. */
static int child(const char *dir)
{
    world w = {0};
    silkie_model_params mp;
    silkie_model_params_init(&mp);
    silkie_status st = dir ? silkie_model_load(dir, &mp, &w.m) : load_model(&w.m);
    if (st == SILKIE_OK) st = new_session(&w);
    if (st == SILKIE_OK) st = silkie_session_add_image_file(w.s, api_case_file(0, "hopper.jpg"));
    if (st == SILKIE_OK) st = ask(w.s, Q1, 3, &w.a[0]);
    printf("status %s\nmessage %s\n", silkie_status_name(st), silkie_last_error());
    if (st == SILKIE_ERR_DEVICE_LOST) {
        api_answer a;
        st = ask(w.s, Q2, 1, &a); /* still lost */
        printf("again %s\n", silkie_status_name(st));
    }
    world_destroy(&w);
    return (int)(-st) & 0xff;
}

static int run_child(const char *fault, const char *dir, const char *out, char *text,
                     size_t cap)
{
    setenv("SILKIE_FAULT", fault, 1);
    char *argv[] = {"/proc/self/exe", "child", (char *)dir, NULL};
    int rc = sk_run(argv, out);
    unsetenv("SILKIE_FAULT");
    size_t n = 0;
    char *b = sk_read_file(out, &n);
    snprintf(text, cap, "%.*s", b ? (int)n : 0, b ? b : "");
    silkie_free(b);
    printf("  SILKIE_FAULT=%s: exit %d\n%s", fault, rc, text);
    return rc;
}

static int env_test(const char *which)
{
    char text[2048];
    const char *out = api_tmp_path(2, "child.txt");
    int rc;
    if (!strcmp(which, "env-unknown")) {
        /* Refused at load before anything is read (the folder does not even exist), naming
         * the value. */
        rc = run_child("bogus:1", api_tmp_path(3, "no-such-model"), out, text, sizeof text);
        SK_TEST_CHECK(rc == -SILKIE_ERR_INVALID_ARGUMENT, "exit %d, want %d", rc,
                      -SILKIE_ERR_INVALID_ARGUMENT);
        SK_TEST_CHECK(strstr(text, "status SILKIE_ERR_INVALID_ARGUMENT") &&
                          strstr(text, "SILKIE_FAULT='bogus:1'"),
                      "child output lacks the status or the value");
        rc = run_child("submit:0", NULL, out, text, sizeof text);
        SK_TEST_CHECK(rc == -SILKIE_ERR_INVALID_ARGUMENT, "N = 0: exit %d", rc);
    } else {
        /* The second submission of the run (the prefill after the image) loses the device. */
        rc = run_child("submit:2", NULL, out, text, sizeof text);
        if (rc == -SILKIE_ERR_NO_DEVICE) {
            const char *ci = getenv("CI");
            return ci && !strcmp(ci, "true") ? 1 : 77;
        }
        SK_TEST_CHECK(rc == -SILKIE_ERR_DEVICE_LOST, "exit %d, want %d", rc,
                      -SILKIE_ERR_DEVICE_LOST);
        SK_TEST_CHECK(strstr(text, "message vulkan: vkQueueSubmit: device lost") &&
                          strstr(text, "again SILKIE_ERR_DEVICE_LOST"),
                      "child output lacks the loss or the poisoned second call");
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_fault_sweep SCENARIO [--stride KIND=S[+O][,...]]\n");
        return 2;
    }
    api_model_dir();
    silkie_log_set(on_log, NULL);
    if (!strcmp(argv[1], "child")) return child(argc > 2 ? argv[2] : NULL);
    int rc = 0;
    if (!strncmp(argv[1], "env-", 4)) {
        rc = env_test(argv[1]);
    } else {
        uint64_t stride[SK_FAULT_KIND_COUNT], first[SK_FAULT_KIND_COUNT];
        for (int k = 0; k < SK_FAULT_KIND_COUNT; k++) stride[k] = first[k] = 1;
        /* --stride KIND=S[+O][,...], repeatable: N = 1 + O, 1 + O + S, ... */
        for (int i = 2; i < argc; i++) {
            if (strcmp(argv[i], "--stride") || i + 1 == argc) {
                fprintf(stderr, "unexpected argument '%s'\n", argv[i]);
                return 2;
            }
            for (const char *a = argv[++i]; a && *a;) {
                size_t k = 0, len = 0;
                for (; k < SK_ARRAY_LEN(k_kinds); k++) {
                    len = strlen(k_kinds[k].name);
                    if (!strncmp(a, k_kinds[k].name, len) && a[len] == '=') break;
                }
                if (k == SK_ARRAY_LEN(k_kinds)) {
                    fprintf(stderr, "bad stride '%s'\n", a);
                    return 2;
                }
                char *end = NULL;
                stride[k_kinds[k].kind] = strtoull(a + len + 1, &end, 10);
                if (end && *end == '+') first[k_kinds[k].kind] = 1 + strtoull(end + 1, NULL, 10);
                a = strchr(a, ',');
                if (a) a++;
            }
        }
        for (int k = 0; k < SK_FAULT_KIND_COUNT; k++)
            if (!stride[k]) stride[k] = 1;
        const scenario *sc = NULL;
        for (size_t i = 0; i < SK_ARRAY_LEN(k_scenarios); i++)
            if (!strcmp(argv[1], k_scenarios[i].name)) sc = &k_scenarios[i];
        if (!sc) {
            fprintf(stderr, "unknown scenario '%s'\n", argv[1]);
            return 2;
        }
        rc = sweep(sc, stride, first);
    }
    api_cleanup();
    if (rc) return rc;
    return sk_test_result(argv[1]);
}
