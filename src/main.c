/*
 * main: the command table and dispatch (git's commands[]). Each entry's function parses its own
 * options from its own table; `ostel help CMD` and `ostel CMD --help` print the same text.
 */
#include "cmd/cmd.h"
#include "llama/llama_tools.h"
#include "util/fileio.h"
#include "util/opt_doc.h"
#include "util/util.h"

#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct command {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
};

/* Sorted by name. */
static const struct command commands[] = {
    {"db", ostel_cmd_db, "the results database: import run directories, export, info"},
    {"fit", ostel_cmd_fit, "predict a model's memory at a context and whether it fits"},
    {"hog", ostel_cmd_hog, "make background load: hold memory, keep CPUs busy"},
    {"inspect", ostel_cmd_inspect,
     "read a GGUF file's header: shape, type, sizes, KV bytes per token"},
    {"parse", ostel_cmd_parse,
     "parse an existing llama.cpp log: timings, buffers, memory breakdown"},
    {"quality", ostel_cmd_quality, "what quantization costs in KL divergence against a base model"},
    {"report", ostel_cmd_report, "compare runs: tables, statistics, charts (md, csv, json, html)"},
    {"run", ostel_cmd_run, "one llama.cpp run (or any command) under OS telemetry"},
    {"serve", ostel_cmd_serve,
     "load llama-server with concurrent requests: latency, throughput, telemetry"},
    {"study", ostel_cmd_study,
     "many runs as one study: matrix, repetitions, background load, store"},
    {"synth", ostel_cmd_synth, "write a random-weight GGUF with the exact shapes of a real model"},
};

static void print_usage(FILE *f)
{
    fprintf(f, "usage: ostel [--version] [--help] COMMAND [ARGS]\n\n"
               "Measure what a llama.cpp model does to this machine: memory fit, speed, OS "
               "telemetry.\n\ncommands:\n");
    for (size_t i = 0; i < OSTEL_ARRAY_LEN(commands); i++)
        fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\n'ostel help COMMAND' or 'ostel COMMAND --help' shows a command's options.\n"
               "exit status: 0 ok, 1 runtime error, 2 usage error\n");
}

static void print_version(void)
{
    printf("ostel %s\ntested against llama.cpp %s (pin %s)\n", OSTEL_VERSION,
           OSTEL_LLAMA_PIN_DESCRIPTION, OSTEL_LLAMA_PIN);
}

/*
 * The hidden `ostel --dump-options=man|bash|zsh`: the man page or a completion script, the head
 * and tail from here, each command's part from its own parser (util/opt_doc.h). Run by the build.
 */
static int dump_options(const char *format)
{
    enum ostel_opt_doc fmt;
    if (!ostel_opt_doc_parse_format(format, &fmt)) {
        ostel_error("--dump-options: '%s' is not man, bash or zsh", format);
        return OSTEL_EXIT_USAGE;
    }
    struct ostel_opt_doc_entry list[OSTEL_ARRAY_LEN(commands)];
    for (size_t i = 0; i < OSTEL_ARRAY_LEN(commands); i++)
        list[i] = (struct ostel_opt_doc_entry){commands[i].name, commands[i].summary};
    ostel_opt_doc_write_head(stdout, fmt, OSTEL_VERSION,
                             "measure what a llama.cpp model does to this machine: memory fit, "
                             "speed, OS telemetry",
                             list, OSTEL_ARRAY_LEN(list));
    char arg[32];
    snprintf(arg, sizeof(arg), "--dump-options=%s", format);
    for (size_t i = 0; i < OSTEL_ARRAY_LEN(commands); i++) {
        char *dargv[] = {(char *)commands[i].name, arg, NULL};
        fflush(stdout);
        if (commands[i].fn(2, dargv) != OSTEL_EXIT_OK) {
            ostel_error("--dump-options: command %s wrote no options", commands[i].name);
            return OSTEL_EXIT_FAIL;
        }
    }
    ostel_opt_doc_write_tail(stdout, fmt, list, OSTEL_ARRAY_LEN(list));
    return fflush(stdout) == 0 ? OSTEL_EXIT_OK : OSTEL_EXIT_FAIL;
}

static const struct command *find_command(const char *name)
{
    for (size_t i = 0; i < OSTEL_ARRAY_LEN(commands); i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

/*
 * Where this binary is, for commands that start ostel again (a study's `ostel hog`): argv[0] made
 * absolute, or found on PATH. Passed down in OSTEL_SELF_EXE rather than a global.
 */
static void export_self_exe(const char *argv0)
{
    char buf[PATH_MAX];
    char *found = getenv("OSTEL_SELF_EXE") ? NULL : ostel_find_executable(argv0);
    if (found && realpath(found, buf))
        setenv("OSTEL_SELF_EXE", buf, 1);
    free(found);
}

int main(int argc, char **argv)
{
    /* A file-size limit (ulimit -f) then makes write() fail with EFBIG, and the error path runs
     * (one message, temporary files removed), instead of SIGXFSZ killing ostel mid-write. Children
     * get the default back in ostel_platform_spawn(): on Linux the forked child resets every
     * disposition before execve (platform/linux/spawn_linux.c), elsewhere posix_spawn's
     * POSIX_SPAWN_SETSIGDEF does (platform/spawn_posix.c). */
    signal(SIGXFSZ, SIG_IGN);
    export_self_exe(argv[0]);
    if (argc < 2) {
        print_usage(stderr);
        return OSTEL_EXIT_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
        print_usage(stdout);
        return OSTEL_EXIT_OK;
    }
    if (strcmp(name, "--version") == 0 || strcmp(name, "-V") == 0 || strcmp(name, "version") == 0) {
        print_version();
        return OSTEL_EXIT_OK;
    }
    if (strncmp(name, "--dump-options=", 15) == 0)
        return dump_options(name + 15);
    if (strcmp(name, "help") == 0) {
        if (argc < 3) {
            print_usage(stdout);
            return OSTEL_EXIT_OK;
        }
        const struct command *c = find_command(argv[2]);
        if (!c) {
            ostel_error("'%s' is not an ostel command (see 'ostel --help')", argv[2]);
            return OSTEL_EXIT_USAGE;
        }
        char *hargv[] = {(char *)c->name, "--help", NULL};
        return c->fn(2, hargv);
    }
    const struct command *c = find_command(name);
    if (!c) {
        ostel_error("'%s' is not an ostel command (see 'ostel --help')", name);
        return OSTEL_EXIT_USAGE;
    }
    return c->fn(argc - 1, argv + 1);
}
