/* Run-time binding of the Vulkan loader (see loader.h). */
#include "loader.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

#define SK_VK_LOADER_DEFINE(name) PFN_##name name;
SK_VK_LOADER_FUNCS(SK_VK_LOADER_DEFINE)
#undef SK_VK_LOADER_DEFINE

static pthread_once_t once = PTHREAD_ONCE_INIT;
static char failure[512]; /* empty = the loader is open */

/* The loader's names: the versioned one Linux distributions install (the unversioned name is
 * a development link there), and Android's, which has no version. */
#ifdef __ANDROID__
static const char *const k_names[] = {"libvulkan.so"};
#else
static const char *const k_names[] = {"libvulkan.so.1", "libvulkan.so"};
#endif

static void open_loader(void)
{
    const char *env = silkie_env("SILKIE_VULKAN_LOADER");
    const char *name = env && *env ? env : k_names[0];
    /* Kept open for the life of the process: drivers and layers it loaded stay mapped. */
    void *lib = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    for (size_t i = 1; !lib && !(env && *env) && i < SK_ARRAY_LEN(k_names); i++)
        if ((lib = dlopen(k_names[i], RTLD_NOW | RTLD_LOCAL))) name = k_names[i];
    if (!lib) {
        const char *why = dlerror();
        snprintf(failure, sizeof failure, "vulkan: no Vulkan loader: cannot open %s (%s)", name,
                 why ? why : "not found");
        return;
    }
    const char *missing = NULL;
#define SK_VK_LOADER_BIND(fn)                              \
    if (!missing) {                                        \
        *(void **)&fn = dlsym(lib, #fn);                   \
        if (!fn) missing = #fn;                            \
    }
    SK_VK_LOADER_FUNCS(SK_VK_LOADER_BIND)
#undef SK_VK_LOADER_BIND
    if (missing) {
        snprintf(failure, sizeof failure, "vulkan: the loader %s does not export %s", name,
                 missing);
        dlclose(lib);
    }
}

silkie_status silkie_vk_loader_open(void)
{
    pthread_once(&once, open_loader);
    if (failure[0]) return SK_FAIL(SILKIE_ERR_NO_DEVICE, "%s", failure);
    return SILKIE_OK;
}
