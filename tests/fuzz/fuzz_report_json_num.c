/*
 * fuzz_report_json_num: the JSON report's number formatters (report_json.c) against the cJSON path
 * they replace. Each 8 bytes of the input are a double; ostel_report_json_num_text must print what
 * cJSON prints for ostel_report_json_num of it, and ostel_report_json_double_text what it prints
 * for cJSON_CreateNumber of it, byte for byte; any difference aborts. Corpus:
 * tests/fuzz/corpus/report_json_num/ (zeros, NaN, subnormals, the layouts' borders).
 */
#include "report/report.h"

#include <cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(cJSON *item, const char *got, size_t n)
{
    char *want = cJSON_PrintUnformatted(item);
    if (!want || strlen(want) != n || strcmp(want, got) != 0)
        abort();
    cJSON_free(want);
    cJSON_Delete(item);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    for (size_t i = 0; i + sizeof(double) <= size; i += sizeof(double)) {
        double v;
        memcpy(&v, data + i, sizeof(v));
        char b[32];
        size_t n = ostel_report_json_num_text(b, v);
        check(ostel_report_json_num(v), b, n);
        n = ostel_report_json_double_text(b, v);
        check(cJSON_CreateNumber(v), b, n);
    }
    return 0;
}
