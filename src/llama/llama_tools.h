/*
 * llama_tools: where llama.cpp's programs and the pinned release's vocab GGUFs are found.
 *
 * Search order for a tool: an explicit directory (--llama-bin or OSTEL_LLAMA_BIN), then the pinned
 * build that scripts/setup.sh keeps in the cache, then PATH. The cache is
 * ${OSTEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ostel}; a build there counts only when its
 * .complete marker exists.
 */
#ifndef OSTEL_LLAMA_TOOLS_H
#define OSTEL_LLAMA_TOOLS_H

#include <stddef.h>

#define OSTEL_LLAMA_PIN "nlc-3.21.1"
#define OSTEL_LLAMA_PIN_DESCRIPTION                                                                \
    "0.4.0-dev (build 1, commit 80fb11a, 2026-09-12) as shipped by node-llama-cpp@3.21.1"

/* The cache directory; the caller frees the result. */
char *ostel_llama_cache_dir(void);
/* The pinned build's bin directory if it is complete, else NULL; the caller frees the result. */
char *ostel_llama_pinned_bin_dir(void);
/*
 * Full path of llama.cpp tool `tool` (e.g. "llama-completion"), or NULL when not found anywhere.
 * bin_dir may be NULL (then OSTEL_LLAMA_BIN is consulted). The caller frees the result.
 */
char *ostel_llama_find_tool(const char *bin_dir, const char *tool);
/*
 * Path of the pinned release's vocab GGUF `name` (e.g. "ggml-vocab-llama-bpe.gguf"), searched in
 * OSTEL_VOCAB_DIR, then the cache's models directory; NULL when absent. The caller frees the
 * result.
 */
char *ostel_llama_find_vocab(const char *name);

#endif
