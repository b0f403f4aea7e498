/*
 * report_json: the JSON report (schema "ostel.report", version 1; docs/report.md) — every group's
 * statistics, comparison, trends, notes, interpretation, memory prediction against measurement
 * and memory sweep over contexts, and every run's values (no time series: each run's metrics.csv
 * holds its samples). The HTML page embeds the tree's head, not its runs (report_html_scale.c
 * carries those, with their downsampled series, in a compact form of its own). Numbers are
 * rounded to 6 significant digits so golden files do not hinge on the last bit of a floating-point
 * result; not available is null, never 0.
 */
#include "report/report.h"

#include <cJSON.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/report_par.h"

static const char *const note_kinds[] = {
    [OSTEL_REPORT_NOTE_FAILED] = "failed",     [OSTEL_REPORT_NOTE_NO_MEMORY] = "no_memory",
    [OSTEL_REPORT_NOTE_SINGLE] = "single_run", [OSTEL_REPORT_NOTE_OUTLIER] = "outlier",
    [OSTEL_REPORT_NOTE_COLD] = "cold_start",   [OSTEL_REPORT_NOTE_NOISY] = "noisy",
    [OSTEL_REPORT_NOTE_PAGING] = "paging",     [OSTEL_REPORT_NOTE_PRESSURE] = "pressure",
};

cJSON *ostel_report_json_num(double v)
{
    if (!isfinite(v))
        return cJSON_CreateNull();
    char b[32];
    snprintf(b, sizeof(b), "%.6g", v);
    return cJSON_CreateNumber(strtod(b, NULL));
}

/* cJSON before 1.7.16 prints -0 as "-0", later ones as "0" (an int): asked once. */
static bool minus_zero;
static pthread_once_t minus_zero_once = PTHREAD_ONCE_INIT;

static void minus_zero_probe(void)
{
    cJSON *z = cJSON_CreateNumber(-0.0);
    char *t = cJSON_PrintUnformatted(z);
    minus_zero = t && strcmp(t, "-0") == 0;
    cJSON_free(t);
    cJSON_Delete(z);
}

size_t ostel_report_json_double_text(char b[32], double d)
{
    if (!isfinite(d)) {
        memcpy(b, "null", 5);
        return 4;
    }
    if (d == 0) {
        pthread_once(&minus_zero_once, minus_zero_probe);
        bool neg = minus_zero && signbit(d);
        strcpy(b, neg ? "-0" : "0");
        return 1 + neg;
    }
    /* cJSON_CreateNumber's valueint, and print_number's choice of format */
    int vi = d >= INT_MAX ? INT_MAX : d <= (double)INT_MIN ? INT_MIN : (int)d;
    if (d == (double)vi)
        return (size_t)snprintf(b, 32, "%d", vi);
    int n = snprintf(b, 32, "%1.15g", d);
    double t = strtod(b, NULL);
    double max = fabs(t) > fabs(d) ? fabs(t) : fabs(d);
    if (!(fabs(t - d) <= max * DBL_EPSILON))
        n = snprintf(b, 32, "%1.17g", d);
    return (size_t)n;
}

/* Lays out the digits d[0..nd) (no trailing zero), the value d[0].d[1..] × 10^x, as "%.15g" does:
 * fixed from 1e-4 up to 1e15, else "De±XX". */
static size_t layout_g15(char *b, bool neg, const char *d, int nd, int x)
{
    char *w = b;
    if (neg)
        *w++ = '-';
    if (x < -4 || x >= 15) {
        *w++ = d[0];
        if (nd > 1) {
            *w++ = '.';
            memcpy(w, d + 1, (size_t)nd - 1);
            w += nd - 1;
        }
        w += snprintf(w, 8, "e%c%02d", x < 0 ? '-' : '+', x < 0 ? -x : x);
    } else if (x >= 0) {
        for (int i = 0; i <= x; i++)
            *w++ = i < nd ? d[i] : '0';
        if (nd > x + 1) {
            *w++ = '.';
            memcpy(w, d + x + 1, (size_t)(nd - x - 1));
            w += nd - x - 1;
        }
    } else {
        *w++ = '0';
        *w++ = '.';
        for (int i = 0; i < -x - 1; i++)
            *w++ = '0';
        memcpy(w, d, (size_t)nd);
        w += nd;
    }
    *w = '\0';
    return (size_t)(w - b);
}

/*
 * a's 6 significant digits as "%.6g" rounds them (*q in [1e5, 1e6)) and the exponent of the
 * first: a scaled by an exact power of ten (one rounding: 1e-10 off at most) and rounded to an
 * integer, unless that lies within 1e-6 of a tie, where only the exact decimal expansion can tell
 * (false: snprintf decides).
 */
static bool six_digits(double a, long *q, int *x)
{
    static const double p10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                 1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    int e = (int)floor(log10(a));
    for (int tries = 0; tries < 3; tries++) {
        int sc = e - 5;
        if (sc > 22 || sc < -22)
            return false;
        double m = sc >= 0 ? a / p10[sc] : a * p10[-sc];
        if (m < 1e5) {
            e--;
            continue;
        }
        if (m >= 1e6) {
            e++;
            continue;
        }
        double r = floor(m), frac = m - r;
        if (fabs(frac - 0.5) < 1e-6)
            return false;
        *q = (long)r + (frac > 0.5);
        if (*q == 1000000) {
            *q = 100000;
            e++;
        }
        *x = e;
        return true;
    }
    return false;
}

/*
 * cJSON would print strtod("%.6g") with "%1.15g": for a normal double that is the same decimal of
 * at most 6 significant digits (15 digits round-trip it), laid out as "%.15g" lays it out (fixed
 * from 1e-4 up to 1e15, not to 1e6 as "%.6g"), or as "%d" would for an int. So the 6 digits are
 * found (six_digits, else "%.6g"'s text) and laid out again; subnormal and huge magnitudes and
 * zero take cJSON's own way.
 */
size_t ostel_report_json_num_text(char b[32], double v)
{
    if (!isfinite(v)) {
        memcpy(b, "null", 5);
        return 4;
    }
    double a = fabs(v);
    bool neg = signbit(v);
    long q;
    int x;
    if (a >= 1e-300 && a <= 1e300 && six_digits(a, &q, &x)) {
        char d[8];
        int nd = 6;
        for (int i = 5; i >= 0; i--, q /= 10)
            d[i] = (char)('0' + q % 10);
        while (d[nd - 1] == '0')
            nd--;
        return layout_g15(b, neg, d, nd, x);
    }
    char s[32];
    snprintf(s, sizeof(s), "%.6g", v);
    if (!(a >= 1e-300 && a <= 1e300))
        return ostel_report_json_double_text(b, strtod(s, NULL));
    const char *p = s + neg;
    char m[32]; /* the mantissa's digits, its decimal point dropped */
    int nm = 0, ip = -1;
    for (; (*p >= '0' && *p <= '9') || *p == '.'; p++) {
        if (*p == '.')
            ip = nm;
        else if (nm < (int)sizeof(m))
            m[nm++] = *p;
    }
    if (ip < 0)
        ip = nm;
    int e = 0;
    if (*p == 'e')
        e = atoi(p + 1);
    int f = 0;
    while (f < nm && m[f] == '0')
        f++;
    int last = nm;
    while (last > f && m[last - 1] == '0')
        last--;
    if (f == last) /* zero, which the normal range above rules out */
        return ostel_report_json_double_text(b, v);
    return layout_g15(b, neg, m + f, last - f, ip - 1 - f + e);
}

static void add_num(cJSON *o, const char *key, double v)
{
    cJSON_AddItemToObject(o, key, ostel_report_json_num(v));
}

static void add_int(cJSON *o, const char *key, long long v)
{
    if (v < 0)
        cJSON_AddNullToObject(o, key);
    else
        cJSON_AddNumberToObject(o, key, (double)v);
}

static void add_str(cJSON *o, const char *key, const char *s)
{
    if (s && *s)
        cJSON_AddStringToObject(o, key, s);
    else
        cJSON_AddNullToObject(o, key);
}

cJSON *ostel_report_json_pair(double lo, double hi)
{
    if (isnan(lo) || isnan(hi))
        return cJSON_CreateNull();
    cJSON *a = cJSON_CreateArray();
    cJSON_AddItemToArray(a, ostel_report_json_num(lo));
    cJSON_AddItemToArray(a, ostel_report_json_num(hi));
    return a;
}

static cJSON *summary_json(const struct ostel_stats_summary *s, double value)
{
    cJSON *o = cJSON_CreateObject();
    add_num(o, "value", value);
    cJSON_AddNumberToObject(o, "n", (double)s->n);
    add_num(o, "mean", s->mean);
    add_num(o, "stddev", s->sd);
    add_num(o, "median", s->median);
    add_num(o, "min", s->min);
    add_num(o, "max", s->max);
    cJSON_AddItemToObject(o, "ci95", ostel_report_json_pair(s->ci_lo, s->ci_hi));
    add_num(o, "cv", s->cv);
    return o;
}

static cJSON *phases_json(const double tel[OSTEL_REPORT_NPHASES][OSTEL_REPORT_NTEL],
                          const bool present[OSTEL_REPORT_NPHASES])
{
    cJSON *o = cJSON_CreateObject();
    for (int p = 0; p < OSTEL_REPORT_NPHASES; p++) {
        if (!present[p]) {
            cJSON_AddNullToObject(o, ostel_report_phase_name(p));
            continue;
        }
        cJSON *ph = cJSON_AddObjectToObject(o, ostel_report_phase_name(p));
        for (int t = 0; t < OSTEL_REPORT_NTEL; t++)
            add_num(ph, ostel_report_tel_key(t), tel[p][t]);
    }
    return o;
}

static cJSON *cmpval_json(const struct ostel_report_cmpval *v)
{
    cJSON *o = cJSON_CreateObject();
    add_num(o, "predicted_mib", v->predicted_mib);
    add_num(o, "measured_mib", v->measured_mib);
    add_num(o, "error_pct", v->error_pct);
    return o;
}

static void add_bool_or_null(cJSON *o, const char *key, int v)
{
    if (v < 0)
        cJSON_AddNullToObject(o, key);
    else
        cJSON_AddBoolToObject(o, key, v);
}

/* The group's prediction rows (context × device) and totals. */
static cJSON *group_prediction_json(const struct ostel_report_group *g)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "runs", (double)g->n_pred);
    add_bool_or_null(o, "within_bars", g->pred_within_bars);
    cJSON *tot = cJSON_AddObjectToObject(o, "total");
    for (int k = 0; k < OSTEL_REPORT_PART_OUTPUT; k++)
        cJSON_AddItemToObject(tot, ostel_report_part_name(k), cmpval_json(&g->pred_total[k]));
    cJSON *rows = cJSON_AddArrayToObject(o, "rows");
    for (size_t i = 0; i < g->npred; i++) {
        const struct ostel_report_pred_row *p = &g->pred[i];
        cJSON *j = cJSON_CreateObject();
        add_int(j, "n_ctx", p->n_ctx);
        cJSON_AddStringToObject(j, "device", p->device);
        cJSON_AddNumberToObject(j, "runs", (double)p->runs);
        for (int k = 0; k < OSTEL_REPORT_PART_OUTPUT; k++) {
            cJSON *v = cmpval_json(&p->part[k]);
            cJSON_AddBoolToObject(v, "outside_bar", p->outside[k]);
            cJSON_AddItemToObject(j, ostel_report_part_name(k), v);
        }
        cJSON_AddItemToArray(rows, j);
    }
    cJSON *bars = cJSON_AddObjectToObject(o, "bars_pct");
    for (int k = 0; k < OSTEL_REPORT_PART_OUTPUT; k++)
        add_num(bars, ostel_report_part_name(k), ostel_report_part_bar_pct(k));
    return o;
}

/* Memory against context: points, the runs' measured totals, and why there is none. */
static cJSON *sweep_json(const struct ostel_report_sweep *sw)
{
    cJSON *o = cJSON_CreateObject();
    add_str(o, "settings", sw->params);
    add_num(o, "n_ctx_train", sw->n_ctx_train);
    cJSON_AddBoolToObject(o, "gpu", sw->gpu);
    cJSON *pts = cJSON_AddArrayToObject(o, "points");
    for (size_t i = 0; i < sw->n; i++) {
        const struct ostel_report_sweep_point *p = &sw->pt[i];
        cJSON *j = cJSON_CreateObject();
        add_num(j, "n_ctx", p->n_ctx);
        add_num(j, "host_mib", p->host_mib);
        add_num(j, "gpu_mib", p->gpu_mib);
        add_num(j, "model_mib", p->model_mib);
        add_num(j, "kv_mib", p->kv_mib);
        add_num(j, "compute_mib", p->compute_mib);
        cJSON_AddItemToArray(pts, j);
    }
    cJSON *ms = cJSON_AddArrayToObject(o, "measured");
    for (size_t i = 0; i < sw->nmarks; i++) {
        const struct ostel_report_sweep_mark *m = &sw->marks[i];
        cJSON *j = cJSON_CreateObject();
        add_str(j, "run", m->run);
        add_num(j, "n_ctx", m->n_ctx);
        add_num(j, "host_mib", m->host_mib);
        add_num(j, "gpu_mib", m->gpu_mib);
        cJSON_AddItemToArray(ms, j);
    }
    add_str(o, "note", sw->note);
    return o;
}

static const char *const group_key_names[] = {"tag", "model", "ctx", "gen", "scenario"};

cJSON *ostel_report_json_tree_head(const struct ostel_report *r)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "schema", "ostel.report");
    cJSON_AddNumberToObject(root, "schema_version", 1);
    cJSON *by = cJSON_AddArrayToObject(root, "group_by");
    for (unsigned k = 0; k < OSTEL_ARRAY_LEN(group_key_names); k++)
        if (r->group_by & (1u << k))
            cJSON_AddItemToArray(by, cJSON_CreateString(group_key_names[k]));
    cJSON_AddStringToObject(root, "baseline", r->groups[r->baseline].label);
    cJSON *groups = cJSON_AddArrayToObject(root, "groups");
    struct ostel_report_serve sv;
    bool serve = ostel_report_serve_build(r, &sv); /* "serve" only when some run served */
    for (size_t gi = 0; gi < r->ngroups; gi++) {
        const struct ostel_report_group *g = &r->groups[gi];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddItemToArray(groups, o);
        cJSON_AddStringToObject(o, "label", g->label);
        add_str(o, "model", g->model);
        add_str(o, "device", g->device);
        cJSON_AddNumberToObject(o, "n_runs", (double)g->n);
        cJSON_AddNumberToObject(o, "n_ok", (double)g->n_ok);
        cJSON *names = cJSON_AddArrayToObject(o, "runs");
        for (size_t i = 0; i < g->n; i++)
            cJSON_AddItemToArray(names, cJSON_CreateString(r->set->runs[g->runs[i]].name));
        cJSON *ms = cJSON_AddObjectToObject(o, "metrics");
        for (int m = 0; m < OSTEL_REPORT_NMETRIC; m++)
            if (r->gpu || !ostel_report_metric_is_gpu(m))
                cJSON_AddItemToObject(ms, ostel_report_metric_info(m)->key,
                                      summary_json(&g->stat[m], g->value[m]));
        cJSON_AddItemToObject(o, "phases", phases_json(g->phase_value, g->phase_present));
        if (gi == r->baseline) {
            cJSON_AddNullToObject(o, "vs_baseline");
        } else {
            cJSON *vs = cJSON_AddObjectToObject(o, "vs_baseline");
            for (int m = 0; m < OSTEL_REPORT_NMETRIC; m++) {
                const struct ostel_report_cmp *c = &g->cmp[m];
                if (!ostel_report_metric_info(m)->compare ||
                    (!r->gpu && ostel_report_metric_is_gpu(m)))
                    continue;
                cJSON *cm = cJSON_AddObjectToObject(vs, ostel_report_metric_info(m)->key);
                add_num(cm, "ratio", c->ratio.ratio);
                cJSON_AddItemToObject(cm, "ci95", ostel_report_json_pair(c->ratio.lo, c->ratio.hi));
                add_num(cm, "welch_t", c->welch.t);
                add_num(cm, "welch_df", c->welch.df);
                add_num(cm, "p", c->welch.p);
                cJSON_AddBoolToObject(cm, "significant", c->significant);
            }
        }
        cJSON *tr = cJSON_AddObjectToObject(o, "trends");
        for (int k = 0; k < OSTEL_REPORT_NTREND; k++) {
            const struct ostel_stats_trend *t = &g->trend[k];
            cJSON *to = cJSON_AddObjectToObject(
                tr, ostel_report_metric_info(ostel_report_trend_metric(k))->key);
            cJSON_AddNumberToObject(to, "n", (double)t->n);
            add_num(to, "slope_per_run", t->slope);
            add_num(to, "p", t->p);
        }
        cJSON *notes = cJSON_AddArrayToObject(o, "notes");
        for (size_t k = 0; k < g->nnotes; k++) {
            cJSON *no = cJSON_CreateObject();
            cJSON_AddStringToObject(no, "kind", note_kinds[g->notes[k].kind]);
            cJSON_AddStringToObject(no, "brief", g->notes[k].brief);
            cJSON_AddStringToObject(no, "text", g->notes[k].text);
            cJSON_AddItemToArray(notes, no);
        }
        add_str(o, "interpretation", g->interpretation);
        add_num(o, "plan_mib", g->plan_mib);
        add_str(o, "plan_basis", g->plan_basis);
        cJSON_AddItemToObject(o, "prediction", group_prediction_json(g));
        cJSON_AddItemToObject(o, "memory_sweep", sweep_json(&g->sweep));
        cJSON_AddItemToObject(o, "quality", ostel_report_quality_json(r, gi));
        cJSON *mach = cJSON_AddObjectToObject(o, "machine");
        add_num(mach, "ram_mib", g->ram_mib);
        add_num(mach, "mem_available_start_mib", g->avail_mib);
        if (serve)
            cJSON_AddItemToObject(o, "serve", ostel_report_serve_group_json(r, &sv, gi));
    }
    if (serve)
        ostel_report_serve_free(&sv);
    return root;
}

/*
 * A writer of cJSON_Print's layout without the tree: an object opens "{\n" one level deeper, its
 * members stand on lines of their own (depth tabs, "key":<tab>value) joined by ",\n", and it
 * closes on a line one level up (an empty one as "{\n" and the tabs); an array opens a level too,
 * its elements joined by ", " on the same line. Numbers and strings are printed as cJSON prints
 * them.
 */
struct jw {
    struct ostel_buf *b;
    int depth, top;
    int count[16]; /* members or elements written at each open level */
};

static void jw_tabs(struct jw *w, int n)
{
    static const char tabs[] = "\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t";
    ostel_buf_append(w->b, tabs, (size_t)n);
}

static void jw_open(struct jw *w, char c)
{
    OSTEL_ASSERT(w->top + 1 < (int)OSTEL_ARRAY_LEN(w->count));
    ostel_buf_putc(w->b, c);
    if (c == '{')
        ostel_buf_putc(w->b, '\n');
    w->depth++;
    w->count[++w->top] = 0;
}

static void jw_close(struct jw *w, char c)
{
    w->depth--;
    if (c == '}') {
        if (w->count[w->top])
            ostel_buf_putc(w->b, '\n');
        jw_tabs(w, w->depth);
    }
    ostel_buf_putc(w->b, c);
    w->top--;
}

static void jw_strval(struct jw *w, const char *s)
{
    struct ostel_buf *b = w->b;
    ostel_buf_putc(b, '"');
    const char *run = s;
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (*c > 31 && *c != '"' && *c != '\\')
            continue;
        ostel_buf_append(b, run, (size_t)((const char *)c - run));
        run = (const char *)c + 1;
        switch (*c) {
        case '"':
            ostel_buf_puts(b, "\\\"");
            break;
        case '\\':
            ostel_buf_puts(b, "\\\\");
            break;
        case '\b':
            ostel_buf_puts(b, "\\b");
            break;
        case '\f':
            ostel_buf_puts(b, "\\f");
            break;
        case '\n':
            ostel_buf_puts(b, "\\n");
            break;
        case '\r':
            ostel_buf_puts(b, "\\r");
            break;
        case '\t':
            ostel_buf_puts(b, "\\t");
            break;
        default:
            ostel_buf_printf(b, "\\u%04x", *c);
        }
    }
    ostel_buf_puts(b, run);
    ostel_buf_putc(b, '"');
}

/* The next element of an array. */
static void jw_elem(struct jw *w)
{
    if (w->count[w->top]++)
        ostel_buf_append(w->b, ", ", 2);
}

static void jw_key(struct jw *w, const char *key)
{
    if (w->count[w->top]++)
        ostel_buf_append(w->b, ",\n", 2);
    jw_tabs(w, w->depth);
    jw_strval(w, key);
    ostel_buf_append(w->b, ":\t", 2);
}

static void jw_null(struct jw *w, const char *key)
{
    jw_key(w, key);
    ostel_buf_append(w->b, "null", 4);
}

static void jw_num(struct jw *w, const char *key, double v)
{
    char t[32];
    jw_key(w, key);
    ostel_buf_append(w->b, t, ostel_report_json_num_text(t, v));
}

static void jw_double(struct jw *w, const char *key, double v)
{
    char t[32];
    jw_key(w, key);
    ostel_buf_append(w->b, t, ostel_report_json_double_text(t, v));
}

static void jw_int(struct jw *w, const char *key, long long v)
{
    if (v < 0)
        jw_null(w, key);
    else
        jw_double(w, key, (double)v);
}

static void jw_bool(struct jw *w, const char *key, bool v)
{
    jw_key(w, key);
    ostel_buf_puts(w->b, v ? "true" : "false");
}

static void jw_bool_or_null(struct jw *w, const char *key, int v)
{
    if (v < 0)
        jw_null(w, key);
    else
        jw_bool(w, key, v);
}

static void jw_str(struct jw *w, const char *key, const char *s)
{
    if (s && *s) {
        jw_key(w, key);
        jw_strval(w, s);
    } else {
        jw_null(w, key);
    }
}

static void jw_cmpval(struct jw *w, const char *key, const struct ostel_report_cmpval *v)
{
    jw_key(w, key);
    jw_open(w, '{');
    jw_num(w, "predicted_mib", v->predicted_mib);
    jw_num(w, "measured_mib", v->measured_mib);
    jw_num(w, "error_pct", v->error_pct);
    jw_close(w, '}');
}

/* One run's object in the report's "runs" array, written at w's depth; group is its group's label
 * (borrowed). */
static void run_write(struct jw *w, const struct ostel_report *r, size_t idx, const char *group)
{
    const struct ostel_report_run *run = &r->set->runs[idx];
    jw_open(w, '{');
    jw_str(w, "name", run->name);
    jw_str(w, "path", run->path);
    jw_str(w, "group", group);
    jw_str(w, "tag", run->tag);
    jw_str(w, "status", run->status);
    jw_int(w, "exit_code", run->exit_code);
    jw_str(w, "signal", run->signal);
    jw_bool(w, "oom_killed", run->oom_killed);
    jw_str(w, "model", run->model);
    jw_str(w, "model_type", run->model_type);
    jw_num(w, "model_size_mib", run->model_size_mib);
    jw_num(w, "model_n_params", run->model_n_params);
    jw_int(w, "ctx", run->ctx);
    jw_int(w, "gen", run->gen);
    jw_num(w, "n_prompt", run->n_prompt);
    jw_num(w, "n_gen", run->n_gen);
    jw_int(w, "repetition", run->repetition);
    jw_str(w, "scenario", run->scenario);
    jw_str(w, "tool", run->tool);
    jw_str(w, "llama_version", run->llama_version);
    jw_str(w, "device", run->device);
    jw_str(w, "device_desc", run->device_desc);
    if (isfinite(run->start_ts))
        jw_double(w, "start_ts", round(run->start_ts * 1000) / 1000);
    else
        jw_null(w, "start_ts");
    jw_key(w, "metrics");
    jw_open(w, '{');
    for (int k = 0; k < OSTEL_REPORT_NMETRIC; k++)
        if (r->gpu || !ostel_report_metric_is_gpu(k))
            jw_num(w, ostel_report_metric_info(k)->key, run->metric[k]);
    jw_close(w, '}');
    jw_key(w, "phases");
    jw_open(w, '{');
    for (int p = 0; p < OSTEL_REPORT_NPHASES; p++) {
        if (!run->phase_present[p]) {
            jw_null(w, ostel_report_phase_name(p));
            continue;
        }
        jw_key(w, ostel_report_phase_name(p));
        jw_open(w, '{');
        for (int t = 0; t < OSTEL_REPORT_NTEL; t++)
            jw_num(w, ostel_report_tel_key(t), run->tel[p][t]);
        jw_close(w, '}');
    }
    jw_close(w, '}');
    const struct ostel_report_prediction *p = &run->pred;
    if (!p->present) {
        jw_null(w, "prediction");
    } else {
        jw_key(w, "prediction");
        jw_open(w, '{');
        for (int k = 0; k < OSTEL_REPORT_NPARTS; k++)
            jw_cmpval(w, ostel_report_part_name(k), &p->part[k]);
        jw_key(w, "devices");
        jw_open(w, '[');
        for (size_t d = 0; d < p->ndev; d++) {
            jw_elem(w);
            jw_open(w, '{');
            jw_key(w, "device");
            jw_strval(w, p->dev[d].name);
            for (int k = 0; k < OSTEL_REPORT_PART_OUTPUT; k++)
                jw_cmpval(w, ostel_report_part_name(k), &p->dev[d].part[k]);
            jw_close(w, '}');
        }
        jw_close(w, ']');
        jw_int(w, "n_ctx", p->n_ctx);
        jw_str(w, "source", p->source);
        jw_str(w, "backend", p->backend);
        jw_bool_or_null(w, "within_bars", p->within_bars);
        jw_str(w, "note", p->note);
        jw_close(w, '}');
    }
    jw_num(w, "ram_mib", run->ram_mib);
    jw_num(w, "mem_available_start_mib", run->avail_start_mib);
    jw_str(w, "log_tail", run->log_tail);
    jw_close(w, '}');
}

/* One run's text as it stands in the report's "runs" array (the root's object, then the array,
 * two levels deep), laid out as cJSON_Print lays out a tree. */
static char *run_text(const struct ostel_report *r, size_t gi, size_t i)
{
    struct ostel_buf b;
    ostel_buf_init(&b, 0);
    struct jw w = {.b = &b, .depth = 2};
    run_write(&w, r, r->groups[gi].runs[i], r->groups[gi].label);
    return ostel_buf_detach(&b);
}

struct runs_job {
    const struct ostel_report *r;
    size_t (*at)[2]; /* group, index in group */
    char **text;
};

static void run_text_at(void *ctx, size_t k)
{
    struct runs_job *job = ctx;
    job->text[k] = run_text(job->r, job->at[k][0], job->at[k][1]);
}

#define RUNS_BATCH 2048 /* runs printed at once (on a few threads), then appended and freed */

/*
 * The report in cJSON_Print's layout, its runs written a batch at a time: a tree of 10,000 runs
 * took a quarter of a gigabyte, one batch's texts take a few megabytes; the batch's runs are
 * written (run_write, no tree) on a few threads, each into its own string; the head, a few
 * groups, is a cJSON tree printed. cJSON would print the runs array, the root's last member, as
 * "\t\"runs\":\t[{" then each object's members two tabs deeper than when printed alone, joined
 * by ", ", and "]\n}" at the end. test_report parses what this writes, prints it again with cJSON
 * (the same bytes) and checks every run's values against the report's structs.
 */
void ostel_report_json_write(const struct ostel_report *r, struct ostel_buf *out)
{
    cJSON *root = ostel_report_json_tree_head(r);
    char *s = cJSON_Print(root);
    OSTEL_ASSERT(s != NULL);
    size_t n = strlen(s);
    OSTEL_ASSERT(n >= 2 && s[n - 1] == '}' && s[n - 2] == '\n');
    ostel_buf_append(out, s, n - 2);
    ostel_buf_puts(out, ",\n\t\"runs\":\t[");
    cJSON_free(s);
    cJSON_Delete(root);
    struct runs_job job = {r, ostel_xmalloc(RUNS_BATCH * sizeof(*job.at)),
                           ostel_xmalloc(RUNS_BATCH * sizeof(*job.text))};
    size_t nb = 0, written = 0;
    for (size_t gi = 0; gi < r->ngroups; gi++) {
        for (size_t i = 0; i < r->groups[gi].n; i++) {
            job.at[nb][0] = gi;
            job.at[nb][1] = i;
            bool last = gi + 1 == r->ngroups && i + 1 == r->groups[gi].n;
            if (++nb < RUNS_BATCH && !last)
                continue;
            ostel_report_parallel(nb, 64, run_text_at, &job);
            for (size_t k = 0; k < nb; k++) {
                if (written++)
                    ostel_buf_puts(out, ", ");
                ostel_buf_puts(out, job.text[k]);
                free(job.text[k]);
            }
            nb = 0;
        }
    }
    free(job.at);
    free(job.text);
    ostel_buf_puts(out, "]\n}\n");
}
