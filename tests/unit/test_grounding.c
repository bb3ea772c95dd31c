/* Grounding: parsing boxes and quads, scaling to pixels, stripping, malformed input. */
#include "test_text.h"

static void test_parse(void)
{
    const char *s = "A <ref> the dog </ref><box>(120,340),(560,880)</box><box>(0,0),(999,1000)"
                    "</box> and <ref>上海环球金融中心</ref><box>(667,437),(760,874)</box>, "
                    "loose <box>(1, 2),( 3 ,4)</box> <quad>(1,2),(3,4),(5,6),(7,8)</quad>";
    silkie_ground_box b[8];
    uint32_t n = 0;
    SK_TEST_OK(silkie_grounding_parse(s, strlen(s), 640, 480, b, 8, &n));
    SK_TEST_CHECK(n == 5, "found %u boxes", n);
    if (n != 5) return;
    SK_TEST_CHECK(b[0].n_points == 2 && b[0].norm[0] == 120 && b[0].norm[1] == 340 &&
                      b[0].norm[2] == 560 && b[0].norm[3] == 880,
                  "box 0 coords");
    /* int(x / 1000 * W): 120/1000*640 = 76.8 -> 76, 340/1000*480 = 163.2 -> 163 */
    SK_TEST_CHECK(b[0].pixel[0] == 76 && b[0].pixel[1] == 163 && b[0].pixel[2] == 358 &&
                      b[0].pixel[3] == 422,
                  "box 0 pixels %d %d %d %d", b[0].pixel[0], b[0].pixel[1], b[0].pixel[2],
                  b[0].pixel[3]);
    SK_TEST_CHECK(b[0].phrase_len == 7 && !memcmp(s + b[0].phrase_offset, "the dog", 7),
                  "phrase trimmed");
    SK_TEST_CHECK(b[1].phrase_len == 7 && b[1].phrase_offset == b[0].phrase_offset,
                  "second box keeps the phrase");
    SK_TEST_CHECK(b[1].pixel[2] == 639 && b[1].pixel[3] == 480, "edge scaling");
    SK_TEST_CHECK(b[2].phrase_len == strlen("上海环球金融中心") &&
                      !memcmp(s + b[2].phrase_offset, "上海环球金融中心", b[2].phrase_len),
                  "CJK phrase");
    SK_TEST_CHECK(b[3].phrase_len == 0 && b[3].norm[0] == 1 && b[3].norm[3] == 4,
                  "box without a phrase, spaces allowed");
    SK_TEST_CHECK(b[4].n_points == 4 && b[4].norm[6] == 7 && b[4].norm[7] == 8, "quad");

    /* count query with no room */
    SK_TEST_OK(silkie_grounding_parse(s, strlen(s), 640, 480, NULL, 0, &n));
    SK_TEST_CHECK(n == 5, "count only");
    SK_TEST_OK(silkie_grounding_parse(s, strlen(s), 640, 480, b, 2, &n));
    SK_TEST_CHECK(n == 5, "total reported beyond cap");
}

static void test_malformed(void)
{
    static const char *const bad[] = {
        "<box>(1,2),(3)</box>", "<box>(1,2),(3,4),(5,6)</box>", "<box>(a,2),(3,4)</box>",
        "<box>(1,2),(3,4)", "<ref>x</ref><box>", "<box></box>", "<box>(,,,)</box>",
        "<box>(1,2),(3,4 5)</box>", "<box>(1234567890,2),(3,4)</box>", "<quad>(1,2),(3,4)</quad>",
        "<ref>unclosed <box>(1,2),(3,4", "<<<<box>>>>", "<box>(-,1),(2,3)</box>", "",
    };
    for (size_t i = 0; i < SK_ARRAY_LEN(bad); i++) {
        silkie_ground_box b[4];
        uint32_t n = 99;
        SK_TEST_OK(silkie_grounding_parse(bad[i], strlen(bad[i]), 100, 100, b, 4, &n));
        SK_TEST_CHECK(n == 0, "malformed %zu parsed %u boxes", i, n);
        char out[128];
        size_t on = 0;
        SK_TEST_OK(silkie_grounding_strip(bad[i], strlen(bad[i]), out, sizeof out, &on));
    }
    /* every prefix of a valid answer is safe */
    const char *s =
        "<ref>a cat</ref><box>(10,20),(30,40)</box><quad>(1,2),(3,4),(5,6),(7,8)</quad>";
    for (size_t k = 0; k <= strlen(s); k++) {
        silkie_ground_box b[4];
        uint32_t n = 0;
        SK_TEST_OK(silkie_grounding_parse(s, k, 100, 100, b, 4, &n));
        SK_TEST_CHECK(n <= 2, "prefix %zu", k);
    }
    /* signs, as Python's int() takes them; huge sizes saturate */
    silkie_ground_box b[1];
    uint32_t n = 0;
    const char *neg = "<box>(-5,+7),(3,4)</box>";
    SK_TEST_OK(silkie_grounding_parse(neg, strlen(neg), 4000000000u, 10, b, 1, &n));
    SK_TEST_CHECK(n == 1 && b[0].norm[0] == -5 && b[0].norm[1] == 7 && b[0].pixel[0] == -20000000,
                  "signed coordinates");
    /* unclosed tags by the hundred thousand stay linear (a quadratic scan would time out) */
    size_t big_n = 600000;
    char *big = silkie_malloc(big_n + 1);
    for (size_t i = 0; i < big_n; i++) big[i] = "<ref><box>(1,2)\n"[i % 16];
    SK_TEST_OK(silkie_grounding_parse(big, big_n, 10, 10, b, 1, &n));
    SK_TEST_CHECK(n == 0, "unclosed flood");
    char *big_out = silkie_malloc(big_n + 1);
    size_t big_on = 0;
    SK_TEST_OK(silkie_grounding_strip(big, big_n, big_out, big_n + 1, &big_on));
    SK_TEST_CHECK(big_on == big_n && !memcmp(big, big_out, big_n), "unclosed flood strip");
    memcpy(big + big_n - 12, "</ref></box>", 12);
    SK_TEST_OK(silkie_grounding_strip(big, big_n, big_out, big_n + 1, &big_on));
    SK_TEST_OK(silkie_grounding_parse(big, big_n, 10, 10, b, 1, &n));
    silkie_free(big);
    silkie_free(big_out);
    SK_TEST_STATUS(silkie_grounding_parse(NULL, 3, 1, 1, b, 1, &n), SILKIE_ERR_INVALID_ARGUMENT);
    SK_TEST_STATUS(silkie_grounding_parse("x", 1, 1, 1, NULL, 1, &n), SILKIE_ERR_INVALID_ARGUMENT);
}

static void check_strip(const char *in, const char *want)
{
    char out[256];
    size_t n = 0;
    SK_TEST_OK(silkie_grounding_strip(in, strlen(in), out, sizeof out, &n));
    SK_TEST_CHECK(n == strlen(want) && !strcmp(out, want), "strip '%s' -> '%s', want '%s'", in,
                  out, want);
}

static void test_strip(void)
{
    check_strip("<ref>the dog</ref><box>(1,2),(3,4)</box> runs", "the dog runs");
    check_strip("<ref>a</ref><box>(1,2),(3,4)</box><box>(5,6),(7,8)</box><quad>q</quad>!", "a!");
    /* quads before boxes end the group: the regex takes boxes first */
    check_strip("<ref>a</ref><quad>q</quad><box>b</box>", "a<box>b</box>");
    /* no newline inside a group */
    check_strip("<ref>a\nb</ref><box>(1,2)</box>", "<ref>a\nb</ref><box>(1,2)</box>");
    check_strip("<ref>a</ref><box>(1,\n2)</box>", "a<box>(1,\n2)</box>");
    /* lazy: the first </ref> ends the phrase */
    check_strip("<ref>a</ref>b</ref>", "ab</ref>");
    check_strip("no tags at all", "no tags at all");
    check_strip("<box>(1,2),(3,4)</box> stays", "<box>(1,2),(3,4)</box> stays");
    check_strip("<ref><ref>x</ref>", "<ref>x");
    char small[4];
    size_t n;
    SK_TEST_STATUS(silkie_grounding_strip("abcd", 4, small, 4, &n), SILKIE_ERR_INVALID_ARGUMENT);
}

int main(void)
{
    test_parse();
    test_malformed();
    test_strip();
    return sk_test_result("test_grounding");
}
