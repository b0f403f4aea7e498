/*
 * study: many runs as one reproducible experiment — models × contexts × generation lengths ×
 * background scenarios × repetitions, with warm-up, cool-down, interleaved order, a per-run timeout,
 * the SQLite store, progress and resume (docs/study.md).
 */
#ifndef OSTEL_STUDY_H
#define OSTEL_STUDY_H

#include "util/util.h"

#include <stdint.h>

/* A list of owned strings; v is NULL-terminated (usable as an argv) once anything is pushed. */
struct ostel_strlist {
    char **v;
    size_t n;
};
void ostel_strlist_push(struct ostel_strlist *l, const char *s);
void ostel_strlist_free(struct ostel_strlist *l);
/* Splits "a, b,c" on commas (cells trimmed, empty cells refused); false on an empty cell. */
bool ostel_strlist_split(struct ostel_strlist *l, const char *text);
/* Replaces the list with text split on runs of blanks (no shell, no quoting). */
void ostel_strlist_split_blanks(struct ostel_strlist *l, const char *text);

/* What a study is. Every string is owned by the spec (ostel_study_spec_free). */
struct ostel_study_spec {
    char *name;
    struct ostel_strlist models;    /* GGUF paths */
    struct ostel_strlist tags;      /* one label per model (default: the file's name less .gguf) */
    struct ostel_strlist ctxs;      /* numbers as text, validated */
    struct ostel_strlist gens;
    struct ostel_strlist scenarios; /* "none", "mem:…,cpu:…" (ostel hog SPEC), "cmd:PROGRAM ARGS" */
    struct ostel_strlist llama_args; /* extra llama.cpp arguments */
    long long repetitions;          /* >= 1 */
    bool warmup;                    /* one uncounted run per model first (default on) */
    uint64_t cooldown_ns;           /* fixed pause between runs; 0 = adaptive (default) */
    uint64_t cooldown_max_ns;       /* adaptive: wait at most this long (default 30 s) */
    uint64_t timeout_ns;            /* per run (default 30 min) */
    uint64_t interval_ns;           /* sampling (default 100 ms) */
    uint64_t hog_cycle_ns;          /* mem scenarios: re-write every page once per this; 0 = hog's */
    char *tool;                     /* llama-completion (default) or llama-cli */
    char *prompt, *prompt_file;
    long long seed;
    char *dir;                      /* study directory (default studies/<name>) */
    char *db;                       /* database (default <dir>/ostel.db) */
    char *llama_bin;
    /* quality passes after the runs (docs/quality.md): keys quality, quality_base, quality_text,
     * quality_chunks, quality_ctx */
    bool quality;
    char *quality_base, *quality_text; /* NULL: the highest-precision model; no text */
    long long quality_chunks;          /* 0 = the whole text */
    long long quality_ctx;             /* 0 = 512 */
};

void ostel_study_spec_init(struct ostel_study_spec *s);
void ostel_study_spec_free(struct ostel_study_spec *s);

/*
 * Sets one key of the spec from text, as a study file's [study] section or a flag would; returns 0,
 * or -1 with a message in err ("unknown key 'x'", "ctx: 'abc' is not a number of tokens").
 * Later calls for the same key replace the value.
 */
int ostel_study_spec_set(struct ostel_study_spec *s, const char *key, const char *value, char *err,
                         size_t err_size);
/*
 * Reads a study file (INI). Returns 0, or -1 after printing "FILE:LINE: what is wrong" (or
 * "FILE: ..." for a file-level problem).
 */
int ostel_study_spec_read_file(struct ostel_study_spec *s, const char *path);
/* The quality keys of ostel_study_spec_set (src/quality/quality_study.c). */
int ostel_study_spec_set_quality(struct ostel_study_spec *s, const char *key, const char *value,
                                 char *err, size_t err_size);
/* Runs the study's quality passes into DIR/quality, storing them under study_id (after the runs;
 * src/quality/quality_study.c). Returns what ostel_quality_execute() returns. */
struct ostel_store;
int ostel_study_run_quality(const struct ostel_study_spec *s, struct ostel_store *store,
                            int64_t study_id, bool quiet, bool progress_bar);

/* Checks completeness and fills defaults (tags, dir, db). Returns 0 or -1 with a message in err. */
int ostel_study_spec_finish(struct ostel_study_spec *s, char *err, size_t err_size);
/* The spec as canonical INI text (what is stored and hashed). The caller frees it. */
char *ostel_study_spec_canonical(const struct ostel_study_spec *s);

/* FNV-1a 64-bit of data as 16 lowercase hex digits into out[17], from the legacy offset basis
 * OSTEL_SPEC_HASH_BASIS_LEGACY (util/fnv.h): run resume keys and study names depend on its value. */
void ostel_hash_hex(const void *data, size_t len, char out[17]);

/* One planned run of the matrix. */
struct ostel_study_run {
    size_t index;       /* position in the execution order (0-based) */
    size_t model;       /* index into spec->models / tags */
    long long ctx, gen;
    size_t scenario;    /* index into spec->scenarios */
    long long rep;      /* 1-based */
    char hash[17];      /* the run's spec hash (resume key) */
    char *dir_name;     /* "007-q4-mem_70_-c4096-n256-r2" (owned) */
};

/*
 * Expands the matrix in execution order: repetition by repetition, each repetition going through the
 * combinations rotated by one more place, so that slow drift of the machine (thermal, page cache)
 * spreads over every group instead of landing on one. *runs is owned by the caller
 * (ostel_study_plan_free).
 */
int ostel_study_plan(const struct ostel_study_spec *s, struct ostel_study_run **runs, size_t *n);
void ostel_study_plan_free(struct ostel_study_run *runs, size_t n);

struct ostel_study_options {
    bool quiet;
    bool progress_bar; /* redraw one line on a terminal (else one line per run) */
    const char *self_exe; /* the ostel binary, for `ostel hog` scenarios */
    int shard, shards;    /* run only shard K of N of the matrix (study_shard.h); shards 0 = all */
    struct ostel_prom *prom; /* live telemetry of every run (run/prom.h), or NULL; borrowed */
};

/*
 * Runs the study: store, warm-up, the plan (skipping runs already complete in the database), the
 * report. Returns 0 when every run was done (whatever each run's outcome), 2 for a model, prompt file
 * or llama.cpp tool that is not there, 1 when the study could not go on (printed), or 128+signal
 * when interrupted.
 */
int ostel_study_execute(const struct ostel_study_spec *s, const struct ostel_study_options *o);

#endif
