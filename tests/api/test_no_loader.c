/* A machine without a Vulkan loader (simulated by pointing SILKIE_VULKAN_LOADER at a library that
 * does not exist, as ctest does for this test): the library still starts, the tokenizer works,
 * and every call that needs a device fails with SILKIE_ERR_NO_DEVICE naming the library. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_common.h"
#include "silkie/silkie_text.h"

static void expect_no_device(silkie_status st, const char *what)
{
    const char *msg = silkie_last_error();
    SK_TEST_CHECK(st == SILKIE_ERR_NO_DEVICE, "%s: %s instead of SILKIE_ERR_NO_DEVICE", what,
                  silkie_status_name(st));
    const char *lib = getenv("SILKIE_VULKAN_LOADER");
    SK_TEST_CHECK(msg && strstr(msg, "no Vulkan loader") && lib && strstr(msg, lib),
                  "%s: message does not name the missing loader: %s", what, msg ? msg : "(null)");
}

int main(void)
{
    const char *lib = getenv("SILKIE_VULKAN_LOADER");
    if (!lib || !*lib) {
        fprintf(stderr, "test_no_loader: run it with SILKIE_VULKAN_LOADER=<missing file>\n");
        return 1;
    }
    const char *dir = api_model_dir();
    for (int round = 0; round < 2; round++) { /* the second call gives the first one's answer */
        silkie_model *m = (silkie_model *)&m;
        expect_no_device(silkie_model_load(dir, NULL, &m), "model_load");
        SK_TEST_CHECK(m == NULL, "model not NULL after a failed load");
    }
    silkie_device_info info[2];
    uint32_t n = 99, loader_version = 99;
    expect_no_device(silkie_devices_list(info, 2, &n, &loader_version), "devices_list");
    SK_TEST_CHECK(n == 0 && loader_version == 0, "devices_list: n %u loader %u", n,
                  loader_version);

    char vocab[4096];
    snprintf(vocab, sizeof vocab, "%s/qwen.tiktoken", dir);
    silkie_tokenizer *tok = NULL;
    silkie_status st = silkie_tokenizer_load(vocab, &tok);
    SK_TEST_CHECK(st == SILKIE_OK, "tokenizer_load without Vulkan: %s", silkie_last_error());
    if (tok) {
        silkie_token_list *ids = NULL;
        st = silkie_tokenizer_encode(tok, "hello world", 11, NULL, &ids);
        const int32_t *id = ids ? silkie_token_list_ids(ids) : NULL;
        SK_TEST_CHECK(st == SILKIE_OK && silkie_token_list_size(ids) == 2 && id[0] == 14990 &&
                          id[1] == 1879,
                      "encode without Vulkan: %s", silkie_status_name(st));
        silkie_token_list_destroy(ids);
        silkie_tokenizer_destroy(tok);
    }
    SK_TEST_CHECK(silkie_build_string() && *silkie_build_string(), "build string");
    return sk_test_result("test_no_loader");
}
