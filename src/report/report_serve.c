/*
 * report_serve: the serving section of a report — for every run made by `ostel serve`, one row per
 * load level (concurrency or rate, in the order measured): latency percentiles against the level
 * (where they bend upward is the knee at which the server saturates), throughput and goodput, and
 * what the machine did meanwhile (the server's RSS and CPU in that level's samples). The values
 * come from summary.json's "serve" object (docs/serve.md); nothing is recomputed, so a report from
 * the database reads the same. Text from runs (tags, level names) is the writers' to escape.
 */
#include "report/report.h"

#include <cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static double jnum(const cJSON *o, const char *a, const char *b)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, a);
    if (b)
        v = cJSON_IsObject(v) ? cJSON_GetObjectItemCaseSensitive(v, b) : NULL;
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static const char *jstr(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : "";
}

static char *fmt(double v, int decimals)
{
    char b[64];
    return ostel_xstrdup(ostel_report_fmt_num(v, decimals, b, sizeof(b)));
}

static const char *level_name(const cJSON *l, char *buf, size_t size);

static void per_run_tables(const struct ostel_report *r, struct ostel_report_tables *out)
{
    static const char *const lat_head[] = {
        "Run",          "Level",       "Load",        "OK / failed", "Req/s",
        "Output tok/s", "Goodput/s",   "TTFT p50 ms", "TTFT p99 ms", "ITL p50 ms",
        "ITL p99 ms",   "TPOT p50 ms", "E2E p50 ms",  "E2E p99 ms",  "Queue p99 ms"};
    static const char *const sys_head[] = {
        "Run",          "Level",      "Load",    "RSS peak MiB",
        "RSS mean MiB", "CPU mean %", "Samples", "TTFT − server prompt p50 ms",
        "Stopped early"};
    struct ostel_report_table *lat = NULL, *sys = NULL;
    const struct ostel_report_set *set = r->set;
    for (size_t i = 0; i < set->n; i++) {
        const struct ostel_report_run *run = &set->runs[i];
        if (!run->serve_json)
            continue;
        cJSON *s = cJSON_Parse(run->serve_json);
        const cJSON *levels = cJSON_GetObjectItemCaseSensitive(s, "levels"), *l;
        cJSON_ArrayForEach(l, levels)
        {
            if (!cJSON_IsObject(l))
                continue;
            if (!lat) {
                lat = ostel_report_table_new(
                    out, "serve_latency", "Serving: latency and throughput per level",
                    OSTEL_ARRAY_LEN(lat_head), lat_head, "llllrrrrrrrrrrr");
                lat->caption = ostel_xstrdup(
                    "One row per load level of each ostel serve run. TTFT and E2E are timed from "
                    "the scheduled send (open loop: the client's own queueing included); ITL is "
                    "every gap between token chunks pooled over the level; TPOT is (E2E − TTFT) / "
                    "(tokens − 1) per request; goodput counts requests within the SLO "
                    "(docs/serve.md). Where the percentiles rise steeply the server has "
                    "saturated.");
            }
            if (!sys) {
                /* the second table is made after the first: re-find lat, the array moved */
                size_t li = (size_t)(lat - out->t);
                sys = ostel_report_table_new(out, "serve_system", "Serving: the machine per level",
                                             OSTEL_ARRAY_LEN(sys_head), sys_head, "lllrrrrrl");
                lat = &out->t[li];
                sys->caption = ostel_xstrdup(
                    "The watched process tree (the server ostel started, or --pid) in the samples "
                    "of each level; TTFT − server prompt is the client's TTFT minus llama-server's "
                    "own prompt_ms: HTTP and queueing in the server.");
            }
            char nb[96];
            const char *kind = jstr(l, "kind");
            double value = jnum(l, "value", NULL);
            char load[64];
            snprintf(load, sizeof(load), "%s %g%s", strcmp(kind, "rate") == 0 ? "rate" : "conc.",
                     value, strcmp(kind, "rate") == 0 ? "/s" : "");
            size_t row = ostel_report_table_row_add(lat);
            struct ostel_report_cell *c = &lat->cells[row * lat->ncols];
            c[0].text = ostel_xstrdup(run->name);
            c[1].text = ostel_xstrdup(level_name(l, nb, sizeof(nb)));
            c[2].text = ostel_xstrdup(load);
            c[3].text =
                ostel_xasprintf("%.0f / %.0f", jnum(l, "completed", NULL), jnum(l, "failed", NULL));
            c[4].text = fmt(jnum(l, "request_throughput", NULL), 2);
            c[5].text = fmt(jnum(l, "output_tokens_per_s", NULL), 1);
            c[6].text = fmt(jnum(l, "goodput", NULL), 2);
            c[7].text = fmt(jnum(l, "ttft_ms", "p50"), 1);
            c[8].text = fmt(jnum(l, "ttft_ms", "p99"), 1);
            c[9].text = fmt(jnum(l, "itl_pooled_ms", "p50"), 2);
            c[10].text = fmt(jnum(l, "itl_pooled_ms", "p99"), 2);
            c[11].text = fmt(jnum(l, "tpot_ms", "p50"), 2);
            c[12].text = fmt(jnum(l, "e2e_ms", "p50"), 1);
            c[13].text = fmt(jnum(l, "e2e_ms", "p99"), 1);
            c[14].text = fmt(jnum(l, "client_queue_ms", "p99"), 2);

            row = ostel_report_table_row_add(sys);
            c = &sys->cells[row * sys->ncols];
            c[0].text = ostel_xstrdup(run->name);
            c[1].text = ostel_xstrdup(level_name(l, nb, sizeof(nb)));
            c[2].text = ostel_xstrdup(load);
            c[3].text = fmt(jnum(l, "telemetry", "rss_peak_mib"), 1);
            c[4].text = fmt(jnum(l, "telemetry", "rss_mean_mib"), 1);
            c[5].text = fmt(jnum(l, "telemetry", "cpu_mean_pct"), 1);
            c[6].text = fmt(jnum(l, "telemetry", "samples"), 0);
            c[7].text = fmt(jnum(l, "ttft_minus_server_prompt_ms", "p50"), 2);
            const char *st = jstr(l, "stopped_early");
            c[8].text = ostel_xstrdup(*st ? st : "—");
        }
        cJSON_Delete(s);
    }
}

/* ---- by group: statistics over repetitions, the comparison, the knee ---- */

static const struct ostel_report_serve_metric_info sv_info[OSTEL_REPORT_SV_N] = {
    {"request_throughput", "Req/s", 2, OSTEL_REPORT_BETTER_HIGH, true},
    {"output_tokens_per_s", "Output tok/s", 1, OSTEL_REPORT_BETTER_HIGH, true},
    {"goodput", "Goodput/s", 2, OSTEL_REPORT_BETTER_HIGH, true},
    {"ttft_p50_ms", "TTFT p50 ms", 1, OSTEL_REPORT_BETTER_LOW, false},
    {"ttft_p99_ms", "TTFT p99 ms", 1, OSTEL_REPORT_BETTER_LOW, true},
    {"itl_p50_ms", "ITL p50 ms", 2, OSTEL_REPORT_BETTER_LOW, false},
    {"itl_p99_ms", "ITL p99 ms", 2, OSTEL_REPORT_BETTER_LOW, true},
    {"e2e_p50_ms", "E2E p50 ms", 1, OSTEL_REPORT_BETTER_LOW, false},
    {"e2e_p99_ms", "E2E p99 ms", 1, OSTEL_REPORT_BETTER_LOW, true},
    {"queue_p99_ms", "Queue p99 ms", 2, OSTEL_REPORT_BETTER_LOW, false},
    {"rss_peak_mib", "RSS peak MiB", 1, OSTEL_REPORT_BETTER_LOW, true},
    {"cpu_mean_pct", "CPU mean %", 1, OSTEL_REPORT_BETTER_NONE, false},
    {"busy_slots_max", "Busy slots max", 1, OSTEL_REPORT_BETTER_NONE, false},
    {"deferred_max", "Deferred max", 1, OSTEL_REPORT_BETTER_LOW, false},
    {"kv_cache_usage_max", "KV cache use max", 3, OSTEL_REPORT_BETTER_NONE, false},
    {"gpu_mem_peak_mib", "GPU mem peak MiB", 0, OSTEL_REPORT_BETTER_LOW, true},
    {"gpu_proc_peak_mib", "GPU process peak MiB", 0, OSTEL_REPORT_BETTER_LOW, true},
    {"gpu_power_mean_w", "GPU power mean W", 1, OSTEL_REPORT_BETTER_LOW, false},
    {"gpu_j_per_output_token", "GPU J/output token", 3, OSTEL_REPORT_BETTER_LOW, true},
};

const struct ostel_report_serve_metric_info *ostel_report_serve_metric_info(int m)
{
    OSTEL_ASSERT(m >= 0 && m < OSTEL_REPORT_SV_N);
    return &sv_info[m];
}

/* Where each metric lives in a level object: up to three keys. */
static const char *const sv_path[OSTEL_REPORT_SV_N][3] = {
    {"request_throughput", NULL, NULL},
    {"output_tokens_per_s", NULL, NULL},
    {"goodput", NULL, NULL},
    {"ttft_ms", "p50", NULL},
    {"ttft_ms", "p99", NULL},
    {"itl_pooled_ms", "p50", NULL},
    {"itl_pooled_ms", "p99", NULL},
    {"e2e_ms", "p50", NULL},
    {"e2e_ms", "p99", NULL},
    {"client_queue_ms", "p99", NULL},
    {"telemetry", "rss_peak_mib", NULL},
    {"telemetry", "cpu_mean_pct", NULL},
    {"telemetry", "server", "busy_slots_max"},
    {"telemetry", "server", "deferred_max"},
    {"telemetry", "server", "kv_cache_usage_max"},
    {"telemetry", "gpu", "mem_peak_mib"},
    {"telemetry", "gpu", "proc_mem_peak_mib"},
    {"telemetry", "gpu", "power_mean_w"},
    {"telemetry", "gpu", "j_per_output_token"},
};

static double sv_value(const cJSON *l, int m)
{
    const cJSON *v = l;
    for (int k = 0; k < 3 && sv_path[m][k]; k++)
        v = cJSON_IsObject(v) ? cJSON_GetObjectItemCaseSensitive(v, sv_path[m][k]) : NULL;
    return cJSON_IsNumber(v) && isfinite(v->valuedouble) ? v->valuedouble : NAN;
}

static bool serve_run(const struct ostel_report_run *run)
{
    return run->ok && run->serve_json && !run->quality.present;
}

static int level_cmp(const void *a, const void *b)
{
    const struct ostel_report_serve_level *x = a, *y = b;
    if (x->rate != y->rate)
        return x->rate ? 1 : -1;
    if (x->value != y->value)
        return x->value < y->value ? -1 : 1;
    return strcmp(x->name, y->name);
}

static long find_level(const struct ostel_report_serve *sv, const char *name)
{
    for (size_t i = 0; i < sv->nlevels; i++)
        if (strcmp(sv->levels[i].name, name) == 0)
            return (long)i;
    return -1;
}

/* A level object's name, or "" when it has none (such a level is skipped). */
/* A level object's name as text (control bytes as spaces, at most 95 bytes: a name from a hostile
 * summary stays one table cell), in buf; "" when it has none (such a level is skipped). */
static const char *level_name(const cJSON *l, char *buf, size_t size)
{
    const char *n = cJSON_IsObject(l) ? jstr(l, "name") : "";
    size_t k = 0;
    for (; n[k] && k + 1 < size; k++)
        buf[k] = (unsigned char)n[k] < 0x20 || n[k] == 0x7f ? ' ' : n[k];
    buf[k] = '\0';
    return buf;
}

/* The knee of group g among the levels of one kind (rate or not); appends to *why. */
static void knee_of_kind(const struct ostel_report_serve *sv, size_t g, bool rate, long *knee,
                         struct ostel_buf *why)
{
    const struct ostel_report_serve_cell *row = &sv->cells[g * sv->nlevels];
    long first = -1, found = -1;
    size_t last = 0;
    double ref = NAN;
    const char *reason = "";
    for (size_t i = 0; i < sv->nlevels; i++) {
        if (sv->levels[i].rate != rate || row[i].runs == 0)
            continue;
        double ttft = row[i].stat[OSTEL_REPORT_SV_TTFT_P99].mean;
        double deferred = row[i].stat[OSTEL_REPORT_SV_DEFERRED_MAX].mean;
        if (first < 0) {
            first = (long)i;
            ref = ttft;
        }
        last = i;
        if (row[i].saturated) {
            found = (long)i, reason = "the load stopped early: the backlog grew without bound";
            break;
        }
        if ((long)i != first && isfinite(ref) && ttft > 2 * ref) {
            found = (long)i, reason = "mean TTFT p99 above twice that of the lowest level";
            break;
        }
        if (deferred > 0) {
            found = (long)i, reason = "llama-server deferred requests (every slot busy)";
            break;
        }
    }
    if (first < 0)
        return;
    if (why->len)
        ostel_buf_puts(why, "; ");
    if (found < 0) {
        ostel_buf_printf(why, "none up to %s", sv->levels[last].name);
        return;
    }
    if (*knee < 0)
        *knee = found;
    ostel_buf_printf(why, "%s: %s", sv->levels[found].name, reason);
}

/* Every level that some serve run measured, once by name (at most OSTEL_REPORT_SERVE_LEVELS_MAX),
 * in sv->levels as the runs list them. */
static void collect_levels(const struct ostel_report_set *set, struct ostel_report_serve *sv)
{
    size_t cap = 0;
    for (size_t i = 0; i < set->n; i++) {
        if (!serve_run(&set->runs[i]))
            continue;
        cJSON *s = cJSON_Parse(set->runs[i].serve_json);
        const cJSON *l;
        cJSON_ArrayForEach(l, cJSON_GetObjectItemCaseSensitive(s, "levels"))
        {
            char nb[96];
            const char *name = level_name(l, nb, sizeof(nb));
            if (!*name || sv->nlevels == OSTEL_REPORT_SERVE_LEVELS_MAX || find_level(sv, name) >= 0)
                continue;
            if (sv->nlevels == cap) {
                cap = cap ? 2 * cap : 8;
                sv->levels = ostel_xrealloc(sv->levels, cap * sizeof(*sv->levels));
            }
            struct ostel_report_serve_level *lv = &sv->levels[sv->nlevels++];
            lv->name = ostel_xstrdup(name);
            lv->rate = strcmp(jstr(l, "kind"), "rate") == 0;
            lv->value = jnum(l, "value", NULL);
        }
        cJSON_Delete(s);
    }
}

/* Group g's cells: each level's runs, saturation and every metric's statistics over its serve
 * runs (a level named twice in one run counted once). */
static void group_cells(const struct ostel_report *r, size_t g, struct ostel_report_serve *sv)
{
    const struct ostel_report_set *set = r->set;
    const struct ostel_report_group *gr = &r->groups[g];
    size_t nl = sv->nlevels;
    /* values[level][metric][run] */
    double *x = ostel_xmalloc((nl * OSTEL_REPORT_SV_N * gr->n + 1) * sizeof(*x));
    for (size_t k = 0; k < nl * OSTEL_REPORT_SV_N * gr->n; k++)
        x[k] = NAN;
    bool *seen = ostel_xcalloc(nl, sizeof(*seen));
    for (size_t j = 0; j < gr->n; j++) {
        const struct ostel_report_run *run = &set->runs[gr->runs[j]];
        if (!serve_run(run))
            continue;
        sv->serve_runs[g]++;
        memset(seen, 0, nl * sizeof(*seen));
        cJSON *s = cJSON_Parse(run->serve_json);
        const cJSON *l;
        cJSON_ArrayForEach(l, cJSON_GetObjectItemCaseSensitive(s, "levels"))
        {
            char nb[96];
            long li = find_level(sv, level_name(l, nb, sizeof(nb)));
            if (li < 0 || seen[li])
                continue; /* a level named twice in one run counts once: the first */
            seen[li] = true;
            struct ostel_report_serve_cell *c = &sv->cells[g * nl + (size_t)li];
            c->runs++;
            c->saturated |= strcmp(jstr(l, "stopped_early"), "saturated") == 0;
            for (int m = 0; m < OSTEL_REPORT_SV_N; m++) {
                double v = sv_value(l, m);
                x[((size_t)li * OSTEL_REPORT_SV_N + (size_t)m) * gr->n + j] = v;
                sv->present[m] |= isfinite(v);
            }
        }
        cJSON_Delete(s);
    }
    for (size_t li = 0; li < nl; li++)
        for (int m = 0; m < OSTEL_REPORT_SV_N; m++)
            ostel_stats_summarize(&x[(li * OSTEL_REPORT_SV_N + (size_t)m) * gr->n], gr->n,
                                  &sv->cells[g * nl + li].stat[m]);
    free(x);
    free(seen);
}

/* Every other group's cells against the baseline's at the same level: ratio, Welch's test. */
static void compare_with_baseline(const struct ostel_report *r, struct ostel_report_serve *sv)
{
    size_t nl = sv->nlevels;
    for (size_t g = 0; g < sv->ngroups; g++) {
        if (g == r->baseline)
            continue;
        for (size_t li = 0; li < nl; li++) {
            struct ostel_report_serve_cell *c = &sv->cells[g * nl + li];
            const struct ostel_report_serve_cell *b = &sv->cells[r->baseline * nl + li];
            for (int m = 0; m < OSTEL_REPORT_SV_N; m++) {
                ostel_stats_ratio_ci(&c->stat[m], &b->stat[m], &c->cmp[m].ratio);
                ostel_stats_welch_test(&c->stat[m], &b->stat[m], &c->cmp[m].welch);
                c->cmp[m].significant = c->cmp[m].welch.p < 0.05;
            }
        }
    }
}

bool ostel_report_serve_build(const struct ostel_report *r, struct ostel_report_serve *sv)
{
    memset(sv, 0, sizeof(*sv));
    collect_levels(r->set, sv);
    if (sv->nlevels == 0) {
        free(sv->levels);
        sv->levels = NULL;
        return false;
    }
    qsort(sv->levels, sv->nlevels, sizeof(*sv->levels), level_cmp);
    size_t ng = r->ngroups, nl = sv->nlevels;
    sv->ngroups = ng;
    sv->cells = ostel_xcalloc(ng * nl, sizeof(*sv->cells));
    sv->serve_runs = ostel_xcalloc(ng, sizeof(*sv->serve_runs));
    sv->knee = ostel_xcalloc(ng, sizeof(*sv->knee));
    sv->knee_why = ostel_xcalloc(ng, sizeof(*sv->knee_why));
    for (size_t g = 0; g < ng; g++)
        group_cells(r, g, sv);
    compare_with_baseline(r, sv);
    for (size_t g = 0; g < ng; g++) {
        struct ostel_buf why;
        ostel_buf_init(&why, 0);
        sv->knee[g] = -1;
        knee_of_kind(sv, g, false, &sv->knee[g], &why);
        knee_of_kind(sv, g, true, &sv->knee[g], &why);
        sv->knee_why[g] = why.len ? ostel_buf_detach(&why) : (ostel_buf_free(&why), NULL);
    }
    return true;
}

void ostel_report_serve_free(struct ostel_report_serve *sv)
{
    for (size_t i = 0; i < sv->nlevels; i++)
        free(sv->levels[i].name);
    free(sv->levels);
    free(sv->cells);
    free(sv->serve_runs);
    free(sv->knee);
    for (size_t g = 0; g < sv->ngroups; g++)
        free(sv->knee_why[g]);
    free(sv->knee_why);
    memset(sv, 0, sizeof(*sv));
}

/* ---- the group tables ---- */

/* Fills a table with one row per group and level (those the group measured): Group, Level,
 * Runs, then mean ± SD of each metric of ms[]. */
static void fill_group_levels(const struct ostel_report *r, const struct ostel_report_serve *sv,
                              struct ostel_report_table *t, const int *ms, size_t nm)
{
    for (size_t g = 0; g < r->ngroups; g++) {
        for (size_t li = 0; li < sv->nlevels; li++) {
            const struct ostel_report_serve_cell *c = &sv->cells[g * sv->nlevels + li];
            if (c->runs == 0)
                continue;
            size_t row = ostel_report_table_row_add(t);
            struct ostel_report_cell *cl = &t->cells[row * t->ncols];
            cl[0].text = ostel_xstrdup(r->groups[g].label);
            cl[1].text = ostel_xstrdup(sv->levels[li].name);
            cl[2].text = ostel_xasprintf("%zu", c->runs);
            for (size_t k = 0; k < nm; k++)
                cl[3 + k].text = ostel_report_fmt_mean_sd(&c->stat[ms[k]], sv_info[ms[k]].decimals);
        }
    }
}

/* serve_groups: each group's latency and throughput per level. */
static void group_latency_table(const struct ostel_report *r, const struct ostel_report_serve *sv,
                                struct ostel_report_tables *out)
{
    static const int lat_m[] = {OSTEL_REPORT_SV_REQ_S,    OSTEL_REPORT_SV_OUT_TPS,
                                OSTEL_REPORT_SV_GOODPUT,  OSTEL_REPORT_SV_TTFT_P50,
                                OSTEL_REPORT_SV_TTFT_P99, OSTEL_REPORT_SV_ITL_P50,
                                OSTEL_REPORT_SV_ITL_P99,  OSTEL_REPORT_SV_E2E_P50,
                                OSTEL_REPORT_SV_E2E_P99,  OSTEL_REPORT_SV_QUEUE_P99};
    const char *head[18] = {"Group", "Level", "Runs"};
    char numeric[19] = "llr";
    size_t nm = OSTEL_ARRAY_LEN(lat_m);
    for (size_t k = 0; k < nm; k++) {
        head[3 + k] = sv_info[lat_m[k]].label;
        numeric[3 + k] = 'r';
    }
    numeric[3 + nm] = '\0';
    struct ostel_report_table *t = ostel_report_table_new(
        out, "serve_groups", "Serving by group: latency and throughput", 3 + nm, head, numeric);
    t->caption = ostel_xstrdup(
        "Mean ± SD over each group's successful serve runs that measured the level (Runs); each "
        "run's value is its level's own figure (a percentile over that level's requests), so "
        "the SD is the spread between repetitions. The 95% CIs are in the statistics table "
        "below.");
    fill_group_levels(r, sv, t, lat_m, nm);
}

/* serve_groups_system: the machine, RSS and CPU always, the server's gauges and the GPU where
 * recorded. */
static void group_system_table(const struct ostel_report *r, const struct ostel_report_serve *sv,
                               struct ostel_report_tables *out)
{
    const char *head[18] = {"Group", "Level", "Runs"};
    char numeric[19] = "llr";
    int sys_m[OSTEL_REPORT_SV_N];
    size_t ns = 0;
    sys_m[ns++] = OSTEL_REPORT_SV_RSS_PEAK;
    sys_m[ns++] = OSTEL_REPORT_SV_CPU_MEAN;
    for (int m = OSTEL_REPORT_SV_BUSY_MAX; m <= OSTEL_REPORT_SV_GPU_J_PER_TOKEN; m++)
        if (sv->present[m])
            sys_m[ns++] = m;
    for (size_t k = 0; k < ns; k++) {
        head[3 + k] = sv_info[sys_m[k]].label;
        numeric[3 + k] = 'r';
    }
    numeric[3 + ns] = '\0';
    struct ostel_report_table *t = ostel_report_table_new(
        out, "serve_groups_system", "Serving by group: the machine", 3 + ns, head, numeric);
    t->caption = ostel_xasprintf(
        "Mean ± SD over the runs. RSS and CPU: the server's process tree in the level's samples "
        "(CPU 100 = one core); busy slots and deferred requests: llama-server's "
        "requests_processing and requests_deferred, highest scrape of /metrics in the level "
        "(deferred > 0: every slot was busy and requests waited in the server)%s%s%s.",
        sv->present[OSTEL_REPORT_SV_KV_MAX]
            ? "; KV cache use: kv_cache_usage_ratio, highest scrape"
            : "; no KV cache use: this llama-server exports no kv_cache_usage_ratio",
        sv->present[OSTEL_REPORT_SV_GPU_MEM]
            ? "; GPU: NVML's gpu_metrics.csv in the level, peaks and mean power summed over the "
              "GPUs"
            : "",
        sv->present[OSTEL_REPORT_SV_GPU_J_PER_TOKEN]
            ? "; J/output token: the level's GPU energy (NVML's counter, prompt processing "
              "included) / its output tokens"
            : "");
    fill_group_levels(r, sv, t, sys_m, ns);
}

/* serve_knee: each group's knee and its peak request throughput. */
static void group_knee_table(const struct ostel_report *r, const struct ostel_report_serve *sv,
                             struct ostel_report_tables *out)
{
    static const char *const knee_head[] = {"Group", "Knee", "Peak req/s", "At", "Why"};
    struct ostel_report_table *t =
        ostel_report_table_new(out, "serve_knee", "Serving by group: the knee",
                               OSTEL_ARRAY_LEN(knee_head), knee_head, "llrll");
    t->caption = ostel_xstrdup(
        "The knee is the first level, in order of load (concurrency and rates apart), at which "
        "a run stopped early as saturated, or the group's mean TTFT p99 is more than twice that "
        "of its lowest level, or llama-server deferred requests (mean deferred max > 0). Peak "
        "req/s: the highest mean request throughput of the group's levels.");
    for (size_t g = 0; g < r->ngroups; g++) {
        if (sv->serve_runs[g] == 0)
            continue;
        double peak = NAN;
        long at = -1;
        for (size_t li = 0; li < sv->nlevels; li++) {
            double v = sv->cells[g * sv->nlevels + li].stat[OSTEL_REPORT_SV_REQ_S].mean;
            if (isfinite(v) && (isnan(peak) || v > peak))
                peak = v, at = (long)li;
        }
        size_t row = ostel_report_table_row_add(t);
        struct ostel_report_cell *cl = &t->cells[row * t->ncols];
        cl[0].text = ostel_xstrdup(r->groups[g].label);
        cl[1].text = ostel_xstrdup(sv->knee[g] >= 0 ? sv->levels[sv->knee[g]].name : "none");
        cl[2].text = fmt(peak, 2);
        cl[3].text = ostel_xstrdup(at >= 0 ? sv->levels[at].name : "—");
        cl[4].text = ostel_xstrdup(sv->knee_why[g] ? sv->knee_why[g] : "—");
    }
}

/* One row of serve_comparison: group's metric m at level against the baseline's (cm). */
static void comparison_row(struct ostel_report_table *t, const char *group, const char *level,
                           int m, const struct ostel_report_cmp *cm)
{
    size_t row = ostel_report_table_row_add(t);
    struct ostel_report_cell *cl = &t->cells[row * t->ncols];
    cl[0].text = ostel_xstrdup(group);
    cl[1].text = ostel_xstrdup(level);
    cl[2].text = ostel_xstrdup(sv_info[m].label);
    cl[3].text = ostel_xasprintf("%.3f×", cm->ratio.ratio);
    cl[4].text = isnan(cm->ratio.lo) ? ostel_xstrdup("—")
                                     : ostel_xasprintf("%.3f – %.3f", cm->ratio.lo, cm->ratio.hi);
    cl[5].text = ostel_report_fmt_p(cm->welch.p);
    double pct = 100 * (cm->ratio.ratio - 1);
    const char *dir = pct >= 0 ? "higher" : "lower";
    if (isnan(cm->welch.p))
        cl[6].text =
            ostel_xasprintf("%.1f%% %s; untested (needs 2 runs in each group)", fabs(pct), dir);
    else if (cm->significant)
        cl[6].text = ostel_xasprintf("%.1f%% %s, significant", fabs(pct), dir);
    else
        cl[6].text = ostel_xstrdup("no significant difference");
    cl[6].bold = cm->significant;
}

/* serve_comparison (two groups or more): each group's levels against the baseline's. */
static void group_comparison_table(const struct ostel_report *r,
                                   const struct ostel_report_serve *sv,
                                   struct ostel_report_tables *out)
{
    static const char *const cmp_head[] = {"Group",  "Level",   "Metric", "Ratio",
                                           "95% CI", "Welch p", "Verdict"};
    const struct ostel_report_group *base = &r->groups[r->baseline];
    struct ostel_report_table *t = ostel_report_table_new(
        out, "serve_comparison", "Serving by group: comparison with the baseline",
        OSTEL_ARRAY_LEN(cmp_head), cmp_head, "lllrrrl");
    t->caption = ostel_xasprintf(
        "Per level, each group's mean divided by the baseline %s's at the same level; the "
        "interval is the delta method on the log ratio, significant when Welch's p < 0.05 "
        "(docs/report.md).",
        base->label);
    for (size_t g = 0; g < r->ngroups; g++) {
        if (g == r->baseline)
            continue;
        for (size_t li = 0; li < sv->nlevels; li++) {
            const struct ostel_report_serve_cell *c = &sv->cells[g * sv->nlevels + li];
            for (int m = 0; m < OSTEL_REPORT_SV_N; m++) {
                const struct ostel_report_cmp *cm = &c->cmp[m];
                if (!sv_info[m].compare || isnan(cm->ratio.ratio))
                    continue;
                comparison_row(t, r->groups[g].label, sv->levels[li].name, m, cm);
            }
        }
    }
    if (t->nrows == 0)
        t->caption = (free(t->caption), ostel_xstrdup("No level could be compared."));
}

/* serve_statistics: every metric's n, mean, CI and CV per group and level. */
static void group_statistics_table(const struct ostel_report *r,
                                   const struct ostel_report_serve *sv,
                                   struct ostel_report_tables *out)
{
    static const char *const st_head[] = {"Group",     "Level",  "Metric", "n",
                                          "Mean ± SD", "95% CI", "CV"};
    struct ostel_report_table *t =
        ostel_report_table_new(out, "serve_statistics", "Serving by group: statistics per level",
                               OSTEL_ARRAY_LEN(st_head), st_head, "lllrrrr");
    t->caption = ostel_xstrdup("Over the group's runs that measured the level. 95% CI: of the "
                               "mean (Student t, n ≥ 2); CV: SD / mean.");
    for (size_t g = 0; g < r->ngroups; g++) {
        for (size_t li = 0; li < sv->nlevels; li++) {
            const struct ostel_report_serve_cell *c = &sv->cells[g * sv->nlevels + li];
            for (int m = 0; m < OSTEL_REPORT_SV_N; m++) {
                const struct ostel_stats_summary *st = &c->stat[m];
                if (st->n == 0)
                    continue;
                int d = sv_info[m].decimals;
                char a[64], b[64];
                size_t row = ostel_report_table_row_add(t);
                struct ostel_report_cell *cl = &t->cells[row * t->ncols];
                cl[0].text = ostel_xstrdup(r->groups[g].label);
                cl[1].text = ostel_xstrdup(sv->levels[li].name);
                cl[2].text = ostel_xstrdup(sv_info[m].label);
                cl[3].text = ostel_xasprintf("%zu", st->n);
                cl[4].text = ostel_report_fmt_mean_sd(st, d);
                cl[5].text =
                    isnan(st->ci_lo)
                        ? ostel_xstrdup("—")
                        : ostel_xasprintf("%s – %s", ostel_report_fmt_num(st->ci_lo, d, a, 64),
                                          ostel_report_fmt_num(st->ci_hi, d, b, 64));
                cl[6].text =
                    isnan(st->cv) ? ostel_xstrdup("—") : ostel_xasprintf("%.1f%%", 100 * st->cv);
            }
        }
    }
}

/* The serving tables by group, in the report's order. */
static void group_tables(const struct ostel_report *r, const struct ostel_report_serve *sv,
                         struct ostel_report_tables *out)
{
    group_latency_table(r, sv, out);
    group_system_table(r, sv, out);
    group_knee_table(r, sv, out);
    if (r->ngroups >= 2)
        group_comparison_table(r, sv, out);
    group_statistics_table(r, sv, out);
}

void ostel_report_serve_tables(const struct ostel_report *r, struct ostel_report_tables *out)
{
    struct ostel_report_serve sv;
    if (ostel_report_serve_build(r, &sv)) {
        group_tables(r, &sv, out);
        ostel_report_serve_free(&sv);
    }
    per_run_tables(r, out);
}

/* ---- JSON and CSV ---- */

cJSON *ostel_report_serve_group_json(const struct ostel_report *r,
                                     const struct ostel_report_serve *sv, size_t g)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "runs", (double)sv->serve_runs[g]);
    cJSON *levels = cJSON_AddArrayToObject(o, "levels");
    for (size_t li = 0; li < sv->nlevels; li++) {
        const struct ostel_report_serve_cell *c = &sv->cells[g * sv->nlevels + li];
        if (c->runs == 0)
            continue;
        cJSON *l = cJSON_CreateObject();
        cJSON_AddItemToArray(levels, l);
        cJSON_AddStringToObject(l, "name", sv->levels[li].name);
        cJSON_AddStringToObject(l, "kind", sv->levels[li].rate ? "rate" : "concurrency");
        cJSON_AddItemToObject(l, "value", ostel_report_json_num(sv->levels[li].value));
        cJSON_AddNumberToObject(l, "runs", (double)c->runs);
        cJSON_AddBoolToObject(l, "saturated", c->saturated);
        cJSON *ms = cJSON_AddObjectToObject(l, "metrics");
        for (int m = 0; m < OSTEL_REPORT_SV_N; m++) {
            const struct ostel_stats_summary *st = &c->stat[m];
            if (!sv->present[m])
                continue;
            cJSON *x = cJSON_AddObjectToObject(ms, sv_info[m].key);
            cJSON_AddNumberToObject(x, "n", (double)st->n);
            cJSON_AddItemToObject(x, "mean", ostel_report_json_num(st->mean));
            cJSON_AddItemToObject(x, "stddev", ostel_report_json_num(st->sd));
            cJSON_AddItemToObject(x, "median", ostel_report_json_num(st->median));
            cJSON_AddItemToObject(x, "min", ostel_report_json_num(st->min));
            cJSON_AddItemToObject(x, "max", ostel_report_json_num(st->max));
            cJSON_AddItemToObject(x, "ci95", ostel_report_json_pair(st->ci_lo, st->ci_hi));
            cJSON_AddItemToObject(x, "cv", ostel_report_json_num(st->cv));
        }
        if (g == r->baseline) {
            cJSON_AddNullToObject(l, "vs_baseline");
            continue;
        }
        cJSON *vs = cJSON_AddObjectToObject(l, "vs_baseline");
        for (int m = 0; m < OSTEL_REPORT_SV_N; m++) {
            const struct ostel_report_cmp *cm = &c->cmp[m];
            if (!sv_info[m].compare || !sv->present[m])
                continue;
            cJSON *x = cJSON_AddObjectToObject(vs, sv_info[m].key);
            cJSON_AddItemToObject(x, "ratio", ostel_report_json_num(cm->ratio.ratio));
            cJSON_AddItemToObject(x, "ci95", ostel_report_json_pair(cm->ratio.lo, cm->ratio.hi));
            cJSON_AddItemToObject(x, "welch_t", ostel_report_json_num(cm->welch.t));
            cJSON_AddItemToObject(x, "welch_df", ostel_report_json_num(cm->welch.df));
            cJSON_AddItemToObject(x, "p", ostel_report_json_num(cm->welch.p));
            cJSON_AddBoolToObject(x, "significant", cm->significant);
        }
    }
    cJSON *k = cJSON_AddObjectToObject(o, "knee");
    if (sv->knee[g] >= 0)
        cJSON_AddStringToObject(k, "level", sv->levels[sv->knee[g]].name);
    else
        cJSON_AddNullToObject(k, "level");
    if (sv->knee_why[g])
        cJSON_AddStringToObject(k, "why", sv->knee_why[g]);
    else
        cJSON_AddNullToObject(k, "why");
    return o;
}

/* A comma, then the CSV report's number (empty for NAN). */
static void csv_num(struct ostel_buf *out, double v)
{
    ostel_buf_putc(out, ',');
    ostel_report_csv_num(out, v);
}

/* A level name as a column-name part: letters, digits, '.' and '_' kept, others '_'. */
static void csv_level(struct ostel_buf *out, const char *name)
{
    for (; *name; name++) {
        char c = *name;
        bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_';
        ostel_buf_putc(out, keep ? c : '_');
    }
}

void ostel_report_serve_csv(const struct ostel_report *r, const struct ostel_report_serve *sv,
                            long group, struct ostel_buf *out)
{
    for (size_t li = 0; li < sv->nlevels; li++) {
        const struct ostel_report_serve_cell *c =
            group >= 0 ? &sv->cells[(size_t)group * sv->nlevels + li] : NULL;
        bool base = group >= 0 && (size_t)group == r->baseline;
        for (int m = 0; m < OSTEL_REPORT_SV_N; m++) {
            if (!sv->present[m])
                continue;
            if (!c) {
                static const char *const suffix[] = {"mean", "sd", "ci95_lo", "ci95_hi"};
                for (size_t k = 0; k < OSTEL_ARRAY_LEN(suffix); k++) {
                    ostel_buf_puts(out, ",serve_");
                    csv_level(out, sv->levels[li].name);
                    ostel_buf_printf(out, "_%s_%s", sv_info[m].key, suffix[k]);
                }
            } else {
                const struct ostel_stats_summary *st = &c->stat[m];
                csv_num(out, st->n ? st->mean : NAN);
                csv_num(out, st->n ? st->sd : NAN);
                csv_num(out, st->n ? st->ci_lo : NAN);
                csv_num(out, st->n ? st->ci_hi : NAN);
            }
        }
        for (int m = 0; m < OSTEL_REPORT_SV_N; m++) {
            if (!sv->present[m] || !sv_info[m].compare)
                continue;
            if (!c) {
                static const char *const suffix[] = {"ratio", "ratio_ci95_lo", "ratio_ci95_hi", "p",
                                                     "significant"};
                for (size_t k = 0; k < OSTEL_ARRAY_LEN(suffix); k++) {
                    ostel_buf_puts(out, ",serve_");
                    csv_level(out, sv->levels[li].name);
                    ostel_buf_printf(out, "_%s_%s", sv_info[m].key, suffix[k]);
                }
            } else {
                const struct ostel_report_cmp *cm = &c->cmp[m];
                csv_num(out, base ? NAN : cm->ratio.ratio);
                csv_num(out, base ? NAN : cm->ratio.lo);
                csv_num(out, base ? NAN : cm->ratio.hi);
                csv_num(out, base ? NAN : cm->welch.p);
                csv_num(out, base || isnan(cm->welch.p) ? NAN : cm->significant ? 1 : 0);
            }
        }
    }
    if (group < 0) {
        ostel_buf_puts(out, ",serve_knee");
    } else {
        ostel_buf_putc(out, ',');
        if (sv->knee[group] >= 0) /* a level name: letters, digits and '.' (csv_level) */
            csv_level(out, sv->levels[sv->knee[group]].name);
    }
}

cJSON *ostel_report_serve_run_levels(const struct ostel_report_run *run)
{
    cJSON *a = cJSON_CreateArray();
    cJSON *s = run->serve_json ? cJSON_Parse(run->serve_json) : NULL;
    const cJSON *l;
    double t0 = run->series.n ? run->series.t0 : NAN;
    cJSON_ArrayForEach(l, cJSON_GetObjectItemCaseSensitive(s, "levels"))
    {
        double st = jnum(l, "start_ts", NULL), en = jnum(l, "end_ts", NULL);
        char nb[96];
        const char *name = level_name(l, nb, sizeof(nb));
        if (!*name || !isfinite(st - t0) || !isfinite(en - t0))
            continue;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", name);
        cJSON_AddItemToObject(o, "start", ostel_report_json_num(st - t0));
        cJSON_AddItemToObject(o, "end", ostel_report_json_num(en - t0));
        cJSON_AddItemToArray(a, o);
    }
    cJSON_Delete(s);
    return a;
}
