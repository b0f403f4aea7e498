/*
 * report_html_scale: what lets the HTML report hold 10,000 runs in a few megabytes — pure
 * functions, no I/O (report_html_scale.c):
 *   - largest-triangle-three-buckets downsampling of a time series (for drawing only: the CSV and
 *     JSON exports keep every sample);
 *   - each group's runs overlaid: every run's samples put on one time axis aligned on the phase
 *     starts (within each phase the run's time is scaled to the group's median phase duration),
 *     then the median and the 10th and 90th percentiles over the runs at each of a fixed number
 *     of points;
 *   - the page's data: the report's groups, the runs as columns, the overlays, full (downsampled)
 *     series for the first few runs, and every other run in a compact text form that the page
 *     decodes only when a reader picks that run.
 */
#ifndef OSTEL_REPORT_HTML_SCALE_H
#define OSTEL_REPORT_HTML_SCALE_H

#include <stddef.h>

#include "report/report.h"

/* Default number of runs drawn as small multiples (ostel report --run-charts). */
#define OSTEL_REPORT_RUN_CHARTS_DEFAULT 24
/* Groups whose overlays are drawn when the page opens; every other group's overlay (at fewer
 * points when there are many) is drawn when chosen from a list. */
#define OSTEL_REPORT_OVERLAY_GROUPS_DRAWN 16
/* Points on an overlay's time axis. */
#define OSTEL_REPORT_OVERLAY_POINTS 160
/* Rows of a table shown at once; a longer table is paginated (its first page written as HTML,
 * every row in a compact embedded form that a small script pages through). */
#define OSTEL_REPORT_HTML_TABLE_ROWS 100
/* Runs the page lists besides the charted ones (names, status and values for the list of other
 * runs and the speed-memory chart; series in the compact form, within a fixed budget); past this
 * many the page lists a share of each group's runs, evenly spread, and says so: at 100,000 runs
 * the page stays under 5 MB. */
#define OSTEL_REPORT_HTML_LAZY_RUNS_MAX 10000
/* Rows of a paginated table the page embeds; a longer table keeps its first this many and says
 * where the others are. */
#define OSTEL_REPORT_HTML_PAGED_ROWS_MAX 10000
/* Failed-run cards (with their log tails) written into the page. */
#define OSTEL_REPORT_HTML_FAILED_MAX 24

/*
 * Largest-triangle-three-buckets (Steinarsson 2013): chooses at most k of the n points (x, y) that
 * keep the curve's shape — the first and the last, and from each of k-2 equal buckets between the
 * point forming the largest triangle with the previous choice and the next bucket's mean. Points
 * whose y is NAN are never chosen unless a whole bucket is NAN (then its first). Writes the chosen
 * indices, increasing, into idx (room for k) and returns how many; n <= k returns 0..n-1.
 */
size_t ostel_report_lttb(const double *x, const double *y, size_t n, size_t k, size_t *idx);

/* Points a run's series keeps when `ostel report --format html` loads it (what the page draws at
 * most); other formats keep none. */
#define OSTEL_REPORT_HTML_LOAD_POINTS 240

/* Reduces s in place to at most max samples chosen by LTTB on RSS (on CPU when RSS is empty),
 * every column at the chosen samples; max 0 frees the series (n = 0). */
void ostel_report_series_reduce(struct ostel_report_series *s, size_t max);

/* One group's overlay of one metric. */
enum {
    OSTEL_REPORT_OV_RSS,
    OSTEL_REPORT_OV_CPU,
    OSTEL_REPORT_OV_AVAIL,
    OSTEL_REPORT_OV_PAGING, /* pageins + pageouts per sample */
    OSTEL_REPORT_NOV
};
struct ostel_report_overlay {
    size_t n_runs;                         /* runs with at least two samples */
    size_t npts;                           /* points on x (OSTEL_REPORT_OVERLAY_POINTS or 0) */
    double x[OSTEL_REPORT_OVERLAY_POINTS]; /* aligned seconds */
    double phase_start[OSTEL_REPORT_NPHASES], phase_len[OSTEL_REPORT_NPHASES]; /* on x; len 0 =
                                                                                 absent */
    double med[OSTEL_REPORT_NOV][OSTEL_REPORT_OVERLAY_POINTS]; /* NAN where no run has a value */
    double lo[OSTEL_REPORT_NOV][OSTEL_REPORT_OVERLAY_POINTS];  /* 10th percentile */
    double hi[OSTEL_REPORT_NOV][OSTEL_REPORT_OVERLAY_POINTS];  /* 90th percentile */
    size_t n_at[OSTEL_REPORT_NOV]; /* runs that gave this metric a value somewhere */
};
/* Fills ov for group gi of r (ov is plain memory the caller owns). */
void ostel_report_overlay_build(const struct ostel_report *r, size_t gi,
                                struct ostel_report_overlay *ov);

/*
 * The compact form of one run's series (the page's "lazy" runs): at most k points chosen by LTTB on
 * RSS, every value quantised to 12 bits over its column's range and written as two characters of
 * base64url ("__" = no value). Layout, fields separated by ';':
 *   npts ; t_max ; T ; lo,hi,V (rss) ; lo,hi,V (cpu) ; lo,hi,V (pageins) ; lo,hi,V (pageouts) ;
 *   lo,hi,V (pressure) ; lo,hi,V (avail) ; P
 * where T and V are npts codes, t over [0, t_max], and P holds 2 codes per phase (load, prompt,
 * generate, teardown: start and end over [0, t_max]). Appends to out; nothing for a run with fewer
 * than two samples.
 */
void ostel_report_series_compact(const struct ostel_report_series *s, size_t k,
                                 struct ostel_buf *out);

/* Which runs, in page order (group by group, as the report lists them), are drawn in full:
 * round-robin over the groups, so that each group shows some, up to limit runs with at least two
 * samples. chosen has room for set->n flags. */
void ostel_report_html_charted(const struct ostel_report *r, size_t limit, bool *chosen);

/* The page's data object (see report_html.c); run_charts runs are drawn in full. The caller owns
 * the tree. */
struct cJSON *ostel_report_html_data(const struct ostel_report *r, size_t run_charts);

/*
 * A table's rows for the page's pager (a table longer than per_page rows): {"n": rows, "per":
 * per_page, "cls": each column's cell class ("num", "wrap-text"), "cols": per column either {"v":
 * its distinct texts, "i": each row's index into v} (a column of few distinct values) or {"s":
 * each row's text}, "f": per column null or a string of one digit a row (1 the column's best, 2
 * out of bounds, 3 both)}. The caller owns the tree.
 */
struct cJSON *ostel_report_html_table_rows(const struct ostel_report_table *t, size_t per_page);

/* Which runs the page lists: chosen (from ostel_report_html_charted) and every other one up to
 * OSTEL_REPORT_HTML_LAZY_RUNS_MAX, past that a share of each group's proportional to its runs,
 * evenly spread. pos (r->set->n entries, indexed like chosen) gets each listed run's position in
 * the page's run arrays, SIZE_MAX for the others; returns how many are listed. */
size_t ostel_report_html_listed(const struct ostel_report *r, const bool *chosen, size_t *pos);

#endif
