/*
 * run_args: `ostel run`'s options, validated into a runner spec (kept apart from cmd_run.c so the
 * parsing is unit-testable without running anything).
 */
#ifndef OSTEL_RUN_ARGS_H
#define OSTEL_RUN_ARGS_H

#include "llama/gguf_facts.h"
#include "run/runner.h"
#include "util/opt.h"

struct ostel_run_args {
    struct ostel_run_spec spec; /* points into the fields below */
    char *model, *tag, *out, *runs_dir, *prompt, *prompt_file, *tool, *llama_bin;
    char *metrics_listen, *metrics_textfile; /* Prometheus (run/prom.h), or NULL */
    long long ctx, gen, seed;
    uint64_t interval_ns, timeout_ns;
    uint64_t gpu_interval_ns; /* 0 default, UINT64_MAX off */
    bool verbose, quiet;
    char **child_argv;   /* owned */
    char *dir;           /* owned: the run directory */
    char *cmdline;       /* owned */
    char *tool_path;     /* owned */
    char *llama_version; /* owned: `TOOL --version`, set by cmd_run.c after the parse */
    bool command_mode;   /* watching an arbitrary command */
    /* The model's header, read once by the parse and handed to the runner (not in command mode). */
    struct ostel_gguf_run_facts model_facts;
};

/*
 * Parses and validates; prints errors. It reads (the model's GGUF header, the tool's path) but
 * creates and runs nothing: the run directory's name is chosen here and made by the caller
 * (ostel_runner_prepare_dir), which also asks the tool its version. Returns OSTEL_OPT_DONE, _HELP
 * or _USAGE. Free with _free whatever it returned.
 */
int ostel_run_args_parse(struct ostel_run_args *a, int argc, char **argv);

/* The run directory: out when given, else RUNS_DIR (default "runs") /<UTC time>-<ms>-<tag made
 * safe for a file name>, as `ostel run` and `ostel serve` name theirs; the caller frees it. */
char *ostel_run_args_dir_name(const char *out, const char *runs_dir, const char *tag);
/* "ostel ARG1 ARG2 …" as config.txt records the command line; the caller frees it. */
char *ostel_run_args_join_cmdline(int argc, char **argv);
void ostel_run_args_free(struct ostel_run_args *a);
/* Prints the one-line outcome (and warnings drawn from summary.json) unless quiet. */
void ostel_run_args_report(const struct ostel_run_args *a, const struct ostel_run_result *res);

#endif
