/*
 * report: the analysis behind every output format of `ostel report`. It groups a run set, computes
 * each group's statistics over its successful runs, compares every group with the baseline, fits
 * trends over successive runs and turns what it finds into notes and an interpretation — all from
 * the data, with no I/O, so Markdown, CSV, JSON and HTML say the same things. The thresholds are
 * named constants below and documented in docs/report.md.
 *
 * It also holds each run's memory prediction (ostel fit's model, in summary.json) against what
 * llama.cpp measured, per group, context and device, and sweeps the memory model over contexts
 * for each group whose model file is readable. Reading those GGUF headers is the analysis's only
 * I/O, kept in one step (read_models) before the pure part; the memory model is arithmetic.
 */
#include "report/report.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "llama/ggml_types.h"
#include "llama/gguf.h"
#include "util/fileio.h"

/* Thresholds of the notes (docs/report.md, "Warnings"). */
#define COLD_SLOWER 1.20    /* first run's duration vs the median of the rest */
#define NOISY_CV 0.10       /* coefficient of variation of generation speed */
#define HEAVY_PAGES 25600.0 /* pages swapped out, or in + out: 100 MiB of 4 KiB pages */
#define HEAVY_MAJFLT 1000.0 /* major faults during inference */
#define LOW_AVAIL_PCT 10.0  /* lowest available memory */
#define RSS_SHORT_FRACTION                                                                         \
    0.9 /* peak RSS below this share of llama.cpp's total: not all resident */
#define SIGNIFICANCE 0.05

static const struct ostel_report_metric_info metric_info[OSTEL_REPORT_NMETRIC] = {
    [OSTEL_REPORT_M_PROMPT_TPS] = {"prompt_tps", "Prompt TPS", "tok/s", OSTEL_REPORT_BETTER_HIGH,
                                   OSTEL_REPORT_AGG_MEAN, 2, true},
    [OSTEL_REPORT_M_GEN_TPS] = {"gen_tps", "Generation TPS", "tok/s", OSTEL_REPORT_BETTER_HIGH,
                                OSTEL_REPORT_AGG_MEAN, 2, true},
    [OSTEL_REPORT_M_WALL_S] = {"duration_s", "Duration (s)", "s", OSTEL_REPORT_BETTER_LOW,
                               OSTEL_REPORT_AGG_MEAN, 2, true},
    [OSTEL_REPORT_M_DEV_USED_MIB] = {"device_used_mib", "Used (MiB)", "MiB",
                                     OSTEL_REPORT_BETTER_LOW, OSTEL_REPORT_AGG_MEDIAN, 0, true},
    [OSTEL_REPORT_M_MODEL_MIB] = {"model_mib", "Model (MiB)", "MiB", OSTEL_REPORT_BETTER_LOW,
                                  OSTEL_REPORT_AGG_MEDIAN, 0, false},
    [OSTEL_REPORT_M_CONTEXT_MIB] = {"context_mib", "Context (MiB)", "MiB", OSTEL_REPORT_BETTER_LOW,
                                    OSTEL_REPORT_AGG_MEDIAN, 0, false},
    [OSTEL_REPORT_M_COMPUTE_MIB] = {"compute_mib", "Compute (MiB)", "MiB", OSTEL_REPORT_BETTER_LOW,
                                    OSTEL_REPORT_AGG_MEDIAN, 0, false},
    [OSTEL_REPORT_M_HOST_MIB] = {"host_mib", "Host (MiB)", "MiB", OSTEL_REPORT_BETTER_LOW,
                                 OSTEL_REPORT_AGG_MEDIAN, 0, false},
    [OSTEL_REPORT_M_RSS_PEAK_MIB] = {"rss_peak_mib", "Peak RSS (MiB)", "MiB",
                                     OSTEL_REPORT_BETTER_LOW, OSTEL_REPORT_AGG_MAX, 0, true},
    [OSTEL_REPORT_M_CPU_MEAN_PCT] = {"cpu_mean_pct", "Mean CPU %", "%", OSTEL_REPORT_BETTER_NONE,
                                     OSTEL_REPORT_AGG_MEAN, 0, false},
    [OSTEL_REPORT_M_PAGEINS] = {"pageins", "Pageins", "pages", OSTEL_REPORT_BETTER_LOW,
                                OSTEL_REPORT_AGG_MEAN, 0, false},
    [OSTEL_REPORT_M_PAGEOUTS] = {"pageouts", "Pageouts", "pages", OSTEL_REPORT_BETTER_LOW,
                                 OSTEL_REPORT_AGG_MEAN, 0, false},
    [OSTEL_REPORT_M_MAJFLT] = {"majflt", "Major faults", "faults", OSTEL_REPORT_BETTER_LOW,
                               OSTEL_REPORT_AGG_MEAN, 0, false},
    [OSTEL_REPORT_M_PRESSURE_WORST] = {"pressure_worst", "Worst pressure", "",
                                       OSTEL_REPORT_BETTER_LOW, OSTEL_REPORT_AGG_MAX, 0, false},
    [OSTEL_REPORT_M_AVAIL_MIN_PCT] = {"avail_min_pct", "Lowest available %", "%",
                                      OSTEL_REPORT_BETTER_HIGH, OSTEL_REPORT_AGG_MIN, 1, false},
    [OSTEL_REPORT_M_RSS_ANON_PEAK_MIB] = {"rss_anon_peak_mib", "Peak anon (MiB)", "MiB",
                                          OSTEL_REPORT_BETTER_LOW, OSTEL_REPORT_AGG_MAX, 0, false},
    [OSTEL_REPORT_M_RSS_FILE_PEAK_MIB] = {"rss_file_peak_mib", "Peak file (MiB)", "MiB",
                                          OSTEL_REPORT_BETTER_NONE, OSTEL_REPORT_AGG_MAX, 0, false},
    [OSTEL_REPORT_M_GPU_DEV_PEAK_MIB] = {"gpu_device_peak_mib", "GPU device peak (MiB)", "MiB",
                                         OSTEL_REPORT_BETTER_LOW, OSTEL_REPORT_AGG_MEAN, 0, true},
    [OSTEL_REPORT_M_GPU_PROC_PEAK_MIB] = {"gpu_process_peak_mib", "GPU process peak (MiB)", "MiB",
                                          OSTEL_REPORT_BETTER_LOW, OSTEL_REPORT_AGG_MEAN, 0, true},
    [OSTEL_REPORT_M_GPU_LLAMA_MIB] = {"gpu_llama_mib", "llama.cpp on GPU (MiB)", "MiB",
                                      OSTEL_REPORT_BETTER_LOW, OSTEL_REPORT_AGG_MEAN, 0, false},
    [OSTEL_REPORT_M_GPU_BEYOND_MIB] = {"gpu_beyond_llama_mib", "Beyond llama.cpp (MiB)", "MiB",
                                       OSTEL_REPORT_BETTER_LOW, OSTEL_REPORT_AGG_MEAN, 0, false},
    [OSTEL_REPORT_M_GPU_POWER_PEAK_W] = {"gpu_power_peak_w", "GPU peak power (W)", "W",
                                         OSTEL_REPORT_BETTER_NONE, OSTEL_REPORT_AGG_MEAN, 1, false},
    [OSTEL_REPORT_M_GPU_GEN_POWER_W] = {"gpu_generate_power_w", "GPU power, generate (W)", "W",
                                        OSTEL_REPORT_BETTER_LOW, OSTEL_REPORT_AGG_MEAN, 1, true},
    [OSTEL_REPORT_M_GPU_J_PER_TOKEN] = {"gpu_j_per_token", "Energy per token (J)", "J/token",
                                        OSTEL_REPORT_BETTER_LOW, OSTEL_REPORT_AGG_MEAN, 3, true},
    [OSTEL_REPORT_M_GPU_TOKENS_PER_J] = {"gpu_tokens_per_j", "Tokens per joule", "tok/J",
                                         OSTEL_REPORT_BETTER_HIGH, OSTEL_REPORT_AGG_MEAN, 3, true},
};

bool ostel_report_metric_is_gpu(int metric)
{
    return metric >= OSTEL_REPORT_M_GPU_FIRST && metric < OSTEL_REPORT_NMETRIC;
}

const struct ostel_report_metric_info *ostel_report_metric_info(int metric)
{
    OSTEL_ASSERT(metric >= 0 && metric < OSTEL_REPORT_NMETRIC);
    return &metric_info[metric];
}

static const struct {
    const char *name;
    int metric;
} trends[OSTEL_REPORT_NTREND] = {
    [OSTEL_REPORT_TREND_RSS] = {"peak RSS", OSTEL_REPORT_M_RSS_PEAK_MIB},
    [OSTEL_REPORT_TREND_PAGEINS] = {"pageins", OSTEL_REPORT_M_PAGEINS},
    [OSTEL_REPORT_TREND_PAGEOUTS] = {"pageouts", OSTEL_REPORT_M_PAGEOUTS},
    [OSTEL_REPORT_TREND_MAJFLT] = {"major faults", OSTEL_REPORT_M_MAJFLT},
};

const char *ostel_report_trend_name(int t)
{
    OSTEL_ASSERT(t >= 0 && t < OSTEL_REPORT_NTREND);
    return trends[t].name;
}

int ostel_report_trend_metric(int t)
{
    OSTEL_ASSERT(t >= 0 && t < OSTEL_REPORT_NTREND);
    return trends[t].metric;
}

static const struct {
    const char *name;
    unsigned bit;
} group_keys[] = {{"tag", OSTEL_REPORT_BY_TAG},           {"model", OSTEL_REPORT_BY_MODEL},
                  {"ctx", OSTEL_REPORT_BY_CTX},           {"gen", OSTEL_REPORT_BY_GEN},
                  {"scenario", OSTEL_REPORT_BY_SCENARIO}, {"host", OSTEL_REPORT_BY_HOST}};

bool ostel_report_parse_group_by(const char *s, unsigned *out)
{
    unsigned bits = 0;
    struct ostel_str rest = ostel_str_from_cstr(s);
    while (rest.n > 0) {
        long comma = ostel_str_find(rest, ",");
        size_t n = comma < 0 ? rest.n : (size_t)comma;
        struct ostel_str key = ostel_str_trim(ostel_str_make(rest.p, n));
        bool found = false;
        for (size_t i = 0; i < OSTEL_ARRAY_LEN(group_keys); i++)
            if (ostel_str_eq(key, group_keys[i].name)) {
                bits |= group_keys[i].bit;
                found = true;
            }
        if (!found)
            return false;
        rest = comma < 0 ? ostel_str_make(rest.p + rest.n, 0)
                         : ostel_str_make(rest.p + n + 1, rest.n - n - 1);
    }
    if (!bits)
        return false;
    *out = bits;
    return true;
}

/* The model's file name without its directory. */
static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static char *group_label(const struct ostel_report_run *r, unsigned by)
{
    struct ostel_buf b;
    ostel_buf_init(&b, 4096);
    const char *sep = "";
    if (by & OSTEL_REPORT_BY_HOST) {
        ostel_buf_printf(&b, "%s%s", sep, *r->host ? r->host : "(unknown host)");
        sep = " · ";
    }
    if (by & OSTEL_REPORT_BY_TAG) {
        ostel_buf_printf(&b, "%s%s", sep, *r->tag ? r->tag : "(untagged)");
        sep = " · ";
    }
    if (by & OSTEL_REPORT_BY_MODEL) {
        ostel_buf_printf(&b, "%s%s", sep, *r->model ? base_name(r->model) : "(no model)");
        sep = " · ";
    }
    if (by & OSTEL_REPORT_BY_CTX) {
        if (r->ctx >= 0)
            ostel_buf_printf(&b, "%sctx %lld", sep, r->ctx);
        else
            ostel_buf_printf(&b, "%sctx ?", sep);
        sep = " · ";
    }
    if (by & OSTEL_REPORT_BY_GEN) {
        if (r->gen >= 0)
            ostel_buf_printf(&b, "%sgen %lld", sep, r->gen);
        else
            ostel_buf_printf(&b, "%sgen ?", sep);
        sep = " · ";
    }
    if (by & OSTEL_REPORT_BY_SCENARIO)
        ostel_buf_printf(&b, "%s%s", sep, *r->scenario ? r->scenario : "none");
    return ostel_buf_detach(&b);
}

/* ---- notes ---- */

static void add_note(struct ostel_report_group *g, int kind, char *brief, char *text)
{
    g->notes = ostel_xrealloc(g->notes, (g->nnotes + 1) * sizeof(*g->notes));
    g->notes[g->nnotes].kind = kind;
    g->notes[g->nnotes].brief = brief;
    g->notes[g->nnotes].text = text;
    g->nnotes++;
}

static const char *pressure_word(double p)
{
    if (isnan(p))
        return "unknown";
    if (p >= 4)
        return "critical";
    if (p >= 2)
        return "warning";
    return "normal";
}

/* Values of one metric over the group's ok runs, in start order; the caller frees. */
static double *ok_values(const struct ostel_report_set *set, const struct ostel_report_group *g,
                         int metric, const struct ostel_report_run ***runs_out)
{
    double *v = ostel_xmalloc((g->n ? g->n : 1) * sizeof(*v));
    const struct ostel_report_run **runs = ostel_xmalloc((g->n ? g->n : 1) * sizeof(*runs));
    size_t k = 0;
    for (size_t i = 0; i < g->n; i++) {
        const struct ostel_report_run *r = &set->runs[g->runs[i]];
        if (!r->ok)
            continue;
        runs[k] = r;
        v[k++] = r->metric[metric];
    }
    if (runs_out)
        *runs_out = runs;
    else
        free(runs);
    return v;
}

static bool group_has_note(const struct ostel_report_group *g, int kind);

static size_t count_flags(const bool *f, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += f[i];
    return k;
}

static void note_failed(const struct ostel_report_set *set, struct ostel_report_group *g)
{
    size_t failed = g->n - g->n_ok;
    if (!failed)
        return;
    struct ostel_buf b;
    ostel_buf_init(&b, 1 << 16);
    ostel_buf_printf(&b, "%zu of %zu runs did not finish:", failed, g->n);
    const char *sep = " ";
    for (size_t i = 0; i < g->n; i++) {
        const struct ostel_report_run *r = &set->runs[g->runs[i]];
        if (r->ok)
            continue;
        ostel_buf_printf(&b, "%s%s (%s", sep, r->name, *r->status ? r->status : "no status");
        if (r->oom_killed)
            ostel_buf_puts(&b, ", killed by the OOM killer");
        else if (*r->signal)
            ostel_buf_printf(&b, ", %s", r->signal);
        else if (r->exit_code > 0)
            ostel_buf_printf(&b, ", exit code %lld", r->exit_code);
        ostel_buf_putc(&b, ')');
        sep = ", ";
    }
    ostel_buf_puts(&b, "; they are left out of the statistics");
    if (g->n_ok == 0)
        ostel_buf_puts(&b, " (no run of this group succeeded)");
    add_note(g, OSTEL_REPORT_NOTE_FAILED, ostel_xasprintf("%zu/%zu failed", failed, g->n),
             ostel_buf_detach(&b));
}

static void note_memory(const struct ostel_report_set *set, struct ostel_report_group *g)
{
    size_t missing = 0;
    for (size_t i = 0; i < g->n; i++) {
        const struct ostel_report_run *r = &set->runs[g->runs[i]];
        missing += r->ok && !r->has_memory;
    }
    if (!missing)
        return;
    add_note(g, OSTEL_REPORT_NOTE_NO_MEMORY, ostel_xstrdup("no memory table"),
             ostel_xasprintf("%zu of %zu successful runs printed neither llama.cpp's memory "
                             "breakdown nor its buffer sizes: their memory columns are empty and "
                             "only RSS describes their memory",
                             missing, g->n_ok));
}

#define OUTLIERS_NAMED_MAX 10 /* outliers named in a note; the rest are counted */

static void note_outliers(const struct ostel_report_set *set, struct ostel_report_group *g)
{
    static const int ms[] = {OSTEL_REPORT_M_GEN_TPS, OSTEL_REPORT_M_PROMPT_TPS,
                             OSTEL_REPORT_M_WALL_S};
    for (size_t k = 0; k < OSTEL_ARRAY_LEN(ms); k++) {
        const struct ostel_report_run **runs;
        double *v = ok_values(set, g, ms[k], &runs);
        bool *flag = ostel_xcalloc(g->n_ok ? g->n_ok : 1, sizeof(*flag));
        double *z = ostel_xcalloc(g->n_ok ? g->n_ok : 1, sizeof(*z));
        if (ostel_stats_outliers(v, g->n_ok, flag, z) > 0 &&
            !(group_has_note(g, OSTEL_REPORT_NOTE_COLD) && count_flags(flag, g->n_ok) == flag[0])) {
            const struct ostel_report_metric_info *mi = &metric_info[ms[k]];
            struct ostel_buf b, brief;
            ostel_buf_init(&b, 1 << 16);
            ostel_buf_init(&brief, 4096);
            ostel_buf_printf(&brief, "outlier (%s):", mi->key);
            const char *sep = " ";
            /* A cold first run already has its own note. */
            if (group_has_note(g, OSTEL_REPORT_NOTE_COLD))
                flag[0] = false;
            /* Named one by one up to a few; a study of thousands of runs gets a count. */
            size_t named = 0, more = 0;
            for (size_t i = 0; i < g->n_ok; i++) {
                if (!flag[i])
                    continue;
                if (named == OUTLIERS_NAMED_MAX) {
                    more++;
                    continue;
                }
                named++;
                char num[48];
                ostel_report_fmt_num(v[i], mi->decimals, num, sizeof(num));
                ostel_buf_printf(&brief, "%s%s", sep, runs[i]->name);
                ostel_buf_printf(&b, "%s of run %s (%s %s) is an outlier against the median %.*f",
                                 mi->label, runs[i]->name, num, mi->unit, mi->decimals,
                                 g->stat[ms[k]].median);
                if (!isnan(z[i]))
                    ostel_buf_printf(&b, " (modified z-score %.1f; the limit is %.1f)", z[i],
                                     OSTEL_STATS_OUTLIER_Z);
                else
                    ostel_buf_puts(&b, " (outside Tukey's fences)");
                ostel_buf_puts(&b, ". ");
                sep = ", ";
            }
            if (more) {
                ostel_buf_printf(&brief, " and %zu more", more);
                ostel_buf_printf(&b, "%zu more run%s of this group %s too. ", more,
                                 more == 1 ? "" : "s",
                                 more == 1 ? "is an outlier" : "are outliers");
            }
            ostel_buf_puts(&b, "Something else may have used the machine then: rerun on a quiet "
                               "system, or keep it out with more repetitions");
            add_note(g, OSTEL_REPORT_NOTE_OUTLIER, ostel_buf_detach(&brief), ostel_buf_detach(&b));
        }
        free(v);
        free(runs);
        free(flag);
        free(z);
    }
}

static double median_of(const double *v, size_t n)
{
    struct ostel_stats_summary s;
    ostel_stats_summarize(v, n, &s);
    return s.median;
}

static void note_cold(const struct ostel_report_set *set, struct ostel_report_group *g)
{
    if (g->n_ok < 3)
        return;
    const struct ostel_report_run **runs;
    double *wall = ok_values(set, g, OSTEL_REPORT_M_WALL_S, &runs);
    double *pp = ok_values(set, g, OSTEL_REPORT_M_PROMPT_TPS, NULL);
    double *pin = ok_values(set, g, OSTEL_REPORT_M_PAGEINS, NULL);
    double rest_wall = median_of(wall + 1, g->n_ok - 1);
    double rest_pp = median_of(pp + 1, g->n_ok - 1);
    double rest_max = -INFINITY, rest_pp_min = INFINITY;
    for (size_t i = 1; i < g->n_ok; i++) {
        if (!isnan(wall[i]) && wall[i] > rest_max)
            rest_max = wall[i];
        if (!isnan(pp[i]) && pp[i] < rest_pp_min)
            rest_pp_min = pp[i];
    }
    bool slow_wall = !isnan(wall[0]) && !isnan(rest_wall) && wall[0] > COLD_SLOWER * rest_wall &&
                     wall[0] > rest_max;
    bool slow_pp =
        !isnan(pp[0]) && !isnan(rest_pp) && pp[0] * COLD_SLOWER < rest_pp && pp[0] < rest_pp_min;
    if (slow_wall || slow_pp) {
        struct ostel_buf b;
        ostel_buf_init(&b, 1 << 16);
        ostel_buf_printf(&b, "The first run (%s) was much slower than the rest:", runs[0]->name);
        if (slow_wall)
            ostel_buf_printf(&b, " %.2f s against a median of %.2f s (+%.0f%%)", wall[0], rest_wall,
                             100 * (wall[0] / rest_wall - 1));
        if (slow_wall && slow_pp)
            ostel_buf_puts(&b, ",");
        if (slow_pp)
            ostel_buf_printf(&b, " prompt %.2f tok/s against %.2f", pp[0], rest_pp);
        double rest_pin = median_of(pin + 1, g->n_ok - 1);
        if (!isnan(pin[0]) && !isnan(rest_pin) && pin[0] > 2 * rest_pin)
            ostel_buf_printf(&b, ", and it read %.0f pages from disk against %.0f", pin[0],
                             rest_pin);
        ostel_buf_puts(&b, ". The model file was probably not in the page cache yet (a cold "
                           "start). Add a warm-up run before the measured ones, or leave the "
                           "first repetition out");
        add_note(g, OSTEL_REPORT_NOTE_COLD, ostel_xstrdup("cold first run"), ostel_buf_detach(&b));
    }
    free(wall);
    free(pp);
    free(pin);
    free(runs);
}

static void note_noisy(struct ostel_report_group *g)
{
    const struct ostel_stats_summary *s = &g->stat[OSTEL_REPORT_M_GEN_TPS];
    if (s->n < 3 || isnan(s->cv) || s->cv <= NOISY_CV)
        return;
    add_note(g, OSTEL_REPORT_NOTE_NOISY, ostel_xasprintf("noisy (CV %.0f%%)", 100 * s->cv),
             ostel_xasprintf("Generation speed varies by %.0f%% (coefficient of variation) across "
                             "%zu runs: differences smaller than that are not meaningful; close "
                             "other programs, pin the power mode, and add repetitions",
                             100 * s->cv, s->n));
}

/*
 * Paging of a run while it was inferring (prompt + generate phases, or the whole run when it has no
 * phases). The run's own major faults are the evidence; system-wide swap-outs count too (the kernel
 * swaps only when short of memory). System-wide pageins/pageouts decide only where major faults are
 * not available: on Linux they include every file read and write on the machine.
 */
static bool inference_paging(const struct ostel_report_run *r, double *majflt, double *swapouts,
                             double *pages)
{
    const int ph[] = {OSTEL_REPORT_PHASE_PROMPT, OSTEL_REPORT_PHASE_GENERATE};
    *majflt = *swapouts = *pages = NAN;
    bool phased = r->phase_present[OSTEL_REPORT_PHASE_PROMPT] ||
                  r->phase_present[OSTEL_REPORT_PHASE_GENERATE];
    for (size_t i = 0; i < (phased ? OSTEL_ARRAY_LEN(ph) : 1); i++) {
        const double *t = r->tel[phased ? ph[i] : OSTEL_REPORT_PHASE_ALL];
        double in = t[OSTEL_REPORT_TEL_PAGEINS], out = t[OSTEL_REPORT_TEL_PAGEOUTS];
        if (!isnan(in) || !isnan(out))
            *pages = (isnan(*pages) ? 0 : *pages) + (isnan(in) ? 0 : in) + (isnan(out) ? 0 : out);
        if (!isnan(t[OSTEL_REPORT_TEL_MAJFLT]))
            *majflt = (isnan(*majflt) ? 0 : *majflt) + t[OSTEL_REPORT_TEL_MAJFLT];
        if (!isnan(t[OSTEL_REPORT_TEL_SWAPOUTS]))
            *swapouts = (isnan(*swapouts) ? 0 : *swapouts) + t[OSTEL_REPORT_TEL_SWAPOUTS];
    }
    if (!isnan(*majflt))
        return *majflt >= HEAVY_MAJFLT || (!isnan(*swapouts) && *swapouts >= HEAVY_PAGES);
    return !isnan(*pages) && *pages >= HEAVY_PAGES;
}

static void note_paging(const struct ostel_report_set *set, struct ostel_report_group *g)
{
    size_t heavy = 0, counted = 0;
    double worst_flt = NAN, worst_swap = NAN, worst_pages = NAN;
    for (size_t i = 0; i < g->n; i++) {
        const struct ostel_report_run *r = &set->runs[g->runs[i]];
        if (!r->ok)
            continue;
        double flt, swp, pages;
        bool h = inference_paging(r, &flt, &swp, &pages);
        if (isnan(flt) && isnan(pages))
            continue;
        counted++;
        if (!h)
            continue;
        heavy++;
        if (!isnan(flt) && !(flt <= worst_flt))
            worst_flt = flt;
        if (!isnan(swp) && !(swp <= worst_swap))
            worst_swap = swp;
        if (!isnan(pages) && !(pages <= worst_pages))
            worst_pages = pages;
    }
    if (heavy) {
        struct ostel_buf b;
        ostel_buf_init(&b, 4096);
        ostel_buf_printf(&b, "%zu of %zu runs paged heavily while inferring (", heavy, counted);
        if (!isnan(worst_flt))
            ostel_buf_printf(&b, "up to %.0f major faults", worst_flt);
        if (!isnan(worst_swap) && worst_swap > 0)
            ostel_buf_printf(&b, ", %.0f pages swapped out", worst_swap);
        if (isnan(worst_flt))
            ostel_buf_printf(&b, "up to %.0f pages in and out", worst_pages);
        ostel_buf_puts(&b, "): the model and its context did not stay in memory, so tokens/s "
                           "measures the disk. Use a smaller context or quantization, or free "
                           "memory");
        add_note(g, OSTEL_REPORT_NOTE_PAGING, ostel_xstrdup("paged heavily"), ostel_buf_detach(&b));
    }
    double worst = g->value[OSTEL_REPORT_M_PRESSURE_WORST];
    double avail = g->value[OSTEL_REPORT_M_AVAIL_MIN_PCT];
    bool pressed = !isnan(worst) && worst >= 2;
    bool low = !isnan(avail) && avail < LOW_AVAIL_PCT;
    if (pressed || low) {
        struct ostel_buf b;
        ostel_buf_init(&b, 4096);
        if (pressed)
            ostel_buf_printf(&b, "Memory pressure reached %s", pressure_word(worst));
        if (low)
            ostel_buf_printf(&b, "%s available memory fell to %.1f%%", pressed ? ";" : "The",
                             avail);
        ostel_buf_puts(&b, ": the system was short of memory and reclaimed pages from other "
                           "programs or from the model");
        add_note(g, OSTEL_REPORT_NOTE_PRESSURE,
                 pressed ? ostel_xasprintf("pressure: %s", pressure_word(worst))
                         : ostel_xasprintf("low memory: %.1f%%", avail),
                 ostel_buf_detach(&b));
    }
}

static bool group_has_note(const struct ostel_report_group *g, int kind)
{
    for (size_t i = 0; i < g->nnotes; i++)
        if (g->notes[i].kind == kind)
            return true;
    return false;
}

/* Apple GPUs share the system's RAM. */
static bool device_is_unified(const char *dev)
{
    return strncmp(dev, "Metal", 5) == 0 || strncmp(dev, "MTL", 3) == 0;
}

static void interpret(struct ostel_report_group *g)
{
    double rss = g->value[OSTEL_REPORT_M_RSS_PEAK_MIB];
    double used = g->value[OSTEL_REPORT_M_DEV_USED_MIB];
    double host = g->value[OSTEL_REPORT_M_HOST_MIB];
    double model = g->value[OSTEL_REPORT_M_MODEL_MIB], ctx = g->value[OSTEL_REPORT_M_CONTEXT_MIB];
    double compute = g->value[OSTEL_REPORT_M_COMPUTE_MIB];
    double anon = g->value[OSTEL_REPORT_M_RSS_ANON_PEAK_MIB];
    double file = g->value[OSTEL_REPORT_M_RSS_FILE_PEAK_MIB];
    double proc = g->value[OSTEL_REPORT_M_GPU_PROC_PEAK_MIB];
    double beyond = g->value[OSTEL_REPORT_M_GPU_BEYOND_MIB];
    g->plan_mib = NAN;
    g->plan_basis = NULL;
    if (g->n_ok == 0 || (isnan(rss) && isnan(used)))
        return;
    struct ostel_buf b;
    ostel_buf_init(&b, 1 << 16);
    bool cpu = !*g->device || strcmp(g->device, "CPU") == 0;
    if (isnan(used)) {
        ostel_buf_printf(&b,
                         "Only RSS is known: peak %.0f MiB. RSS counts only the pages the CPU "
                         "has resident, so GPU allocations and model pages that were mapped "
                         "but not resident are missing from it: take it as a lower bound.",
                         rss);
        g->plan_mib = rss;
        g->plan_basis = "peak RSS";
    } else if (!cpu) {
        double total = used + (isnan(host) ? 0 : host);
        ostel_buf_printf(&b,
                         "llama.cpp accounts %.0f MiB on %s (model %.0f + context %.0f + "
                         "compute %.0f)",
                         used, g->device, model, ctx, compute);
        if (!isnan(host))
            ostel_buf_printf(&b, " and %.0f MiB on the host", host);
        if (!isnan(rss))
            ostel_buf_printf(&b, "; peak RSS was %.0f MiB", rss);
        ostel_buf_puts(&b, ". RSS counts only CPU-visible resident pages: memory that llama.cpp "
                           "allocated on the GPU is not in it.");
        if (device_is_unified(g->device))
            ostel_buf_printf(&b,
                             " On Apple silicon the GPU uses the same RAM: plan for %.0f MiB "
                             "of RAM in total (llama.cpp's breakdown), which must stay under "
                             "Metal's recommended working set.",
                             total);
        else if (isnan(proc))
            ostel_buf_printf(&b,
                             " For capacity planning use llama.cpp's breakdown: %.0f MiB must "
                             "fit in %s's memory%s.",
                             used, g->device, isnan(host) ? "" : ", plus the host part in RAM");
        if (!device_is_unified(g->device) && !isnan(rss)) {
            ostel_buf_puts(&b, " With the model on the GPU, the host's RSS is mostly file-backed "
                               "pages of the mmap'd GGUF (metrics.csv's rss_file_mb): page cache, "
                               "reclaimable, and gone with --no-mmap, which allocates the host "
                               "copy only while loading; rss_anon_mb is the process's own.");
            if (!isnan(anon) && !isnan(file))
                ostel_buf_printf(&b,
                                 " Here the anonymous part peaked at %.0f MiB (the RAM the "
                                 "process needs) and the file-backed part at %.0f MiB.",
                                 anon, file);
        }
        g->plan_mib = device_is_unified(g->device) ? total : used;
        g->plan_basis = "llama.cpp breakdown";
        if (!device_is_unified(g->device) && !isnan(proc)) {
            ostel_buf_printf(&b, " NVML measured the process at %.0f MiB on the GPU at its peak",
                             proc);
            if (!isnan(beyond))
                ostel_buf_printf(&b,
                                 ", %.0f MiB beyond llama.cpp's own accounting (the CUDA "
                                 "context, cuBLAS workspaces, allocator slack)",
                                 beyond);
            ostel_buf_printf(
                &b, ". For capacity planning that is what must fit in %s's memory: %.0f MiB%s.",
                g->device, proc, isnan(host) ? "" : ", plus the host part in RAM");
            g->plan_mib = proc;
            g->plan_basis = "NVML process peak";
        }
    } else {
        if (isnan(rss)) {
            ostel_buf_printf(&b,
                             "llama.cpp accounts %.0f MiB (model %.0f + context %.0f + compute "
                             "%.0f); no RSS was sampled. Plan with llama.cpp's total.",
                             used, model, ctx, compute);
            g->plan_mib = used;
            g->plan_basis = "llama.cpp breakdown";
        } else if (rss < RSS_SHORT_FRACTION * used) {
            ostel_buf_printf(&b,
                             "Peak RSS (%.0f MiB) stayed %.0f MiB below llama.cpp's total "
                             "(%.0f MiB: model %.0f + context %.0f + compute %.0f): RSS counts "
                             "only resident pages, and part of the memory-mapped model or of "
                             "the allocated buffers was never touched or was evicted. Plan "
                             "with llama.cpp's total, %.0f MiB: with less, the model pages "
                             "from disk once it is all in use.",
                             rss, used - rss, used, model, ctx, compute, used);
            g->plan_mib = used;
            g->plan_basis = "llama.cpp breakdown";
        } else {
            ostel_buf_printf(&b,
                             "Peak RSS (%.0f MiB) covers llama.cpp's total (%.0f MiB: model "
                             "%.0f + context %.0f + compute %.0f) plus %.0f MiB of runtime "
                             "overhead. Plan with the peak RSS, %.0f MiB.",
                             rss, used, model, ctx, compute, rss > used ? rss - used : 0, rss);
            g->plan_mib = rss;
            g->plan_basis = "peak RSS";
        }
    }
    if ((cpu || device_is_unified(g->device)) && !isnan(anon) && !isnan(file))
        ostel_buf_printf(&b,
                         " Of the RSS, the anonymous part (the process's own memory: heap and "
                         "llama.cpp's buffers) peaked at %.0f MiB and the file-backed part (pages "
                         "of the mmap'd model file: page cache, reclaimable, and not there with "
                         "--no-mmap, which copies the model into anonymous memory instead) at "
                         "%.0f MiB.",
                         anon, file);
    if (group_has_note(g, OSTEL_REPORT_NOTE_PAGING) ||
        group_has_note(g, OSTEL_REPORT_NOTE_PRESSURE))
        ostel_buf_puts(&b, " These runs paged or met memory pressure: the machine had less free "
                           "memory than they needed, and their speed reflects it.");
    g->interpretation = ostel_buf_detach(&b);
}

/* ---- prediction against measurement ---- */

static const char *const part_names[OSTEL_REPORT_NPARTS] = {"model", "context", "compute",
                                                            "output"};

const char *ostel_report_part_name(int part)
{
    OSTEL_ASSERT(part >= 0 && part < OSTEL_REPORT_NPARTS);
    return part_names[part];
}

double ostel_report_part_bar_pct(int part)
{
    switch (part) {
    case OSTEL_REPORT_PART_MODEL:
        return OSTEL_MEMMODEL_BAR_MODEL_PCT;
    case OSTEL_REPORT_PART_CONTEXT:
        return OSTEL_MEMMODEL_BAR_CONTEXT_PCT;
    case OSTEL_REPORT_PART_COMPUTE:
        return OSTEL_MEMMODEL_BAR_COMPUTE_PCT;
    default:
        return INFINITY;
    }
}

/* The run's values of one device row ("all" = the whole prediction), or NULL when it has none. */
static const struct ostel_report_cmpval *pred_parts(const struct ostel_report_prediction *p,
                                                    const char *device)
{
    if (strcmp(device, "all") == 0)
        return p->ndev == 0 ? p->part : NULL;
    for (size_t d = 0; d < p->ndev; d++)
        if (strcmp(p->dev[d].name, device) == 0)
            return p->dev[d].part;
    return NULL;
}

static int device_rank(const char *d)
{
    return strcmp(d, "host") == 0 ? 0 : strcmp(d, "gpu") == 0 ? 1 : 2;
}

static void group_predictions(const struct ostel_report_set *set, struct ostel_report_group *g)
{
    /* Rows: distinct (n_ctx, device) among the ok runs' predictions, by context then device. */
    size_t cap = 0;
    for (size_t i = 0; i < g->n; i++) {
        const struct ostel_report_run *r = &set->runs[g->runs[i]];
        if (!r->ok || !r->pred.present)
            continue;
        g->n_pred++;
        size_t nd = r->pred.ndev ? r->pred.ndev : 1;
        for (size_t d = 0; d < nd; d++) {
            const char *dev = r->pred.ndev ? r->pred.dev[d].name : "all";
            size_t k = 0;
            while (k < g->npred &&
                   !(g->pred[k].n_ctx == r->pred.n_ctx && strcmp(g->pred[k].device, dev) == 0))
                k++;
            if (k < g->npred)
                continue;
            if (g->npred == cap) {
                cap = cap ? cap * 2 : 4;
                g->pred = ostel_xrealloc(g->pred, cap * sizeof(*g->pred));
            }
            struct ostel_report_pred_row *row = &g->pred[g->npred++];
            memset(row, 0, sizeof(*row));
            row->n_ctx = r->pred.n_ctx;
            snprintf(row->device, sizeof(row->device), "%s", dev);
        }
    }
    for (size_t i = 1; i < g->npred; i++) {
        struct ostel_report_pred_row x = g->pred[i];
        size_t j = i;
        while (j > 0 && (g->pred[j - 1].n_ctx > x.n_ctx ||
                         (g->pred[j - 1].n_ctx == x.n_ctx &&
                          device_rank(g->pred[j - 1].device) > device_rank(x.device)))) {
            g->pred[j] = g->pred[j - 1];
            j--;
        }
        g->pred[j] = x;
    }
    double *pv = ostel_xmalloc((g->n ? g->n : 1) * sizeof(*pv));
    double *mv = ostel_xmalloc((g->n ? g->n : 1) * sizeof(*mv));
    for (size_t k = 0; k < g->npred; k++) {
        struct ostel_report_pred_row *row = &g->pred[k];
        for (int part = 0; part < OSTEL_REPORT_PART_OUTPUT; part++) {
            size_t n = 0;
            double worst = NAN;
            for (size_t i = 0; i < g->n; i++) {
                const struct ostel_report_run *r = &set->runs[g->runs[i]];
                if (!r->ok || !r->pred.present || r->pred.n_ctx != row->n_ctx)
                    continue;
                const struct ostel_report_cmpval *v = pred_parts(&r->pred, row->device);
                if (!v)
                    continue;
                if (part == 0)
                    row->runs++;
                pv[n] = v[part].predicted_mib;
                mv[n++] = v[part].measured_mib;
                if (!isnan(v[part].error_pct) &&
                    (isnan(worst) || fabs(v[part].error_pct) > fabs(worst)))
                    worst = v[part].error_pct;
            }
            row->part[part].predicted_mib = median_of(pv, n);
            row->part[part].measured_mib = median_of(mv, n);
            row->part[part].error_pct = worst;
            row->outside[part] = !isnan(worst) && fabs(worst) > ostel_report_part_bar_pct(part);
        }
    }
    /* Totals over devices, for one-row-per-group formats (CSV). */
    g->pred_within_bars = -1;
    long long ctx0 = -2;
    bool one_ctx = true;
    for (int part = 0; part < OSTEL_REPORT_PART_OUTPUT; part++) {
        size_t n = 0;
        double worst = NAN;
        for (size_t i = 0; i < g->n; i++) {
            const struct ostel_report_run *r = &set->runs[g->runs[i]];
            if (!r->ok || !r->pred.present)
                continue;
            if (ctx0 == -2)
                ctx0 = r->pred.n_ctx;
            one_ctx &= r->pred.n_ctx == ctx0;
            const struct ostel_report_cmpval *v = &r->pred.part[part];
            pv[n] = v->predicted_mib;
            mv[n++] = v->measured_mib;
            if (!isnan(v->error_pct) && (isnan(worst) || fabs(v->error_pct) > fabs(worst)))
                worst = v->error_pct;
            if (part == 0 && r->pred.within_bars >= 0)
                g->pred_within_bars = g->pred_within_bars == 0 ? 0 : r->pred.within_bars ? 1 : 0;
        }
        g->pred_total[part].predicted_mib = one_ctx ? median_of(pv, n) : NAN;
        g->pred_total[part].measured_mib = one_ctx ? median_of(mv, n) : NAN;
        g->pred_total[part].error_pct = worst;
    }
    free(pv);
    free(mv);
}

/* ---- memory against context ---- */

const struct ostel_report_model *ostel_report_find_model(const struct ostel_report *r,
                                                         const char *path)
{
    for (size_t i = 0; i < r->nmodels; i++)
        if (strcmp(r->models[i].path, path) == 0)
            return &r->models[i];
    return NULL;
}

/* The I/O step: the GGUF header of each distinct model file of the runs, read once. A missing
 * file is recorded with an empty error (nothing to say but that it is not here). */
static void read_models(struct ostel_report *r)
{
    const struct ostel_report_set *set = r->set;
    for (size_t i = 0; i < set->n; i++) {
        const char *path = set->runs[i].model;
        if (!*path || ostel_report_find_model(r, path))
            continue;
        r->models = ostel_xrealloc(r->models, (r->nmodels + 1) * sizeof(*r->models));
        struct ostel_report_model *m = &r->models[r->nmodels++];
        memset(m, 0, sizeof(*m));
        m->path = ostel_xstrdup(path);
        char err[256] = "";
        if (ostel_is_file(path)) {
            struct ostel_gguf g;
            memset(&g, 0, sizeof(g));
            if (ostel_gguf_read_file(&g, path, err, sizeof(err)) == 0 &&
                ostel_memmodel_shape_from_gguf(&m->shape, &g, err, sizeof(err)) == 0)
                m->ok = true;
            ostel_gguf_free(&g);
        }
        m->err = ostel_xstrdup(m->ok ? "" : err);
    }
}

#define MIB (1024.0 * 1024.0)
#define SWEEP_FIRST_CTX 1024u
#define SWEEP_DEFAULT_TRAIN 131072u /* a model that does not say its trained context */

/* llama.cpp's measured total of a run, split as the sweep splits it (host, gpu). */
static bool measured_total(const struct ostel_report_run *r, bool unified, double *host,
                           double *gpu)
{
    *host = *gpu = NAN;
    if (r->pred.present) {
        const struct ostel_report_prediction *p = &r->pred;
        if (p->ndev == 0) {
            for (int k = 0; k < OSTEL_REPORT_NPARTS; k++)
                if (!isnan(p->part[k].measured_mib))
                    *host = (isnan(*host) ? 0 : *host) + p->part[k].measured_mib;
        }
        for (size_t d = 0; d < p->ndev; d++) {
            bool on_gpu = !unified && strcmp(p->dev[d].name, "host") != 0;
            double *dst = on_gpu ? gpu : host;
            for (int k = 0; k < OSTEL_REPORT_PART_OUTPUT; k++)
                if (!isnan(p->dev[d].part[k].measured_mib))
                    *dst = (isnan(*dst) ? 0 : *dst) + p->dev[d].part[k].measured_mib;
        }
        /* The output (logits) buffer lives on the host. */
        if (p->ndev > 0 && !isnan(p->part[OSTEL_REPORT_PART_OUTPUT].measured_mib) && !isnan(*host))
            *host += p->part[OSTEL_REPORT_PART_OUTPUT].measured_mib;
        if (!isnan(*host) || !isnan(*gpu))
            return true;
    }
    /* Older summaries: llama.cpp's own breakdown. */
    double used = r->metric[OSTEL_REPORT_M_DEV_USED_MIB],
           hostbuf = r->metric[OSTEL_REPORT_M_HOST_MIB];
    if (isnan(used))
        return false;
    bool cpu = !*r->device || strcmp(r->device, "CPU") == 0;
    if (cpu) {
        *host = used;
    } else if (unified) {
        *host = used + (isnan(hostbuf) ? 0 : hostbuf);
    } else {
        *gpu = used;
        *host = hostbuf;
    }
    return true;
}

static void sweep_params_text(struct ostel_report_sweep *sw, const struct ostel_memmodel_params *p,
                              const struct ostel_memmodel_result *r)
{
    const char *tk = ostel_ggml_type_name(p->type_k), *tv = ostel_ggml_type_name(p->type_v);
    const char *backend = p->backend == OSTEL_MEMMODEL_BACKEND_CPU     ? "CPU"
                          : p->backend == OSTEL_MEMMODEL_BACKEND_METAL ? "Metal"
                                                                       : "GPU";
    struct ostel_buf b;
    ostel_buf_init(&b, 4096);
    ostel_buf_printf(&b, "%s · cache %s/%s · flash attention %s", backend, tk ? tk : "?",
                     tv ? tv : "?", r->flash_attn ? "on" : "off");
    if (p->backend != OSTEL_MEMMODEL_BACKEND_CPU)
        ostel_buf_printf(&b, " · %u layers on the GPU", r->layers_gpu);
    if (p->n_seq > 1)
        ostel_buf_printf(&b, " · %u sequences", p->n_seq);
    sw->params = ostel_buf_detach(&b);
}

static void group_sweep(const struct ostel_report *rep, struct ostel_report_group *g)
{
    const struct ostel_report_set *set = rep->set;
    struct ostel_report_sweep *sw = &g->sweep;
    sw->n_ctx_train = NAN;
    const struct ostel_report_run *first = NULL, *with_params = NULL;
    for (size_t i = 0; i < g->n; i++) {
        const struct ostel_report_run *r = &set->runs[g->runs[i]];
        if (!*r->model)
            continue;
        if (!first) {
            first = r;
        } else if (strcmp(first->model, r->model) != 0) {
            sw->note = ostel_xstrdup("its runs use different model files: group them by model "
                                     "(--group-by tag,model) to see each one's sweep");
            return;
        }
        if (r->mm_known && (!with_params || (r->ok && !with_params->ok)))
            with_params = r;
    }
    if (!first) {
        sw->note = ostel_xstrdup("its runs name no model file");
        return;
    }
    const struct ostel_report_model *m = ostel_report_find_model(rep, first->model);
    if (!m || !m->ok) {
        if (m && m->err && *m->err)
            sw->note =
                ostel_xasprintf("the model file %s cannot be read: %s", first->model, m->err);
        else
            sw->note = ostel_xasprintf("the model file %s is not on this machine", first->model);
        return;
    }
    struct ostel_memmodel_params p = with_params ? with_params->mm : first->mm;
    bool unified = p.backend == OSTEL_MEMMODEL_BACKEND_METAL;
    sw->gpu = p.backend == OSTEL_MEMMODEL_BACKEND_CUDA;
    uint32_t train = m->shape.n_ctx_train ? m->shape.n_ctx_train : SWEEP_DEFAULT_TRAIN;
    sw->n_ctx_train = m->shape.n_ctx_train ? (double)m->shape.n_ctx_train : NAN;
    uint32_t ctxs[OSTEL_REPORT_SWEEP_MAX];
    size_t nc = 0;
    for (uint64_t c = SWEEP_FIRST_CTX; c < train && nc + 1 < OSTEL_REPORT_SWEEP_MAX; c *= 2)
        ctxs[nc++] = (uint32_t)c;
    ctxs[nc++] = train;
    char err[256] = "";
    for (size_t i = 0; i < nc; i++) {
        struct ostel_memmodel_result r;
        p.n_ctx = ctxs[i];
        if (ostel_memmodel_predict(&m->shape, &p, &r, err, sizeof(err)) != 0)
            continue;
        if (!sw->params)
            sweep_params_text(sw, &p, &r);
        struct ostel_report_sweep_point *pt = &sw->pt[sw->n++];
        pt->n_ctx = ctxs[i];
        pt->model_mib = (double)(r.model_bytes + r.repack_bytes) / MIB;
        pt->kv_mib = (double)r.kv_bytes / MIB;
        pt->compute_mib = (double)r.compute_bytes / MIB;
        if (unified)
            pt->host_mib = (double)(r.model_bytes + r.repack_bytes + r.kv_bytes + r.compute_bytes +
                                    r.output_bytes) /
                           MIB;
        else
            pt->host_mib = (double)r.dev[OSTEL_MEMMODEL_DEV_HOST].total_bytes / MIB;
        pt->gpu_mib =
            sw->gpu && r.n_dev > 1 ? (double)r.dev[OSTEL_MEMMODEL_DEV_GPU].total_bytes / MIB : NAN;
    }
    if (sw->n == 0) {
        sw->note = ostel_xasprintf("the memory model cannot predict %s: %s", first->model, err);
        return;
    }
    for (size_t i = 0; i < g->n; i++) {
        const struct ostel_report_run *r = &set->runs[g->runs[i]];
        double host, gpu;
        double n_ctx = r->pred.n_ctx >= 0 ? (double)r->pred.n_ctx
                       : r->ctx >= 0      ? (double)r->ctx
                                          : NAN;
        if (!r->ok || isnan(n_ctx) || !measured_total(r, unified, &host, &gpu))
            continue;
        sw->marks = ostel_xrealloc(sw->marks, (sw->nmarks + 1) * sizeof(*sw->marks));
        sw->marks[sw->nmarks++] =
            (struct ostel_report_sweep_mark){n_ctx, host, sw->gpu ? gpu : NAN, r->name};
    }
}

/* The machine's RAM and MemAvailable at the runs' start, as medians over the group's runs. */
static void group_machine(const struct ostel_report_set *set, struct ostel_report_group *g)
{
    double *ram = ostel_xmalloc((g->n ? g->n : 1) * sizeof(*ram));
    double *avail = ostel_xmalloc((g->n ? g->n : 1) * sizeof(*avail));
    for (size_t i = 0; i < g->n; i++) {
        ram[i] = set->runs[g->runs[i]].ram_mib;
        avail[i] = set->runs[g->runs[i]].avail_start_mib;
    }
    g->ram_mib = median_of(ram, g->n);
    g->avail_mib = median_of(avail, g->n);
    free(ram);
    free(avail);
}

/* ---- building ---- */

static void group_stats(const struct ostel_report_set *set, struct ostel_report_group *g)
{
    for (int m = 0; m < OSTEL_REPORT_NMETRIC; m++) {
        double *v = ok_values(set, g, m, NULL);
        struct ostel_stats_summary *s = &g->stat[m];
        ostel_stats_summarize(v, g->n_ok, s);
        switch (metric_info[m].agg) {
        case OSTEL_REPORT_AGG_MEAN:
            g->value[m] = s->mean;
            break;
        case OSTEL_REPORT_AGG_MEDIAN:
            g->value[m] = s->median;
            break;
        case OSTEL_REPORT_AGG_MAX:
            g->value[m] = s->max;
            break;
        default:
            g->value[m] = s->min;
            break;
        }
        free(v);
    }
    for (int p = 0; p < OSTEL_REPORT_NPHASES; p++) {
        for (int t = 0; t < OSTEL_REPORT_NTEL; t++) {
            double *v = ostel_xmalloc((g->n ? g->n : 1) * sizeof(*v));
            size_t k = 0;
            for (size_t i = 0; i < g->n; i++) {
                const struct ostel_report_run *r = &set->runs[g->runs[i]];
                if (!r->ok)
                    continue;
                g->phase_present[p] |= r->phase_present[p];
                v[k++] = r->tel[p][t];
            }
            struct ostel_stats_summary s;
            ostel_stats_summarize(v, k, &s);
            /* Peaks and worst cases over runs; amounts and means as means. */
            switch (t) {
            case OSTEL_REPORT_TEL_RSS_PEAK_MIB:
            case OSTEL_REPORT_TEL_RSS_ANON_PEAK_MIB:
            case OSTEL_REPORT_TEL_RSS_FILE_PEAK_MIB:
            case OSTEL_REPORT_TEL_PRESSURE_WORST:
            case OSTEL_REPORT_TEL_SWAP_PEAK_MIB:
                g->phase_value[p][t] = s.max;
                break;
            case OSTEL_REPORT_TEL_AVAIL_MIN_PCT:
                g->phase_value[p][t] = s.min;
                break;
            default:
                g->phase_value[p][t] = s.mean;
                break;
            }
            free(v);
        }
    }
    for (int t = 0; t < OSTEL_REPORT_NTREND; t++) {
        double *v = ok_values(set, g, trends[t].metric, NULL);
        ostel_stats_trend_fit(v, g->n_ok, &g->trend[t]);
        free(v);
    }
}

static char *common_string(const struct ostel_report_set *set, const struct ostel_report_group *g,
                           bool model)
{
    const char *first = NULL;
    for (size_t i = 0; i < g->n; i++) {
        const struct ostel_report_run *r = &set->runs[g->runs[i]];
        const char *s = model ? base_name(r->model) : r->device;
        if (!*s)
            continue;
        if (!first)
            first = s;
        else if (strcmp(first, s) != 0)
            return ostel_xstrdup(model ? "(mixed)" : "");
    }
    return ostel_xstrdup(first ? first : "");
}

static int cmp_start(const void *a, const void *b, const struct ostel_report_set *set)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    double tx = set->runs[x].start_ts, ty = set->runs[y].start_ts;
    if (!isnan(tx) && !isnan(ty) && tx != ty)
        return tx < ty ? -1 : 1;
    if (isnan(tx) != isnan(ty))
        return isnan(tx) ? 1 : -1;
    return (x > y) - (x < y);
}

/* A stable merge sort (qsort has no context argument in C11, and is not stable): a group of
 * 10,000 runs copied in turn from a few templates is far from start order, which made the former
 * insertion sort quadratic. */
static void sort_runs(size_t *v, size_t n, const struct ostel_report_set *set)
{
    if (n < 2)
        return;
    size_t *tmp = ostel_xmalloc(n * sizeof(*tmp));
    for (size_t w = 1; w < n; w *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * w) {
            size_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
            size_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi)
                tmp[k++] = cmp_start(&v[j], &v[i], set) < 0 ? v[j++] : v[i++];
            while (i < mid)
                tmp[k++] = v[i++];
            while (j < hi)
                tmp[k++] = v[j++];
        }
        memcpy(v, tmp, n * sizeof(*v));
    }
    free(tmp);
}

int ostel_report_build(struct ostel_report *r, const struct ostel_report_set *set,
                       const struct ostel_report_options *opt, char *err, size_t errlen)
{
    memset(r, 0, sizeof(*r));
    r->set = set;
    r->group_by = opt->group_by ? opt->group_by : OSTEL_REPORT_BY_TAG;
    if (set->n == 0) {
        snprintf(err, errlen, "no runs to report on");
        return -1;
    }
    char **labels = ostel_xmalloc(set->n * sizeof(*labels));
    for (size_t i = 0; i < set->n; i++) {
        labels[i] = group_label(&set->runs[i], r->group_by);
        r->gpu |= set->runs[i].has_gpu;
    }
    r->groups = ostel_xcalloc(set->n, sizeof(*r->groups));
    for (size_t i = 0; i < set->n; i++) {
        if (ostel_report_quality_apart(set, i))
            continue;
        size_t gi = 0;
        while (gi < r->ngroups && strcmp(r->groups[gi].label, labels[i]) != 0)
            gi++;
        struct ostel_report_group *g = &r->groups[gi];
        if (gi == r->ngroups) {
            r->ngroups++;
            g->label = ostel_xstrdup(labels[i]);
        }
        if ((g->n & (g->n - 1)) == 0) /* 0, 1, 2, 4...: doubling, not set->n per group */
            g->runs = ostel_xrealloc(g->runs, (g->n ? 2 * g->n : 1) * sizeof(*g->runs));
        g->runs[g->n++] = i;
        g->n_ok += set->runs[i].ok;
    }
    for (size_t i = 0; i < set->n; i++)
        free(labels[i]);
    free(labels);

    r->baseline = 0;
    if (opt->baseline) {
        size_t found = r->ngroups;
        for (size_t gi = 0; gi < r->ngroups && found == r->ngroups; gi++)
            if (strcmp(r->groups[gi].label, opt->baseline) == 0)
                found = gi;
        for (size_t gi = 0; gi < r->ngroups && found == r->ngroups; gi++)
            if (strcmp(set->runs[r->groups[gi].runs[0]].tag, opt->baseline) == 0)
                found = gi;
        if (found == r->ngroups) {
            struct ostel_buf b;
            ostel_buf_init(&b, 4096);
            for (size_t gi = 0; gi < r->ngroups; gi++)
                ostel_buf_printf(&b, "%s'%s'", gi ? ", " : "", r->groups[gi].label);
            snprintf(err, errlen, "baseline '%s' matches no group (the groups are %s)",
                     opt->baseline, b.data);
            ostel_buf_free(&b);
            return -1;
        }
        r->baseline = found;
    }

    ostel_report_quality_link(r);
    read_models(r);
    for (size_t gi = 0; gi < r->ngroups; gi++) {
        struct ostel_report_group *g = &r->groups[gi];
        sort_runs(g->runs, g->n, set);
        g->model = common_string(set, g, true);
        g->device = common_string(set, g, false);
        group_stats(set, g);
        note_failed(set, g);
        if (g->n_ok == 1)
            add_note(g, OSTEL_REPORT_NOTE_SINGLE, ostel_xstrdup("1 run: no spread"),
                     ostel_xstrdup("One successful run: no standard deviation, confidence interval "
                                   "or test is possible; repeat it (5 runs or more)"));
        note_memory(set, g);
        note_cold(set, g);
        note_outliers(set, g);
        note_noisy(g);
        note_paging(set, g);
        interpret(g);
        group_predictions(set, g);
        group_sweep(r, g);
        group_machine(set, g);
    }
    const struct ostel_report_group *base = &r->groups[r->baseline];
    for (size_t gi = 0; gi < r->ngroups; gi++) {
        struct ostel_report_group *g = &r->groups[gi];
        for (int m = 0; m < OSTEL_REPORT_NMETRIC; m++) {
            struct ostel_report_cmp *c = &g->cmp[m];
            ostel_stats_ratio_ci(&g->stat[m], &base->stat[m], &c->ratio);
            ostel_stats_welch_test(&g->stat[m], &base->stat[m], &c->welch);
            c->significant = gi != r->baseline && !isnan(c->welch.p) && c->welch.p < SIGNIFICANCE;
        }
    }
    return 0;
}

void ostel_report_free(struct ostel_report *r)
{
    for (size_t gi = 0; gi < r->ngroups; gi++) {
        struct ostel_report_group *g = &r->groups[gi];
        free(g->label);
        free(g->model);
        free(g->device);
        free(g->runs);
        for (size_t i = 0; i < g->nnotes; i++) {
            free(g->notes[i].brief);
            free(g->notes[i].text);
        }
        free(g->notes);
        free(g->interpretation);
        free(g->pred);
        free(g->sweep.params);
        free(g->sweep.marks);
        free(g->sweep.note);
    }
    free(r->groups);
    for (size_t i = 0; i < r->nmodels; i++) {
        free(r->models[i].path);
        free(r->models[i].err);
        if (r->models[i].ok)
            ostel_memmodel_shape_free(&r->models[i].shape);
    }
    free(r->models);
    memset(r, 0, sizeof(*r));
}

/* ---- formats and shared helpers ---- */

static const struct ostel_report_format formats[] = {
    {"csv", ostel_report_csv_write},
    {"html", ostel_report_html_write},
    {"json", ostel_report_json_write},
    {"md", ostel_report_md_write},
};

const struct ostel_report_format *ostel_report_find_format(const char *name)
{
    for (size_t i = 0; i < OSTEL_ARRAY_LEN(formats); i++)
        if (strcmp(formats[i].name, name) == 0)
            return &formats[i];
    return NULL;
}

void ostel_report_escape_html(struct ostel_buf *out, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<':
            ostel_buf_puts(out, "&lt;");
            break;
        case '>':
            ostel_buf_puts(out, "&gt;");
            break;
        case '&':
            ostel_buf_puts(out, "&amp;");
            break;
        case '"':
            ostel_buf_puts(out, "&quot;");
            break;
        case '\'':
            ostel_buf_puts(out, "&#39;");
            break;
        default:
            ostel_buf_putc(out, *s);
            break;
        }
    }
}

void ostel_report_escape_script_json(struct ostel_buf *out, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '<' || c == '>' || c == '&') {
            ostel_buf_printf(out, "\\u%04x", c);
        } else if (c == 0xe2 && (unsigned char)s[1] == 0x80 &&
                   ((unsigned char)s[2] == 0xa8 || (unsigned char)s[2] == 0xa9)) {
            ostel_buf_printf(out, "\\u%04x", (unsigned char)s[2] == 0xa8 ? 0x2028 : 0x2029);
            s += 2;
        } else {
            ostel_buf_putc(out, (char)c);
        }
    }
}

char *ostel_report_fmt_num(double v, int decimals, char *out, size_t size)
{
    if (isnan(v) || isinf(v)) {
        snprintf(out, size, "—");
        return out;
    }
    char raw[64];
    snprintf(raw, sizeof(raw), "%.*f", decimals, v);
    if (strcmp(raw, "-0") == 0 || strspn(raw, "-0.") == strlen(raw))
        snprintf(raw, sizeof(raw), "%.*f", decimals, 0.0);
    const char *digits = raw[0] == '-' ? raw + 1 : raw;
    size_t intlen = strcspn(digits, ".");
    size_t k = 0;
    if (raw[0] == '-' && k + 1 < size)
        out[k++] = '-';
    for (size_t i = 0; digits[i] && k + 2 < size; i++) {
        if (i > 0 && i < intlen && (intlen - i) % 3 == 0)
            out[k++] = ',';
        out[k++] = digits[i];
    }
    out[k] = '\0';
    return out;
}
