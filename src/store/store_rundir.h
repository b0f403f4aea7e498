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

#include "rundir/rundir_metrics.h"
#include "rundir/rundir_validate.h"
#include "util/util.h"

#include <cJSON.h>

/* Whether metrics.csv column c is one of table samples' typed number columns: those with an SQL
 * type in the column table (rundir_metrics.h) but phase, which is TEXT. The others are kept in
 * samples.extra as their cells' text. */
bool ostel_store_col_typed(enum ostel_metric_col c);

/* Upper bounds on what import reads (bytes). */
#define OSTEL_STORE_MAX_METRICS_BYTES ((size_t)512 << 20)
#define OSTEL_STORE_MAX_SUMMARY_BYTES ((size_t)64 << 20)
#define OSTEL_STORE_MAX_CONFIG_BYTES ((size_t)1 << 20)

/* One metrics.csv row: the typed row (rundir_metrics.h; an empty cell is invalid, never 0), and the
 * cells of the columns the store has no typed column for. */
struct ostel_store_sample {
    struct ostel_metrics_row row;
    char *extra; /* JSON object of those cells ({"gpu0_mem_mb":"12"}), or NULL; owned by the reader,
                    valid until the next call */
};

/* Streams metrics.csv rows out of a buffer the caller keeps alive, through the run-directory
 * validator's scan (rundir_validate.h) and the column table's header mapping. */
struct ostel_store_metrics_reader {
    struct ostel_rundir_metrics_scan *scan; /* owned */
    struct ostel_metrics_header h;
    struct ostel_buf extra_buf; /* owned buffer behind sample.extra */
};

/*
 * Reads the header of metrics.csv held in (text, len); the text is borrowed and must outlive the
 * reader. Returns 0, or OSTEL_ERR with the validator's message in err (e.g. "line 1: no 'ts'
 * column").
 */
int ostel_store_metrics_reader_init(struct ostel_store_metrics_reader *r, const char *text,
                                    size_t len, char *err, size_t err_size);
/*
 * Reads the next row into *out. Returns 1 for a row, 0 at the end, OSTEL_ERR with a message in err
 * on a malformed row ("line 7: column rss_mb is not a number: 'abc'"). out->extra belongs to the
 * reader.
 */
int ostel_store_metrics_reader_next(struct ostel_store_metrics_reader *r,
                                    struct ostel_store_sample *out, char *err, size_t err_size);
void ostel_store_metrics_reader_free(struct ostel_store_metrics_reader *r);

/*
 * The same rows gathered while the run-directory validator reads metrics.csv (one pass over the
 * file): ostel_store_metrics_rows_sink() gives the sink for ostel_rundir_scan_metrics; after a scan
 * that succeeded, rows->on says whether the rows were gathered, and row i is rows[i].row as the
 * reader would have read it, its extra JSON at extra.data + extra_at[i] (valid while rows lives;
 * rows[i].extra is NULL).
 */
struct ostel_store_metrics_rows {
    bool on;
    size_t n, cap;
    struct ostel_metrics_header h;
    struct ostel_str names[OSTEL_METRICS_MAX_COLS]; /* the header's cells (text borrowed) */
    struct ostel_store_sample *rows;
    size_t *extra_at; /* offset in extra of row i's JSON, or SIZE_MAX */
    struct ostel_buf extra;
    /* the file's columns that go to samples.extra, in file order, and each one's JSON key with its
     * colon ("\"gpu0_mem_mb\":"), written once per file: key k ends at extra_key_end[k] */
    size_t nextra;
    uint16_t extra_col[OSTEL_METRICS_MAX_COLS];
    size_t extra_key_end[OSTEL_METRICS_MAX_COLS];
    struct ostel_buf extra_keys;
};
struct ostel_rundir_metrics_sink;
void ostel_store_metrics_rows_sink(struct ostel_store_metrics_rows *rows,
                                   struct ostel_rundir_metrics_sink *sink);
void ostel_store_metrics_rows_free(struct ostel_store_metrics_rows *rows);

/*
 * summary.json: parses and checks the envelope ("schema": "ostel.summary", schema_version 1, a
 * "run" object with a string "status"). Returns the parsed document (the caller frees it with
 * cJSON_Delete) or NULL with a message in err.
 */
cJSON *ostel_store_summary_parse(const char *text, size_t len, char *err, size_t err_size);
/* The same checks on an already parsed summary: 0, or OSTEL_ERR with a message in err. */
int ostel_store_summary_check(const cJSON *root, char *err, size_t err_size);

/*
 * The store's strictness over summary.json beyond the validator's: rundir's reader
 * (rundir_summary.h), through which the store reads the values, takes a value of the wrong type as
 * unknown, but the store refuses a run whose value has another type than the contract's where it
 * fills a typed column (a string, a finite number, a boolean; null and absent are fine). Each
 * returns NULL, or the dotted path of the first such value (a static string): the host's facts
 * (the machine), the run's identity, outcome and statistics (the run row).
 */
const char *ostel_store_summary_mistyped_host(const cJSON *root);
const char *ostel_store_summary_mistyped(const cJSON *root);

/*
 * Looks up a dotted path ("telemetry.overall.rss_peak_mib") in a summary. Returns 1 and sets *out
 * for a number, 0 when the value is absent or null, OSTEL_ERR when it is present with another type.
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
