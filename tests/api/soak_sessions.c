/* Soak: many sessions on one model, with random cancellation from another thread.
 *
 *   soak_sessions [ROUNDS]        (default 30)
 *
 * Each round opens three sessions on the golden tiny model: the first asks about hopper.jpg and
 * saves its conversation; the second restores that file while the first is still alive, adds
 * an RGB picture and asks again; the third asks about a camera frame. They are destroyed in an
 * order that changes every round. A second thread cancels whatever session is asking at random
 * moments, so answers end with SILKIE_OK or SILKIE_ERR_CANCELLED; any other status fails.
 *
 * After every round it prints the host resident set (/proc/self/statm), the device memory the
 * pools hold and the library's live host allocations. From round 10 on (the pools and the
 * allocator have settled by then) the device bytes and live allocations must stay exactly at
 * their round-10 values and the resident set within RSS_TOLERANCE of it. Sanitizer builds keep
 * freed memory in quarantine, so there the resident set is printed but not judged. Run it
 * without the validation layer (SILKIE_VALIDATE=0): the layer's own records grow with every
 * object made, about 60 KiB a round here. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api_common.h"
#include "session/session_int.h"
#include "silkie/silkie_camera.h"

#define RSS_TOLERANCE (4u << 20) /* bytes: allocator and driver caches move a little */
#define SETTLED_ROUND 10

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif

/* ---- the cancelling thread -------------------------------------------------------------- */
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static silkie_session *g_asking; /* under g_lock: the session inside ask, or NULL */
static atomic_int g_stop;
static atomic_uint g_cancels;

static void set_asking(silkie_session *s)
{
    pthread_mutex_lock(&g_lock);
    g_asking = s;
    pthread_mutex_unlock(&g_lock);
}

static void *canceller(void *arg)
{
    sk_rng r;
    sk_rng_seed(&r, *(const uint64_t *)arg);
    while (!atomic_load(&g_stop)) {
        /* 0-40 ms: a tiny-model answer takes tens of ms, so asks are hit in prefill, in
         * decode, or not at all. */
        const struct timespec ts = {0, (long)(sk_rng_u32(&r) % 40000u) * 1000L};
        nanosleep(&ts, NULL);
        pthread_mutex_lock(&g_lock);
        if (g_asking) {
            silkie_session_cancel(g_asking);
            atomic_fetch_add(&g_cancels, 1);
        }
        pthread_mutex_unlock(&g_lock);
    }
    return NULL;
}

/* ---- one round --------------------------------------------------------------------------- */
static unsigned g_ok, g_cancelled;
static sk_rng g_pick; /* main thread: which asks the other thread may cancel */

static void ask(silkie_session *s, const char *q, const char *what)
{
    if (!s) return;
    silkie_ask_params ap;
    silkie_ask_params_init(&ap);
    ap.max_new_tokens = 6;
    ap.no_stop = 1;
    if (sk_rng_u32(&g_pick) % 2) set_asking(s); /* half the asks run undisturbed */
    silkie_status st = silkie_session_ask(s, q, &ap);
    set_asking(NULL);
    if (st == SILKIE_OK)
        g_ok++;
    else if (st == SILKIE_ERR_CANCELLED)
        g_cancelled++;
    else
        SK_TEST_CHECK(0, "%s: %s: %s", what, silkie_status_name(st), silkie_last_error());
}

static uint8_t g_rgb[80 * 60 * 3];

static void round_run(silkie_model *m, int round)
{
    const char *file = api_tmp_path(0, "soak.session");
    silkie_session *s[3] = {api_session(m, 256, SILKIE_DTYPE_F16),
                            api_session(m, 256, SILKIE_DTYPE_F16),
                            api_session(m, 256, SILKIE_DTYPE_F16)};
    if (s[0]) {
        SK_TEST_OK(silkie_session_add_image_file(s[0], api_case_file(0, "hopper.jpg")));
        ask(s[0], "What is in this picture?", "first");
        SK_TEST_OK(silkie_session_save(s[0], file));
    }
    if (s[1]) {
        SK_TEST_OK(silkie_session_restore(s[1], file));
        SK_TEST_OK(silkie_session_add_image_rgb(s[1], g_rgb, 80, 60, 0, "second.jpg"));
        ask(s[1], "And this one?", "restored");
    }
    if (s[2]) {
        const silkie_frame f = {.width = 80, .height = 60, .format = SILKIE_PIXEL_FORMAT_RGB8,
                                .stride = 80 * 3, .data = g_rgb, .size_bytes = sizeof g_rgb};
        SK_TEST_OK(silkie_session_add_image_frame(s[2], &f, "frame.jpg"));
        ask(s[2], "What does the camera see?", "frame");
    }
    for (int i = 0; i < 3; i++) silkie_session_destroy(s[(i + round) % 3]);
}

static uint64_t rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long long size = 0, resident = 0;
    if (f) {
        if (fscanf(f, "%llu %llu", &size, &resident) != 2) resident = 0;
        fclose(f);
    }
    return resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

int main(int argc, char **argv)
{
    const int rounds = argc > 1 ? atoi(argv[1]) : 30;
    if (rounds <= SETTLED_ROUND) {
        fprintf(stderr, "soak_sessions: ROUNDS must exceed %d\n", SETTLED_ROUND);
        return 2;
    }
    sk_rng r;
    sk_rng_seed(&r, 3);
    for (size_t i = 0; i < sizeof g_rgb; i++) g_rgb[i] = (uint8_t)sk_rng_u32(&r);
    silkie_model *m = api_load(SILKIE_DTYPE_F16, 0, 0);

    uint64_t seed = (uint64_t)time(NULL);
    sk_rng_seed(&g_pick, seed + 1);
    printf("soak: %d rounds, cancellation seed %llu\n", rounds, (unsigned long long)seed);
    pthread_t th;
    if (pthread_create(&th, NULL, canceller, &seed) != 0) {
        fprintf(stderr, "soak: cannot start the cancelling thread\n");
        return 1;
    }
    uint64_t rss0 = 0, dev0 = 0, rss_max = 0;
    int64_t live0 = 0;
    for (int i = 1; i <= rounds; i++) {
        round_run(m, i);
        const uint64_t rss = rss_bytes(), dev = silkie_vk_device_bytes(m->dev);
        const int64_t live = silkie_alloc_live();
        printf("round %3d  rss %8.2f MiB  device %8.2f MiB  live allocations %6lld  "
               "answers %u, cancelled %u\n",
               i, rss / 1048576.0, dev / 1048576.0, (long long)live, g_ok, g_cancelled);
        fflush(stdout);
        if (i == SETTLED_ROUND) {
            rss0 = rss_max = rss;
            dev0 = dev;
            live0 = live;
        } else if (i > SETTLED_ROUND) {
            rss_max = SK_MAX(rss_max, rss);
            SK_TEST_CHECK(dev == dev0, "round %d: device memory %llu bytes, %llu at round %d", i,
                          (unsigned long long)dev, (unsigned long long)dev0, SETTLED_ROUND);
            SK_TEST_CHECK(live == live0, "round %d: %lld live allocations, %lld at round %d", i,
                          (long long)live, (long long)live0, SETTLED_ROUND);
        }
    }
    atomic_store(&g_stop, 1);
    pthread_join(th, NULL);
    printf("soak: rss grew %.2f MiB after round %d (tolerance %.1f MiB%s); %u cancel calls\n",
           (rss_max - rss0) / 1048576.0, SETTLED_ROUND, RSS_TOLERANCE / 1048576.0,
           SANITIZED ? ", not judged under a sanitizer" : "", atomic_load(&g_cancels));
    if (!SANITIZED)
        SK_TEST_CHECK(rss_max - rss0 <= RSS_TOLERANCE, "resident set grew %llu bytes",
                      (unsigned long long)(rss_max - rss0));
    SK_TEST_CHECK(g_ok > 0, "no answer completed");
    silkie_model_destroy(m);
    api_cleanup();
    return sk_test_result("soak_sessions");
}
