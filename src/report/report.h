/*
 * report: `ostel report` — load runs, group them, compare groups, write Markdown, CSV, JSON or
 * HTML.
 *
 * Three layers, so a future loader (the SQLite store's `--db`) plugs in without touching the rest:
 *   1. a run set (struct ostel_report_set): runs in memory, whatever loaded them — report_load.c
 * reads run directories (docs/run-directory.md) into it;
 *   2. the analysis (struct ostel_report): groups, statistics, comparisons, notes, interpretation —
 *      report.c builds it from a run set and options (report_notes.c the notes, report_sweep.c
 *      the prediction and the sweep), with no I/O but the GGUF headers of the sweep;
 *   3. formats (report_md.c, report_csv.c, report_json.c, report_html.c): pure writers from an
 * analysis into a capped buffer, behind one table (ostel_report_find_format). Every number that a
 * run did not yield is NAN in memory and "—" / empty / null on output, never 0.
 */
#ifndef OSTEL_REPORT_H
#define OSTEL_REPORT_H

#include <stdbool.h>
#include <stddef.h>

#include "llama/memmodel.h"
#include "report/stats.h"
#include "rundir/rundir_metrics.h"
#include "util/util.h"

/* Telemetry phases; ALL is the run's overall statistics ("overall" in summary.json). */
enum ostel_report_phase {
    OSTEL_REPORT_PHASE_ALL,
    OSTEL_REPORT_PHASE_LOAD,
    OSTEL_REPORT_PHASE_PROMPT,
    OSTEL_REPORT_PHASE_GENERATE,
    OSTEL_REPORT_PHASE_TEARDOWN,
    OSTEL_REPORT_NPHASES
};
/* "overall", "load", "prompt", "generate", "teardown". */
const char *ostel_report_phase_name(int phase);
/* summary.json's PHASE STATS key of a telemetry value ("rss_peak_mib"); "?" out of range. */
const char *ostel_report_tel_key(int tel);

/* Per-phase OS telemetry of one run: the PHASE STATS (summary.json) the report reads, each at the
 * index the table's report column gives it (rundir_phase_stats.h). */
enum ostel_report_tel {
    OSTEL_REPORT_TEL_DURATION_S,
    OSTEL_REPORT_TEL_RSS_PEAK_MIB,
    OSTEL_REPORT_TEL_RSS_MEAN_MIB,
    OSTEL_REPORT_TEL_CPU_MEAN_PCT,
    OSTEL_REPORT_TEL_PAGEINS,
    OSTEL_REPORT_TEL_PAGEOUTS,
    OSTEL_REPORT_TEL_MAJFLT,
    OSTEL_REPORT_TEL_SWAPOUTS,
    OSTEL_REPORT_TEL_PRESSURE_WORST,
    OSTEL_REPORT_TEL_AVAIL_MIN_PCT,
    OSTEL_REPORT_TEL_SWAP_PEAK_MIB,
    OSTEL_REPORT_TEL_RSS_ANON_PEAK_MIB, /* the process's own pages (heap, buffers) */
    OSTEL_REPORT_TEL_RSS_FILE_PEAK_MIB, /* file-backed: the mmap'd model, page cache */
    OSTEL_REPORT_NTEL
};

/* Headline values of one run: what groups are compared on. */
enum ostel_report_metric {
    OSTEL_REPORT_M_PROMPT_TPS,
    OSTEL_REPORT_M_GEN_TPS,
    OSTEL_REPORT_M_WALL_S,
    OSTEL_REPORT_M_DEV_USED_MIB, /* llama.cpp's memory on its main device (model + context +
                                    compute) */
    OSTEL_REPORT_M_MODEL_MIB,
    OSTEL_REPORT_M_CONTEXT_MIB,
    OSTEL_REPORT_M_COMPUTE_MIB,
    OSTEL_REPORT_M_HOST_MIB,
    OSTEL_REPORT_M_RSS_PEAK_MIB, /* the overall telemetry, repeated here for comparison */
    OSTEL_REPORT_M_CPU_MEAN_PCT,
    OSTEL_REPORT_M_PAGEINS,
    OSTEL_REPORT_M_PAGEOUTS,
    OSTEL_REPORT_M_MAJFLT,
    OSTEL_REPORT_M_PRESSURE_WORST,
    OSTEL_REPORT_M_AVAIL_MIN_PCT,
    OSTEL_REPORT_M_RSS_ANON_PEAK_MIB, /* peak RSS split: anonymous ... */
    OSTEL_REPORT_M_RSS_FILE_PEAK_MIB, /* ... and file-backed (each its own peak) */
    /* The GPU (summary.json's "gpu" object, docs/gpu.md), summed over the run's GPUs; NAN for a
     * run without GPU telemetry. The first GPU metric is OSTEL_REPORT_M_GPU_FIRST. */
    OSTEL_REPORT_M_GPU_DEV_PEAK_MIB,  /* NVML: the device's peak memory used (all processes) */
    OSTEL_REPORT_M_GPU_PROC_PEAK_MIB, /* NVML: the process tree's peak memory on the GPU */
    OSTEL_REPORT_M_GPU_LLAMA_MIB,     /* llama.cpp's "self" on its CUDA devices (breakdown) */
    OSTEL_REPORT_M_GPU_BEYOND_MIB,    /* process peak - llama.cpp's self: context, workspaces */
    OSTEL_REPORT_M_GPU_POWER_PEAK_W,  /* the highest power sample */
    OSTEL_REPORT_M_GPU_GEN_POWER_W,   /* mean power while generating */
    OSTEL_REPORT_M_GPU_J_PER_TOKEN,   /* generate energy / generated tokens */
    OSTEL_REPORT_M_GPU_TOKENS_PER_J,  /* its inverse */
    OSTEL_REPORT_NMETRIC
};

enum ostel_report_better {
    OSTEL_REPORT_BETTER_NONE,
    OSTEL_REPORT_BETTER_HIGH,
    OSTEL_REPORT_BETTER_LOW
};

/* How a group's headline value is formed from its runs. */
enum ostel_report_agg {
    OSTEL_REPORT_AGG_MEAN,   /* mean ± sd, with full statistics */
    OSTEL_REPORT_AGG_MEDIAN, /* deterministic values (memory accounting) */
    OSTEL_REPORT_AGG_MAX,    /* worst case over runs (peak RSS, worst pressure) */
    OSTEL_REPORT_AGG_MIN,    /* worst case over runs (lowest available memory) */
};

struct ostel_report_metric_info {
    const char *key;   /* JSON/CSV key: "gen_tps" */
    const char *label; /* table header: "Generation TPS" */
    const char *unit;  /* "tok/s", "MiB", "s", "%", "pages", "" */
    int better;        /* OSTEL_REPORT_BETTER_* */
    int agg;           /* OSTEL_REPORT_AGG_* */
    int decimals;      /* printed decimals */
    bool compare;      /* compared with the baseline (ratio, Welch) */
};
const struct ostel_report_metric_info *ostel_report_metric_info(int metric);
#define OSTEL_REPORT_M_GPU_FIRST OSTEL_REPORT_M_GPU_DEV_PEAK_MIB
/* True for a GPU metric: written only when some run of the report has GPU telemetry
 * (r->gpu), so a CPU-only report is what it was before the GPU existed. */
bool ostel_report_metric_is_gpu(int metric);

/* One run's sampled time series (metrics.csv), times relative to the first sample. */
struct ostel_report_series {
    size_t n;
    double *t_s, *rss_mib, *cpu_pct, *pageins, *pageouts, *pressure, *avail_pct; /* NAN = empty */
    double *rss_anon_mib, *rss_file_mib; /* RSS's anonymous and file-backed parts; NAN = empty */
    unsigned char *phase;                /* enum ostel_report_phase; ALL = no phase */
    double t0;                           /* the first sample's ts (seconds since the epoch) */
    /* Packed (ostel_report_series_pack): the n samples held here, the arrays above NULL; read
     * them through ostel_report_series_view. NULL for a plain series. */
    struct ostel_report_series_packed *packed;
};

/* The series' arrays in order (t_s, rss_mib, cpu_pct, pressure, avail_pct, pageins, pageouts,
 * rss_anon_mib, rss_file_mib): array i of s, and the metrics.csv column array i holds. */
#define OSTEL_REPORT_SERIES_NCOLS 9
double **ostel_report_series_array(struct ostel_report_series *s, size_t i);
enum ostel_metric_col ostel_report_series_col(size_t i);

/*
 * A series in less memory (report_series.c), for the thousands of runs an HTML report holds: each
 * column whose every value is a decimal of at most 4 places (metrics.csv's cells: "97.01", "3")
 * as integers of 1, 2 or 4 bytes, a time column as milliseconds from its first sample; a column
 * any of whose values would not read back bit for bit stays as doubles. ostel_report_series_pack
 * packs s in place (its arrays freed; t0_abs is the ts that s's t_s values were made relative to,
 * for the time column's codes); nothing changes for a series of fewer than two samples.
 */
void ostel_report_series_pack(struct ostel_report_series *s, double t0_abs);
/* Scratch room for views of packed series; zero it before the first use. */
struct ostel_report_series_buf {
    struct ostel_report_series s; /* the view handed out */
    double *room[OSTEL_REPORT_SERIES_NCOLS];
    unsigned char *phase_room;
    size_t cap; /* samples room holds */
};
void ostel_report_series_buf_free(struct ostel_report_series_buf *b);
/* Which arrays a view fills: bit i for ostel_report_series_array's array i, and the phases. */
#define OSTEL_REPORT_SERIES_ALL 0x3ffu
#define OSTEL_REPORT_SERIES_PHASE (1u << OSTEL_REPORT_SERIES_NCOLS)
/* s as plain arrays: s itself when it is not packed, else b's arrays, the ones in mask decoded
 * from s (exactly the values packed), the others NULL; valid until b's next use. */
const struct ostel_report_series *ostel_report_series_view(const struct ostel_report_series *s,
                                                           unsigned mask,
                                                           struct ostel_report_series_buf *b);
/* Frees s's packed form (the loaders' series_free). */
void ostel_report_series_packed_free(struct ostel_report_series *s);

/* One run's GPU samples (gpu_metrics.csv, long format: one row per GPU per sample), times
 * relative to the run's first OS sample (else its first GPU row), MiB and W; NAN = empty. */
struct ostel_report_gpu_series {
    size_t n;
    double *t_s, *mem_mib, *proc_mib, *power_w;
    unsigned *gpu;        /* NVML's index */
    unsigned char *phase; /* enum ostel_report_phase; ALL = no phase */
    unsigned ngpu;        /* 1 + the highest index in gpu (0 when n is 0), set by the loader */
};

/* ostel fit's prediction held against llama.cpp's buffers: summary.json's "prediction"
 * (docs/fit.md). Parts of llama.cpp's accounting, in the order of that object. */
enum ostel_report_part {
    OSTEL_REPORT_PART_MODEL,
    OSTEL_REPORT_PART_CONTEXT,
    OSTEL_REPORT_PART_COMPUTE,
    OSTEL_REPORT_PART_OUTPUT,
    OSTEL_REPORT_NPARTS
};
/* "model", "context", "compute", "output". */
const char *ostel_report_part_name(int part);
/* The error bar of a part in % (OSTEL_MEMMODEL_BAR_*); output has none (INFINITY). */
double ostel_report_part_bar_pct(int part);

/* One predicted value against the measured one; NAN where unknown. */
struct ostel_report_cmpval {
    double predicted_mib, measured_mib, error_pct;
};
#define OSTEL_REPORT_PRED_MAXDEV 2
struct ostel_report_prediction {
    bool present; /* summary.json had a "prediction" object */
    struct ostel_report_cmpval part[OSTEL_REPORT_NPARTS]; /* all devices */
    size_t ndev;
    struct {
        char name[16];                                             /* "host", "gpu" */
        struct ostel_report_cmpval part[OSTEL_REPORT_PART_OUTPUT]; /* model, context, compute */
    } dev[OSTEL_REPORT_PRED_MAXDEV];
    long long n_ctx;  /* the context predicted for (after padding); -1 unknown */
    char source[16];  /* "gguf" (the model file's tensor table) or "log" (its header lines) */
    char backend[16]; /* "cpu", "metal", "gpu" */
    int within_bars;  /* 1, 0, or -1 when not said */
    char note[256];   /* what the model approximates; "" when nothing */
};

/* A quality pass (ostel quality, study --quality: summary.json's "quality" section with the log
 * parser's llama.perplexity figures, report_quality.c). NAN where the log printed nothing. */
struct ostel_report_quality {
    bool present; /* the run is a quality pass: it is not counted in speed and memory */
    bool base, ok, synthetic;
    double ppl, ppl_err, ppl_ratio, ppl_ratio_err, ppl_diff, ppl_diff_err;
    double kld_mean, kld_err, kld_p99, kld_max, top_p, top_p_err, rms_dp, rms_dp_err;
    double ctx, chunks, scored; /* NAN unknown */
    double batch, ubatch;       /* -b, -ub as given; NAN when llama-perplexity's default */
    double n_batch, n_ubatch;   /* what its log says it used; NAN when not printed */
    char base_tag[64], file_type[64], text[256];
};

/* One run in memory. Every string is owned by the run and never NULL ("" when unknown). */
struct ostel_report_run {
    char *path;   /* the directory as it was named */
    char *run_id; /* summary.json's run.run_id: the run's identity; "" unknown */
    char *name;   /* its last path component */
    char *tag, *model, *scenario, *status, *tool, *signal;
    char *device; /* main device as the log names it: "MTL0", "CUDA0", "Metal", "CPU"; "" unknown */
    char *device_desc; /* the breakdown's full device text, "MTL0 (Apple M4)"; "" unknown */
    char *model_type;  /* "Q4_K - Medium" or the parser's model description; "" unknown */
    char *llama_version;
    char *host; /* summary.json's host.hostname (config.txt's host): where it ran; "" unknown */
    long long ctx, gen, repetition, exit_code; /* -1 = unknown */
    double start_ts;                           /* NAN unknown */
    double n_prompt, n_gen;                    /* tokens the log reported; NAN unknown */
    double model_size_mib, model_n_params;     /* NAN unknown */
    bool ok;                                   /* status == "ok" */
    bool oom_killed;
    bool has_memory; /* the log gave a breakdown or buffer lines */
    double metric[OSTEL_REPORT_NMETRIC];
    double tel[OSTEL_REPORT_NPHASES][OSTEL_REPORT_NTEL];
    bool phase_present[OSTEL_REPORT_NPHASES];
    struct ostel_report_series series;
    bool has_gpu; /* summary.json has a "gpu" object with devices (not backend "none") */
    struct ostel_report_gpu_series gpu_series; /* n = 0 without gpu_metrics.csv */
    char *log_tail;   /* the last lines of llama_output.log of a failed run, else NULL */
    char *serve_json; /* summary.json's "serve" object (ostel serve), unformatted, else NULL */
    struct ostel_report_prediction pred;
    /* What llama.cpp ran with, from the log parser's context section (cache types, flash
     * attention, batch sizes, offloaded layers, backend, CPU features): the memory sweep's
     * parameters. mm.n_ctx is the run's context. */
    bool mm_known;
    struct ostel_memmodel_params mm;
    double ram_mib;         /* the machine's RAM (summary "host", else config.txt); NAN unknown */
    double avail_start_mib; /* MemAvailable at the run's first sample (metrics.csv); NAN unknown */
    struct ostel_report_quality quality;
};

/* A model file's shape, read once per path by ostel_report_build for the memory sweep. */
struct ostel_report_model {
    char *path;
    bool ok;   /* shape is valid */
    char *err; /* why not: "" when the file does not exist, else the reader's message */
    struct ostel_memmodel_shape shape;
};

/* A set of runs, in the order they were added. */
struct ostel_report_set {
    struct ostel_report_run *runs;
    size_t n, cap;
};
void ostel_report_set_init(struct ostel_report_set *set);
void ostel_report_set_free(struct ostel_report_set *set);
/* Frees and removes the last run added (one that failed to load). */
void ostel_report_set_drop_last(struct ostel_report_set *set);
/* Appends a zeroed run with every number NAN / -1 and every string ""; the set owns it. The pointer
 * is valid until the next append. */
struct ostel_report_run *ostel_report_set_add(struct ostel_report_set *set);
/*
 * Drops every run whose run_id an earlier run of the set already has (the same run given twice: in
 * the database and as its directory, a directory named twice, a copy of it), keeping the first, in
 * order. Runs without a run_id are kept. Returns how many were dropped.
 */
size_t ostel_report_set_dedupe(struct ostel_report_set *set);

/*
 * Loads `path` into set: a run directory (it holds summary.json), or a directory of run directories
 * (a study), taken in name order. Prints one error naming the offending file and returns OSTEL_ERR
 * on bad input (no run found, a run directory without summary.json, corrupt JSON or CSV).
 */
int ostel_report_load_path(struct ostel_report_set *set, const char *path);
/* The same, keeping at most max_points samples of each run's series (LTTB-reduced; 0 keeps none,
 * only the first MemAvailable that the analysis needs): what a format that draws less needs,
 * without holding every sample of 10,000 runs. ostel_report_load_path keeps all (SIZE_MAX). */
int ostel_report_load_path_series(struct ostel_report_set *set, const char *path,
                                  size_t max_points);
/*
 * Pure parts of the loader, for tests and fuzzing: parse one file's bytes into run. Return 0, or
 * OSTEL_ERR with a message in err (without the file name).
 */
int ostel_report_load_summary(struct ostel_report_run *run, const char *data, size_t len, char *err,
                              size_t err_size);
/* The same from summary.json's parsed tree (ostel_rundir_parse_summary's): not parsed again. */
struct cJSON;
int ostel_report_load_summary_json(struct ostel_report_run *run, const struct cJSON *root,
                                   char *err, size_t err_size);
int ostel_report_load_config(struct ostel_report_run *run, const char *data, size_t len);
int ostel_report_load_metrics(struct ostel_report_run *run, const char *data, size_t len, char *err,
                              size_t err_size);
/* gpu_metrics.csv (docs/run-directory.md) into run->gpu_series; call after the metrics. */
int ostel_report_load_gpu_metrics(struct ostel_report_run *run, const char *data, size_t len,
                                  char *err, size_t err_size);
/* The last lines of dir/llama_output.log, control characters blanked, or NULL when it is absent or
 * empty. The caller frees it. */
char *ostel_report_read_log_tail(const char *dir);

/* Grouping keys (a bit set). */
enum {
    OSTEL_REPORT_BY_TAG = 1 << 0,
    OSTEL_REPORT_BY_MODEL = 1 << 1,
    OSTEL_REPORT_BY_CTX = 1 << 2,
    OSTEL_REPORT_BY_GEN = 1 << 3,
    OSTEL_REPORT_BY_SCENARIO = 1 << 4,
    OSTEL_REPORT_BY_HOST = 1 << 5,
};
/* Parses "tag,ctx" into a bit set; false on an unknown key. */
bool ostel_report_parse_group_by(const char *s, unsigned *out);

/* A finding worth the reader's attention. */
enum ostel_report_note_kind {
    OSTEL_REPORT_NOTE_FAILED,
    OSTEL_REPORT_NOTE_NO_MEMORY,
    OSTEL_REPORT_NOTE_SINGLE,
    OSTEL_REPORT_NOTE_OUTLIER,
    OSTEL_REPORT_NOTE_COLD,
    OSTEL_REPORT_NOTE_NOISY,
    OSTEL_REPORT_NOTE_PAGING,
    OSTEL_REPORT_NOTE_PRESSURE,
};
struct ostel_report_note {
    int kind;
    char *brief; /* a few words for a table's Notes cell */
    char *text;  /* one or two sentences with the numbers and the advice */
};

/* One group compared with the baseline on one metric. */
struct ostel_report_cmp {
    struct ostel_stats_ratio ratio; /* this group / baseline */
    struct ostel_stats_welch welch;
    bool significant; /* Welch p < 0.05 */
};

/* A trend of one metric over a group's successive runs. */
enum {
    OSTEL_REPORT_TREND_RSS,
    OSTEL_REPORT_TREND_PAGEINS,
    OSTEL_REPORT_TREND_PAGEOUTS,
    OSTEL_REPORT_TREND_MAJFLT,
    OSTEL_REPORT_NTREND
};

/* A group's prediction against measurement at one context on one device (median over its runs;
 * the error is the run's with the largest magnitude). */
struct ostel_report_pred_row {
    long long n_ctx;
    char device[16]; /* "host", "gpu", or "all" when the runs' predictions name no device */
    struct ostel_report_cmpval part[OSTEL_REPORT_PART_OUTPUT]; /* model, context, compute */
    bool outside[OSTEL_REPORT_PART_OUTPUT];                    /* |error| beyond the bar */
    size_t runs;
};

/* Memory against context: the memory model's prediction for the group's model with its runs'
 * parameters at 1k, 2k, 4k... up to the trained context, and the runs' measured totals. */
#define OSTEL_REPORT_SWEEP_MAX 12
struct ostel_report_sweep_point {
    double n_ctx;
    double host_mib; /* everything in the host's RAM (on Metal: all of it, unified memory) */
    double gpu_mib;  /* on the GPU; NAN without one */
    double model_mib, kv_mib, compute_mib;
};
struct ostel_report_sweep_mark {
    double n_ctx, host_mib, gpu_mib; /* llama.cpp's measured buffers; NAN unknown */
    const char *run;                 /* borrowed: the run's name */
};
struct ostel_report_sweep {
    size_t n; /* 0 = no sweep: note says why */
    struct ostel_report_sweep_point pt[OSTEL_REPORT_SWEEP_MAX];
    bool gpu;           /* gpu_mib is meaningful (a discrete GPU) */
    double n_ctx_train; /* NAN unknown */
    char *params;       /* "cpu · cache f16/f16 · flash attention on", or NULL */
    struct ostel_report_sweep_mark *marks;
    size_t nmarks;
    char *note; /* why there is no sweep, or NULL */
};

struct ostel_report_group {
    char *label;  /* the key values joined by " · ": "q4", "q4 · 4096" */
    char *model;  /* the model file's name when all runs share one, else "(mixed)" */
    char *device; /* the main device when all runs with memory share one, else "" */
    size_t *runs; /* indices into the set, in start order */
    size_t n, n_ok;
    struct ostel_stats_summary stat[OSTEL_REPORT_NMETRIC]; /* over ok runs */
    double value[OSTEL_REPORT_NMETRIC];                    /* the headline (by the metric's agg) */
    double phase_value[OSTEL_REPORT_NPHASES][OSTEL_REPORT_NTEL];
    bool phase_present[OSTEL_REPORT_NPHASES];
    struct ostel_report_cmp cmp[OSTEL_REPORT_NMETRIC]; /* vs baseline; unset for the baseline */
    struct ostel_stats_trend trend[OSTEL_REPORT_NTREND];
    struct ostel_report_note *notes;
    size_t nnotes;
    char *interpretation;   /* a paragraph on which memory number to plan with, or NULL */
    double plan_mib;        /* the memory figure to plan capacity with; NAN when unknown */
    const char *plan_basis; /* static: "llama.cpp breakdown", "peak RSS", or NULL */
    size_t n_pred;          /* ok runs with a prediction */
    struct ostel_report_pred_row *pred;
    size_t npred;
    /* Over all devices: predicted and measured medians when the runs share one context (else
     * NAN), the error with the largest magnitude over the runs, and whether every run was within
     * the bars (1), one was not (0), or none said (-1). */
    struct ostel_report_cmpval pred_total[OSTEL_REPORT_PART_OUTPUT];
    int pred_within_bars;
    struct ostel_report_sweep sweep;
    double ram_mib, avail_mib; /* median over the runs; NAN unknown */
    long quality_run; /* index into the set of the quality pass of the group's tag, or -1 */
};

struct ostel_report_options {
    unsigned group_by;    /* OSTEL_REPORT_BY_*; 0 = by tag */
    const char *baseline; /* a group's label (or its first key's value); NULL = the first group */
};

struct ostel_report {
    const struct ostel_report_set *set; /* borrowed */
    struct ostel_report_group *groups;
    size_t ngroups, baseline;
    unsigned group_by;
    size_t run_charts; /* HTML: runs drawn as small multiples; 0 (what ostel_report_build sets) =
                          OSTEL_REPORT_RUN_CHARTS_DEFAULT; the caller may set it after the build */
    struct ostel_report_model *models; /* one per distinct model path of the runs; owned */
    size_t nmodels;
    bool gpu; /* some run has GPU telemetry: the GPU section and metrics are written */
};

/*
 * Builds the analysis of set (borrowed: it must outlive the report). Returns 0, or OSTEL_ERR with a
 * message in err (an unknown baseline, an empty set). Free with ostel_report_free().
 *
 * Its one I/O: the GGUF header of each distinct model file the runs name is read (bounded, once)
 * for the memory sweep; a file that is gone or unreadable only leaves that group without a sweep,
 * with the reason in its note. Everything else is computed from the set alone, so whatever loaded
 * the runs (directories, the database) the analysis is the same.
 */
int ostel_report_build(struct ostel_report *r, const struct ostel_report_set *set,
                       const struct ostel_report_options *opt, char *err, size_t err_size);
void ostel_report_free(struct ostel_report *r);

/* The report's record of a model path, or NULL when no run names it. */
const struct ostel_report_model *ostel_report_find_model(const struct ostel_report *r,
                                                         const char *path);

/* Trend names and which metric they follow. */
const char *ostel_report_trend_name(int trend);
int ostel_report_trend_metric(int trend);

/*
 * The report's tables, built once and rendered by the Markdown and HTML writers. Cell text is raw
 * (the renderer escapes it). ostel_report_tables_build allocates; ostel_report_tables_free
 * releases.
 */
struct ostel_report_cell {
    char *text;
    bool bold; /* the best value of its column */
    bool bad;  /* a value outside its bounds (a prediction error beyond the bar) */
};
struct ostel_report_table {
    const char *id;    /* static: "throughput", "memory", "prediction", "sweep", "telemetry",
                          "phases", "statistics", "comparison", "trends", "runs" */
    const char *title; /* static */
    char *caption;     /* a sentence on how to read it, or NULL */
    size_t ncols, nrows;
    char **head;                     /* ncols headers */
    bool *numeric;                   /* ncols: right-aligned */
    struct ostel_report_cell *cells; /* nrows * ncols, row-major */
};
struct ostel_report_tables {
    struct ostel_report_table *t;
    size_t n;
};
void ostel_report_tables_build(const struct ostel_report *r, struct ostel_report_tables *out);
/* Appends an empty table to ts (head copied; numeric: 'r' per right-aligned column, at most 18
 * columns) and returns it; the pointer moves when ts grows again. */
struct ostel_report_table *ostel_report_table_new(struct ostel_report_tables *ts, const char *id,
                                                  const char *title, size_t ncols,
                                                  const char *const *head, const char *numeric);
/* Appends a row of empty cells to t and returns its index. */
size_t ostel_report_table_row_add(struct ostel_report_table *t);
/* The serving tables (report_serve.c): per load level of every `ostel serve` run, latency and
 * throughput ("serve_latency") and the machine ("serve_system"); nothing when no run served. */
void ostel_report_serve_tables(const struct ostel_report *r, struct ostel_report_tables *out);

/* Serving by group (report_serve.c): each group's successful serve runs, level by level (levels
 * matched by name: "c4", "r0.5"), as statistics over the repetitions and a comparison with the
 * baseline group; the knee per group. Values come from summary.json's serve.levels[]. */
enum ostel_report_serve_metric {
    OSTEL_REPORT_SV_REQ_S,
    OSTEL_REPORT_SV_OUT_TPS,
    OSTEL_REPORT_SV_GOODPUT,
    OSTEL_REPORT_SV_TTFT_P50,
    OSTEL_REPORT_SV_TTFT_P99,
    OSTEL_REPORT_SV_ITL_P50,
    OSTEL_REPORT_SV_ITL_P99,
    OSTEL_REPORT_SV_E2E_P50,
    OSTEL_REPORT_SV_E2E_P99,
    OSTEL_REPORT_SV_QUEUE_P99,
    OSTEL_REPORT_SV_RSS_PEAK,
    OSTEL_REPORT_SV_CPU_MEAN,
    OSTEL_REPORT_SV_BUSY_MAX,        /* llama-server's requests_processing, highest scrape */
    OSTEL_REPORT_SV_DEFERRED_MAX,    /* its requests_deferred */
    OSTEL_REPORT_SV_KV_MAX,          /* its kv_cache_usage_ratio (absent on the pinned build) */
    OSTEL_REPORT_SV_GPU_MEM,         /* NVML: device memory used, peak in the level */
    OSTEL_REPORT_SV_GPU_PROC,        /* NVML: the server tree's memory, peak in the level */
    OSTEL_REPORT_SV_GPU_POWER,       /* NVML: mean power in the level */
    OSTEL_REPORT_SV_GPU_J_PER_TOKEN, /* NVML: the level's energy / its output tokens */
    OSTEL_REPORT_SV_N
};
struct ostel_report_serve_metric_info {
    const char *key, *label; /* "ttft_p99_ms", "TTFT p99 ms" */
    int decimals, better;    /* OSTEL_REPORT_BETTER_* */
    bool compare;            /* compared with the baseline */
};
const struct ostel_report_serve_metric_info *ostel_report_serve_metric_info(int m);
struct ostel_report_serve_level {
    char *name; /* "c4", "r0.5" */
    bool rate;  /* open loop */
    double value;
};
struct ostel_report_serve_cell {
    struct ostel_stats_summary stat[OSTEL_REPORT_SV_N]; /* over the runs that measured the level */
    struct ostel_report_cmp cmp[OSTEL_REPORT_SV_N];     /* vs the baseline's; unset for it */
    size_t runs;                                        /* runs of the group with this level */
    bool saturated; /* a run's level stopped early as saturated */
};
/* Distinct levels kept over all runs (names past it are left out: a summary from elsewhere with
 * thousands of levels must not make the report quadratic). */
#define OSTEL_REPORT_SERVE_LEVELS_MAX 256
struct ostel_report_serve {
    size_t nlevels; /* concurrency levels by value, then rates by value */
    struct ostel_report_serve_level *levels;
    size_t ngroups;                        /* the report's */
    struct ostel_report_serve_cell *cells; /* [group * nlevels + level] */
    size_t *serve_runs;                    /* per group: its successful serve runs */
    long *knee;                            /* per group: the knee's level index, or -1 */
    char **knee_why;                       /* per group: the reason, or why there is none */
    bool present[OSTEL_REPORT_SV_N];       /* some level of some run gave the metric */
};
/* Builds sv from r (borrowed); false (sv empty, nothing to free) when no successful run served. */
bool ostel_report_serve_build(const struct ostel_report *r, struct ostel_report_serve *sv);
void ostel_report_serve_free(struct ostel_report_serve *sv);
/* The group's "serve" object for the JSON report (levels with statistics and comparison, the
 * knee); the caller owns it. */
struct cJSON *ostel_report_serve_group_json(const struct ostel_report *r,
                                            const struct ostel_report_serve *sv, size_t group);
/* A serve run's levels as [{name, start, end}] in seconds from its series' first sample (the HTML
 * page's per-level timeline); empty without samples. The caller owns it. */
struct cJSON *ostel_report_serve_run_levels(const struct ostel_report_run *run);
/* Appends the serving columns to a CSV header (group < 0) or to group's row, each cell after a
 * comma. */
void ostel_report_serve_csv(const struct ostel_report *r, const struct ostel_report_serve *sv,
                            long group, struct ostel_buf *out);
void ostel_report_tables_free(struct ostel_report_tables *tables);
/* A sentence naming the groups without a memory sweep and why, or NULL when every group has one.
 * The caller frees it. */
char *ostel_report_sweep_notes(const struct ostel_report *r);
/* True when some group has a memory sweep (the HTML page then draws its chart). */
bool ostel_report_has_sweep(const struct ostel_report *r);
/* "normal", "warning", "critical" for a vm_pressure_flag value; "—" for NAN. */
const char *ostel_report_pressure_name(double flag);

/* Quality passes (report_quality.c): the loader's part (root is summary.json's object), the
 * grouping's (quality passes are set apart from speed and memory when the set has other runs, and
 * each group finds its tag's pass), the quality table, report.md's one line per group and the
 * HTML speed-memory-quality chart (an inline SVG). */
struct cJSON;
void ostel_report_quality_load(struct ostel_report_quality *q, const struct cJSON *root);
bool ostel_report_quality_apart(const struct ostel_report_set *set, size_t i);
void ostel_report_quality_link(struct ostel_report *r);
void ostel_report_quality_tables(const struct ostel_report *r, struct ostel_report_tables *ts);
void ostel_report_quality_md_lines(const struct ostel_report *r, struct ostel_buf *out);
void ostel_report_quality_html_chart(const struct ostel_report *r, struct ostel_buf *out);
/*
 * The KLD ratio a / b and its first-order error ratio * sqrt((ea/a)^2 + (eb/b)^2), which assumes
 * the two means independent (they are measured on the same tokens, so it is approximate). Pure.
 * false when a or b is not > 0; *err NAN when either error is unknown.
 */
bool ostel_report_quality_kld_ratio(double a, double ea, double b, double eb, double *ratio,
                                    double *err);
/*
 * The Pareto front of n models by memory (lower is better), speed (higher) and mean KLD (lower):
 * front[i] is true when no other model is at least as good in all three and better in one. Pure.
 */
void ostel_report_quality_pareto(const double *mem, const double *tps, const double *kld, size_t n,
                                 bool *front);
/* The group's quality pass for the JSON report (null without one); the caller owns it. */
struct cJSON *ostel_report_quality_json(const struct ostel_report *r, size_t group);

/* Output formats: pure writers that append to out (which the caller initialised with a cap). */
typedef void (*ostel_report_write_fn)(const struct ostel_report *r, struct ostel_buf *out);
struct ostel_report_format {
    const char *name; /* "md", "csv", "json", "html" */
    ostel_report_write_fn write;
};
const struct ostel_report_format *ostel_report_find_format(const char *name);

void ostel_report_md_write(const struct ostel_report *r, struct ostel_buf *out);
void ostel_report_csv_write(const struct ostel_report *r, struct ostel_buf *out);
void ostel_report_json_write(const struct ostel_report *r, struct ostel_buf *out);
void ostel_report_html_write(const struct ostel_report *r, struct ostel_buf *out);
/* True when this build embedded uPlot (the HTML report has charts). */
bool ostel_report_html_has_charts(void);

/* The JSON report's (schema "ostel.report") head as a cJSON tree: the document
 * ostel_report_json_write prints up to, not including, its "runs" member (which that writer writes
 * without a tree; the HTML page carries the runs in a compact form of its own). The caller owns
 * it (cJSON_Delete). */
struct cJSON;
struct cJSON *ostel_report_json_tree_head(const struct ostel_report *r);

/* Escapers used by the formats: append s to out. */
void ostel_report_escape_html(struct ostel_buf *out, const char *s);
/* Appends JSON text for embedding in <script type="application/json">: < > & U+2028 U+2029 as
 * \uXXXX. */
void ostel_report_escape_script_json(struct ostel_buf *out, const char *json);
/* Formats v with `decimals` and thousands separators ("12,345.6"); "—" for NAN. Returns out. */
char *ostel_report_fmt_num(double v, int decimals, char *out, size_t size);
/* "mean ± sd" of a summary, each as ostel_report_fmt_num writes it: the mean alone when there is
 * no SD (n < 2), "—" when there is no value. The caller frees it. */
char *ostel_report_fmt_mean_sd(const struct ostel_stats_summary *st, int decimals);
/* A p-value for a table: "<0.001", else three decimals; "—" for NAN. The caller frees it. */
char *ostel_report_fmt_p(double p);
/* A number for the CSV outputs: up to 4 decimals, trailing zeros trimmed, "-0" as "0"; nothing
 * for a value that is not finite (an empty cell). Appends to out. */
void ostel_report_csv_num(struct ostel_buf *out, double v);
/* A number for the JSON outputs: v to 6 significant digits, or null when it is not finite. The
 * caller owns the item. */
struct cJSON *ostel_report_json_num(double v);
/* An interval [lo, hi] of such numbers, or null when either end is NAN. The caller owns it. */
struct cJSON *ostel_report_json_pair(double lo, double hi);
/* The text cJSON_Print gives ostel_report_json_num(v), written into b without a cJSON item
 * ("null", "0", "1.5e-07", "123457000"); returns its length. */
size_t ostel_report_json_num_text(char b[32], double v);
/* The text cJSON_Print gives a number item of value d (cJSON_CreateNumber(d)): "%d" when d is an
 * int, else "%1.15g" or, when that does not read back, "%1.17g"; "null" when not finite. */
size_t ostel_report_json_double_text(char b[32], double d);

#endif
