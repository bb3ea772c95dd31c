/* The public headers compile as strict C11 (this file) and C++11 (test_api_headers.cpp), with
 * -Wall -Wextra -Werror -pedantic, and link against the shared library: the version macros
 * agree with the library and the status names come from the one X-macro list. */
#include <stdio.h>
#include <string.h>

#include "silkie/silkie.h"
#include "silkie/silkie_camera.h"
#include "silkie/silkie_text.h"

int api_headers_cpp(void); /* test_api_headers.cpp; number of failed checks */

_Static_assert(sizeof(silkie_status) == 4, "silkie_status must stay 32 bits");
_Static_assert(sizeof(silkie_dtype) == 4, "silkie_dtype must stay 32 bits");
_Static_assert(sizeof(silkie_log_level) == 4, "silkie_log_level must stay 32 bits");

#define CHECK(c)                                                          \
    do {                                                                  \
        if (!(c)) {                                                       \
            fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #c);  \
            failures++;                                                   \
        }                                                                 \
    } while (0)

int main(void)
{
    int failures = 0;
    CHECK(silkie_version_number() == SILKIE_VERSION_NUMBER);
    char v[32];
    snprintf(v, sizeof v, "%d.%d.%d", SILKIE_VERSION_MAJOR, SILKIE_VERSION_MINOR,
             SILKIE_VERSION_PATCH);
    CHECK(!strcmp(silkie_version_string(), v));
#define NAME_CHECK(name, value) CHECK(!strcmp(silkie_status_name(name), #name) && name == value);
    SILKIE_STATUS_LIST(NAME_CHECK)
#undef NAME_CHECK
    silkie_model_params mp;
    silkie_model_params_init(&mp);
    CHECK(mp.struct_size == sizeof mp);
    silkie_session_params sp;
    silkie_session_params_init(&sp);
    CHECK(sp.struct_size == sizeof sp);
    silkie_ask_params ap;
    silkie_ask_params_init(&ap);
    CHECK(ap.struct_size == sizeof ap);
    failures += api_headers_cpp();
    printf("test_api_headers: %s\n", failures ? "FAILED" : "all checks passed");
    return failures ? 1 : 0;
}
