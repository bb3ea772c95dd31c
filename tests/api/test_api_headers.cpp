// The public headers as C++11: they must compile with -pedantic and keep C linkage.
// The experimental block is compiled here too (the C file covers the default view).
#define SILKIE_EXPERIMENTAL
#include <cstring>

#include "silkie/silkie.h"
#include "silkie/silkie_camera.h"
#include "silkie/silkie_text.h"

static_assert(sizeof(silkie_status) == 4, "silkie_status must stay 32 bits");
static_assert(sizeof(silkie_dtype) == 4, "silkie_dtype must stay 32 bits");

extern "C" int api_headers_cpp(void);

int api_headers_cpp(void)
{
    int failures = 0;
    if (silkie_version_number() != SILKIE_VERSION_NUMBER) failures++;
    if (std::strcmp(silkie_status_name(SILKIE_ERR_BAD_MODEL), "SILKIE_ERR_BAD_MODEL") != 0)
        failures++;
    silkie_session_params sp;
    silkie_session_params_init(&sp);
    if (sp.struct_size != sizeof sp) failures++;
    silkie_session_destroy(nullptr);
    silkie_model_destroy(nullptr);
    if (silkie_dtype_block_elems(SILKIE_DTYPE_Q4_0) != 32) failures++;
    silkie_bench_params bp;
    silkie_bench_params_init(&bp);
    if (bp.struct_size != sizeof bp) failures++;
    return failures;
}
