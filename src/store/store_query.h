/*
 * store_query: small read-only lookups over the results database for commands that select runs
 * (`ostel report --db FILE --study ID|NAME`). Kept apart from store.c, which writes; like the rest
 * of src/store/ it is the only kind of code that speaks SQL.
 */
#ifndef OSTEL_STORE_QUERY_H
#define OSTEL_STORE_QUERY_H

#include "rundir/rundir_metrics.h"
#include "store/store.h"

/*
 * Finds a study by its id (all digits, an existing id) or else by its name. Returns OSTEL_OK with
 * *study_id set, or prints one error naming the database and returns OSTEL_ERR: no such study (the
 * message lists the studies it holds, up to ten), or a name that several studies share (it lists
 * their ids: pick one). `key` is borrowed.
 */
int ostel_store_find_study(struct ostel_store *s, const char *key, int64_t *study_id);

/*
 * The report's reading of the database: typed rows, no regenerated CSV. Both walk the runs that
 * (study_id <= 0 or study_id matches) and (tag NULL or tag equal), in id order; fn gets each row
 * (strings borrowed for the call only, NULL where the column is NULL; numbers NAN for NULL) and
 * stops the walk by returning non-zero, which is then returned. Database errors print and return
 * OSTEL_ERR.
 */
struct ostel_store_report_run {
    int64_t id;
    const char *run_dir, *summary_json, *config_text;
    double sys_avail_start_mib; /* the first sample's sys_avail_mb in [0, 1e12); NAN none */
};
int ostel_store_each_report_run(struct ostel_store *s, int64_t study_id, const char *tag,
                                int (*fn)(void *ctx, const struct ostel_store_report_run *row),
                                void *ctx);
/*
 * The statement behind ostel_store_each_report_run (samples false) or _sample (true) for one filter
 * case: study_id > 0 adds "r.study_id = <mark>1", a tag "r.tag = <mark>N" (N the next number), so
 * that each case is a plain equality an index answers. mark is the backend's placeholder ('?' for
 * SQLite, '$' for PostgreSQL); the values are bound in that order. The caller frees the result.
 * Exported for the tests (EXPLAIN QUERY PLAN) and the PostgreSQL backend.
 */
char *ostel_store_report_sql(bool samples, int64_t study_id, const char *tag, char mark);
/* One sample with the columns the report draws (ostel_store_report_cols; the others invalid). */
struct ostel_store_report_sample {
    int64_t run_id;
    struct ostel_metrics_row row;
};
/* The metrics.csv columns of the samples statement, in its order after run_id: the report's series
 * and the phase. Sets *cols (static) and returns their count. */
size_t ostel_store_report_cols(const enum ostel_metric_col **cols);
/* The samples of the same runs, by run id then in file order. Without a filter (study_id <= 0, tag
 * NULL), every stored sample: one whose run row is missing (only in a file edited by hand) comes
 * too, and the caller skips a run id it did not get from the runs walk. */
int ostel_store_each_report_sample(struct ostel_store *s, int64_t study_id, const char *tag,
                                   int (*fn)(void *ctx,
                                             const struct ostel_store_report_sample *row),
                                   void *ctx);

#endif
