/*
 * Unit tests for report_quality.c: the KLD ratio and its error, the Pareto front, the loader
 * (summary.json's "quality" section and llama.perplexity figures), the quality table's KLD-ratio
 * column and caption (the -b/-ub settings), and report.md's one line per model, on a report built
 * by hand (three groups: the F16 base, Q8_0 as the baseline, Q4_K_M).
 */
#include "testlib.h"
#include "report/report.h"

#include <cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static void test_kld_ratio(void **state)
{
    (void)state;
    double r, e;
    assert_true(ostel_report_quality_kld_ratio(0.03, 0.003, 0.01, 0.0004, &r, &e));
    assert_true(fabs(r - 3.0) < 1e-12);
    /* 3 * sqrt(0.1^2 + 0.04^2) */
    assert_true(fabs(e - 3.0 * sqrt(0.01 + 0.0016)) < 1e-12);
    /* an unknown error: the ratio alone */
    assert_true(ostel_report_quality_kld_ratio(0.02, NAN, 0.01, 0.001, &r, &e));
    assert_true(fabs(r - 2.0) < 1e-12);
    assert_true(isnan(e));
    /* no ratio against or of a zero, negative or unknown KLD */
    assert_false(ostel_report_quality_kld_ratio(0.02, 0.001, 0, 0, &r, &e));
    assert_false(ostel_report_quality_kld_ratio(0, 0, 0.01, 0.001, &r, &e));
    assert_false(ostel_report_quality_kld_ratio(NAN, 0, 0.01, 0.001, &r, &e));
    assert_false(ostel_report_quality_kld_ratio(0.02, 0.001, -1, 0.001, &r, &e));
    assert_true(isnan(r) && isnan(e));
}

static void test_pareto(void **state)
{
    (void)state;
    /* F16: big, slow, exact; Q8_0: smaller, faster, a little KLD; Q4_K_M: smallest, fastest, more
     * KLD; "slow Q4": as small as Q4_K_M and as faithful but slower (dominated); a duplicate of
     * Q8_0 (neither dominates the other: equal in all three) */
    const double mem[] = {1000, 550, 300, 300, 550};
    const double tps[] = {10, 18, 30, 20, 18};
    const double kld[] = {0, 0.001, 0.03, 0.03, 0.001};
    bool f[5];
    ostel_report_quality_pareto(mem, tps, kld, 5, f);
    assert_true(f[0]);
    assert_true(f[1]);
    assert_true(f[2]);
    assert_false(f[3]);
    assert_true(f[4]);
    /* one point is its own front; a point better in everything leaves only itself */
    ostel_report_quality_pareto(mem, tps, kld, 1, f);
    assert_true(f[0]);
    const double m2[] = {100, 200}, t2[] = {20, 10}, k2[] = {0.01, 0.02};
    ostel_report_quality_pareto(m2, t2, k2, 2, f);
    assert_true(f[0]);
    assert_false(f[1]);
}

static const char *const base_json =
    "{\"quality\":{\"role\":\"base\",\"ok\":true,\"synthetic\":true,\"base_tag\":\"f16\","
    "\"file_type\":\"F16\",\"text\":\"t.txt\",\"ctx\":128,\"chunks\":4,\"scored_tokens\":252,"
    "\"batch\":null,\"ubatch\":256,\"n_batch\":2048,\"n_ubatch\":256},"
    "\"llama\":{\"perplexity\":{\"ppl\":33197.0169,\"ppl_stderr\":1187.5}}}";

static char *cand_json(const char *ftype, double kld, double kld_err, double top)
{
    return ostel_xasprintf(
        "{\"quality\":{\"role\":\"candidate\",\"ok\":true,\"synthetic\":true,\"base_tag\":\"f16\","
        "\"file_type\":\"%s\",\"text\":\"t.txt\",\"ctx\":128,\"chunks\":4,\"scored_tokens\":252,"
        "\"batch\":null,\"ubatch\":256,\"n_batch\":2048,\"n_ubatch\":256},"
        "\"llama\":{\"perplexity\":{\"mean_ppl_q\":34000.5,\"mean_ppl_q_stderr\":1200.25,"
        "\"kld_mean\":%.6f,\"kld_mean_stderr\":%.6f,\"same_top_p_pct\":%.3f,"
        "\"same_top_p_stderr\":0.5,\"kld_p99\":0.1,\"kld_max\":0.2}}}",
        ftype, kld, kld_err, top);
}

static void load(struct ostel_report_run *run, const char *tag, const char *json)
{
    cJSON *j = cJSON_Parse(json);
    assert_non_null(j);
    free(run->tag);
    run->tag = ostel_xstrdup(tag);
    ostel_report_quality_load(&run->quality, j);
    cJSON_Delete(j);
}

struct fixture {
    struct ostel_report_set set;
    struct ostel_report r;
};

/* Groups f16, q8 (the baseline), q4, each with its quality pass; q4 1.5× q8's speed, 100 MiB less
 * peak RSS. */
static void build(struct fixture *f)
{
    memset(f, 0, sizeof(*f));
    ostel_report_set_init(&f->set);
    load(ostel_report_set_add(&f->set), "f16", base_json);
    char *j8 = cand_json("Q8_0", 0.001, 0.0001, 97.5);
    load(ostel_report_set_add(&f->set), "q8", j8);
    free(j8);
    char *j4 = cand_json("Q4_K_M", 0.03, 0.002, 91.25);
    load(ostel_report_set_add(&f->set), "q4", j4);
    free(j4);
    f->r.set = &f->set;
    f->r.ngroups = 3;
    f->r.baseline = 1;
    f->r.groups = calloc(3, sizeof(*f->r.groups));
    const char *labels[] = {"f16", "q8", "q4"};
    const double rss[] = {1000, 600, 500}, tps[] = {10, 20, 30};
    for (size_t i = 0; i < 3; i++) {
        struct ostel_report_group *g = &f->r.groups[i];
        g->label = (char *)labels[i];
        g->quality_run = (long)i;
        g->plan_mib = NAN;
        for (size_t m = 0; m < OSTEL_REPORT_NMETRIC; m++)
            g->value[m] = NAN;
        g->value[OSTEL_REPORT_M_RSS_PEAK_MIB] = rss[i];
        g->value[OSTEL_REPORT_M_GEN_TPS] = tps[i];
        g->stat[OSTEL_REPORT_M_RSS_PEAK_MIB].n = 3;
        g->stat[OSTEL_REPORT_M_RSS_PEAK_MIB].sd = 3.0; /* ± sqrt(9/3 + 9/3) = 2.4 */
        g->cmp[OSTEL_REPORT_M_GEN_TPS].ratio = (struct ostel_stats_ratio){tps[i] / 20, NAN, NAN};
    }
    f->r.groups[2].cmp[OSTEL_REPORT_M_GEN_TPS].ratio.lo = 1.4;
    f->r.groups[2].cmp[OSTEL_REPORT_M_GEN_TPS].ratio.hi = 1.6;
}

static void unbuild(struct fixture *f)
{
    free(f->r.groups);
    ostel_report_set_free(&f->set);
}

static void test_load(void **state)
{
    (void)state;
    struct fixture f;
    build(&f);
    const struct ostel_report_quality *b = &f.set.runs[0].quality, *q = &f.set.runs[2].quality;
    assert_true(b->present && b->base && b->ok && b->synthetic);
    assert_true(b->ppl == 33197.0169);
    assert_true(isnan(b->batch));
    assert_true(b->ubatch == 256 && b->n_batch == 2048 && b->n_ubatch == 256);
    assert_false(q->base);
    assert_true(q->ppl == 34000.5 && q->kld_mean == 0.03 && q->top_p == 91.25);
    assert_string_equal(q->file_type, "Q4_K_M");
    /* no quality section: not a quality pass */
    struct ostel_report_quality none;
    cJSON *j = cJSON_Parse("{\"llama\":{}}");
    ostel_report_quality_load(&none, j);
    cJSON_Delete(j);
    assert_false(none.present);
    unbuild(&f);
}

static void test_table(void **state)
{
    (void)state;
    struct fixture f;
    build(&f);
    struct ostel_report_tables ts = {0};
    ostel_report_quality_tables(&f.r, &ts);
    assert_int_equal(ts.n, 1);
    const struct ostel_report_table *t = &ts.t[0];
    assert_int_equal(t->nrows, 3);
    assert_string_equal(t->head[10], "KLD ratio");
    /* the baseline q8 is the reference; q4 = 30× ± 30 * sqrt((0.002/0.03)^2 + (0.1)^2) */
    assert_string_equal(t->cells[0 * t->ncols + 10].text, "—");
    assert_string_equal(t->cells[1 * t->ncols + 10].text, "1 (reference)");
    char *want = ostel_xasprintf("%.2f× ± %.2f", 30.0,
                                 30.0 * sqrt(pow(0.002 / 0.03, 2) + pow(0.0001 / 0.001, 2)));
    assert_string_equal(t->cells[2 * t->ncols + 10].text, want);
    free(want);
    assert_string_equal(t->cells[2 * t->ncols + 5].text, "0.030000 ± 0.002000");
    assert_string_equal(t->cells[0 * t->ncols + 3].text, "base");
    /* the caption states every setting: -b from the log (not set), -ub as given */
    assert_non_null(strstr(t->caption, "4 chunks of 128 tokens (252 scored) of t.txt, -b 2048 "
                                       "(llama.cpp's default), -ub 256"));
    assert_non_null(strstr(t->caption, "as if independent"));
    assert_non_null(strstr(t->caption, "ostel synth"));
    ostel_report_tables_free(&ts);
    unbuild(&f);
}

static void test_md_lines(void **state)
{
    (void)state;
    struct fixture f;
    build(&f);
    struct ostel_buf out;
    ostel_buf_init(&out, 0);
    ostel_report_quality_md_lines(&f.r, &out);
    assert_string_equal(out.data,
                        "- **f16**: 0.50× the generation speed, 400 MiB more memory (± 2), the "
                        "quality base (PPL 33197.0169 ± 1187.5000)\n"
                        "- **q8**: the baseline, mean KLD 0.001000 ± 0.000100 (same top token "
                        "97.500 ± 0.500 %)\n"
                        "- **q4**: 1.50× the generation speed (95% CI 1.40–1.60×), 100 MiB less "
                        "memory (± 2), mean KLD 0.030000 ± 0.002000 (same top token 91.250 ± "
                        "0.500 %)\n"
                        "\n");
    /* a failed pass has no line */
    f.set.runs[2].quality.ok = false;
    ostel_buf_free(&out);
    ostel_buf_init(&out, 0);
    ostel_report_quality_md_lines(&f.r, &out);
    assert_null(strstr(out.data, "**q4**"));
    ostel_buf_free(&out);
    unbuild(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kld_ratio), cmocka_unit_test(test_pareto),
        cmocka_unit_test(test_load),      cmocka_unit_test(test_table),
        cmocka_unit_test(test_md_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
