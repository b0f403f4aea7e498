/*
 * Unit tests for the GPU module: the pure helpers (energy deltas and wrap, process-tree matching,
 * gpu_metrics.csv and its summary) and the NVML backend through a test double — a real
 * libnvidia-ml.so.1 built beside the tests (tests/gpu/fake_nvml.c) and loaded through ostel's own
 * dlopen path ($OSTEL_NVML_LIB), answering H200 values: several GPUs, unsupported fields, an old
 * driver without the versioned symbols, a GPU lost mid-run, a driver call that hangs.
 */
#include "testlib.h"
#include "gpu/gpu.h"
#include "run/gpu_aggregate.h"
#include "run/gpu_sampler.h"
#include "run/phases.h"
#include "util/fileio.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char *fake_lib(const char *sub)
{
    const char *bin = getenv("OSTEL_BIN");
    assert_non_null(bin);
    const char *slash = strrchr(bin, '/');
    int n = slash ? (int)(slash - bin) : 1;
    return ostel_xasprintf("%.*s/fake_nvml/%slibnvidia-ml.so.1", n, slash ? bin : ".", sub);
}

static void reset_env(void)
{
    static const char *const vars[] = {
        "FAKE_NVML_GPUS",      "FAKE_NVML_PIDS",           "FAKE_NVML_LOSE",
        "FAKE_NVML_ENERGY0",   "FAKE_NVML_NO_INIT",        "FAKE_NVML_HANG_MS",
        "OSTEL_GPU",           "FAKE_NVML_INIT_HANG_MS",   "FAKE_NVML_FAIL",
        "FAKE_NVML_HANG_MARK", "FAKE_NVML_INIT_HANG_UNTIL"};
    for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
        unsetenv(vars[i]);
    char *lib = fake_lib("");
    setenv("OSTEL_NVML_LIB", lib, 1);
    free(lib);
}

static void nap_ms(long ms)
{
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

static void test_energy_delta(void **state)
{
    (void)state;
    double j = -1;
    assert_true(ostel_gpu_energy_delta(1000, 46000, 0.1, 1400, &j));
    assert_true(fabs(j - 45.0) < 1e-9); /* 450 W over 100 ms */
    /* a 64-bit wrap: small modular difference */
    assert_true(ostel_gpu_energy_delta(UINT64_MAX - 4, 5, 0.1, 1400, &j));
    assert_true(fabs(j - 0.010) < 1e-9);
    /* a reset (driver reload): the counter fell far, no value */
    assert_false(ostel_gpu_energy_delta(90000000, 1000, 0.1, 1400, &j));
    /* implausible jump over the window */
    assert_false(ostel_gpu_energy_delta(0, 10000000, 0.1, 1400, &j));
    assert_false(ostel_gpu_energy_delta(0, 10, 0, 1400, &j));
}

static pid_t parents(pid_t pid, void *ctx)
{
    (void)ctx;
    switch (pid) {
    case 101:
        return 100;
    case 102:
        return 101;
    case 200:
        return 1;
    case 1:
        return 0;
    default:
        return -1;
    }
}

static void test_tree_match(void **state)
{
    (void)state;
    struct ostel_gpu_proc p[] = {{102, 600ull << 20, true},
                                 {200, 300ull << 20, true},
                                 {101, 0, false},
                                 {999, 1ull << 20, true}};
    size_t m = 0;
    double mb = ostel_gpu_tree_mem_mb(p, 4, 100, parents, NULL, &m);
    assert_true(fabs(mb - 600) < 1e-9);
    assert_int_equal(m, 2); /* 102 (grandchild) and 101 (memory not available) */
    mb = ostel_gpu_tree_mem_mb(p, 4, 555, parents, NULL, &m);
    assert_true(mb == 0 && m == 0);
}

static void test_csv_roundtrip_and_summary(void **state)
{
    (void)state;
    struct ostel_gpu_row rows[6];
    memset(rows, 0, sizeof(rows));
    for (int i = 0; i < 6; i++) {
        rows[i].ts = 100.0 + 0.1 * i;
        rows[i].gpu = 0;
        rows[i].phase = i < 2 ? OSTEL_PHASE_PROMPT : OSTEL_PHASE_GENERATE;
        rows[i].valid =
            (1u << OSTEL_GPU_POWER_W) | (1u << OSTEL_GPU_ENERGY_J) | (1u << OSTEL_GPU_PROC_MEM_MB);
        rows[i].v[OSTEL_GPU_POWER_W] = 400 + i;
        rows[i].v[OSTEL_GPU_ENERGY_J] = 40;
        rows[i].v[OSTEL_GPU_PROC_MEM_MB] = 9000 + i;
    }
    struct ostel_buf b;
    ostel_buf_init(&b, 0);
    char line[512];
    ostel_buf_append(&b, line, ostel_gpu_metrics_format_header(line, sizeof(line)));
    for (int i = 0; i < 6; i++)
        ostel_buf_append(&b, line, ostel_gpu_metrics_format_row(&rows[i], line, sizeof(line)));
    struct ostel_gpu_table t;
    char err[128];
    assert_int_equal(ostel_gpu_metrics_parse(b.data, b.len, &t, err, sizeof(err)), 0);
    assert_int_equal(t.n, 6);
    assert_int_equal(t.rows[3].phase, OSTEL_PHASE_GENERATE);
    assert_false(t.rows[3].valid & (1u << OSTEL_GPU_UTIL_PCT)); /* empty stays empty */
    assert_true(fabs(t.rows[3].v[OSTEL_GPU_POWER_W] - 403) < 1e-9);
    struct ostel_gpu_run_facts f;
    f.prompt_tokens = 40;
    f.gen_tokens = 320;
    for (int i = 0; i < OSTEL_GPU_MAX_DEVICES; i++)
        f.llama_self_mb[i] = -1;
    f.llama_self_mb[0] = 8458;
    cJSON *j = ostel_gpu_aggregate_json(t.rows, t.n, NULL, &f, NULL);
    cJSON *run = cJSON_GetObjectItem(j, "run");
    assert_true(fabs(cJSON_GetObjectItem(run, "generate_energy_j")->valuedouble - 160) < 1e-9);
    assert_true(fabs(cJSON_GetObjectItem(run, "j_per_token")->valuedouble - 0.5) < 1e-9);
    assert_true(fabs(cJSON_GetObjectItem(run, "tokens_per_j")->valuedouble - 2) < 1e-9);
    assert_true(fabs(cJSON_GetObjectItem(run, "prompt_j_per_token")->valuedouble - 2) < 1e-9);
    assert_true(fabs(cJSON_GetObjectItem(run, "vram_beyond_llama_mb")->valuedouble - 547) < 1e-9);
    cJSON *d0 = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "per_device"), 0);
    cJSON *gen = cJSON_GetObjectItem(cJSON_GetObjectItem(d0, "phases"), "generate");
    assert_true(fabs(cJSON_GetObjectItem(gen, "peak_power_w")->valuedouble - 405) < 1e-9);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(gen, "mean_util_pct")));
    cJSON_Delete(j);
    ostel_gpu_metrics_table_free(&t);
    /* bad input: one clear error, no crash */
    const char *bad[] = {"",
                         "ts,phase\n1,load\n",
                         "ts,gpu\n1,99\n",
                         "ts,gpu\nx,0\n",
                         "ts,gpu\n1,0,5\n",
                         "ts,gpu\n,0\n"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(ostel_gpu_metrics_parse(bad[i], strlen(bad[i]), &t, err, sizeof(err)),
                         OSTEL_ERR);
        ostel_gpu_metrics_table_free(&t);
    }
    ostel_buf_free(&b);
}

/* Energy split by phase: a 40 ms prompt phase inside one 100 ms sample interval gets its share, not
 * the whole row's (or nothing); J/token follows; another process on the device flags it. */
static void test_energy_split(void **state)
{
    (void)state;
    struct ostel_phase_bounds b;
    b.start[OSTEL_PHASE_NONE] = -1;
    b.start[OSTEL_PHASE_LOAD] = 100.00;
    b.start[OSTEL_PHASE_PROMPT] = 100.53; /* prompt: 40 ms, inside the row at 100.6 */
    b.start[OSTEL_PHASE_GENERATE] = 100.57;
    b.start[OSTEL_PHASE_TEARDOWN] = 101.25;
    b.end = 101.4;
    double e[OSTEL_PHASE_COUNT] = {0};
    bool seen[OSTEL_PHASE_COUNT] = {false};
    /* one interval over three phases: 30 ms load, 40 ms prompt, 30 ms generate */
    ostel_gpu_aggregate_energy_split(&b, 100.50, 100.60, 10.0, e, seen);
    assert_true(fabs(e[OSTEL_PHASE_LOAD] - 3.0) < 1e-9);
    assert_true(fabs(e[OSTEL_PHASE_PROMPT] - 4.0) < 1e-9);
    assert_true(fabs(e[OSTEL_PHASE_GENERATE] - 3.0) < 1e-9);
    assert_false(seen[OSTEL_PHASE_TEARDOWN]);
    /* before the first boundary: no phase; a zero-length interval: the phase at its end */
    memset(e, 0, sizeof(e));
    ostel_gpu_aggregate_energy_split(&b, 99.95, 100.05, 2.0, e, seen);
    assert_true(fabs(e[OSTEL_PHASE_NONE] - 1.0) < 1e-9);
    assert_true(fabs(e[OSTEL_PHASE_LOAD] - 1.0) < 1e-9);
    memset(e, 0, sizeof(e));
    ostel_gpu_aggregate_energy_split(&b, 100.7, 100.7, 2.0, e, seen);
    assert_true(fabs(e[OSTEL_PHASE_GENERATE] - 2.0) < 1e-9);

    /* rows every 100 ms from 100.0 to 101.4 at 500 W: 50 J per row after the first */
    struct ostel_gpu_row rows[15];
    memset(rows, 0, sizeof(rows));
    for (int i = 0; i < 15; i++) {
        rows[i].ts = 100.0 + 0.1 * i;
        rows[i].phase = ostel_phases_at(&b, rows[i].ts);
        if (i > 0) {
            rows[i].valid = 1u << OSTEL_GPU_ENERGY_J;
            rows[i].v[OSTEL_GPU_ENERGY_J] = 50;
        }
    }
    rows[7].valid = 0; /* a failed read: the next delta covers two intervals (100 J) */
    rows[8].v[OSTEL_GPU_ENERGY_J] = 100;
    struct ostel_gpu_run_facts f;
    f.prompt_tokens = 20;
    f.gen_tokens = 100;
    for (int i = 0; i < OSTEL_GPU_MAX_DEVICES; i++)
        f.llama_self_mb[i] = -1;
    cJSON *col =
        cJSON_Parse("{\"devices\":[{\"index\":0,\"proc_reads\":3,\"other_procs_max\":0}]}");
    cJSON *j = ostel_gpu_aggregate_json(rows, 15, col, &f, &b);
    cJSON *run = cJSON_GetObjectItem(j, "run");
    /* prompt 40 ms at 500 W = 20 J (labelling by row would give it 50 J, or 0 J) */
    assert_true(fabs(cJSON_GetObjectItem(run, "prompt_energy_j")->valuedouble - 20) < 1e-6);
    assert_true(fabs(cJSON_GetObjectItem(run, "prompt_j_per_token")->valuedouble - 1) < 1e-6);
    /* generate 100.57 → 101.25: 680 ms = 340 J */
    assert_true(fabs(cJSON_GetObjectItem(run, "generate_energy_j")->valuedouble - 340) < 1e-6);
    assert_true(fabs(cJSON_GetObjectItem(run, "j_per_token")->valuedouble - 3.4) < 1e-6);
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(run, "energy_shared")));
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(run, "energy_note")));
    cJSON *d0 = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "per_device"), 0);
    cJSON *load = cJSON_GetObjectItem(cJSON_GetObjectItem(d0, "phases"), "load");
    assert_true(fabs(cJSON_GetObjectItem(load, "energy_j")->valuedouble - 265) < 1e-6);
    cJSON *all = cJSON_GetObjectItem(d0, "overall");
    assert_true(fabs(cJSON_GetObjectItem(all, "energy_j")->valuedouble - 700) < 1e-6);
    cJSON_Delete(j);
    /* another process on the device: flagged */
    cJSON_SetNumberValue(
        cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(col, "devices"), 0),
                            "other_procs_max"),
        1);
    j = ostel_gpu_aggregate_json(rows, 15, col, &f, &b);
    run = cJSON_GetObjectItem(j, "run");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(run, "energy_shared")));
    assert_non_null(strstr(cJSON_GetObjectItem(run, "energy_note")->valuestring, "whole device"));
    cJSON_Delete(j);
    cJSON_Delete(col);
}

static void test_no_driver(void **state)
{
    (void)state;
    reset_env();
    setenv("OSTEL_NVML_LIB", "/nonexistent/libnvidia-ml.so.1", 1);
    char why[256];
    struct ostel_gpu *g = ostel_gpu_open("auto", why, sizeof(why));
    assert_string_equal(ostel_gpu_backend_name(g), "none");
    assert_int_equal(ostel_gpu_count(g), 0);
    assert_non_null(strstr(why, "no NVIDIA driver"));
    ostel_gpu_close(g);
    reset_env();
    setenv("FAKE_NVML_NO_INIT", "1", 1);
    g = ostel_gpu_open("auto", why, sizeof(why));
    assert_string_equal(ostel_gpu_backend_name(g), "none");
    assert_non_null(strstr(why, "Driver Not Loaded"));
    ostel_gpu_close(g);
    reset_env();
    g = ostel_gpu_open("none", why, sizeof(why));
    assert_int_equal(ostel_gpu_count(g), 0);
    ostel_gpu_close(g);
}

static void test_two_gpus_fields(void **state)
{
    (void)state;
    reset_env();
    setenv("FAKE_NVML_GPUS", "2", 1);
    char why[256];
    struct ostel_gpu *g = ostel_gpu_open("auto", why, sizeof(why));
    assert_string_equal(ostel_gpu_backend_name(g), "nvml");
    assert_int_equal(ostel_gpu_count(g), 2);
    assert_string_equal(ostel_gpu_device_info(g, 1)->name, "NVIDIA H200");
    assert_string_equal(ostel_gpu_driver_version(g), "580.159.04");
    const struct ostel_gpu_caps *c = ostel_gpu_capabilities(g);
    assert_string_equal(c->init_fn, "nvmlInit_v2");
    assert_string_equal(c->memory_fn, "nvmlDeviceGetMemoryInfo_v2");
    assert_string_equal(c->procs_fn, "nvmlDeviceGetComputeRunningProcesses_v3");
    struct ostel_gpu_reading r;
    assert_true(ostel_gpu_read(g, 0, false, &r));
    /* v2's used (9000) — the fake refuses a version field that is not NVML_STRUCT_VERSION */
    assert_true(fabs(r.v[OSTEL_GPU_MEM_USED_MB] - 9000) < 1e-9);
    assert_true(fabs(r.v[OSTEL_GPU_MEM_TOTAL_MB] - 143771) < 1e-9);
    assert_true(fabs(r.v[OSTEL_GPU_POWER_W] - 412.345) < 1e-9);
    assert_true(fabs(r.v[OSTEL_GPU_POWER_INSTANT_W] - 456.789) < 1e-9);
    assert_true(ostel_gpu_has(&r, OSTEL_GPU_CLOCK_EVENTS) && r.v[OSTEL_GPU_CLOCK_EVENTS] == 4);
    assert_true(r.energy_valid);
    assert_false(r.procs_valid);
    assert_true(ostel_gpu_read(g, 1, false, &r));
    assert_false(ostel_gpu_has(&r, OSTEL_GPU_POWER_W));
    assert_false(ostel_gpu_has(&r, OSTEL_GPU_POWER_INSTANT_W));
    assert_false(ostel_gpu_has(&r, OSTEL_GPU_CLOCK_EVENTS));
    assert_true(ostel_gpu_has(&r, OSTEL_GPU_UTIL_PCT) && r.v[OSTEL_GPU_UTIL_PCT] == 97);
    assert_int_equal(r.n_failed, 0); /* NOT_SUPPORTED is not a failure */
    assert_false(ostel_gpu_read(g, 7, false, &r));
    ostel_gpu_close(g);
}

static void test_old_driver(void **state)
{
    (void)state;
    reset_env();
    char *lib = fake_lib("old/");
    setenv("OSTEL_NVML_LIB", lib, 1);
    free(lib);
    setenv("FAKE_NVML_PIDS", "4242:100", 1);
    char why[256];
    struct ostel_gpu *g = ostel_gpu_open("auto", why, sizeof(why));
    assert_int_equal(ostel_gpu_count(g), 1);
    const struct ostel_gpu_caps *c = ostel_gpu_capabilities(g);
    assert_string_equal(c->init_fn, "nvmlInit");
    assert_string_equal(c->memory_fn, "nvmlDeviceGetMemoryInfo");
    assert_string_equal(c->procs_fn, "nvmlDeviceGetComputeRunningProcesses");
    assert_false(c->energy);
    struct ostel_gpu_reading r;
    assert_true(ostel_gpu_read(g, 0, true, &r));
    assert_true(fabs(r.v[OSTEL_GPU_MEM_USED_MB] - 9550) < 1e-9); /* v1 counts reserved memory */
    assert_false(r.energy_valid);
    assert_false(ostel_gpu_has(&r, OSTEL_GPU_POWER_INSTANT_W));
    assert_true(ostel_gpu_has(&r, OSTEL_GPU_CLOCK_EVENTS)); /* the deprecated throttle name */
    assert_true(r.procs_valid);
    assert_int_equal(r.n_procs, 1); /* v1's 16-byte entries read right */
    assert_int_equal(r.procs[0].pid, 4242);
    assert_true(r.procs[0].used_bytes == 100ull << 20);
    ostel_gpu_close(g);
}

/* Runs the GPU sampler for the tree of a real child (which has a child of its own). */
static void test_sampler_tree_energy_loss(void **state)
{
    (void)state;
    reset_env();
    int pfd[2];
    assert_int_equal(pipe(pfd), 0);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        pid_t gc = fork();
        if (gc == 0) {
            close(pfd[0]);
            close(pfd[1]);
            pause();
            _exit(0);
        }
        (void)!write(pfd[1], &gc, sizeof(gc));
        close(pfd[1]);
        pause();
        _exit(0);
    }
    close(pfd[1]);
    pid_t gc = -1;
    assert_int_equal(read(pfd[0], &gc, sizeof(gc)), (ssize_t)sizeof(gc));
    close(pfd[0]);
    /* 20 processes (more than the first buffer holds), the grandchild's 500 MiB ours, pid 1 not */
    struct ostel_buf pids;
    ostel_buf_init(&pids, 0);
    ostel_buf_printf(&pids, "%d:500,1:300", (int)gc);
    for (int i = 0; i < 18; i++)
        ostel_buf_printf(&pids, ",%d:1", 3000000 + i);
    setenv("FAKE_NVML_PIDS", pids.data, 1);
    ostel_buf_free(&pids);
    setenv("FAKE_NVML_GPUS", "2", 1);
    setenv("FAKE_NVML_LOSE", "1:3", 1);
    setenv("FAKE_NVML_ENERGY0", "18446744073709551600", 1); /* wraps after two increments */
    char *dir = test_tmpdir();
    char *csv = ostel_xasprintf("%s/gpu_metrics.csv", dir);
    char why[256] = "";
    struct ostel_gpu_sampler *s =
        ostel_gpu_sampler_start(child, csv, 20000000ull, 1, why, sizeof(why));
    assert_non_null(s);
    /* until device 0 has ten rows (never a wall-clock bound on what is read) */
    for (;;) { /* ctest's timeout ends a hang */
        nap_ms(20);
        if (access(csv, F_OK) != 0) /* the thread has not opened NVML yet */
            continue;
        size_t len = 0;
        char *data = test_read_file(csv, &len);
        size_t rows0 = 0;
        for (char *p = data; (p = strstr(p, ",0,")) != NULL; p++)
            rows0++;
        free(data);
        if (rows0 >= 10)
            break;
    }
    int werr = -1;
    cJSON *col = ostel_gpu_sampler_stop(s, &werr, why, sizeof(why));
    assert_non_null(col);
    assert_int_equal(werr, 0);
    assert_false(cJSON_IsTrue(cJSON_GetObjectItem(col, "write_failed")));
    kill(child, SIGKILL);
    kill(gc, SIGKILL);
    waitpid(child, NULL, 0);
    assert_false(cJSON_IsTrue(cJSON_GetObjectItem(col, "stop_timed_out")));
    cJSON *d0 = cJSON_GetArrayItem(cJSON_GetObjectItem(col, "devices"), 0);
    cJSON *d1 = cJSON_GetArrayItem(cJSON_GetObjectItem(col, "devices"), 1);
    assert_true(cJSON_GetObjectItem(d0, "proc_matched_reads")->valuedouble >= 1);
    assert_true(cJSON_GetObjectItem(d0, "other_procs_max")->valuedouble >= 19);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(d0, "lost_at")));
    assert_true(cJSON_IsNumber(cJSON_GetObjectItem(d1, "lost_at")));
    assert_non_null(strstr(cJSON_GetObjectItem(d1, "first_error")->valuestring, "lost"));
    size_t len = 0;
    char *data = test_read_file(csv, &len);
    struct ostel_gpu_table t;
    char err[128];
    assert_int_equal(ostel_gpu_metrics_parse(data, len, &t, err, sizeof(err)), 0);
    size_t n0 = 0, n1 = 0, e0 = 0;
    for (size_t i = 0; i < t.n; i++) {
        const struct ostel_gpu_row *r = &t.rows[i];
        if (r->gpu == 0) {
            n0++;
            assert_true(fabs(r->v[OSTEL_GPU_PROC_MEM_MB] - 500) < 1e-9);
            if (r->valid & (1u << OSTEL_GPU_ENERGY_J)) {
                assert_true(fabs(r->v[OSTEL_GPU_ENERGY_J] - 0.010) < 1e-9); /* across the wrap */
                e0++;
            }
        } else {
            n1++;
            assert_false(r->valid & (1u << OSTEL_GPU_POWER_W)); /* not supported there */
        }
    }
    assert_true(n0 >= 10);
    assert_int_equal(e0, n0 - 1); /* every row but the first has a delta */
    /* the open reads the total once (call 1), the first read is whole (call 2), the second read's
     * memory call is the third and the device is lost from there: that row has only empty cells */
    assert_int_equal(n1, 2);
    ostel_gpu_metrics_table_free(&t);
    free(data);
    cJSON_Delete(col);
    test_rmtree(dir);
    free(csv);
    free(dir);
}

/* A tap that counts the rows the GPU thread read. */
static void count_row(void *arg, const struct ostel_gpu_row *row, double energy_total_j)
{
    (void)row;
    (void)energy_total_j;
    atomic_fetch_add((_Atomic int *)arg, 1);
}

/* gpu_metrics.csv on a full device (/dev/full: every write fails with ENOSPC): the sampler hands
 * the errno back, so that the runner fails the run with it (as for every other artifact). */
static void test_sampler_write_error(void **state)
{
    (void)state;
    reset_env();
    char why[256] = "";
    if (access("/dev/full", W_OK) != 0)
        skip(); /* the thread could not open it, and no row would ever come */
    _Atomic int rows = 0;
    struct ostel_gpu_sampler *s = ostel_gpu_sampler_start_tap(getpid(), "/dev/full", 20000000ull, 1,
                                                              why, sizeof(why), count_row, &rows);
    assert_non_null(s); /* the file is opened by the thread: starting does not fail on it */
    /* until the thread has opened the file and read a row (on a loaded machine that can take
     * longer than any fixed nap; ctest's timeout ends a hang) */
    while (atomic_load(&rows) == 0)
        nap_ms(10);
    int werr = 0;
    cJSON *col = ostel_gpu_sampler_stop(s, &werr, why, sizeof(why));
    if (!col && strstr(why, "/dev/full"))
        skip(); /* /dev/full not writable here: nothing was read */
    assert_non_null(col);
    assert_int_equal(werr, ENOSPC);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(col, "write_failed")));
    cJSON_Delete(col);
}

/* A driver call that hangs (for weeks): stopping gives up waiting (in a child: the stuck thread
 * stays behind). Stopped once the thread is inside the hung call (the double's mark file), so NVML
 * was opened whatever the machine's load; no nap decides it. */
static void test_hang_bounded_stop(void **state)
{
    (void)state;
    reset_env();
    setenv("FAKE_NVML_HANG_MS", "2000000000", 1);
    char *dir = test_tmpdir();
    char *mark = ostel_xasprintf("%s/hung", dir);
    setenv("FAKE_NVML_HANG_MARK", mark, 1);
    pid_t p = fork();
    assert_true(p >= 0);
    if (p == 0) {
        char *csv = ostel_xasprintf("%s/gpu_metrics.csv", dir);
        char why[256];
        struct ostel_gpu_sampler *s =
            ostel_gpu_sampler_start(getpid(), csv, 20000000ull, 1, why, sizeof(why));
        if (!s)
            _exit(2);
        while (access(mark, F_OK) != 0) /* ctest's timeout ends a hang */
            nap_ms(10);
        int werr;
        cJSON *col = ostel_gpu_sampler_stop(s, &werr, why, sizeof(why));
        _exit(col && cJSON_IsTrue(cJSON_GetObjectItem(col, "stop_timed_out")) &&
                      cJSON_IsFalse(cJSON_GetObjectItem(col, "open_timed_out"))
                  ? 0
                  : 3);
    }
    int st = 0;
    waitpid(p, &st, 0);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    test_rmtree(dir);
    free(mark);
    free(dir);
    unsetenv("FAKE_NVML_HANG_MS");
    unsetenv("FAKE_NVML_HANG_MARK");
}

/* Threads of this process now, or 0 where /proc cannot tell. */
static int thread_count(void)
{
    DIR *d = opendir("/proc/self/task");
    if (!d)
        return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

/* A driver stuck in nvmlInit: starting returns at once (the thread opens NVML), stopping gives up
 * waiting and says so. Once nvmlInit returns, the thread left behind creates no gpu_metrics.csv in
 * the (by then finalized) run directory and ends. In a child: the stuck thread stays behind. The
 * double's nvmlInit returns only once the test has created a file, never after a time that a
 * loaded machine could outlast. */
static void test_init_hang(void **state)
{
    (void)state;
    reset_env();
    char *dir = test_tmpdir();
    char *release = ostel_xasprintf("%s/release", dir);
    setenv("FAKE_NVML_INIT_HANG_UNTIL", release, 1);
    pid_t p = fork();
    assert_true(p >= 0);
    if (p == 0) {
        char *csv = ostel_xasprintf("%s/gpu_metrics.csv", dir);
        char why[256] = "";
        struct ostel_gpu_sampler *s =
            ostel_gpu_sampler_start(getpid(), csv, 20000000ull, 1, why, sizeof(why));
        if (!s)
            _exit(2);
        int werr = 0;
        cJSON *col = ostel_gpu_sampler_stop(s, &werr, why, sizeof(why));
        if (!col || !cJSON_IsTrue(cJSON_GetObjectItem(col, "open_timed_out")) ||
            !cJSON_IsTrue(cJSON_GetObjectItem(col, "stop_timed_out")))
            _exit(3);
        char line[256] = "";
        ostel_gpu_sampler_config_line(col, line, sizeof(line));
        if (!strstr(line, "hung while starting"))
            _exit(4);
        if (access(csv, F_OK) == 0)
            _exit(5); /* no GPU row, no file */
        /* nvmlInit returns now; until the thread left behind has ended (without /proc: a moment) */
        FILE *f = fopen(release, "w");
        if (!f)
            _exit(7);
        fclose(f);
        if (thread_count() > 0)
            while (thread_count() > 1)
                nap_ms(20);
        else
            nap_ms(1000);
        _exit(access(csv, F_OK) == 0 ? 6 : 0); /* still no file */
    }
    int st = 0;
    waitpid(p, &st, 0);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    test_rmtree(dir);
    free(release);
    free(dir);
    reset_env();
}

/* No GPU found by the thread: stop returns NULL and the one line why; no file. */
static void test_sampler_no_gpu(void **state)
{
    (void)state;
    reset_env();
    setenv("FAKE_NVML_NO_INIT", "1", 1);
    char *dir = test_tmpdir();
    char *csv = ostel_xasprintf("%s/gpu_metrics.csv", dir);
    char why[256] = "";
    struct ostel_gpu_sampler *s =
        ostel_gpu_sampler_start(getpid(), csv, 20000000ull, 1, why, sizeof(why));
    assert_non_null(s);
    nap_ms(30);
    int werr = 0;
    assert_null(ostel_gpu_sampler_stop(s, &werr, why, sizeof(why)));
    assert_non_null(strstr(why, "Driver Not Loaded"));
    assert_int_not_equal(access(csv, F_OK), 0);
    setenv("OSTEL_GPU", "none", 1);
    assert_null(ostel_gpu_sampler_start(getpid(), csv, 20000000ull, 1, why, sizeof(why)));
    assert_non_null(strstr(why, "OSTEL_GPU=none"));
    test_rmtree(dir);
    free(csv);
    free(dir);
    reset_env();
}

/* NVML failing mid-run (Unknown Error, Timeout) on chosen calls: the sampling goes on, those cells
 * are empty while the calls fail and filled again after, and the collection says what happened. */
static void test_errors_mid_run(void **state)
{
    (void)state;
    reset_env();
    /* power fails on its calls 3 to 5, utilization for ever from its 4th, energy times out on 6 */
    setenv("FAKE_NVML_FAIL", "power:3-5,util:4,energy:6-6:10", 1);
    char *dir = test_tmpdir();
    char *csv = ostel_xasprintf("%s/gpu_metrics.csv", dir);
    char why[256] = "";
    struct ostel_gpu_sampler *s =
        ostel_gpu_sampler_start(getpid(), csv, 20000000ull, 1, why, sizeof(why));
    assert_non_null(s);
    size_t rows = 0;
    while (rows < 10) { /* the rows the assertions below need; ctest's timeout ends a hang */
        nap_ms(20);
        if (access(csv, F_OK) != 0)
            continue;
        size_t len = 0;
        char *data = test_read_file(csv, &len);
        rows = 0;
        for (size_t k = 0; k < len; k++)
            rows += data[k] == '\n';
        rows = rows ? rows - 1 : 0;
        free(data);
    }
    int werr = 0;
    cJSON *col = ostel_gpu_sampler_stop(s, &werr, why, sizeof(why));
    assert_non_null(col);
    cJSON *d0 = cJSON_GetArrayItem(cJSON_GetObjectItem(col, "devices"), 0);
    assert_true(cJSON_GetObjectItem(d0, "failed_reads")->valuedouble >= 3);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(d0, "lost_at"))); /* an error is not a loss */
    assert_string_equal(cJSON_GetObjectItem(d0, "first_error")->valuestring,
                        "nvmlDeviceGetPowerUsage: Unknown Error");
    size_t len = 0;
    char *data = test_read_file(csv, &len);
    struct ostel_gpu_table t;
    char err[128];
    assert_int_equal(ostel_gpu_metrics_parse(data, len, &t, err, sizeof(err)), 0);
    assert_true(t.n >= 10);
    for (size_t i = 0; i < t.n; i++) {
        const struct ostel_gpu_row *r = &t.rows[i];
        bool power = r->valid & (1u << OSTEL_GPU_POWER_W);
        bool util = r->valid & (1u << OSTEL_GPU_UTIL_PCT);
        bool energy = r->valid & (1u << OSTEL_GPU_ENERGY_J);
        assert_true(power == (i < 2 || i > 4));
        assert_true(util == (i < 3));
        /* the first reading has no delta; the 6th call timed out; the 7th spans two intervals */
        assert_true(energy == (i != 0 && i != 5));
        if (i == 6)
            assert_true(fabs(r->v[OSTEL_GPU_ENERGY_J] - 0.010) < 1e-9);
        assert_true(r->valid & (1u << OSTEL_GPU_TEMP_C)); /* the others are read as ever */
    }
    ostel_gpu_metrics_table_free(&t);
    free(data);
    cJSON_Delete(col);
    test_rmtree(dir);
    free(csv);
    free(dir);
    reset_env();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_energy_delta),
        cmocka_unit_test(test_tree_match),
        cmocka_unit_test(test_csv_roundtrip_and_summary),
        cmocka_unit_test(test_energy_split),
        cmocka_unit_test(test_no_driver),
        cmocka_unit_test(test_two_gpus_fields),
        cmocka_unit_test(test_old_driver),
        cmocka_unit_test(test_sampler_tree_energy_loss),
        cmocka_unit_test(test_sampler_write_error),
        cmocka_unit_test(test_hang_bounded_stop),
        cmocka_unit_test(test_init_hang),
        cmocka_unit_test(test_sampler_no_gpu),
        cmocka_unit_test(test_errors_mid_run),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
