/*
 * cmd_hog: `ostel hog SPEC` — hold memory and/or keep CPUs busy until stopped (docs/hog.md).
 * Exit status: 0 after a clean stop (signal or --duration), 1 when the machine cannot give what was
 * asked, 2 for a malformed spec or option.
 */
#include "cmd/cmd.h"
#include "run/hog.h"
#include "util/opt.h"

#include <stdio.h>
#include <string.h>

enum { OPT_CYCLE = 'c', OPT_DURATION = 'd', OPT_RATE = 'r', OPT_READY = 'R' };

struct hog_args {
    struct ostel_hog_params params;
};

static const struct ostel_option hog_opts[] = {
    {OPT_CYCLE, "cycle", "D", NULL,
     "re-write every page once per D once full (default 5s; ignored with --rate)"},
    {OPT_DURATION, "duration", "D", "OSTEL_HOG_DURATION",
     "stop after D (30s, 5m, 1h); default: until SIGTERM/SIGINT/SIGHUP"},
    {OPT_RATE, "rate", "PAGES_PER_S", NULL,
     "pages re-written per second once full (default: every page each 5 s)"},
    {OPT_READY, "ready-file", "F", NULL,
     "write F (pid, rss) once the load is fully in place; removed at exit"},
};

static const struct ostel_command_help hog_help = {
    "hog", "SPEC [--duration D] [--rate PAGES_PER_S] [--ready-file F]",
    "make background load: hold memory, keep CPUs busy",
    "SPEC is a comma-separated list of:\n"
    "  mem:SIZE       hold SIZE of anonymous memory (512M, 4G, 1.5GiB)\n"
    "  mem:PCT%       hold PCT percent of the machine's RAM (MemTotal)\n"
    "  mem:PCT%avail  hold PCT percent of the memory available now (MemAvailable)\n"
    "  mem:avail-SIZE hold all the memory available now but SIZE (leave SIZE to others)\n"
    "  cpu:N          keep N threads busy\n"
    "e.g. 'ostel hog mem:4G,cpu:1'. A request above MemAvailable minus 256 MiB is refused.\n"
    "Prints 'hog: ready rss=... MiB' once every page is written; the pages are then rewritten\n"
    "continuously so the kernel cannot reclaim them quietly. Its OOM score is raised to 1000 so\n"
    "under pressure the kernel kills the hog, not the measured program.\n"
    "exit status: 0 stopped cleanly, 1 cannot hold the load, 2 usage error"};

static int on_option(void *ctx, int id, const char *arg, const char *source)
{
    struct hog_args *a = ctx;
    int64_t v;
    switch (id) {
    case OPT_DURATION:
        if (!ostel_parse_duration_ns(arg, 1000000000ull, &a->params.duration_ns) ||
            a->params.duration_ns == 0)
            return ostel_error("hog: bad %s '%s' (e.g. 30s, 5m)", source ? source : "--duration",
                               arg);
        return 0;
    case OPT_CYCLE:
        if (!ostel_parse_duration_ns(arg, 1000000000ull, &a->params.cycle_ns) ||
            a->params.cycle_ns < 100000000ull)
            return ostel_error("hog: --cycle needs a duration of at least 100ms (5s, 1m), not "
                               "'%s'",
                               arg);
        return 0;
    case OPT_RATE:
        if (!ostel_parse_i64(arg, 1, INT64_MAX, &v))
            return ostel_error("hog: --rate needs a positive number of pages per second, not "
                               "'%s'",
                               arg);
        a->params.rate_pages_s = (uint64_t)v;
        return 0;
    case OPT_READY:
        if (!*arg)
            return ostel_error("hog: --ready-file needs a file name");
        a->params.ready_file = arg;
        return 0;
    }
    return ostel_error("hog: unhandled option");
}

int ostel_cmd_hog(int argc, char **argv)
{
    struct hog_args a;
    memset(&a, 0, sizeof(a));
    struct ostel_args pos;
    int rc = ostel_options_parse_mixed(&hog_help, hog_opts, OSTEL_ARRAY_LEN(hog_opts), argc, argv,
                                       on_option, &a, &pos);
    if (rc == OSTEL_OPT_HELP)
        return OSTEL_EXIT_OK;
    if (rc == OSTEL_OPT_USAGE)
        return OSTEL_EXIT_USAGE;
    int n = pos.npos + pos.nrest;
    const char *spec_text = n ? pos.pos[0] : NULL;
    ostel_args_free(&pos);
    if (n > 1) {
        ostel_error("hog: one SPEC only (combine loads with a comma: mem:4G,cpu:1)");
        return OSTEL_EXIT_USAGE;
    }
    if (!spec_text) {
        ostel_error("hog: no SPEC (e.g. 'ostel hog mem:2G'; see 'ostel hog --help')");
        return OSTEL_EXIT_USAGE;
    }
    char err[256];
    struct ostel_hog_spec spec;
    if (ostel_hog_parse_spec(spec_text, &spec, err, sizeof(err)) != OSTEL_OK) {
        ostel_error("hog: %s", err);
        return OSTEL_EXIT_USAGE;
    }
    struct ostel_hog_meminfo mi;
    ostel_hog_read_meminfo(&mi);
    uint64_t bytes;
    bool checked;
    if (ostel_hog_resolve_mem(&spec, &mi, OSTEL_HOG_RESERVE_BYTES, &bytes, &checked, err,
                              sizeof(err)) != OSTEL_OK) {
        ostel_error("hog: %s", err);
        return OSTEL_EXIT_FAIL;
    }
    if (bytes && !checked)
        ostel_warn("hog: this system does not report available memory: %s is not checked",
                   spec.mem_text);
    return ostel_hog_run(&spec, bytes, &a.params, stdout) == OSTEL_OK ? OSTEL_EXIT_OK
                                                                      : OSTEL_EXIT_FAIL;
}
