/*
 * Unit tests for serve/: the SSE framer (every split of a stream gives the same events; CR, LF and
 * CRLF line ends; comments and other fields ignored; the cap), the token chunk scan (what it
 * finds, what it leaves to cJSON, what it refuses), the Prometheus text parser, and the
 * latency statistics (numpy's percentile definition, checked by hand), each request's TPOT and ITL,
 * the SLO test behind goodput and the open loop's saturation detector, and the level column added
 * to metrics.csv.
 */
#include "testlib.h"
#include "serve/chunk.h"
#include "serve/serve_prom.h"
#include "serve/serve.h"
#include "serve/serve_stats.h"
#include "serve/sse.h"
#include "rundir/rundir_metrics.h"
#include "util/util.h"

#include <cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define NEAR(a, b, eps) assert_true(fabs((a) - (b)) < (eps))

struct events {
    char all[4096];
    int n;
    int stop_after; /* 0 = never */
};

static int collect(void *ctx, const char *data, size_t len)
{
    struct events *e = ctx;
    assert_int_equal(strlen(data), len); /* NUL-terminated, no embedded NUL here */
    strncat(e->all, data, sizeof(e->all) - strlen(e->all) - 2);
    strcat(e->all, "|");
    e->n++;
    return e->stop_after && e->n >= e->stop_after;
}

static const char stream[] = ": a comment\r\n"
                             "event: message\n"
                             "id: 7\n"
                             "data: {\"a\":1}\n\n"
                             "data:no-space\r\n\r\n"
                             "data: two\ndata:  lines\n\n"
                             "retry: 10\n\n" /* no data: no event */
                             "data\n\n"      /* a data field with no value: empty data */
                             "data: cr-only\r\r"
                             "data: [DONE]\n\n";
static const char expected[] = "{\"a\":1}|no-space|two\n lines||cr-only|[DONE]|";

static void test_sse_whole_and_split(void **state)
{
    (void)state;
    size_t n = strlen(stream);
    /* whole, then every two-piece split, then byte by byte */
    for (size_t cut = 0; cut <= n; cut++) {
        struct ostel_sse p;
        ostel_sse_init(&p, 0);
        struct events e = {0};
        assert_int_equal(ostel_sse_feed(&p, stream, cut, collect, &e), 0);
        assert_int_equal(ostel_sse_feed(&p, stream + cut, n - cut, collect, &e), 0);
        assert_string_equal(e.all, expected);
        assert_int_equal(e.n, 6);
        assert_false(ostel_sse_pending(&p));
        ostel_sse_free(&p);
    }
    struct ostel_sse p;
    ostel_sse_init(&p, 0);
    struct events e = {0};
    for (size_t i = 0; i < n; i++)
        assert_int_equal(ostel_sse_feed(&p, stream + i, 1, collect, &e), 0);
    assert_string_equal(e.all, expected);
    ostel_sse_free(&p);
}

static void test_sse_pending_stop_and_cap(void **state)
{
    (void)state;
    struct ostel_sse p;
    ostel_sse_init(&p, 0);
    struct events e = {0};
    assert_int_equal(ostel_sse_feed(&p, "data: cut", 9, collect, &e), 0);
    assert_true(ostel_sse_pending(&p)); /* a stream ending here was truncated */
    assert_int_equal(e.n, 0);
    ostel_sse_free(&p);

    ostel_sse_init(&p, 0);
    struct events s = {.stop_after = 1};
    assert_int_equal(ostel_sse_feed(&p, "data: 1\n\ndata: 2\n\n", 18, collect, &s), 1);
    assert_int_equal(s.n, 1);
    ostel_sse_free(&p);

    ostel_sse_init(&p, 16);
    struct events c = {0};
    assert_int_equal(ostel_sse_feed(&p, "data: 0123456789abcdefXYZ\n\n", 27, collect, &c),
                     OSTEL_ERR);
    assert_int_equal(ostel_sse_feed(&p, "data: x\n\n", 9, collect, &c), OSTEL_ERR);
    assert_int_equal(c.n, 0);
    ostel_sse_free(&p);
    /* many data lines that together pass the cap */
    ostel_sse_init(&p, 16);
    int rc = 0;
    for (int i = 0; i < 10 && rc == 0; i++)
        rc = ostel_sse_feed(&p, "data: abcd\n", 11, collect, &c);
    assert_int_equal(rc, OSTEL_ERR);
    ostel_sse_free(&p);
}

struct prom_seen {
    double busy, total, labelled;
    int n;
};

static void on_prom(void *ctx, struct ostel_str name, double v)
{
    struct prom_seen *s = ctx;
    s->n++;
    if (ostel_str_eq(name, "llamacpp:requests_processing"))
        s->busy = v;
    if (ostel_str_eq(name, "llamacpp:tokens_predicted_total"))
        s->total = v;
    if (ostel_str_eq(name, "x{a=\"b c\",d=\"}\"}"))
        s->labelled = v;
}

static void test_prom(void **state)
{
    (void)state;
    const char text[] = "# HELP llamacpp:requests_processing Number of requests processing.\n"
                        "# TYPE llamacpp:requests_processing gauge\n"
                        "llamacpp:requests_processing 3\r\n"
                        "llamacpp:tokens_predicted_total 1.5e3 1700000000\n"
                        "\n"
                        "x{a=\"b c\",d=\"}\"} 7\n"
                        "broken_line_without_value\n"
                        "bad 12abc\n"
                        "inf +Inf\n";
    struct prom_seen s = {0};
    size_t bad = ostel_serve_prom_parse(text, strlen(text), on_prom, &s);
    assert_int_equal(bad, 2);
    assert_int_equal(s.n, 4);
    NEAR(s.busy, 3, 1e-12);
    NEAR(s.total, 1500, 1e-9);
    NEAR(s.labelled, 7, 1e-12);
}

static void test_stats(void **state)
{
    (void)state;
    /* numpy: np.percentile([1..10], [50,90,95,99,99.9]) = 5.5, 9.1, 9.55, 9.91, 9.991 */
    double x[] = {10, 3, NAN, 1, 2, 4, 5, 6, 7, 8, 9};
    struct ostel_serve_dist d;
    ostel_serve_dist_compute(x, 11, &d);
    assert_int_equal(d.n, 10);
    NEAR(d.mean, 5.5, 1e-12);
    NEAR(d.sd, sqrt(55.0 / 6.0), 1e-12); /* sample sd of 1..10 */
    NEAR(d.p50, 5.5, 1e-12);
    NEAR(d.p90, 9.1, 1e-12);
    NEAR(d.p95, 9.55, 1e-12);
    NEAR(d.p99, 9.91, 1e-12);
    NEAR(d.p999, 9.991, 1e-12);
    NEAR(d.max, 10, 1e-12);
    NEAR(d.min, 1, 1e-12);
    double one[] = {42};
    ostel_serve_dist_compute(one, 1, &d);
    assert_int_equal(d.n, 1);
    NEAR(d.p99, 42, 1e-12);
    assert_true(isnan(d.sd));
    double none[] = {NAN, NAN};
    ostel_serve_dist_compute(none, 2, &d);
    assert_int_equal(d.n, 0);
    assert_true(isnan(d.mean) && isnan(d.p50) && isnan(d.max));
    ostel_serve_dist_compute(NULL, 0, &d);
    assert_int_equal(d.n, 0);
}

static void test_request_stats(void **state)
{
    (void)state;
    /* tokens at 0, 10, 30, 60 ms: gaps 10, 20, 30 */
    const int64_t tok[] = {0, 10000000, 30000000, 60000000};
    NEAR(ostel_serve_itl_mean_ms(tok, 4), 20, 1e-9);
    NEAR(ostel_serve_itl_max_ms(tok, 4), 30, 1e-9);
    assert_true(isnan(ostel_serve_itl_mean_ms(tok, 1)));
    assert_true(isnan(ostel_serve_itl_max_ms(tok, 1)));
    assert_true(isnan(ostel_serve_itl_mean_ms(NULL, 0)));
    /* TPOT: first token at 100 ms, end at 400 ms, 4 tokens → 300 / 3 */
    NEAR(ostel_serve_tpot_ms(100000000, 400000000, 4), 100, 1e-9);
    assert_true(isnan(ostel_serve_tpot_ms(100000000, 400000000, 1))); /* one token: no gap */
    assert_true(isnan(ostel_serve_tpot_ms(-1, 400000000, 4)));        /* no first token */
    assert_true(isnan(ostel_serve_tpot_ms(500000000, 400000000, 4))); /* end before first */
}

static void test_slo(void **state)
{
    (void)state;
    struct ostel_serve_slo slo = {500, 50, 10000};
    assert_true(ostel_serve_slo_met(&slo, 500, 50, 10000)); /* bounds are inclusive */
    assert_false(ostel_serve_slo_met(&slo, 500.001, 10, 100));
    assert_false(ostel_serve_slo_met(&slo, 10, 50.5, 100));
    assert_false(ostel_serve_slo_met(&slo, 10, 10, 10001));
    assert_true(ostel_serve_slo_met(&slo, 10, NAN, 100));  /* one token: no ITL to judge */
    assert_false(ostel_serve_slo_met(&slo, NAN, 10, 100)); /* no TTFT fails a set bound */
    assert_false(ostel_serve_slo_met(&slo, 10, 10, NAN));
    struct ostel_serve_slo none = {NAN, NAN, NAN};
    assert_true(ostel_serve_slo_met(&none, 1e9, 1e9, NAN));
    struct ostel_serve_slo ttft_only = {100, NAN, NAN};
    assert_true(ostel_serve_slo_met(&ttft_only, 99, 1e9, 1e9));
    assert_false(ostel_serve_slo_met(&ttft_only, 101, 1, 1));
}

static void test_saturation(void **state)
{
    (void)state;
    double s, t;
    const double line[] = {1, 3, 5, 7, 9};
    ostel_serve_slope_t(line, 5, &s, &t);
    NEAR(s, 2, 1e-12);
    assert_true(isinf(t) && t > 0); /* a perfect line: no residual */
    const double noisy[] = {2, 1, 2, 1, 2, 1};
    ostel_serve_slope_t(noisy, 6, &s, &t);
    assert_true(fabs(t) < 4);
    ostel_serve_slope_t(line, 2, &s, &t);
    assert_true(isnan(s) && isnan(t));

    /* a backlog growing linearly without bound from the server's 4 slots: 4, 6, 8 … 26 */
    double grow[12];
    for (int i = 0; i < 12; i++)
        grow[i] = 4 + 2.0 * i + (i % 2 ? 0.5 : -0.5);
    assert_true(ostel_serve_saturated(grow, 12));
    assert_false(ostel_serve_saturated(grow, 9)); /* fewer than 10 samples */
    /* a steady backlog with noise: not saturated */
    double flat[12];
    for (int i = 0; i < 12; i++)
        flat[i] = 10 + (i % 3);
    assert_false(ostel_serve_saturated(flat, 12));
    /* rising but small: fewer than 8 in flight */
    double small[12];
    for (int i = 0; i < 12; i++)
        small[i] = i * 0.5 + (i % 2 ? 0.1 : 0);
    assert_false(ostel_serve_saturated(small, 12));
    /* rising steadily but not doubled since halfway (a slow climb at a high level) */
    double slow[12];
    for (int i = 0; i < 12; i++)
        slow[i] = 100 + i + (i % 2 ? 0.2 : 0);
    assert_false(ostel_serve_saturated(slow, 12));
}

/* scan(json): 1 token, 0 no token, 2 full parse, -1 malformed; text checked when want_text */
static int scan(const char *json, const char *want_text)
{
    struct ostel_chunk c;
    if (ostel_chunk_scan(json, strlen(json), &c) != 0)
        return -1;
    if (c.full)
        return 2;
    if (want_text) {
        assert_non_null(c.text);
        assert_int_equal(c.text_len, strlen(want_text));
        assert_memory_equal(c.text, want_text, c.text_len);
    }
    return c.token ? 1 : 0;
}

static void test_chunk(void **state)
{
    (void)state;
    /* llama-server's token chunk, its closing chunk, and the one with usage and timings */
    assert_int_equal(scan("{\"choices\":[{\"text\":\" the\",\"index\":0,\"logprobs\":null,"
                          "\"finish_reason\":null}],\"created\":1,\"id\":\"c\",\"model\":\"m\","
                          "\"system_fingerprint\":\"b1-x\",\"object\":\"text_completion\"}",
                          " the"),
                     1);
    assert_int_equal(
        scan("{\"choices\":[{\"text\":\"\",\"index\":0,\"finish_reason\":\"length\"}]}", ""), 0);
    assert_int_equal(scan("{\"choices\":[{\"text\":\"x\",\"finish_reason\":\"stop\"}]}", "x"), 1);
    assert_int_equal(scan("{\"choices\":[{\"text\":\"\",\"finish_reason\":null}]}", ""), 1);
    assert_int_equal(
        scan("{\"choices\":[],\"usage\":{\"completion_tokens\":3},\"timings\":{}}", NULL), 2);
    assert_int_equal(scan("{\"error\":{\"message\":\"boom\"}}", NULL), 2);
    assert_int_equal(scan("{\"TIMINGS\":1}", NULL), 2); /* names compared as cJSON does */
    /* cJSON's first member of a name wins, case ignored */
    assert_int_equal(scan("{\"Choices\":[{\"TEXT\":\"a\"}],\"choices\":[{\"text\":1}]}", "a"), 1);
    assert_int_equal(scan("{\"choices\":[{\"text\":1,\"text\":\"b\"}]}", NULL), 0);
    assert_int_equal(scan("{\"choices\":[\"x\",{\"text\":\"b\"}]}", NULL), 0);   /* [0] only */
    assert_int_equal(scan("{\"choices\":{\"text\":\"b\"}}", NULL), 0);           /* not an array */
    assert_int_equal(scan("{\"x\":{\"choices\":[{\"text\":\"b\"}]}}", NULL), 0); /* nested */
    assert_int_equal(
        scan(" {\"choices\" : [ { \"text\" : \"\\\"q\\u00e9\" } ] } \n", "\\\"q\\u00e9"), 1);
    /* what only cJSON can judge */
    assert_int_equal(scan("{\"ch\\u006fices\":[]}", NULL), 2);
    assert_int_equal(scan("{\"a\":\"\\ud83d\\ude00\"}", NULL), 2);
    assert_int_equal(
        scan("{\"a\":1234567890123456789012345678901234567890123456789012345678901234}", NULL), 2);
    char deep[200] = "{\"a\":";
    for (int i = 0; i < 40; i++)
        strcat(deep, "[");
    for (int i = 0; i < 40; i++)
        strcat(deep, "]");
    strcat(deep, "}");
    assert_int_equal(scan(deep, NULL), 2);
    /* malformed */
    const char *bad[] = {"",
                         "[]",
                         "\"x\"",
                         "{",
                         "{\"choices\":[{\"text\":\"x\",,}",
                         "{\"a\":1}x",
                         "{\"a\":01}",
                         "{\"a\":1.}",
                         "{\"a\":-}",
                         "{\"a\":1e}",
                         "{\"a\":tru}",
                         "{\"a\":nul}",
                         "{\"a\" 1}",
                         "{\"a\":1,}",
                         "{\"a\":[1,]}",
                         "{a:1}",
                         "{\"a\":\"\\x\"}",
                         "{\"a\":\"\\u12g4\"}",
                         "{\"a\":\"tab\there\"}",
                         "{\"a\":\"open}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (scan(bad[i], NULL) != -1)
            fail_msg("accepted: %s", bad[i]);
    }
    struct ostel_chunk c;
    assert_int_equal(ostel_chunk_scan("{\"a\":1}\0x", 9, &c), -1); /* a NUL inside the length */
}

/* The outcome of two levels the label tests share: c1 over 100.2–101.0 s, c2 over 101.5–102.5 s. */
static void two_levels(struct ostel_serve_outcome *o)
{
    memset(o, 0, sizeof(*o));
    o->n_levels = 2;
    o->level_start_ts = ostel_xmalloc(2 * sizeof(double));
    o->level_end_ts = ostel_xmalloc(2 * sizeof(double));
    o->level_names = ostel_xmalloc(2 * sizeof(char *));
    o->level_start_ts[0] = 100.2, o->level_end_ts[0] = 101.0;
    o->level_start_ts[1] = 101.5, o->level_end_ts[1] = 102.5;
    o->level_names[0] = ostel_xstrdup("c1");
    o->level_names[1] = ostel_xstrdup("c2");
    o->json = cJSON_Parse("{\"levels\":[{},{}]}");
}

/* Each of two_levels' levels got the telemetry of its rows: c1 the samples at 100.5 and 101.0 s,
 * c2 the one at 102.0 s. */
static void assert_two_levels_telemetry(const struct ostel_serve_outcome *o)
{
    char *j = cJSON_PrintUnformatted(o->json);
    assert_string_equal(j, "{\"levels\":[{\"telemetry\":{\"samples\":2,\"rss_peak_mib\":20,"
                           "\"rss_mean_mib\":20,\"cpu_mean_pct\":150}},{\"telemetry\":{"
                           "\"samples\":1,\"rss_peak_mib\":40,\"rss_mean_mib\":40,"
                           "\"cpu_mean_pct\":70}}]}");
    free(j);
}

/* metrics.csv gets its level column (read by the one metrics.csv reader, by header name: an older
 * file's columns in another order), and each level its rows' telemetry. */
static void test_label_metrics(void **state)
{
    (void)state;
    char *dir = test_tmpdir();
    char *path = ostel_xasprintf("%s/metrics.csv", dir);
    const char *csv = "cpu_pct,ts,rss_mb\n"
                      "50,100.0,10\n"
                      ",100.5,20\n"
                      "150,101.0,\n"
                      "70,102.0,40\n"
                      "90,103.5,50\n";
    test_write_file(path, csv, strlen(csv));
    struct ostel_serve_outcome o;
    two_levels(&o);
    assert_int_equal(ostel_serve_label_metrics(dir, NULL, &o), 0);
    char *got = test_read_file(path, NULL);
    assert_string_equal(got, "cpu_pct,ts,rss_mb,level\n"
                             "50,100.0,10,\n"
                             ",100.5,20,c1\n"
                             "150,101.0,,c1\n"
                             "70,102.0,40,c2\n"
                             "90,103.5,50,\n");
    assert_two_levels_telemetry(&o);
    free(got);
    ostel_serve_outcome_free(&o);
    test_rmtree(dir);
    free(path);
    free(dir);
}

/* With the rows metrics.csv was written from (the runner's res->rows), the file is written from
 * them, never read: one replaced by garbage since still gets every row with its level, and each
 * level the telemetry of its rows. */
static void test_label_metrics_rows(void **state)
{
    (void)state;
    char *dir = test_tmpdir();
    char *path = ostel_xasprintf("%s/metrics.csv", dir);
    const char *garbage = "not,a\nmetrics file\x01\n";
    test_write_file(path, garbage, strlen(garbage));
    struct ostel_metrics_table t = {ostel_xcalloc(4, sizeof(struct ostel_metrics_row)), 4};
    const double ts[4] = {100.0, 100.5, 101.0, 102.0}, rss[4] = {10, 20, NAN, 40},
                 cpu[4] = {50, NAN, 150, 70};
    for (size_t i = 0; i < 4; i++) {
        ostel_metrics_set(&t.rows[i], OSTEL_COL_TS, ts[i]);
        if (!isnan(rss[i]))
            ostel_metrics_set(&t.rows[i], OSTEL_COL_RSS_MB, rss[i]);
        if (!isnan(cpu[i]))
            ostel_metrics_set(&t.rows[i], OSTEL_COL_CPU_PCT, cpu[i]);
    }
    struct ostel_serve_outcome o;
    two_levels(&o);
    assert_int_equal(ostel_serve_label_metrics(dir, &t, &o), 0);

    /* the writer's header and rows, each line ending in its level */
    struct ostel_buf want;
    ostel_buf_init(&want, 0);
    char line[512];
    size_t n = ostel_metrics_format_header(line, sizeof(line));
    ostel_buf_append(&want, line, n - 1);
    ostel_buf_puts(&want, ",level\n");
    const char *lv[4] = {"", "c1", "c1", "c2"};
    for (size_t i = 0; i < 4; i++) {
        n = ostel_metrics_format_row(&t.rows[i], line, sizeof(line));
        ostel_buf_append(&want, line, n - 1);
        ostel_buf_printf(&want, ",%s\n", lv[i]);
    }
    size_t len;
    char *got = test_read_file(path, &len);
    assert_int_equal(len, want.len);
    assert_memory_equal(got, want.data, len);
    /* and metrics.csv's one reader takes it back: the same rows */
    struct ostel_metrics_table back;
    char err[256];
    assert_int_equal(ostel_metrics_parse(got, len, &back, err, sizeof(err)), 0);
    assert_int_equal(back.n, 4);
    assert_true(ostel_metrics_get(&back.rows[3], OSTEL_COL_RSS_MB) == 40);
    ostel_metrics_table_free(&back);
    assert_two_levels_telemetry(&o);
    free(got);
    ostel_buf_free(&want);
    ostel_metrics_table_free(&t);
    ostel_serve_outcome_free(&o);
    test_rmtree(dir);
    free(path);
    free(dir);
}

/* Each level's GPU figures from gpu_metrics.csv: peaks and mean power summed over the GPUs, the
 * energy (the rows' energy_j deltas inside the level) and that energy per output token. */
static void test_level_gpu_energy(void **state)
{
    (void)state;
    char *dir = test_tmpdir();
    char *path = ostel_xasprintf("%s/metrics.csv", dir);
    const char *csv = "ts,rss_mb,cpu_pct\n100.0,10,50\n101.0,10,50\n";
    test_write_file(path, csv, strlen(csv));
    free(path);
    path = ostel_xasprintf("%s/gpu_metrics.csv", dir);
    const char *gcsv = "ts,gpu,phase,mem_used_mb,proc_mem_mb,power_w,energy_j\n"
                       "99.9,0,,100,,50,\n"        /* before the level */
                       "100.1,0,,200,150,300,30\n" /* level c1 */
                       "100.1,1,,50,,100,10\n"
                       "100.2,0,,250,,500,50\n"
                       "100.2,1,,60,,,\n"        /* GPU 1's power and energy not read */
                       "101.5,0,,900,,900,90\n"; /* after it */
    test_write_file(path, gcsv, strlen(gcsv));
    struct ostel_serve_outcome o;
    memset(&o, 0, sizeof(o));
    o.n_levels = 1;
    o.level_start_ts = ostel_xmalloc(sizeof(double));
    o.level_end_ts = ostel_xmalloc(sizeof(double));
    o.level_names = ostel_xmalloc(sizeof(char *));
    o.level_start_ts[0] = 100.0, o.level_end_ts[0] = 101.0;
    o.level_names[0] = ostel_xstrdup("c1");
    o.json = cJSON_Parse("{\"levels\":[{\"output_tokens_per_s\":9,\"duration_s\":10}]}");
    assert_int_equal(ostel_serve_label_metrics(dir, NULL, &o), 0);
    const cJSON *g = cJSON_GetObjectItem(
        cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(o.json, "levels"), 0),
                            "telemetry"),
        "gpu");
    assert_non_null(g);
    assert_true(cJSON_GetObjectItem(g, "mem_peak_mib")->valuedouble == 250 + 60);
    assert_true(cJSON_GetObjectItem(g, "proc_mem_peak_mib")->valuedouble == 150);
    assert_true(cJSON_GetObjectItem(g, "power_mean_w")->valuedouble == 400 + 100);
    assert_true(cJSON_GetObjectItem(g, "energy_j")->valuedouble == 30 + 50 + 10);
    assert_true(fabs(cJSON_GetObjectItem(g, "j_per_output_token")->valuedouble - 1.0) < 1e-12);
    /* a corrupt gpu_metrics.csv (rundir's reader refuses its line 3): a warning and no gpu object,
     * never figures from the rows before the bad one */
    const char *bad = "ts,gpu,power_w\n100.1,0,300\n100.2,0,x\n";
    test_write_file(path, bad, strlen(bad));
    assert_int_equal(ostel_serve_label_metrics(dir, NULL, &o), 0);
    g = cJSON_GetObjectItem(
        cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(o.json, "levels"), 0),
                            "telemetry"),
        "gpu");
    assert_null(g);
    ostel_serve_outcome_free(&o);
    test_rmtree(dir);
    free(path);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sse_whole_and_split),
        cmocka_unit_test(test_sse_pending_stop_and_cap),
        cmocka_unit_test(test_prom),
        cmocka_unit_test(test_chunk),
        cmocka_unit_test(test_stats),
        cmocka_unit_test(test_request_stats),
        cmocka_unit_test(test_slo),
        cmocka_unit_test(test_saturation),
        cmocka_unit_test(test_label_metrics),
        cmocka_unit_test(test_label_metrics_rows),
        cmocka_unit_test(test_level_gpu_energy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
