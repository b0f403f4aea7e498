/*
 * report_notes: each group's notes and warnings (failed runs, a single run, memory, a cold first
 * run, outliers, noisy speed, paging and memory pressure) and its interpretation, from the group's
 * statistics and runs alone. The thresholds are named constants below and documented in
 * docs/report.md.
 */
#include "report/report_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Thresholds of the notes (docs/report.md, "Warnings"). */
#define COLD_SLOWER 1.20    /* first run's duration vs the median of the rest */
#define NOISY_CV 0.10       /* coefficient of variation of generation speed */
#define HEAVY_PAGES 25600.0 /* pages swapped out, or in + out: 100 MiB of 4 KiB pages */
#define HEAVY_MAJFLT 1000.0 /* major faults during inference */
#define LOW_AVAIL_PCT 10.0  /* lowest available memory */
#define RSS_SHORT_FRACTION                                                                         \
    0.9 /* peak RSS below this share of llama.cpp's total: not all resident */

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
        double *v = ostel_report_ok_values(set, g, ms[k], &runs);
        bool *flag = ostel_xcalloc(g->n_ok ? g->n_ok : 1, sizeof(*flag));
        double *z = ostel_xcalloc(g->n_ok ? g->n_ok : 1, sizeof(*z));
        if (ostel_stats_outliers(v, g->n_ok, flag, z) > 0 &&
            !(group_has_note(g, OSTEL_REPORT_NOTE_COLD) && count_flags(flag, g->n_ok) == flag[0])) {
            const struct ostel_report_metric_info *mi = ostel_report_metric_info(ms[k]);
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

static void note_cold(const struct ostel_report_set *set, struct ostel_report_group *g)
{
    if (g->n_ok < 3)
        return;
    const struct ostel_report_run **runs;
    double *wall = ostel_report_ok_values(set, g, OSTEL_REPORT_M_WALL_S, &runs);
    double *pp = ostel_report_ok_values(set, g, OSTEL_REPORT_M_PROMPT_TPS, NULL);
    double *pin = ostel_report_ok_values(set, g, OSTEL_REPORT_M_PAGEINS, NULL);
    double rest_wall = ostel_report_median(wall + 1, g->n_ok - 1);
    double rest_pp = ostel_report_median(pp + 1, g->n_ok - 1);
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
        double rest_pin = ostel_report_median(pin + 1, g->n_ok - 1);
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

/* A group's memory figures (MiB, NAN = unknown) that its interpretation weighs. */
struct mem_figures {
    double rss, used, host, model, ctx, compute, anon, file, proc, beyond;
};

/* Only RSS is known: it is the plan, as a lower bound. */
static void interpret_rss_only(struct ostel_report_group *g, const struct mem_figures *f,
                               struct ostel_buf *b)
{
    ostel_buf_printf(b,
                     "Only RSS is known: peak %.0f MiB. RSS counts only the pages the CPU "
                     "has resident, so GPU allocations and model pages that were mapped "
                     "but not resident are missing from it: take it as a lower bound.",
                     f->rss);
    g->plan_mib = f->rss;
    g->plan_basis = "peak RSS";
}

/* A GPU's run: llama.cpp's breakdown (all of it in RAM on Apple silicon), or NVML's process peak
 * where it was measured, is the plan; the host's RSS explained. */
static void interpret_device(struct ostel_report_group *g, const struct mem_figures *f,
                             struct ostel_buf *b)
{
    double total = f->used + (isnan(f->host) ? 0 : f->host);
    ostel_buf_printf(b,
                     "llama.cpp accounts %.0f MiB on %s (model %.0f + context %.0f + "
                     "compute %.0f)",
                     f->used, g->device, f->model, f->ctx, f->compute);
    if (!isnan(f->host))
        ostel_buf_printf(b, " and %.0f MiB on the host", f->host);
    if (!isnan(f->rss))
        ostel_buf_printf(b, "; peak RSS was %.0f MiB", f->rss);
    ostel_buf_puts(b, ". RSS counts only CPU-visible resident pages: memory that llama.cpp "
                      "allocated on the GPU is not in it.");
    if (device_is_unified(g->device))
        ostel_buf_printf(b,
                         " On Apple silicon the GPU uses the same RAM: plan for %.0f MiB "
                         "of RAM in total (llama.cpp's breakdown), which must stay under "
                         "Metal's recommended working set.",
                         total);
    else if (isnan(f->proc))
        ostel_buf_printf(b,
                         " For capacity planning use llama.cpp's breakdown: %.0f MiB must "
                         "fit in %s's memory%s.",
                         f->used, g->device, isnan(f->host) ? "" : ", plus the host part in RAM");
    if (!device_is_unified(g->device) && !isnan(f->rss)) {
        ostel_buf_puts(b, " With the model on the GPU, the host's RSS is mostly file-backed "
                          "pages of the mmap'd GGUF (metrics.csv's rss_file_mb): page cache, "
                          "reclaimable, and gone with --no-mmap, which allocates the host "
                          "copy only while loading; rss_anon_mb is the process's own.");
        if (!isnan(f->anon) && !isnan(f->file))
            ostel_buf_printf(b,
                             " Here the anonymous part peaked at %.0f MiB (the RAM the "
                             "process needs) and the file-backed part at %.0f MiB.",
                             f->anon, f->file);
    }
    g->plan_mib = device_is_unified(g->device) ? total : f->used;
    g->plan_basis = "llama.cpp breakdown";
    if (!device_is_unified(g->device) && !isnan(f->proc)) {
        ostel_buf_printf(b, " NVML measured the process at %.0f MiB on the GPU at its peak",
                         f->proc);
        if (!isnan(f->beyond))
            ostel_buf_printf(b,
                             ", %.0f MiB beyond llama.cpp's own accounting (the CUDA "
                             "context, cuBLAS workspaces, allocator slack)",
                             f->beyond);
        ostel_buf_printf(
            b, ". For capacity planning that is what must fit in %s's memory: %.0f MiB%s.",
            g->device, f->proc, isnan(f->host) ? "" : ", plus the host part in RAM");
        g->plan_mib = f->proc;
        g->plan_basis = "NVML process peak";
    }
}

/* A CPU's run: llama.cpp's total or the peak RSS, whichever covers the other, is the plan. */
static void interpret_cpu(struct ostel_report_group *g, const struct mem_figures *f,
                          struct ostel_buf *b)
{
    if (isnan(f->rss)) {
        ostel_buf_printf(b,
                         "llama.cpp accounts %.0f MiB (model %.0f + context %.0f + compute "
                         "%.0f); no RSS was sampled. Plan with llama.cpp's total.",
                         f->used, f->model, f->ctx, f->compute);
        g->plan_mib = f->used;
        g->plan_basis = "llama.cpp breakdown";
    } else if (f->rss < RSS_SHORT_FRACTION * f->used) {
        ostel_buf_printf(b,
                         "Peak RSS (%.0f MiB) stayed %.0f MiB below llama.cpp's total "
                         "(%.0f MiB: model %.0f + context %.0f + compute %.0f): RSS counts "
                         "only resident pages, and part of the memory-mapped model or of "
                         "the allocated buffers was never touched or was evicted. Plan "
                         "with llama.cpp's total, %.0f MiB: with less, the model pages "
                         "from disk once it is all in use.",
                         f->rss, f->used - f->rss, f->used, f->model, f->ctx, f->compute, f->used);
        g->plan_mib = f->used;
        g->plan_basis = "llama.cpp breakdown";
    } else {
        ostel_buf_printf(b,
                         "Peak RSS (%.0f MiB) covers llama.cpp's total (%.0f MiB: model "
                         "%.0f + context %.0f + compute %.0f) plus %.0f MiB of runtime "
                         "overhead. Plan with the peak RSS, %.0f MiB.",
                         f->rss, f->used, f->model, f->ctx, f->compute,
                         f->rss > f->used ? f->rss - f->used : 0, f->rss);
        g->plan_mib = f->rss;
        g->plan_basis = "peak RSS";
    }
}

static void interpret(struct ostel_report_group *g)
{
    const struct mem_figures f = {
        .rss = g->value[OSTEL_REPORT_M_RSS_PEAK_MIB],
        .used = g->value[OSTEL_REPORT_M_DEV_USED_MIB],
        .host = g->value[OSTEL_REPORT_M_HOST_MIB],
        .model = g->value[OSTEL_REPORT_M_MODEL_MIB],
        .ctx = g->value[OSTEL_REPORT_M_CONTEXT_MIB],
        .compute = g->value[OSTEL_REPORT_M_COMPUTE_MIB],
        .anon = g->value[OSTEL_REPORT_M_RSS_ANON_PEAK_MIB],
        .file = g->value[OSTEL_REPORT_M_RSS_FILE_PEAK_MIB],
        .proc = g->value[OSTEL_REPORT_M_GPU_PROC_PEAK_MIB],
        .beyond = g->value[OSTEL_REPORT_M_GPU_BEYOND_MIB],
    };
    g->plan_mib = NAN;
    g->plan_basis = NULL;
    if (g->n_ok == 0 || (isnan(f.rss) && isnan(f.used)))
        return;
    struct ostel_buf b;
    ostel_buf_init(&b, 1 << 16);
    bool cpu = !*g->device || strcmp(g->device, "CPU") == 0;
    if (isnan(f.used))
        interpret_rss_only(g, &f, &b);
    else if (!cpu)
        interpret_device(g, &f, &b);
    else
        interpret_cpu(g, &f, &b);
    if ((cpu || device_is_unified(g->device)) && !isnan(f.anon) && !isnan(f.file))
        ostel_buf_printf(&b,
                         " Of the RSS, the anonymous part (the process's own memory: heap and "
                         "llama.cpp's buffers) peaked at %.0f MiB and the file-backed part (pages "
                         "of the mmap'd model file: page cache, reclaimable, and not there with "
                         "--no-mmap, which copies the model into anonymous memory instead) at "
                         "%.0f MiB.",
                         f.anon, f.file);
    if (group_has_note(g, OSTEL_REPORT_NOTE_PAGING) ||
        group_has_note(g, OSTEL_REPORT_NOTE_PRESSURE))
        ostel_buf_puts(&b, " These runs paged or met memory pressure: the machine had less free "
                           "memory than they needed, and their speed reflects it.");
    g->interpretation = ostel_buf_detach(&b);
}

void ostel_report_group_notes(const struct ostel_report_set *set, struct ostel_report_group *g)
{
    note_failed(set, g);
    if (g->n_ok == 1)
        add_note(g, OSTEL_REPORT_NOTE_SINGLE, ostel_xstrdup("1 run: no spread"),
                 ostel_xstrdup("One successful run: no standard deviation, confidence interval or "
                               "test is possible; repeat it (5 runs or more)"));
    note_memory(set, g);
    note_cold(set, g);
    note_outliers(set, g);
    note_noisy(g);
    note_paging(set, g);
    interpret(g);
}
