/*
 * llama_tools: locating llama.cpp programs and vocab files (see llama_tools.h for the order).
 */
#include "llama/llama_tools.h"

#include "util/fileio.h"
#include "util/util.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

char *ostel_llama_cache_dir(void)
{
    const char *c = getenv("OSTEL_CACHE");
    if (c && *c)
        return ostel_xstrdup(c);
    const char *x = getenv("XDG_CACHE_HOME");
    if (x && *x)
        return ostel_xasprintf("%s/ostel", x);
    const char *h = getenv("HOME");
    return ostel_xasprintf("%s/.cache/ostel", h && *h ? h : "/tmp");
}

static char *pinned_dir(const char *sub)
{
    char *cache = ostel_llama_cache_dir();
    char *marker = ostel_xasprintf("%s/llama.cpp-%s/.complete", cache, OSTEL_LLAMA_PIN);
    char *dir = NULL;
    if (ostel_is_file(marker))
        dir = ostel_xasprintf("%s/llama.cpp-%s/%s", cache, OSTEL_LLAMA_PIN, sub);
    free(marker);
    free(cache);
    return dir;
}

char *ostel_llama_pinned_bin_dir(void)
{
    return pinned_dir("bin");
}

static char *exec_in(const char *dir, const char *tool)
{
    char *p = ostel_xasprintf("%s/%s", dir, tool);
    if (access(p, X_OK) == 0 && ostel_is_file(p))
        return p;
    free(p);
    return NULL;
}

char *ostel_llama_find_tool(const char *bin_dir, const char *tool)
{
    if (!bin_dir || !*bin_dir)
        bin_dir = getenv("OSTEL_LLAMA_BIN");
    if (bin_dir && *bin_dir)
        return exec_in(bin_dir, tool); /* an explicit choice is never silently replaced */
    char *pinned = ostel_llama_pinned_bin_dir();
    if (pinned) {
        char *p = exec_in(pinned, tool);
        free(pinned);
        if (p)
            return p;
    }
    return strchr(tool, '/') ? NULL : ostel_find_executable(tool);
}

char *ostel_llama_find_vocab(const char *name)
{
    if (strchr(name, '/'))
        return NULL;
    const char *env = getenv("OSTEL_VOCAB_DIR");
    char *p;
    if (env && *env) {
        p = ostel_xasprintf("%s/%s", env, name);
        if (ostel_is_file(p))
            return p;
        free(p);
    }
    char *cache = ostel_llama_cache_dir();
    p = ostel_xasprintf("%s/vocab-%s/%s", cache, OSTEL_LLAMA_PIN, name);
    free(cache);
    if (ostel_is_file(p))
        return p;
    free(p);
    return NULL;
}
