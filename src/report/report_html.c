/*
 * report_html: the HTML report — one self-contained file that needs no network: the report's
 * tables, its notes and interpretation, and interactive charts drawn by uPlot (speed and memory by
 * group, memory against context from the memory model with the runs' measured points, each run's
 * samples over time), embedded at build time by cmake/embed_assets.cmake; a build without npm
 * gives the tables and a notice instead of charts.
 *
 * Safety: every string that comes from a run (tags, paths, log lines, device names) is HTML-escaped
 * where it enters the markup, and the run data travels as JSON inside <script
 * type="application/json"> with <, >, &, U+2028 and U+2029 escaped, so a log line
 * "<script>alert(1)</script>" is shown as text.
 */
#include "report/report.h"

#include <cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "report/report_html_page.h"
#include "report/report_html_serve.h"
#include "report/report_html_scale.h"

extern const unsigned char ostel_asset_uplot_js[];
extern const size_t ostel_asset_uplot_js_len;
extern const unsigned char ostel_asset_uplot_css[];
extern const size_t ostel_asset_uplot_css_len;

bool ostel_report_html_has_charts(void)
{
    return ostel_asset_uplot_js_len > 0 && ostel_asset_uplot_css_len > 0;
}

static size_t run_charts(const struct ostel_report *r)
{
    return r->run_charts ? r->run_charts : OSTEL_REPORT_RUN_CHARTS_DEFAULT;
}

static void esc(struct ostel_buf *out, const char *s)
{
    ostel_report_escape_html(out, s ? s : "");
}

/* The section's opening, title and caption; html_table_body then closes it. */
static void html_table_head(struct ostel_buf *out, const struct ostel_report_table *t)
{
    ostel_buf_printf(out, "<section id=\"%s\">\n<h2>", t->id);
    esc(out, t->title);
    ostel_buf_puts(out, "</h2>\n");
    if (t->caption) {
        ostel_buf_puts(out, "<p class=\"caption\">");
        esc(out, t->caption);
        ostel_buf_puts(out, "</p>\n");
    }
}

static void html_table_body(struct ostel_buf *out, const struct ostel_report_table *t)
{
    ostel_buf_puts(out, "<div class=\"table-wrap\"><table>\n<thead><tr>");
    for (size_t c = 0; c < t->ncols; c++) {
        ostel_buf_puts(out, t->numeric[c] ? "<th class=\"num\">" : "<th>");
        esc(out, t->head[c]);
        ostel_buf_puts(out, "</th>");
    }
    ostel_buf_puts(out, "</tr></thead>\n<tbody>\n");
    size_t shown =
        t->nrows > OSTEL_REPORT_HTML_TABLE_ROWS ? OSTEL_REPORT_HTML_TABLE_ROWS : t->nrows;
    for (size_t row = 0; row < shown; row++) {
        ostel_buf_puts(out, "<tr>");
        for (size_t c = 0; c < t->ncols; c++) {
            const struct ostel_report_cell *cell = &t->cells[row * t->ncols + c];
            bool notes = strcmp(t->head[c], "Notes") == 0 || strcmp(t->head[c], "Verdict") == 0;
            bool wrap = notes || strcmp(t->head[c], "Settings") == 0;
            ostel_buf_printf(out, "<td class=\"%s%s%s%s\">", t->numeric[c] ? "num" : "",
                             cell->bold ? " best" : "", cell->bad ? " bad" : "",
                             wrap ? " wrap-text" : "");
            if (cell->bold || cell->bad)
                ostel_buf_puts(out, cell->bad ? "<span class=\"flag\">" : "<span>");
            esc(out, cell->text);
            if (cell->bold || cell->bad)
                ostel_buf_puts(out, "</span>");
            ostel_buf_puts(out, "</td>");
        }
        ostel_buf_puts(out, "</tr>\n");
    }
    ostel_buf_puts(out, "</tbody></table></div>\n");
    if (shown < t->nrows) {
        /* Paginated: the first page above as HTML (readable without the script), every row in
         * a compact form that the pager script (report_html_pager_js) draws a page at a time;
         * past OSTEL_REPORT_HTML_PAGED_ROWS_MAX rows, the first that many (the page's size). */
        struct ostel_report_table kept = *t;
        if (kept.nrows > OSTEL_REPORT_HTML_PAGED_ROWS_MAX)
            kept.nrows = OSTEL_REPORT_HTML_PAGED_ROWS_MAX;
        char a[32], b[32];
        ostel_buf_printf(out,
                         "<p class=\"caption pager\" data-rows=\"%zu\" data-rows-shown=\"%zu\">"
                         "<span class=\"pager-at\">Rows 1–%s of %s</span></p>\n",
                         kept.nrows, shown, ostel_report_fmt_num((double)shown, 0, a, sizeof(a)),
                         ostel_report_fmt_num((double)kept.nrows, 0, b, sizeof(b)));
        if (kept.nrows < t->nrows)
            ostel_buf_printf(out,
                             "<p class=\"caption\">The page holds the first %s of these %s "
                             "rows; every row is in <code>--format csv|json|md</code>.</p>\n",
                             ostel_report_fmt_num((double)kept.nrows, 0, a, sizeof(a)),
                             ostel_report_fmt_num((double)t->nrows, 0, b, sizeof(b)));
        cJSON *rows = ostel_report_html_table_rows(&kept, OSTEL_REPORT_HTML_TABLE_ROWS);
        char *json = cJSON_PrintUnformatted(rows);
        OSTEL_ASSERT(json != NULL);
        ostel_buf_puts(out, "<script type=\"application/json\" class=\"table-rows\">");
        ostel_report_escape_script_json(out, json);
        ostel_buf_puts(out, "</script>\n");
        cJSON_free(json);
        cJSON_Delete(rows);
    }
    ostel_buf_puts(out, "</section>\n");
}

static void html_table(struct ostel_buf *out, const struct ostel_report_table *t)
{
    html_table_head(out, t);
    html_table_body(out, t);
}

static const struct ostel_report_table *find_table(const struct ostel_report_tables *ts,
                                                   const char *id)
{
    for (size_t i = 0; i < ts->n; i++)
        if (strcmp(ts->t[i].id, id) == 0)
            return &ts->t[i];
    return NULL;
}

static void maybe_table(struct ostel_buf *out, const struct ostel_report_tables *ts, const char *id)
{
    const struct ostel_report_table *t = find_table(ts, id);
    if (t)
        html_table(out, t);
}

static void write_plan(struct ostel_buf *out, const struct ostel_report *r)
{
    bool any = false;
    for (size_t gi = 0; gi < r->ngroups; gi++)
        any |= r->groups[gi].interpretation != NULL;
    if (!any)
        return;
    ostel_buf_puts(out, "<div class=\"card\" style=\"margin-top:12px\"><h3>Which memory number to "
                        "plan with</h3><ul class=\"plan\">\n");
    for (size_t gi = 0; gi < r->ngroups; gi++) {
        const struct ostel_report_group *g = &r->groups[gi];
        if (!g->interpretation)
            continue;
        ostel_buf_puts(out, "<li><b>");
        esc(out, g->label);
        ostel_buf_puts(out, "</b>: ");
        esc(out, g->interpretation);
        ostel_buf_puts(out, "</li>\n");
    }
    ostel_buf_puts(out, "</ul></div>\n");
}

/* Memory against context: the chart (drawn by the page's script from the JSON) above the table;
 * without any sweep, the reason in one line under the prediction table. */
static void write_sweep(struct ostel_buf *out, const struct ostel_report *r,
                        const struct ostel_report_tables *ts, bool charts)
{
    const struct ostel_report_table *t = find_table(ts, "sweep");
    if (!t) {
        char *why = find_table(ts, "prediction") ? ostel_report_sweep_notes(r) : NULL;
        if (why) {
            ostel_buf_puts(out, "<p class=\"caption\">");
            esc(out, why);
            ostel_buf_puts(out, "</p>\n");
            free(why);
        }
        return;
    }
    html_table_head(out, t);
    if (charts)
        ostel_buf_puts(out, "<div id=\"sweep-chart\" class=\"sweep-chart\"></div>\n");
    html_table_body(out, t);
}

static void write_notes(struct ostel_buf *out, const struct ostel_report *r)
{
    bool any = false;
    for (size_t gi = 0; gi < r->ngroups; gi++)
        any |= r->groups[gi].nnotes > 0;
    if (!any)
        return;
    ostel_buf_puts(out, "<section id=\"warnings\">\n<h2>Warnings</h2>\n<ul class=\"notes\">\n");
    for (size_t gi = 0; gi < r->ngroups; gi++) {
        const struct ostel_report_group *g = &r->groups[gi];
        for (size_t k = 0; k < g->nnotes; k++) {
            ostel_buf_puts(out, "<li><b>");
            esc(out, g->label);
            ostel_buf_puts(out, "</b> — ");
            esc(out, g->notes[k].text);
            ostel_buf_puts(out, ".</li>\n");
        }
    }
    ostel_buf_puts(out, "</ul>\n</section>\n");
}

static void write_failed(struct ostel_buf *out, const struct ostel_report *r)
{
    bool any = false;
    for (size_t i = 0; i < r->set->n; i++)
        any |= !r->set->runs[i].ok;
    if (!any)
        return;
    ostel_buf_puts(out, "<section id=\"failed\">\n<h2>Failed runs</h2>\n<div class=\"runs\">\n");
    size_t nfailed = 0, cards = 0;
    for (size_t i = 0; i < r->set->n; i++)
        nfailed += !r->set->runs[i].ok;
    for (size_t gi = 0; gi < r->ngroups; gi++) {
        const struct ostel_report_group *g = &r->groups[gi];
        for (size_t i = 0; i < g->n; i++) {
            const struct ostel_report_run *run = &r->set->runs[g->runs[i]];
            if (run->ok || cards >= OSTEL_REPORT_HTML_FAILED_MAX)
                continue;
            cards++;
            ostel_buf_puts(out, "<div class=\"card failed\"><h3>");
            esc(out, run->name);
            ostel_buf_puts(out, " <span class=\"pill bad\">");
            esc(out, *run->status ? run->status : "no status");
            if (run->oom_killed)
                ostel_buf_puts(out, ", OOM killed");
            else if (*run->signal) {
                ostel_buf_puts(out, ", ");
                esc(out, run->signal);
            } else if (run->exit_code > 0)
                ostel_buf_printf(out, ", exit code %lld", run->exit_code);
            ostel_buf_puts(out, "</span></h3><div class=\"chart-note\">group ");
            esc(out, g->label);
            ostel_buf_puts(out, " · ");
            esc(out, run->path);
            ostel_buf_puts(out, "</div>");
            if (run->log_tail && *run->log_tail) {
                ostel_buf_puts(out, "<pre class=\"log\">");
                esc(out, run->log_tail);
                ostel_buf_puts(out, "</pre>");
            } else {
                ostel_buf_puts(out, "<p class=\"caption\">Its log is empty or missing.</p>");
            }
            ostel_buf_puts(out, "</div>\n");
        }
    }
    ostel_buf_puts(out, "</div>\n");
    if (cards < nfailed) {
        char a[32], b[32];
        ostel_buf_printf(out,
                         "<p class=\"caption cut\">The first %s of %s failed runs with their "
                         "logs; every one is in the runs table and in <code>ostel report --format "
                         "md</code>.</p>\n",
                         ostel_report_fmt_num((double)cards, 0, a, sizeof(a)),
                         ostel_report_fmt_num((double)nfailed, 0, b, sizeof(b)));
    }
    ostel_buf_puts(out, "</section>\n");
}

/* The overlays (drawn by the script into #overlay-charts), then the runs drawn one by one (the
 * ones ostel_report_html_charted chose) and a list to draw any other run. */
static void write_run_slots(struct ostel_buf *out, const struct ostel_report *r)
{
    ostel_buf_puts(out, "<section id=\"overlays\">\n<h2>Runs overlaid, by group</h2>\n<p "
                        "class=\"caption\">Every run of a group with samples, on one time axis "
                        "aligned on the phase starts (within each phase a run's time is scaled "
                        "to the group's median phase length): the line is the median over the "
                        "runs, the band the 10th to 90th percentile.</p>\n<div class=\"grid\" "
                        "id=\"overlay-charts\"></div>\n");
    if (r->ngroups > OSTEL_REPORT_OVERLAY_GROUPS_DRAWN) {
        char a[32];
        ostel_buf_printf(
            out,
            "<p class=\"caption\">The first %d groups are drawn above; the other %s "
            "are in the list (each drawn when chosen).</p>\n<div class=\"card "
            "pick\"><label for=\"overlay-pick\">Another group: </label><select "
            "id=\"overlay-pick\"><option value=\"\">—</option></select><div "
            "class=\"grid\" id=\"overlay-picked\"></div></div>\n",
            OSTEL_REPORT_OVERLAY_GROUPS_DRAWN,
            ostel_report_fmt_num((double)(r->ngroups - OSTEL_REPORT_OVERLAY_GROUPS_DRAWN), 0, a,
                                 sizeof(a)));
    }
    ostel_buf_puts(out, "</section>\n");
    size_t total = r->set->n;
    bool *chosen = ostel_xmalloc((total ? total : 1) * sizeof(*chosen));
    ostel_report_html_charted(r, run_charts(r), chosen);
    size_t *pos = ostel_xmalloc((total ? total : 1) * sizeof(*pos));
    ostel_report_html_listed(r, chosen, pos); /* a slot's id: the run's place in the page's list */
    size_t ncharted = 0;
    for (size_t i = 0; i < total; i++)
        ncharted += chosen[i];
    ostel_buf_puts(out,
                   "<section id=\"run-charts\">\n<h2>Runs over time</h2>\n<p class=\"caption\">"
                   "Each run's samples; shaded bands are the phases (load, prompt, generate, "
                   "teardown). Cursors move together across a run's charts.");
    if (ncharted < total) {
        char a[32], b[32];
        ostel_buf_printf(out,
                         " %s of the %s runs are drawn here (<code>--run-charts N</code> for "
                         "more); choose any other from the list below.",
                         ostel_report_fmt_num((double)ncharted, 0, a, sizeof(a)),
                         ostel_report_fmt_num((double)total, 0, b, sizeof(b)));
    }
    ostel_buf_puts(out, "</p>\n");
    if (ncharted < total)
        ostel_buf_puts(out, "<div class=\"card pick\"><label for=\"run-pick\">Another run: "
                            "</label><select id=\"run-pick\"><option value=\"\">—</option>"
                            "</select><span class=\"chart-note\" id=\"run-pick-note\"></span>"
                            "<div class=\"run-charts\" id=\"run-picked\"></div></div>\n");
    ostel_buf_puts(out, "<div class=\"runs\">\n");
    size_t idx = 0;
    for (size_t gi = 0; gi < r->ngroups; gi++) {
        const struct ostel_report_group *g = &r->groups[gi];
        for (size_t i = 0; i < g->n; i++, idx++) {
            const struct ostel_report_run *run = &r->set->runs[g->runs[i]];
            if (!chosen[idx])
                continue;
            ostel_buf_puts(out, "<div><div class=\"run-head\"><h3>");
            esc(out, run->name);
            ostel_buf_puts(out, "</h3><span class=\"pill\">");
            esc(out, g->label);
            ostel_buf_puts(out, "</span>");
            if (!run->ok) {
                ostel_buf_puts(out, "<span class=\"pill bad\">");
                esc(out, run->status);
                ostel_buf_puts(out, "</span>");
            }
            ostel_buf_printf(out, "</div><div class=\"run-charts\" id=\"run-%zu\"></div></div>\n",
                             pos[idx]);
        }
    }
    ostel_buf_puts(out, "</div>\n</section>\n");
    free(pos);
    free(chosen);
}

/* What the page holds and what it summarised, in one paragraph under the header. */
static void write_summarised(struct ostel_buf *out, const struct ostel_report *r, bool charts)
{
    size_t total = r->set->n, samples = 0;
    for (size_t i = 0; i < total; i++)
        samples += r->set->runs[i].series.n;
    char a[32], b[32];
    ostel_buf_printf(out,
                     "<p class=\"caption summarised\" id=\"summarised\">This page "
                     "summarises %s run%s (%s samples)",
                     ostel_report_fmt_num((double)total, 0, a, sizeof(a)), total == 1 ? "" : "s",
                     ostel_report_fmt_num((double)samples, 0, b, sizeof(b)));
    if (charts) {
        size_t nov = r->ngroups < OSTEL_REPORT_OVERLAY_GROUPS_DRAWN
                         ? r->ngroups
                         : OSTEL_REPORT_OVERLAY_GROUPS_DRAWN;
        ostel_buf_printf(out, ": each of %zu group%s overlaid as median and percentile band",
                         r->ngroups, r->ngroups == 1 ? "" : "s");
        if (nov < r->ngroups)
            ostel_buf_printf(out, " (the first %zu drawn, any other chosen from a list)", nov);
        size_t drawn = total < run_charts(r) ? total : run_charts(r);
        ostel_buf_printf(out, "; up to %zu run%s drawn one by one", drawn, drawn == 1 ? "" : "s");
        if (drawn < total)
            ostel_buf_puts(out, ", any other from a list (its samples reduced to a few dozen "
                                "points)");
        if (total > drawn + OSTEL_REPORT_HTML_LAZY_RUNS_MAX)
            ostel_buf_printf(
                out,
                " that holds %s runs, a share of each group's evenly spread: the page keeps "
                "its size bound, so the other runs are only in its overlays and tables "
                "(their samples are in their metrics.csv)",
                ostel_report_fmt_num((double)OSTEL_REPORT_HTML_LAZY_RUNS_MAX, 0, a, sizeof(a)));
        ostel_buf_puts(out, "; time series downsampled for drawing by largest-triangle-three-"
                            "buckets");
    }
    ostel_buf_printf(out,
                     "; tables of more than %d rows paginated, %d a page. Every sample stays "
                     "in the runs' metrics.csv and in <code>ostel db export</code>; every "
                     "run's values in <code>--format csv|json|md</code>.</p>\n",
                     OSTEL_REPORT_HTML_TABLE_ROWS, OSTEL_REPORT_HTML_TABLE_ROWS);
}

void ostel_report_html_write(const struct ostel_report *r, struct ostel_buf *out)
{
    const struct ostel_report_set *set = r->set;
    bool charts = ostel_report_html_has_charts();
    size_t failed = 0;
    for (size_t i = 0; i < set->n; i++)
        failed += !set->runs[i].ok;

    ostel_buf_puts(out, "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                        "<meta name=\"color-scheme\" content=\"light dark\">\n"
                        "<title>ostel report</title>\n");
    /* First script: counts JavaScript errors for the end-to-end test (and for curious readers). */
    ostel_buf_puts(out, "<script>window.addEventListener('error',function(e){var d=document."
                        "documentElement;d.setAttribute('data-js-errors',String((+d.getAttribute("
                        "'data-js-errors')||0)+1));d.setAttribute('data-js-error',String(e.message)"
                        ");});</script>\n");
    if (charts) {
        ostel_buf_puts(out, "<style>");
        ostel_buf_append(out, ostel_asset_uplot_css, ostel_asset_uplot_css_len);
        ostel_buf_puts(out, "</style>\n");
    }
    ostel_buf_printf(out, "<style>\n%s</style>\n</head>\n<body>\n", report_html_css);

    ostel_buf_puts(out, "<header class=\"top\"><div class=\"wrap\"><h1><span>ostel</span> report"
                        "</h1><p class=\"sub\">");
    ostel_buf_printf(out, "%zu run%s in %zu group%s", set->n, set->n == 1 ? "" : "s", r->ngroups,
                     r->ngroups == 1 ? "" : "s");
    if (failed)
        ostel_buf_printf(out, " · %zu failed", failed);
    if (r->ngroups > 1) {
        ostel_buf_puts(out, " · baseline <b>");
        esc(out, r->groups[r->baseline].label);
        ostel_buf_puts(out, "</b>");
    }
    ostel_buf_puts(out, "</p>\n<nav><a href=\"#throughput\">Throughput</a>");
    if (charts)
        ostel_buf_puts(out, "<a href=\"#group-charts-section\">Charts</a>");
    ostel_buf_puts(out, "<a href=\"#memory\">Memory</a>");
    bool any_pred = false;
    for (size_t gi = 0; gi < r->ngroups; gi++)
        any_pred |= r->groups[gi].npred > 0;
    if (any_pred)
        ostel_buf_puts(out, "<a href=\"#prediction\">Predicted vs measured</a>");
    if (ostel_report_has_sweep(r))
        ostel_buf_puts(out, "<a href=\"#sweep\">Memory vs context</a>");
    ostel_buf_puts(out, "<a href=\"#telemetry\">OS telemetry</a><a href=\"#statistics\">Statistics"
                        "</a>");
    if (r->ngroups > 1)
        ostel_buf_puts(out, "<a href=\"#comparison\">Comparison</a>");
    ostel_buf_puts(out, "<a href=\"#warnings\">Warnings</a>");
    if (charts)
        ostel_buf_puts(out, "<a href=\"#overlays\">Runs overlaid</a><a href=\"#run-charts\">Runs "
                            "over time</a>");
    ostel_buf_puts(out,
                   "<a href=\"#runs\">All runs</a></nav></div></header>\n<main class=\"wrap\">\n");

    if (!charts)
        ostel_buf_puts(out, "<section><div class=\"warn-box\">Charts are not available: this ostel "
                            "was built without uPlot (run <code>npm ci</code> in the source tree, "
                            "then rebuild). The tables below are complete.</div></section>\n");

    write_summarised(out, r, charts);
    struct ostel_report_tables ts;
    ostel_report_tables_build(r, &ts);
    maybe_table(out, &ts, "throughput");
    if (charts)
        ostel_buf_puts(out, "<section id=\"group-charts-section\">\n<h2>Speed and memory by group"
                            "</h2>\n<div class=\"grid\" id=\"group-charts\"></div>\n</section>\n");
    maybe_table(out, &ts, "memory");
    write_plan(out, r);
    maybe_table(out, &ts, "gpu");
    if (charts && r->gpu)
        ostel_buf_puts(out, "<section id=\"gpu-charts-section\">\n<h2>GPU: energy per token "
                            "and memory and power over time</h2>\n<div class=\"grid\" "
                            "id=\"gpu-charts\"></div>\n</section>\n");
    maybe_table(out, &ts, "quality");
    if (find_table(&ts, "quality"))
        ostel_report_quality_html_chart(r, out);
    maybe_table(out, &ts, "prediction");
    write_sweep(out, r, &ts, charts);
    maybe_table(out, &ts, "telemetry");
    maybe_table(out, &ts, "phases");
    maybe_table(out, &ts, "statistics");
    maybe_table(out, &ts, "comparison");
    maybe_table(out, &ts, "trends");
    bool serve = find_table(&ts, "serve_groups") != NULL;
    maybe_table(out, &ts, "serve_groups");
    if (charts && serve)
        ostel_buf_puts(out, "<section id=\"serve-charts-section\">\n<h2>Serving: against the "
                            "load and over time</h2>\n<div id=\"serve-charts\"></div>\n"
                            "</section>\n");
    maybe_table(out, &ts, "serve_groups_system");
    maybe_table(out, &ts, "serve_knee");
    maybe_table(out, &ts, "serve_comparison");
    maybe_table(out, &ts, "serve_statistics");
    maybe_table(out, &ts, "serve_latency");
    maybe_table(out, &ts, "serve_system");
    write_notes(out, r);
    write_failed(out, r);
    if (charts)
        write_run_slots(out, r);
    const struct ostel_report_table *runs = find_table(&ts, "runs");
    if (runs) {
        /* open when it is short; a long one is one click away (and paginated) */
        char a[32];
        bool open = runs->nrows <= OSTEL_REPORT_HTML_TABLE_ROWS;
        ostel_buf_printf(out, "<details id=\"runs-details\"%s><summary>All runs (%s)</summary>\n",
                         open ? " open" : "",
                         ostel_report_fmt_num((double)runs->nrows, 0, a, sizeof(a)));
        html_table(out, runs);
        ostel_buf_puts(out, "</details>\n");
    }
    bool paged = false;
    for (size_t i = 0; i < ts.n; i++)
        paged |= ts.t[i].nrows > OSTEL_REPORT_HTML_TABLE_ROWS;
    ostel_report_tables_free(&ts);
    ostel_buf_printf(out,
                     "<footer>Made by ostel %s · statistics and formulas: docs/report.md in "
                     "the ostel source</footer>\n</main>\n",
                     OSTEL_VERSION);

    if (charts) {
        cJSON *tree = ostel_report_html_data(r, run_charts(r));
        char *json = cJSON_PrintUnformatted(tree);
        OSTEL_ASSERT(json != NULL);
        ostel_buf_puts(out, "<script type=\"application/json\" id=\"ostel-data\">");
        ostel_report_escape_script_json(out, json);
        ostel_buf_puts(out, "</script>\n<script>");
        ostel_buf_append(out, ostel_asset_uplot_js, ostel_asset_uplot_js_len);
        if (serve) /* before the page's script, whose self-check counts its charts */
            ostel_buf_printf(out, "</script>\n<script>\n%s", report_html_serve_js);
        ostel_buf_printf(out, "</script>\n<script>\n%s</script>\n", report_html_js);
        cJSON_free(json);
        cJSON_Delete(tree);
    } else {
        ostel_buf_puts(out, "<script>document.body.setAttribute('data-charts-expected','0');"
                            "document.body.setAttribute('data-charts-drawn','0');</script>\n");
    }
    if (paged)
        ostel_buf_printf(out, "<script>\n%s</script>\n", report_html_pager_js);
    ostel_buf_puts(out, "</body>\n</html>\n");
}
