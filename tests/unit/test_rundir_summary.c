/*
 * test_rundir_summary: summary.json's one writer and one reader (src/rundir/rundir_summary): real
 * summaries that ostel run wrote read into the struct and written back byte for byte, one that
 * ostel study wrote (with its scenario) read field by field; the old fixtures (no run_id, hand-made
 * layouts) and the llama section's older flat layout read through the legacy keys; a file that is
 * not an ostel summary refused with its reason.
 */
#include "testlib.h"
#include "rundir/rundir_summary.h"

#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void read_fixture(const char *rel, struct ostel_summary *s, char **text, size_t *len)
{
    char *path = test_src_path(rel);
    *text = test_read_file(path, len);
    char err[256] = "";
    if (ostel_summary_parse(*text, *len, s, err, sizeof(err)) != 0)
        fail_msg("%s: %s", rel, err);
    free(path);
}

/* What the runner of this layout wrote (every key of today's summary: oom_scope, error, gpu,
 * host.gpu) comes back out unchanged. Older real summaries lack some keys, which the writer adds.
 */
static void test_round_trip(void **state)
{
    (void)state;
    static const char *const real[] = {
        "tests/data/runs/nvml-h100/torch/summary.json",
        "tests/data/runs/nvml-h100/sleep/summary.json",
    };
    for (size_t i = 0; i < OSTEL_ARRAY_LEN(real); i++) {
        struct ostel_summary s;
        char *text;
        size_t len;
        read_fixture(real[i], &s, &text, &len);
        size_t n = 0;
        char *out = ostel_summary_text(&s, &n);
        if (n != len || memcmp(out, text, n) != 0)
            fail_msg("%s: written back differently (%zu bytes, were %zu)", real[i], n, len);
        free(out);
        free(text);
        ostel_summary_free(&s);
    }
}

static void test_fields(void **state)
{
    (void)state;
    struct ostel_summary s;
    char *text;
    size_t len;
    read_fixture("tests/data/store-runs/real-scenario/summary.json", &s, &text, &len);
    assert_non_null(s.run.run_id);
    assert_int_equal(strlen(s.run.run_id), 32);
    assert_string_equal(s.run.status, "ok");
    assert_true(s.run.has_exit_code);
    assert_int_equal(s.run.exit_code, 0);
    assert_null(s.run.signal_name);
    assert_int_equal(s.run.signal, 0);
    assert_string_equal(s.run.tool, "llama-completion");
    assert_int_equal(s.run.ctx, 512);
    assert_int_equal(s.run.gen, 8);
    assert_string_equal(s.run.scenario, "mem:128M");
    assert_int_equal(s.run.repetition, 1);
    assert_true(s.run.argc > 3);
    assert_true(s.run.wall_s > 0);
    assert_true(s.host.ram_mib > 0);
    assert_non_null(s.llama);
    assert_non_null(s.telemetry);
    const cJSON *sc = ostel_summary_section(&s, "scenario");
    assert_true(cJSON_IsObject(sc));
    assert_string_equal(cJSON_GetObjectItem(sc, "name")->valuestring, "mem:128M");
    assert_null(ostel_summary_section(&s, "quality"));
    struct ostel_summary_llama_facts f;
    ostel_summary_llama_facts(&s, &f);
    assert_false(isnan(f.gen_tps));
    assert_false(isnan(f.prompt_tps));
    assert_string_equal(f.arch, "llama");
    free(text);
    ostel_summary_free(&s);

    /* hand-made before run ids: no run_id, model_file null, a Host-only breakdown */
    read_fixture("tests/data/store-runs/q4-ok/summary.json", &s, &text, &len);
    assert_null(s.run.run_id);
    assert_string_equal(s.run.tag, "q4");
    assert_null(s.model_file);
    assert_true(s.run.log_complete); /* absent: not said to be incomplete */
    ostel_summary_llama_facts(&s, &f);
    assert_true(f.gen_tps == 206.45);
    assert_true(f.prompt_tokens == 18);
    assert_true(f.load_ms == 180.5);
    assert_true(cJSON_IsArray(f.breakdown));
    assert_null(f.buffers);
    assert_true(isnan(f.mf_n_params));
    free(text);
    ostel_summary_free(&s);

    /* a failed run: "llama": null */
    read_fixture("tests/data/store-runs/q4-failed/summary.json", &s, &text, &len);
    assert_string_equal(s.run.status, "failed");
    assert_null(s.llama);
    ostel_summary_llama_facts(&s, &f);
    assert_true(isnan(f.gen_tps));
    assert_null(f.breakdown);
    free(text);
    ostel_summary_free(&s);
}

/* The llama section's older flat layout and a run.scenario object still read. */
static void test_legacy_keys(void **state)
{
    (void)state;
    static const char flat[] =
        "{\"schema\":\"ostel.summary\",\"schema_version\":1,"
        "\"run\":{\"status\":\"killed\",\"signal\":\"SIGKILL\",\"exit_code\":null,"
        "\"scenario\":{\"name\":\"mem:1G\"},\"ctx\":\"x\"},"
        "\"llama\":{\"prompt_tps\":10.5,\"gen_tps\":4.25,\"prompt_tokens\":7,\"gen_tokens\":31,"
        "\"load_ms\":12,\"model_type\":\"1B\",\"model_file_type\":\"Q4_0\",\"model_arch\":"
        "\"llama\","
        "\"model_size_mib\":600,\"model_n_params\":1.1e9,\"build\":\"b1234\","
        "\"breakdown\":[{\"device\":\"Host\",\"self\":5}]},"
        "\"model_file\":{\"params\":1.2e9,\"size_bytes\":1000,\"file_type\":\"Q4_0\"},"
        "\"serve\":{\"levels\":[]},\"quality\":{\"ok\":true}}";
    struct ostel_summary s;
    char err[256] = "";
    assert_int_equal(ostel_summary_parse(flat, strlen(flat), &s, err, sizeof(err)), OSTEL_OK);
    assert_string_equal(s.run.status, "killed");
    assert_string_equal(s.run.signal_name, "SIGKILL");
    assert_false(s.run.has_exit_code);
    assert_string_equal(s.run.scenario, "mem:1G");
    assert_int_equal(s.run.ctx, -1); /* the wrong type: unknown, not an error */
    assert_int_equal(s.run.gen, -1);
    struct ostel_summary_llama_facts f;
    ostel_summary_llama_facts(&s, &f);
    assert_true(f.prompt_tps == 10.5);
    assert_true(f.gen_tps == 4.25);
    assert_true(f.prompt_tokens == 7);
    assert_true(f.gen_tokens == 31);
    assert_true(f.load_ms == 12);
    assert_true(isnan(f.gen_ms));
    assert_string_equal(f.model_desc, "1B");
    assert_string_equal(f.file_type, "Q4_0");
    assert_string_equal(f.arch, "llama");
    assert_true(f.size_mib == 600);
    assert_true(f.n_params == 1.1e9);
    assert_string_equal(f.version, "b1234");
    assert_true(cJSON_IsArray(f.breakdown));
    assert_true(f.mf_n_params == 1.2e9);
    assert_true(f.mf_size_bytes == 1000);
    assert_string_equal(f.mf_file_type, "Q4_0");
    /* further sections kept in their order */
    const cJSON *sec = s.sections ? s.sections->child : NULL;
    assert_non_null(sec);
    assert_string_equal(sec->string, "serve");
    assert_string_equal(sec->next->string, "quality");
    ostel_summary_free(&s);
}

static void test_refused(void **state)
{
    (void)state;
    static const struct {
        const char *text, *why;
    } bad[] = {
        {"{", "not valid JSON"},
        {"[]", "not an ostel summary"},
        {"{\"schema\":\"other\",\"schema_version\":1,\"run\":{}}", "not an ostel summary"},
        {"{\"schema\":\"ostel.summary\",\"schema_version\":2,\"run\":{}}", "schema_version"},
        {"{\"schema\":\"ostel.summary\",\"schema_version\":1,\"run\":[]}", "no \"run\" object"},
    };
    for (size_t i = 0; i < OSTEL_ARRAY_LEN(bad); i++) {
        struct ostel_summary s;
        char err[256] = "";
        assert_int_equal(
            ostel_summary_parse(bad[i].text, strlen(bad[i].text), &s, err, sizeof(err)), OSTEL_ERR);
        if (!strstr(err, bad[i].why))
            fail_msg("'%s': '%s' does not say '%s'", bad[i].text, err, bad[i].why);
        ostel_summary_free(&s);
    }
    char *tmp = test_tmpdir();
    struct ostel_summary s;
    char err[256] = "";
    assert_int_equal(ostel_summary_read(tmp, &s, err, sizeof(err)), OSTEL_ERR);
    assert_string_equal(err, "missing");
    ostel_summary_free(&s);
    test_rmtree(tmp);
    free(tmp);
}

/* A summary built in code is written and read back the same; sections replace and go last. */
static void test_write_read(void **state)
{
    (void)state;
    struct ostel_summary s;
    ostel_summary_init(&s);
    ostel_summary_set_str(&s.ostel_version, "9.9");
    ostel_summary_set_str(&s.run.run_id, "0123456789abcdef0123456789abcdef");
    ostel_summary_set_str(&s.run.status, "timeout");
    s.run.signal = 77; /* no name: written as a number */
    s.run.start_ts_s = 100.00049;
    s.run.end_ts_s = 101.5;
    s.run.wall_s = 1.49951;
    s.run.ctx = 0;
    s.run.repetition = 3;
    s.run.gen_tokens = 9;
    s.host.ram_mib = 2048;
    ostel_summary_set_section(&s, "scenario", cJSON_CreateString("a"));
    ostel_summary_set_section(&s, "quality", cJSON_CreateTrue());
    ostel_summary_set_section(&s, "scenario", cJSON_CreateString("b"));
    char *tmp = test_tmpdir();
    assert_int_equal(ostel_summary_write(tmp, &s), 0);
    char *path = ostel_xasprintf("%s/summary.json", tmp);
    size_t len;
    char *text = test_read_file(path, &len);
    assert_true(text[len - 1] == '\n');
    assert_non_null(strstr(text, "\"signal\":\t77"));
    assert_non_null(strstr(text, "\"start_ts\":\t100"));
    assert_non_null(strstr(text, "\"wall_s\":\t1.5"));
    assert_non_null(strstr(text, "\"gen\":\tnull"));
    assert_non_null(strstr(text, "\"ctx\":\t0"));
    assert_true(strstr(text, "\"quality\"") < strstr(text, "\"scenario\":\t\"b\""));
    struct ostel_summary r;
    char err[256];
    assert_int_equal(ostel_summary_read(tmp, &r, err, sizeof(err)), OSTEL_OK);
    assert_int_equal(r.run.signal, 77);
    assert_null(r.run.signal_name);
    assert_int_equal(r.run.repetition, 3);
    assert_true(r.run.gen_tokens == 9);
    assert_true(isnan(r.run.prompt_tokens));
    assert_true(r.host.ram_mib == 2048);
    assert_true(isnan(r.host.swap_mib));
    assert_string_equal(ostel_summary_section(&r, "scenario")->valuestring, "b");
    size_t n;
    char *again = ostel_summary_text(&r, &n);
    assert_int_equal(n, len);
    assert_memory_equal(again, text, n);
    free(again);
    ostel_summary_free(&r);
    free(text);
    free(path);
    test_rmtree(tmp);
    free(tmp);
    ostel_summary_free(&s);
}

/* The summary of a process ostel did not start (ostel serve --url): only what ostel knows of it,
 * in the order that summary always had; its samples and watched pid read back. */
static void test_external(void **state)
{
    (void)state;
    struct ostel_summary s;
    ostel_summary_init(&s);
    s.external = true;
    ostel_summary_set_str(&s.ostel_version, "9.9");
    ostel_summary_set_str(&s.run.run_id, "00ff");
    ostel_summary_set_str(&s.run.tag, "serve");
    ostel_summary_set_str(&s.run.status, "ok");
    s.run.start_ts_s = 10.0004;
    s.run.end_ts_s = 12;
    s.run.wall_s = 1.9996;
    ostel_summary_set_str(&s.run.tool, "llama-server");
    s.run.samples = 20;
    s.run.watched_pid = 4242;
    ostel_summary_set_section(&s, "serve", cJSON_CreateObject());
    size_t n;
    char *text = ostel_summary_text(&s, &n);
    const char *want = "{\n\t\"schema\":\t\"ostel.summary\",\n\t\"schema_version\":\t1,\n"
                       "\t\"ostel_version\":\t\"9.9\",\n\t\"run\":\t{\n"
                       "\t\t\"run_id\":\t\"00ff\",\n\t\t\"tag\":\t\"serve\",\n"
                       "\t\t\"status\":\t\"ok\",\n\t\t\"start_ts\":\t10,\n"
                       "\t\t\"end_ts\":\t12,\n\t\t\"wall_s\":\t2,\n"
                       "\t\t\"tool\":\t\"llama-server\",\n\t\t\"samples\":\t20,\n"
                       "\t\t\"watched_pid\":\t4242\n\t},\n\t\"serve\":\t{\n\t}\n}\n";
    assert_string_equal(text, want);
    struct ostel_summary r;
    char err[256];
    assert_int_equal(ostel_summary_parse(text, n, &r, err, sizeof(err)), OSTEL_OK);
    assert_false(r.external);
    assert_int_equal(r.run.samples, 20);
    assert_int_equal(r.run.watched_pid, 4242);
    assert_false(r.run.has_oom_killed); /* never said: unknown, not false */
    assert_null(r.host.hostname);
    assert_null(r.llama);
    ostel_summary_free(&r);
    free(text);
    ostel_summary_free(&s);
    /* a run ostel started writes neither, and always oom_killed */
    ostel_summary_init(&s);
    text = ostel_summary_text(&s, &n);
    assert_int_equal(ostel_summary_parse(text, n, &r, err, sizeof(err)), OSTEL_OK);
    assert_true(r.run.has_oom_killed);
    ostel_summary_free(&r);
    assert_null(strstr(text, "\"samples\""));
    assert_null(strstr(text, "\"watched_pid\""));
    free(text);
    ostel_summary_free(&s);
}

/* A llama-server log with progress lines but no timings: the report's gen_tps is the server's
 * progress figure, the timings' own (the store's column) unknown. */
static void test_progress_only(void **state)
{
    (void)state;
    static const char text[] = "{\"schema\": \"ostel.summary\", \"schema_version\": 1, \"run\": "
                               "{\"status\": \"ok\"}, \"llama\": {\"timings\": {\"gen_tps\": "
                               "null}, \"server_progress\": {\"tg_tps\": 80}}}";
    struct ostel_summary s;
    char err[256];
    assert_int_equal(ostel_summary_parse(text, strlen(text), &s, err, sizeof(err)), OSTEL_OK);
    struct ostel_summary_llama_facts lf;
    ostel_summary_llama_facts(&s, &lf);
    assert_true(lf.gen_tps == 80);
    assert_true(isnan(lf.timings_gen_tps));
    ostel_summary_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),    cmocka_unit_test(test_fields),
        cmocka_unit_test(test_legacy_keys),   cmocka_unit_test(test_refused),
        cmocka_unit_test(test_write_read),    cmocka_unit_test(test_external),
        cmocka_unit_test(test_progress_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
