/*
 * opt: option tables to getopt_long, with OSTEL_* environment mirrors and generated --help. One
 * parser (parse_argv) serves both the commands that take options and positionals in any order and
 * those that stop at the first positional; the environment is applied once, before the command
 * line, so the command line wins.
 */
#include "util/opt.h"
#include "util/opt_doc.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define OPT_HELP_ID 0x10000
#define OPT_DUMP_ID 0x10001 /* hidden --dump-options=man|bash|zsh (util/opt_doc.h) */

void ostel_options_print_help(FILE *f, const struct ostel_command_help *cmd,
                              const struct ostel_option *opts, size_t nopts)
{
    fprintf(f, "usage: ostel %s %s\n\n%s\n\noptions:\n", cmd->name, cmd->usage, cmd->summary);
    for (size_t i = 0; i < nopts; i++) {
        const struct ostel_option *o = &opts[i];
        char left[96];
        int n;
        if (o->id > 0 && o->id < 128 && isalnum(o->id))
            n = snprintf(left, sizeof(left), "  -%c, --%s", o->id, o->name);
        else
            n = snprintf(left, sizeof(left), "      --%s", o->name);
        if (o->argname && n > 0 && (size_t)n < sizeof(left))
            snprintf(left + n, sizeof(left) - (size_t)n, " %s", o->argname);
        fprintf(f, "%-30s %s", left, o->help);
        if (o->env)
            fprintf(f, " [env %s]", o->env);
        fputc('\n', f);
    }
    fprintf(f, "%-30s %s\n", "  -h, --help", "show this help");
    if (cmd->details)
        fprintf(f, "\n%s\n", cmd->details);
}

/* getopt_long's '?' (unknown, or a value given to a flag) and ':' (value missing); elem is the
 * argument getopt was reading: "--name[=v]", or short options whose culprit is optopt. */
static void report_bad_option(const struct ostel_command_help *cmd, int c, const char *elem)
{
    bool is_long = elem[0] == '-' && elem[1] == '-';
    size_t n = is_long && strchr(elem, '=') ? (size_t)(strchr(elem, '=') - elem) : strlen(elem);
    char shopt[3] = {'-', (char)optopt, '\0'};
    const char *name = !is_long && optopt > 0 && optopt < 128 && isprint(optopt) ? shopt : elem;
    if (!is_long)
        n = strlen(name);
    if (c == ':')
        ostel_error("%s: option '%.*s' needs a value", cmd->name, (int)n, name);
    else if (is_long && optopt)
        ostel_error("%s: option '%.*s' takes no value", cmd->name, (int)n, name);
    else
        ostel_error("%s: unknown option '%s' (see 'ostel %s --help')", cmd->name, name, cmd->name);
}

/*
 * The one parser behind both entry points. getopt_long runs in RETURN_IN_ORDER mode ('-' first in
 * the short options): each positional comes back as option 1, in place, so argv is never permuted
 * and an option's value is never mistaken for a positional. getopt then returns -1 only at the end
 * or at "--". out == NULL: stop at the first positional (*first_arg = its index).
 */
static int parse_argv(const struct ostel_command_help *cmd, const struct ostel_option *opts,
                      size_t nopts, int argc, char **argv, ostel_option_fn fn, void *ctx,
                      struct ostel_args *out, int *first_arg)
{
    struct option *lo = ostel_xcalloc(nopts + 3, sizeof(*lo));
    struct ostel_buf shorts;
    ostel_buf_init(&shorts, 0);
    ostel_buf_puts(&shorts, "-:h"); /* '-': positionals in order; ':': report a missing value */
    for (size_t i = 0; i < nopts; i++) {
        OSTEL_ASSERT(opts[i].id != 1 && opts[i].id != 'h' && opts[i].id != ':' &&
                     opts[i].id != '?' && opts[i].id != OPT_HELP_ID && opts[i].id != OPT_DUMP_ID);
        lo[i].name = opts[i].name;
        lo[i].has_arg = opts[i].argname ? required_argument : no_argument;
        lo[i].val = opts[i].id;
        if (opts[i].id > 0 && opts[i].id < 128 && isalnum(opts[i].id)) {
            ostel_buf_putc(&shorts, (char)opts[i].id);
            if (opts[i].argname)
                ostel_buf_putc(&shorts, ':');
        }
    }
    lo[nopts].name = "help";
    lo[nopts].val = OPT_HELP_ID;
    lo[nopts + 1].name = "dump-options";
    lo[nopts + 1].has_arg = required_argument;
    lo[nopts + 1].val = OPT_DUMP_ID;

    /* The environment, once and before the command line, so that the command line wins. */
    int rc = OSTEL_OPT_DONE;
    for (size_t i = 0; i < nopts && rc == OSTEL_OPT_DONE; i++) {
        const char *v = opts[i].env ? getenv(opts[i].env) : NULL;
        if (!v || !*v)
            continue;
        if (!opts[i].argname && (strcmp(v, "0") == 0 || strcmp(v, "false") == 0))
            continue;
        if (fn(ctx, opts[i].id, opts[i].argname ? v : NULL, opts[i].env) != 0)
            rc = OSTEL_OPT_USAGE;
    }

    if (out) {
        memset(out, 0, sizeof(*out));
        out->pos = ostel_xcalloc((size_t)(argc > 0 ? argc : 0) + 1, sizeof(char *));
    }
    *first_arg = argc;
    optind = 0; /* 0, not 1: glibc re-reads the ordering flag only then (BSD: optreset) */
    opterr = 0;
    while (rc == OSTEL_OPT_DONE) {
        int next = optind ? optind : 1; /* the element getopt reads (a cluster: until its end) */
        int c = getopt_long(argc, argv, shorts.data, lo, NULL);
        if (c == -1) {
            if (next < argc && strcmp(argv[next], "--") == 0) { /* else: the end */
                *first_arg = next + 1;
                if (out) {
                    out->dashdash = true;
                    for (int i = next + 1; i < argc; i++)
                        out->pos[out->npos + out->nrest++] = argv[i];
                }
            }
            break;
        }
        if (c == 1) {
            if (!out) {
                *first_arg = optind - 1;
                break;
            }
            out->pos[out->npos++] = optarg;
        } else if (c == 'h' || c == OPT_HELP_ID) {
            ostel_options_print_help(stdout, cmd, opts, nopts);
            rc = OSTEL_OPT_HELP;
        } else if (c == OPT_DUMP_ID) {
            enum ostel_opt_doc fmt;
            if (ostel_opt_doc_parse_format(optarg, &fmt)) {
                ostel_opt_doc_write_command(stdout, fmt, cmd, opts, nopts);
                rc = OSTEL_OPT_HELP;
            } else {
                ostel_error("--dump-options: '%s' is not man, bash or zsh", optarg);
                rc = OSTEL_OPT_USAGE;
            }
        } else if (c == '?' || c == ':') {
            report_bad_option(cmd, c, argv[next]);
            rc = OSTEL_OPT_USAGE;
        } else if (fn(ctx, c, optarg, NULL) != 0) {
            rc = OSTEL_OPT_USAGE;
        }
    }
    if (out) {
        out->rest = out->pos + out->npos;
        if (rc != OSTEL_OPT_DONE)
            ostel_args_free(out);
    }
    free(lo);
    ostel_buf_free(&shorts);
    return rc;
}

int ostel_options_parse_mixed(const struct ostel_command_help *cmd, const struct ostel_option *opts,
                              size_t nopts, int argc, char **argv, ostel_option_fn fn, void *ctx,
                              struct ostel_args *out)
{
    int first;
    return parse_argv(cmd, opts, nopts, argc, argv, fn, ctx, out, &first);
}

void ostel_args_free(struct ostel_args *a)
{
    free(a->pos);
    memset(a, 0, sizeof(*a));
}

int ostel_options_parse(const struct ostel_command_help *cmd, const struct ostel_option *opts,
                        size_t nopts, int argc, char **argv, ostel_option_fn fn, void *ctx,
                        int *first_arg)
{
    return parse_argv(cmd, opts, nopts, argc, argv, fn, ctx, NULL, first_arg);
}

bool ostel_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
    if (!s || !*s)
        return false;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return false;
    *out = v;
    return true;
}

bool ostel_parse_f64(const char *s, double *out)
{
    if (!s || !*s)
        return false;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || !isfinite(v))
        return false;
    *out = v;
    return true;
}

static bool parse_scaled(const char *s, const char *const *suffixes, const double *scales, size_t n,
                         double default_scale, double *out)
{
    if (!s || !*s)
        return false;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || !isfinite(v) || v < 0)
        return false;
    while (*end == ' ')
        end++;
    double scale = default_scale;
    if (*end) {
        size_t i;
        for (i = 0; i < n; i++)
            if (strcasecmp(end, suffixes[i]) == 0)
                break;
        if (i == n)
            return false;
        scale = scales[i];
    }
    *out = v * scale;
    return true;
}

bool ostel_parse_duration_ns(const char *s, uint64_t default_unit_ns, uint64_t *out)
{
    static const char *const suf[] = {"ns", "us", "ms", "s", "m", "min", "h"};
    static const double sc[] = {1, 1e3, 1e6, 1e9, 60e9, 60e9, 3600e9};
    double v;
    if (!parse_scaled(s, suf, sc, OSTEL_ARRAY_LEN(suf), (double)default_unit_ns, &v) || v >= 1.8e19)
        return false;
    *out = (uint64_t)v;
    return true;
}

bool ostel_parse_size_bytes(const char *s, uint64_t *out)
{
    static const char *const suf[] = {"b", "k",  "kb",  "kib", "m",  "mb", "mib",
                                      "g", "gb", "gib", "t",   "tb", "tib"};
    static const double sc[] = {1,
                                1024.0,
                                1024.0,
                                1024.0,
                                1048576.0,
                                1048576.0,
                                1048576.0,
                                1073741824.0,
                                1073741824.0,
                                1073741824.0,
                                1099511627776.0,
                                1099511627776.0,
                                1099511627776.0};
    double v;
    if (!parse_scaled(s, suf, sc, OSTEL_ARRAY_LEN(suf), 1.0, &v) || v >= 1.8e19)
        return false;
    *out = (uint64_t)v;
    return true;
}
