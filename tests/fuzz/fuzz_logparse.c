/*
 * fuzz_logparse: feeds arbitrary bytes to the llama.cpp log parser, its JSON conversion and the
 * line classifier. Under OSTEL_FUZZ this is a libFuzzer target; otherwise replay_main.c replays the
 * corpus in tests/fuzz/corpus/logparse/ in every test run.
 */
#include "llama/logparse.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ostel_log_result r;
    ostel_logparse_result_init(&r);
    char err[128];
    if (ostel_logparse_parse((const char *)data, size, &r, err, sizeof(err)) == 0) {
        cJSON *j = ostel_logparse_to_json(&r);
        char *s = cJSON_PrintUnformatted(j);
        if (!s)
            abort(); /* every result must serialise */
        cJSON_free(s);
        cJSON_Delete(j);
    }
    ostel_logparse_result_free(&r);
    /* the classifier on each line */
    size_t start = 0;
    for (size_t i = 0; i <= size; i++) {
        if (i == size || data[i] == '\n') {
            (void)ostel_logparse_classify_line((const char *)data + start, i - start);
            start = i + 1;
        }
    }
    return 0;
}
