/*
 * rundir_config: config.txt's contract as code (docs/run-directory.md, "config.txt"): `key=value`
 * lines, a value never holding a line end, an unknown value empty. One key table,
 * OSTEL_CONFIG_KEYS, names every key a writer puts there or a reader looks for (the docs' key list
 * is the table's, checked by test_rundir_config); writers and readers name a key by its enum, never
 * by a string. One writer (the runner writes the file at the start and at the end, a served run
 * adds its `serve_*` lines, `ostel serve --url` writes its own) and one reader (the study, the
 * report and the store). Every write is atomic; nothing here prints but ostel_config_read's error
 * (util's file reader).
 */
#ifndef OSTEL_RUNDIR_CONFIG_H
#define OSTEL_RUNDIR_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "util/util.h"

/* Who writes a key (bits; none for a key only older run directories hold). */
enum ostel_config_writer {
    OSTEL_CONFIG_LEGACY = 0,       /* no writer now: read from older run directories */
    OSTEL_CONFIG_RUNNER = 1u << 0, /* run/runner.c: every run's file, at the start and the end */
    OSTEL_CONFIG_SERVE = 1u << 1,  /* serve/serve_server.c: a served run's load lines, and the
                                      status when it writes the file itself */
    OSTEL_CONFIG_URL = 1u << 2,    /* cmd/cmd_serve.c: `ostel serve --url`'s, before the load's */
};

/*
 * X(ID, name, by, meaning), in the order the runner writes them (`ostel serve --url` writes its
 * few in its own order: tag, tool, model, ctx, gen, ostel_command, ostel_version, interval_ms,
 * watched_pid), then the keys only older run directories hold.
 *   ID       the key is OSTEL_CFG_<ID>
 *   name     the text before '='
 *   by       who writes it (enum ostel_config_writer's bits): the docs' "written by" cell
 *   meaning  one line: how the docs' "meaning" cell starts (it may go on)
 * docs/run-directory.md's list is this table, row by row (checked by test_rundir_config). A new
 * key is added here, and written and read through its OSTEL_CFG_ name.
 */
#define OSTEL_CONFIG_KEYS(X)                                                                       \
    X(RUN_ID, "run_id", OSTEL_CONFIG_RUNNER, "128 random bits in hex: the run's identity")         \
    X(TAG, "tag", OSTEL_CONFIG_RUNNER | OSTEL_CONFIG_URL, "the run's tag")                         \
    X(MODEL, "model", OSTEL_CONFIG_RUNNER | OSTEL_CONFIG_URL, "the model's path as given")         \
    X(CTX, "ctx", OSTEL_CONFIG_RUNNER | OSTEL_CONFIG_URL, "the context size asked for (tokens)")   \
    X(GEN, "gen", OSTEL_CONFIG_RUNNER | OSTEL_CONFIG_URL, "the tokens to generate")                \
    X(PROMPT, "prompt", OSTEL_CONFIG_RUNNER, "how the prompt was given")                           \
    X(TOOL, "tool", OSTEL_CONFIG_RUNNER | OSTEL_CONFIG_URL, "the llama.cpp tool")                  \
    X(COMMAND, "command", OSTEL_CONFIG_RUNNER, "the child's command line, shell-quoted")           \
    X(OSTEL_COMMAND, "ostel_command", OSTEL_CONFIG_RUNNER | OSTEL_CONFIG_URL,                      \
      "ostel's own command line")                                                                  \
    X(LLAMA_BIN, "llama_bin", OSTEL_CONFIG_RUNNER, "where the tool was found")                     \
    X(LLAMA_VERSION, "llama_version", OSTEL_CONFIG_RUNNER, "the tool's `--version` line")          \
    X(OSTEL_VERSION, "ostel_version", OSTEL_CONFIG_RUNNER | OSTEL_CONFIG_URL, "ostel's version")   \
    X(HOST, "host", OSTEL_CONFIG_RUNNER, "the host's name")                                        \
    X(OS, "os", OSTEL_CONFIG_RUNNER, "the operating system and its version")                       \
    X(KERNEL, "kernel", OSTEL_CONFIG_RUNNER, "the kernel's release")                               \
    X(ARCH, "arch", OSTEL_CONFIG_RUNNER, "the machine's architecture")                             \
    X(CPU_MODEL, "cpu_model", OSTEL_CONFIG_RUNNER, "the CPU's model name")                         \
    X(CPU_CORES, "cpu_cores", OSTEL_CONFIG_RUNNER, "logical cores")                                \
    X(RAM_MIB, "ram_mib", OSTEL_CONFIG_RUNNER, "physical memory (MiB)")                            \
    X(SWAP_MIB, "swap_mib", OSTEL_CONFIG_RUNNER, "swap space (MiB)")                               \
    X(PLATFORM, "platform", OSTEL_CONFIG_RUNNER, "ostel's platform backend")                       \
    X(GPU, "gpu", OSTEL_CONFIG_RUNNER, "what the GPU backend reads, or why nothing")               \
    X(START_TIME, "start_time", OSTEL_CONFIG_RUNNER, "when the run started (ISO 8601 UTC)")        \
    X(INTERVAL_MS, "interval_ms", OSTEL_CONFIG_RUNNER | OSTEL_CONFIG_URL,                          \
      "the sampling interval (ms)")                                                                \
    X(WATCHED_PID, "watched_pid", OSTEL_CONFIG_URL, "the process sampled")                         \
    X(SCENARIO, "scenario", OSTEL_CONFIG_RUNNER, "the background load's name, or `none`")          \
    X(REPETITION, "repetition", OSTEL_CONFIG_RUNNER, "the repetition's number in a study")         \
    X(STUDY, "study", OSTEL_CONFIG_RUNNER, "the study's name")                                     \
    X(SPEC_HASH, "spec_hash", OSTEL_CONFIG_RUNNER, "the study's resume key for the run")           \
    X(OOM_SCOPE, "oom_scope", OSTEL_CONFIG_RUNNER, "where OOM kills were counted")                 \
    X(SERVE_URL, "serve_url", OSTEL_CONFIG_SERVE, "the server's URL")                              \
    X(SERVE_MODE, "serve_mode", OSTEL_CONFIG_SERVE, "`concurrency`, `rate` or `sweep`")            \
    X(SERVE_LEVELS, "serve_levels", OSTEL_CONFIG_SERVE, "the load's levels")                       \
    X(SERVE_PROMPT_TOKENS, "serve_prompt_tokens", OSTEL_CONFIG_SERVE, "prompt lengths (tokens)")   \
    X(SERVE_OUTPUT_TOKENS, "serve_output_tokens", OSTEL_CONFIG_SERVE, "output lengths (tokens)")   \
    X(SERVE_REQUESTS, "serve_requests", OSTEL_CONFIG_SERVE, "measured requests per level")         \
    X(SERVE_WARMUP, "serve_warmup", OSTEL_CONFIG_SERVE, "warm-up requests per level")              \
    X(SERVE_DURATION_S, "serve_duration_s", OSTEL_CONFIG_SERVE, "a level's measured time (s)")     \
    X(SERVE_SEED, "serve_seed", OSTEL_CONFIG_SERVE, "the load's random seed")                      \
    X(SERVE_UNIQUE_PROMPTS, "serve_unique_prompts", OSTEL_CONFIG_SERVE,                            \
      "1 when every prompt is unique")                                                             \
    X(SERVE_PARALLEL, "serve_parallel", OSTEL_CONFIG_SERVE, "llama-server's slots")                \
    X(SERVE_UTF8_ONLY, "serve_utf8_only", OSTEL_CONFIG_SERVE,                                      \
      "1 when tokens that are not UTF-8 were banned")                                              \
    X(SERVE_BANNED_TOKENS, "serve_banned_tokens", OSTEL_CONFIG_SERVE, "the tokens banned")         \
    X(STATUS, "status", OSTEL_CONFIG_RUNNER | OSTEL_CONFIG_SERVE,                                  \
      "`running`, then the run's final status")                                                    \
    X(ERROR, "error", OSTEL_CONFIG_RUNNER | OSTEL_CONFIG_SERVE, "what went wrong")                 \
    X(PROMPT_TOKENS, "prompt_tokens", OSTEL_CONFIG_LEGACY, "the prompt's length (tokens)")         \
    X(SCENARIO_SPEC, "scenario_spec", OSTEL_CONFIG_LEGACY, "the background load's definition")

enum ostel_config_key {
#define OSTEL_CONFIG_ENUM_(id, name, by, meaning) OSTEL_CFG_##id,
    OSTEL_CONFIG_KEYS(OSTEL_CONFIG_ENUM_)
#undef OSTEL_CONFIG_ENUM_
        OSTEL_CFG_COUNT
};

/* One row of the table, for code that walks the keys rather than naming one. */
struct ostel_config_key_info {
    const char *name;
    size_t len;  /* strlen(name) */
    unsigned by; /* enum ostel_config_writer's bits */
    const char *meaning;
};
/* The key's row of the table (k < OSTEL_CFG_COUNT). Static. */
const struct ostel_config_key_info *ostel_config_key(enum ostel_config_key k);
/* The key's name ("run_id"). Static. */
const char *ostel_config_key_name(enum ostel_config_key k);
/* The table's key named name: true and *out set, or false for a key the table does not know. */
bool ostel_config_key_lookup(struct ostel_str name, enum ostel_config_key *out);

/* Appends the line KEY=VALUE to b, VALUE's line ends made spaces (NULL = empty). */
void ostel_config_line(struct ostel_buf *b, enum ostel_config_key k, const char *value);
/* Appends KEY=V, or KEY= when !valid. */
void ostel_config_num(struct ostel_buf *b, enum ostel_config_key k, long long v, bool valid);
/* Appends KEY= and the value formatted like printf, its line ends made spaces. */
void ostel_config_linef(struct ostel_buf *b, enum ostel_config_key k, const char *fmt, ...)
    OSTEL_PRINTF(3, 4);
/* Writes text as DIR/config.txt atomically; returns 0 or the errno of the step that failed. */
int ostel_config_write(const char *dir, const char *text, size_t len);

/* The next key=value line of *rest (advanced past it): its key and value, borrowed from the text.
 * Lines without '=' or with an empty key are skipped; a key the table does not know is returned
 * too (ostel_config_key_lookup names it). Returns false at the end. */
bool ostel_config_next(struct ostel_str *rest, struct ostel_str *key, struct ostel_str *value);
/* The value of k's first line in text[0..len), as a new string (the caller frees it), or NULL. */
char *ostel_config_get(const char *text, size_t len, enum ostel_config_key k);
/* DIR/config.txt appended to out (at most max bytes). Returns 0, or OSTEL_ERR: silently when there
 * is none, after printing why when it cannot be read. */
int ostel_config_read(const char *dir, size_t max, struct ostel_buf *out);

#endif
