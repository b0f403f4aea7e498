/*
 * study: many runs as one reproducible experiment — models × contexts × generation lengths ×
 * background scenarios × repetitions, with warm-up, cool-down, interleaved order, a per-run
 * timeout, the SQLite store, progress and resume (docs/study.md).
 */
#ifndef OSTEL_STUDY_H
#define OSTEL_STUDY_H

#include "util/strlist.h"
#include "util/util.h"

#include <stdint.h>

/* What a study is. Every string is owned by the spec (ostel_study_spec_free). */
struct ostel_study_spec {
    char *name;
    struct ostel_strlist models; /* GGUF paths */
    struct ostel_strlist tags;   /* one label per model (default: the file's name less .gguf) */
    struct ostel_strlist ctxs;   /* numbers as text, validated */
    struct ostel_strlist gens;
    struct ostel_strlist scenarios; /* "none", "mem:…,cpu:…" (ostel hog SPEC), "cmd:PROGRAM ARGS" */
    struct ostel_strlist llama_args; /* extra llama.cpp arguments */
    long long repetitions;           /* >= 1 */
    bool warmup;                     /* one uncounted run per model first (default on) */
    uint64_t cooldown_ns;            /* fixed pause between runs; 0 = adaptive (default) */
    uint64_t cooldown_max_ns;        /* adaptive: wait at most this long (default 30 s) */
    uint64_t timeout_ns;             /* per run (default 30 min) */
    uint64_t interval_ns;            /* sampling (default 100 ms) */
    uint64_t hog_cycle_ns; /* mem scenarios: re-write every page once per this; 0 = hog's */
    char *tool;            /* llama-completion (default) or llama-cli */
    char *prompt, *prompt_file;
    long long seed;
    char *dir; /* study directory (default studies/<name>) */
    char *db;  /* database (default <dir>/ostel.db) */
    char *llama_bin;
    /* quality passes after the runs (docs/quality.md): keys quality, quality_base, quality_text,
     * quality_chunks, quality_ctx, quality_batch, quality_ubatch, quality_keep_logits */
    bool quality;
    char *quality_base, *quality_text;       /* NULL: the highest-precision model; no text */
    long long quality_chunks;                /* 0 = the whole text */
    long long quality_ctx;                   /* 0 = 512 */
    long long quality_batch, quality_ubatch; /* -b, -ub; 0 = llama-perplexity's own */
    bool quality_keep_logits;                /* keep the base logits file at the end */
    /* GPU telemetry (docs/gpu.md): key gpu_interval */
    uint64_t gpu_interval_ns; /* 0 = the runner's default (100 ms), UINT64_MAX = off */
    /* serving (docs/serve.md "In a study"): each cell is llama-server under `ostel serve`'s load
     * instead of a llama-completion run; keys serve (on), and [serve]'s concurrency, rate,
     * arrivals, requests, duration, warmup, prompt_tokens, output_tokens, slo, parallel, timeout
     * (the table names them serve_*) */
    bool serve;
    char *serve_concurrency, *serve_rate; /* levels as text (util/optval.h); NULL = not given */
    char *serve_arrivals;                 /* poisson or constant; NULL = poisson */
    long long serve_requests;             /* measured requests per level (default 32) */
    uint64_t serve_duration_ns;           /* measured time per level instead; 0 = by count */
    long long serve_warmup;               /* uncounted requests per level (default 2) */
    char *serve_prompt_tokens, *serve_output_tokens; /* N, N:SD or MIN-MAX; NULL = 512, 256 */
    char *serve_slo;                                 /* NULL = ttft=500ms,itl=50ms,e2e=10s */
    long long serve_parallel;                        /* llama-server -np; 0 = its own */
    uint64_t serve_timeout_ns;                       /* per request (default 10 min) */
};

/* How a key's text becomes its field of struct ostel_study_spec, and how it is written back. */
enum ostel_study_kind {
    OSTEL_STUDY_STR,       /* char *: any text */
    OSTEL_STUDY_TOOL,      /* char *: llama-completion or llama-cli */
    OSTEL_STUDY_LIST,      /* struct ostel_strlist: comma-separated, empty cells refused */
    OSTEL_STUDY_COUNTS,    /* the same, each a number in [min, max] */
    OSTEL_STUDY_SCENARIOS, /* the same, a cmd: entry ends the list, '+' joins a hog's kinds */
    OSTEL_STUDY_ARGS,      /* struct ostel_strlist: split on blanks */
    OSTEL_STUDY_INT,       /* long long in [min, max] */
    OSTEL_STUDY_BOOL,      /* bool: true/yes/1/on or false/no/0/off, written true or false */
    OSTEL_STUDY_ONOFF,     /* the same, written on or off */
    OSTEL_STUDY_DURATION,  /* uint64_t ns in [min, max] (max 0: no bound); a bare number in unit_ns
                            */
    OSTEL_STUDY_COOLDOWN,  /* a duration, or auto (0) */
    OSTEL_STUDY_DURATION_OFF, /* a duration in [min, max], or off (UINT64_MAX); 0 = not set */
    OSTEL_STUDY_LEVELS,   /* char *: a list of numbers (util/optval.h), integers when min is 1 */
    OSTEL_STUDY_LENGTH,   /* char *: a token length, N, N:SD or MIN-MAX */
    OSTEL_STUDY_SLO,      /* char *: ttft=DUR,itl=DUR,e2e=DUR */
    OSTEL_STUDY_ARRIVALS, /* char *: poisson or constant */
};

/* When a key is part of the canonical text (what is stored and hashed). */
enum ostel_study_canon {
    OSTEL_STUDY_CANON_ALWAYS,
    OSTEL_STUDY_CANON_IF_SET,         /* a string that is not NULL, a duration that is not 0 */
    OSTEL_STUDY_CANON_QUALITY,        /* while quality is on (a NULL string as canon_default) */
    OSTEL_STUDY_CANON_QUALITY_IF_SET, /* while quality is on and the number is not 0 (keys added
                                         later: a study that does not set them keeps its hash) */
    OSTEL_STUDY_CANON_NEVER,          /* where the study goes, not what it is */
    OSTEL_STUDY_CANON_NOT_SERVE,      /* unless the study serves (gen, tool: a run cell's only) */
    OSTEL_STUDY_CANON_SERVE,          /* in a [serve] section, without "serve_", while serving */
};

enum {
    OSTEL_STUDY_EMPTY_IS_UNSET = 1,   /* an empty value sets the string back to NULL */
    OSTEL_STUDY_TURNS_ON_QUALITY = 2, /* a value turns quality on */
    OSTEL_STUDY_TURNS_ON_SERVE = 4,   /* a value turns serving on */
};

/*
 * One key of a study (curl's habit: one table, run/study_spec.c, serves the study file's keys,
 * `ostel study`'s options and --help, and the canonical writer, in the canonical text's order).
 */
struct ostel_study_key {
    const char *key;    /* in a study file and the canonical text */
    const char *alias;  /* a second name in a study file, or NULL */
    const char *option; /* `ostel study`'s long option, or NULL (no option) */
    int short_opt;      /* its letter, or 0 */
    enum ostel_study_kind kind;
    size_t offset;                    /* offsetof(struct ostel_study_spec, field) */
    const char *argname, *env, *help; /* the option's --help (struct ostel_option) */
    int64_t min, max;                 /* range (see the kinds) */
    uint64_t unit_ns;                 /* durations: a bare number's unit; 1 ms writes ms, else s */
    const char *what;                 /* refusals: "KEY: 'VALUE' is not WHAT" */
    enum ostel_study_canon canon;
    const char *canon_default; /* a string's text while it is NULL */
    unsigned flags;            /* OSTEL_STUDY_EMPTY_IS_UNSET, ... */
};

/* The table, *n entries. */
const struct ostel_study_key *ostel_study_keys(size_t *n);
/* The key called name (or with that alias), or NULL. */
const struct ostel_study_key *ostel_study_key_find(const char *name);

void ostel_study_spec_init(struct ostel_study_spec *s);
void ostel_study_spec_free(struct ostel_study_spec *s);

/*
 * Sets one key of the spec from text (its row of the key table, found by name or alias), as a study
 * file's [study] section or a flag would; returns 0, or OSTEL_ERR with a message in err ("unknown
 * key 'x'", "ctx: 'abc' is not a list of token counts"). Later calls for the same key replace the
 * value.
 */
int ostel_study_spec_set(struct ostel_study_spec *s, const char *key, const char *value, char *err,
                         size_t err_size);
/*
 * Reads a study file (INI). Returns 0, or OSTEL_ERR after printing "FILE:LINE: what is wrong" (or
 * "FILE: ..." for a file-level problem).
 */
int ostel_study_spec_read_file(struct ostel_study_spec *s, const char *path);
/* Checks completeness and fills defaults (tags, dir, db). Returns 0 or OSTEL_ERR with a message in
 * err. */
int ostel_study_spec_finish(struct ostel_study_spec *s, char *err, size_t err_size);
/* The spec as canonical INI text (what is stored and hashed). The caller frees it. */
char *ostel_study_spec_canonical(const struct ostel_study_spec *s);

/* FNV-1a 64-bit of data as 16 lowercase hex digits into out[17], from the legacy offset basis
 * OSTEL_SPEC_HASH_BASIS_LEGACY (util/fnv.h): run resume keys and study names depend on its value.
 */
void ostel_study_hash_hex(const void *data, size_t len, char out[17]);

/* One planned run of the matrix. */
struct ostel_study_run {
    size_t index;       /* position in the execution order (0-based) */
    size_t model;       /* index into spec->models / tags */
    long long ctx, gen; /* gen -1 in a serving study */
    size_t scenario;    /* index into spec->scenarios */
    long long rep;      /* 1-based */
    char hash[17];      /* the run's spec hash (resume key) */
    char *dir_name;     /* "007-q4-mem_70_-c4096-n256-r2", a serve cell "007-q4-none-c4096-serve-r2"
                           (owned) */
};

/*
 * Expands the matrix in execution order: repetition by repetition, each repetition going through
 * the combinations rotated by one more place, so that slow drift of the machine (thermal, page
 * cache) spreads over every group instead of landing on one. *runs is owned by the caller
 * (ostel_study_plan_free).
 */
int ostel_study_plan(const struct ostel_study_spec *s, struct ostel_study_run **runs, size_t *n);
void ostel_study_plan_free(struct ostel_study_run *runs, size_t n);

struct ostel_run_spec;
struct ostel_store;
struct ostel_run_result;

struct ostel_study_options {
    bool quiet;
    bool progress_bar;    /* redraw one line on a terminal (else one line per run) */
    const char *self_exe; /* the ostel binary, for `ostel hog` scenarios */
    int shard, shards;    /* run only shard K of N of the matrix (study_shard.h); shards 0 = all */
    struct ostel_prom *prom; /* live telemetry of every run (run/prom.h), or NULL; borrowed */
    bool wait_lock; /* --wait: wait for another study of the same directory instead of refusing */
    /* Writes the study's reports once its runs are done (cmd/, which may know report/), or NULL
     * for none; 0 ok, nonzero after printing. */
    int (*write_reports)(const struct ostel_study_spec *spec, const char *runs_dir);
    /* Makes one cell of a serving study (cmd/ sets it to serve/serve_study.h's
     * ostel_serve_study_run; run/ may not call up into serve/): llama-server (the path `server`)
     * with rs's model, ctx, scenario and directory under the spec's load, as ostel_runner_run
     * would; warmup: a short load that only warms the model. arg is run_serve_arg (what the cells
     * keep of each model across the study). NULL in a study that cannot serve. */
    int (*run_serve)(void *arg, const struct ostel_study_spec *spec, const char *server,
                     const struct ostel_run_spec *rs, bool warmup, struct ostel_run_result *res);
    void *run_serve_arg;
    /* Runs the study's quality passes after its runs (cmd/ sets it to quality/quality_study.h's
     * ostel_quality_study_run; run/ may not call into quality/), storing them under study_id in
     * store; returns 0, a failure, or 128 + a signal. NULL in a study that cannot make them. */
    int (*run_quality)(const struct ostel_study_spec *spec, struct ostel_store *store,
                       int64_t study_id, bool quiet, bool progress_bar);
};

/*
 * One writer per study directory (study_lock.c): takes DIR/.lock exclusively (flock, released by
 * the kernel when the process dies). Another holder: refused at once with one line naming its pid,
 * or waited for when `wait`. Returns the lock's descriptor (close-on-exec), or -1 after printing.
 */
int ostel_study_lock(const char *dir, bool wait);
void ostel_study_unlock(int fd);

/*
 * Runs the study: store, warm-up, the plan (skipping runs already complete in the database), the
 * report. Returns 0 when every run was done (whatever each run's outcome), 2 for a model, prompt
 * file or llama.cpp tool that is not there, 1 when the study could not go on (printed), or
 * 128+signal when interrupted.
 */
int ostel_study_execute(const struct ostel_study_spec *s, const struct ostel_study_options *o);

#endif
