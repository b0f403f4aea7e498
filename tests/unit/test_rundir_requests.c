/*
 * Unit tests for rundir_requests: requests.csv's, server_metrics.csv's and tokens.csv's column
 * tables against the docs (the header lines in docs/run-directory.md, the per-request and per-token
 * tables in docs/serve.md) and
 * the store's `requests` table (columns and types), their writers (every fixture ostel serve wrote
 * comes back byte for byte through the reader and the writer) and their one reader: a good file,
 * columns reordered and unknown ones skipped, quoted cells, a missing required column, garbage, a
 * cut last row, each bad input one error naming its line.
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include "testlib.h"
#include "rundir/rundir_requests.h"

#include <ftw.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The header lines the writers write are the tables' names in order. */
static void test_columns_in_order(void **state)
{
    (void)state;
    char hdr[1024];
    size_t n = ostel_requests_format_header(hdr, sizeof(hdr));
    assert_true(n > 0);
    assert_string_equal(
        hdr, "level,warmup,req_id,sched_ts,send_ts,first_ts,end_ts,queue_ms,ttft_ms,ttft_send_ms,"
             "e2e_ms,e2e_send_ms,itl_mean_ms,itl_max_ms,tpot_ms,prompt_tokens_asked,"
             "output_tokens_asked,prompt_tokens,completion_tokens,chunks,cache_n,prompt_n,"
             "prompt_ms,predicted_n,predicted_ms,http_status,ok,error\n");
    n = ostel_server_metrics_format_header(hdr, sizeof(hdr));
    assert_int_equal(n, 22);
    assert_string_equal(hdr, "ts,level,metric,value\n");
    n = ostel_tokens_format_header(hdr, sizeof(hdr));
    assert_int_equal(n, 34);
    assert_string_equal(hdr, "req_id,index,arrival_mono_ns,text\n");
    const struct ostel_rundir_csv_col *c = ostel_requests_cols();
    assert_string_equal(ostel_rundir_csv_sql(c[OSTEL_REQ_COL_LEVEL].kind), "TEXT");
    assert_string_equal(ostel_rundir_csv_sql(c[OSTEL_REQ_COL_REQ_ID].kind), "INTEGER");
    assert_string_equal(ostel_rundir_csv_sql(c[OSTEL_REQ_COL_TTFT_MS].kind), "REAL");
    assert_string_equal(ostel_rundir_csv_sql(c[OSTEL_REQ_COL_ERROR].kind), "TEXT");
}

/* The code line right under a "## NAME" heading's first paragraph in docs/run-directory.md. */
static void expect_docs_header(const char *doc, const char *section, const char *hdr)
{
    char *want = ostel_xasprintf("\n`%.*s`\n", (int)strlen(hdr) - 1, hdr);
    char *head = ostel_xasprintf("\n## %s", section);
    const char *sec = strstr(doc, head);
    if (!sec)
        fail_msg("docs/run-directory.md has no section '%s'", section);
    const char *next = strstr(sec + 1, "\n## ");
    const char *at = strstr(sec, want);
    if (!at || (next && at > next))
        fail_msg("docs/run-directory.md's %s section lacks %s", section, want);
    free(head);
    free(want);
}

/* docs/serve.md's table under the heading names the columns of cols (ncols) in order (a row may
 * name several). */
static void expect_docs_table(const char *doc, size_t len, const char *heading,
                              const struct ostel_rundir_csv_col *cols, int ncols)
{
    struct ostel_str rest = ostel_str_make(doc, len), line;
    bool in = false, seen = false;
    int next = 0;
    while (ostel_str_next_line(&rest, &line)) {
        if (line.n > 3 && memcmp(line.p, "## ", 3) == 0) {
            if (in)
                break;
            in = ostel_str_eq(line, heading);
            seen = seen || in;
            continue;
        }
        if (!in || line.n < 4 || memcmp(line.p, "| `", 3) != 0)
            continue;
        const char *bar = memchr(line.p + 1, '|', line.n - 1);
        assert_non_null(bar);
        struct ostel_str cell = ostel_str_make(line.p + 1, (size_t)(bar - line.p - 1)), name;
        while (test_md_next_code(&cell, &name)) {
            if (next >= ncols)
                fail_msg("docs/serve.md (%s) lists '%.*s' after the last column", heading,
                         (int)name.n, name.p);
            if (!ostel_str_eq(name, cols[next].name))
                fail_msg("docs/serve.md (%s) lists '%.*s' where the table has '%s'", heading,
                         (int)name.n, name.p, cols[next].name);
            next++;
        }
    }
    if (!seen)
        fail_msg("docs/serve.md has no heading '%s'", heading);
    if (next != ncols)
        fail_msg("docs/serve.md (%s) lists %d of the table's %d columns", heading, next, ncols);
}

/* docs/run-directory.md gives each file's header as a code line, the writer's byte for byte;
 * docs/serve.md's per-request and per-token tables name the columns in order. */
static void test_docs_are_the_tables(void **state)
{
    (void)state;
    char hdr[1024];
    char *path = test_src_path("docs/run-directory.md");
    size_t len;
    char *doc = test_read_file(path, &len);
    ostel_requests_format_header(hdr, sizeof(hdr));
    expect_docs_header(doc, "requests.csv", hdr);
    ostel_server_metrics_format_header(hdr, sizeof(hdr));
    expect_docs_header(doc, "server_metrics.csv", hdr);
    ostel_tokens_format_header(hdr, sizeof(hdr));
    expect_docs_header(doc, "server_metrics.csv", hdr); /* the section that names tokens.csv */
    free(doc);
    free(path);

    path = test_src_path("docs/serve.md");
    doc = test_read_file(path, &len);
    expect_docs_table(doc, len, "## Per request (requests.csv)", ostel_requests_cols(),
                      OSTEL_REQ_COL_COUNT);
    expect_docs_table(doc, len, "## Per token (tokens.csv)", ostel_tokens_cols(),
                      OSTEL_TOK_COL_COUNT);
    free(doc);
    free(path);
}

/* tokens.csv's row writer and its table agree: rows of awkward texts come back through
 * rundir_csv.h's reader with the table, each cell in its column, the text as written (quotes
 * undone, control bytes made spaces), and the writer's bytes are exact. */
static void test_tokens_rows(void **state)
{
    (void)state;
    struct ostel_buf b;
    ostel_buf_init(&b, 0);
    char hdr[128];
    ostel_buf_append(&b, hdr, ostel_tokens_format_header(hdr, sizeof(hdr)));
    const char *texts[] = {"Hello", "", " \"quoted\", with comma", "line\nbreak\ttab",
                           "caf\xc3\xa9"};
    const char *want[] = {"Hello", "", " \"quoted\", with comma", "line break tab", "caf\xc3\xa9"};
    size_t n = sizeof(texts) / sizeof(texts[0]);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(ostel_tokens_append_row(&b, 42, i, 123456789012345ull + i, texts[i]),
                         strlen(texts[i]));
    const char *third = strstr(b.data, "\n42,2,");
    assert_non_null(third);
    assert_memory_equal(third + 1, "42,2,123456789012347,\" \"\"quoted\"\", with comma\"\n", 45);
    struct ostel_rundir_csv_scan sc;
    char err[256];
    assert_int_equal(ostel_rundir_csv_scan_init(&sc, ostel_tokens_cols(), OSTEL_TOK_COL_COUNT,
                                                b.data, b.len, err, sizeof(err)),
                     0);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(ostel_rundir_csv_scan_next(&sc, err, sizeof(err)), 1);
        assert_true(sc.v[OSTEL_TOK_COL_REQ_ID] == 42);
        assert_true(sc.v[OSTEL_TOK_COL_INDEX] == (double)i);
        assert_true(sc.v[OSTEL_TOK_COL_ARRIVAL_MONO_NS] == 123456789012345.0 + (double)i);
        const char *t = sc.text[OSTEL_TOK_COL_TEXT];
        assert_string_equal(t ? t : "", want[i]);
    }
    assert_int_equal(ostel_rundir_csv_scan_next(&sc, err, sizeof(err)), 0);
    ostel_rundir_csv_scan_free(&sc);
    ostel_buf_free(&b);
}

/* ---- every fixture through the reader and back through the writer ---- */

static size_t seen_requests, seen_server;

static void roundtrip_requests(const char *fpath, const char *data, size_t len)
{
    struct ostel_requests_scan sc;
    struct ostel_requests_row row;
    char err[256] = "";
    struct ostel_buf b;
    ostel_buf_init(&b, 0);
    static char line[OSTEL_REQUESTS_ROW_MAX];
    ostel_buf_append(&b, line, ostel_requests_format_header(line, sizeof(line)));
    if (ostel_requests_scan_init(&sc, data, len, err, sizeof(err)) != 0)
        fail_msg("%s: %s", fpath, err);
    int k;
    while ((k = ostel_requests_scan_next(&sc, &row, err, sizeof(err))) == 1) {
        size_t n = ostel_requests_format_row(&row, line, sizeof(line));
        assert_true(n > 0);
        ostel_buf_append(&b, line, n);
    }
    if (k != 0)
        fail_msg("%s: %s", fpath, err);
    if (b.len != len || memcmp(b.data, data, len) != 0)
        fail_msg("%s: not the same bytes once read and written again", fpath);
    ostel_requests_scan_free(&sc);
    ostel_buf_free(&b);
    seen_requests++;
}

static void roundtrip_server(const char *fpath, const char *data, size_t len)
{
    struct ostel_server_metrics_scan sc;
    struct ostel_server_metrics_row row;
    char err[256] = "";
    struct ostel_buf b;
    ostel_buf_init(&b, 0);
    char line[2048];
    ostel_buf_append(&b, line, ostel_server_metrics_format_header(line, sizeof(line)));
    if (ostel_server_metrics_scan_init(&sc, data, len, err, sizeof(err)) != 0)
        fail_msg("%s: %s", fpath, err);
    int k;
    while ((k = ostel_server_metrics_scan_next(&sc, &row, err, sizeof(err))) == 1) {
        size_t n = ostel_server_metrics_format_row(&row, line, sizeof(line));
        assert_true(n > 0);
        ostel_buf_append(&b, line, n);
    }
    if (k != 0)
        fail_msg("%s: %s", fpath, err);
    if (b.len != len || memcmp(b.data, data, len) != 0)
        fail_msg("%s: not the same bytes once read and written again", fpath);
    ostel_server_metrics_scan_free(&sc);
    ostel_buf_free(&b);
    seen_server++;
}

static int roundtrip_one(const char *fpath, const struct stat *sb, int type, struct FTW *ftw)
{
    (void)sb;
    (void)ftw;
    const char *base = strrchr(fpath, '/');
    base = base ? base + 1 : fpath;
    bool req = strcmp(base, "requests.csv") == 0, srv = strcmp(base, "server_metrics.csv") == 0;
    if (type != FTW_F || (!req && !srv))
        return 0;
    size_t len;
    char *data = test_read_file(fpath, &len);
    if (req)
        roundtrip_requests(fpath, data, len);
    else
        roundtrip_server(fpath, data, len);
    free(data);
    return 0;
}

/* The serve fixtures (tests/data/runs/serve-tiny, cuda-h100/serve-study) were written by ostel
 * serve's earlier writers: the tables' writers give the same bytes, and the readers lose nothing.
 */
static void test_fixtures_roundtrip(void **state)
{
    (void)state;
    char *runs = test_src_path("tests/data/runs");
    seen_requests = seen_server = 0;
    assert_int_equal(nftw(runs, roundtrip_one, 16, FTW_PHYS), 0);
    assert_true(seen_requests >= 8);
    assert_true(seen_server >= 8);
    free(runs);
}

/* ---- the readers ---- */

static void test_requests_good(void **state)
{
    (void)state;
    /* reordered, an unknown column, a quoted error with a comma, quotes and a line end */
    const char *csv = "req_id,extra,error,ttft_ms,level,ok,warmup\n"
                      "7,zz,\"HTTP 500: a \"\"bad\"\"\nday, really\",12.5,c4,0,1\n"
                      "8,,,3,c4,1,0\n";
    struct ostel_requests_scan sc;
    struct ostel_requests_row r;
    char err[256] = "";
    if (ostel_requests_scan_init(&sc, csv, strlen(csv), err, sizeof(err)) != 0)
        fail_msg("%s", err);
    assert_int_equal(ostel_requests_scan_next(&sc, &r, err, sizeof(err)), 1);
    assert_true(r.v[OSTEL_REQ_COL_REQ_ID] == 7);
    assert_true(r.v[OSTEL_REQ_COL_TTFT_MS] == 12.5);
    assert_true(r.v[OSTEL_REQ_COL_WARMUP] == 1);
    assert_string_equal(r.text[OSTEL_REQ_COL_LEVEL], "c4");
    assert_string_equal(r.text[OSTEL_REQ_COL_ERROR], "HTTP 500: a \"bad\"\nday, really");
    assert_true(isnan(r.v[OSTEL_REQ_COL_E2E_MS])); /* a missing column: empty, never 0 */
    /* written again: the table's order, the error quoted and on one line */
    char line[OSTEL_REQUESTS_ROW_MAX];
    ostel_requests_format_row(&r, line, sizeof(line));
    assert_string_equal(line, "c4,1,7,,,,,,12.500,,,,,,,,,,,,,,,,,,0,\"HTTP 500: a \"\"bad\"\" "
                              "day, really\"\n");
    assert_int_equal(ostel_requests_scan_next(&sc, &r, err, sizeof(err)), 1);
    assert_null(r.text[OSTEL_REQ_COL_ERROR]); /* empty */
    assert_true(r.v[OSTEL_REQ_COL_OK] == 1);
    /* the record after a quoted line end is on line 4 */
    assert_int_equal(ostel_requests_scan_next(&sc, &r, err, sizeof(err)), 0);
    ostel_requests_scan_free(&sc);
    /* header only, a BOM, CRLF, blank lines */
    csv = "\xef\xbb\xbfreq_id,error\r\n\r\n1,\"x\"\r\n\r\n";
    assert_int_equal(ostel_requests_scan_init(&sc, csv, strlen(csv), err, sizeof(err)), 0);
    assert_int_equal(ostel_requests_scan_next(&sc, &r, err, sizeof(err)), 1);
    assert_string_equal(r.text[OSTEL_REQ_COL_ERROR], "x");
    assert_int_equal(ostel_requests_scan_next(&sc, &r, err, sizeof(err)), 0);
    ostel_requests_scan_free(&sc);
    /* blanks around a number are not its; a number cell of blanks only is empty */
    csv = "req_id,ttft_ms,level\n 9 ,  , c4 \n";
    assert_int_equal(ostel_requests_scan_init(&sc, csv, strlen(csv), err, sizeof(err)), 0);
    assert_int_equal(ostel_requests_scan_next(&sc, &r, err, sizeof(err)), 1);
    assert_true(r.v[OSTEL_REQ_COL_REQ_ID] == 9);
    assert_true(isnan(r.v[OSTEL_REQ_COL_TTFT_MS]));
    assert_string_equal(r.text[OSTEL_REQ_COL_LEVEL], " c4 "); /* text as written */
    ostel_requests_scan_free(&sc);
}

static void test_requests_bad(void **state)
{
    (void)state;
    static const struct {
        const char *csv, *want;
    } cases[] = {
        {"", "line 1: no header"},
        {"\nreq_id\n", "line 1: no header"},
        {"level,ok,error\nc1,1,\n", "line 1: no 'req_id' column"},
        {"req_id,\"ok\n", "line 1: a malformed header"},
        {"req_id,ok,ok\n1,1,1\n", "line 1: column 'ok' appears twice"},
        {"req_id,ok\n1,yes\n", "line 2: column ok is not a number"},
        {"req_id,ok\n1,0.5\n", "line 2: column ok is not a whole number"},
        {"req_id,ttft_ms\n1,inf\n", "line 2: column ttft_ms is not a number"},
        {"req_id,error\n1,\"open\n", "line 2: a malformed cell"},
        {"req_id,error\n1,\"x\"y\n", "line 2: a malformed cell"},
        {"req_id,ok\n1,1,1\n", "line 2: more cells than the header's 2"},
        {"req_id,ok,error\n1,1,\n2,1\n3,1,\n", "line 3: 2 cells but the header has 3"},
        {"req_id,error\n1,\"a\nb\"\n2,\"c\"d\n", "line 4: a malformed cell"},
        /* a file cut inside its last row (ostel killed mid-write never leaves one: one write()) */
        {"req_id,ok,error\n1,1,\n2,1", "line 3: 2 cells but the header has 3 (the last row, cut "
                                       "short)"},
        {"\x01\xff\"", "line 1: no 'req_id' column"},
    };
    for (size_t i = 0; i < OSTEL_ARRAY_LEN(cases); i++) {
        struct ostel_requests_scan sc;
        struct ostel_requests_row r;
        char err[256] = "";
        int rc =
            ostel_requests_scan_init(&sc, cases[i].csv, strlen(cases[i].csv), err, sizeof(err));
        while (rc == 0) {
            int k = ostel_requests_scan_next(&sc, &r, err, sizeof(err));
            if (k <= 0) {
                rc = k;
                break;
            }
        }
        ostel_requests_scan_free(&sc);
        if (rc != OSTEL_ERR)
            fail_msg("case %zu: accepted", i);
        if (strncmp(err, cases[i].want, strlen(cases[i].want)) != 0)
            fail_msg("case %zu: got '%s', want '%s'", i, err, cases[i].want);
    }
}

/* A cell over 64 KiB is refused, not kept. */
static void test_requests_long_cell(void **state)
{
    (void)state;
    size_t n = OSTEL_RUNDIR_CSV_MAX_CELL + 10;
    char *csv = ostel_xmalloc(n + 32);
    size_t h = (size_t)snprintf(csv, 32, "req_id,error\n1,");
    memset(csv + h, 'x', n);
    csv[h + n] = '\n';
    struct ostel_requests_scan sc;
    struct ostel_requests_row r;
    char err[256] = "";
    assert_int_equal(ostel_requests_scan_init(&sc, csv, h + n + 1, err, sizeof(err)), 0);
    assert_int_equal(ostel_requests_scan_next(&sc, &r, err, sizeof(err)), OSTEL_ERR);
    assert_string_equal(err, "line 2: a cell longer than 65536 bytes");
    ostel_requests_scan_free(&sc);
    free(csv);
}

static void test_server_metrics(void **state)
{
    (void)state;
    const char *csv = "metric,value,ts,level\n"
                      "\"llamacpp:requests_processing\",2.000000,100.5,c2\n"
                      "\"x{a=\"\"b\"\"}\",,101,\n";
    struct ostel_server_metrics_scan sc;
    struct ostel_server_metrics_row r;
    char err[256] = "";
    if (ostel_server_metrics_scan_init(&sc, csv, strlen(csv), err, sizeof(err)) != 0)
        fail_msg("%s", err);
    assert_int_equal(ostel_server_metrics_scan_next(&sc, &r, err, sizeof(err)), 1);
    assert_true(ostel_str_eq(r.metric, "llamacpp:requests_processing"));
    assert_true(r.value == 2 && r.ts == 100.5);
    assert_string_equal(r.level, "c2");
    assert_int_equal(ostel_server_metrics_scan_next(&sc, &r, err, sizeof(err)), 1);
    assert_true(ostel_str_eq(r.metric, "x{a=\"b\"}"));
    assert_true(isnan(r.value));
    assert_string_equal(r.level, "");
    char line[256];
    ostel_server_metrics_format_row(&r, line, sizeof(line));
    assert_string_equal(line, "101.000,,\"x{a=\"\"b\"\"}\",\n");
    assert_int_equal(ostel_server_metrics_scan_next(&sc, &r, err, sizeof(err)), 0);
    ostel_server_metrics_scan_free(&sc);
    /* the required columns */
    csv = "ts,level,value\n1,c1,2\n";
    assert_int_equal(ostel_server_metrics_scan_init(&sc, csv, strlen(csv), err, sizeof(err)),
                     OSTEL_ERR);
    assert_string_equal(err, "line 1: no 'metric' column");
    ostel_server_metrics_scan_free(&sc);
    csv = "ts,metric,value\n1,\"a\",2\n2,\"a\""; /* cut inside its last row */
    assert_int_equal(ostel_server_metrics_scan_init(&sc, csv, strlen(csv), err, sizeof(err)), 0);
    assert_int_equal(ostel_server_metrics_scan_next(&sc, &r, err, sizeof(err)), 1);
    assert_int_equal(ostel_server_metrics_scan_next(&sc, &r, err, sizeof(err)), OSTEL_ERR);
    assert_string_equal(err, "line 3: 2 cells but the header has 3 (the last row, cut short)");
    ostel_server_metrics_scan_free(&sc);
    csv = "ts,metric,value\n1,\"a\",x\n";
    assert_int_equal(ostel_server_metrics_scan_init(&sc, csv, strlen(csv), err, sizeof(err)), 0);
    assert_int_equal(ostel_server_metrics_scan_next(&sc, &r, err, sizeof(err)), OSTEL_ERR);
    assert_string_equal(err, "line 2: column value is not a number");
    ostel_server_metrics_scan_free(&sc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_columns_in_order),   cmocka_unit_test(test_docs_are_the_tables),
        cmocka_unit_test(test_tokens_rows),        cmocka_unit_test(test_fixtures_roundtrip),
        cmocka_unit_test(test_requests_good),      cmocka_unit_test(test_requests_bad),
        cmocka_unit_test(test_requests_long_cell), cmocka_unit_test(test_server_metrics),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
