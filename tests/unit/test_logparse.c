/*
 * Unit tests for llama/logparse: data-driven over real logs (tests/data/logs/shared, each with the
 * values a correct parser extracts) and over the fixtures of tests/data/logs (captured from the
 * pinned build or hand-written from llama.cpp's printf formats, each with an .expected.json), plus
 * traps written inline, binary junk, the line classifier and the `ostel parse` command.
 */
#include "testlib.h"
#include "llama/logparse.h"

#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static cJSON *parse_json(const char *data, size_t len)
{
    struct ostel_log_result r;
    ostel_logparse_result_init(&r);
    char err[128];
    assert_int_equal(ostel_logparse_parse(data, len, &r, err, sizeof(err)), 0);
    cJSON *j = ostel_logparse_to_json(&r);
    ostel_logparse_result_free(&r);
    assert_non_null(j);
    return j;
}

static cJSON *parse_file_json(const char *path)
{
    size_t len;
    char *data = test_read_file(path, &len);
    cJSON *j = parse_json(data, len);
    free(data);
    return j;
}

/* "a.b.0.c" inside o; NULL when any step is missing or null. */
static const cJSON *get_path(const cJSON *o, const char *path)
{
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", path);
    char *save = NULL;
    for (char *seg = strtok_r(buf, ".", &save); seg && o; seg = strtok_r(NULL, ".", &save)) {
        if (cJSON_IsArray(o))
            o = cJSON_GetArrayItem(o, atoi(seg));
        else if (cJSON_IsObject(o))
            o = cJSON_GetObjectItemCaseSensitive(o, seg);
        else
            return NULL;
    }
    return o && !cJSON_IsNull(o) ? o : NULL;
}

static bool num_close(double e, double a)
{
    return fabs(e - a) <= 0.006 + 1e-9 * fabs(e);
}

/*
 * Every value of exp must be in act: numbers within a small tolerance, strings and booleans equal,
 * null matched by null or absence, arrays of the same length compared item by item. Keys starting
 * with '_' are notes. Fails the test naming the path of the first difference.
 */
static void expect_subset(const cJSON *exp, const cJSON *act, const char *where, const char *path)
{
    if (cJSON_IsNull(exp)) {
        if (act && !cJSON_IsNull(act))
            fail_msg("%s: %s: expected null, got %s", where, path, cJSON_PrintUnformatted(act));
        return;
    }
    if (!act || cJSON_IsNull(act))
        fail_msg("%s: %s: expected %s, got null/absent", where, path, cJSON_PrintUnformatted(exp));
    if (cJSON_IsNumber(exp)) {
        if (!cJSON_IsNumber(act) || !num_close(exp->valuedouble, act->valuedouble))
            fail_msg("%s: %s: expected %.6f, got %s", where, path, exp->valuedouble,
                     cJSON_PrintUnformatted(act));
    } else if (cJSON_IsString(exp)) {
        if (!cJSON_IsString(act) || strcmp(exp->valuestring, act->valuestring) != 0)
            fail_msg("%s: %s: expected \"%s\", got %s", where, path, exp->valuestring,
                     cJSON_PrintUnformatted(act));
    } else if (cJSON_IsBool(exp)) {
        if (!cJSON_IsBool(act) || cJSON_IsTrue(exp) != cJSON_IsTrue(act))
            fail_msg("%s: %s: expected %s", where, path, cJSON_IsTrue(exp) ? "true" : "false");
    } else if (cJSON_IsArray(exp)) {
        if (!cJSON_IsArray(act) || cJSON_GetArraySize(exp) != cJSON_GetArraySize(act))
            fail_msg("%s: %s: expected an array of %d", where, path, cJSON_GetArraySize(exp));
        for (int i = 0; i < cJSON_GetArraySize(exp); i++) {
            char sub[256];
            snprintf(sub, sizeof(sub), "%s.%d", path, i);
            expect_subset(cJSON_GetArrayItem(exp, i), cJSON_GetArrayItem(act, i), where, sub);
        }
    } else if (cJSON_IsObject(exp)) {
        if (!cJSON_IsObject(act))
            fail_msg("%s: %s: expected an object", where, path);
        const cJSON *it;
        cJSON_ArrayForEach(it, exp)
        {
            if (it->string[0] == '_')
                continue;
            char sub[256];
            snprintf(sub, sizeof(sub), "%s%s%s", path, *path ? "." : "", it->string);
            expect_subset(it, cJSON_GetObjectItemCaseSensitive(act, it->string), where, sub);
        }
    }
}

/* ---------------------------------------------------------------- tests/data/logs/shared */

/* The shared expected files name values their own way; this maps each to the parser's JSON. */
static const struct {
    const char *key;
    const char *path;
} shared_map[] = {
    {"llama_cpp_format", "format"},
    {"prompt_tokens", "timings.prompt_tokens"},
    {"prompt_ms", "timings.prompt_ms"},
    {"prompt_tps", "timings.prompt_tps"},
    {"gen_tokens", "timings.gen_tokens"},
    {"gen_ms", "timings.gen_ms"},
    {"gen_tps", "timings.gen_tps"},
    {"load_ms", "timings.load_ms"},
    {"total_ms", "timings.total_ms"},
    {"total_tokens", "timings.total_tokens"},
    {"n_ctx", "context.n_ctx"},
    {"model_file_type", "model.file_type"},
    {"model_size_printed", "model.size_printed"},
    {"model_size_mib", "model.size_mib"},
    {"breakdown", "memory_breakdown"},
    {"ppl", "perplexity.ppl"},
    {"kld_mean", "perplexity.kld_mean"},
    {"recommended_max_working_set_mb", "recommended_max_working_set_mb"},
    {"device_free_mib_at_load", "devices.0.free_mib"},
    {"truncated", "truncated"},
    {"decimal_separator", "decimal_separator"},
};

/* Provenance and prose, not values printed by llama.cpp. */
static const char *const shared_meta[] = {"source", "notes", "device"};

/* "buffers": {"CUDA0 KV": 1024.0, ...} against the parser's list; both ways, so a compute buffer
 * counted twice (teardown lines) or a missing one fails. */
static void expect_buffers(const cJSON *exp, const cJSON *act, const char *where)
{
    const cJSON *bufs = cJSON_GetObjectItemCaseSensitive(act, "buffers");
    int n = cJSON_GetArraySize(bufs);
    if (cJSON_IsNull(exp)) {
        if (n != 0)
            fail_msg("%s: buffers: expected none, got %d", where, n);
        return;
    }
    if (n != cJSON_GetArraySize(exp))
        fail_msg("%s: buffers: expected %d, got %d (%s)", where, cJSON_GetArraySize(exp), n,
                 cJSON_PrintUnformatted(bufs));
    const cJSON *b;
    cJSON_ArrayForEach(b, bufs)
    {
        const char *kind = cJSON_GetObjectItemCaseSensitive(b, "kind")->valuestring;
        char key[96];
        snprintf(key, sizeof(key), "%s %s",
                 cJSON_GetObjectItemCaseSensitive(b, "backend")->valuestring,
                 strcmp(kind, "kv") == 0 ? "KV" : kind);
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(exp, key);
        if (!e)
            fail_msg("%s: buffers: '%s' not expected", where, key);
        double mib = cJSON_GetObjectItemCaseSensitive(b, "mib")->valuedouble;
        if (!num_close(e->valuedouble, mib))
            fail_msg("%s: buffers: '%s' expected %.2f, got %.2f", where, key, e->valuedouble, mib);
    }
}

static void check_shared(const char *dir, const char *name)
{
    char *epath = ostel_xasprintf("%s/%s", dir, name);
    char *lpath = ostel_xasprintf("%s/%.*s.log", dir, (int)(strlen(name) - 14), name);
    size_t elen;
    char *etext = test_read_file(epath, &elen);
    cJSON *exp = cJSON_Parse(etext);
    assert_non_null(exp);
    cJSON *act = parse_file_json(lpath);
    const cJSON *it;
    int checked = 0;
    cJSON_ArrayForEach(it, exp)
    {
        const char *k = it->string;
        bool done = false;
        for (size_t i = 0; i < OSTEL_ARRAY_LEN(shared_meta) && !done; i++)
            done = strcmp(k, shared_meta[i]) == 0;
        if (done)
            continue;
        if (strcmp(k, "buffers") == 0) {
            expect_buffers(it, act, name);
        } else if (strcmp(k, "platform") == 0) {
            /* a log without buffers or devices (03: a perf block alone) names no platform */
            const cJSON *p = get_path(act, "platform");
            if (p)
                assert_string_equal(p->valuestring, it->valuestring);
            else if (!cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(exp, "buffers")))
                fail_msg("%s: platform: expected %s, got null", name, it->valuestring);
        } else {
            size_t i;
            for (i = 0; i < OSTEL_ARRAY_LEN(shared_map); i++)
                if (strcmp(k, shared_map[i].key) == 0)
                    break;
            if (i == OSTEL_ARRAY_LEN(shared_map))
                fail_msg("%s: key '%s' has no mapping in the test: add one", name, k);
            char where[160];
            snprintf(where, sizeof(where), "%s (%s)", name, k);
            expect_subset(it, get_path(act, shared_map[i].path), where, shared_map[i].path);
        }
        checked++;
    }
    assert_true(checked >= 15); /* a file whose keys all went unmapped would prove nothing */
    cJSON_Delete(act);
    cJSON_Delete(exp);
    free(etext);
    free(epath);
    free(lpath);
}

static bool ends_with(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

static void test_shared_logs(void **state)
{
    (void)state;
    char *dir = test_shared_logs_dir();
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d))) {
        if (!ends_with(e->d_name, ".expected.json"))
            continue;
        check_shared(dir, e->d_name);
        n++;
    }
    closedir(d);
    free(dir);
    assert_true(n >= 7);
}

/* ---------------------------------------------------------------- tests/data/logs */

static void test_fixture_logs(void **state)
{
    (void)state;
    char *dir = test_src_path("tests/data/logs");
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d))) {
        if (!ends_with(e->d_name, ".log"))
            continue;
        char *lpath = ostel_xasprintf("%s/%s", dir, e->d_name);
        char *epath =
            ostel_xasprintf("%s/%.*s.expected.json", dir, (int)(strlen(e->d_name) - 4), e->d_name);
        size_t elen;
        char *etext = test_read_file(epath, &elen); /* every fixture has its expected values */
        cJSON *exp = cJSON_Parse(etext);
        assert_non_null(exp);
        cJSON *act = parse_file_json(lpath);
        expect_subset(exp, act, e->d_name, "");
        cJSON_Delete(act);
        cJSON_Delete(exp);
        free(etext);
        free(lpath);
        free(epath);
        n++;
    }
    closedir(d);
    free(dir);
    assert_true(n >= 20);
}

/* ---------------------------------------------------------------- traps written inline */

static cJSON *parse_str(const char *s)
{
    return parse_json(s, strlen(s));
}

static double num_at(const cJSON *j, const char *path)
{
    const cJSON *v = get_path(j, path);
    if (!v || !cJSON_IsNumber(v))
        fail_msg("%s: not a number", path);
    return v->valuedouble;
}

static void test_traps(void **state)
{
    (void)state;
    /* the sampler's tokens per second is not the generation speed; \r\n line ends */
    cJSON *j = parse_str(
        "llama_perf_sampler_print:    sampling time =       5.00 ms /   100 runs   (    0.05 ms "
        "per token, 20000.00 tokens per second)\r\n"
        "llama_perf_context_print:        eval time =    1000.00 ms /    99 runs   (   10.10 ms "
        "per token,    99.00 tokens per second)\r\n");
    assert_true(num_close(num_at(j, "timings.gen_tps"), 99.0));
    assert_true(num_close(num_at(j, "timings.sampling_tps"), 20000.0));
    assert_null(get_path(j, "timings.prompt_tps"));
    assert_null(get_path(j, "timings.load_ms")); /* absent is null, never 0 */
    cJSON_Delete(j);

    /* locale commas, inf, colours, a prefix and a line longer than the parser's buffer */
    char *long_line = ostel_xmalloc(20000);
    memset(long_line, 'x', 19999);
    long_line[19999] = '\0';
    char *text = ostel_xasprintf(
        "%s\n\x1b[32m0.01.234.567 I \x1b[0mcommon_perf_print: prompt eval time =     116,10 ms /"
        "     9 tokens (   12,90 ms per token,      inf tokens per second)\n"
        "llama_context:      CUDA0 compute buffer size =  1234,50 MiB\n",
        long_line);
    j = parse_str(text);
    assert_true(num_close(num_at(j, "timings.prompt_ms"), 116.10));
    assert_string_equal(get_path(j, "timings.prompt_tps")->valuestring, "inf");
    assert_string_equal(get_path(j, "decimal_separator")->valuestring, ",");
    assert_true(num_close(num_at(j, "buffers.0.mib"), 1234.5));
    assert_string_equal(get_path(j, "platform")->valuestring, "cuda");
    cJSON_Delete(j);
    free(text);
    free(long_line);

    /* teardown lines repeat compute sizes: counted once */
    j = parse_str("sched_reserve:       MTL0 compute buffer size =   300.25 MiB\n"
                  "~llama_context:       MTL0 compute buffer size is 300.2500 MiB, matches "
                  "expectation of 300.2500 MiB\n");
    assert_int_equal(cJSON_GetArraySize(get_path(j, "buffers")), 1);
    cJSON_Delete(j);

    /* a vocab-only load after the real one does not replace it */
    j = parse_str("llama_model_loader: loaded meta data with 3 key-value pairs\n"
                  "print_info: file type   = Q8_0\nprint_info: vocab_only       = 0\n"
                  "llama_model_loader: loaded meta data with 3 key-value pairs\n"
                  "print_info: file type   = F16\nprint_info: vocab_only       = 1\n");
    assert_string_equal(get_path(j, "model.file_type")->valuestring, "Q8_0");
    assert_true(num_close(num_at(j, "model.loads"), 2));
    assert_true(num_close(num_at(j, "model.vocab_only_loads"), 1));
    cJSON_Delete(j);
}

/* ---------------------------------------------------------------- junk and errors */

static void test_junk(void **state)
{
    (void)state;
    struct ostel_log_result r;
    ostel_logparse_result_init(&r);
    char err[64] = "";
    assert_int_equal(ostel_logparse_parse(NULL, 5, &r, err, sizeof(err)), -1);
    assert_true(err[0] != '\0');
    assert_int_equal(ostel_logparse_parse("x", 1, NULL, err, sizeof(err)), -1);
    assert_int_equal(ostel_logparse_parse(NULL, 0, &r, err, sizeof(err)), 0);

    /* deterministic pseudo-random bytes with NULs, escapes and fragments of real lines */
    size_t n = 1 << 16;
    char *buf = ostel_xmalloc(n);
    uint32_t x = 12345;
    static const char *const frags[] = {"buffer size =", "| - CUDA0 (x) | 1 = 2 + (",
                                        "eval time =",   "print_info: file size   = ",
                                        "\x1b[",         "{\n\"avg_ts\": ",
                                        "build_commit,", "\"",
                                        "Mean KLD:",     "using device "};
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        buf[i] = (char)(x >> 16);
        if ((x >> 8) % 64 == 0) {
            const char *f = frags[(x >> 3) % OSTEL_ARRAY_LEN(frags)];
            size_t fl = strlen(f);
            if (i + fl < n) {
                memcpy(buf + i, f, fl);
                i += fl - 1;
            }
        }
    }
    assert_int_equal(ostel_logparse_parse(buf, n, &r, err, sizeof(err)), 0);
    cJSON *j = ostel_logparse_to_json(&r);
    char *s = cJSON_PrintUnformatted(j);
    assert_non_null(s); /* serialisable: no NaN, no invalid strings */
    cJSON_free(s);
    cJSON_Delete(j);
    ostel_logparse_result_free(&r);
    free(buf);
}

/* ---------------------------------------------------------------- classifier */

static void test_classify(void **state)
{
    (void)state;
    static const struct {
        const char *line;
        enum ostel_logparse_event ev;
    } cases[] = {
        {"0.00.035.827 I llama_model_loader: loaded meta data with 27 key-value pairs and 21 "
         "tensors from /tmp/tiny-q4.gguf (version GGUF V3 (latest))",
         OSTEL_LOGPARSE_EVENT_MODEL_LOAD_START},
        {"0.00.057.392 I llama_context: constructing llama_context",
         OSTEL_LOGPARSE_EVENT_MODEL_LOAD_DONE},
        {"0.00.057.814 I sched_reserve: graph splits = 1", OSTEL_LOGPARSE_EVENT_CONTEXT_CREATED},
        {"llama_new_context_with_model: graph splits = 2", OSTEL_LOGPARSE_EVENT_CONTEXT_CREATED},
        {"0.00.059.203 I generate: n_ctx = 256, n_batch = 2048, n_predict = 16, n_keep = 1",
         OSTEL_LOGPARSE_EVENT_PROMPT_START},
        {"0.00.171.508 I common_perf_print:    sampling time =       0.72 ms",
         OSTEL_LOGPARSE_EVENT_PERF_START},
        {"llama_print_timings:        load time =   329.89 ms", OSTEL_LOGPARSE_EVENT_PERF_START},
        {"0.00.171.628 I common_memory_breakdown_print: | memory breakdown [MiB] | total   free",
         OSTEL_LOGPARSE_EVENT_MEMORY_BREAKDOWN},
        {"0.00.171.639 I common_memory_breakdown_print: |   - Host    |  44 =  11 +  0 +  32 |",
         OSTEL_LOGPARSE_EVENT_NONE},
        {" Hello world månSwitch reserveMAP", OSTEL_LOGPARSE_EVENT_NONE},
        {"", OSTEL_LOGPARSE_EVENT_NONE},
    };
    for (size_t i = 0; i < OSTEL_ARRAY_LEN(cases); i++) {
        enum ostel_logparse_event ev =
            ostel_logparse_classify_line(cases[i].line, strlen(cases[i].line));
        if (ev != cases[i].ev)
            fail_msg("'%s': got %s", cases[i].line, ostel_logparse_event_name(ev));
    }
    /* not NUL-terminated: only n bytes are read */
    const char raw[] = "llama_context: constructing llama_context";
    assert_int_equal(ostel_logparse_classify_line(raw, 13), OSTEL_LOGPARSE_EVENT_NONE);
    assert_int_equal(ostel_logparse_classify_line(NULL, 0), OSTEL_LOGPARSE_EVENT_NONE);
}

/* ---------------------------------------------------------------- the command */

static void test_cmd(void **state)
{
    (void)state;
    char *out, *err;
    char *fixture = test_src_path("tests/data/logs/pinned-completion-lv4.log");
    const char *a1[] = {"parse", fixture, "--json", NULL};
    assert_int_equal(test_run_ostel(a1, &out, &err), 0);
    cJSON *j = cJSON_Parse(out);
    assert_non_null(j);
    assert_string_equal(get_path(j, "format")->valuestring, "common_perf");
    assert_true(num_close(num_at(j, "timings.gen_tps"), 3257.33));
    cJSON_Delete(j);
    free(out);
    free(err);

    const char *a2[] = {"parse", fixture, NULL};
    assert_int_equal(test_run_ostel(a2, &out, &err), 0);
    assert_non_null(strstr(out, "3257.33 tokens/s"));
    assert_non_null(strstr(out, "CPU_Mapped"));
    free(out);
    free(err);

    const char *a3[] = {"parse", "/nonexistent/log.txt", NULL};
    assert_int_equal(test_run_ostel(a3, &out, &err), 1);
    assert_string_equal(out, "");
    assert_non_null(strstr(err, "cannot open"));
    assert_non_null(strchr(err, '\n'));
    assert_null(strchr(strchr(err, '\n') + 1, '\n')); /* one line */
    free(out);
    free(err);

    const char *a4[] = {"parse", NULL};
    assert_int_equal(test_run_ostel(a4, &out, &err), 2);
    free(out);
    free(err);

    char *dir = test_src_path("tests/data/logs");
    const char *a5[] = {"parse", dir, NULL};
    assert_int_equal(test_run_ostel(a5, &out, &err), 1);
    free(out);
    free(err);
    free(dir);

    const char *a6[] = {"parse", "--json", "-", NULL}; /* stdin is empty: all null, exit 0 */
    assert_int_equal(test_run_ostel(a6, &out, &err), 0);
    j = cJSON_Parse(out);
    assert_non_null(j);
    assert_null(get_path(j, "timings.gen_tps"));
    cJSON_Delete(j);
    free(out);
    free(err);
    free(fixture);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shared_logs), cmocka_unit_test(test_fixture_logs),
        cmocka_unit_test(test_traps),       cmocka_unit_test(test_junk),
        cmocka_unit_test(test_classify),    cmocka_unit_test(test_cmd),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
