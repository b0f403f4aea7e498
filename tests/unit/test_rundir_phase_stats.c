/*
 * Unit tests for rundir_phase_stats: summary.json's PHASE STATS table is consistent (unique keys,
 * found by key; each statistic's unit and SQL type agree with the metrics.csv column it is reduced
 * from; the report's indices are 0..n-1, each once) and docs/run-directory.md's PHASE STATS table
 * is the table (keys in order, unit, reduction and source column, store type, report).
 */
#include "testlib.h"
#include "rundir/rundir_phase_stats.h"

#include <stdlib.h>
#include <string.h>

static const struct ostel_phase_stat_info *stat_info(int k)
{
    return ostel_phase_stat((enum ostel_phase_stat)k);
}

static void test_table(void **state)
{
    (void)state;
    for (int k = 0; k < OSTEL_PHASE_STAT_COUNT; k++) {
        const struct ostel_phase_stat_info *info = stat_info(k);
        assert_int_equal(ostel_phase_stat_find(info->key), k); /* and so no key twice */
        assert_true(info->col < OSTEL_COL_COUNT && info->col != OSTEL_COL_PHASE);
        const struct ostel_metrics_col_info *src = ostel_metrics_col(info->col);
        if (info->agg == OSTEL_PHASE_AGG_COUNT)
            assert_string_equal(info->unit, "count");
        else
            assert_string_equal(info->unit, src->unit);
        /* a count is an integer, a mean a real, the rest of the column's type; a statistic added
         * after the store's schema has none (it needs a migration to have one) */
        const char *sql = info->agg == OSTEL_PHASE_AGG_COUNT  ? "INTEGER"
                          : info->agg == OSTEL_PHASE_AGG_MEAN ? "REAL"
                                                              : src->sql;
        if (info->sql) {
            assert_non_null(sql);
            assert_string_equal(info->sql, sql);
        }
        assert_true(info->report >= -1 && info->report < OSTEL_PHASE_STAT_NREPORT);
    }
    assert_int_equal(ostel_phase_stat_find("rss_mb"), -1);
    assert_int_equal(ostel_phase_stat_find(""), -1);
    /* the first four are the phase's extent, in the order the aggregator always wrote them */
    static const char *const head[] = {"start_ts", "end_ts", "duration_s", "samples"};
    for (int k = 0; k < 4; k++)
        assert_string_equal(stat_info(k)->key, head[k]);
    assert_true(OSTEL_PHASE_STAT_NREPORT > 0);
    for (int t = 0; t < OSTEL_PHASE_STAT_NREPORT; t++) {
        int k = ostel_phase_stat_of_report(t);
        assert_true(k >= 0);
        assert_int_equal(stat_info(k)->report, t);
        int n = 0;
        for (int j = 0; j < OSTEL_PHASE_STAT_COUNT; j++)
            n += stat_info(j)->report == t;
        assert_int_equal(n, 1);
    }
    assert_int_equal(ostel_phase_stat_of_report(-1), -1);
    assert_int_equal(ostel_phase_stat_of_report(OSTEL_PHASE_STAT_NREPORT), -1);
}

static bool starts_with(struct ostel_str s, const char *prefix)
{
    size_t n = strlen(prefix);
    return s.n >= n && memcmp(s.p, prefix, n) == 0;
}

/* How the docs' "from metrics.csv" cell starts for each reduction (then the column, but for the
 * count). */
static const char *agg_words(enum ostel_phase_agg agg)
{
    switch (agg) {
    case OSTEL_PHASE_AGG_FIRST:
        return "first ";
    case OSTEL_PHASE_AGG_LAST:
        return "last ";
    case OSTEL_PHASE_AGG_SPAN:
        return "span of ";
    case OSTEL_PHASE_AGG_COUNT:
        return "rows";
    case OSTEL_PHASE_AGG_MAX:
        return "largest ";
    case OSTEL_PHASE_AGG_MIN:
        return "smallest ";
    case OSTEL_PHASE_AGG_SUM:
        return "sum of ";
    case OSTEL_PHASE_AGG_MEAN:
        return "mean of ";
    }
    return "?";
}

/* docs/run-directory.md's "### PHASE STATS" table lists the table's statistics in its order: the
 * key, its unit, its reduction and source column ("largest `rss_mb`"), the store's type (— for
 * none) and "yes" where the report reads it. */
static void test_docs_list_is_the_table(void **state)
{
    (void)state;
    char *path = test_src_path("docs/run-directory.md");
    size_t len;
    char *doc = test_read_file(path, &len);
    struct ostel_str rest = ostel_str_make(doc, len), line;
    bool in = false;
    int next = 0;
    while (ostel_str_next_line(&rest, &line)) {
        if (line.n > 3 && line.p[0] == '#') {
            if (in)
                break;
            in = ostel_str_eq(line, "### PHASE STATS");
            continue;
        }
        if (!in || !starts_with(line, "| `"))
            continue;
        struct ostel_str key = test_md_cell(line, 0), unit = test_md_cell(line, 1),
                         from = test_md_cell(line, 2);
        struct ostel_str sql = test_md_cell(line, 3), report = test_md_cell(line, 4);
        if (next >= OSTEL_PHASE_STAT_COUNT)
            fail_msg("docs list %.*s after the table's last statistic", (int)key.n, key.p);
        const struct ostel_phase_stat_info *info = stat_info(next);
        char want[128];
        snprintf(want, sizeof(want), "`%s`", info->key);
        if (!ostel_str_eq(key, want))
            fail_msg("docs list %.*s where the table has %s", (int)key.n, key.p, want);
        if (!ostel_str_eq(unit, info->unit))
            fail_msg("docs give %s the unit '%.*s', the table '%s'", info->key, (int)unit.n, unit.p,
                     info->unit);
        if (info->agg == OSTEL_PHASE_AGG_COUNT)
            snprintf(want, sizeof(want), "%s", agg_words(info->agg));
        else
            snprintf(want, sizeof(want), "%s`%s`", agg_words(info->agg),
                     ostel_metrics_col_name(info->col));
        if (!starts_with(from, want))
            fail_msg("docs reduce %s as '%.*s', the table as '%s'", info->key, (int)from.n, from.p,
                     want);
        if (!ostel_str_eq(sql, info->sql ? info->sql : "—"))
            fail_msg("docs store %s as '%.*s', the table as %s", info->key, (int)sql.n, sql.p,
                     info->sql ? info->sql : "none");
        if (!ostel_str_eq(report, info->report >= 0 ? "yes" : ""))
            fail_msg("docs say the report reads %s: '%.*s'", info->key, (int)report.n, report.p);
        next++;
    }
    if (next != OSTEL_PHASE_STAT_COUNT)
        fail_msg("docs list %d of the table's %d statistics", next, (int)OSTEL_PHASE_STAT_COUNT);
    free(doc);
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_docs_list_is_the_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
