/*
 * sampler: the fixed-interval telemetry loop. A thread of its own samples the watched process tree
 * and the system through the platform interface at absolute deadlines (clock_nanosleep; macOS,
 * which lacks it, sleeps the time left with nanosleep), so intervals do not drift; it turns two
 * consecutive samples into one metrics.csv row and writes the rows at least every 250 ms (at once
 * at intervals of 250 ms or more). Started with keep_rows (ostel_sampler_start_keep), it keeps
 * every row it wrote, and hands them over when it stops (ostel_sampler_finish_rows), so that the
 * runner labels phases and aggregates without reading metrics.csv back: 184 bytes a row, 6.6 MB an
 * hour at 100 ms, 66 MB at 10 ms. Nothing else is allocated inside the loop: buffers and the
 * platform's per-process state are prepared by start, and the kept rows grow with realloc by at
 * least 4096 rows at a time. An allocation that fails there (ENOMEM: ostel measures memory
 * pressure) drops the kept rows and keeps no more, and sampling and metrics.csv go on; the caller
 * is told the rows are incomplete and reads metrics.csv back instead.
 * The thread measures its own CPU time for summary.json's ostel_cpu.
 */
#ifndef OSTEL_SAMPLER_H
#define OSTEL_SAMPLER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct ostel_sampler;
struct ostel_metrics_row;
struct ostel_metrics_table;

/*
 * Starts sampling the tree rooted at pid every interval_ns, appending rows to csv_fd (borrowed; the
 * header is the caller's). Returns NULL after printing an error.
 */
struct ostel_sampler *ostel_sampler_start(pid_t pid, int csv_fd, uint64_t interval_ns);
struct ostel_platform_sample;
/* The same, calling tap(tap_arg, sample) on the sampler thread after every sample (live exporters,
 * run/prom.h); tap must be quick and must not block for long. */
struct ostel_sampler *
ostel_sampler_start_tap(pid_t pid, int csv_fd, uint64_t interval_ns,
                        void (*tap)(void *, const struct ostel_platform_sample *), void *tap_arg);
/* The same, keeping the rows it writes for ostel_sampler_finish_rows when keep_rows is true (the
 * two above keep none). Tests only: the environment's OSTEL_TEST_SAMPLER_KEEP_MAX=N makes the
 * kept rows' allocation fail past N rows, as ENOMEM would. */
struct ostel_sampler *ostel_sampler_start_keep(pid_t pid, int csv_fd, uint64_t interval_ns,
                                               void (*tap)(void *,
                                                           const struct ostel_platform_sample *),
                                               void *tap_arg, bool keep_rows);
/* Takes one last sample now (call it after the child exited, before it is reaped), then stops the
 * thread and frees the sampler. Returns the number of rows written; *oom_kills gets the kernel OOM
 * kills counted since the start in the platform's narrowest scope, or -1 when it cannot tell;
 * *thread_cpu_ns (when not NULL) the CPU time the sampling thread used, or 0 when unknown (the last
 * sample, taken by the caller's thread, is the caller's). */
uint64_t ostel_sampler_stop(struct ostel_sampler *s, int64_t *oom_kills, uint64_t *thread_cpu_ns);
/* Where the sampler counts OOM kills (ostel_platform_oom_scope); a static string. */
const char *ostel_sampler_oom_scope(const struct ostel_sampler *s);
/* ostel_sampler_stop that also says whether every row reached the CSV: *write_errno (when not NULL)
 * gets the errno of the first write that failed (ENOSPC, EFBIG), or 0. */
uint64_t ostel_sampler_finish(struct ostel_sampler *s, int64_t *oom_kills, uint64_t *thread_cpu_ns,
                              int *write_errno);
/* ostel_sampler_finish that also hands over the rows kept (*rows, when not NULL; the caller frees
 * it with ostel_metrics_table_free), in order, phase unset, each value as metrics.csv holds it
 * (ostel_sampler_rows_as_written): the same rows a reader of the file would get, the rows the CSV
 * lacks after a failed write included. *rows_complete (when not NULL) is true when those are all
 * the rows written; false when the sampler was started without keep_rows or an allocation failed
 * (then *rows holds none, and the caller reads metrics.csv back). */
uint64_t ostel_sampler_finish_rows(struct ostel_sampler *s, int64_t *oom_kills,
                                   uint64_t *thread_cpu_ns, int *write_errno,
                                   struct ostel_metrics_table *rows, bool *rows_complete);
/* Sets each value of rows to the one metrics.csv holds for it: what strtod (and the validator)
 * makes of the cell the writer prints with the column's decimals, computed without printing; a
 * value the writer leaves empty (not finite) becomes invalid. Pure; no file involved. */
void ostel_sampler_rows_as_written(struct ostel_metrics_row *rows, size_t n);
/* Rows written so far (may be read from another thread). */
uint64_t ostel_sampler_rows(const struct ostel_sampler *s);
/* True when a write to the CSV failed (disk full): the run is then marked as such. */
bool ostel_sampler_failed(const struct ostel_sampler *s);

#endif
