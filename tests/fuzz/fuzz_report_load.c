/*
 * fuzz_report_load: feeds arbitrary bytes to the report's pure loaders — summary.json, config.txt
 * metrics.csv and gpu_metrics.csv (ostel_report_load_summary / _config / _metrics /
 * _gpu_metrics) — then builds the analysis of
 * what they left and writes it in every format, so values no real run yields (NaN, huge, negative,
 * one sample, identical runs) reach the statistics and the writers too. The same bytes go to each
 * loader: a seed that is a real file exercises its own loader deeply and the others' refusals.
 * Under OSTEL_FUZZ this is a libFuzzer target; otherwise replay_main.c replays the corpus in
 * tests/fuzz/corpus/report_load/ in every test run.
 */
#include "report/report.h"

#include <cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    struct ostel_report_set set;
    ostel_report_set_init(&set);
    char err[256];
    /* Two runs of the same bytes: a group of two, with a spread of zero. */
    for (int i = 0; i < 2; i++) {
        struct ostel_report_run *r = ostel_report_set_add(&set);
        err[0] = '\0';
        if (ostel_report_load_summary(r, text, size, err, sizeof(err)) != 0 && !err[0])
            abort(); /* a refusal always says why */
        ostel_report_load_config(r, text, size);
        err[0] = '\0';
        if (ostel_report_load_metrics(r, text, size, err, sizeof(err)) != 0 && !err[0])
            abort();
        err[0] = '\0';
        if (ostel_report_load_gpu_metrics(r, text, size, err, sizeof(err)) != 0 && !err[0])
            abort();
    }
    struct ostel_report rep;
    struct ostel_report_options opt = {OSTEL_REPORT_BY_TAG | OSTEL_REPORT_BY_SCENARIO, NULL};
    if (ostel_report_build(&rep, &set, &opt, err, sizeof(err)) == 0) {
        static const char *const formats[] = {"md", "csv", "json", "html"};
        for (size_t f = 0; f < sizeof(formats) / sizeof(formats[0]); f++) {
            struct ostel_buf out;
            ostel_buf_init(&out, 64u << 20);
            ostel_report_find_format(formats[f])->write(&rep, &out);
            if (strcmp(formats[f], "json") == 0 && !out.overflow) {
                cJSON *back = cJSON_ParseWithLength(out.data, out.len);
                if (!back)
                    abort(); /* the JSON report must be JSON */
                cJSON_Delete(back);
            }
            ostel_buf_free(&out);
        }
    }
    ostel_report_free(&rep);
    ostel_report_set_free(&set);
    return 0;
}
