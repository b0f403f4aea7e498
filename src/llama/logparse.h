/*
 * logparse: a pure parser of llama.cpp logs (and of logs of runtimes that embed it:
 * llama-cpp-python, Ollama, wrappers) held in memory. It extracts the perf/timing block, buffer
 * sizes, the memory breakdown table, model and context facts, llama-bench results and
 * perplexity/KL-divergence summaries, from logs of every llama.cpp age since mid-2023 (see
 * docs/parse.md for the formats and the traps). Unknown lines are skipped; a value the log does not
 * print stays invalid (null in JSON), never 0. The parser never prints and never allocates without
 * bound.
 *
 * A small line classifier (ostel_logparse_classify_line) lets the runner mark phase boundaries
 * while a run is in progress.
 */
#ifndef OSTEL_LOGPARSE_H
#define OSTEL_LOGPARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

/* A number the log may or may not print. value may be +inf (llama.cpp prints "inf tokens/s"). */
struct ostel_logval {
    double value;
    bool valid;
};

enum ostel_logparse_format {
    OSTEL_LOGPARSE_FORMAT_NONE = 0,
    OSTEL_LOGPARSE_FORMAT_PRINT_TIMINGS, /* llama_print_timings: (2023 to mid-2024) */
    OSTEL_LOGPARSE_FORMAT_PERF_CONTEXT,  /* llama_perf_context_print: (late 2024 on, library users)
                                          */
    OSTEL_LOGPARSE_FORMAT_COMMON_PERF,   /* common_perf_print: (current llama-completion/cli) */
    OSTEL_LOGPARSE_FORMAT_SERVER_TIMING, /* llama-server "slot print_timing:" block */
    OSTEL_LOGPARSE_FORMAT_SERVER_KV,     /* old llama-server "print_timings ... | tid=..." lines */
    OSTEL_LOGPARSE_FORMAT_CLI,           /* new llama-cli "[ Prompt: x t/s | Generation: y t/s ]" */
};

enum ostel_logparse_buffer_kind {
    OSTEL_LOGPARSE_BUF_MODEL = 0,
    OSTEL_LOGPARSE_BUF_KV,
    OSTEL_LOGPARSE_BUF_COMPUTE,
    OSTEL_LOGPARSE_BUF_OUTPUT,
    OSTEL_LOGPARSE_BUF_OTHER,
    OSTEL_LOGPARSE_BUF_KIND_COUNT
};

/* One timing block (the last complete one of the log). Times in ms. */
struct ostel_log_timings {
    enum ostel_logparse_format format;
    struct ostel_logval load_ms;
    struct ostel_logval prompt_ms, prompt_tokens, prompt_tps;
    struct ostel_logval gen_ms, gen_tokens, gen_tps; /* "eval time" = generation */
    struct ostel_logval total_ms, total_tokens;
    struct ostel_logval sampling_ms, sampling_runs, sampling_tps; /* sample(r)/sampling line */
    struct ostel_logval samplers_ms;                              /* common_perf "samplers time" */
    struct ostel_logval unaccounted_ms;
    struct ostel_logval graphs_reused;
    bool prompt_tps_derived, gen_tps_derived; /* computed from ms and tokens (mid-2023 format) */
    bool truncated;                           /* a line of the block was cut short */
};

struct ostel_log_buffer {
    enum ostel_logparse_buffer_kind kind;
    char backend[48]; /* "CUDA0", "CPU_Mapped", "MTL0_Mapped", "CUDA_Host", ... */
    double mib;
};

/* One row of the memory breakdown table, MiB as printed (may be negative or underflowed). */
struct ostel_log_breakdown_row {
    char device[128]; /* "CUDA0 (H100)", "Host", "CPU_REPACK" */
    struct ostel_logval total, free, self, model, context, compute, unaccounted;
};

struct ostel_log_device {
    char name[128]; /* "CUDA0 (NVIDIA GeForce GTX 1080)" as printed by "using device" */
    struct ostel_logval free_mib;
};

/* One llama-bench result row (markdown, JSON, JSONL or CSV output). */
struct ostel_log_bench_row {
    char model[96]; /* model type as printed: "llama 8B Q4_K - Medium" */
    char backend[48];
    char test[48]; /* "pp512", "tg128", "pp512 @ d512" (normalised: no space after pp/tg) */
    char type_k[16], type_v[16], flash_attn[16];
    struct ostel_logval size_mib, params, ngl, threads, n_batch, n_ubatch;
    struct ostel_logval n_prompt, n_gen, depth, avg_ts, stddev_ts;
};

struct ostel_log_perplexity {
    struct ostel_logval ppl, ppl_stderr;               /* Final estimate: PPL = x +/- y */
    struct ostel_logval mean_ppl_q, mean_ppl_q_stderr; /* --kl-divergence summary */
    struct ostel_logval mean_ppl_base, mean_ppl_base_stderr;
    struct ostel_logval kld_mean, kld_mean_stderr, kld_max, kld_p99_9, kld_p99, kld_p95, kld_p90;
    struct ostel_logval kld_median, kld_p10, kld_p5, kld_p1, kld_p0_1, kld_min;
    struct ostel_logval same_top_p_pct, same_top_p_stderr;
    struct ostel_logval ppl_cor_pct;                       /* Cor(ln(PPL(Q)), ln(PPL(base))) */
    struct ostel_logval ln_ppl_ratio, ln_ppl_ratio_stderr; /* Mean ln(PPL(Q)/PPL(base)) */
    struct ostel_logval ppl_ratio, ppl_ratio_stderr;       /* Mean PPL(Q)/PPL(base) */
    struct ostel_logval ppl_diff, ppl_diff_stderr;         /* Mean PPL(Q)-PPL(base) */
    struct ostel_logval mean_dp_pct, mean_dp_stderr;       /* Mean Δp, % */
    struct ostel_logval rms_dp_pct, rms_dp_stderr;         /* RMS Δp, % */
    struct ostel_logval n_chunks; /* "calculating perplexity over N chunks" / "computing over" */
    struct ostel_logval tokens_needed;    /* "you need at least N tokens" */
    struct ostel_logval tokens_have;      /* "tokenizes to only N tokens", "have N tokens" */
    struct ostel_logval seconds_per_pass; /* "X seconds per pass - ETA": the first batch's time */
    char error[256]; /* the first error line of perplexity/kl_divergence as printed, or "" */
};

/* Facts of one model load (print_info: / llm_load_print_meta: lines). */
struct ostel_log_model {
    char name[128], arch[48], type[32], file_type[64], size_printed[64];
    struct ostel_logval size_mib, bpw, params, n_ctx_train, n_layer, n_embd, n_head, n_head_kv;
    struct ostel_logval n_vocab;
    bool vocab_only; /* this load read only the vocabulary (Ollama does one before the real load) */
    bool seen;       /* at least one fact was read */
};

/*
 * Header facts of print_info: / llm_load_print_meta: lines that the memory model needs and
 * struct ostel_log_model does not keep: the first plain non-zero number each key has anywhere in
 * the log (any load). 0 = not printed (or printed per layer). Not part of the JSON.
 */
struct ostel_log_header_extra {
    uint32_t head_dim_k, head_dim_v; /* n_embd_head_k, n_embd_head_v */
    uint32_t n_ff, n_swa;
};

#define OSTEL_LOGPARSE_MAX_BUFFERS 64
#define OSTEL_LOGPARSE_MAX_BREAKDOWN 32
#define OSTEL_LOGPARSE_MAX_DEVICES 16
#define OSTEL_LOGPARSE_MAX_BENCH 4096

/* Everything the parser found. Initialise with ostel_logparse_result_init, release with _free. */
struct ostel_log_result {
    struct ostel_log_timings timings;
    struct ostel_logval server_n_decoded, server_tg_tps; /* last server progress line */
    char decimal_separator;                              /* '.', ',' or 0 when no decimal seen */

    struct ostel_log_model model; /* the last full load; a vocab-only load before it is ignored */
    struct ostel_log_header_extra header_extra;
    int model_loads, vocab_only_loads;

    /* context */
    struct ostel_logval n_ctx, n_ctx_per_seq, n_seq_max, n_batch, n_ubatch;
    char flash_attn[16]; /* "0", "1", "auto", "enabled", "disabled" as printed; "" when absent */
    struct ostel_logval kv_size_mib, kv_cells, kv_k_mib, kv_v_mib;
    char kv_type_k[16], kv_type_v[16];
    struct ostel_logval offloaded_layers, offloadable_layers;

    struct ostel_log_device devices[OSTEL_LOGPARSE_MAX_DEVICES];
    size_t n_devices;
    struct ostel_logval recommended_max_working_set_mb; /* Metal, in MB as printed */

    struct ostel_log_buffer buffers[OSTEL_LOGPARSE_MAX_BUFFERS];
    size_t n_buffers;

    struct ostel_log_breakdown_row breakdown[OSTEL_LOGPARSE_MAX_BREAKDOWN];
    size_t n_breakdown;   /* rows of the last table printed; 0 = no table */
    int breakdown_tables; /* how many tables the log printed */

    char build[160]; /* the build/version line's text after its tag */
    struct ostel_logval build_number;
    char build_commit[48];
    char system_info[1024];

    struct ostel_log_bench_row *bench; /* owned; n_bench rows */
    size_t n_bench, cap_bench;

    struct ostel_log_perplexity perplexity;
    bool has_perplexity;
};

void ostel_logparse_result_init(struct ostel_log_result *r);
void ostel_logparse_result_free(struct ostel_log_result *r);

/*
 * Parses a whole log (data, len), which need not be NUL-terminated or text. r must have been
 * initialised; its previous content is released first. Returns 0, or OSTEL_ERR with a message in
 * err (of size err_size) for a hard failure (currently only a NULL argument): unknown or binary
 * content is not an error, it just yields invalid values. Borrows data only during the call.
 */
int ostel_logparse_parse(const char *data, size_t len, struct ostel_log_result *r, char *err,
                         size_t err_size);

/*
 * The result as a new cJSON object (schema: docs/parse.md); the caller owns it and frees it with
 * cJSON_Delete. MiB values, ms times, null for every value the log lacked. r is borrowed.
 */
cJSON *ostel_logparse_to_json(const struct ostel_log_result *r);

/* Static names: "common_perf", "model", "kv", ... ; NULL for FORMAT_NONE. */
const char *ostel_logparse_format_name(enum ostel_logparse_format f);
const char *ostel_logparse_buffer_kind_name(enum ostel_logparse_buffer_kind k);
/* "cuda", "metal", "sycl", "vulkan", "rocm", "cpu", ... guessed from buffers/devices; NULL if none.
 */
const char *ostel_logparse_platform(const struct ostel_log_result *r);
/* Sum of the buffers of one kind in MiB; invalid when the log printed none of that kind. */
struct ostel_logval ostel_logparse_buffer_total(const struct ostel_log_result *r,
                                                enum ostel_logparse_buffer_kind k);

/* Notable lines a runner watches for while the child runs (docs/parse.md lists the lines). */
enum ostel_logparse_event {
    OSTEL_LOGPARSE_EVENT_NONE = 0,
    OSTEL_LOGPARSE_EVENT_MODEL_LOAD_START, /* the model file is being opened */
    OSTEL_LOGPARSE_EVENT_MODEL_LOAD_DONE,  /* weights loaded, context about to be built */
    OSTEL_LOGPARSE_EVENT_CONTEXT_CREATED,  /* KV cache and compute buffers allocated */
    OSTEL_LOGPARSE_EVENT_PROMPT_START,     /* generation loop begins (prompt evaluation) */
    OSTEL_LOGPARSE_EVENT_PERF_START,       /* the perf/timing block begins: generation ended */
    OSTEL_LOGPARSE_EVENT_MEMORY_BREAKDOWN, /* the memory breakdown table begins */
};

/*
 * Classifies one line (without its newline; prefixes such as "0.04.427.185 I " are allowed). line
 * is borrowed and need not be NUL-terminated. Pure and cheap: safe to call on every line.
 */
enum ostel_logparse_event ostel_logparse_classify_line(const char *line, size_t n);
const char *ostel_logparse_event_name(enum ostel_logparse_event e);

#endif
