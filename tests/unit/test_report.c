/*
 * Unit tests for report: the loader's pure parsers, grouping and baselines, the escapers, the
 * memory prediction against measurement and the memory sweep over contexts (on a GGUF written
 * here), and golden files of the Markdown, CSV and JSON reports on the fixture run directories
 * (tests/data/runs). Bad input goes through the real binary: one error naming the file, exit
 * status 1.
 *
 * OSTEL_UPDATE_GOLDEN=1 rewrites the golden files instead of comparing (then review the diff).
 */
#include "testlib.h"
#include "llama/ggml_types.h"
#include "llama/gguf_write.h"
#include "report/report.h"
#include "run/gpu_aggregate.h"
#include "util/fileio.h"

#include <cJSON.h>
#include <fcntl.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- the JSON report checked against the report's structs ---- */

/* A walk over an object's members in order: each expect_* takes the next member, checks its key
 * and its value; walk_end checks that none is left. */
struct walk {
    const cJSON *at;
    const char *where;
};

static struct walk walk_of(const cJSON *obj, const char *where)
{
    if (!cJSON_IsObject(obj))
        fail_msg("%s: not an object", where);
    return (struct walk){obj->child, where};
}

static const cJSON *walk_next(struct walk *w, const char *key)
{
    if (!w->at)
        fail_msg("%s: no member '%s'", w->where, key);
    if (strcmp(w->at->string, key) != 0)
        fail_msg("%s: member '%s' where '%s' belongs", w->where, w->at->string, key);
    const cJSON *c = w->at;
    w->at = c->next;
    return c;
}

static void walk_end(const struct walk *w)
{
    if (w->at)
        fail_msg("%s: a member '%s' too many", w->where, w->at->string);
}

static void expect_null(struct walk *w, const char *key)
{
    if (!cJSON_IsNull(walk_next(w, key)))
        fail_msg("%s.%s: not null", w->where, key);
}

/* v rounded to 6 significant digits (ostel_report_json_num: "%.6g" and strtod), null when not
 * finite. */
static void expect_num(struct walk *w, const char *key, double v)
{
    const cJSON *c = walk_next(w, key);
    cJSON *want = ostel_report_json_num(v);
    if (cJSON_IsNull(want) ? !cJSON_IsNull(c)
                           : !cJSON_IsNumber(c) || c->valuedouble != want->valuedouble)
        fail_msg("%s.%s: %s, want %.17g", w->where, key, cJSON_IsNumber(c) ? "other" : "no number",
                 v);
    cJSON_Delete(want);
}

/* v as it is, null when not finite. */
static void expect_double(struct walk *w, const char *key, double v)
{
    const cJSON *c = walk_next(w, key);
    if (isfinite(v) ? !cJSON_IsNumber(c) || c->valuedouble != v : !cJSON_IsNull(c))
        fail_msg("%s.%s: want %.17g", w->where, key, v);
}

/* A count or setting, null when negative (not known). */
static void expect_int(struct walk *w, const char *key, long long v)
{
    if (v < 0)
        expect_null(w, key);
    else
        expect_double(w, key, (double)v);
}

static void expect_bool(struct walk *w, const char *key, int v)
{
    const cJSON *c = walk_next(w, key);
    if (v < 0 ? !cJSON_IsNull(c) : !cJSON_IsBool(c) || cJSON_IsTrue(c) != (v != 0))
        fail_msg("%s.%s: want %d", w->where, key, v);
}

/* s, null when NULL or empty. */
static void expect_str(struct walk *w, const char *key, const char *s)
{
    const cJSON *c = walk_next(w, key);
    if (s && *s ? !cJSON_IsString(c) || strcmp(c->valuestring, s) != 0 : !cJSON_IsNull(c))
        fail_msg("%s.%s: want '%s'", w->where, key, s ? s : "(null)");
}

static void expect_cmpval(struct walk *w, const char *key, const struct ostel_report_cmpval *v)
{
    struct walk o = walk_of(walk_next(w, key), key);
    expect_num(&o, "predicted_mib", v->predicted_mib);
    expect_num(&o, "measured_mib", v->measured_mib);
    expect_num(&o, "error_pct", v->error_pct);
    walk_end(&o);
}

/* One run's object of the "runs" array against its struct. */
static void expect_run(const cJSON *j, const struct ostel_report *rep, size_t idx,
                       const char *group)
{
    const struct ostel_report_run *run = &rep->set->runs[idx];
    struct walk w = walk_of(j, run->name);
    expect_str(&w, "name", run->name);
    expect_str(&w, "path", run->path);
    expect_str(&w, "group", group);
    expect_str(&w, "tag", run->tag);
    expect_str(&w, "status", run->status);
    expect_int(&w, "exit_code", run->exit_code);
    expect_str(&w, "signal", run->signal);
    expect_bool(&w, "oom_killed", run->oom_killed);
    expect_str(&w, "model", run->model);
    expect_str(&w, "model_type", run->model_type);
    expect_num(&w, "model_size_mib", run->model_size_mib);
    expect_num(&w, "model_n_params", run->model_n_params);
    expect_int(&w, "ctx", run->ctx);
    expect_int(&w, "gen", run->gen);
    expect_num(&w, "n_prompt", run->n_prompt);
    expect_num(&w, "n_gen", run->n_gen);
    expect_int(&w, "repetition", run->repetition);
    expect_str(&w, "scenario", run->scenario);
    expect_str(&w, "tool", run->tool);
    expect_str(&w, "llama_version", run->llama_version);
    expect_str(&w, "device", run->device);
    expect_str(&w, "device_desc", run->device_desc);
    expect_double(&w, "start_ts", round(run->start_ts * 1000) / 1000); /* to the millisecond */
    struct walk m = walk_of(walk_next(&w, "metrics"), "metrics");
    for (int k = 0; k < OSTEL_REPORT_NMETRIC; k++)
        if (rep->gpu || !ostel_report_metric_is_gpu(k))
            expect_num(&m, ostel_report_metric_info(k)->key, run->metric[k]);
    walk_end(&m);
    struct walk ph = walk_of(walk_next(&w, "phases"), "phases");
    for (int p = 0; p < OSTEL_REPORT_NPHASES; p++) {
        if (!run->phase_present[p]) {
            expect_null(&ph, ostel_report_phase_name(p));
            continue;
        }
        struct walk t = walk_of(walk_next(&ph, ostel_report_phase_name(p)), "phase");
        for (int k = 0; k < OSTEL_REPORT_NTEL; k++)
            expect_num(&t, ostel_report_tel_key(k), run->tel[p][k]);
        walk_end(&t);
    }
    walk_end(&ph);
    const struct ostel_report_prediction *p = &run->pred;
    if (!p->present) {
        expect_null(&w, "prediction");
    } else {
        struct walk pr = walk_of(walk_next(&w, "prediction"), "prediction");
        for (int k = 0; k < OSTEL_REPORT_NPARTS; k++)
            expect_cmpval(&pr, ostel_report_part_name(k), &p->part[k]);
        const cJSON *devs = walk_next(&pr, "devices");
        assert_true(cJSON_IsArray(devs));
        assert_int_equal(cJSON_GetArraySize(devs), p->ndev);
        for (size_t d = 0; d < p->ndev; d++) {
            struct walk dv = walk_of(cJSON_GetArrayItem(devs, (int)d), "device");
            expect_str(&dv, "device", p->dev[d].name);
            for (int k = 0; k < OSTEL_REPORT_PART_OUTPUT; k++)
                expect_cmpval(&dv, ostel_report_part_name(k), &p->dev[d].part[k]);
            walk_end(&dv);
        }
        expect_int(&pr, "n_ctx", p->n_ctx);
        expect_str(&pr, "source", p->source);
        expect_str(&pr, "backend", p->backend);
        expect_bool(&pr, "within_bars", p->within_bars);
        expect_str(&pr, "note", p->note);
        walk_end(&pr);
    }
    expect_num(&w, "ram_mib", run->ram_mib);
    expect_num(&w, "mem_available_start_mib", run->avail_start_mib);
    expect_str(&w, "log_tail", run->log_tail);
    walk_end(&w);
}

/* What ostel_report_json_write writes is JSON that cJSON prints back as the same bytes (its
 * layout); its head is ostel_report_json_tree_head's tree; its "runs" hold every group's runs in
 * order, each with the values of its struct. */
static void assert_json_write_checks(const struct ostel_report *rep)
{
    struct ostel_buf b;
    ostel_buf_init(&b, 0);
    ostel_report_json_write(rep, &b);
    cJSON *doc = cJSON_Parse(b.data);
    assert_non_null(doc);
    char *t = cJSON_Print(doc);
    assert_non_null(t);
    size_t n = strlen(t);
    assert_int_equal(b.len, n + 1);
    assert_memory_equal(b.data, t, n);
    assert_int_equal(b.data[n], '\n');
    cJSON_free(t);
    cJSON *runs = cJSON_DetachItemFromObject(doc, "runs");
    assert_true(cJSON_IsArray(runs));
    cJSON *head = ostel_report_json_tree_head(rep);
    char *got = cJSON_Print(doc), *want = cJSON_Print(head);
    assert_string_equal(got, want);
    cJSON_free(got);
    cJSON_free(want);
    cJSON_Delete(head);
    const cJSON *run = runs->child;
    for (size_t gi = 0; gi < rep->ngroups; gi++)
        for (size_t i = 0; i < rep->groups[gi].n; i++, run = run->next) {
            assert_non_null(run);
            expect_run(run, rep, rep->groups[gi].runs[i], rep->groups[gi].label);
        }
    assert_null(run);
    cJSON_Delete(runs);
    cJSON_Delete(doc);
    ostel_buf_free(&b);
}

/* What cJSON prints for item, unformatted. */
static void assert_prints_as(cJSON *item, const char *got, size_t n, double v)
{
    char *want = cJSON_PrintUnformatted(item);
    assert_non_null(want);
    if (strlen(want) != n || strcmp(want, got) != 0)
        fprintf(stderr, "%a: cJSON %s, ours %s\n", v, want, got);
    assert_string_equal(got, want);
    assert_int_equal(n, strlen(want));
    cJSON_free(want);
    cJSON_Delete(item);
}

static uint64_t xorshift(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Both number formatters print what cJSON prints for their items, over edge cases and many
 * random doubles: random bit patterns (every exponent, subnormals), decimals near the layouts'
 * borders, integers near INT_MAX and 2^53. */
static void test_json_numbers(void **state)
{
    (void)state;
    double fixed[] = {0.0,
                      -0.0,
                      NAN,
                      -NAN,
                      INFINITY,
                      -INFINITY,
                      1,
                      -1,
                      0.5,
                      1e-4,
                      9.99999e-5,
                      9.999995e-5,
                      1e-5,
                      1e5,
                      1e6,
                      999999.5,
                      9999995,
                      1e14,
                      9.999995e14,
                      1e15,
                      1e16,
                      1e21,
                      1e300,
                      1.0000001e300,
                      1e301,
                      1e-300,
                      9.9999e-301,
                      DBL_MAX,
                      -DBL_MAX,
                      DBL_MIN,
                      4.9e-324,
                      2.2e-308,
                      2147483647.0,
                      2147483648.0,
                      -2147483648.0,
                      -2147483649.0,
                      2147480000,
                      9007199254740993.0,
                      123456789,
                      0.1,
                      0.2 + 0.1,
                      1.0 / 3,
                      -1.0 / 3,
                      1765000000.123,
                      1765000000.1235};
    uint64_t seed = 0x9e3779b97f4a7c15u;
    for (int i = 0; i < 400000; i++) {
        double v;
        int kind = i < (int)OSTEL_ARRAY_LEN(fixed) ? -1 : i % 4;
        if (kind < 0) {
            v = fixed[i];
        } else if (kind == 0) {
            uint64_t bits = xorshift(&seed);
            memcpy(&v, &bits, sizeof(v));
        } else if (kind == 1) {
            /* digits × 10^e, e in [-330, 330] */
            double m = (double)(xorshift(&seed) % 10000000) / 1e6;
            v = m * pow(10, (int)(xorshift(&seed) % 661) - 330);
        } else if (kind == 2) {
            long long k = (long long)(xorshift(&seed) % 8000000000u) - 4000000000LL;
            v = (double)k;
        } else {
            v = ((double)xorshift(&seed) / 18446744073709551616.0 - 0.5) *
                pow(2, (int)(xorshift(&seed) % 140) - 70);
        }
        if (xorshift(&seed) & 1)
            v = -v;
        char b[32];
        size_t n = ostel_report_json_num_text(b, v);
        assert_prints_as(ostel_report_json_num(v), b, n, v);
        n = ostel_report_json_double_text(b, v);
        assert_prints_as(cJSON_CreateNumber(v), b, n, v);
    }
}

/* Replaces every occurrence of from with to; the caller frees the result. */
static char *replace_all(const char *s, const char *from, const char *to)
{
    struct ostel_buf b;
    ostel_buf_init(&b, 0);
    size_t n = strlen(from);
    for (const char *p = s; *p;) {
        const char *hit = n ? strstr(p, from) : NULL;
        if (!hit) {
            ostel_buf_puts(&b, p);
            break;
        }
        ostel_buf_append(&b, p, (size_t)(hit - p));
        ostel_buf_puts(&b, to);
        p = hit + n;
    }
    if (!b.data)
        return ostel_xstrdup("");
    return ostel_buf_detach(&b);
}

static void check_golden(const char *format, const char *golden)
{
    char *runs = test_src_path("tests/data/runs");
    char *study = ostel_xasprintf("%s/study-metal", runs);
    char *cpu = ostel_xasprintf("%s/cpu-paging", runs);
    const char *argv[] = {"report", study, cpu, "--format", format, NULL};
    char *out, *err;
    int rc = test_run_ostel(argv, &out, &err);
    if (rc != 0)
        fprintf(stderr, "stderr: %s\n", err);
    assert_int_equal(rc, 0);
    char *got = replace_all(out, runs, "@RUNS@");
    char *path = test_src_path(golden);
    if (getenv("OSTEL_UPDATE_GOLDEN")) {
        test_write_file(path, got, strlen(got));
    } else {
        size_t n;
        char *want = test_read_file(path, &n);
        if (strcmp(got, want) != 0) {
            char *tmp = ostel_xasprintf("%s.got", path);
            test_write_file(tmp, got, strlen(got));
            fprintf(stderr, "golden mismatch: diff %s %s\n", path, tmp);
            free(tmp);
        }
        assert_string_equal(got, want);
        free(want);
    }
    free(path);
    free(got);
    free(out);
    free(err);
    free(study);
    free(cpu);
    free(runs);
}

static void test_golden_md(void **state)
{
    (void)state;
    check_golden("md", "tests/data/golden/report.md");
}

static void test_golden_csv(void **state)
{
    (void)state;
    check_golden("csv", "tests/data/golden/report.csv");
}

static void test_golden_json(void **state)
{
    (void)state;
    check_golden("json", "tests/data/golden/report.json");
}

/* The serving section (from its first heading on) of the report on tests/data/runs/serve-tiny:
 * two groups (q4_k_m, q8_0) × 2 real ostel serve runs on the pinned llama-server. */
static void test_golden_serve_md(void **state)
{
    (void)state;
    char *dir = test_src_path("tests/data/runs/serve-tiny");
    const char *argv[] = {"report", dir, "--format", "md", NULL};
    char *out, *err;
    int rc = test_run_ostel(argv, &out, &err);
    if (rc != 0)
        fprintf(stderr, "stderr: %s\n", err);
    assert_int_equal(rc, 0);
    const char *from = strstr(out, "## Serving by group");
    assert_non_null(from);
    char *path = test_src_path("tests/data/golden/report-serve.md");
    if (getenv("OSTEL_UPDATE_GOLDEN")) {
        test_write_file(path, from, strlen(from));
    } else {
        size_t n;
        char *want = test_read_file(path, &n);
        assert_string_equal(from, want);
        free(want);
    }
    free(path);
    free(out);
    free(err);
    free(dir);
}

/* The serving section's JSON and CSV on the same runs: the knee, a level's statistics and its
 * comparison, the same figures in both. */
static void test_serve_json_csv(void **state)
{
    (void)state;
    char *dir = test_src_path("tests/data/runs/serve-tiny");
    const char *jargv[] = {"report", dir, "--format", "json", NULL};
    char *out, *err;
    assert_int_equal(test_run_ostel(jargv, &out, &err), 0);
    cJSON *j = cJSON_Parse(out);
    assert_non_null(j);
    const cJSON *q8 = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "groups"), 1);
    const cJSON *sv = cJSON_GetObjectItem(q8, "serve");
    assert_string_equal(cJSON_GetObjectItem(q8, "label")->valuestring, "q8_0");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(sv, "knee"), "level")->valuestring,
                        "c4");
    const cJSON *c4 = cJSON_GetArrayItem(cJSON_GetObjectItem(sv, "levels"), 2);
    assert_string_equal(cJSON_GetObjectItem(c4, "name")->valuestring, "c4");
    const cJSON *rss = cJSON_GetObjectItem(cJSON_GetObjectItem(c4, "vs_baseline"), "rss_peak_mib");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(rss, "significant")));
    const cJSON *def = cJSON_GetObjectItem(cJSON_GetObjectItem(c4, "metrics"), "deferred_max");
    assert_true(cJSON_GetObjectItem(def, "mean")->valuedouble == 2);
    /* the pinned llama-server exports no KV cache gauge: no such key, never a 0 */
    assert_null(cJSON_GetObjectItem(cJSON_GetObjectItem(c4, "metrics"), "kv_cache_usage_max"));
    double ratio = cJSON_GetObjectItem(rss, "ratio")->valuedouble;
    cJSON_Delete(j);
    free(out);
    free(err);

    const char *cargv[] = {"report", dir, "--format", "csv", NULL};
    assert_int_equal(test_run_ostel(cargv, &out, &err), 0);
    assert_non_null(strstr(out, ",serve_c4_rss_peak_mib_ratio,"));
    assert_non_null(strstr(out, ",serve_knee\r\n"));
    char want[64];
    snprintf(want, sizeof(want), "%.4f", ratio);
    want[strlen(want) - 1] = '\0'; /* JSON has 6 digits, the CSV 4 decimals: compare 3 */
    assert_non_null(strstr(out, want));
    assert_non_null(strstr(out, ",c4\r\n"));
    free(out);
    free(err);
    free(dir);
}

/* Serve levels from a summary ostel did not write: a level named twice in a run counts once (the
 * first), control bytes in a name become spaces, a level without a name or not an object is
 * skipped, a level missing from one group is absent from its rows (not 0), and the knee follows
 * a level stopped early as saturated. */
static void test_serve_odd_levels(void **state)
{
    (void)state;
    char *path = test_src_path("tests/data/runs/serve-tiny/q8-1/summary.json");
    size_t n;
    char *text = test_read_file(path, &n);
    cJSON *root = cJSON_Parse(text);
    cJSON *levels = cJSON_GetObjectItem(cJSON_GetObjectItem(root, "serve"), "levels");
    cJSON *c1 = cJSON_GetArrayItem(levels, 0);
    cJSON_ReplaceItemInObject(c1, "name", cJSON_CreateString("c1\n<b>"));
    cJSON *dup = cJSON_Duplicate(c1, true);
    cJSON_ReplaceItemInObject(dup, "request_throughput", cJSON_CreateNumber(1e6));
    cJSON_AddItemToArray(levels, dup);
    cJSON_AddItemToArray(levels, cJSON_CreateNumber(5));
    cJSON_AddItemToArray(levels, cJSON_CreateObject());
    cJSON_ReplaceItemInObject(cJSON_GetArrayItem(levels, 1), "stopped_early",
                              cJSON_CreateString("saturated"));
    char *odd = cJSON_PrintUnformatted(root);
    struct ostel_report_set set;
    ostel_report_set_init(&set);
    char err[256];
    for (int i = 0; i < 2; i++)
        assert_int_equal(
            ostel_report_load_summary(ostel_report_set_add(&set), odd, strlen(odd), err, 256), 0);
    /* a third run in another group, without level c2 */
    cJSON_DeleteItemFromArray(levels, 1);
    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(root, "run"), "tag", cJSON_CreateString("other"));
    char *other = cJSON_PrintUnformatted(root);
    struct ostel_report_run *r3 = ostel_report_set_add(&set);
    assert_int_equal(ostel_report_load_summary(r3, other, strlen(other), err, 256), 0);
    struct ostel_report rep;
    struct ostel_report_options opt = {0, NULL};
    assert_int_equal(ostel_report_build(&rep, &set, &opt, err, sizeof(err)), 0);
    struct ostel_report_serve sv;
    assert_true(ostel_report_serve_build(&rep, &sv));
    assert_int_equal(sv.nlevels, 3);
    assert_string_equal(sv.levels[0].name, "c1 <b>");
    const struct ostel_report_serve_cell *c = &sv.cells[0];
    assert_int_equal(c->runs, 2);
    assert_int_equal(c->stat[OSTEL_REPORT_SV_REQ_S].n, 2);
    assert_true(c->stat[OSTEL_REPORT_SV_REQ_S].mean < 1000); /* the first, not the duplicate */
    assert_int_equal(sv.knee[0], 1);                         /* c2: saturated */
    assert_non_null(strstr(sv.knee_why[0], "stopped early"));
    assert_int_equal(sv.cells[1 * sv.nlevels + 1].runs, 0); /* "other" has no c2 */
    assert_false(sv.present[OSTEL_REPORT_SV_KV_MAX]);
    ostel_report_serve_free(&sv);
    assert_json_write_checks(&rep);
    ostel_report_free(&rep);
    ostel_report_set_free(&set);
    cJSON_free(odd);
    cJSON_free(other);
    cJSON_Delete(root);
    free(text);
    free(path);
}

static void test_load_summary(void **state)
{
    (void)state;
    struct ostel_report_set set;
    ostel_report_set_init(&set);
    struct ostel_report_run *r = ostel_report_set_add(&set);
    char err[256];
    assert_int_equal(ostel_report_load_summary(r, "{", 1, err, sizeof(err)), -1);
    assert_string_equal(err, "not valid JSON");
    const char *other = "{\"schema\":\"x\"}";
    assert_int_equal(ostel_report_load_summary(r, other, strlen(other), err, sizeof(err)), -1);
    const char *v2 = "{\"schema\":\"ostel.summary\",\"schema_version\":2,\"run\":{}}";
    assert_int_equal(ostel_report_load_summary(r, v2, strlen(v2), err, sizeof(err)), -1);
    assert_non_null(strstr(err, "schema_version"));
    /* The parser's nested JSON, "inf" speeds, a CUDA device row and a Host row. */
    const char *ok =
        "{\"schema\":\"ostel.summary\",\"schema_version\":1,\"run\":{\"tag\":\"a\\nb\","
        "\"status\":\"ok\",\"ctx\":4096,\"gen\":null,\"wall_s\":2.5},\"llama\":{\"timings\":"
        "{\"prompt_tps\":\"inf\",\"gen_tps\":12.5},\"model\":{\"arch\":\"llama\",\"type\":\"1B\","
        "\"file_type\":\"Q4_0\",\"size_mib\":600},\"memory_breakdown\":[{\"device\":\"CUDA0 "
        "(H100)\","
        "\"total\":80000,\"free\":1000,\"self\":1700,\"model\":1000,\"context\":500,\"compute\":"
        "200,"
        "\"unaccounted\":17592186030401},{\"device\":\"Host\",\"total\":null,\"self\":55}]},"
        "\"telemetry\":{\"overall\":{\"rss_peak_mib\":700,\"pageins\":null},\"phases\":"
        "{\"load\":null,\"generate\":{\"cpu_mean_pct\":99}}}}";
    assert_int_equal(ostel_report_load_summary(r, ok, strlen(ok), err, sizeof(err)), 0);
    assert_string_equal(r->tag, "a b");
    assert_true(r->ok);
    assert_int_equal(r->ctx, 4096);
    assert_int_equal(r->gen, -1);
    assert_true(isnan(r->metric[OSTEL_REPORT_M_PROMPT_TPS]));
    assert_true(r->metric[OSTEL_REPORT_M_GEN_TPS] == 12.5);
    assert_string_equal(r->device, "CUDA0");
    assert_string_equal(r->device_desc, "CUDA0 (H100)");
    assert_string_equal(r->model_type, "llama 1B Q4_0");
    assert_true(r->metric[OSTEL_REPORT_M_DEV_USED_MIB] == 1700);
    assert_true(r->metric[OSTEL_REPORT_M_HOST_MIB] == 55);
    assert_true(r->metric[OSTEL_REPORT_M_RSS_PEAK_MIB] == 700);
    assert_true(isnan(r->metric[OSTEL_REPORT_M_PAGEINS]));
    assert_false(r->phase_present[OSTEL_REPORT_PHASE_LOAD]);
    assert_true(r->phase_present[OSTEL_REPORT_PHASE_GENERATE]);
    assert_true(r->tel[OSTEL_REPORT_PHASE_GENERATE][OSTEL_REPORT_TEL_CPU_MEAN_PCT] == 99);
    assert_true(r->has_memory);

    /* CPU only, as the pinned build prints it on x86: a Host row and a CPU_REPACK row (the weights'
     * repacked copy). Used = model + context + compute over both rows, the model including the
     * copy. */
    r = ostel_report_set_add(&set);
    const char *cpu =
        "{\"schema\":\"ostel.summary\",\"schema_version\":1,\"run\":{\"status\":\"ok\"},"
        "\"llama\":{\"memory_breakdown\":[{\"device\":\"Host\",\"total\":null,\"self\":1140,"
        "\"model\":753,\"context\":128,\"compute\":258},{\"device\":\"CPU_REPACK\",\"total\":"
        "null,\"self\":445,\"model\":445,\"context\":0,\"compute\":0}]}}";
    assert_int_equal(ostel_report_load_summary(r, cpu, strlen(cpu), err, sizeof(err)), 0);
    assert_string_equal(r->device, "CPU");
    assert_true(r->metric[OSTEL_REPORT_M_DEV_USED_MIB] == 1585);
    assert_true(r->metric[OSTEL_REPORT_M_MODEL_MIB] == 1198);
    assert_true(r->metric[OSTEL_REPORT_M_CONTEXT_MIB] == 128);
    assert_true(r->metric[OSTEL_REPORT_M_COMPUTE_MIB] == 258);
    assert_true(isnan(r->metric[OSTEL_REPORT_M_HOST_MIB]));
    ostel_report_set_free(&set);
}

/* A run given twice counts once, by its run id; runs without one are all kept, in order. */
static void test_dedupe(void **state)
{
    (void)state;
    struct ostel_report_set set;
    ostel_report_set_init(&set);
    const char *ids[] = {"aa", "", "bb", "aa", "", "bb", "cc"};
    char err[256];
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        char json[256];
        snprintf(json, sizeof(json),
                 "{\"schema\":\"ostel.summary\",\"schema_version\":1,\"run\":{\"run_id\":\"%s\","
                 "\"tag\":\"t%zu\",\"status\":\"ok\"}}",
                 ids[i], i);
        struct ostel_report_run *r = ostel_report_set_add(&set);
        assert_int_equal(ostel_report_load_summary(r, json, strlen(json), err, sizeof(err)), 0);
    }
    assert_int_equal(ostel_report_set_dedupe(&set), 2);
    assert_int_equal(set.n, 5);
    const char *tags[] = {"t0", "t1", "t2", "t4", "t6"}, *kept[] = {"aa", "", "bb", "", "cc"};
    for (size_t i = 0; i < 5; i++) {
        assert_string_equal(set.runs[i].tag, tags[i]);
        assert_string_equal(set.runs[i].run_id, kept[i]);
    }
    assert_int_equal(ostel_report_set_dedupe(&set), 0);
    ostel_report_set_free(&set);
}

static void test_load_buffers_and_config(void **state)
{
    (void)state;
    struct ostel_report_set set;
    ostel_report_set_init(&set);
    struct ostel_report_run *r = ostel_report_set_add(&set);
    char err[256];
    const char *js =
        "{\"schema\":\"ostel.summary\",\"schema_version\":1,\"run\":{\"status\":\"failed\"},"
        "\"llama\":{\"buffers\":[{\"kind\":\"model\",\"backend\":\"MTL0_Mapped\",\"mib\":400},"
        "{\"kind\":\"model\",\"backend\":\"CPU_Mapped\",\"mib\":90},{\"kind\":\"kv\",\"backend\":"
        "\"MTL0\",\"mib\":6},{\"kind\":\"compute\",\"backend\":\"MTL0\",\"mib\":300},{\"kind\":"
        "\"output\",\"backend\":\"CPU\",\"mib\":0.5}]}}";
    assert_int_equal(ostel_report_load_summary(r, js, strlen(js), err, sizeof(err)), 0);
    assert_false(r->ok);
    assert_string_equal(r->device, "MTL0");
    assert_true(r->metric[OSTEL_REPORT_M_DEV_USED_MIB] == 706);
    assert_true(r->metric[OSTEL_REPORT_M_HOST_MIB] == 90);
    const char *cfg = "tag=from-config\nctx=2048\ngen=x\nstatus=ok\nbogus\n";
    ostel_report_load_config(r, cfg, strlen(cfg));
    assert_string_equal(r->tag, "from-config");
    assert_int_equal(r->ctx, 2048);
    assert_int_equal(r->gen, -1);
    ostel_report_set_free(&set);
}

static void test_load_metrics(void **state)
{
    (void)state;
    struct ostel_report_set set;
    ostel_report_set_init(&set);
    struct ostel_report_run *r = ostel_report_set_add(&set);
    char err[256];
    const char *csv = "ts,rss_mb,cpu_pct,vm_pressure_flag,avail_mem_level,pageins_delta,"
                      "pageouts_delta,phase\n"
                      "100.0,10,,1,50,0,0,load\n100.5,20,150,2,40,5,1,generate\n\n";
    assert_int_equal(ostel_report_load_metrics(r, csv, strlen(csv), err, sizeof(err)), 0);
    assert_int_equal(r->series.n, 2);
    assert_true(r->series.t_s[1] == 0.5);
    assert_true(isnan(r->series.cpu_pct[0]));
    assert_int_equal(r->series.phase[1], OSTEL_REPORT_PHASE_GENERATE);
    const char *bad = "ts,rss_mb\n1,2\n3,abc\n";
    assert_int_equal(ostel_report_load_metrics(r, bad, strlen(bad), err, sizeof(err)), -1);
    assert_string_equal(err, "line 3: column rss_mb is not a number: 'abc'");
    const char *short_row = "ts,rss_mb,cpu_pct\n1,2\n";
    assert_int_equal(ostel_report_load_metrics(r, short_row, strlen(short_row), err, sizeof(err)),
                     -1);
    assert_string_equal(err, "line 2: 2 cells but the header has 3");
    const char *nohead = "a,b\n";
    assert_int_equal(ostel_report_load_metrics(r, nohead, strlen(nohead), err, sizeof(err)), -1);
    assert_int_equal(ostel_report_load_metrics(r, "", 0, err, sizeof(err)), -1);
    ostel_report_set_free(&set);
}

static void test_grouping_and_baseline(void **state)
{
    (void)state;
    struct ostel_report_set set;
    ostel_report_set_init(&set);
    const char *tags[] = {"b", "a", "b", "a"};
    const double tps[] = {10, 20, 12, 22};
    for (int i = 0; i < 4; i++) {
        struct ostel_report_run *r = ostel_report_set_add(&set);
        free(r->tag);
        r->tag = ostel_xstrdup(tags[i]);
        free(r->status);
        r->status = ostel_xstrdup("ok");
        r->ok = true;
        r->ctx = 4096;
        r->start_ts = 100 - i; /* later runs started earlier: order by time, not by argument */
        r->metric[OSTEL_REPORT_M_GEN_TPS] = tps[i];
    }
    struct ostel_report rep;
    char err[256];
    struct ostel_report_options opt = {0, "a"};
    assert_int_equal(ostel_report_build(&rep, &set, &opt, err, sizeof(err)), 0);
    assert_int_equal(rep.ngroups, 2);
    assert_string_equal(rep.groups[0].label, "b");
    assert_int_equal(rep.baseline, 1);
    assert_int_equal(rep.groups[0].runs[0], 2);
    assert_true(rep.groups[0].value[OSTEL_REPORT_M_GEN_TPS] == 11);
    assert_true(fabs(rep.groups[0].cmp[OSTEL_REPORT_M_GEN_TPS].ratio.ratio - 11.0 / 21.0) < 1e-12);
    assert_json_write_checks(&rep);
    ostel_report_free(&rep);

    unsigned by;
    assert_true(ostel_report_parse_group_by("tag, ctx", &by));
    assert_int_equal(by, OSTEL_REPORT_BY_TAG | OSTEL_REPORT_BY_CTX);
    assert_false(ostel_report_parse_group_by("tag,colour", &by));
    assert_false(ostel_report_parse_group_by("", &by));
    struct ostel_report_options o2 = {OSTEL_REPORT_BY_CTX, NULL};
    assert_int_equal(ostel_report_build(&rep, &set, &o2, err, sizeof(err)), 0);
    assert_int_equal(rep.ngroups, 1);
    assert_string_equal(rep.groups[0].label, "ctx 4096");
    assert_json_write_checks(&rep);
    ostel_report_free(&rep);
    struct ostel_report_options o3 = {0, "zzz"};
    assert_int_equal(ostel_report_build(&rep, &set, &o3, err, sizeof(err)), -1);
    assert_string_equal(err, "baseline 'zzz' matches no group (the groups are 'b', 'a')");
    ostel_report_free(&rep);
    ostel_report_set_free(&set);
}

static void test_escapes(void **state)
{
    (void)state;
    struct ostel_buf b;
    ostel_buf_init(&b, 0);
    ostel_report_escape_html(&b, "<script>alert(1)</script> & \"x\" 'y'");
    assert_string_equal(b.data,
                        "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;x&quot; &#39;y&#39;");
    ostel_buf_reset(&b);
    ostel_report_escape_script_json(&b,
                                    "{\"a\":\"</script>&\xe2\x80\xa8\xe2\x80\xa9\xe2\x80\xa6\"}");
    assert_string_equal(b.data,
                        "{\"a\":\"\\u003c/script\\u003e\\u0026\\u2028\\u2029\xe2\x80\xa6\"}");
    ostel_buf_free(&b);
    char n[64];
    assert_string_equal(ostel_report_fmt_num(1234567.891, 2, n, sizeof(n)), "1,234,567.89");
    assert_string_equal(ostel_report_fmt_num(-1234.4, 0, n, sizeof(n)), "-1,234");
    assert_string_equal(ostel_report_fmt_num(-0.001, 1, n, sizeof(n)), "0.0");
    assert_string_equal(ostel_report_fmt_num(NAN, 1, n, sizeof(n)), "—");
}

/* Runs `ostel report ARGS`, expecting exit status want and stderr containing needle. */
static void expect_failure(const char *const *argv, int want, const char *needle)
{
    char *out, *err;
    int rc = test_run_ostel(argv, &out, &err);
    if (!strstr(err, needle))
        fprintf(stderr, "stderr was: %s\n", err);
    assert_int_equal(rc, want);
    assert_non_null(strstr(err, needle));
    assert_string_equal(out, "");
    free(out);
    free(err);
}

static void test_bad_input(void **state)
{
    (void)state;
    char *dir = test_tmpdir();
    /* An empty directory. */
    const char *a1[] = {"report", dir, NULL};
    expect_failure(a1, 1, "no run directories in it");
    /* A run directory without summary.json. */
    char *run = ostel_xasprintf("%s/r1", dir);
    mkdir(run, 0755);
    char *src = test_src_path("tests/data/runs/study-metal/q4km-2");
    char *from = ostel_xasprintf("%s/metrics.csv", src);
    char *to = ostel_xasprintf("%s/metrics.csv", run);
    test_copy_file(from, to, NULL);
    char *want = ostel_xasprintf("%s/summary.json: missing", run);
    const char *a2[] = {"report", run, NULL};
    expect_failure(a2, 1, want);
    free(want);
    /* A corrupt metrics.csv beside a good summary.json. */
    free(from);
    from = ostel_xasprintf("%s/summary.json", src);
    char *sum = ostel_xasprintf("%s/summary.json", run);
    test_copy_file(from, sum, NULL);
    test_write_file(to, "ts,rss_mb\n1.0,2\n1.1,oops\n", 25);
    want = ostel_xasprintf("%s/metrics.csv: line 3: column rss_mb is not a number", run);
    expect_failure(a2, 1, want);
    free(want);
    /* A GPU run whose gpu_metrics.csv is corrupt: named like metrics.csv. */
    char *gsrc = test_src_path("tests/data/runs/gpu-fake/q4-1");
    static const char *const gfiles[] = {"summary.json", "metrics.csv", "config.txt"};
    for (size_t i = 0; i < OSTEL_ARRAY_LEN(gfiles); i++) {
        char *f = ostel_xasprintf("%s/%s", gsrc, gfiles[i]);
        char *t = ostel_xasprintf("%s/%s", run, gfiles[i]);
        test_copy_file(f, t, NULL);
        free(f);
        free(t);
    }
    char *gpu = ostel_xasprintf("%s/gpu_metrics.csv", run);
    test_write_file(gpu, "ts,gpu,power_w\n1.0,0,300\n1.1,x,300\n", 35);
    want = ostel_xasprintf("%s/gpu_metrics.csv: line 3: no ts or no GPU index (0 to 63)", run);
    expect_failure(a2, 1, want);
    free(want);
    test_write_file(gpu, "ts,power_w\n1.0,300\n", 19);
    want = ostel_xasprintf("%s/gpu_metrics.csv: line 1: not a GPU metrics header", run);
    expect_failure(a2, 1, want);
    free(want);
    test_write_file(gpu, "ts,gpu,power_w\n1.0,0,-5\n", 24);
    want = ostel_xasprintf("%s/gpu_metrics.csv: line 2: column power_w is negative", run);
    expect_failure(a2, 1, want);
    free(want);
    unlink(gpu); /* absent: the run is reported without GPU time series */
    const char *a6[] = {"report", run, "--format", "csv", NULL};
    char *out, *err;
    assert_int_equal(test_run_ostel(a6, &out, &err), 0);
    assert_non_null(strstr(out, "gpu_j_per_token_mean"));
    free(out);
    free(err);
    free(gpu);
    free(gsrc);
    /* back to study-metal's files */
    test_copy_file(from, sum, NULL);
    free(from);
    from = ostel_xasprintf("%s/metrics.csv", src);
    test_copy_file(from, to, NULL);
    free(from);
    from = ostel_xasprintf("%s/summary.json", src);
    /* Corrupt JSON. */
    test_write_file(sum, "{\"schema\":", 10);
    want = ostel_xasprintf("%s/summary.json: not valid JSON", run);
    expect_failure(a2, 1, want);
    free(want);
    /* Usage errors. */
    const char *a3[] = {"report", NULL};
    expect_failure(a3, 2, "no run directory given");
    const char *a4[] = {"report", src, "--format", "pdf", NULL};
    expect_failure(a4, 2, "unknown format 'pdf'");
    const char *a5[] = {"report", src, "--baseline", "nope", NULL};
    expect_failure(a5, 1, "baseline 'nope' matches no group");
    free(sum);
    free(from);
    free(to);
    free(src);
    free(run);
    test_rmtree(dir);
    free(dir);
}

static void test_html_escapes_log(void **state)
{
    (void)state;
    char *runs = test_src_path("tests/data/runs/study-metal");
    const char *argv[] = {"report", runs, "--format", "html", NULL};
    char *out, *err;
    assert_int_equal(test_run_ostel(argv, &out, &err), 0);
    assert_null(strstr(out, "<script>alert(1)"));
    assert_non_null(strstr(out, "&lt;script&gt;alert(1)&lt;/script&gt;"));
    if (ostel_report_html_has_charts()) {
        /* log tails travel in the markup only (escaped above), no longer in the page's JSON */
        assert_non_null(strstr(out, "id=\"ostel-data\""));
        assert_null(strstr(out, "alert(1)</script>"));
    } else {
        assert_non_null(strstr(out, "Charts are not available"));
    }
    free(out);
    free(err);
    free(runs);
}

/* Real run directories from `ostel run` (tests/data/runs/README.md): load, group, failed run kept.
 */
static void test_real_runs(void **state)
{
    (void)state;
    char *dir = test_src_path("tests/data/runs/real-tiny");
    struct ostel_report_set set;
    ostel_report_set_init(&set);
    assert_int_equal(ostel_report_load_path(&set, dir), 0);
    assert_int_equal(set.n, 7);
    struct ostel_report rep;
    char err[256];
    struct ostel_report_options opt = {0, NULL};
    assert_int_equal(ostel_report_build(&rep, &set, &opt, err, sizeof(err)), 0);
    assert_int_equal(rep.ngroups, 2);
    assert_string_equal(rep.groups[0].label, "f16");
    assert_string_equal(rep.groups[1].label, "q8_0");
    assert_int_equal(rep.groups[1].n, 4);
    assert_int_equal(rep.groups[1].n_ok, 3);
    assert_string_equal(rep.groups[0].device, "CPU");
    for (size_t i = 0; i < set.n; i++) {
        const struct ostel_report_run *r = &set.runs[i];
        assert_true(r->series.n >= 2);
        if (strcmp(r->name, "q8-timeout") == 0) {
            assert_string_equal(r->status, "timeout");
            assert_non_null(r->log_tail);
        } else {
            assert_true(r->ok);
            assert_true(r->metric[OSTEL_REPORT_M_GEN_TPS] > 0);
            assert_true(r->has_memory);
            assert_true(r->metric[OSTEL_REPORT_M_RSS_PEAK_MIB] > 10);
        }
    }
    /* The q8_0 model is about half the f16 one: llama.cpp's model buffer says so. */
    double f16 = rep.groups[0].value[OSTEL_REPORT_M_MODEL_MIB];
    double q8 = rep.groups[1].value[OSTEL_REPORT_M_MODEL_MIB];
    assert_true(q8 > 0.4 * f16 && q8 < 0.6 * f16);
    assert_json_write_checks(&rep);
    /* every escape cJSON writes, and bytes it leaves alone */
    struct ostel_report_run *ru = &set.runs[rep.groups[0].runs[0]];
    free(ru->log_tail);
    ru->log_tail = strdup("q\"b\\s/\x01\x1f\b\f\n\r\t\x7f\xc3\xa9 end");
    free(ru->tag);
    ru->tag = strdup("\x02tag\"");
    assert_json_write_checks(&rep);
    ostel_report_free(&rep);
    ostel_report_set_free(&set);
    free(dir);
}

static const struct ostel_report_table *table_of(const struct ostel_report_tables *ts,
                                                 const char *id)
{
    for (size_t i = 0; i < ts->n; i++)
        if (strcmp(ts->t[i].id, id) == 0)
            return &ts->t[i];
    return NULL;
}

static const char *cell_at(const struct ostel_report_table *t, size_t row, size_t col)
{
    assert_true(row < t->nrows && col < t->ncols);
    return t->cells[row * t->ncols + col].text;
}

/* Renders the report in a format; the caller frees it. */
static char *render(const struct ostel_report *rep, const char *format)
{
    struct ostel_buf b;
    ostel_buf_init(&b, 0);
    ostel_report_find_format(format)->write(rep, &b);
    return ostel_buf_detach(&b);
}

/* tests/data/runs/gpu-fake (make_fixtures.py): Q4_K_M vs Q8_0 on an imagined H200. Its
 * gpu_metrics.csv and summary.json agree as ostel's own GPU code computes them; the report's GPU
 * section has the numbers, their statistics and the J/token comparison; a CPU-only report has
 * none of it (the golden files). */
static void test_gpu_fake(void **state)
{
    (void)state;
    char *dir = test_src_path("tests/data/runs/gpu-fake");
    struct ostel_report_set set;
    ostel_report_set_init(&set);
    assert_int_equal(ostel_report_load_path(&set, dir), 0);
    assert_int_equal(set.n, 6);
    /* the fixture is what src/run/gpu_aggregate.c makes of its own gpu_metrics.csv */
    for (size_t i = 0; i < set.n; i++) {
        const struct ostel_report_run *run = &set.runs[i];
        assert_true(run->has_gpu);
        assert_true(run->gpu_series.n > 30);
        char *path = ostel_xasprintf("%s/gpu_metrics.csv", run->path);
        struct ostel_buf csv;
        ostel_buf_init(&csv, 0);
        assert_int_equal(ostel_file_read_all(path, 1 << 24, &csv), 0);
        struct ostel_gpu_table t = {0};
        char err[256];
        assert_int_equal(ostel_gpu_metrics_parse(csv.data, csv.len, &t, err, sizeof(err)), 0);
        struct ostel_gpu_run_facts f = {.prompt_tokens = 512, .gen_tokens = 256};
        for (size_t k = 0; k < OSTEL_GPU_MAX_DEVICES; k++)
            f.llama_self_mb[k] = -1;
        f.llama_self_mb[0] = run->metric[OSTEL_REPORT_M_GPU_LLAMA_MIB];
        cJSON *o = ostel_gpu_aggregate_json(t.rows, t.n, NULL, &f, NULL);
        const cJSON *r = cJSON_GetObjectItem(o, "run");
        assert_float_equal(cJSON_GetObjectItem(r, "j_per_token")->valuedouble,
                           run->metric[OSTEL_REPORT_M_GPU_J_PER_TOKEN], 1e-9);
        assert_float_equal(cJSON_GetObjectItem(r, "tokens_per_j")->valuedouble,
                           run->metric[OSTEL_REPORT_M_GPU_TOKENS_PER_J], 1e-9);
        assert_float_equal(cJSON_GetObjectItem(r, "peak_proc_mem_mb")->valuedouble,
                           run->metric[OSTEL_REPORT_M_GPU_PROC_PEAK_MIB], 1e-9);
        assert_float_equal(cJSON_GetObjectItem(r, "vram_beyond_llama_mb")->valuedouble,
                           run->metric[OSTEL_REPORT_M_GPU_BEYOND_MIB], 1e-9);
        cJSON_Delete(o);
        ostel_gpu_metrics_table_free(&t);
        ostel_buf_free(&csv);
        free(path);
    }
    struct ostel_report rep;
    char err[256];
    struct ostel_report_options opt = {0, NULL};
    assert_int_equal(ostel_report_build(&rep, &set, &opt, err, sizeof(err)), 0);
    assert_true(rep.gpu);
    assert_int_equal(rep.ngroups, 2);
    const struct ostel_report_group *q4 = &rep.groups[0], *q8 = &rep.groups[1];
    assert_string_equal(q4->label, "q4");
    const struct ostel_stats_summary *e4 = &q4->stat[OSTEL_REPORT_M_GPU_J_PER_TOKEN];
    assert_int_equal(e4->n, 3);
    assert_float_equal(e4->mean, (1.68008 + 1.69531 + 1.6877) / 3, 1e-9);
    assert_float_equal(q8->stat[OSTEL_REPORT_M_GPU_J_PER_TOKEN].mean,
                       (2.54531 + 2.52422 + 2.56289) / 3, 1e-9);
    assert_float_equal(q4->value[OSTEL_REPORT_M_GPU_BEYOND_MIB], 512, 1e-9);
    assert_float_equal(q4->value[OSTEL_REPORT_M_GPU_LLAMA_MIB], 5211, 1e-9);
    const struct ostel_report_cmp *c = &q8->cmp[OSTEL_REPORT_M_GPU_J_PER_TOKEN];
    assert_float_equal(c->ratio.ratio, ((2.54531 + 2.52422 + 2.56289) / 3) / e4->mean, 1e-9);
    assert_true(c->ratio.lo > 1.45 && c->ratio.hi < 1.56);
    assert_true(c->significant);
    /* the host's RSS is the mapped model: its anonymous part is small, its file part the model */
    assert_float_equal(q4->value[OSTEL_REPORT_M_RSS_ANON_PEAK_MIB], 420, 1e-9);
    assert_true(q8->value[OSTEL_REPORT_M_RSS_FILE_PEAK_MIB] > 8000);
    assert_non_null(strstr(q4->interpretation, "anonymous part peaked at 420 MiB"));
    assert_non_null(strstr(q4->interpretation, "512 MiB beyond llama.cpp's own accounting"));
    assert_string_equal(q4->plan_basis, "NVML process peak");
    assert_float_equal(q4->plan_mib, 5723, 1e-9);
    assert_null(strstr(q4->interpretation, "use llama.cpp's breakdown")); /* one plan, not two */

    struct ostel_report_tables ts;
    ostel_report_tables_build(&rep, &ts);
    const struct ostel_report_table *t = table_of(&ts, "gpu");
    assert_non_null(t);
    assert_int_equal(t->nrows, 2);
    assert_string_equal(cell_at(t, 0, 1), "3");
    assert_string_equal(t->head[8], "Energy per token (J)");
    assert_string_equal(cell_at(t, 0, 2), "5,211 ± 0");
    assert_string_equal(cell_at(t, 0, 3), "5,723 ± 2");
    assert_string_equal(cell_at(t, 1, 4), "513 ± 3");
    assert_string_equal(cell_at(t, 1, 7), "361.8 ± 2.8");
    assert_string_equal(cell_at(t, 0, 8), "1.688 ± 0.008");
    assert_true(t->cells[0 * t->ncols + 8].bold);
    assert_string_equal(cell_at(t, 1, 9), "2.496 – 2.592");
    assert_string_equal(cell_at(t, 1, 10), "0.393 ± 0.003");
    const struct ostel_report_table *cmp = table_of(&ts, "comparison");
    bool found = false;
    for (size_t row = 0; row < cmp->nrows; row++)
        if (strcmp(cell_at(cmp, row, 1), "Energy per token (J)") == 0) {
            found = true;
            assert_string_equal(cell_at(cmp, row, 2), "1.507×");
            assert_non_null(strstr(cell_at(cmp, row, 5), "50.7% more, significant"));
        }
    assert_true(found);
    ostel_report_tables_free(&ts);

    char *md = render(&rep, "md");
    assert_non_null(strstr(md, "## GPU\n"));
    char *csv = render(&rep, "csv");
    assert_non_null(strstr(csv, ",gpu_j_per_token_mean,gpu_j_per_token_sd,"));
    char *json = render(&rep, "json");
    cJSON *root = cJSON_Parse(json);
    assert_non_null(root);
    const cJSON *g1 = cJSON_GetArrayItem(cJSON_GetObjectItem(root, "groups"), 1);
    const cJSON *jm = cJSON_GetObjectItem(cJSON_GetObjectItem(g1, "metrics"), "gpu_j_per_token");
    assert_int_equal(cJSON_GetObjectItem(jm, "n")->valueint, 3);
    const cJSON *jv =
        cJSON_GetObjectItem(cJSON_GetObjectItem(g1, "vs_baseline"), "gpu_j_per_token");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(jv, "significant")));
    cJSON_Delete(root);
    free(md);
    free(csv);
    free(json);
    assert_json_write_checks(&rep);
    ostel_report_free(&rep);
    ostel_report_set_free(&set);
    free(dir);
}

static void test_load_prediction(void **state)
{
    (void)state;
    struct ostel_report_set set;
    ostel_report_set_init(&set);
    struct ostel_report_run *r = ostel_report_set_add(&set);
    char err[256];
    const char *js =
        "{\"schema\":\"ostel.summary\",\"schema_version\":1,\"run\":{\"status\":\"ok\"},"
        "\"llama\":{\"platform\":\"cuda\",\"system_info\":\"AVX2 = 1 | REPACK = 1\",\"context\":"
        "{\"n_ctx\":8192,\"n_ubatch\":256,\"n_seq_max\":1,\"kv_type_k\":\"q8_0\",\"kv_type_v\":"
        "\"f16\",\"flash_attn\":\"disabled\",\"offloaded_layers\":20}},"
        "\"prediction\":{\"model\":{\"predicted_mib\":100.5,\"measured_mib\":100,\"error_pct\":0.5}"
        ","
        "\"context\":{\"predicted_mib\":64,\"measured_mib\":null,\"error_pct\":null},"
        "\"compute\":{\"predicted_mib\":\"x\",\"measured_mib\":1e300,\"error_pct\":-20},"
        "\"output\":null,\"devices\":[{\"device\":\"host\",\"model\":{\"predicted_mib\":10}},"
        "{\"device\":\"gpu\\n\",\"compute\":{\"error_pct\":3}},{\"device\":\"third\"}],"
        "\"n_ctx\":8192,\"source\":\"gguf\",\"backend\":\"gpu\",\"within_bars\":false,"
        "\"note\":\"kv approximate\"},\"host\":{\"ram_mib\":32000}}";
    assert_int_equal(ostel_report_load_summary(r, js, strlen(js), err, sizeof(err)), 0);
    const struct ostel_report_prediction *p = &r->pred;
    assert_true(p->present);
    assert_true(p->part[OSTEL_REPORT_PART_MODEL].predicted_mib == 100.5);
    assert_true(p->part[OSTEL_REPORT_PART_MODEL].error_pct == 0.5);
    assert_true(isnan(p->part[OSTEL_REPORT_PART_CONTEXT].measured_mib));
    /* wrong types and absurd sizes are not available, never 0 */
    assert_true(isnan(p->part[OSTEL_REPORT_PART_COMPUTE].predicted_mib));
    assert_true(isnan(p->part[OSTEL_REPORT_PART_COMPUTE].measured_mib));
    assert_true(p->part[OSTEL_REPORT_PART_COMPUTE].error_pct == -20);
    assert_true(isnan(p->part[OSTEL_REPORT_PART_OUTPUT].predicted_mib));
    assert_int_equal(p->ndev, 2);                /* at most host and gpu */
    assert_string_equal(p->dev[1].name, "gpu "); /* control characters blanked */
    assert_true(p->dev[1].part[OSTEL_REPORT_PART_COMPUTE].error_pct == 3);
    assert_true(isnan(p->dev[1].part[OSTEL_REPORT_PART_MODEL].predicted_mib));
    assert_int_equal(p->n_ctx, 8192);
    assert_string_equal(p->backend, "gpu");
    assert_int_equal(p->within_bars, 0);
    assert_string_equal(p->note, "kv approximate");
    /* the memory model's parameters, as the runner read them from the log */
    assert_true(r->mm_known);
    assert_int_equal(r->mm.type_k, OSTEL_GGML_TYPE_Q8_0);
    assert_int_equal(r->mm.type_v, OSTEL_GGML_TYPE_F16);
    assert_int_equal(r->mm.flash_attn, 0);
    assert_int_equal(r->mm.ngl, 20);
    assert_int_equal(r->mm.n_ubatch, 256);
    assert_int_equal(r->mm.backend, OSTEL_MEMMODEL_BACKEND_CUDA);
    assert_int_equal(r->mm.cpu_features, OSTEL_MEMMODEL_CPU_AVX2);
    assert_true(r->ram_mib == 32000);

    /* an older summary: no prediction, RAM from config.txt, MemAvailable from metrics.csv */
    r = ostel_report_set_add(&set);
    const char *old = "{\"schema\":\"ostel.summary\",\"schema_version\":1,\"run\":{},"
                      "\"prediction\":null}";
    assert_int_equal(ostel_report_load_summary(r, old, strlen(old), err, sizeof(err)), 0);
    assert_false(r->pred.present);
    assert_false(r->mm_known);
    assert_true(isnan(r->ram_mib));
    ostel_report_load_config(r, "ram_mib=16000\n", 14);
    assert_true(r->ram_mib == 16000);
    const char *csv = "ts,rss_mb,sys_avail_mb\n1,2,\n2,3,9000.5\n3,4,100\n";
    assert_int_equal(ostel_report_load_metrics(r, csv, strlen(csv), err, sizeof(err)), 0);
    assert_true(r->avail_start_mib == 9000.5);
    /* a cell that is not a number is refused by the one reader (rundir_metrics.h), as the
     * directory loader always did through the validator */
    const char *junk = "ts,rss_mb,sys_avail_mb\n1,2,junk\n";
    assert_int_equal(ostel_report_load_metrics(r, junk, strlen(junk), err, sizeof(err)), -1);
    assert_string_equal(err, "line 2: column sys_avail_mb is not a number: 'junk'");
    ostel_report_set_free(&set);
}

/* The real runs of tests/data/runs/real-pred: every run's prediction in the table, the sweep left
 * out with its reason (the model files were relative to the directory ostel study ran in). */
static void test_prediction_real(void **state)
{
    (void)state;
    char *dir = test_src_path("tests/data/runs/real-pred");
    struct ostel_report_set set;
    ostel_report_set_init(&set);
    assert_int_equal(ostel_report_load_path(&set, dir), 0);
    assert_int_equal(set.n, 4);
    struct ostel_report rep;
    char err[256];
    struct ostel_report_options opt = {0, NULL};
    assert_int_equal(ostel_report_build(&rep, &set, &opt, err, sizeof(err)), 0);
    assert_int_equal(rep.ngroups, 2);
    const struct ostel_report_group *q8 = &rep.groups[0];
    assert_string_equal(q8->label, "q8");
    assert_int_equal(q8->n_pred, 2);
    assert_int_equal(q8->npred, 2); /* two contexts on the host */
    assert_int_equal(q8->pred[0].n_ctx, 1024);
    assert_int_equal(q8->pred[1].n_ctx, 2048);
    assert_string_equal(q8->pred[0].device, "host");
    /* llama.cpp's compute buffer at 1024 was 66.01 MiB against 63.5 predicted */
    assert_true(fabs(q8->pred[0].part[OSTEL_REPORT_PART_COMPUTE].error_pct + 3.8) < 0.01);
    assert_false(q8->pred[0].outside[OSTEL_REPORT_PART_COMPUTE]);
    assert_true(q8->pred[1].part[OSTEL_REPORT_PART_CONTEXT].measured_mib == 2);
    assert_int_equal(q8->pred_within_bars, 1);
    assert_true(isnan(q8->pred_total[0].predicted_mib)); /* two contexts: no single total */
    assert_true(q8->ram_mib == 24105);
    assert_true(q8->avail_mib > 1000);
    if (!ostel_is_file(set.runs[0].model)) {
        assert_int_equal(q8->sweep.n, 0);
        assert_non_null(strstr(q8->sweep.note, "is not on this machine"));
    }
    struct ostel_report_tables ts;
    ostel_report_tables_build(&rep, &ts);
    const struct ostel_report_table *t = table_of(&ts, "prediction");
    assert_non_null(t);
    assert_int_equal(t->nrows, 4);
    assert_string_equal(cell_at(t, 0, 1), "1024");
    assert_string_equal(cell_at(t, 0, 3), "17.80");
    assert_string_equal(cell_at(t, 0, 11), "-3.80%");
    assert_string_equal(cell_at(t, 2, 5), "+0.05%");
    const struct ostel_report_table *runs = table_of(&ts, "runs");
    assert_string_equal(cell_at(runs, 0, 12), "within the bars");
    ostel_report_tables_free(&ts);
    assert_json_write_checks(&rep);
    ostel_report_free(&rep);
    ostel_report_set_free(&set);
    free(dir);
}

/* Writes the header of a tiny llama GGUF (2 layers, 256 wide, 4 heads, 2 KV heads, vocab 1000,
 * trained context 8192, f16) and extends the file to its full size without writing the data. */
static void write_tiny_gguf(const char *path)
{
    struct ostel_gguf_writer w;
    ostel_gguf_writer_init(&w);
    ostel_gguf_writer_add_str(&w, "general.architecture", "llama");
    ostel_gguf_writer_add_u32(&w, "general.file_type", 1);
    ostel_gguf_writer_add_u32(&w, "llama.block_count", 2);
    ostel_gguf_writer_add_u32(&w, "llama.context_length", 8192);
    ostel_gguf_writer_add_u32(&w, "llama.embedding_length", 256);
    ostel_gguf_writer_add_u32(&w, "llama.feed_forward_length", 512);
    ostel_gguf_writer_add_u32(&w, "llama.attention.head_count", 4);
    ostel_gguf_writer_add_u32(&w, "llama.attention.head_count_kv", 2);
    ostel_gguf_writer_add_u32(&w, "llama.vocab_size", 1000);
    uint64_t b;
    const uint64_t embd[2] = {256, 1000}, norm[1] = {256};
    assert_int_equal(
        ostel_gguf_writer_add_tensor(&w, "token_embd.weight", OSTEL_GGML_TYPE_F16, 2, embd, &b), 0);
    static const struct {
        const char *name;
        uint64_t ne0, ne1;
    } layer[] = {{"attn_q", 256, 256},      {"attn_k", 256, 128},   {"attn_v", 256, 128},
                 {"attn_output", 256, 256}, {"ffn_gate", 256, 512}, {"ffn_up", 256, 512},
                 {"ffn_down", 512, 256}};
    for (int il = 0; il < 2; il++) {
        char name[64];
        snprintf(name, sizeof(name), "blk.%d.attn_norm.weight", il);
        assert_int_equal(ostel_gguf_writer_add_tensor(&w, name, OSTEL_GGML_TYPE_F32, 1, norm, &b),
                         0);
        snprintf(name, sizeof(name), "blk.%d.ffn_norm.weight", il);
        assert_int_equal(ostel_gguf_writer_add_tensor(&w, name, OSTEL_GGML_TYPE_F32, 1, norm, &b),
                         0);
        for (size_t k = 0; k < OSTEL_ARRAY_LEN(layer); k++) {
            const uint64_t ne[2] = {layer[k].ne0, layer[k].ne1};
            snprintf(name, sizeof(name), "blk.%d.%s.weight", il, layer[k].name);
            assert_int_equal(ostel_gguf_writer_add_tensor(&w, name, OSTEL_GGML_TYPE_F16, 2, ne, &b),
                             0);
        }
    }
    assert_int_equal(
        ostel_gguf_writer_add_tensor(&w, "output_norm.weight", OSTEL_GGML_TYPE_F32, 1, norm, &b),
        0);
    assert_int_equal(
        ostel_gguf_writer_add_tensor(&w, "output.weight", OSTEL_GGML_TYPE_F16, 2, embd, &b), 0);
    struct ostel_buf out;
    ostel_buf_init(&out, 0);
    ostel_gguf_writer_header(&w, &out);
    test_write_file(path, out.data, out.len);
    int fd = open(path, O_WRONLY);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, (off_t)(out.len + w.data_bytes)), 0);
    close(fd);
    ostel_buf_free(&out);
    ostel_gguf_writer_free(&w);
}

/* A summary of a CPU run of model at ctx with a prediction whose compute is off by compute_err. */
static char *tiny_summary(const char *tag, const char *model, int ctx, double compute_err)
{
    return ostel_xasprintf(
        "{\"schema\":\"ostel.summary\",\"schema_version\":1,\"run\":{\"tag\":\"%s\",\"status\":"
        "\"ok\",\"model\":\"%s\",\"ctx\":%d},\"llama\":{\"platform\":\"cpu\",\"context\":"
        "{\"n_ctx\":%d,\"n_ubatch\":512,\"kv_type_k\":\"f16\",\"kv_type_v\":\"f16\","
        "\"flash_attn\":\"enabled\"},\"buffers\":[{\"kind\":\"model\",\"backend\":\"CPU_Mapped\","
        "\"mib\":5}]},\"prediction\":{\"model\":{\"predicted_mib\":5,\"measured_mib\":5,"
        "\"error_pct\":0},\"context\":{\"predicted_mib\":1,\"measured_mib\":1,\"error_pct\":0},"
        "\"compute\":{\"predicted_mib\":10,\"measured_mib\":10,\"error_pct\":%g},\"output\":"
        "{\"predicted_mib\":0.5,\"measured_mib\":0.5,\"error_pct\":0},\"devices\":[{\"device\":"
        "\"host\",\"model\":{\"predicted_mib\":5,\"measured_mib\":5,\"error_pct\":0},\"context\":"
        "{\"predicted_mib\":1,\"measured_mib\":1,\"error_pct\":0},\"compute\":{\"predicted_mib\":"
        "10,\"measured_mib\":10,\"error_pct\":%g}}],\"n_ctx\":%d,\"source\":\"gguf\",\"backend\":"
        "\"cpu\",\"within_bars\":%s,\"note\":null},\"host\":{\"ram_mib\":64}}",
        tag, model, ctx, ctx, compute_err, compute_err, ctx,
        fabs(compute_err) > 15 ? "false" : "true");
}

static void test_memory_sweep(void **state)
{
    (void)state;
    char *tmp = test_tmpdir();
    char *model = ostel_xasprintf("%s/tiny.gguf", tmp);
    char *junk = ostel_xasprintf("%s/junk.gguf", tmp);
    write_tiny_gguf(model);
    test_write_file(junk, "not a gguf at all", 17);
    struct ostel_report_set set;
    ostel_report_set_init(&set);
    struct {
        const char *tag, *model;
        int ctx;
        double err;
    } runs[] = {{"tiny", model, 1024, 0},
                {"tiny", model, 4096, 20},
                {"junk", junk, 1024, 0},
                {"gone", "/nonexistent/ostel-test.gguf", 1024, 0}};
    char err[256];
    for (size_t i = 0; i < OSTEL_ARRAY_LEN(runs); i++) {
        struct ostel_report_run *r = ostel_report_set_add(&set);
        char *js = tiny_summary(runs[i].tag, runs[i].model, runs[i].ctx, runs[i].err);
        assert_int_equal(ostel_report_load_summary(r, js, strlen(js), err, sizeof(err)), 0);
        free(js);
    }
    struct ostel_report rep;
    struct ostel_report_options opt = {0, NULL};
    assert_int_equal(ostel_report_build(&rep, &set, &opt, err, sizeof(err)), 0);
    /* each model file read once; the missing one has nothing to say, the junk one its error */
    assert_int_equal(rep.nmodels, 3);
    assert_true(ostel_report_find_model(&rep, model)->ok);
    assert_true(*ostel_report_find_model(&rep, junk)->err);
    assert_string_equal(ostel_report_find_model(&rep, "/nonexistent/ostel-test.gguf")->err, "");
    assert_int_equal(rep.ngroups, 3);

    const struct ostel_report_sweep *sw = &rep.groups[0].sweep;
    assert_null(sw->note);
    assert_int_equal(sw->n, 4);       /* 1k, 2k, 4k and the trained 8k */
    const double kv[] = {1, 2, 4, 8}; /* 2 layers x 2 KV heads x 64 x 2 bytes x (K + V) per cell */
    for (size_t i = 0; i < sw->n; i++) {
        assert_true(sw->pt[i].n_ctx == 1024.0 * (1u << i));
        assert_true(fabs(sw->pt[i].kv_mib - kv[i]) < 1e-9);
        assert_true(sw->pt[i].model_mib == sw->pt[0].model_mib);
        assert_true(isnan(sw->pt[i].gpu_mib));
        assert_true(sw->pt[i].host_mib >
                    sw->pt[i].model_mib + sw->pt[i].kv_mib + sw->pt[i].compute_mib);
        if (i)
            assert_true(sw->pt[i].host_mib > sw->pt[i - 1].host_mib);
    }
    assert_true(sw->pt[0].model_mib > 3.2 && sw->pt[0].model_mib < 3.3); /* 1.69M f16 weights */
    assert_true(sw->n_ctx_train == 8192);
    assert_string_equal(sw->params, "CPU · cache f16/f16 · flash attention on");
    assert_int_equal(sw->nmarks, 2); /* the two runs' measured totals: 5 + 1 + 10 + 0.5 */
    assert_true(sw->marks[0].n_ctx == 1024 && sw->marks[0].host_mib == 16.5);
    assert_true(sw->marks[1].n_ctx == 4096);
    assert_true(rep.groups[0].ram_mib == 64);
    /* the compute error of 20% is beyond the 15% bar */
    assert_int_equal(rep.groups[0].npred, 2);
    assert_false(rep.groups[0].pred[0].outside[OSTEL_REPORT_PART_COMPUTE]);
    assert_true(rep.groups[0].pred[1].outside[OSTEL_REPORT_PART_COMPUTE]);
    assert_int_equal(rep.groups[0].pred_within_bars, 0);
    assert_non_null(strstr(rep.groups[1].sweep.note, "cannot be read"));
    assert_non_null(strstr(rep.groups[2].sweep.note, "is not on this machine"));

    struct ostel_report_tables ts;
    ostel_report_tables_build(&rep, &ts);
    const struct ostel_report_table *t = table_of(&ts, "sweep");
    assert_non_null(t);
    assert_int_equal(t->ncols, 7); /* Group, Device, 1k, 2k, 4k, 8k, Settings */
    assert_string_equal(t->head[2], "1k");
    assert_string_equal(t->head[5], "8k");
    assert_int_equal(t->nrows, 1);
    assert_string_equal(cell_at(t, 0, 1), "host");
    assert_non_null(strstr(t->caption, "No memory sweep for junk: the model file"));
    const struct ostel_report_table *p = table_of(&ts, "prediction");
    assert_string_equal(cell_at(p, 1, 11), "+20.00% ⚠");
    assert_true(p->cells[1 * p->ncols + 11].bad);
    assert_false(p->cells[0 * p->ncols + 11].bad);
    const struct ostel_report_table *rt = table_of(&ts, "runs");
    assert_string_equal(cell_at(rt, 1, 12), "compute +20.00% ⚠");
    ostel_report_tables_free(&ts);

    cJSON *tree = ostel_report_json_tree_head(&rep);
    const cJSON *g0 = cJSON_GetArrayItem(cJSON_GetObjectItem(tree, "groups"), 0);
    const cJSON *pts = cJSON_GetObjectItem(cJSON_GetObjectItem(g0, "memory_sweep"), "points");
    assert_int_equal(cJSON_GetArraySize(pts), 4);
    assert_true(cJSON_GetObjectItem(cJSON_GetArrayItem(pts, 3), "kv_mib")->valuedouble == 8);
    const cJSON *pr = cJSON_GetObjectItem(g0, "prediction");
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(pr, "within_bars")));
    cJSON_Delete(tree);
    struct ostel_buf md;
    ostel_buf_init(&md, 0);
    ostel_report_md_write(&rep, &md);
    assert_non_null(strstr(md.data, "## Memory against context (predicted)"));
    assert_non_null(strstr(md.data, "| Group | Device | 1k | 2k | 4k | 8k | Settings |"));
    ostel_buf_free(&md);
    struct ostel_buf html;
    ostel_buf_init(&html, 0);
    ostel_report_html_write(&rep, &html);
    assert_non_null(strstr(html.data, "<td class=\"num bad\"><span class=\"flag\">+20.00% ⚠"));
    if (ostel_report_html_has_charts())
        assert_non_null(strstr(html.data, "id=\"sweep-chart\""));
    ostel_buf_free(&html);
    assert_json_write_checks(&rep);
    ostel_report_free(&rep);
    ostel_report_set_free(&set);
    test_rmtree(tmp);
    free(tmp);
    free(model);
    free(junk);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_summary),
        cmocka_unit_test(test_dedupe),
        cmocka_unit_test(test_load_buffers_and_config),
        cmocka_unit_test(test_load_metrics),
        cmocka_unit_test(test_grouping_and_baseline),
        cmocka_unit_test(test_escapes),
        cmocka_unit_test(test_json_numbers),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_html_escapes_log),
        cmocka_unit_test(test_golden_md),
        cmocka_unit_test(test_golden_csv),
        cmocka_unit_test(test_golden_json),
        cmocka_unit_test(test_golden_serve_md),
        cmocka_unit_test(test_serve_json_csv),
        cmocka_unit_test(test_serve_odd_levels),
        cmocka_unit_test(test_real_runs),
        cmocka_unit_test(test_gpu_fake),
        cmocka_unit_test(test_load_prediction),
        cmocka_unit_test(test_prediction_real),
        cmocka_unit_test(test_memory_sweep),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
