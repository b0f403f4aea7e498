/*
 * opt: option tables to getopt_long, with OSTEL_* environment mirrors and generated --help.
 */
#include "util/opt.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define OPT_HELP_ID 0x10000

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

int ostel_options_parse(const struct ostel_command_help *cmd, const struct ostel_option *opts,
                        size_t nopts, int argc, char **argv, ostel_option_fn fn, void *ctx,
                        int *first_arg)
{
    struct option *lo = ostel_xcalloc(nopts + 2, sizeof(*lo));
    struct ostel_buf shorts;
    ostel_buf_init(&shorts, 0);
    ostel_buf_puts(&shorts, "+:h"); /* '+': stop at the first positional, like git */
    for (size_t i = 0; i < nopts; i++) {
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

    optind = 1;
    opterr = 0;
    while (rc == OSTEL_OPT_DONE) {
        int c = getopt_long(argc, argv, shorts.data, lo, NULL);
        if (c == -1)
            break;
        if (c == 'h' || c == OPT_HELP_ID) {
            ostel_options_print_help(stdout, cmd, opts, nopts);
            rc = OSTEL_OPT_HELP;
        } else if (c == '?') {
            if (optopt && optopt < 128 && isprint(optopt))
                ostel_error("%s: unknown option '-%c' (see 'ostel %s --help')", cmd->name, optopt,
                            cmd->name);
            else
                ostel_error("%s: unknown option '%s' (see 'ostel %s --help')", cmd->name,
                            argv[optind - 1], cmd->name);
            rc = OSTEL_OPT_USAGE;
        } else if (c == ':') {
            ostel_error("%s: option '%s' needs a value", cmd->name, argv[optind - 1]);
            rc = OSTEL_OPT_USAGE;
        } else if (fn(ctx, c, optarg, NULL) != 0) {
            rc = OSTEL_OPT_USAGE;
        }
    }
    *first_arg = optind;
    free(lo);
    ostel_buf_free(&shorts);
    return rc;
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

static bool parse_scaled(const char *s, const char *const *suffixes, const double *scales,
                         size_t n, double default_scale, double *out)
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
    if (!parse_scaled(s, suf, sc, OSTEL_ARRAY_LEN(suf), (double)default_unit_ns, &v) ||
        v >= 1.8e19)
        return false;
    *out = (uint64_t)v;
    return true;
}

bool ostel_parse_size_bytes(const char *s, uint64_t *out)
{
    static const char *const suf[] = {"b", "k", "kb", "kib", "m", "mb", "mib",
                                      "g", "gb", "gib", "t", "tb", "tib"};
    static const double sc[] = {1, 1024.0, 1024.0, 1024.0, 1048576.0, 1048576.0, 1048576.0,
                                1073741824.0, 1073741824.0, 1073741824.0, 1099511627776.0,
                                1099511627776.0, 1099511627776.0};
    double v;
    if (!parse_scaled(s, suf, sc, OSTEL_ARRAY_LEN(suf), 1.0, &v) || v >= 1.8e19)
        return false;
    *out = (uint64_t)v;
    return true;
}
