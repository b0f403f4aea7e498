/*
 * report_load: reads run directories (docs/run-directory.md) into a run set for `ostel report`.
 *
 * summary.json gives the run, the llama.cpp facts (the log parser's "llama" section, docs/parse.md)
 * and per-phase telemetry; metrics.csv the time series for charts; config.txt fills what a summary
 * lacks; llama_output.log only its tail, for failed runs. Every file is read with a size cap and
 * every value checked: a hostile or truncated run directory gives one error naming the file, never
 * a crash. summary.json's top-level fields, and the llama.cpp facts in every layout ostel has
 * written, come through rundir's reader (ostel_summary_view, ostel_summary_llama_facts).
 */
#include "report/report.h"

#include <cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gpu/gpu.h"
#include "report/report_html_scale.h"
#include "report/report_par.h"
#include "rundir/rundir_config.h"
#include "rundir/rundir_gpu_metrics.h"
#include "rundir/rundir_summary.h"
#include "rundir/rundir_metrics.h"
#include "rundir/rundir_phase_stats.h"
#include "rundir/rundir_validate.h"
#include "util/arena.h"
#include "util/fileio.h"
#include "util/fnv.h"

#define SUMMARY_MAX (16u << 20)         /* summary.json */
#define SUMMARY_ARENA_BYTES (64u << 10) /* a summary's tree (a 10 KB file's: about 30 KB) */
#define CONFIG_MAX (1u << 20)           /* config.txt */
#define METRICS_MAX (256u << 20)        /* metrics.csv: hours of 100 ms samples */
#define LOG_TAIL_BYTES 4096             /* read from the end of llama_output.log */
#define METRICS_HEAD_BYTES 4096         /* what md, csv and json read of metrics.csv first */
#define LOG_TAIL_LINES 12
#define STUDY_MAX_RUNS 100000

static const char *const phase_names[OSTEL_REPORT_NPHASES] = {"overall", "load", "prompt",
                                                              "generate", "teardown"};

const char *ostel_report_phase_name(int phase)
{
    return phase >= 0 && phase < OSTEL_REPORT_NPHASES ? phase_names[phase] : "?";
}

/* The report's per-phase values are the PHASE STATS whose report index the table gives
 * (rundir_phase_stats.h), read under the table's keys. */
_Static_assert((int)OSTEL_PHASE_STAT_NREPORT == (int)OSTEL_REPORT_NTEL,
               "every value of enum ostel_report_tel has its row in OSTEL_PHASE_STATS");

const char *ostel_report_tel_key(int tel)
{
    int s = tel < OSTEL_REPORT_NTEL ? ostel_phase_stat_of_report(tel) : -1;
    return s >= 0 ? ostel_phase_stat((enum ostel_phase_stat)s)->key : "?";
}

/* ---- the run set ---- */

void ostel_report_set_init(struct ostel_report_set *set)
{
    memset(set, 0, sizeof(*set));
}

static void series_free(struct ostel_report_series *s)
{
    free(s->t_s);
    free(s->rss_mib);
    free(s->cpu_pct);
    free(s->pageins);
    free(s->pageouts);
    free(s->pressure);
    free(s->avail_pct);
    free(s->rss_anon_mib);
    free(s->rss_file_mib);
    free(s->phase);
    ostel_report_series_packed_free(s);
    memset(s, 0, sizeof(*s));
}

static void gpu_series_free(struct ostel_report_gpu_series *s)
{
    free(s->t_s);
    free(s->mem_mib);
    free(s->proc_mib);
    free(s->power_w);
    free(s->gpu);
    free(s->phase);
    memset(s, 0, sizeof(*s));
}

static void run_free(struct ostel_report_run *r)
{
    char **strs[] = {&r->path,        &r->run_id,     &r->name,          &r->tag,    &r->model,
                     &r->scenario,    &r->status,     &r->tool,          &r->signal, &r->device,
                     &r->device_desc, &r->model_type, &r->llama_version, &r->host};
    for (size_t i = 0; i < OSTEL_ARRAY_LEN(strs); i++)
        free(*strs[i]);
    gpu_series_free(&r->gpu_series);
    free(r->log_tail);
    free(r->serve_json);
    series_free(&r->series);
}

void ostel_report_set_free(struct ostel_report_set *set)
{
    for (size_t i = 0; i < set->n; i++)
        run_free(&set->runs[i]);
    free(set->runs);
    memset(set, 0, sizeof(*set));
}

/* FNV-1a of a NUL-terminated string: the dedupe table's hash (in memory only; the study's basis).
 */
static uint64_t str_hash(const char *s)
{
    return ostel_fnv1a64(s, strlen(s), OSTEL_SPEC_HASH_BASIS_LEGACY);
}

size_t ostel_report_set_dedupe(struct ostel_report_set *set)
{
    /* An open-addressing table of the kept runs' run_ids (indices + 1; 0 = empty slot), at most
     * half full: linear in the number of runs where comparing every pair was quadratic. */
    size_t cap = 16;
    while (cap < 2 * set->n)
        cap *= 2;
    size_t *slot = ostel_xcalloc(cap, sizeof(*slot));
    size_t kept = 0;
    for (size_t i = 0; i < set->n; i++) {
        struct ostel_report_run *r = &set->runs[i];
        bool seen = false;
        if (*r->run_id) {
            size_t k = (size_t)str_hash(r->run_id) & (cap - 1);
            for (; slot[k]; k = (k + 1) & (cap - 1))
                if (strcmp(set->runs[slot[k] - 1].run_id, r->run_id) == 0) {
                    seen = true;
                    break;
                }
            if (!seen)
                slot[k] = kept + 1;
        }
        if (seen)
            run_free(r);
        else
            set->runs[kept++] = *r;
    }
    free(slot);
    size_t dropped = set->n - kept;
    set->n = kept;
    return dropped;
}

void ostel_report_set_drop_last(struct ostel_report_set *set)
{
    if (set->n)
        run_free(&set->runs[--set->n]);
}

struct ostel_report_run *ostel_report_set_add(struct ostel_report_set *set)
{
    if (set->n == set->cap) {
        set->cap = set->cap ? set->cap * 2 : 16;
        set->runs = ostel_xrealloc(set->runs, set->cap * sizeof(*set->runs));
    }
    struct ostel_report_run *r = &set->runs[set->n++];
    memset(r, 0, sizeof(*r));
    char **strs[] = {&r->path,        &r->run_id,     &r->name,          &r->tag,    &r->model,
                     &r->scenario,    &r->status,     &r->tool,          &r->signal, &r->device,
                     &r->device_desc, &r->model_type, &r->llama_version, &r->host};
    for (size_t i = 0; i < OSTEL_ARRAY_LEN(strs); i++)
        *strs[i] = ostel_xstrdup("");
    r->ctx = r->gen = r->repetition = r->exit_code = -1;
    r->start_ts = r->n_prompt = r->n_gen = r->model_size_mib = r->model_n_params = NAN;
    for (int m = 0; m < OSTEL_REPORT_NMETRIC; m++)
        r->metric[m] = NAN;
    for (int p = 0; p < OSTEL_REPORT_NPHASES; p++)
        for (int t = 0; t < OSTEL_REPORT_NTEL; t++)
            r->tel[p][t] = NAN;
    struct ostel_report_cmpval unknown = {NAN, NAN, NAN};
    for (int k = 0; k < OSTEL_REPORT_NPARTS; k++)
        r->pred.part[k] = unknown;
    r->pred.n_ctx = -1;
    r->pred.within_bars = -1;
    r->mm = ostel_memmodel_default_params();
    r->ram_mib = r->avail_start_mib = NAN;
    return r;
}

static void set_str(char **dst, const char *s, size_t n)
{
    free(*dst);
    char *v = ostel_xstrndup(s, n);
    /* Strings end up in tables: control characters (newlines, escapes) become spaces. */
    for (char *c = v; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            *c = ' ';
    *dst = v;
}

/* ---- summary.json ---- */

/* A sane MiB value from the parser (it may pass through an underflowed unsigned). */
static double mib_or_nan(double v)
{
    return !isnan(v) && v >= 0 && v < 1e9 ? v : NAN;
}

static double add_nan(double a, double b)
{
    if (isnan(b))
        return a;
    return isnan(a) ? b : a + b;
}

/* "MTL0 (Apple M4)" -> "MTL0". */
static void device_short(char **dst, const char *desc)
{
    size_t n = strcspn(desc, " (");
    set_str(dst, desc, n);
}

/* Adds a breakdown row's model, context and compute MiB to the run's metrics. */
static void add_parts(double *m, const cJSON *row)
{
    m[OSTEL_REPORT_M_MODEL_MIB] =
        add_nan(m[OSTEL_REPORT_M_MODEL_MIB], mib_or_nan(ostel_summary_jnum(row, "model")));
    m[OSTEL_REPORT_M_CONTEXT_MIB] =
        add_nan(m[OSTEL_REPORT_M_CONTEXT_MIB], mib_or_nan(ostel_summary_jnum(row, "context")));
    m[OSTEL_REPORT_M_COMPUTE_MIB] =
        add_nan(m[OSTEL_REPORT_M_COMPUTE_MIB], mib_or_nan(ostel_summary_jnum(row, "compute")));
}

/* Memory from llama.cpp's breakdown table: device rows and a "Host" row. */
static bool memory_from_breakdown(struct ostel_report_run *r, const cJSON *bd)
{
    if (!cJSON_IsArray(bd) || cJSON_GetArraySize(bd) == 0)
        return false;
    double *m = r->metric;
    struct ostel_buf names;
    ostel_buf_init(&names, 256);
    const cJSON *row;
    bool any = false;
    cJSON_ArrayForEach(row, bd)
    {
        const char *dev = ostel_summary_jstr(row, "device");
        if (!dev)
            continue;
        double self = mib_or_nan(ostel_summary_jnum(row, "self"));
        /* Device rows carry total and free; "Host" and other buffer-type rows do not. */
        if (strcmp(dev, "Host") == 0 || isnan(ostel_summary_jnum(row, "total"))) {
            m[OSTEL_REPORT_M_HOST_MIB] = add_nan(m[OSTEL_REPORT_M_HOST_MIB], self);
            any = true;
            continue;
        }
        char *shortname = NULL;
        device_short(&shortname, dev);
        if (names.len)
            ostel_buf_putc(&names, '+');
        ostel_buf_puts(&names, shortname);
        free(shortname);
        if (!*r->device_desc)
            set_str(&r->device_desc, dev, strlen(dev));
        m[OSTEL_REPORT_M_DEV_USED_MIB] = add_nan(m[OSTEL_REPORT_M_DEV_USED_MIB], self);
        add_parts(m, row);
        any = true;
    }
    if (names.len) {
        set_str(&r->device, names.data, names.len);
    } else if (any) {
        /* CPU only: llama.cpp prints the Host row and buffer-type rows (CPU_REPACK: the repacked
         * copy of the weights); everything they hold is the "device", so model, context and compute
         * are summed over all of them, and used = model + context + compute as with a GPU. */
        set_str(&r->device, "CPU", 3);
        set_str(&r->device_desc, "CPU", 3);
        m[OSTEL_REPORT_M_DEV_USED_MIB] = m[OSTEL_REPORT_M_HOST_MIB];
        m[OSTEL_REPORT_M_HOST_MIB] = NAN; /* all of it is in "used": not counted twice */
        cJSON_ArrayForEach(row, bd)
        {
            if (!ostel_summary_jstr(row, "device"))
                continue;
            add_parts(m, row);
        }
    }
    ostel_buf_free(&names);
    return any;
}

/* True for a host-side buffer type: "CPU", "CPU_Mapped", "CUDA_Host", "SYCL_Host", "CPU_REPACK". */
static bool buft_is_host(const char *buft, size_t n)
{
    return (n >= 3 && memcmp(buft, "CPU", 3) == 0) ||
           (n >= 5 && memcmp(buft + n - 5, "_Host", 5) == 0);
}

/* Adds one buffer line (backend "CUDA0", "CPU_Mapped", "MTL0_Mapped"; kind "model", "kv", ...). */
static void add_buffer(const char *backend, size_t n, const char *kind, double mib, double dev[3],
                       double host[3], char *device, size_t devsize)
{
    int slot = strcasecmp(kind, "model") == 0                                 ? 0
               : (strcasecmp(kind, "kv") == 0 || strcasecmp(kind, "rs") == 0) ? 1
               : strcasecmp(kind, "compute") == 0                             ? 2
                                                                              : -1;
    if (slot < 0)
        return; /* "output" and others are not in llama.cpp's own breakdown */
    if (n >= 7 && memcmp(backend + n - 7, "_Mapped", 7) == 0)
        n -= 7;
    if (buft_is_host(backend, n)) {
        host[slot] = add_nan(host[slot], mib);
        return;
    }
    if (!device[0] && n < devsize) {
        memcpy(device, backend, n);
        device[n] = '\0';
    }
    dev[slot] = add_nan(dev[slot], mib);
}

/* Memory from the buffer-size lines when the log has no breakdown table. */
static bool memory_from_buffers(struct ostel_report_run *r, const cJSON *buffers)
{
    double dev[3] = {NAN, NAN, NAN}, host[3] = {NAN, NAN, NAN};
    char device[64] = "";
    const cJSON *b;
    bool any = false;
    if (cJSON_IsArray(buffers)) {
        cJSON_ArrayForEach(b, buffers)
        {
            const char *backend = ostel_summary_jstr(b, "backend"),
                       *kind = ostel_summary_jstr(b, "kind");
            double mib = mib_or_nan(ostel_summary_jnum(b, "mib"));
            if (!backend || !kind || isnan(mib))
                continue;
            add_buffer(backend, strlen(backend), kind, mib, dev, host, device, sizeof(device));
            any = true;
        }
    } else if (cJSON_IsObject(buffers)) {
        cJSON_ArrayForEach(b, buffers)
        {
            const char *sp = b->string ? strrchr(b->string, ' ') : NULL;
            if (!sp || !cJSON_IsNumber(b))
                continue;
            double mib = mib_or_nan(b->valuedouble);
            if (isnan(mib))
                continue;
            add_buffer(b->string, (size_t)(sp - b->string), sp + 1, mib, dev, host, device,
                       sizeof(device));
            any = true;
        }
    }
    if (!any)
        return false;
    double *m = r->metric;
    if (device[0]) {
        set_str(&r->device, device, strlen(device));
        m[OSTEL_REPORT_M_MODEL_MIB] = dev[0];
        m[OSTEL_REPORT_M_CONTEXT_MIB] = dev[1];
        m[OSTEL_REPORT_M_COMPUTE_MIB] = dev[2];
        m[OSTEL_REPORT_M_DEV_USED_MIB] = add_nan(add_nan(dev[0], dev[1]), dev[2]);
        m[OSTEL_REPORT_M_HOST_MIB] = add_nan(add_nan(host[0], host[1]), host[2]);
    } else {
        set_str(&r->device, "CPU", 3);
        m[OSTEL_REPORT_M_MODEL_MIB] = host[0];
        m[OSTEL_REPORT_M_CONTEXT_MIB] = host[1];
        m[OSTEL_REPORT_M_COMPUTE_MIB] = host[2];
        m[OSTEL_REPORT_M_DEV_USED_MIB] = add_nan(add_nan(host[0], host[1]), host[2]);
    }
    return !isnan(m[OSTEL_REPORT_M_DEV_USED_MIB]);
}

/* The llama.cpp facts of summary.json's "llama" and "model_file" sections, in every layout ostel
 * has written (rundir's legacy keys). */
static void load_llama(struct ostel_report_run *r, const struct ostel_summary *sum)
{
    struct ostel_summary_llama_facts f;
    ostel_summary_llama_facts(sum, &f);
    double *m = r->metric;
    m[OSTEL_REPORT_M_PROMPT_TPS] = f.prompt_tps;
    m[OSTEL_REPORT_M_GEN_TPS] = f.gen_tps;
    r->n_prompt = f.prompt_tokens;
    r->n_gen = f.gen_tokens;
    r->model_size_mib = mib_or_nan(f.size_mib);
    r->model_n_params = f.n_params;
    /* llama-bench's model_type: "llama 1B Q4_K - Medium" (architecture, size class, file type). */
    const char *parts[3] = {f.arch, f.model_desc, f.file_type ? f.file_type : f.mf_file_type};
    struct ostel_buf mt;
    ostel_buf_init(&mt, 512);
    for (int i = 0; i < 3; i++)
        if (parts[i])
            ostel_buf_printf(&mt, "%s%s", mt.len ? " " : "", parts[i]);
    if (mt.len)
        set_str(&r->model_type, mt.data, mt.len);
    ostel_buf_free(&mt);
    if (isnan(r->model_n_params))
        r->model_n_params = f.mf_n_params;
    if (isnan(r->model_size_mib) && !isnan(f.mf_size_bytes))
        r->model_size_mib = f.mf_size_bytes / 1048576.0;
    if (f.version)
        set_str(&r->llama_version, f.version, strlen(f.version));
    r->has_memory = memory_from_breakdown(r, f.breakdown);
    if (!r->has_memory)
        r->has_memory = memory_from_buffers(r, f.buffers);
}

/* ---- the prediction and the memory model's parameters ---- */

static const char *const part_keys[OSTEL_REPORT_NPARTS] = {"model", "context", "compute", "output"};

static void load_cmpval(struct ostel_report_cmpval *v, const cJSON *o)
{
    v->predicted_mib = mib_or_nan(ostel_summary_jnum(o, "predicted_mib"));
    v->measured_mib = mib_or_nan(ostel_summary_jnum(o, "measured_mib"));
    double e = ostel_summary_jnum(o, "error_pct");
    v->error_pct = !isnan(e) && fabs(e) < 1e9 ? e : NAN;
}

static void copy_small(char *dst, size_t size, const char *s)
{
    size_t k = 0;
    for (; s && s[k] && k + 1 < size; k++)
        dst[k] = (unsigned char)s[k] < 0x20 || s[k] == 0x7f ? ' ' : s[k];
    dst[k] = '\0';
}

/* summary.json's "prediction" (docs/fit.md); null or absent leaves pred.present false. */
static void load_prediction(struct ostel_report_prediction *p, const cJSON *o)
{
    if (!cJSON_IsObject(o))
        return;
    p->present = true;
    for (int k = 0; k < OSTEL_REPORT_NPARTS; k++)
        load_cmpval(&p->part[k], cJSON_GetObjectItemCaseSensitive(o, part_keys[k]));
    const cJSON *devs = cJSON_GetObjectItemCaseSensitive(o, "devices"), *d;
    if (cJSON_IsArray(devs)) {
        cJSON_ArrayForEach(d, devs)
        {
            if (p->ndev == OSTEL_REPORT_PRED_MAXDEV || !cJSON_IsObject(d))
                continue;
            const char *name = ostel_summary_jstr(d, "device");
            copy_small(p->dev[p->ndev].name, sizeof(p->dev[0].name), name ? name : "?");
            for (int k = 0; k < OSTEL_REPORT_PART_OUTPUT; k++)
                load_cmpval(&p->dev[p->ndev].part[k],
                            cJSON_GetObjectItemCaseSensitive(d, part_keys[k]));
            p->ndev++;
        }
    }
    p->n_ctx = ostel_summary_jint(o, "n_ctx");
    copy_small(p->source, sizeof(p->source), ostel_summary_jstr(o, "source"));
    copy_small(p->backend, sizeof(p->backend), ostel_summary_jstr(o, "backend"));
    const cJSON *wb = cJSON_GetObjectItemCaseSensitive(o, "within_bars");
    p->within_bars = cJSON_IsBool(wb) ? cJSON_IsTrue(wb) : -1;
    copy_small(p->note, sizeof(p->note), ostel_summary_jstr(o, "note"));
}

/* What llama.cpp ran with, as summary.json's llama object keeps the log's facts, made the memory
 * model's parameters by the rules the runner's prediction used (ostel_memmodel_params_from_log). */
static void load_mm_params(struct ostel_report_run *r, const cJSON *llama)
{
    const cJSON *c = ostel_summary_jpath(llama, "context");
    if (!cJSON_IsObject(c))
        return;
    r->mm_known = true;
    struct ostel_memmodel_log_settings ls = {
        .n_ctx = ostel_summary_jnum(c, "n_ctx"),
        .n_seq_max = ostel_summary_jnum(c, "n_seq_max"),
        .n_batch = ostel_summary_jnum(c, "n_batch"),
        .n_ubatch = ostel_summary_jnum(c, "n_ubatch"),
        .offloaded_layers = ostel_summary_jnum(c, "offloaded_layers"),
        .kv_type_k = ostel_summary_jstr(c, "kv_type_k"),
        .kv_type_v = ostel_summary_jstr(c, "kv_type_v"),
        .flash_attn = ostel_summary_jstr(c, "flash_attn"),
        .platform = ostel_summary_jstr(llama, "platform"),
        .system_info = ostel_summary_jstr(llama, "system_info"),
    };
    ostel_memmodel_params_from_log(&r->mm, &ls);
}

/* A number of at most 1e9 (MiB, W, J), not negative; NAN otherwise. */
static double gpu_num(const cJSON *o, const char *key)
{
    double v = ostel_summary_jnum(o, key);
    return !isnan(v) && v >= 0 && v < 1e9 ? v : NAN;
}

/* summary.json's "gpu" object (docs/run-directory.md): the run's GPU metrics, summed over its
 * devices where each device gives its own (a device that did not say adds nothing; none that said
 * leaves NAN). Backend "none", or no per_device, is a run without GPU telemetry. */
static void load_gpu(struct ostel_report_run *r, const cJSON *gpu)
{
    const char *backend = ostel_summary_jstr(gpu, "backend");
    const cJSON *pd = cJSON_GetObjectItemCaseSensitive(gpu, "per_device");
    if (!cJSON_IsObject(gpu) || !backend || strcmp(backend, "none") == 0 || !cJSON_IsArray(pd) ||
        cJSON_GetArraySize(pd) == 0)
        return;
    r->has_gpu = true;
    double *m = r->metric;
    const cJSON *d;
    cJSON_ArrayForEach(d, pd)
    {
        const cJSON *all = cJSON_GetObjectItemCaseSensitive(d, "overall");
        const cJSON *gen = ostel_summary_jpath(d, "phases.generate");
        m[OSTEL_REPORT_M_GPU_DEV_PEAK_MIB] =
            add_nan(m[OSTEL_REPORT_M_GPU_DEV_PEAK_MIB], gpu_num(all, "peak_mem_used_mb"));
        m[OSTEL_REPORT_M_GPU_LLAMA_MIB] =
            add_nan(m[OSTEL_REPORT_M_GPU_LLAMA_MIB], gpu_num(d, "llama_self_mb"));
        m[OSTEL_REPORT_M_GPU_POWER_PEAK_W] =
            add_nan(m[OSTEL_REPORT_M_GPU_POWER_PEAK_W], gpu_num(all, "peak_power_w"));
        m[OSTEL_REPORT_M_GPU_GEN_POWER_W] =
            add_nan(m[OSTEL_REPORT_M_GPU_GEN_POWER_W], gpu_num(gen, "mean_power_w"));
    }
    const cJSON *run = cJSON_GetObjectItemCaseSensitive(gpu, "run");
    m[OSTEL_REPORT_M_GPU_PROC_PEAK_MIB] = gpu_num(run, "peak_proc_mem_mb");
    m[OSTEL_REPORT_M_GPU_J_PER_TOKEN] = gpu_num(run, "j_per_token");
    m[OSTEL_REPORT_M_GPU_TOKENS_PER_J] = gpu_num(run, "tokens_per_j");
    /* beyond llama.cpp's accounting can be negative (a device llama.cpp reserved more on than
     * the process held at a sample): any finite value */
    double beyond = ostel_summary_jnum(run, "vram_beyond_llama_mb");
    m[OSTEL_REPORT_M_GPU_BEYOND_MIB] = fabs(beyond) < 1e9 ? beyond : NAN;
}

static void load_phase(struct ostel_report_run *r, int phase, const cJSON *ps)
{
    if (!cJSON_IsObject(ps))
        return;
    r->phase_present[phase] = true;
    for (int k = 0; k < OSTEL_PHASE_STAT_COUNT; k++) {
        const struct ostel_phase_stat_info *info = ostel_phase_stat((enum ostel_phase_stat)k);
        if (info->report >= 0)
            r->tel[phase][info->report] = ostel_summary_jnum(ps, info->key);
    }
}

int ostel_report_load_summary(struct ostel_report_run *r, const char *data, size_t len, char *err,
                              size_t err_size)
{
    cJSON *root = cJSON_ParseWithLength(data, len);
    if (!root) {
        snprintf(err, err_size, "not valid JSON");
        return OSTEL_ERR;
    }
    int rc = ostel_report_load_summary_json(r, root, err, err_size);
    cJSON_Delete(root);
    return rc;
}

int ostel_report_load_summary_json(struct ostel_report_run *r, const struct cJSON *root, char *err,
                                   size_t err_size)
{
    struct ostel_summary sum; /* its trees borrow root's */
    if (ostel_summary_view(root, &sum, err, err_size) != 0) {
        ostel_summary_free(&sum);
        return OSTEL_ERR;
    }
    const struct ostel_summary_run *run = &sum.run;
    char sig_buf[24];
    const char *sig = ostel_summary_signal_text(run, sig_buf, sizeof(sig_buf));
    const cJSON *serve = ostel_summary_section(&sum, "serve");
    if (cJSON_IsObject(serve) && !r->serve_json)
        r->serve_json = cJSON_PrintUnformatted(serve);
    struct {
        char **dst;
        const char *v;
    } strs[] = {{&r->run_id, run->run_id},    {&r->tag, run->tag},     {&r->status, run->status},
                {&r->tool, run->tool},        {&r->model, run->model}, {&r->signal, sig},
                {&r->scenario, run->scenario}};
    for (size_t i = 0; i < OSTEL_ARRAY_LEN(strs); i++)
        if (strs[i].v)
            set_str(strs[i].dst, strs[i].v, strlen(strs[i].v));
    r->ok = strcmp(r->status, "ok") == 0;
    r->exit_code = run->has_exit_code ? run->exit_code : -1;
    r->ctx = run->ctx;
    r->gen = run->gen;
    r->repetition = run->repetition > 0 ? run->repetition : -1;
    r->start_ts = run->start_ts_s;
    r->metric[OSTEL_REPORT_M_WALL_S] = run->wall_s;
    r->oom_killed = run->oom_killed;

    load_llama(r, &sum);
    if (cJSON_IsObject(sum.llama))
        load_mm_params(r, sum.llama);
    load_prediction(&r->pred, sum.prediction);
    /* The runner's prediction names the backend it assumed: it wins over the platform guess. */
    if (strcmp(r->pred.backend, "cpu") == 0)
        r->mm.backend = OSTEL_MEMMODEL_BACKEND_CPU;
    else if (strcmp(r->pred.backend, "metal") == 0)
        r->mm.backend = OSTEL_MEMMODEL_BACKEND_METAL;
    else if (strcmp(r->pred.backend, "gpu") == 0)
        r->mm.backend = OSTEL_MEMMODEL_BACKEND_CUDA;
    if (sum.host.hostname)
        set_str(&r->host, sum.host.hostname, strlen(sum.host.hostname));
    double ram = sum.host.ram_mib;
    if (!isnan(ram) && ram > 0 && ram < 1e12)
        r->ram_mib = ram;

    const cJSON *tel = sum.telemetry;
    if (cJSON_IsObject(tel)) {
        load_phase(r, OSTEL_REPORT_PHASE_ALL, cJSON_GetObjectItemCaseSensitive(tel, "overall"));
        const cJSON *phases = cJSON_GetObjectItemCaseSensitive(tel, "phases");
        for (int p = 1; p < OSTEL_REPORT_NPHASES; p++)
            load_phase(r, p, cJSON_GetObjectItemCaseSensitive(phases, phase_names[p]));
    }
    const double *all = r->tel[OSTEL_REPORT_PHASE_ALL];
    double *m = r->metric;
    m[OSTEL_REPORT_M_RSS_PEAK_MIB] = all[OSTEL_REPORT_TEL_RSS_PEAK_MIB];
    m[OSTEL_REPORT_M_CPU_MEAN_PCT] = all[OSTEL_REPORT_TEL_CPU_MEAN_PCT];
    m[OSTEL_REPORT_M_PAGEINS] = all[OSTEL_REPORT_TEL_PAGEINS];
    m[OSTEL_REPORT_M_PAGEOUTS] = all[OSTEL_REPORT_TEL_PAGEOUTS];
    m[OSTEL_REPORT_M_MAJFLT] = all[OSTEL_REPORT_TEL_MAJFLT];
    m[OSTEL_REPORT_M_PRESSURE_WORST] = all[OSTEL_REPORT_TEL_PRESSURE_WORST];
    m[OSTEL_REPORT_M_AVAIL_MIN_PCT] = all[OSTEL_REPORT_TEL_AVAIL_MIN_PCT];
    m[OSTEL_REPORT_M_RSS_ANON_PEAK_MIB] = all[OSTEL_REPORT_TEL_RSS_ANON_PEAK_MIB];
    m[OSTEL_REPORT_M_RSS_FILE_PEAK_MIB] = all[OSTEL_REPORT_TEL_RSS_FILE_PEAK_MIB];
    load_gpu(r, sum.gpu);
    ostel_report_quality_load(&r->quality, root);
    ostel_summary_free(&sum);
    return 0;
}

/* ---- config.txt ---- */

int ostel_report_load_config(struct ostel_report_run *r, const char *data, size_t len)
{
    struct ostel_str rest = ostel_str_make(data, len), key, val;
    while (ostel_config_next(&rest, &key, &val)) {
        /* summary.json is authoritative; config.txt only fills what it left unknown. */
        enum ostel_config_key k;
        if (!ostel_config_key_lookup(key, &k))
            continue;
        char **dst = k == OSTEL_CFG_TAG             ? &r->tag
                     : k == OSTEL_CFG_MODEL         ? &r->model
                     : k == OSTEL_CFG_SCENARIO      ? &r->scenario
                     : k == OSTEL_CFG_TOOL          ? &r->tool
                     : k == OSTEL_CFG_LLAMA_VERSION ? &r->llama_version
                     : k == OSTEL_CFG_HOST          ? &r->host
                                                    : NULL;
        if (dst && !**dst) {
            set_str(dst, val.p, val.n);
            continue;
        }
        if (k == OSTEL_CFG_RAM_MIB && isnan(r->ram_mib) && val.n > 0 && val.n < 20) {
            char tmp[24];
            memcpy(tmp, val.p, val.n);
            tmp[val.n] = '\0';
            char *end;
            double v = strtod(tmp, &end);
            if (*end == '\0' && v > 0 && v < 1e12)
                r->ram_mib = v;
            continue;
        }
        long long *num = k == OSTEL_CFG_CTX          ? &r->ctx
                         : k == OSTEL_CFG_GEN        ? &r->gen
                         : k == OSTEL_CFG_REPETITION ? &r->repetition
                                                     : NULL;
        if (num && *num < 0 && val.n > 0 && val.n < 20) {
            char tmp[24];
            memcpy(tmp, val.p, val.n);
            tmp[val.n] = '\0';
            char *end;
            long long v = strtoll(tmp, &end, 10);
            if (*end == '\0' && v >= 0)
                *num = v;
        }
    }
    return 0;
}

/* ---- metrics.csv ---- */

/* The metrics.csv column each of the series' arrays holds (rundir_metrics.h's table). */
static const enum ostel_metric_col series_cols[OSTEL_REPORT_SERIES_NCOLS] = {
    OSTEL_COL_TS,
    OSTEL_COL_RSS_MB,
    OSTEL_COL_CPU_PCT,
    OSTEL_COL_VM_PRESSURE_FLAG,
    OSTEL_COL_AVAIL_MEM_LEVEL,
    OSTEL_COL_PAGEINS_DELTA,
    OSTEL_COL_PAGEOUTS_DELTA,
    OSTEL_COL_RSS_ANON_MB,
    OSTEL_COL_RSS_FILE_MB};

double **ostel_report_series_array(struct ostel_report_series *s, size_t i)
{
    double **arr[OSTEL_REPORT_SERIES_NCOLS] = {&s->t_s,      &s->rss_mib,      &s->cpu_pct,
                                               &s->pressure, &s->avail_pct,    &s->pageins,
                                               &s->pageouts, &s->rss_anon_mib, &s->rss_file_mib};
    OSTEL_ASSERT(i < OSTEL_REPORT_SERIES_NCOLS);
    return arr[i];
}

enum ostel_metric_col ostel_report_series_col(size_t i)
{
    OSTEL_ASSERT(i < OSTEL_REPORT_SERIES_NCOLS);
    return series_cols[i];
}

/* Lines in p[0..n) counting a last one without its newline: an upper bound on a CSV's rows, so each
 * column is allocated once. */
static size_t line_count(const char *p, size_t n)
{
    size_t lines = 1;
    if (n == 0)
        return lines;
    for (const char *e = p + n; (p = memchr(p, '\n', (size_t)(e - p))); p++)
        lines++;
    return lines;
}

/* metrics.csv filled while the validator reads it (one pass over the file, its numbers parsed
 * once), its header mapped and its rows typed by rundir_metrics.h's one reader. */
struct metrics_fill {
    struct ostel_report_run *r;
    bool series; /* false: the rows are checked, only MemAvailable's first value is kept */
    size_t rows; /* the series' room */
    struct ostel_metrics_header h;
    bool on;
    size_t n;
    double t0;
    double *dst[OSTEL_REPORT_SERIES_NCOLS]; /* the series' arrays */
    int at[OSTEL_REPORT_SERIES_NCOLS];      /* their file columns, or -1 */
    struct ostel_str phase_cell;            /* the last row's phase cell, and its phase */
    enum ostel_phase phase;
};

_Static_assert((int)OSTEL_PHASE_NONE == OSTEL_REPORT_PHASE_ALL &&
                   (int)OSTEL_PHASE_LOAD == OSTEL_REPORT_PHASE_LOAD &&
                   (int)OSTEL_PHASE_TEARDOWN == OSTEL_REPORT_PHASE_TEARDOWN &&
                   (int)OSTEL_PHASE_COUNT == OSTEL_REPORT_NPHASES,
               "the report's phases are metrics.csv's");

static bool fill_header(void *ctx, const struct ostel_str *cells, size_t ncols)
{
    struct metrics_fill *m = ctx;
    ostel_metrics_header_map(&m->h, cells, ncols);
    if (m->h.at[OSTEL_COL_TS] < 0 || m->h.at[OSTEL_COL_RSS_MB] < 0)
        return false;
    struct ostel_report_series *s = &m->r->series;
    series_free(s);
    m->r->avail_start_mib = NAN;
    if (m->series) {
        for (size_t c = 0; c < OSTEL_REPORT_SERIES_NCOLS; c++) {
            m->dst[c] = *ostel_report_series_array(s, c) = ostel_xmalloc(m->rows * sizeof(double));
            m->at[c] = m->h.at[series_cols[c]];
        }
        s->phase = ostel_xmalloc(m->rows);
    }
    m->phase_cell = ostel_str_make("", 0);
    m->phase = OSTEL_PHASE_NONE;
    m->on = true;
    m->n = 0;
    m->t0 = NAN;
    return true;
}

static void fill_row(void *ctx, const struct ostel_str *cells, const double *vals, size_t ncols)
{
    (void)ncols;
    struct metrics_fill *m = ctx;
    struct ostel_report_series *s = &m->r->series;
    size_t n = m->n;
    if (!m->series) { /* MemAvailable's first value (the run's start), as from a typed row */
        int k = m->h.at[OSTEL_COL_SYS_AVAIL_MB];
        double avail = k >= 0 && cells[k].n > 0 ? vals[k] : NAN;
        if (isnan(m->r->avail_start_mib) && !isnan(avail) && avail >= 0 && avail < 1e12)
            m->r->avail_start_mib = avail;
        return;
    }
    /* The values of a typed row (ostel_metrics_row_from_cells: NAN where empty) taken straight
     * from the cells: this runs for every sample of every run the page draws. */
    for (size_t c = 0; c < OSTEL_REPORT_SERIES_NCOLS; c++) {
        int k = m->at[c];
        m->dst[c][n] = k >= 0 && cells[k].n > 0 ? vals[k] : NAN;
    }
    if (isnan(m->t0))
        m->t0 = s->t_s[n], s->t0 = m->t0;
    s->t_s[n] -= m->t0;
    int kp = m->h.at[OSTEL_COL_PHASE];
    if (kp >= 0 && !(cells[kp].n == m->phase_cell.n &&
                     memcmp(cells[kp].p, m->phase_cell.p, cells[kp].n) == 0)) {
        m->phase_cell = cells[kp];
        m->phase = ostel_metrics_phase_from_name(cells[kp]);
    }
    s->phase[n] = (unsigned char)m->phase; /* the table's phases; NONE is the report's ALL */
    int ka = m->h.at[OSTEL_COL_SYS_AVAIL_MB];
    double avail = ka >= 0 && cells[ka].n > 0 ? vals[ka] : NAN;
    if (isnan(m->r->avail_start_mib) && !isnan(avail) && avail >= 0 && avail < 1e12)
        m->r->avail_start_mib = avail;
    m->n = n + 1;
}

/* The validator's pass with the fill as its sink: 0, or OSTEL_ERR with the message in err. With
 * max_points 0 (no format but HTML draws samples) every row is checked all the same, and no series
 * kept. */
static int load_metrics_scan(struct ostel_report_run *r, const char *data, size_t len,
                             const struct ostel_rundir_facts *facts, size_t max_points, char *err,
                             size_t err_size)
{
    struct metrics_fill *m = ostel_xcalloc(1, sizeof(*m));
    m->r = r;
    m->series = max_points > 0;
    m->rows = m->series ? line_count(data, len) : 0;
    struct ostel_rundir_metrics_sink sink = {fill_header, fill_row, m};
    int rc = ostel_rundir_scan_metrics_text(data, len, facts, &sink, err, err_size);
    if (rc == 0 && !m->on) {
        snprintf(err, err_size, "line 1: not a metrics header (needs the columns ts and rss_mb)");
        rc = OSTEL_ERR;
    }
    if (rc == 0)
        r->series.n = m->n;
    free(m);
    return rc;
}

int ostel_report_load_metrics(struct ostel_report_run *r, const char *data, size_t len, char *err,
                              size_t err_size)
{
    return load_metrics_scan(r, data, len, NULL, SIZE_MAX, err, err_size);
}

/*
 * md, csv and json take one value from metrics.csv, MemAvailable at the run's start (the first row
 * whose sys_avail_mb is not empty): they read its first METRICS_HEAD_BYTES (cut is true when the
 * file is longer) and check its header and its rows up to that one, as the full scan would, with
 * the same messages. 0 when found (or when the whole file has none), OSTEL_ERR with the message in
 * err, 1 when the whole file must be read (cut, and no such row in what was) or the full scan must
 * decide (a header without ts and rss_mb, whose message the full scan gives after checking every
 * row).
 */
static int load_metrics_head(struct ostel_report_run *r, const char *data, size_t len, bool cut,
                             const struct ostel_rundir_facts *facts, char *err, size_t err_size)
{
    if (cut) { /* whole lines only */
        while (len > 0 && data[len - 1] != '\n')
            len--;
        if (len == 0)
            return 1;
    }
    struct metrics_fill *m = ostel_xcalloc(1, sizeof(*m));
    struct ostel_rundir_metrics_scan *sc = ostel_xmalloc(sizeof(*sc));
    m->r = r;
    int rc = ostel_rundir_metrics_scan_init(sc, data, len, facts, err, err_size);
    if (rc == 0 && !fill_header(m, sc->header, sc->ncols))
        rc = 1;
    while (rc == 0 && isnan(r->avail_start_mib)) {
        int k = ostel_rundir_metrics_scan_next(sc, err, err_size);
        if (k < 0)
            rc = OSTEL_ERR;
        else if (k == 0)
            rc = cut ? 1 : 0;
        if (k <= 0)
            break;
        fill_row(m, sc->cells, sc->vals, sc->ncols);
    }
    free(sc);
    free(m);
    return rc;
}

/* ---- gpu_metrics.csv ---- */

/* Its rows through rundir's one reader (rundir_gpu_metrics.h: the header mapped by name, every
 * cell checked by the table's rule), the device and process memory and the power kept. */
int ostel_report_load_gpu_metrics(struct ostel_report_run *r, const char *data, size_t len,
                                  char *err, size_t err_size)
{
    struct ostel_gpu_metrics_scan sc;
    if (ostel_gpu_metrics_scan_init(&sc, data, len, err, err_size) != 0) {
        ostel_gpu_metrics_scan_free(&sc);
        return OSTEL_ERR;
    }
    size_t rows = line_count(data, len);
    struct ostel_report_gpu_series *s = &r->gpu_series;
    gpu_series_free(s);
    double **cols[] = {&s->t_s, &s->mem_mib, &s->proc_mib, &s->power_w};
    for (size_t c = 0; c < OSTEL_ARRAY_LEN(cols); c++)
        *cols[c] = ostel_xmalloc(rows * sizeof(double));
    s->gpu = ostel_xmalloc(rows * sizeof(*s->gpu));
    s->phase = ostel_xmalloc(rows);
    double t0 = r->series.n > 0 ? r->series.t0 : NAN;
    size_t n = 0;
    struct ostel_gpu_row row;
    int k;
    while ((k = ostel_gpu_metrics_scan_next(&sc, &row, err, err_size)) == 1) {
        if (isnan(t0))
            t0 = row.ts;
        s->t_s[n] = row.ts - t0;
        s->mem_mib[n] = ostel_gpu_row_get(&row, OSTEL_GPU_MEM_USED_MB);
        s->proc_mib[n] = ostel_gpu_row_get(&row, OSTEL_GPU_PROC_MEM_MB);
        s->power_w[n] = ostel_gpu_row_get(&row, OSTEL_GPU_POWER_W);
        s->gpu[n] = row.gpu;
        if (row.gpu + 1 > s->ngpu)
            s->ngpu = row.gpu + 1;
        s->phase[n] = (unsigned char)row.phase; /* the table's phases; NONE is the report's ALL */
        n++;
    }
    ostel_gpu_metrics_scan_free(&sc);
    if (k != 0) {
        gpu_series_free(s);
        return OSTEL_ERR;
    }
    s->n = n;
    return 0;
}

/* Keeps at most max rows of each GPU, evenly spaced (every k-th and the last): power and memory
 * are steps and plateaus, which a stride keeps as well as LTTB would; max 0 frees the series. */
static void gpu_series_reduce(struct ostel_report_gpu_series *s, size_t max)
{
    if (max == 0) {
        gpu_series_free(s);
        return;
    }
    unsigned ngpu = s->ngpu;
    if (ngpu == 0 || s->n <= max)
        return;
    size_t per = (s->n + ngpu - 1) / ngpu, stride = per / max + (per % max != 0);
    if (stride <= 1)
        return;
    size_t *seen = ostel_xcalloc(ngpu, sizeof(*seen)), *total = ostel_xcalloc(ngpu, sizeof(*total));
    for (size_t i = 0; i < s->n; i++)
        total[s->gpu[i]]++;
    size_t w = 0;
    for (size_t i = 0; i < s->n; i++) {
        size_t k = seen[s->gpu[i]]++;
        if (k % stride != 0 && k + 1 != total[s->gpu[i]])
            continue;
        s->t_s[w] = s->t_s[i];
        s->mem_mib[w] = s->mem_mib[i];
        s->proc_mib[w] = s->proc_mib[i];
        s->power_w[w] = s->power_w[i];
        s->gpu[w] = s->gpu[i];
        s->phase[w] = s->phase[i];
        w++;
    }
    s->n = w;
    free(seen);
    free(total);
}

/* ---- directories ---- */

static void buf_grow(struct ostel_buf *b, size_t cap)
{
    if (cap > b->cap) {
        b->data = ostel_xrealloc(b->data, cap);
        b->cap = cap;
    }
}

/* Reads dir/file whole into b (initialised here; the caller frees it) when it is a regular file.
 * Returns 0, 1 when it is absent (or not a regular file), or OSTEL_ERR with the message in err. One
 * open and one fstat per file, the buffer sized from fstat: no separate stat to see whether it
 * exists. With cut not NULL, only the first head bytes of a larger file are read (*cut says so); a
 * file larger than max is refused all the same.
 */
static int read_file_part(const char *dir, const char *file, size_t max, size_t head,
                          struct ostel_buf *b, bool *cut, char *err, size_t err_size)
{
    char *path = ostel_xasprintf("%s/%s", dir, file);
    ostel_buf_init(b, max + 1);
    if (cut)
        *cut = false;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    int rc = 0;
    struct stat st;
    if (fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            rc = 1;
        else
            rc = OSTEL_ERR, snprintf(err, err_size, "cannot open '%s': %s", path, strerror(errno));
    } else if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        rc = 1;
    } else if ((uint64_t)st.st_size > max) {
        rc = OSTEL_ERR, snprintf(err, err_size, "'%s' is larger than %zu bytes", path, max);
    } else if (cut && (uint64_t)st.st_size > head) {
        buf_grow(b, head + 1);
        while (b->len < head) {
            ssize_t n = read(fd, b->data + b->len, head - b->len);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0) {
                snprintf(err, err_size, "cannot read '%s': %s", path, strerror(errno));
                rc = OSTEL_ERR;
                break;
            }
            if (n == 0)
                break;
            b->len += (size_t)n;
        }
        b->data[b->len] = '\0';
        *cut = b->len == head;
    } else {
        buf_grow(b, (size_t)st.st_size + 2); /* +1 to see EOF in one read, +1 for the NUL */
        for (;;) {
            char *at = b->data + b->len;
            size_t room = b->cap - b->len - 1;
            if (room == 0) {
                buf_grow(b, b->cap + 65536); /* it grew since fstat */
                continue;
            }
            ssize_t n = read(fd, at, room);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0) {
                snprintf(err, err_size, "cannot read '%s': %s", path, strerror(errno));
                rc = OSTEL_ERR;
                break;
            }
            if (n == 0)
                break;
            if (b->len + (size_t)n > max) {
                rc = OSTEL_ERR, snprintf(err, err_size, "'%s' is larger than %zu bytes", path, max);
                break;
            }
            b->len += (size_t)n;
            b->data[b->len] = '\0';
            if ((size_t)n < room)
                break; /* a regular file's short read is its end: no second read to see it */
        }
    }
    if (fd >= 0)
        close(fd);
    free(path);
    return rc;
}

static int read_file_into(const char *dir, const char *file, size_t max, struct ostel_buf *b,
                          char *err, size_t err_size)
{
    return read_file_part(dir, file, max, 0, b, NULL, err, err_size);
}

char *ostel_report_read_log_tail(const char *dir)
{
    char *path = ostel_xasprintf("%s/llama_output.log", dir);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    free(path);
    if (fd < 0)
        return NULL;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return NULL;
    }
    off_t off = st.st_size > LOG_TAIL_BYTES ? st.st_size - LOG_TAIL_BYTES : 0;
    char buf[LOG_TAIL_BYTES + 1];
    ssize_t got = pread(fd, buf, LOG_TAIL_BYTES, off);
    close(fd);
    if (got <= 0)
        return NULL;
    size_t n = (size_t)got;
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        n--;
    size_t start = 0, lines = 0;
    for (size_t i = n; i > 0; i--) {
        if (buf[i - 1] == '\n' && ++lines == LOG_TAIL_LINES) {
            start = i;
            break;
        }
    }
    if (start == 0 && off > 0) {
        /* The first line is cut: drop it. */
        char *nl = memchr(buf, '\n', n);
        start = nl ? (size_t)(nl - buf) + 1 : 0;
    }
    char *out = ostel_xmalloc(n - start + 1);
    size_t k = 0;
    for (size_t i = start; i < n; i++) {
        unsigned char c = (unsigned char)buf[i];
        if (c == '\r')
            continue;
        out[k++] = (c < 0x20 && c != '\n' && c != '\t') || c == 0x7f ? ' ' : (char)c;
    }
    out[k] = '\0';
    return out;
}

static bool has_file(const char *dir, const char *file)
{
    char *p = ostel_xasprintf("%s/%s", dir, file);
    bool ok = ostel_is_file(p);
    free(p);
    return ok;
}

static bool looks_like_run(const char *dir)
{
    return has_file(dir, "summary.json") || has_file(dir, "metrics.csv") ||
           has_file(dir, "config.txt") || has_file(dir, "llama_output.log");
}

/* Loads the run directory dir into r (added to the set by the caller). Returns 0, or OSTEL_ERR with
 * the whole message (file name included) in err. Touches nothing but r and the files: the parallel
 * loader runs it on several threads at once. */
static int load_run_into(struct ostel_report_run *r, const char *dir, size_t max_points, char *err,
                         size_t err_size)
{
    set_str(&r->path, dir, strlen(dir));
    size_t dl, base;
    ostel_path_split_base(dir, &dl, &base);
    set_str(&r->name, dir + base, dl - base);

    char why[256];
    struct ostel_buf b;
    struct ostel_rundir_facts facts;
    ostel_rundir_facts_init(&facts);
    int rc = read_file_into(dir, "summary.json", SUMMARY_MAX, &b, err, err_size);
    if (rc == 1)
        snprintf(err, err_size,
                 "%s/summary.json: missing (an unfinished run, or not a run directory)", dir);
    /* The one validator of db import too (src/rundir); the buffer keeps a NUL after its data. The
     * tree lives in an arena, freed whole: one malloc a run instead of hundreds. */
    cJSON *root = NULL;
    struct ostel_arena arena;
    ostel_arena_init(&arena, SUMMARY_ARENA_BYTES);
    if (rc == 0 && b.data &&
        ostel_rundir_parse_summary_arena(b.data, &b.len, &facts, &arena, &root, why, sizeof(why)) !=
            0) {
        snprintf(err, err_size, "%s/summary.json: %s", dir, why);
        rc = -1;
    }
    /* the validator's tree: the file is parsed once */
    if (rc == 0 && (root ? ostel_report_load_summary_json(r, root, why, sizeof(why))
                         : ostel_report_load_summary(r, b.data, b.len, why, sizeof(why))) != 0) {
        snprintf(err, err_size, "%s/summary.json: %s", dir, why);
        rc = -1;
    }
    ostel_arena_free(&arena); /* root's nodes */
    ostel_buf_free(&b);
    if (rc != 0)
        return OSTEL_ERR;

    rc = read_file_into(dir, "config.txt", CONFIG_MAX, &b, err, err_size);
    if (rc == 0 && b.data && ostel_rundir_validate_config(b.data, &b.len, why, sizeof(why)) != 0) {
        snprintf(err, err_size, "%s/config.txt: %s", dir, why);
        rc = -1;
    }
    if (rc == 0)
        ostel_report_load_config(r, b.data, b.len);
    ostel_buf_free(&b);
    if (rc < 0)
        return OSTEL_ERR;
    /* Only the HTML page draws the samples: the other formats read metrics.csv's head */
    bool cut = false;
    rc = read_file_part(dir, "metrics.csv", METRICS_MAX, METRICS_HEAD_BYTES, &b,
                        max_points ? NULL : &cut, err, err_size);
    int head = 1;
    if (rc == 0)
        ostel_rundir_strip_bom(b.data, &b.len);
    if (rc == 0 && max_points == 0) {
        head = load_metrics_head(r, b.data, b.len, cut, &facts, why, sizeof(why));
        if (head == 1 && cut) {
            ostel_buf_free(&b);
            rc = read_file_into(dir, "metrics.csv", METRICS_MAX, &b, err, err_size);
            if (rc == 0) {
                ostel_rundir_strip_bom(b.data, &b.len);
                head = load_metrics_head(r, b.data, b.len, false, &facts, why, sizeof(why));
            }
        }
    }
    if (rc == 0 && (head < 0 || (head == 1 && load_metrics_scan(r, b.data, b.len, &facts,
                                                                max_points, why, sizeof(why))))) {
        snprintf(err, err_size, "%s/metrics.csv: %s", dir, why);
        rc = -1;
    }
    ostel_buf_free(&b);
    if (rc < 0)
        return OSTEL_ERR;
    /* GPU samples (only where the summary says a GPU was read), aligned on the OS samples'
     * first ts before both are reduced */
    if (r->has_gpu) {
        rc = read_file_into(dir, "gpu_metrics.csv", METRICS_MAX, &b, err, err_size);
        if (rc == 0 && ostel_report_load_gpu_metrics(r, b.data, b.len, why, sizeof(why)) != 0) {
            snprintf(err, err_size, "%s/gpu_metrics.csv: %s", dir, why);
            rc = -1;
        }
        ostel_buf_free(&b);
        if (rc < 0)
            return OSTEL_ERR;
        gpu_series_reduce(&r->gpu_series, max_points);
    }
    ostel_report_series_reduce(&r->series, max_points);
    ostel_report_series_pack(&r->series, r->series.t0); /* half the memory (report_series.c) */
    if (!r->ok)
        r->log_tail = ostel_report_read_log_tail(dir);
    return 0;
}

static int load_run_dir(struct ostel_report_set *set, const char *dir, size_t max_points)
{
    char err[1024];
    if (load_run_into(ostel_report_set_add(set), dir, max_points, err, sizeof(err)) != 0)
        return ostel_error("%s", err);
    return OSTEL_OK;
}

/* A study's run directories loaded on a few threads (report_par.c): parsing summary.json and
 * metrics.csv is CPU-bound and every run is independent. The set is grown before they start, so
 * no thread moves it; the first failing run in name order is reported, exactly as one thread
 * would. */
struct load_job {
    struct ostel_report_run *runs;
    char **dirs;
    char (*errs)[1024];
    int *rcs;
    size_t max_points;
};

static void load_one(void *ctx, size_t i)
{
    struct load_job *job = ctx;
    job->rcs[i] = load_run_into(&job->runs[i], job->dirs[i], job->max_points, job->errs[i],
                                sizeof(job->errs[i]));
}

#define LOAD_PARALLEL_MIN 64 /* fewer runs than this load on the calling thread */

static int load_run_dirs(struct ostel_report_set *set, char **dirs, size_t n, size_t max_points)
{
    if (n < LOAD_PARALLEL_MIN) {
        for (size_t i = 0; i < n; i++)
            if (load_run_dir(set, dirs[i], max_points) != OSTEL_OK)
                return OSTEL_ERR;
        return OSTEL_OK;
    }
    size_t first = set->n;
    for (size_t i = 0; i < n; i++)
        ostel_report_set_add(set);
    struct load_job job = {.runs = set->runs + first, .dirs = dirs, .max_points = max_points};
    job.errs = ostel_xmalloc(n * sizeof(*job.errs));
    job.rcs = ostel_xcalloc(n, sizeof(*job.rcs));
    ostel_report_parallel(n, LOAD_PARALLEL_MIN, load_one, &job);
    int rc = OSTEL_OK;
    for (size_t i = 0; i < n && rc == OSTEL_OK; i++)
        if (job.rcs[i] != 0)
            rc = ostel_error("%s", job.errs[i]);
    free(job.errs);
    free(job.rcs);
    return rc;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int ostel_report_load_path(struct ostel_report_set *set, const char *path)
{
    return ostel_report_load_path_series(set, path, SIZE_MAX);
}

int ostel_report_load_path_series(struct ostel_report_set *set, const char *path, size_t max_points)
{
    if (!ostel_is_dir(path))
        return ostel_error("%s: not a directory", path);
    if (looks_like_run(path))
        return load_run_dir(set, path, max_points);
    DIR *d = opendir(path);
    if (!d)
        return ostel_error("%s: cannot open: %s", path, strerror(errno));
    char **subs = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char *sub =
            ostel_xasprintf("%s%s%s", path, path[strlen(path) - 1] == '/' ? "" : "/", e->d_name);
        /* the entry's type where the file system gives it: no stat for 10,000 directories */
        bool dir = e->d_type == DT_DIR ||
                   ((e->d_type == DT_UNKNOWN || e->d_type == DT_LNK) && ostel_is_dir(sub));
        if (!dir || !looks_like_run(sub) || n >= STUDY_MAX_RUNS) {
            free(sub);
            continue;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            subs = ostel_xrealloc(subs, cap * sizeof(*subs));
        }
        subs[n++] = sub;
    }
    closedir(d);
    int rc = OSTEL_OK;
    if (n == 0)
        rc = ostel_error("%s: no run directories in it (a run directory holds summary.json)", path);
    if (n > 0)
        qsort(subs, n, sizeof(*subs), cmp_str);
    if (rc == OSTEL_OK)
        rc = load_run_dirs(set, subs, n, max_points);
    for (size_t i = 0; i < n; i++)
        free(subs[i]);
    free(subs);
    return rc;
}
