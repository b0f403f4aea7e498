/*
 * store_rundir: pure readers of a run directory's files (docs/run-directory.md) for the store.
 *
 * Nothing here prints or touches SQL: each reader takes bytes already in memory, validates them
 * against the contract and fills an error buffer on bad input, so `ostel db import` can refuse a
 * corrupt run before anything is written. db import takes metrics.csv's rows as its validation
 * scanned them (ostel_store_metrics_rows_sink: the typed values and each row's extra columns as
 * JSON, held in memory for the run, about 170 bytes a row); the row iterator
 * (ostel_store_metrics_reader) is the fallback that streams a row at a time, used when that
 * gathering did not happen or its extra-column buffer reached its cap.
 */
#ifndef OSTEL_STORE_RUNDIR_H
#define OSTEL_STORE_RUNDIR_H

#include "util/util.h"

#include <cJSON.h>

/* The numeric columns of metrics.csv that the store keeps as typed columns (phase is separate). */
enum ostel_store_metric {
    OSTEL_STORE_METRIC_TS,
    OSTEL_STORE_METRIC_RSS_MB,
    OSTEL_STORE_METRIC_CPU_PCT,
    OSTEL_STORE_METRIC_VM_PRESSURE_FLAG,
    OSTEL_STORE_METRIC_AVAIL_MEM_LEVEL,
    OSTEL_STORE_METRIC_PAGEINS_DELTA,
    OSTEL_STORE_METRIC_PAGEOUTS_DELTA,
    OSTEL_STORE_METRIC_RSS_ANON_MB,
    OSTEL_STORE_METRIC_RSS_FILE_MB,
    OSTEL_STORE_METRIC_SWAP_MB,
    OSTEL_STORE_METRIC_MINFLT_DELTA,
    OSTEL_STORE_METRIC_MAJFLT_DELTA,
    OSTEL_STORE_METRIC_THREADS,
    OSTEL_STORE_METRIC_SYS_AVAIL_MB,
    OSTEL_STORE_METRIC_SWAPIN_DELTA,
    OSTEL_STORE_METRIC_SWAPOUT_DELTA,
    OSTEL_STORE_METRIC_PSI_SOME_PCT,
    OSTEL_STORE_METRIC_PSI_FULL_PCT,
    OSTEL_STORE_METRIC_COUNT
};

/* The metrics.csv column name of a metric ("rss_mb"); a static string. */
const char *ostel_store_metric_name(int metric);
/* The phase names in the order of their codes 1..4 ("load" … "teardown"); 0 = empty. Static. */
const char *ostel_store_phase_name(int phase);

/* Upper bounds on what import reads (bytes). */
#define OSTEL_STORE_MAX_METRICS_BYTES ((size_t)512 << 20)
#define OSTEL_STORE_MAX_SUMMARY_BYTES ((size_t)64 << 20)
#define OSTEL_STORE_MAX_CONFIG_BYTES ((size_t)1 << 20)
#define OSTEL_STORE_MAX_COLUMNS 256

/* One metrics.csv row. Cells that were empty have their bit clear in `valid`. */
struct ostel_store_sample {
    double v[OSTEL_STORE_METRIC_COUNT];
    uint32_t valid; /* bit i set when v[i] was present */
    int phase;      /* 0 empty, 1..4 see ostel_store_phase_name */
    char *extra; /* JSON object of columns the store does not know ({"gpu0_mem_mb":"12"}), or NULL;
                    owned by the reader, valid until the next call */
};

/* Streams metrics.csv rows out of a buffer the caller keeps alive. */
struct ostel_store_metrics_reader {
    struct ostel_str rest;                /* what is left to read (borrowed) */
    size_t ncols;                         /* header cells */
    int col_map[OSTEL_STORE_MAX_COLUMNS]; /* per header cell: metric index, -1 phase, -2 extra */
    char *col_names[OSTEL_STORE_MAX_COLUMNS]; /* owned copies of the header cells */
    size_t line;                              /* 1-based line number of the last row read */
    struct ostel_buf extra_buf;               /* owned buffer behind sample.extra */
};

/*
 * Reads the header of metrics.csv held in (text, len); the text is borrowed and must outlive the
 * reader. Returns 0, or -1 with a message in err (e.g. "line 1: no 'ts' column").
 */
int ostel_store_metrics_reader_init(struct ostel_store_metrics_reader *r, const char *text,
                                    size_t len, char *err, size_t err_size);
/*
 * Reads the next row into *out. Returns 1 for a row, 0 at the end, -1 with a message in err on a
 * malformed row ("line 7: cell 'rss_mb' is not a number: 'abc'"). out->extra belongs to the reader.
 */
int ostel_store_metrics_reader_next(struct ostel_store_metrics_reader *r,
                                    struct ostel_store_sample *out, char *err, size_t err_size);
void ostel_store_metrics_reader_free(struct ostel_store_metrics_reader *r);

/*
 * The same rows gathered while the run-directory validator reads metrics.csv (one pass over the
 * file): ostel_store_metrics_rows_sink() gives the sink for ostel_rundir_scan_metrics; after a scan
 * that succeeded, rows->on says whether the rows were gathered (false where the reader must read
 * the file: a header of more than OSTEL_STORE_MAX_COLUMNS cells) and ostel_store_metrics_rows_get()
 * returns row i as the reader would have (extra valid while rows lives).
 */
struct ostel_store_metrics_rows {
    bool on;
    size_t ncols, n, cap;
    int col_map[OSTEL_STORE_MAX_COLUMNS];
    struct ostel_str names[OSTEL_STORE_MAX_COLUMNS]; /* borrowed from the scanned text */
    struct ostel_store_sample *rows;
    size_t *extra_at; /* offset in extra of row i's JSON, or SIZE_MAX */
    struct ostel_buf extra;
};
struct ostel_rundir_metrics_sink;
void ostel_store_metrics_rows_sink(struct ostel_store_metrics_rows *rows,
                                   struct ostel_rundir_metrics_sink *sink);
void ostel_store_metrics_rows_get(const struct ostel_store_metrics_rows *rows, size_t i,
                                  struct ostel_store_sample *out);
void ostel_store_metrics_rows_free(struct ostel_store_metrics_rows *rows);

/*
 * config.txt: validates that every non-empty line is key=value (keys [A-Za-z0-9_.-]). Returns 0 or
 * -1 with a message in err. Values are read with rundir's ostel_config_get().
 */
int ostel_store_config_validate(const char *text, size_t len, char *err, size_t err_size);

/*
 * summary.json: parses and checks the envelope ("schema": "ostel.summary", schema_version 1, a
 * "run" object with a string "status"). Returns the parsed document (the caller frees it with
 * cJSON_Delete) or NULL with a message in err.
 */
cJSON *ostel_store_summary_parse(const char *text, size_t len, char *err, size_t err_size);
/* The same checks on an already parsed summary: 0, or -1 with a message in err. */
int ostel_store_summary_check(const cJSON *root, char *err, size_t err_size);

/*
 * Looks up a dotted path ("telemetry.overall.rss_peak_mib") in a summary. Returns 1 and sets *out
 * for a number, 0 when the value is absent or null, -1 when it is present with another type.
 */
int ostel_store_json_number(const cJSON *root, const char *path, double *out);
/* Like ostel_store_json_number for strings; *out is borrowed from root. */
int ostel_store_json_string(const cJSON *root, const char *path, const char **out);
/* The value at a dotted path, or NULL (borrowed from root). */
const cJSON *ostel_store_json_get(const cJSON *root, const char *path);

/* FNV-1a 64 of bytes, from the published offset basis (util/fnv.h), as 16 lowercase hex digits
 * into out (at least 17 bytes). Not cryptographic: it names studies and machines, it does not
 * protect anything. */
void ostel_store_hash_hex(const void *data, size_t len, char out[17]);

#endif
