/*
 * llama_cmd: the command line ostel gives llama.cpp for a measured run, in one place for `ostel
 * run` and `ostel study`.
 *
 * llama-completion: -m MODEL -c CTX -n GEN -p PROMPT -no-cnv --perf --ignore-eos -lv 4 -s SEED
 *   --ignore-eos makes it generate exactly GEN tokens; -lv 4 because the pinned build prints the
 * model load, buffer-size and memory-breakdown lines only at verbosity 4 (measured: at its default
 *   verbosity they are absent and the memory half of a study would be empty).
 * llama-cli: the same in single-turn mode (-st --simple-io) instead of -no-cnv.
 * Extra arguments are appended last, so a user's flag overrides ostel's (llama.cpp keeps the last).
 */
#ifndef OSTEL_LLAMA_CMD_H
#define OSTEL_LLAMA_CMD_H

#include "util/util.h"

struct ostel_run_llama_cmd {
    const char *tool_path; /* full path of llama-completion or llama-cli */
    const char *tool;      /* "llama-completion" or "llama-cli" */
    const char *model;
    long long ctx, gen;
    const char *prompt; /* text, or NULL with prompt_file */
    const char *prompt_file;
    long long seed;
    char *const *extra; /* NULL-terminated, may be NULL */
};

/* A NULL-terminated argv; the caller frees it with ostel_run_llama_cmd_argv_free(). */
char **ostel_run_llama_cmd_argv(const struct ostel_run_llama_cmd *c);
void ostel_run_llama_cmd_argv_free(char **argv);

/*
 * The first line of `TOOL --version` ("version: 0.4.0-dev (build 1, commit 80fb11a)"), or NULL when
 * the tool prints none within 5 s. The caller frees the result.
 */
char *ostel_run_llama_tool_version(const char *tool_path);

#endif
