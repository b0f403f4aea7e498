/*
 * rundir_summary: summary.json as a type (docs/run-directory.md, "summary.json"). One writer and
 * one reader: the runner fills a struct ostel_summary and writes it once (a study adds its
 * "scenario" before that write); `ostel run`, the study, quality and serve take the struct from the
 * runner's result instead of reading the file back; report and store read old and new run
 * directories through ostel_summary_from_json, which also holds the legacy keys of summaries that
 * older versions wrote (ostel_summary_llama_facts).
 *
 * The run's identity, outcome and host are typed fields; the sections other modules define (the
 * log parser's "llama", the GGUF facts "model_file", the memory model's "prediction", the
 * aggregator's "telemetry", the GPU's "gpu") are kept as JSON trees owned by the struct, and any
 * further top-level section (a study's "scenario", "quality", "serve") in `sections`, in order.
 * The writer prints the keys in the order docs/run-directory.md lists them, so a summary written
 * from the struct is the bytes the runner always wrote.
 *
 * Strings are owned (NULL = null in the file); numbers that may be unknown are NAN or, for counts,
 * negative. Nothing here prints but ostel_summary_read's read error (util's file reader).
 */
#ifndef OSTEL_RUNDIR_SUMMARY_H
#define OSTEL_RUNDIR_SUMMARY_H

#include <stdbool.h>
#include <stddef.h>

struct cJSON;

/* summary.json's "run" object. */
struct ostel_summary_run {
    char *run_id;         /* 32 hex digits; NULL in summaries older than run ids */
    char *tag;            /* NULL = null */
    char *status;         /* "ok", "failed", "killed", "timeout", "interrupted", "spawn_failed" */
    bool has_exit_code;   /* exit_code is known (the child exited) */
    int exit_code;        /* valid when has_exit_code */
    int signal;           /* the signal that ended the child, 0 none (or only named) */
    char *signal_name;    /* "SIGKILL"; NULL with signal != 0 writes the number */
    bool oom_killed;      /* the kernel's OOM killer ended it */
    bool has_oom_killed;  /* the reader's: run.oom_killed was a boolean (the writer always writes
                             one, but for a process ostel did not start: external) */
    char *oom_scope;      /* where OOM kills were counted, or NULL */
    double start_ts_s;    /* Unix time; written rounded to ms */
    double end_ts_s;      /* Unix time; written rounded to ms */
    double wall_s;        /* end - start; written rounded to ms */
    char **argv;          /* the child's argv (argc entries, owned) */
    size_t argc;          /* entries in argv */
    char *tool;           /* "llama-completion", "llama-server", "command"…, or NULL */
    char *model;          /* the model path, or NULL */
    long long ctx, gen;   /* < 0 = null */
    char *scenario;       /* "none" unless a study says otherwise */
    int repetition;       /* <= 0 = null (not part of a study) */
    double prompt_tokens; /* run.tokens.prompt, NAN = null */
    double gen_tokens;    /* run.tokens.generated (eval runs + 1), NAN = null */
    bool log_complete;    /* the log holds the tool's timings (llama.cpp issue 22142) */
    char *interrupted_by; /* the signal that interrupted ostel ("SIGINT"), or NULL */
    char *error;          /* why an artifact could not be written, or NULL */
    /* A process ostel did not start (`ostel serve --url`): its sampler's rows and the pid it
     * watched; < 0 = not written (every run ostel starts). */
    long long samples, watched_pid;
};

/* summary.json's "host" object: what config.txt's host lines say, typed. */
struct ostel_summary_host {
    char *hostname, *os, *os_version, *kernel, *arch, *cpu_model; /* NULL = null */
    double cpu_cores;                                             /* NAN = null */
    double ram_mib, swap_mib;                                     /* NAN = null */
    char *platform;                                               /* the platform backend */
    char *gpu; /* the GPUs read during the run, ", "-separated, or NULL */
};

struct ostel_summary {
    char *ostel_version; /* the ostel that wrote it */
    struct ostel_summary_run run;
    /* Sections other modules define, owned; NULL = null. */
    struct cJSON *llama;      /* the log parser's JSON (docs/parse.md) */
    struct cJSON *model_file; /* the GGUF facts (docs/gguf.md) */
    struct cJSON *prediction; /* the memory model against llama.cpp's buffers (docs/fit.md) */
    struct cJSON *telemetry;  /* per-phase statistics, ostel_cpu, phase_starts */
    struct cJSON *gpu;        /* the GPU object (docs/gpu.md) */
    struct ostel_summary_host host;
    /* Further top-level sections in the order they were added ("scenario", "quality", "serve"),
     * as one owned object, or NULL when there are none. */
    struct cJSON *sections;
    /* The summary of a process ostel did not start (`ostel serve --url`): the writer prints only
     * what ostel knows of it — run's run_id, tag, status, start_ts, end_ts, wall_s, tool, samples,
     * watched_pid and error (when set), then the sections; no llama, model_file, prediction,
     * telemetry, gpu or host. The reader never sets it (such a summary reads as any other, its
     * absent values unknown). */
    bool external;
};

/* A summary with every value unknown (strings NULL, numbers NAN, counts -1). */
void ostel_summary_init(struct ostel_summary *s);
/* Frees everything s owns and leaves it as ostel_summary_init does. */
void ostel_summary_free(struct ostel_summary *s);

/* Sets s's field *dst to a copy of v (NULL stays NULL); the old value is freed. */
void ostel_summary_set_str(char **dst, const char *v);

/* Adds the top-level section `key` (owned by s from now on), replacing one of that name: the old
 * one is removed and the new one goes last, as every rewriter of summary.json did. */
void ostel_summary_set_section(struct ostel_summary *s, const char *key, struct cJSON *section);
/* The top-level section `key` (borrowed), or NULL. */
const struct cJSON *ostel_summary_section(const struct ostel_summary *s, const char *key);

/* summary.json as a JSON tree; the caller cJSON_Delete()s it. s is only read (its trees copied). */
struct cJSON *ostel_summary_to_json(const struct ostel_summary *s);
/* summary.json's text: the tree pretty-printed with a final newline; *len its length. The caller
 * frees it. */
char *ostel_summary_text(const struct ostel_summary *s, size_t *len);
/* Writes DIR/summary.json atomically. Prints nothing: returns 0 or the errno of the step that
 * failed (ENOSPC, EFBIG…). */
int ostel_summary_write(const char *dir, const struct ostel_summary *s);
/* The text and the atomic write of a summary.json tree as the struct's writer prints it, for a
 * caller that must write a shape the struct does not hold (`ostel serve --url`'s summary of a
 * process it did not start: no llama, no host). */
char *ostel_summary_json_text(const struct cJSON *root, size_t *len);
int ostel_summary_write_json(const char *dir, const struct cJSON *root);

/*
 * Reads a parsed summary.json into *out (initialised here; free it with ostel_summary_free() also
 * after an error). root is only read: the sections are copied. Refuses a tree that is not an ostel
 * summary of schema version 1 or has no "run" object, with "not an ostel summary (…)",
 * "unsupported schema_version (…)" or "no \"run\" object" in err. A value of the wrong type is
 * unknown, not an error (rundir_validate.c judges the file). Older summaries load too: a "run"
 * without run_id, a run.scenario that is an object with a "name".
 */
int ostel_summary_from_json(const struct cJSON *root, struct ostel_summary *out, char *err,
                            size_t err_size);
/* ostel_summary_from_json without copying the sections: s's trees borrow root's (root must
 * outlive s; ostel_summary_free() frees only what s owns). For readers that hold the parsed tree
 * anyway (report, store): the sections are not copied for each of thousands of runs. */
int ostel_summary_view(const struct cJSON *root, struct ostel_summary *out, char *err,
                       size_t err_size);
/* The same from the file's bytes (data need not end in NUL). */
int ostel_summary_parse(const char *data, size_t len, struct ostel_summary *out, char *err,
                        size_t err_size);
/* DIR/summary.json read and parsed (at most 256 MiB); err says "missing" for a run without one. */
int ostel_summary_read(const char *dir, struct ostel_summary *out, char *err, size_t err_size);

/*
 * The llama.cpp facts a reader takes from the "llama" and "model_file" sections, with the keys
 * of every layout ostel has written: the log parser's nested one ("timings.gen_tps", "model.type",
 * "build.text", "memory_breakdown") and the older flat one ("gen_tps", "model_type", "build",
 * "breakdown"); the first present wins. Numbers NAN and strings NULL when no layout has them;
 * strings and trees are borrowed from s.
 */
struct ostel_summary_llama_facts {
    double prompt_tps, gen_tps;       /* tokens/s */
    double prompt_tokens, gen_tokens; /* llama.cpp's own counts (gen: eval runs) */
    double load_ms, prompt_ms, gen_ms;
    double size_mib;                           /* the model's size as llama.cpp printed it */
    double n_params;                           /* the model's parameters */
    const char *arch, *model_desc, *file_type; /* "llama", "1B", "Q4_K - Medium" */
    const char *version;                       /* llama.cpp's build line */
    const struct cJSON *breakdown, *buffers;   /* memory table and buffer lines, or NULL */
    double mf_n_params, mf_size_bytes;         /* model_file's */
    const char *mf_file_type;                  /* model_file's */
    /* gen_tps from llama.cpp's timings lines alone, never the server's progress line (which
     * gen_tps falls back to): what the store's runs.gen_tok_s holds */
    double timings_gen_tps;
};
void ostel_summary_llama_facts(const struct ostel_summary *s,
                               struct ostel_summary_llama_facts *out);

/* The signal that ended the run as the report shows it and the store's runs.signal holds it: its
 * name ("SIGKILL"), "signal N" for one the writer wrote as a number (it has no name for it:
 * SIGQUIT, SIGUSR1…), or NULL for none. Returns r's string or buf (written, size bytes). */
const char *ostel_summary_signal_text(const struct ostel_summary_run *r, char *buf, size_t size);

/* summary.json's values by dotted path ("llama.timings.gen_tps"), for its readers: the item or
 * NULL; a finite number or NAN; a string or NULL; a whole number within ±1e15 or -1. */
const struct cJSON *ostel_summary_jpath(const struct cJSON *o, const char *path);
double ostel_summary_jnum(const struct cJSON *o, const char *path);
const char *ostel_summary_jstr(const struct cJSON *o, const char *path);
long long ostel_summary_jint(const struct cJSON *o, const char *path);

#endif
