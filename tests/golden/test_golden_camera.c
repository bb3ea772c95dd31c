/* `silkie camera` end to end on the tiny golden model: a Motion-JPEG stream built here (the
 * golden photo as it is, re-encoded variations, a truncated frame in the middle) gives one JSON
 * line per frame, the truncated one skipped with its reason and the others answered; the
 * unmodified photo's answer equals `silkie ask --image hopper.jpg` with the same options;
 * --on-change / --every skip what they should; a missing camera exits with 1.
 *
 * usage: test_golden_camera SILKIE_CLI GOLDEN_DIR WORK_DIR */
#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <turbojpeg.h>

#include "harness.h"

#define MAX_LINES 16
#define QUESTION "What is in this picture?"

typedef struct line {
    int index;
    char status[16], reason[32];
    int32_t tokens[16];
    int n_tokens;
} line;

/* Encodes RGB (w x h) as JPEG quality 90; caller frees with tjFree. */
static unsigned char *encode(const uint8_t *rgb, int w, int h, unsigned long *n)
{
    tjhandle t = tjInitCompress();
    unsigned char *out = NULL;
    *n = 0;
    if (t && tjCompress2(t, rgb, w, 0, h, TJPF_RGB, &out, n, TJSAMP_420, 90, TJFLAG_ACCURATEDCT))
        out = NULL;
    if (t) tjDestroy(t);
    return out;
}

static int write_stream(const char *path, const unsigned char *const *parts,
                        const unsigned long *sizes, int n)
{
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    int ok = 1;
    for (int i = 0; i < n; i++) ok &= fwrite(parts[i], 1, sizes[i], f) == sizes[i];
    return (fclose(f) == 0) & ok;
}

static void parse_tokens(const cJSON *o, line *l)
{
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(o, "tokens");
    l->n_tokens = 0;
    for (const cJSON *e = t ? t->child : NULL; e && l->n_tokens < 16; e = e->next)
        l->tokens[l->n_tokens++] = (int32_t)e->valuedouble;
}

/* Runs a command and parses each stdout line as a JSON object; returns the exit status. */
static int run_json(const char *cmd, line *lines, int *n_lines)
{
    *n_lines = 0;
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    char buf[8192];
    while (fgets(buf, sizeof buf, p)) {
        cJSON *o = cJSON_ParseWithLengthOpts(buf, strlen(buf), NULL, 0);
        SK_TEST_CHECK(o && cJSON_IsObject(o), "not a JSON object: %s", buf);
        if (o && *n_lines < MAX_LINES) {
            line *l = &lines[(*n_lines)++];
            memset(l, 0, sizeof *l);
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "index");
            l->index = cJSON_IsNumber(v) ? (int)v->valuedouble : -1;
            v = cJSON_GetObjectItemCaseSensitive(o, "status");
            if (cJSON_IsString(v)) snprintf(l->status, sizeof l->status, "%s", v->valuestring);
            v = cJSON_GetObjectItemCaseSensitive(o, "reason");
            if (cJSON_IsString(v)) snprintf(l->reason, sizeof l->reason, "%s", v->valuestring);
            parse_tokens(o, l);
            v = cJSON_GetObjectItemCaseSensitive(o, "latency_ms");
            if (!strcmp(l->status, "ok"))
                SK_TEST_CHECK(cJSON_IsObject(v) && cJSON_GetObjectItem(v, "frame_decode") &&
                                  cJSON_GetObjectItem(v, "preprocess_encode") &&
                                  cJSON_GetObjectItem(v, "prefill") &&
                                  cJSON_GetObjectItem(v, "decode"),
                              "answered frame without per-stage latencies: %s", buf);
        }
        cJSON_Delete(o);
    }
    int rc = pclose(p);
    return rc;
}

static void expect(const line *l, int n, int i, const char *status, const char *reason)
{
    if (i >= n) {
        SK_TEST_CHECK(i < n, "no line for frame %d", i);
        return;
    }
    SK_TEST_CHECK(l[i].index == i, "line %d has index %d", i, l[i].index);
    SK_TEST_CHECK(!strcmp(l[i].status, status), "frame %d: status '%s', want '%s'", i,
                  l[i].status, status);
    if (reason)
        SK_TEST_CHECK(!strcmp(l[i].reason, reason), "frame %d: reason '%s', want '%s'", i,
                      l[i].reason, reason);
    if (!strcmp(status, "ok")) SK_TEST_CHECK(l[i].n_tokens > 0, "frame %d: no tokens", i);
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s SILKIE_CLI GOLDEN_DIR WORK_DIR\n", argv[0]);
        return 2;
    }
    const char *cli = argv[1], *golden = argv[2], *work = argv[3];
    char model[1024], photo[1024], stream[1024], stream2[1024], cmd[4096];
    snprintf(model, sizeof model, "%s/model", golden);
    snprintf(photo, sizeof photo, "%s/hopper.jpg", golden);
    snprintf(stream, sizeof stream, "%s/camera_test.mjpeg", work);
    snprintf(stream2, sizeof stream2, "%s/camera_test_change.mjpeg", work);
    struct stat sb;
    if (stat(model, &sb) != 0) {
        fprintf(stderr, "SKIP: no golden model at %s\n", model);
        return 77;
    }
    mkdir(work, 0755);
    size_t jn = 0;
    unsigned char *jpg = sk_read_file(photo, &jn);
    SK_TEST_CHECK(jpg != NULL, "cannot read %s", photo);
    if (!jpg) return sk_test_result("golden_camera");

    /* Variations of the decoded photo: mirrored, and darkened with a bright square. */
    tjhandle d = tjInitDecompress();
    int w = 0, h = 0, sub = 0, cs = 0;
    SK_TEST_CHECK(d && !tjDecompressHeader3(d, jpg, jn, &w, &h, &sub, &cs), "header");
    uint8_t *rgb = malloc((size_t)w * h * 3), *v1 = malloc((size_t)w * h * 3),
            *v2 = malloc((size_t)w * h * 3);
    SK_TEST_CHECK(!tjDecompress2(d, jpg, jn, rgb, w, 0, h, TJPF_RGB, TJFLAG_ACCURATEDCT),
                  "decode");
    tjDestroy(d);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int c = 0; c < 3; c++) {
                size_t i = ((size_t)y * w + x) * 3 + c;
                v1[i] = rgb[((size_t)y * w + (w - 1 - x)) * 3 + c];
                int in_box = x > w / 4 && x < w / 2 && y > h / 4 && y < h / 2;
                v2[i] = in_box ? 250 : (uint8_t)(rgb[i] / 2);
            }
    unsigned long n1 = 0, n2 = 0;
    unsigned char *j1 = encode(v1, w, h, &n1), *j2 = encode(v2, w, h, &n2);
    SK_TEST_CHECK(j1 && j2, "encode: %s", tjGetErrorStr());
    if (!j1 || !j2) return sk_test_result("golden_camera");

    /* frame 0: the photo's own bytes; 1: mirrored; 2: truncated (the mirrored JPEG cut in its
     * entropy-coded data, so the next SOI arrives before its EOI); 3: darkened. */
    const unsigned char *parts[] = {jpg, j1, j1, j2};
    const unsigned long sizes[] = {(unsigned long)jn, n1, n1 / 2, n2};
    SK_TEST_CHECK(write_stream(stream, parts, sizes, 4), "cannot write %s", stream);

    line l[MAX_LINES];
    int n = 0;
    snprintf(cmd, sizeof cmd,
             "\"%s\" camera --model \"%s\" --source \"%s\" --greedy --max-tokens 4 --json "
             "--image-name hopper.jpg \"" QUESTION "\"",
             cli, model, stream);
    int rc = run_json(cmd, l, &n);
    SK_TEST_CHECK(rc == 0, "camera exited with %d", rc);
    SK_TEST_CHECK(n == 4, "%d JSON lines for 4 frames", n);
    expect(l, n, 0, "ok", NULL);
    expect(l, n, 1, "ok", NULL);
    expect(l, n, 2, "skipped", "truncated");
    expect(l, n, 3, "ok", NULL);

    /* The unmodified photo answers as `silkie ask` does. */
    line a[MAX_LINES];
    int na = 0;
    snprintf(cmd, sizeof cmd,
             "\"%s\" ask --model \"%s\" --image \"%s\" --greedy --max-tokens 4 --json \"" QUESTION
             "\"",
             cli, model, photo);
    rc = run_json(cmd, a, &na);
    SK_TEST_CHECK(rc == 0 && na == 1, "ask: exit %d, %d lines", rc, na);
    if (n > 0 && na == 1)
        SK_TEST_CHECK(a[0].n_tokens > 0 && a[0].n_tokens == l[0].n_tokens &&
                          !memcmp(a[0].tokens, l[0].tokens, a[0].n_tokens * sizeof(int32_t)),
                      "frame 0 answer tokens differ from silkie ask (%d vs %d tokens)",
                      l[0].n_tokens, a[0].n_tokens);

    /* --every 0.05 with --on-change, at 30 fps media time (frame k at k / 30 s): frame 1
     * (0.033 s) is too soon; frame 2 (0.067 s) is due but repeats frame 0; frame 3 (0.1 s) is
     * the darkened photo. */
    const unsigned char *parts2[] = {jpg, jpg, jpg, j2};
    const unsigned long sizes2[] = {(unsigned long)jn, (unsigned long)jn, (unsigned long)jn, n2};
    SK_TEST_CHECK(write_stream(stream2, parts2, sizes2, 4), "cannot write %s", stream2);
    snprintf(cmd, sizeof cmd,
             "\"%s\" camera --model \"%s\" --source \"%s\" --greedy --max-tokens 1 --json "
             "--every 0.05 --on-change \"" QUESTION "\"",
             cli, model, stream2);
    rc = run_json(cmd, l, &n);
    SK_TEST_CHECK(rc == 0 && n == 4, "every + on-change: exit %d, %d lines", rc, n);
    expect(l, n, 0, "ok", NULL);
    expect(l, n, 1, "skipped", "interval");
    expect(l, n, 2, "skipped", "unchanged");
    expect(l, n, 3, "ok", NULL);

    /* A device that is no camera cannot be opened: an error with exit code 1. (A path that does
     * not exist is a usage error, 2, before anything is opened.) */
    snprintf(cmd, sizeof cmd,
             "\"%s\" camera --model \"%s\" --camera /dev/null \"" QUESTION "\" 2>/dev/null", cli,
             model);
    rc = run_json(cmd, l, &n);
    SK_TEST_CHECK(rc != -1 && WEXITSTATUS(rc) == 1, "not a camera: exit status %d", rc);
    snprintf(cmd, sizeof cmd,
             "\"%s\" camera --model \"%s\" --camera /nonexistent/video9 \"" QUESTION
             "\" 2>/dev/null",
             cli, model);
    rc = run_json(cmd, l, &n);
    SK_TEST_CHECK(rc != -1 && WEXITSTATUS(rc) == 2, "missing camera: exit status %d", rc);

    tjFree(j1);
    tjFree(j2);
    free(rgb);
    free(v1);
    free(v2);
    silkie_free(jpg);
    remove(stream);
    remove(stream2);
    return sk_test_result("golden_camera");
}
