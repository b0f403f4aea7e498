/*
 * opt: one option table per command yields getopt_long parsing, environment mirrors and --help
 * (curl's habit: the table is the single source of truth, kept sorted by long name).
 */
#ifndef OSTEL_OPT_H
#define OSTEL_OPT_H

#include "util/util.h"

struct ostel_option {
    int id; /* returned to the handler; a printable short letter when the option has one */
    const char *name;    /* long name without "--" */
    const char *argname; /* NULL for a flag, else the placeholder shown in --help ("N", "FILE") */
    const char *env;     /* OSTEL_* variable mirroring the option, or NULL */
    const char *help;    /* one line */
};

/*
 * Called once per option, environment values first, each once (source = the variable's name), then
 * the command line in order (source = NULL): the last call for an id is the one that counts.
 * Returns 0, or non-zero after printing an error for a bad value (usage error).
 */
typedef int (*ostel_option_fn)(void *ctx, int id, const char *arg, const char *source);

struct ostel_command_help {
    const char *name;    /* "inspect" */
    const char *usage;   /* "MODEL.gguf... [--json]" */
    const char *summary; /* one line */
    const char *details; /* optional paragraph(s) after the options, or NULL */
};

enum {
    OSTEL_OPT_DONE = 0,  /* parsed */
    OSTEL_OPT_HELP = 1,  /* --help was printed: the command exits 0 */
    OSTEL_OPT_USAGE = 2, /* an error was printed: the command exits 2 */
};

/*
 * What ostel_options_parse_mixed() leaves of argv once the options are taken out. The arrays point
 * into argv (borrowed, not copied); the pos array itself is owned: free it with ostel_args_free().
 */
struct ostel_args {
    char **pos;  /* the positionals in order, then everything after "--"; NULL-terminated */
    int npos;    /* positionals before "--" ("-" alone is one: standard input) */
    char **rest; /* pos + npos: the arguments after "--", never parsed as options */
    int nrest;
    bool dashdash; /* a "--" was given, even with nothing after it */
};

/*
 * The one option parser. Parses argv[1..] (argv[0] is the command name) against opts, options and
 * positionals in any order (`ostel db import a --db x.db b`), up to a literal "--". The OSTEL_*
 * environment mirrors are applied first and exactly once, so a command-line option always wins
 * whatever its place; fn then sees the command-line options in order. -h/--help anywhere before
 * "--" prints the help. A value is the next argument even when it starts with '-' (`-o -`).
 * Returns OSTEL_OPT_*; on OSTEL_OPT_DONE *out holds the positionals (free with ostel_args_free()),
 * otherwise *out is empty. argv is neither permuted nor modified.
 */
int ostel_options_parse_mixed(const struct ostel_command_help *cmd, const struct ostel_option *opts,
                              size_t nopts, int argc, char **argv, ostel_option_fn fn, void *ctx,
                              struct ostel_args *out);
/* Frees what ostel_options_parse_mixed() allocated (not the strings: they are argv's). */
void ostel_args_free(struct ostel_args *a);

/*
 * The same parser stopping at the first positional (`ostel fit`, `ostel parse`: options first):
 * *first_arg is the index of the first positional, or of the argument after "--", or argc.
 * Returns OSTEL_OPT_*.
 */
int ostel_options_parse(const struct ostel_command_help *cmd, const struct ostel_option *opts,
                        size_t nopts, int argc, char **argv, ostel_option_fn fn, void *ctx,
                        int *first_arg);
/* Writes the command's --help text to f. */
void ostel_options_print_help(FILE *f, const struct ostel_command_help *cmd,
                              const struct ostel_option *opts, size_t nopts);

/* Strict number parsing for option values; return false on junk, overflow or out-of-range. */
bool ostel_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out);
bool ostel_parse_f64(const char *s, double *out);
/* Parses "100ms", "2s", "1.5m", "250us" or a bare number of `default_unit_ns` into nanoseconds. */
bool ostel_parse_duration_ns(const char *s, uint64_t default_unit_ns, uint64_t *out);
/* Parses "512M", "8G", "1.5GiB", "4096" (bytes) into bytes. */
bool ostel_parse_size_bytes(const char *s, uint64_t *out);

#endif
