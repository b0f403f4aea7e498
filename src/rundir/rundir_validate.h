/*
 * rundir_validate: the one validator of a run directory's files (docs/run-directory.md, "What a
 * reader accepts"), used by every reader alike: `ostel report` on directories, `ostel report --db`
 * on stored runs, and `ostel db import` before anything is written. A run that fails is refused
 * whole.
 *
 * Pure: nothing here prints, reads files or allocates what outlives a call (but the JSON tree that
 * ostel_rundir_parse_summary hands over). Each function takes the
 * file's bytes (a NUL after them, as ostel_buf and SQLite text keep), strips a leading UTF-8 BOM in
 * place (*len shrinks), and returns 0, or OSTEL_ERR with "line 7: column rss_mb is …" (metrics.csv,
 * config.txt) or "run.wall_s: …" (summary.json, by path) in err.
 *
 * Refused in every file: NUL bytes. summary.json: not JSON, not an ostel summary, a number that is
 * not finite or beyond ±1e18, a negative duration (wall_s, *_ms timings, duration_s, ready_s,
 * end_ts before start_ts), an RSS below zero or beyond the RAM bound. metrics.csv: a header without
 * ts, a row whose cell count differs from the header's, a known column's cell that is not a finite
 * number within ±1e15, a negative ts, memory (the column table's MiB columns, rundir_metrics.h)
 * below zero or beyond the RAM bound, a CPU share below zero. config.txt: a line that is not
 * key=value.
 *
 * The RAM bound: three orders of magnitude above the machine's RAM as the run's summary.json
 * records it (host.ram_mib), or above 1 TiB when it does not: no run reaches it, a corrupt number
 * does.
 */
#ifndef OSTEL_RUNDIR_VALIDATE_H
#define OSTEL_RUNDIR_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>

#include "rundir/rundir_metrics.h"
#include "util/util.h"

/* What summary.json says that the other files are checked against. */
struct ostel_rundir_facts {
    double ram_mib; /* host.ram_mib, or NAN when the summary does not say */
};

void ostel_rundir_facts_init(struct ostel_rundir_facts *f);
/* The largest memory figure (MiB) a valid run may hold under these facts. */
double ostel_rundir_ram_bound_mib(const struct ostel_rundir_facts *f);

/* Strips a leading UTF-8 byte-order mark in place (the NUL after the data moves too). */
void ostel_rundir_strip_bom(char *data, size_t *len);

/* Each strips a BOM, then validates; facts (may be NULL for metrics: the default bound). */
int ostel_rundir_validate_summary(char *data, size_t *len, struct ostel_rundir_facts *facts,
                                  char *err, size_t err_size);
/* The same validation of summary.json, handing over its parsed tree (*root; the caller
 * cJSON_Delete()s it) so that a reader parses the file once; *root is NULL when it fails. */
struct cJSON;
int ostel_rundir_parse_summary(char *data, size_t *len, struct ostel_rundir_facts *facts,
                               struct cJSON **root, char *err, size_t err_size);
/* The same, the tree's nodes and strings allocated in arena (util/arena.h): *root lives until the
 * caller's ostel_arena_free(arena), and is only read (never cJSON_Delete()d or added to; what
 * cJSON prints from it is malloc'd as ever). One allocation a block instead of one a node, none
 * freed one by one: for a reader of thousands of summaries (`ostel report`). Safe on several
 * threads at once, each with its own arena. */
struct ostel_arena;
/* The tree cJSON_ParseWithLengthOpts(data, len, NULL, false) would build, parsed into arena by a
 * parser of JSON's own grammar; NULL where it gives up (anything else: cJSON decides). */
struct cJSON *ostel_rundir_json_parse_fast(const char *data, size_t len, struct ostel_arena *arena);
int ostel_rundir_parse_summary_arena(char *data, size_t *len, struct ostel_rundir_facts *facts,
                                     struct ostel_arena *arena, struct cJSON **root, char *err,
                                     size_t err_size);
int ostel_rundir_validate_metrics(char *data, size_t *len, const struct ostel_rundir_facts *facts,
                                  char *err, size_t err_size);
/* What a reader takes from metrics.csv while it is validated, so that the file is read once:
 * header() sees the header's cells and says whether row() is wanted; row() then gets each data row
 * the validator has accepted (in order; a later row may still be refused): its cells and their
 * values (NAN where a cell is empty or in a column that holds no number). */
struct ostel_rundir_metrics_sink {
    bool (*header)(void *ctx, const struct ostel_str *cells, size_t ncols);
    void (*row)(void *ctx, const struct ostel_str *cells, const double *vals, size_t ncols);
    void *ctx;
};
/* ostel_rundir_validate_metrics that also feeds sink (may be NULL). */
int ostel_rundir_scan_metrics(char *data, size_t *len, const struct ostel_rundir_facts *facts,
                              const struct ostel_rundir_metrics_sink *sink, char *err,
                              size_t err_size);
/* The same over bytes it may not change: a BOM is skipped, not stripped. */
int ostel_rundir_scan_metrics_text(const char *data, size_t len,
                                   const struct ostel_rundir_facts *facts,
                                   const struct ostel_rundir_metrics_sink *sink, char *err,
                                   size_t err_size);
/*
 * The same validation one row at a time, for a reader that pulls rows (the store's import when it
 * streams): _init reads and checks the header (0, or OSTEL_ERR with err), then each _next checks
 * the next data row and leaves its cells and values in cells[] and vals[] (NAN where empty or not a
 * number column): 1 for a row, 0 at the end, OSTEL_ERR with err. data is borrowed and must outlive
 * the scan (a BOM is skipped). About 20 KiB: allocate it.
 */
struct ostel_rundir_metrics_scan {
    size_t ncols;
    struct ostel_str header[OSTEL_METRICS_MAX_COLS];
    unsigned char rule[OSTEL_METRICS_MAX_COLS]; /* private: the rule per column */
    struct ostel_str cells[OSTEL_METRICS_MAX_COLS];
    double vals[OSTEL_METRICS_MAX_COLS];
    /* private */
    struct ostel_str rest;
    size_t lineno;
    double mem_max;
    struct ostel_str phase_seen; /* a phase cell already found known (or empty) */
};
int ostel_rundir_metrics_scan_init(struct ostel_rundir_metrics_scan *sc, const char *data,
                                   size_t len, const struct ostel_rundir_facts *facts, char *err,
                                   size_t err_size);
int ostel_rundir_metrics_scan_next(struct ostel_rundir_metrics_scan *sc, char *err,
                                   size_t err_size);
int ostel_rundir_validate_config(char *data, size_t *len, char *err, size_t err_size);

#endif
