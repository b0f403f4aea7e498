/*
 * gpu_finalize: gpu_metrics.csv's phases and summary.json's "gpu" object (see gpu_finalize.h).
 */
#include "run/gpu_finalize.h"

#include "run/gpu_aggregate.h"
#include "util/fileio.h"
#include "util/util.h"

#include <stdlib.h>
#include <string.h>

/* llama.cpp's "self" MiB per CUDA<k> row of its memory breakdown. */
static void self_per_device(const struct ostel_log_result *lr, struct ostel_gpu_run_facts *f)
{
    for (size_t i = 0; i < OSTEL_GPU_MAX_DEVICES; i++)
        f->llama_self_mb[i] = -1;
    if (!lr)
        return;
    for (size_t i = 0; i < lr->n_breakdown; i++) {
        const struct ostel_log_breakdown_row *r = &lr->breakdown[i];
        const char *d = r->device;
        if (strncmp(d, "CUDA", 4) != 0 || d[4] < '0' || d[4] > '9' || !r->self.valid)
            continue;
        char *end = NULL;
        long k = strtol(d + 4, &end, 10);
        if (k < 0 || k >= OSTEL_GPU_MAX_DEVICES || (*end && *end != ' '))
            continue;
        f->llama_self_mb[k] = r->self.value;
    }
}

cJSON *ostel_gpu_finalize(const char *dir, const struct ostel_phase_bounds *b,
                          const struct ostel_log_result *lr, cJSON *collection, const char *why,
                          int *write_errno)
{
    *write_errno = 0;
    if (!collection) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "backend", "none");
        cJSON_AddStringToObject(o, "why", why && *why ? why : "no GPU telemetry");
        return o;
    }
    char *path = ostel_xasprintf("%s/gpu_metrics.csv", dir);
    struct ostel_buf csv;
    ostel_buf_init(&csv, 0);
    struct ostel_gpu_table t = {0};
    char err[256] = "";
    /* rows the sampler could not write are already the run's error: the file is left as it is */
    bool ok = !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(collection, "write_failed")) &&
              ostel_file_read_all(path, (size_t)1 << 31, &csv) == 0 &&
              ostel_gpu_metrics_parse(csv.data, csv.len, &t, err, sizeof(err)) == 0;
    ostel_buf_free(&csv);
    if (!ok && err[0])
        ostel_warn("%s: %s", path, err);
    if (ok) {
        struct ostel_buf out;
        ostel_buf_init(&out, 0);
        char line[512];
        size_t n = ostel_gpu_metrics_format_header(line, sizeof(line));
        ostel_buf_append(&out, line, n);
        for (size_t i = 0; i < t.n; i++) {
            t.rows[i].phase = ostel_phases_at(b, t.rows[i].ts);
            n = ostel_gpu_metrics_format_row(&t.rows[i], line, sizeof(line));
            ostel_buf_append(&out, line, n);
        }
        *write_errno = ostel_file_write_atomic_errno(path, out.data, out.len);
        ostel_buf_free(&out);
    }
    free(path);
    struct ostel_gpu_run_facts f;
    f.prompt_tokens = f.gen_tokens = -1;
    if (lr) {
        const struct ostel_log_timings *lt = &lr->timings;
        if (lt->prompt_tokens.valid)
            f.prompt_tokens = lt->prompt_tokens.value;
        /* as summary.json's run.tokens.generated: eval runs + 1 when a prompt was evaluated */
        if (lt->gen_tokens.valid && lt->prompt_tokens.valid && lt->prompt_tokens.value > 0)
            f.gen_tokens = lt->gen_tokens.value + 1;
    }
    self_per_device(lr, &f);
    cJSON *o = ostel_gpu_aggregate_json(t.rows, t.n, collection, &f, b);
    ostel_gpu_metrics_table_free(&t);
    cJSON_Delete(collection);
    return o;
}
