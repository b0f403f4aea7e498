/*
 * aggregate: per-phase reduction of metrics rows (see aggregate.h).
 */
#include "run/aggregate.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Folds one cell's value x into statistic k of s (agg its reduction); aux[k] holds SPAN's first
 * value and MEAN's count. */
static void fold(struct ostel_phase_stats *s, double *aux, int k, enum ostel_phase_agg agg,
                 double x)
{
    bool first = !s->has[k];
    s->has[k] = true;
    switch (agg) {
    case OSTEL_PHASE_AGG_FIRST:
        if (first)
            s->v[k] = x;
        break;
    case OSTEL_PHASE_AGG_LAST:
        s->v[k] = x;
        break;
    case OSTEL_PHASE_AGG_SPAN:
        if (first)
            aux[k] = x;
        s->v[k] = x - aux[k];
        break;
    case OSTEL_PHASE_AGG_COUNT:
        s->v[k] += 1;
        break;
    case OSTEL_PHASE_AGG_MAX:
        if (first || x > s->v[k])
            s->v[k] = x;
        break;
    case OSTEL_PHASE_AGG_MIN:
        if (first || x < s->v[k])
            s->v[k] = x;
        break;
    case OSTEL_PHASE_AGG_SUM:
        s->v[k] += x;
        break;
    case OSTEL_PHASE_AGG_MEAN:
        s->v[k] += x;
        aux[k] += 1;
        break;
    }
}

void ostel_aggregate_phase(const struct ostel_metrics_row *rows, size_t n, enum ostel_phase phase,
                           struct ostel_phase_stats *s)
{
    memset(s, 0, sizeof(*s));
    enum ostel_phase_agg agg[OSTEL_PHASE_STAT_COUNT];
    enum ostel_metric_col col[OSTEL_PHASE_STAT_COUNT];
    double aux[OSTEL_PHASE_STAT_COUNT] = {0};
    for (int k = 0; k < OSTEL_PHASE_STAT_COUNT; k++) {
        agg[k] = ostel_phase_stat((enum ostel_phase_stat)k)->agg;
        col[k] = ostel_phase_stat((enum ostel_phase_stat)k)->col;
    }
    for (size_t i = 0; i < n; i++) {
        const struct ostel_metrics_row *r = &rows[i];
        if (phase != OSTEL_PHASE_NONE && r->phase != phase)
            continue;
        s->rows++;
        for (int k = 0; k < OSTEL_PHASE_STAT_COUNT; k++)
            if (agg[k] == OSTEL_PHASE_AGG_COUNT || ostel_metrics_has(r, col[k]))
                fold(s, aux, k, agg[k], r->v[col[k]]);
    }
    for (int k = 0; k < OSTEL_PHASE_STAT_COUNT; k++)
        if (agg[k] == OSTEL_PHASE_AGG_MEAN && s->has[k])
            s->v[k] /= aux[k];
}

cJSON *ostel_aggregate_to_json(const struct ostel_phase_stats *s)
{
    if (s->rows == 0)
        return cJSON_CreateNull();
    cJSON *o = cJSON_CreateObject();
    for (int k = 0; k < OSTEL_PHASE_STAT_COUNT; k++) {
        const struct ostel_phase_stat_info *info = ostel_phase_stat((enum ostel_phase_stat)k);
        double v = s->v[k];
        /* the timestamps and the count as they are, the rest to 3 decimals */
        bool exact = info->agg == OSTEL_PHASE_AGG_FIRST || info->agg == OSTEL_PHASE_AGG_LAST ||
                     info->agg == OSTEL_PHASE_AGG_COUNT;
        if (s->has[k] && isfinite(v))
            cJSON_AddNumberToObject(o, info->key, exact ? v : round(v * 1000.0) / 1000.0);
        else
            cJSON_AddNullToObject(o, info->key);
    }
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
