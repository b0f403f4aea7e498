/*
 * fuzz_gpu_metrics: feeds arbitrary bytes to the gpu_metrics.csv reader (rundir_gpu_metrics.c) and,
 * when it accepts them, to the summary built from the rows. Neither may crash, hang or read outside
 * the buffer. The corpus (tests/fuzz/corpus/gpu_metrics/) holds real and hostile files.
 */
#include "run/gpu_aggregate.h"
#include "run/phases.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    if (size)
        memcpy(buf, data, size);
    struct ostel_gpu_table t;
    char err[128];
    if (ostel_gpu_metrics_parse(buf, size, &t, err, sizeof(err)) == 0) {
        struct ostel_gpu_run_facts f;
        f.prompt_tokens = 100;
        f.gen_tokens = 200;
        for (int i = 0; i < OSTEL_GPU_MAX_DEVICES; i++)
            f.llama_self_mb[i] = i == 0 ? 8000 : -1;
        cJSON *j = ostel_gpu_aggregate_json(t.rows, t.n, NULL, &f, NULL);
        cJSON_Delete(j);
        /* and with phase bounds around the first row, so deltas are split */
        double t0 = t.n ? t.rows[0].ts : 0;
        struct ostel_phase_bounds b = {{-1, t0, t0 + 0.05, t0 + 0.1, t0 + 1.0}, t0 + 1.5};
        j = ostel_gpu_aggregate_json(t.rows, t.n, NULL, &f, &b);
        cJSON_Delete(j);
    }
    ostel_gpu_metrics_table_free(&t);
    free(buf);
    return 0;
}
