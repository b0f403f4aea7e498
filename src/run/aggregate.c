/*
 * aggregate: per-phase reduction of metrics rows (see aggregate.h).
 */
#include "run/aggregate.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void upd_max(bool *has, double *dst, double v)
{
    if (!*has || v > *dst)
        *dst = v;
    *has = true;
}

static void upd_min(bool *has, double *dst, double v)
{
    if (!*has || v < *dst)
        *dst = v;
    *has = true;
}

static void upd_sum(bool *has, double *dst, double v)
{
    if (!*has)
        *dst = 0;
    *dst += v;
    *has = true;
}

void ostel_aggregate_phase(const struct ostel_metrics_row *rows, size_t n, enum ostel_phase phase,
                           struct ostel_phase_stats *s)
{
    memset(s, 0, sizeof(*s));
    for (size_t i = 0; i < n; i++) {
        const struct ostel_metrics_row *r = &rows[i];
        if (phase != OSTEL_PHASE_NONE && r->phase != phase)
            continue;
        const double *v = r->v;
        if (s->samples == 0)
            s->start_ts = v[OSTEL_COL_TS];
        s->end_ts = v[OSTEL_COL_TS];
        s->samples++;
        if (ostel_metrics_has(r, OSTEL_COL_RSS_MB)) {
            upd_max(&s->has_rss, &s->rss_peak_mib, v[OSTEL_COL_RSS_MB]);
            s->rss_sum += v[OSTEL_COL_RSS_MB];
            s->rss_n++;
        }
        if (ostel_metrics_has(r, OSTEL_COL_RSS_ANON_MB))
            upd_max(&s->has_anon, &s->rss_anon_peak_mib, v[OSTEL_COL_RSS_ANON_MB]);
        if (ostel_metrics_has(r, OSTEL_COL_RSS_FILE_MB))
            upd_max(&s->has_file, &s->rss_file_peak_mib, v[OSTEL_COL_RSS_FILE_MB]);
        if (ostel_metrics_has(r, OSTEL_COL_CPU_PCT)) {
            upd_max(&s->has_cpu, &s->cpu_peak_pct, v[OSTEL_COL_CPU_PCT]);
            s->cpu_sum += v[OSTEL_COL_CPU_PCT];
            s->cpu_n++;
        }
        if (ostel_metrics_has(r, OSTEL_COL_PAGEINS_DELTA))
            upd_sum(&s->has_pageins, &s->pageins, v[OSTEL_COL_PAGEINS_DELTA]);
        if (ostel_metrics_has(r, OSTEL_COL_PAGEOUTS_DELTA))
            upd_sum(&s->has_pageouts, &s->pageouts, v[OSTEL_COL_PAGEOUTS_DELTA]);
        if (ostel_metrics_has(r, OSTEL_COL_MAJFLT_DELTA))
            upd_sum(&s->has_majflt, &s->majflt, v[OSTEL_COL_MAJFLT_DELTA]);
        if (ostel_metrics_has(r, OSTEL_COL_MINFLT_DELTA))
            upd_sum(&s->has_minflt, &s->minflt, v[OSTEL_COL_MINFLT_DELTA]);
        if (ostel_metrics_has(r, OSTEL_COL_SWAPIN_DELTA))
            upd_sum(&s->has_swapins, &s->swapins, v[OSTEL_COL_SWAPIN_DELTA]);
        if (ostel_metrics_has(r, OSTEL_COL_SWAPOUT_DELTA))
            upd_sum(&s->has_swapouts, &s->swapouts, v[OSTEL_COL_SWAPOUT_DELTA]);
        if (ostel_metrics_has(r, OSTEL_COL_VM_PRESSURE_FLAG))
            upd_max(&s->has_pressure, &s->pressure_worst, v[OSTEL_COL_VM_PRESSURE_FLAG]);
        if (ostel_metrics_has(r, OSTEL_COL_AVAIL_MEM_LEVEL))
            upd_min(&s->has_avail, &s->avail_min_pct, v[OSTEL_COL_AVAIL_MEM_LEVEL]);
        if (ostel_metrics_has(r, OSTEL_COL_SYS_AVAIL_MB))
            upd_min(&s->has_sys_avail, &s->sys_avail_min_mib, v[OSTEL_COL_SYS_AVAIL_MB]);
        if (ostel_metrics_has(r, OSTEL_COL_PSI_SOME_PCT))
            upd_max(&s->has_psi_some, &s->psi_some_max_pct, v[OSTEL_COL_PSI_SOME_PCT]);
        if (ostel_metrics_has(r, OSTEL_COL_PSI_FULL_PCT))
            upd_max(&s->has_psi_full, &s->psi_full_max_pct, v[OSTEL_COL_PSI_FULL_PCT]);
        if (ostel_metrics_has(r, OSTEL_COL_SWAP_MB))
            upd_max(&s->has_swap, &s->swap_peak_mib, v[OSTEL_COL_SWAP_MB]);
        if (ostel_metrics_has(r, OSTEL_COL_THREADS))
            upd_max(&s->has_threads, &s->threads_peak, v[OSTEL_COL_THREADS]);
        if (ostel_metrics_has(r, OSTEL_COL_FOOTPRINT_MB))
            upd_max(&s->has_footprint, &s->footprint_peak_mib, v[OSTEL_COL_FOOTPRINT_MB]);
        if (ostel_metrics_has(r, OSTEL_COL_FOOTPRINT_PEAK_MB))
            upd_max(&s->has_footprint_life, &s->footprint_lifetime_peak_mib,
                    v[OSTEL_COL_FOOTPRINT_PEAK_MB]);
    }
    if (s->rss_n)
        s->rss_mean_mib = s->rss_sum / (double)s->rss_n;
    if (s->cpu_n)
        s->cpu_mean_pct = s->cpu_sum / (double)s->cpu_n;
}

static void add_opt(cJSON *o, const char *key, bool has, double v)
{
    if (has && isfinite(v))
        cJSON_AddNumberToObject(o, key, round(v * 1000.0) / 1000.0);
    else
        cJSON_AddNullToObject(o, key);
}

cJSON *ostel_aggregate_to_json(const struct ostel_phase_stats *s)
{
    if (s->samples == 0)
        return cJSON_CreateNull();
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "start_ts", s->start_ts);
    cJSON_AddNumberToObject(o, "end_ts", s->end_ts);
    cJSON_AddNumberToObject(o, "duration_s", round((s->end_ts - s->start_ts) * 1000.0) / 1000.0);
    cJSON_AddNumberToObject(o, "samples", (double)s->samples);
    add_opt(o, "rss_peak_mib", s->has_rss, s->rss_peak_mib);
    add_opt(o, "rss_mean_mib", s->has_rss, s->rss_mean_mib);
    add_opt(o, "rss_anon_peak_mib", s->has_anon, s->rss_anon_peak_mib);
    add_opt(o, "rss_file_peak_mib", s->has_file, s->rss_file_peak_mib);
    add_opt(o, "cpu_mean_pct", s->has_cpu, s->cpu_mean_pct);
    add_opt(o, "cpu_peak_pct", s->has_cpu, s->cpu_peak_pct);
    add_opt(o, "pageins", s->has_pageins, s->pageins);
    add_opt(o, "pageouts", s->has_pageouts, s->pageouts);
    add_opt(o, "majflt", s->has_majflt, s->majflt);
    add_opt(o, "minflt", s->has_minflt, s->minflt);
    add_opt(o, "swapins", s->has_swapins, s->swapins);
    add_opt(o, "swapouts", s->has_swapouts, s->swapouts);
    add_opt(o, "pressure_worst", s->has_pressure, s->pressure_worst);
    add_opt(o, "avail_min_pct", s->has_avail, s->avail_min_pct);
    add_opt(o, "sys_avail_min_mib", s->has_sys_avail, s->sys_avail_min_mib);
    add_opt(o, "psi_some_max_pct", s->has_psi_some, s->psi_some_max_pct);
    add_opt(o, "psi_full_max_pct", s->has_psi_full, s->psi_full_max_pct);
    add_opt(o, "swap_peak_mib", s->has_swap, s->swap_peak_mib);
    add_opt(o, "threads_peak", s->has_threads, s->threads_peak);
    add_opt(o, "footprint_peak_mib", s->has_footprint, s->footprint_peak_mib);
    add_opt(o, "footprint_lifetime_peak_mib", s->has_footprint_life,
            s->footprint_lifetime_peak_mib);
    return o;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

cJSON *ostel_aggregate_telemetry_json(const struct ostel_metrics_row *rows, size_t n,
                                      double interval_ms)
{
    cJSON *t = cJSON_CreateObject();
    cJSON_AddNumberToObject(t, "samples", (double)n);
    cJSON_AddNumberToObject(t, "interval_ms", interval_ms);
    if (n >= 2) {
        double *gaps = ostel_xmalloc((n - 1) * sizeof(double));
        double sum = 0;
        for (size_t i = 1; i < n; i++) {
            gaps[i - 1] = (rows[i].v[OSTEL_COL_TS] - rows[i - 1].v[OSTEL_COL_TS]) * 1000.0;
            sum += gaps[i - 1];
        }
        qsort(gaps, n - 1, sizeof(double), cmp_double);
        size_t k = (size_t)ceil(0.99 * (double)(n - 1)) - 1;
        if (k >= n - 1)
            k = n - 2;
        cJSON_AddNumberToObject(t, "interval_ms_mean", round(sum / (double)(n - 1) * 1000) / 1000);
        cJSON_AddNumberToObject(t, "interval_ms_p99", round(gaps[k] * 1000) / 1000);
        free(gaps);
    } else {
        cJSON_AddNullToObject(t, "interval_ms_mean");
        cJSON_AddNullToObject(t, "interval_ms_p99");
    }
    struct ostel_phase_stats s;
    ostel_aggregate_phase(rows, n, OSTEL_PHASE_NONE, &s);
    cJSON_AddItemToObject(t, "overall", ostel_aggregate_to_json(&s));
    cJSON *ph = cJSON_AddObjectToObject(t, "phases");
    for (int p = OSTEL_PHASE_LOAD; p < OSTEL_PHASE_COUNT; p++) {
        ostel_aggregate_phase(rows, n, (enum ostel_phase)p, &s);
        cJSON_AddItemToObject(ph, ostel_metrics_phase_name((enum ostel_phase)p),
                              ostel_aggregate_to_json(&s));
    }
    return t;
}
