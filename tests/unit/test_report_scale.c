/*
 * test_report_scale: the HTML report's scaling parts (report_html_scale.c) — LTTB keeps the shape
 * (endpoints, the peak, never an empty-valued point), the overlay's median and band over runs
 * aligned on their phase starts, the compact form's layout and values, which runs are drawn, every
 * group's overlay in the page's data (the first 16 at full resolution), a long table's rows in
 * the pager's compact form, and which runs the page lists.
 */
#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/report.h"
#include "report/report_html_scale.h"
#include "testlib.h"

static void test_lttb(void **state)
{
    (void)state;
    enum { N = 1000 };
    double x[N], y[N];
    for (int i = 0; i < N; i++) {
        x[i] = i;
        y[i] = sin(i / 50.0);
    }
    y[437] = 25;  /* a one-sample spike: LTTB keeps it */
    y[600] = NAN; /* never chosen */
    size_t idx[50];
    size_t m = ostel_report_lttb(x, y, N, 50, idx);
    assert_int_equal(m, 50);
    assert_int_equal(idx[0], 0);
    assert_int_equal(idx[49], N - 1);
    bool spike = false;
    for (size_t i = 0; i < m; i++) {
        if (i)
            assert_true(idx[i] > idx[i - 1]);
        spike |= idx[i] == 437;
        assert_int_not_equal(idx[i], 600);
    }
    assert_true(spike);
    /* fewer points than asked: all of them */
    assert_int_equal(ostel_report_lttb(x, y, 7, 50, idx), 7);
    assert_int_equal(idx[6], 6);
    assert_int_equal(ostel_report_lttb(x, y, N, 2, idx), 2);
    assert_int_equal(idx[1], N - 1);
}

/* A run of n samples at 0.1 s: load for `load` samples, then generate; RSS = base + i. */
static void fill_run(struct ostel_report_run *r, size_t n, size_t load, double base)
{
    struct ostel_report_series *s = &r->series;
    s->n = n;
    double **cols[] = {&s->t_s,      &s->rss_mib,  &s->cpu_pct,  &s->pageins,
                       &s->pageouts, &s->pressure, &s->avail_pct};
    for (size_t c = 0; c < OSTEL_ARRAY_LEN(cols); c++)
        *cols[c] = ostel_xmalloc(n * sizeof(double));
    s->phase = ostel_xmalloc(n);
    for (size_t i = 0; i < n; i++) {
        s->t_s[i] = 0.1 * (double)i;
        s->rss_mib[i] = base + (double)i;
        s->cpu_pct[i] = i < load ? 50 : 100;
        s->pageins[i] = 1;
        s->pageouts[i] = NAN;
        s->pressure[i] = 1;
        s->avail_pct[i] = NAN;
        s->phase[i] = i < load ? OSTEL_REPORT_PHASE_LOAD : OSTEL_REPORT_PHASE_GENERATE;
    }
}

/* The report of set (default options) in r, and the overlay of its first group (free()). */
static struct ostel_report_overlay *build_overlay(struct ostel_report *r,
                                                  const struct ostel_report_set *set)
{
    struct ostel_report_options opt = {0, NULL};
    char err[256];
    assert_int_equal(ostel_report_build(r, set, &opt, err, sizeof(err)), 0);
    struct ostel_report_overlay *ov = ostel_xmalloc(sizeof(*ov));
    ostel_report_overlay_build(r, 0, ov);
    return ov;
}

/* A group past 13,107 runs has its overlay's points computed a block at a time: every point the
 * same as in one pass (RSS = the run's number, so each percentile is a known run's). */
static void test_overlay_blocks(void **state)
{
    (void)state;
    enum { RUNS = 20000 };
    struct ostel_report_set set;
    ostel_report_set_init(&set);
    for (int k = 0; k < RUNS; k++) {
        struct ostel_report_run *r = ostel_report_set_add(&set);
        fill_run(r, 4, 2, 0);
        for (size_t i = 0; i < 4; i++)
            r->series.rss_mib[i] = k;
        if (k % 2)
            ostel_report_series_pack(&r->series, 0);
    }
    struct ostel_report r;
    struct ostel_report_overlay *ov = build_overlay(&r, &set);
    assert_int_equal(ov->n_runs, RUNS);
    assert_int_equal(ov->npts, OSTEL_REPORT_OVERLAY_POINTS);
    assert_int_equal(ov->n_at[OSTEL_REPORT_OV_RSS], RUNS);
    assert_int_equal(ov->n_at[OSTEL_REPORT_OV_AVAIL], 0);
    for (size_t j = 0; j < OSTEL_REPORT_OVERLAY_POINTS; j++) {
        assert_true(ov->med[OSTEL_REPORT_OV_RSS][j] == 10000); /* rank 0.5 × 19,999, rounded */
        assert_true(ov->lo[OSTEL_REPORT_OV_RSS][j] == 2000);
        assert_true(ov->hi[OSTEL_REPORT_OV_RSS][j] == 17999);
        assert_true(ov->med[OSTEL_REPORT_OV_CPU][j] == (ov->x[j] < 0.1 ? 50 : 100) ||
                    (ov->x[j] >= 0.1 && ov->x[j] <= 0.2)); /* interpolated between */
        assert_true(ov->med[OSTEL_REPORT_OV_PAGING][j] == 1);
    }
    free(ov);
    ostel_report_free(&r);
    ostel_report_set_free(&set);
}

/* A deep copy of a plain series' arrays (the RSS split too, where present). */
static void series_copy(struct ostel_report_series *dst, const struct ostel_report_series *src)
{
    *dst = *src;
    for (size_t c = 0; c < OSTEL_REPORT_SERIES_NCOLS; c++) {
        double **d = ostel_report_series_array(dst, c);
        if (*d) {
            double *v = ostel_xmalloc(src->n * sizeof(double));
            memcpy(v, *d, src->n * sizeof(double));
            *d = v;
        }
    }
    dst->phase = ostel_xmalloc(src->n);
    memcpy(dst->phase, src->phase, src->n);
}

static bool same_bits(double a, double b)
{
    return memcmp(&a, &b, sizeof(a)) == 0;
}

/* ostel_report_series_pack keeps every value bit for bit: decimals as codes, the time column in
 * milliseconds from a large epoch, and as doubles a column with a value that no code reads back
 * (a third, -0, beyond 32 bits); a view decodes only the arrays asked for. */
static void test_series_pack(void **state)
{
    (void)state;
    enum { N = 50 };
    struct ostel_report_run run;
    memset(&run, 0, sizeof(run));
    fill_run(&run, N, 10, 100);
    struct ostel_report_series *s = &run.series;
    s->rss_anon_mib = ostel_xmalloc(N * sizeof(double));
    double t0 = strtod("1796629908.87", NULL);
    for (size_t i = 0; i < N; i++) {
        char b[64];
        size_t ms = 870 + 28 * i; /* ts as metrics.csv writes it: 3 decimals */
        snprintf(b, sizeof(b), "%zu.%03zu", 1796629908 + ms / 1000, ms % 1000);
        s->t_s[i] = strtod(b, NULL) - t0;
        snprintf(b, sizeof(b), "%zu.%02zu", 5 + i, (i * 37) % 100);
        s->rss_mib[i] = strtod(b, NULL);
        s->cpu_pct[i] = i == 7 ? 1.0 / 3 : 12.5;         /* one value of no 4-decimal code */
        s->pageins[i] = i % 4 ? 100.0 * (double)i : NAN; /* 2-byte codes, some empty */
        s->pageouts[i] = i == 3 ? -0.0 : 0;              /* -0 reads back as 0: doubles */
        s->pressure[i] = i % 5 ? 1 : NAN;                /* 1-byte codes, some empty */
        s->avail_pct[i] = i == 9 ? 5e9 : 97.01;          /* beyond 32 bits */
        s->rss_anon_mib[i] = 100 + 0.0001 * (double)i;   /* 4 decimals: 4-byte codes */
    }
    struct ostel_report_series plain;
    series_copy(&plain, s);
    ostel_report_series_pack(s, t0);
    assert_non_null(s->packed);
    assert_null(s->t_s);
    assert_null(s->phase);
    assert_int_equal(s->n, N);
    struct ostel_report_series_buf vb = {0};
    const struct ostel_report_series *v = ostel_report_series_view(s, OSTEL_REPORT_SERIES_ALL, &vb);
    for (size_t c = 0; c < OSTEL_REPORT_SERIES_NCOLS; c++) {
        const double *x = *ostel_report_series_array((struct ostel_report_series *)v, c);
        const double *y = *ostel_report_series_array(&plain, c);
        assert_non_null(x);
        for (size_t i = 0; i < N; i++)
            assert_true(y ? same_bits(x[i], y[i]) : isnan(x[i])); /* rss_file: absent, empty */
    }
    assert_memory_equal(v->phase, plain.phase, N);
    /* only what is asked for */
    v = ostel_report_series_view(s, 1u << 1, &vb);
    assert_non_null(v->rss_mib);
    assert_null(v->t_s);
    assert_null(v->phase);
    assert_true(same_bits(v->rss_mib[N - 1], plain.rss_mib[N - 1]));
    /* a plain series is its own view */
    assert_ptr_equal(ostel_report_series_view(&plain, OSTEL_REPORT_SERIES_ALL, &vb), &plain);
    ostel_report_series_buf_free(&vb);
    ostel_report_series_pack(&plain, 0); /* 0.1 s steps from 0: the time column as doubles */
    assert_non_null(plain.packed);
    ostel_report_series_packed_free(&plain);
    ostel_report_series_packed_free(s);
}

/* A page from packed series is the page from plain ones, byte for byte. */
static void test_series_pack_page(void **state)
{
    (void)state;
    struct ostel_report_set sets[2];
    char *text[2];
    for (int p = 0; p < 2; p++) {
        ostel_report_set_init(&sets[p]);
        for (int k = 0; k < 30; k++) {
            struct ostel_report_run *r = ostel_report_set_add(&sets[p]);
            fill_run(r, 40 + (size_t)k, 6 + (size_t)(k % 3), 10.0 * k);
            for (size_t i = 0; i < r->series.n; i++)
                r->series.rss_mib[i] = (double)(k * 100 + (int)i) / 100; /* 2 decimals */
            free(r->tag);
            r->tag = ostel_xstrdup(k % 2 ? "a" : "b");
            free(r->status);
            r->status = ostel_xstrdup("ok");
            r->ok = true;
            if (p == 1)
                ostel_report_series_pack(&r->series, 0);
        }
        struct ostel_report r;
        struct ostel_report_options opt = {0, NULL};
        char err[256];
        assert_int_equal(ostel_report_build(&r, &sets[p], &opt, err, sizeof(err)), 0);
        cJSON *tree = ostel_report_html_data(&r, 4);
        text[p] = cJSON_PrintUnformatted(tree);
        cJSON_Delete(tree);
        ostel_report_free(&r);
    }
    assert_non_null(sets[1].runs[0].series.packed);
    assert_true(strlen(text[0]) > 1000);
    assert_string_equal(text[0], text[1]);
    for (int p = 0; p < 2; p++) {
        cJSON_free(text[p]);
        ostel_report_set_free(&sets[p]);
    }
}

static void test_overlay(void **state)
{
    (void)state;
    struct ostel_report_set set;
    ostel_report_set_init(&set);
    /* 9 runs, RSS offsets 0..80: the median is the middle run's, the band its neighbours' */
    for (int k = 0; k < 9; k++) {
        struct ostel_report_run *r = ostel_report_set_add(&set);
        fill_run(r, 21, 6 + (size_t)(k % 3), 10.0 * k);
        free(r->tag);
        r->tag = ostel_xstrdup("a");
        free(r->status);
        r->status = ostel_xstrdup("ok");
        r->ok = true;
    }
    ostel_report_set_add(&set); /* a run without samples: not in the overlay */
    struct ostel_report r;
    struct ostel_report_overlay *ov = build_overlay(&r, &set);
    assert_int_equal(ov->n_runs, 9);
    assert_int_equal(ov->npts, OSTEL_REPORT_OVERLAY_POINTS);
    assert_int_equal(ov->n_at[OSTEL_REPORT_OV_RSS], 9);
    assert_int_equal(ov->n_at[OSTEL_REPORT_OV_AVAIL], 0);
    /* load's median length: 0.7 s (6, 7 and 8 samples long, thrice each → 0.6, 0.7, 0.8) */
    assert_true(fabs(ov->phase_len[OSTEL_REPORT_PHASE_LOAD] - 0.7) < 1e-9);
    assert_true(ov->phase_start[OSTEL_REPORT_PHASE_GENERATE] ==
                ov->phase_len[OSTEL_REPORT_PHASE_LOAD]);
    /* at x = 0 every run is at its first sample: RSS 0, 10, ... 80 */
    assert_true(ov->med[OSTEL_REPORT_OV_RSS][0] == 40);
    assert_true(ov->lo[OSTEL_REPORT_OV_RSS][0] == 10);
    assert_true(ov->hi[OSTEL_REPORT_OV_RSS][0] == 70);
    /* CPU: 50 in load and 100 in generate for every run, once aligned */
    size_t mid_load = 5, last = OSTEL_REPORT_OVERLAY_POINTS - 1;
    assert_true(ov->x[mid_load] < 0.6);
    assert_true(ov->med[OSTEL_REPORT_OV_CPU][mid_load] == 50);
    assert_true(ov->hi[OSTEL_REPORT_OV_CPU][mid_load] == 50);
    assert_true(ov->med[OSTEL_REPORT_OV_CPU][last] == 100);
    assert_true(ov->lo[OSTEL_REPORT_OV_CPU][last] == 100);
    /* paging: pageins only (pageouts empty) */
    assert_true(ov->med[OSTEL_REPORT_OV_PAGING][last] == 1);
    assert_true(isnan(ov->med[OSTEL_REPORT_OV_AVAIL][0]));
    free(ov);

    bool chosen[10];
    ostel_report_html_charted(&r, 4, chosen);
    size_t n = 0;
    for (int i = 0; i < 10; i++)
        n += chosen[i];
    assert_int_equal(n, 4);
    ostel_report_html_charted(&r, 100, chosen);
    n = 0;
    for (int i = 0; i < 10; i++)
        n += chosen[i];
    assert_int_equal(n, 9); /* never the run without samples */

    /* the compact form: npts;tmax;T;6 columns;phases */
    struct ostel_buf b;
    ostel_buf_init(&b, 0);
    ostel_report_series_compact(&set.runs[0].series, 8, &b);
    char *f[12];
    size_t nf = 0;
    for (char *p = strtok(b.data, ";"); p && nf < 12; p = strtok(NULL, ";"))
        f[nf++] = p;
    assert_int_equal(nf, 10);
    assert_string_equal(f[0], "8");
    assert_string_equal(f[1], "2");
    assert_int_equal(strlen(f[2]), 16);
    assert_string_equal(f[2] + 14, "_-");           /* t = t_max: code 4094, base64url 63 and 62 */
    assert_true(strncmp(f[3], "0,20,AA", 7) == 0);  /* RSS 0..20, the first at the bottom */
    assert_true(strncmp(f[6], "0,0,____", 8) == 0); /* pageouts: no value */
    assert_int_equal(strlen(f[9]), 16);             /* 4 phases × 2 codes */
    assert_true(strncmp(f[9], "AA", 2) == 0);       /* load starts at 0 */
    assert_true(strncmp(f[9] + 4, "____", 4) == 0); /* no prompt phase */
    ostel_buf_free(&b);

    ostel_report_free(&r);
    ostel_report_set_free(&set);
}

/* The loader's fast path for plain decimals gives strtod's value, bit for bit. The cells are in
 * avail_mem_level, a column the validator lets be negative (rss_mb may not: "-0.3" is refused). */
static void test_decimals_exact(void **state)
{
    (void)state;
    struct ostel_buf csv;
    ostel_buf_init(&csv, 0);
    ostel_buf_puts(&csv, "ts,rss_mb,avail_mem_level\n");
    const char *cells[] = {"0.1",
                           "-0.3",
                           "123456789012345",
                           "1234567890.12345",
                           "0.000000000000001",
                           "-0",
                           "007.50",
                           "5.",
                           ".5",
                           "99999.99999",
                           "1e3",
                           "+4",
                           "3.14159265358979"};
    srand(7);
    char extra[200][32];
    for (int i = 0; i < 200; i++)
        snprintf(extra[i], sizeof(extra[i]), "%d.%0*d", rand() % 100000, 1 + rand() % 9,
                 rand() % 100000);
    for (size_t i = 0; i < OSTEL_ARRAY_LEN(cells); i++)
        ostel_buf_printf(&csv, "%zu,,%s\n", i, cells[i]);
    for (int i = 0; i < 200; i++)
        ostel_buf_printf(&csv, "%d,,%s\n", 100 + i, extra[i]);
    struct ostel_report_set set;
    ostel_report_set_init(&set);
    struct ostel_report_run *r = ostel_report_set_add(&set);
    char err[256];
    assert_int_equal(ostel_report_load_metrics(r, csv.data, csv.len, err, sizeof(err)), 0);
    assert_int_equal(r->series.n, OSTEL_ARRAY_LEN(cells) + 200);
    for (size_t i = 0; i < r->series.n; i++) {
        const char *c = i < OSTEL_ARRAY_LEN(cells) ? cells[i] : extra[i - OSTEL_ARRAY_LEN(cells)];
        double want = strtod(c, NULL), got = r->series.avail_pct[i];
        assert_memory_equal(&got, &want, sizeof(double));
    }
    ostel_report_set_free(&set);
    ostel_buf_free(&csv);
}

/* Every group gets an overlay in the page's data: the first OSTEL_REPORT_OVERLAY_GROUPS_DRAWN at
 * OSTEL_REPORT_OVERLAY_POINTS points and marked drawn, the others fewer points within a budget. */
static void test_overlays_every_group(void **state)
{
    (void)state;
    enum { GROUPS = 100 };
    struct ostel_report_set set;
    ostel_report_set_init(&set);
    for (int k = 0; k < GROUPS * 2; k++) {
        struct ostel_report_run *r = ostel_report_set_add(&set);
        fill_run(r, 21, 6, (double)k);
        char tag[16];
        snprintf(tag, sizeof(tag), "g%03d", k % GROUPS);
        free(r->tag);
        r->tag = ostel_xstrdup(tag);
        free(r->status);
        r->status = ostel_xstrdup("ok");
        r->ok = true;
    }
    struct ostel_report r;
    struct ostel_report_options opt = {0, NULL};
    char err[256];
    assert_int_equal(ostel_report_build(&r, &set, &opt, err, sizeof(err)), 0);
    assert_int_equal(r.ngroups, GROUPS);
    cJSON *d = ostel_report_html_data(&r, 4);
    cJSON *ovs = cJSON_GetObjectItemCaseSensitive(d, "overlays");
    assert_int_equal(cJSON_GetArraySize(ovs), GROUPS);
    int i = 0, fewer = 0;
    cJSON *o;
    cJSON_ArrayForEach(o, ovs)
    {
        assert_int_equal((int)cJSON_GetObjectItemCaseSensitive(o, "group")->valuedouble, i);
        assert_int_equal((int)cJSON_GetObjectItemCaseSensitive(o, "n_runs")->valuedouble, 2);
        bool drawn = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "drawn"));
        assert_int_equal(drawn, i < OSTEL_REPORT_OVERLAY_GROUPS_DRAWN);
        int npts = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(o, "x"));
        cJSON *rss =
            cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(o, "m"), "rss_mib");
        assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(rss, "hi")), npts);
        if (drawn) {
            assert_int_equal(npts, OSTEL_REPORT_OVERLAY_POINTS);
        } else {
            /* 84 groups share the budget: fewer points, the first and last kept */
            assert_true(npts >= 20 && npts < OSTEL_REPORT_OVERLAY_POINTS);
            cJSON *med = cJSON_GetObjectItemCaseSensitive(rss, "med");
            /* the first point kept: the group's own runs at their first sample (RSS i, i + 100) */
            double first = cJSON_GetArrayItem(med, 0)->valuedouble;
            assert_true(first >= i && first <= i + GROUPS);
            fewer++;
        }
        i++;
    }
    assert_int_equal(fewer, GROUPS - OSTEL_REPORT_OVERLAY_GROUPS_DRAWN);
    cJSON *sum = cJSON_GetObjectItemCaseSensitive(d, "summarised");
    assert_int_equal((int)cJSON_GetObjectItemCaseSensitive(sum, "overlay_groups")->valuedouble,
                     GROUPS);
    cJSON_Delete(d);

    /* the page says so and offers the other groups in a list */
    struct ostel_buf html;
    ostel_buf_init(&html, 0);
    ostel_report_html_write(&r, &html);
    if (ostel_report_html_has_charts()) {
        assert_non_null(strstr(html.data, "each of 100 groups overlaid"));
        assert_non_null(strstr(html.data, "id=\"overlay-pick\""));
    }
    ostel_buf_free(&html);
    ostel_report_free(&r);
    ostel_report_set_free(&set);
}

/* A long table's rows for the pager: a column of few values as a dictionary and indices, any
 * other as its texts, flags as one digit a row. */
static void test_table_rows(void **state)
{
    (void)state;
    struct ostel_report_tables ts = {NULL, 0};
    const char *head[] = {"Run", "Status", "Notes"};
    struct ostel_report_table *t = ostel_report_table_new(&ts, "runs", "Runs", 3, head, "llr");
    enum { ROWS = 250 };
    for (int i = 0; i < ROWS; i++) {
        size_t row = ostel_report_table_row_add(t);
        char name[16];
        snprintf(name, sizeof(name), "run-%03d", i);
        t->cells[row * 3].text = ostel_xstrdup(name);
        t->cells[row * 3 + 1].text = ostel_xstrdup(i % 7 ? "ok" : "failed");
        t->cells[row * 3 + 1].bad = i % 7 == 0;
        t->cells[row * 3 + 1].bold = i == 1;
        t->cells[row * 3 + 2].text = ostel_xstrdup(i == 3 ? "</script><b>" : "");
    }
    cJSON *o = ostel_report_html_table_rows(t, 100);
    assert_int_equal((int)cJSON_GetObjectItemCaseSensitive(o, "n")->valuedouble, ROWS);
    assert_int_equal((int)cJSON_GetObjectItemCaseSensitive(o, "per")->valuedouble, 100);
    cJSON *cls = cJSON_GetObjectItemCaseSensitive(o, "cls");
    assert_string_equal(cJSON_GetArrayItem(cls, 0)->valuestring, "");
    assert_string_equal(cJSON_GetArrayItem(cls, 2)->valuestring, "num wrap-text");
    cJSON *cols = cJSON_GetObjectItemCaseSensitive(o, "cols");
    /* names: all distinct, as texts in row order */
    cJSON *names = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(cols, 0), "s");
    assert_int_equal(cJSON_GetArraySize(names), ROWS);
    assert_string_equal(cJSON_GetArrayItem(names, 249)->valuestring, "run-249");
    /* status: two values, each row an index */
    cJSON *st = cJSON_GetArrayItem(cols, 1);
    cJSON *v = cJSON_GetObjectItemCaseSensitive(st, "v");
    cJSON *ix = cJSON_GetObjectItemCaseSensitive(st, "i");
    assert_int_equal(cJSON_GetArraySize(v), 2);
    assert_int_equal(cJSON_GetArraySize(ix), ROWS);
    for (int i = 0; i < ROWS; i++) {
        int k = (int)cJSON_GetArrayItem(ix, i)->valuedouble;
        assert_string_equal(cJSON_GetArrayItem(v, k)->valuestring, i % 7 ? "ok" : "failed");
    }
    cJSON *notes = cJSON_GetArrayItem(cols, 2);
    cJSON *nv = cJSON_GetObjectItemCaseSensitive(notes, "v");
    int k3 = (int)cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(notes, "i"), 3)->valuedouble;
    assert_string_equal(cJSON_GetArrayItem(nv, k3)->valuestring, "</script><b>");
    /* flags: bad every 7th status, best the second row's; none in the other columns */
    cJSON *f = cJSON_GetObjectItemCaseSensitive(o, "f");
    assert_true(cJSON_IsNull(cJSON_GetArrayItem(f, 0)));
    const char *sf = cJSON_GetArrayItem(f, 1)->valuestring;
    assert_int_equal(strlen(sf), ROWS);
    assert_int_equal(sf[0], '2');
    assert_int_equal(sf[1], '1');
    assert_int_equal(sf[2], '0');
    assert_int_equal(sf[7], '2');
    cJSON_Delete(o);
    ostel_report_tables_free(&ts);
}

/* The page's list: every run while they fit, past OSTEL_REPORT_HTML_LAZY_RUNS_MAX the charted
 * ones and each group's proportional share, evenly spread, at increasing positions. */
static void test_listed(void **state)
{
    (void)state;
    enum { N = 30000, A = 24000 };
    struct ostel_report_set set = {0};
    set.n = N;
    struct ostel_report_group g[2] = {{.n = A}, {.n = N - A}};
    struct ostel_report r = {.set = &set, .groups = g, .ngroups = 2};
    bool *chosen = ostel_xcalloc(N, sizeof(*chosen));
    size_t *pos = ostel_xmalloc(N * sizeof(*pos));
    for (int i = 0; i < 3; i++)
        chosen[i] = chosen[A + i] = true;
    size_t n = ostel_report_html_listed(&r, chosen, pos);
    /* shares of the 29,994 others: 23,997 * 10,000 / 29,994 = 8,000 and 5,997 * ... = 1,999 */
    assert_int_equal(n, 6 + 8000 + 1999);
    size_t next = 0, in_a = 0, gap_max = 0, last = 0;
    for (size_t k = 0; k < N; k++) {
        if (chosen[k])
            assert_int_equal(pos[k], next);
        if (pos[k] == SIZE_MAX)
            continue;
        assert_int_equal(pos[k], next++);
        in_a += k < A;
        if (k > last + gap_max && k < A)
            gap_max = k - last;
        last = k;
    }
    assert_int_equal(in_a, 3 + 8000);
    assert_true(gap_max <= 3); /* evenly spread: about every third run of group a */
    /* all fit: every run listed where it stands */
    g[0].n = 6000;
    g[1].n = 4000;
    set.n = 10000;
    assert_int_equal(ostel_report_html_listed(&r, chosen, pos), 10000);
    for (size_t k = 0; k < 10000; k++)
        assert_int_equal(pos[k], k);
    free(pos);
    free(chosen);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_series_pack),
        cmocka_unit_test(test_series_pack_page),
        cmocka_unit_test(test_overlay_blocks),
        cmocka_unit_test(test_lttb),
        cmocka_unit_test(test_overlay),
        cmocka_unit_test(test_decimals_exact),
        cmocka_unit_test(test_overlays_every_group),
        cmocka_unit_test(test_table_rows),
        cmocka_unit_test(test_listed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
