/*
 * test_memmodel: the memory model's formulas (context padding, KV cache of every cache type,
 * sliding windows, weights per device, CPU repack, compute), the reference points of the issue
 * (Llama-3.1-8B shape at 4096 on Metal and CUDA), the calibration table measured with the pinned
 * llama-completion (tests/data/fit/calibration.tsv, one row per run) and the comparison against
 * real logs (tests/data/logs/shared, the pinned build's logs in tests/data/fit, and its CUDA logs
 * from an NVIDIA H200 in tests/data/fit/cuda-h200).
 */
#include "testlib.h"

#include "llama/ggml_types.h"
#include "llama/gguf_facts.h"
#include "llama/logparse.h"
#include "llama/memmodel.h"
#include "util/fileio.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIB (1024.0 * 1024.0)

/* Reads tests/data/fit/NAME.tensors.tsv (hparams as "# key value", then one tensor a line). */
static void load_shape(const char *name, struct ostel_memmodel_shape *s)
{
    char rel[256];
    snprintf(rel, sizeof(rel), "tests/data/fit/%s.tensors.tsv", name);
    char *path = test_src_path(rel);
    char *text = test_read_file(path, NULL);
    free(path);
    memset(s, 0, sizeof(*s));
    size_t cap = 0;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char key[64], val[40];
        if (line[0] == '#') {
            assert_int_equal(sscanf(line, "# %63s %39s", key, val), 2);
            uint32_t v = (uint32_t)strtoul(val, NULL, 10);
            if (strcmp(key, "architecture") == 0)
                snprintf(s->arch, sizeof(s->arch), "%s", val);
            else if (strcmp(key, "file_type") == 0)
                s->ftype = v;
            else if (strcmp(key, "layers") == 0)
                s->n_layer = v;
            else if (strcmp(key, "embedding_length") == 0)
                s->n_embd = v;
            else if (strcmp(key, "feed_forward_length") == 0)
                s->n_ff = v;
            else if (strcmp(key, "head_count") == 0)
                s->n_head = v;
            else if (strcmp(key, "head_count_kv") == 0)
                s->n_head_kv = v;
            else if (strcmp(key, "key_length") == 0)
                s->head_dim_k = v;
            else if (strcmp(key, "value_length") == 0)
                s->head_dim_v = v;
            else if (strcmp(key, "context_length") == 0)
                s->n_ctx_train = v;
            else if (strcmp(key, "vocab_size") == 0)
                s->n_vocab = v;
            continue;
        }
        if (s->n_tensors == cap) {
            cap = cap ? cap * 2 : 64;
            s->tensors = ostel_xrealloc(s->tensors, cap * sizeof(*s->tensors));
        }
        struct ostel_memmodel_tensor *t = &s->tensors[s->n_tensors++];
        memset(t, 0, sizeof(*t));
        char type[32];
        unsigned long long ne0, ne1, ne2, bytes, off;
        unsigned nd;
        assert_int_equal(sscanf(line, "%63s %31s %u %llu %llu %llu %llu %llu", t->name, type, &nd,
                                &ne0, &ne1, &ne2, &bytes, &off),
                         8);
        int ti = ostel_ggml_type_from_name(type);
        assert_true(ti >= 0);
        t->type = (uint32_t)ti;
        t->n_dims = nd;
        t->ne[0] = ne0, t->ne[1] = ne1, t->ne[2] = ne2, t->ne[3] = 1;
        t->bytes = bytes;
        t->offset = off;
        s->total_bytes += bytes;
        if (strcmp(t->name, "output.weight") == 0)
            s->tied_output = false;
    }
    s->have_offsets = true;
    bool out = false;
    for (size_t i = 0; i < s->n_tensors; i++)
        out |= strcmp(s->tensors[i].name, "output.weight") == 0;
    s->tied_output = !out;
    free(text);
    assert_true(s->n_layer > 0 && s->n_tensors > 0);
}

static void assert_near(double got, double want, double pct, const char *what)
{
    double e = want != 0 ? fabs(got - want) / want * 100.0 : fabs(got);
    if (e > pct && fabs(got - want) > 0.01) { /* values logged with 2 decimals */
        fprintf(stderr, "%s: got %.2f, want %.2f (error %.2f%% > %.2f%%)\n", what, got, want, e,
                pct);
        fail();
    }
}

static struct ostel_memmodel_result predict(const struct ostel_memmodel_shape *s,
                                            const struct ostel_memmodel_params *p)
{
    struct ostel_memmodel_result r;
    char err[256] = "";
    int rc = ostel_memmodel_predict(s, p, &r, err, sizeof(err));
    if (rc != 0)
        fprintf(stderr, "predict: %s\n", err);
    assert_int_equal(rc, 0);
    return r;
}

static void test_kv_and_padding(void **state)
{
    (void)state;
    struct ostel_memmodel_shape s;
    load_shape("tiny-llama-f16", &s);
    struct ostel_memmodel_params p = ostel_memmodel_default_params();
    p.n_ctx = 1024;
    struct ostel_memmodel_result r = predict(&s, &p);
    /* 2 layers * 2 kv heads * 64 * 1024 cells * 2 (K, V) * 2 bytes */
    assert_int_equal(r.kv_bytes, 1048576);
    assert_int_equal(r.kv_k_bytes, 524288);
    p.n_ctx = 1000; /* padded to 256 */
    r = predict(&s, &p);
    assert_int_equal(r.n_ctx, 1024);
    p.n_ctx = 4096;
    p.n_seq = 3; /* n_ctx_seq = pad(1365) = 1536 -> n_ctx 4608 */
    r = predict(&s, &p);
    assert_int_equal(r.n_ctx_seq, 1536);
    assert_int_equal(r.n_ctx, 4608);
    assert_int_equal(r.kv_cells, 4608);
    assert_int_equal(r.output_bytes, 32000ull * 4 * 3);
    /* block-quantized caches: q8_0 = 34 bytes per 32, q4_0 = 18 per 32 */
    p = ostel_memmodel_default_params();
    p.n_ctx = 8192;
    p.type_k = p.type_v = OSTEL_GGML_TYPE_Q8_0;
    r = predict(&s, &p);
    assert_int_equal(r.kv_bytes, 2ull * 2 * 128 * 8192 * 34 / 32); /* 4.25 MiB, as measured */
    p.type_k = p.type_v = (uint32_t)ostel_ggml_type_from_name("q4_0");
    r = predict(&s, &p);
    assert_int_equal(r.kv_bytes, 2ull * 2 * 128 * 8192 * 18 / 32); /* 2.25 MiB */
    /* a quantized V cache needs flash attention */
    p.flash_attn = 0;
    char err[128];
    assert_int_equal(ostel_memmodel_predict(&s, &p, &r, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "flash attention"));
    ostel_memmodel_shape_free(&s);
}

static void test_sliding_window(void **state)
{
    (void)state;
    struct ostel_memmodel_shape s;
    memset(&s, 0, sizeof(s));
    snprintf(s.arch, sizeof(s.arch), "gemma3");
    s.n_layer = 12, s.n_embd = 1024, s.n_ff = 4096, s.n_head = 8, s.n_head_kv = 4;
    s.head_dim_k = s.head_dim_v = 128, s.n_vocab = 1000, s.n_ctx_train = 32768;
    s.n_swa = 1024, s.swa_pattern = 6; /* layers 5 and 11 full, 10 windowed */
    struct ostel_memmodel_params p = ostel_memmodel_default_params();
    p.n_ctx = 8192;
    struct ostel_memmodel_result r = predict(&s, &p);
    assert_int_equal(r.kv_cells, 8192);
    assert_int_equal(r.kv_cells_swa, 1536); /* pad256(min(8192, 1024 + 512)) */
    uint64_t per_cell = 4 * 128 * 2 * 2;
    assert_int_equal(r.kv_bytes, per_cell * (2 * 8192 + 10 * 1536));
    assert_true(r.kv_exact);
    /* a context below the window: every layer holds the whole context */
    p.n_ctx = 1024;
    r = predict(&s, &p);
    assert_int_equal(r.kv_bytes, per_cell * 12 * 1024);
}

/* Reference points of the issue: Llama-3.1-8B shape, context 4096, f16 cache. */
static void test_reference_8b(void **state)
{
    (void)state;
    struct ostel_memmodel_shape s;
    load_shape("llama-3.1-8b-Q8_0", &s);
    struct ostel_memmodel_params p = ostel_memmodel_default_params();
    p.n_ctx = 4096;
    /* H100, -ngl 99, pinned build: CUDA0 model 7605, host 532, context 512, compute 258/20 */
    p.backend = OSTEL_MEMMODEL_BACKEND_CUDA;
    p.ngl = 99;
    struct ostel_memmodel_result r = predict(&s, &p);
    assert_near(r.dev[OSTEL_MEMMODEL_DEV_GPU].model_bytes / MIB, 7605, 1, "cuda model q8_0");
    assert_near(r.dev[OSTEL_MEMMODEL_DEV_HOST].model_bytes / MIB, 532, 1, "host model q8_0");
    assert_near(r.kv_bytes / MIB, 512, 0.01, "kv");
    assert_near(r.dev[OSTEL_MEMMODEL_DEV_GPU].compute_bytes / MIB, 258, 15, "cuda compute");
    /* flash attention auto = on for CUDA: 2 x 8 MiB embeddings + 4 MiB f16 mask + 14 KiB */
    assert_near(r.dev[OSTEL_MEMMODEL_DEV_HOST].compute_bytes / MIB, 20, 0.1, "host compute");
    assert_int_equal(r.layers_gpu, 32);
    assert_true(r.output_on_gpu);
    /* Apple Silicon (Metal): model 8137 (the mapped span holds the whole file: rope_freqs comes
     * first), context 512, compute 258, host 548 */
    p.backend = OSTEL_MEMMODEL_BACKEND_METAL;
    p.ngl = -1;
    r = predict(&s, &p);
    assert_near(r.dev[OSTEL_MEMMODEL_DEV_GPU].model_bytes / MIB, 8137, 1, "metal model q8_0");
    assert_near(r.dev[OSTEL_MEMMODEL_DEV_GPU].kv_bytes / MIB, 512, 0.01, "metal kv");
    assert_near(r.dev[OSTEL_MEMMODEL_DEV_GPU].compute_bytes / MIB, 258, 15, "metal compute");
    assert_near(r.dev[OSTEL_MEMMODEL_DEV_HOST].total_bytes / MIB, 548, 1, "metal host q8_0");
    /* the unified memory holds the file once */
    assert_near(r.model_bytes / MIB, 8137, 1, "metal union");
    /* partial offload: -ngl 16 = the output layer and the last 15 repeating layers */
    p.backend = OSTEL_MEMMODEL_BACKEND_CUDA;
    p.ngl = 16;
    r = predict(&s, &p);
    assert_int_equal(r.layers_gpu, 15);
    assert_true(r.output_on_gpu);
    assert_near(r.dev[OSTEL_MEMMODEL_DEV_GPU].kv_bytes / MIB, 240, 0.01, "kv of 15 layers");
    /* output 532 + 15/32 of the repeating layers */
    assert_near(r.dev[OSTEL_MEMMODEL_DEV_GPU].model_bytes / MIB, 532.3 + (7605.0 - 532.3) * 15 / 32,
                1, "15 layers + output");
    p.ngl = 0;
    r = predict(&s, &p);
    assert_int_equal(r.layers_gpu, 0);
    assert_false(r.output_on_gpu);
    assert_int_equal(r.dev[OSTEL_MEMMODEL_DEV_GPU].model_bytes, 0);
    ostel_memmodel_shape_free(&s);
}

static void test_reference_8b_q4km(void **state)
{
    (void)state;
    char *path = test_src_path("tests/data/fit/llama-3.1-8b-Q4_K_M.tensors.tsv");
    bool have = ostel_is_file(path);
    free(path);
    if (!have)
        skip();
    struct ostel_memmodel_shape s;
    load_shape("llama-3.1-8b-Q4_K_M", &s);
    struct ostel_memmodel_params p = ostel_memmodel_default_params();
    p.n_ctx = 4096;
    p.backend = OSTEL_MEMMODEL_BACKEND_CUDA;
    struct ostel_memmodel_result r = predict(&s, &p);
    assert_near(r.dev[OSTEL_MEMMODEL_DEV_GPU].model_bytes / MIB, 4403, 1, "cuda model q4_k_m");
    assert_near(r.dev[OSTEL_MEMMODEL_DEV_HOST].model_bytes / MIB, 281, 1, "host model q4_k_m");
    p.backend = OSTEL_MEMMODEL_BACKEND_METAL;
    r = predict(&s, &p);
    assert_near(r.dev[OSTEL_MEMMODEL_DEV_GPU].model_bytes / MIB, 4685, 1, "metal model q4_k_m");
    assert_near(r.dev[OSTEL_MEMMODEL_DEV_HOST].total_bytes / MIB, 297, 1, "metal host q4_k_m");
    /* x86 CPU with AVX2: Q4_K weights repacked on top of the mapped file (3204 MiB) */
    p.backend = OSTEL_MEMMODEL_BACKEND_CPU;
    p.cpu_features = OSTEL_MEMMODEL_CPU_AVX2;
    r = predict(&s, &p);
    assert_near(r.repack_bytes / MIB, 3204, 1, "cpu repack");
    /* without AVX2 nothing is repacked */
    p.cpu_features = 0;
    r = predict(&s, &p);
    assert_int_equal(r.repack_bytes, 0);
    ostel_memmodel_shape_free(&s);
}

/* Every run of tests/data/fit/calibration.tsv (the pinned llama-completion on this project's
 * synthesized presets, CPU with AVX2 and AVX-512): weights, KV and compute within the bars. */
static void test_calibration(void **state)
{
    (void)state;
    char *path = test_src_path("tests/data/fit/calibration.tsv");
    char *text = test_read_file(path, NULL);
    free(path);
    char *save = NULL;
    int rows = 0;
    double worst_compute = 0;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '#')
            continue;
        char model[64], ctk[16], ctv[16], fa[8], f[5][32];
        unsigned ctx;
        /* empty repack column: two tabs */
        char *cols[10] = {0};
        int n = 0;
        for (char *c = line; n < 10; n++) {
            cols[n] = c;
            char *tab = strchr(c, '\t');
            if (!tab) {
                n++;
                break;
            }
            *tab = '\0';
            c = tab + 1;
        }
        assert_int_equal(n, 10);
        snprintf(model, sizeof(model), "%s", cols[0]);
        ctx = (unsigned)strtoul(cols[1], NULL, 10);
        snprintf(ctk, sizeof(ctk), "%s", cols[2]);
        snprintf(ctv, sizeof(ctv), "%s", cols[3]);
        snprintf(fa, sizeof(fa), "%s", cols[4]);
        for (int i = 0; i < 5; i++)
            snprintf(f[i], sizeof(f[i]), "%s", cols[5 + i]);
        struct ostel_memmodel_shape s;
        load_shape(model, &s);
        struct ostel_memmodel_params p = ostel_memmodel_default_params();
        p.n_ctx = ctx;
        p.type_k = (uint32_t)ostel_memmodel_cache_type(ctk);
        p.type_v = (uint32_t)ostel_memmodel_cache_type(ctv);
        p.flash_attn = strcmp(fa, "on") == 0;
        p.cpu_features = OSTEL_MEMMODEL_CPU_AVX2 | OSTEL_MEMMODEL_CPU_AVX512;
        struct ostel_memmodel_result r = predict(&s, &p);
        double mapped = atof(f[0]), repack = f[1][0] ? atof(f[1]) : 0, kv = atof(f[2]);
        double compute = atof(f[3]), output = atof(f[4]);
        char what[160];
        snprintf(what, sizeof(what), "%s ctx %u %s/%s fa %s: mapped", model, ctx, ctk, ctv, fa);
        assert_near(r.dev[0].model_bytes / MIB, mapped, 1, what);
        assert_true(fabs(r.repack_bytes / MIB - repack) <= 0.01 * repack + 0.01);
        snprintf(what, sizeof(what), "%s ctx %u %s/%s fa %s: kv", model, ctx, ctk, ctv, fa);
        assert_near(r.kv_bytes / MIB, kv, 1, what);
        snprintf(what, sizeof(what), "%s ctx %u %s/%s fa %s: compute", model, ctx, ctk, ctv, fa);
        assert_near(r.compute_bytes / MIB, compute, 15, what);
        double ec = fabs(r.compute_bytes / MIB - compute) / compute * 100;
        if (ec > worst_compute)
            worst_compute = ec;
        assert_true(fabs(r.output_bytes / MIB - output) < 0.01);
        ostel_memmodel_shape_free(&s);
        rows++;
    }
    free(text);
    assert_true(rows >= 50);
    /* the calibration is much tighter than the bar; keep it so */
    assert_true(worst_compute < 6.0);
}

static cJSON *compare_log(const char *path, const char *model_path)
{
    size_t len = 0;
    char *text = test_read_file(path, &len);
    struct ostel_log_result lr;
    ostel_logparse_result_init(&lr);
    char err[256];
    assert_int_equal(ostel_logparse_parse(text, len, &lr, err, sizeof(err)), 0);
    struct ostel_gguf_run_facts facts;
    memset(&facts, 0, sizeof(facts));
    if (model_path)
        assert_int_equal(ostel_gguf_run_facts_read(&facts, model_path, err, sizeof(err)), 0);
    cJSON *o = ostel_memmodel_compare_json(facts.has_shape ? &facts.shape : NULL, NULL, &lr, err,
                                           sizeof(err));
    ostel_gguf_run_facts_free(&facts);
    ostel_logparse_result_free(&lr);
    free(text);
    return o;
}

static double field(const cJSON *o, const char *kind, const char *key)
{
    const cJSON *k = cJSON_GetObjectItem(o, kind);
    const cJSON *v = k ? cJSON_GetObjectItem(k, key) : NULL;
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

/* Logs from other people's machines (Metal, CUDA, SYCL, CPU; 2024-2025 builds): prediction from
 * the log's model header alone, against its buffer lines. */
static void test_shared_logs(void **state)
{
    (void)state;
    char *dir = test_shared_logs_dir();
    static const struct {
        const char *file;
        double model, context, compute;
    } cases[] = {
        {"02-metal-m2max-llamaindex-load.log", 3626.29, 896, 995.01},
        {"04-metal-m4-gollek-mtl0.log", 552.22, 6, 304.76},
        {"06-cuda-orin-llama-server-blog.log", 456.11, 448, 434.93},
        {"07-cuda-gtx1080-ollama-journal.log", 4685.30, 1024, 584.01},
        {"11-sycl-a770-xaigpuarc-comma-decimals.log", 14526.27, 224, 319.01},
        {"12-cpu-ollama-docker-blog.log", 8566.04, 1536, 696.01},
    };
    for (size_t i = 0; i < OSTEL_ARRAY_LEN(cases); i++) {
        char path[1024];
        snprintf(path, sizeof(path), "%s/%s", dir, cases[i].file);
        cJSON *o = compare_log(path, NULL);
        assert_non_null(o);
        assert_near(field(o, "model", "measured_mib"), cases[i].model, 0.01, cases[i].file);
        assert_near(field(o, "context", "measured_mib"), cases[i].context, 0.01, cases[i].file);
        assert_near(field(o, "compute", "measured_mib"), cases[i].compute, 0.01, cases[i].file);
        assert_true(fabs(field(o, "model", "error_pct")) <= 1.0);
        assert_true(fabs(field(o, "context", "error_pct")) <= 1.0);
        assert_true(fabs(field(o, "compute", "error_pct")) <= 15.0);
        assert_true(cJSON_IsTrue(cJSON_GetObjectItem(o, "within_bars")));
        assert_string_equal(cJSON_GetObjectItem(o, "source")->valuestring, "log");
        cJSON_Delete(o);
    }
    /* a log with a perf block but no buffers: nothing to compare */
    char path[1024];
    snprintf(path, sizeof(path), "%s/03-metal-llamacpp-python-perf-inf.log", dir);
    assert_null(compare_log(path, NULL));
    free(dir);
}

/* Logs of the pinned build kept in tests/data/fit, predicted from their header alone. */
static void test_pinned_logs(void **state)
{
    (void)state;
    static const char *const logs[] = {
        "tiny-llama-f16-c1024-q8_0-q8_0-faon",      "tiny-llama-Q4_K_M-c4096-f16-f16-faoff",
        "llama-3.2-1b-Q4_K_M-c8192-q8_0-f16-faoff", "llama-3.2-1b-Q8_0-c16384-f16-f16-faoff",
        "qwen2.5-0.5b-Q8_0-c32768-f16-f16-faoff",   "llama-3.1-8b-Q4_K_M-c4096-f16-f16-faon",
    };
    for (size_t i = 0; i < OSTEL_ARRAY_LEN(logs); i++) {
        char rel[256];
        snprintf(rel, sizeof(rel), "tests/data/fit/%s.log", logs[i]);
        char *path = test_src_path(rel);
        cJSON *o = compare_log(path, NULL);
        free(path);
        assert_non_null(o);
        if (!cJSON_IsTrue(cJSON_GetObjectItem(o, "within_bars"))) {
            char *s = cJSON_Print(o);
            fprintf(stderr, "%s: %s\n", logs[i], s);
            free(s);
            fail();
        }
        cJSON_Delete(o);
    }
}

/* One log of the pinned build on an NVIDIA H200 (tests/data/fit/cuda-h200) with its buffers. */
struct cuda_case {
    const char *file;
    int ngl;
    unsigned ctx;
    const char *cache; /* K and V cache type */
    int fa;
    double host_compute, gpu_compute, host_model, gpu_model, kv;
};

static const struct cuda_case cuda_cases[] = {
    {"cuda-ngl99-c512", 99, 512, "f16", -1, 1.51, 63.00, 4.39, 7.09, 0.50},
    {"cuda-ngl99-c4096", 99, 4096, "f16", -1, 5.01, 63.00, 4.39, 7.09, 4.00},
    {"cuda-ngl99-c8192", 99, 8192, "f16", -1, 9.01, 63.00, 4.39, 7.09, 8.00},
    {"cuda-ngl99-c4096-fa0", 99, 4096, "f16", 0, 9.51, 63.00, 4.39, 7.09, 4.00},
    {"cuda-ngl99-c4096-q8kv", 99, 4096, "q8_0", 1, 5.04, 63.00, 4.39, 7.09, 2.13},
    {"cuda-ngl1-c2048", 1, 2048, "f16", -1, 3.01, 64.04, 5.07, 6.41, 2.00},
    {"cuda-ngl0-c1024", 0, 1024, "f16", -1, 2.01, 70.05, 11.48, 0.00, 1.00},
};

/* The H200 logs against the log-only comparison (what the runner does without the GGUF): every
 * buffer within the bars, the host's compute buffer per device too. */
static void test_cuda_h200_logs(void **state)
{
    (void)state;
    for (size_t i = 0; i < OSTEL_ARRAY_LEN(cuda_cases); i++) {
        const struct cuda_case *c = &cuda_cases[i];
        char rel[256];
        snprintf(rel, sizeof(rel), "tests/data/fit/cuda-h200/%s.log", c->file);
        char *path = test_src_path(rel);
        cJSON *o = compare_log(path, NULL);
        free(path);
        assert_non_null(o);
        if (!cJSON_IsTrue(cJSON_GetObjectItem(o, "within_bars"))) {
            char *js = cJSON_Print(o);
            fprintf(stderr, "%s: %s\n", c->file, js);
            free(js);
            fail();
        }
        assert_string_equal(cJSON_GetObjectItem(o, "backend")->valuestring, "gpu");
        const cJSON *devs = cJSON_GetObjectItem(o, "devices");
        assert_int_equal(cJSON_GetArraySize(devs), 2);
        const cJSON *host = cJSON_GetArrayItem(devs, 0), *gpu = cJSON_GetArrayItem(devs, 1);
        /* the fixture is read as intended */
        assert_near(field(host, "compute", "measured_mib"), c->host_compute, 0.01, c->file);
        assert_near(field(gpu, "compute", "measured_mib"), c->gpu_compute, 0.01, c->file);
        /* per device: the host's compute exact to the log's rounding, the GPU's within the bar */
        char what[128];
        snprintf(what, sizeof(what), "%s: host compute", c->file);
        assert_near(field(host, "compute", "predicted_mib"), c->host_compute, 0.01, what);
        snprintf(what, sizeof(what), "%s: gpu compute", c->file);
        assert_near(field(gpu, "compute", "predicted_mib"), c->gpu_compute, 2.0, what);
        snprintf(what, sizeof(what), "%s: host model", c->file);
        assert_near(field(host, "model", "predicted_mib"), c->host_model, 1.0, what);
        snprintf(what, sizeof(what), "%s: gpu model", c->file);
        assert_near(field(gpu, "model", "predicted_mib"), c->gpu_model, 1.0, what);
        snprintf(what, sizeof(what), "%s: kv", c->file);
        assert_near(field(o, "context", "predicted_mib"), c->kv, 0.01, what);
        cJSON_Delete(o);
    }
}

/* The same runs predicted from the GGUF's tensor table (tests/data/fit/tiny-llama-Q4_K_M): the
 * host compute buffer to the byte, as the sum of the graph inputs. */
static void test_cuda_h200_predict(void **state)
{
    (void)state;
    struct ostel_memmodel_shape s;
    load_shape("tiny-llama-Q4_K_M", &s);
    for (size_t i = 0; i < OSTEL_ARRAY_LEN(cuda_cases); i++) {
        const struct cuda_case *c = &cuda_cases[i];
        struct ostel_memmodel_params p = ostel_memmodel_default_params();
        p.backend = OSTEL_MEMMODEL_BACKEND_CUDA;
        p.n_ctx = c->ctx;
        p.ngl = c->ngl;
        p.flash_attn = c->fa;
        p.type_k = p.type_v = (uint32_t)ostel_memmodel_cache_type(c->cache);
        struct ostel_memmodel_result r = predict(&s, &p);
        const struct ostel_memmodel_device *h = &r.dev[OSTEL_MEMMODEL_DEV_HOST];
        const struct ostel_memmodel_device *g = &r.dev[OSTEL_MEMMODEL_DEV_GPU];
        char what[128];
        snprintf(what, sizeof(what), "%s: host compute", c->file);
        assert_near(h->compute_bytes / MIB, c->host_compute, 0.01, what);
        snprintf(what, sizeof(what), "%s: gpu compute", c->file);
        assert_near(g->compute_bytes / MIB, c->gpu_compute, 2.0, what);
        snprintf(what, sizeof(what), "%s: host model", c->file);
        assert_near(h->model_bytes / MIB, c->host_model, 0.2, what);
        snprintf(what, sizeof(what), "%s: gpu model", c->file);
        assert_near(g->model_bytes / MIB, c->gpu_model, 0.2, what);
        snprintf(what, sizeof(what), "%s: kv", c->file);
        assert_near(r.kv_bytes / MIB, c->kv, 0.2, what);
    }
    /* to the byte: 2 x n_embd x 512 x 4 (inp_embd, GET_ROWS), 3 x 512 x 4 (tokens, positions,
     * output ids), 2 x 512 x 8 (K and V row indices), 4096 x 512 x 2 (f16 mask) */
    struct ostel_memmodel_params p = ostel_memmodel_default_params();
    p.backend = OSTEL_MEMMODEL_BACKEND_CUDA;
    struct ostel_memmodel_result r = predict(&s, &p);
    assert_int_equal(r.dev[OSTEL_MEMMODEL_DEV_HOST].compute_bytes,
                     2ull * 256 * 512 * 4 + 3 * 512 * 4 + 2 * 512 * 8 + 4096ull * 512 * 2);
    /* without flash attention: an f32 mask and V stored transposed, so one row index per V
     * element (512 x n_embd_v_gqa 128 x 8) */
    p.flash_attn = 0;
    r = predict(&s, &p);
    assert_int_equal(r.dev[OSTEL_MEMMODEL_DEV_HOST].compute_bytes,
                     2ull * 256 * 512 * 4 + 3 * 512 * 4 + 512 * 8 + 512ull * 128 * 8 +
                         4096ull * 512 * 4);
    /* a quantized cache adds the Hadamard rotations (64 x 64 f32 for K and for V) */
    p.flash_attn = 1;
    p.type_k = p.type_v = OSTEL_GGML_TYPE_Q8_0;
    r = predict(&s, &p);
    assert_int_equal(r.dev[OSTEL_MEMMODEL_DEV_HOST].compute_bytes,
                     2ull * 256 * 512 * 4 + 3 * 512 * 4 + 2 * 512 * 8 + 4096ull * 512 * 2 +
                         2 * 64 * 64 * 4);
    /* a small ubatch is not offloaded: -ngl 0 then computes on the CPU, the GPU holds nothing */
    p = ostel_memmodel_default_params();
    p.backend = OSTEL_MEMMODEL_BACKEND_CUDA;
    p.ngl = 0;
    p.n_ubatch = 16;
    r = predict(&s, &p);
    assert_int_equal(r.dev[OSTEL_MEMMODEL_DEV_GPU].compute_bytes, 0);
    assert_true(r.dev[OSTEL_MEMMODEL_DEV_HOST].compute_bytes > 32000ull * 16 * 4);
    ostel_memmodel_shape_free(&s);
}

static void test_scan_log(void **state)
{
    (void)state;
    const char *log = "x\nprint_info: n_embd_head_k    = 128\n"
                      "llm_load_print_meta: n_ff             = 18944\n"
                      "print_info: n_ff = [1, 2, 3]\nprint_info: n_swa = 4096\n"
                      "print_info: n_embd_head_v = 256";
    struct ostel_log_result lr;
    ostel_logparse_result_init(&lr);
    char err[128];
    assert_int_equal(ostel_logparse_parse(log, strlen(log), &lr, err, sizeof(err)), 0);
    const struct ostel_log_header_extra *e = &lr.header_extra;
    assert_int_equal(e->head_dim_k, 128);
    assert_int_equal(e->head_dim_v, 256);
    assert_int_equal(e->n_ff, 18944);
    assert_int_equal(e->n_swa, 4096);
    assert_int_equal(ostel_logparse_parse(NULL, 0, &lr, err, sizeof(err)), 0);
    assert_int_equal(e->n_ff, 0);
    ostel_logparse_result_free(&lr);
}

/* The one place a log's settings become the model's parameters (the runner's prediction and the
 * report's context sweep both go through it). */
static void test_params_from_log(void **state)
{
    (void)state;
    struct ostel_memmodel_log_settings ls = {
        .n_ctx = 8192,
        .n_seq_max = 4,
        .n_batch = 1024,
        .n_ubatch = 256.9,
        .offloaded_layers = 20,
        .kv_type_k = "q8_0",
        .kv_type_v = "q4_0",
        .flash_attn = "disabled",
        .platform = "cuda",
        .system_info = "CPU : SSE3 = 1 | AVX2 = 1 | AVX512 = 0 | REPACK = 1 |",
    };
    struct ostel_memmodel_params p = ostel_memmodel_default_params();
    ostel_memmodel_params_from_log(&p, &ls);
    assert_int_equal(p.n_ctx, 8192);
    assert_int_equal(p.n_seq, 4);
    assert_true(p.kv_unified);
    assert_int_equal(p.n_batch, 1024);
    assert_int_equal(p.n_ubatch, 256);
    assert_int_equal(p.ngl, 20);
    assert_int_equal(p.type_k, OSTEL_GGML_TYPE_Q8_0);
    assert_int_equal(p.type_v, ostel_memmodel_cache_type("q4_0"));
    assert_int_equal(p.flash_attn, 0);
    assert_int_equal(p.backend, OSTEL_MEMMODEL_BACKEND_CUDA);
    assert_int_equal(p.cpu_features, OSTEL_MEMMODEL_CPU_AVX2);

    /* nothing said, or said absurdly: the caller's values stay, but the backend (no platform is
     * the CPU) */
    struct ostel_memmodel_log_settings none = {
        .n_ctx = NAN,
        .n_seq_max = 1e5,
        .n_batch = 0,
        .n_ubatch = INFINITY,
        .offloaded_layers = -1,
        .kv_type_k = "q4_K", /* no cache type */
        .kv_type_v = NULL,
        .flash_attn = "",
        .platform = NULL,
        .system_info = "",
    };
    struct ostel_memmodel_params q = p;
    ostel_memmodel_params_from_log(&q, &none);
    assert_int_equal(q.n_ctx, 8192);
    assert_int_equal(q.n_seq, 4);
    assert_int_equal(q.n_batch, 1024);
    assert_int_equal(q.n_ubatch, 256);
    assert_int_equal(q.ngl, 20);
    assert_int_equal(q.type_k, OSTEL_GGML_TYPE_Q8_0);
    assert_int_equal(q.type_v, ostel_memmodel_cache_type("q4_0"));
    assert_int_equal(q.flash_attn, 0);
    assert_int_equal(q.cpu_features, OSTEL_MEMMODEL_CPU_AVX2);
    assert_int_equal(q.backend, OSTEL_MEMMODEL_BACKEND_CPU);
    none.platform = "metal";
    none.flash_attn = "auto";
    none.system_info = "CPU : NEON = 1 | DOTPROD = 1 |"; /* no REPACK: nothing repacked */
    ostel_memmodel_params_from_log(&q, &none);
    assert_int_equal(q.backend, OSTEL_MEMMODEL_BACKEND_METAL);
    assert_int_equal(q.flash_attn, -1);
    assert_int_equal(q.cpu_features, 0);

    /* from the parser's result: what it did not see is NAN or empty */
    struct ostel_log_result lr;
    ostel_logparse_result_init(&lr);
    lr.n_ctx = (struct ostel_logval){2048, true};
    snprintf(lr.kv_type_k, sizeof(lr.kv_type_k), "f16");
    struct ostel_memmodel_log_settings of = ostel_memmodel_log_settings_of(&lr);
    assert_true(of.n_ctx == 2048);
    assert_true(isnan(of.n_seq_max) && isnan(of.n_batch) && isnan(of.offloaded_layers));
    assert_string_equal(of.kv_type_k, "f16");
    assert_string_equal(of.flash_attn, "");
    assert_null(of.platform);
    ostel_logparse_result_free(&lr);
}

static void test_bad_input(void **state)
{
    (void)state;
    struct ostel_memmodel_shape s;
    memset(&s, 0, sizeof(s));
    struct ostel_memmodel_params p = ostel_memmodel_default_params();
    struct ostel_memmodel_result r;
    char err[128];
    assert_int_equal(ostel_memmodel_predict(&s, &p, &r, err, sizeof(err)), -1);
    struct ostel_log_result lr;
    ostel_logparse_result_init(&lr);
    assert_int_equal(ostel_memmodel_shape_from_log(&s, &lr, err, sizeof(err)), -1);
    assert_null(ostel_memmodel_compare_json(NULL, NULL, &lr, err, sizeof(err)));
    ostel_logparse_result_free(&lr);
    assert_int_equal(ostel_memmodel_cache_type("q8_0"), OSTEL_GGML_TYPE_Q8_0);
    assert_int_equal(ostel_memmodel_cache_type("q4_K"), -1);
    assert_int_equal(ostel_memmodel_cache_type(NULL), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kv_and_padding),    cmocka_unit_test(test_sliding_window),
        cmocka_unit_test(test_reference_8b),      cmocka_unit_test(test_reference_8b_q4km),
        cmocka_unit_test(test_calibration),       cmocka_unit_test(test_shared_logs),
        cmocka_unit_test(test_pinned_logs),       cmocka_unit_test(test_cuda_h200_logs),
        cmocka_unit_test(test_cuda_h200_predict), cmocka_unit_test(test_scan_log),
        cmocka_unit_test(test_params_from_log),   cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
