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
#include <math.h>
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

/* A run's prediction as summary.json had it (docs/fit.md), or null. */
static cJSON *prediction_json(const struct ostel_report_prediction *p)
{
    if (!p->present)
        return cJSON_CreateNull();
    cJSON *o = cJSON_CreateObject();
    for (int k = 0; k < OSTEL_REPORT_NPARTS; k++)
        cJSON_AddItemToObject(o, ostel_report_part_name(k), cmpval_json(&p->part[k]));
    cJSON *devs = cJSON_AddArrayToObject(o, "devices");
    for (size_t d = 0; d < p->ndev; d++) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "device", p->dev[d].name);
        for (int k = 0; k < OSTEL_REPORT_PART_OUTPUT; k++)
            cJSON_AddItemToObject(j, ostel_report_part_name(k), cmpval_json(&p->dev[d].part[k]));
        cJSON_AddItemToArray(devs, j);
    }
    add_int(o, "n_ctx", p->n_ctx);
    add_str(o, "source", p->source);
    add_str(o, "backend", p->backend);
    add_bool_or_null(o, "within_bars", p->within_bars);
    add_str(o, "note", p->note);
    return o;
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

/* One run; group is its group's label (borrowed). */
static cJSON *run_json(const struct ostel_report *r, size_t idx, const char *group)
{
    const struct ostel_report_run *run = &r->set->runs[idx];
    cJSON *o = cJSON_CreateObject();
    add_str(o, "name", run->name);
    add_str(o, "path", run->path);
    add_str(o, "group", group);
    add_str(o, "tag", run->tag);
    add_str(o, "status", run->status);
    add_int(o, "exit_code", run->exit_code);
    add_str(o, "signal", run->signal);
    cJSON_AddBoolToObject(o, "oom_killed", run->oom_killed);
    add_str(o, "model", run->model);
    add_str(o, "model_type", run->model_type);
    add_num(o, "model_size_mib", run->model_size_mib);
    add_num(o, "model_n_params", run->model_n_params);
    add_int(o, "ctx", run->ctx);
    add_int(o, "gen", run->gen);
    add_num(o, "n_prompt", run->n_prompt);
    add_num(o, "n_gen", run->n_gen);
    add_int(o, "repetition", run->repetition);
    add_str(o, "scenario", run->scenario);
    add_str(o, "tool", run->tool);
    add_str(o, "llama_version", run->llama_version);
    add_str(o, "device", run->device);
    add_str(o, "device_desc", run->device_desc);
    if (isfinite(run->start_ts))
        cJSON_AddNumberToObject(o, "start_ts", round(run->start_ts * 1000) / 1000);
    else
        cJSON_AddNullToObject(o, "start_ts");
    cJSON *m = cJSON_AddObjectToObject(o, "metrics");
    for (int k = 0; k < OSTEL_REPORT_NMETRIC; k++)
        if (r->gpu || !ostel_report_metric_is_gpu(k))
            add_num(m, ostel_report_metric_info(k)->key, run->metric[k]);
    cJSON_AddItemToObject(o, "phases", phases_json(run->tel, run->phase_present));
    cJSON_AddItemToObject(o, "prediction", prediction_json(&run->pred));
    add_num(o, "ram_mib", run->ram_mib);
    add_num(o, "mem_available_start_mib", run->avail_start_mib);
    add_str(o, "log_tail", run->log_tail);
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

cJSON *ostel_report_json_tree(const struct ostel_report *r)
{
    cJSON *root = ostel_report_json_tree_head(r);
    cJSON *runs = cJSON_AddArrayToObject(root, "runs");
    for (size_t gi = 0; gi < r->ngroups; gi++)
        for (size_t i = 0; i < r->groups[gi].n; i++)
            cJSON_AddItemToArray(runs, run_json(r, r->groups[gi].runs[i], r->groups[gi].label));
    return root;
}

/* One run's text as it stands in the report's "runs" array: cJSON_Print of the run alone, its
 * members two tabs deeper. */
static char *run_text(const struct ostel_report *r, size_t gi, size_t i)
{
    cJSON *o = run_json(r, r->groups[gi].runs[i], r->groups[gi].label);
    char *t = cJSON_Print(o);
    OSTEL_ASSERT(t != NULL);
    cJSON_Delete(o);
    size_t lines = 0, n = 0;
    for (const char *c = t; *c; c++, n++)
        lines += *c == '\n';
    char *out = ostel_xmalloc(n + 2 * lines + 1), *w = out;
    for (const char *c = t; *c; c++) {
        *w++ = *c;
        if (*c == '\n') {
            *w++ = '\t';
            *w++ = '\t';
        }
    }
    *w = '\0';
    cJSON_free(t);
    return out;
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
 * The same text as cJSON_Print of ostel_report_json_tree(r), written a batch of runs at a
 * time: the tree of 10,000 runs took a quarter of a gigabyte, one batch's texts take a few
 * megabytes; the batch's runs are printed on a few threads, each into its own string. cJSON
 * prints the runs array, the root's last member, as "\t\"runs\":\t[{" then each object's members
 * two tabs deeper than when printed alone, joined by ", ", and "]\n}" at the end.
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
