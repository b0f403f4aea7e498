/*
 * report_db: `ostel report --db FILE` — the run set filled from the results database (see
 * report_db.h). Each stored summary and config go through the run-directory loaders unchanged,
 * and the samples come as typed rows straight into the series (no metrics.csv rebuilt and parsed
 * again), so a report from the database and one from the directories it was imported from are the
 * same report. A format that draws no samples (all but html) reads none: the one value it needs
 * from them, the first MemAvailable, comes with each run's row.
 */
#include "report/report_db.h"

#include <cJSON.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rundir/rundir_validate.h"
#include "store/store.h"
#include "store/store_query.h"
#include "store/store_rundir.h"
#include "report/report_html_scale.h"
#include "report/report_par.h"
#include "util/arena.h"
#include "util/fileio.h"

/* Replaces *dst with a copy of s whose control characters are spaces (it ends up in tables). */
static void set_clean(char **dst, const char *s, size_t n)
{
    free(*dst);
    char *v = ostel_xstrndup(s, n);
    for (char *c = v; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            *c = ' ';
    *dst = v;
}

/* True when dir/summary.json still holds exactly `summary` (read silently, at most its length). */
static bool dir_holds_summary(const char *dir, const char *summary)
{
    size_t want = strlen(summary);
    char *path = ostel_xasprintf("%s/summary.json", dir);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    free(path);
    if (fd < 0)
        return false;
    char *buf = ostel_xmalloc(want + 1);
    size_t got = 0;
    for (;;) {
        ssize_t k = read(fd, buf + got, want + 1 - got);
        if (k <= 0)
            break;
        got += (size_t)k;
        if (got == want + 1)
            break;
    }
    close(fd);
    bool same = got == want && memcmp(buf, summary, want) == 0;
    free(buf);
    return same;
}

/*
 * A study run as shards (`ostel study --shard K/N`): warns which shards never started and which did
 * not finish, so a report over part of a study says so.
 */
static int ostel_report_db_shard_status(struct ostel_store *s, int64_t study, const char *name)
{
    struct ostel_store_shard *rows;
    size_t n;
    if (ostel_store_list_shards(s, study, &rows, &n) != OSTEL_OK)
        return OSTEL_ERR;
    if (n == 0)
        return OSTEL_OK;
    int shards = rows[0].shards;
    struct ostel_buf missing, partial;
    ostel_buf_init(&missing, 4096);
    ostel_buf_init(&partial, 4096);
    size_t j = 0;
    for (int k = 0; k < shards; k++) {
        while (j < n && rows[j].shard < k)
            j++;
        if (j >= n || rows[j].shard != k) {
            ostel_buf_printf(&missing, "%s%d", missing.len ? ", " : "", k);
            continue;
        }
        const struct ostel_store_shard *x = &rows[j];
        if (!x->finished_at)
            ostel_buf_printf(&partial, "%s%d (%s, not finished)", partial.len ? ", " : "", k,
                             x->hostname ? x->hostname : "?");
        else if (x->done >= 0 && x->planned >= 0 && x->done < x->planned)
            ostel_buf_printf(&partial, "%s%d (%s, %d of %d runs)", partial.len ? ", " : "", k,
                             x->hostname ? x->hostname : "?", x->done, x->planned);
    }
    if (missing.len)
        ostel_warn("study %s: shard%s %s of %d never started", name,
                   strchr(missing.data, ',') ? "s" : "", missing.data, shards);
    if (partial.len)
        ostel_warn("study %s: incomplete shard%s %s of %d", name,
                   strchr(partial.data, ',') ? "s" : "", partial.data, shards);
    ostel_buf_free(&missing);
    ostel_buf_free(&partial);
    ostel_store_shards_free(rows, n);
    return OSTEL_OK;
}

/* ---- the typed path ---- */

/* Runs are read in batches: their texts copied out of SQLite, then parsed on a few threads (the
 * summaries' JSON is most of the cost), then freed, so memory holds one batch of texts at most. */
#define DB_BATCH 1024
#define SUMMARY_ARENA_BYTES (64u << 10) /* a summary's tree (a 10 KB text's: about 30 KB) */

struct db_row {
    int64_t id;
    char *run_dir, *summary_json, *config_text;
    double avail_start_mib;
};

struct db_load {
    struct ostel_report_set *set;
    const char *path;
    struct db_row rows[DB_BATCH];
    size_t nrows;
    size_t first; /* the batch's first run in set */
    char (*errs)[512];
    int *rcs;
    /* the samples walk */
    int64_t *ids;       /* every loaded run's id, increasing (runs come in id order) */
    unsigned char *bad; /* per loaded run: 1 when it is left out (named in a warning) */
    size_t nids, cur, nbad;
    size_t sn, scap;
    double *col[OSTEL_REPORT_SERIES_NCOLS];
    unsigned char *phase;
    size_t max_points; /* per run's series (ostel_report_series_reduce) */
    enum ostel_metric_col cols[OSTEL_REPORT_SERIES_NCOLS]; /* ostel_report_series_col's */
};

/* Fills run r from one row (its summary and config, not its samples): the first usable
 * MemAvailable comes with the row, the series (when drawn) from the samples walk. */
static int load_row(struct ostel_report_run *r, const struct db_row *row, char *err,
                    size_t err_size)
{
    const char *dir = row->run_dir ? row->run_dir : "";
    size_t dl, base;
    ostel_path_split_base(dir, &dl, &base);
    set_clean(&r->path, dir, dl);
    if (dl > base) {
        set_clean(&r->name, dir + base, dl - base);
    } else {
        char name[32];
        snprintf(name, sizeof(name), "run-%lld", (long long)row->id);
        set_clean(&r->name, name, strlen(name));
    }
    char why[256];
    if (!row->summary_json) {
        snprintf(err, err_size, "no summary");
        return OSTEL_ERR;
    }
    /* the validator of directories and db import (src/rundir), for a database written by an older
     * ostel or by hand; the row's texts are this loader's own copies */
    struct ostel_rundir_facts facts;
    ostel_rundir_facts_init(&facts);
    size_t slen = strlen(row->summary_json);
    struct cJSON *root = NULL;
    /* the tree in an arena, freed whole, as from directories (report_load.c) */
    struct ostel_arena arena;
    ostel_arena_init(&arena, SUMMARY_ARENA_BYTES);
    int rc = ostel_rundir_parse_summary_arena(row->summary_json, &slen, &facts, &arena, &root, why,
                                              sizeof(why));
    if (rc == 0)
        rc = root ? ostel_report_load_summary_json(r, root, why, sizeof(why))
                  : ostel_report_load_summary(r, row->summary_json, slen, why, sizeof(why));
    ostel_arena_free(&arena);
    if (rc != 0) {
        snprintf(err, err_size, "summary.json: %s", why);
        return OSTEL_ERR;
    }
    if (row->config_text) {
        size_t clen = strlen(row->config_text);
        if (ostel_rundir_validate_config(row->config_text, &clen, why, sizeof(why)) != 0) {
            snprintf(err, err_size, "config.txt: %s", why);
            return OSTEL_ERR;
        }
        ostel_report_load_config(r, row->config_text, clen);
    }
    r->avail_start_mib = row->avail_start_mib;
    if (!r->ok && dl > 0 && dir_holds_summary(dir, row->summary_json))
        r->log_tail = ostel_report_read_log_tail(dir);
    return 0;
}

static void load_row_at(void *ctx, size_t i)
{
    struct db_load *L = ctx;
    L->rcs[i] = load_row(&L->set->runs[L->first + i], &L->rows[i], L->errs[i], sizeof(L->errs[i]));
}

static int flush_rows(struct db_load *L)
{
    L->first = L->set->n;
    for (size_t i = 0; i < L->nrows; i++)
        ostel_report_set_add(L->set);
    ostel_report_parallel(L->nrows, 64, load_row_at, L);
    int rc = OSTEL_OK;
    L->ids = ostel_xrealloc(L->ids, (L->nids + L->nrows) * sizeof(*L->ids));
    L->bad = ostel_xrealloc(L->bad, L->nids + L->nrows);
    for (size_t i = 0; i < L->nrows; i++) {
        /* One bad stored run is named and left out; every other run is still reported. */
        L->bad[L->nids] = L->rcs[i] != 0;
        if (L->rcs[i] != 0) {
            ostel_warn("%s: run %lld (%s) is left out of the report: %s", L->path,
                       (long long)L->rows[i].id, L->rows[i].run_dir ? L->rows[i].run_dir : "?",
                       L->errs[i]);
            L->nbad++;
        }
        L->ids[L->nids++] = L->rows[i].id;
        free(L->rows[i].run_dir);
        free(L->rows[i].summary_json);
        free(L->rows[i].config_text);
    }
    L->nrows = 0;
    return rc;
}

static char *dup_or_null(const char *s)
{
    return s ? ostel_xstrdup(s) : NULL;
}

static int on_run(void *ctx, const struct ostel_store_report_run *row)
{
    struct db_load *L = ctx;
    struct db_row *d = &L->rows[L->nrows++];
    d->id = row->id;
    d->run_dir = dup_or_null(row->run_dir);
    d->summary_json = dup_or_null(row->summary_json);
    d->config_text = dup_or_null(row->config_text);
    d->avail_start_mib = row->sys_avail_start_mib;
    if (L->nrows == DB_BATCH && flush_rows(L) != OSTEL_OK)
        return OSTEL_ERR;
    return 0;
}

/* Hands the samples gathered for run L->cur to its series (times from its first sample), at most
 * L->max_points of them: the ones ostel_report_series_reduce keeps (LTTB on RSS, else on CPU),
 * chosen here in the gathering buffers, so that a run's series is allocated at its final size. */
static void finish_series(struct db_load *L)
{
    if (L->sn == 0)
        return;
    struct ostel_report_series *s = &L->set->runs[L->cur].series;
    ostel_report_series_packed_free(s);
    size_t n = L->sn, m = n;
    double *t = L->col[0]; /* ostel_report_series_array's order: t_s, rss_mib, cpu_pct, ... */
    double t0 = t[0];
    for (size_t i = 0; i < n; i++)
        t[i] -= t0;
    size_t *idx = NULL;
    if (n > L->max_points) {
        bool rss = false;
        for (size_t i = 0; i < n && !rss; i++)
            rss = !isnan(L->col[1][i]);
        idx = ostel_xmalloc(L->max_points * sizeof(*idx));
        m = ostel_report_lttb(t, rss ? L->col[1] : L->col[2], n, L->max_points, idx);
    }
    for (size_t c = 0; c < OSTEL_REPORT_SERIES_NCOLS; c++) {
        double **dst = ostel_report_series_array(s, c);
        free(*dst);
        *dst = ostel_xmalloc(m * sizeof(double));
        for (size_t i = 0; i < m; i++)
            (*dst)[i] = L->col[c][idx ? idx[i] : i];
    }
    free(s->phase);
    s->phase = ostel_xmalloc(m);
    for (size_t i = 0; i < m; i++)
        s->phase[i] = L->phase[idx ? idx[i] : i];
    s->n = m;
    s->t0 = t0; /* the first ts, as from a directory: a served run's levels are drawn from it */
    free(idx);
    L->sn = 0;
    /* half the memory: 10,000 runs' series are most of an HTML report's */
    ostel_report_series_pack(s, t0);
}

static int on_sample(void *ctx, const struct ostel_store_report_sample *x)
{
    struct db_load *L = ctx;
    /* runs and samples both come in id order: advance to the sample's run */
    size_t k = L->cur;
    while (k < L->nids && L->ids[k] < x->run_id)
        k++;
    if (k >= L->nids || L->ids[k] != x->run_id)
        return 0; /* a run that was not loaded (cannot happen: same selection) */
    if (k != L->cur) {
        finish_series(L);
        L->cur = k;
    }
    if (L->sn == L->scap) {
        L->scap = L->scap ? 2 * L->scap : 1024;
        for (size_t c = 0; c < OSTEL_REPORT_SERIES_NCOLS; c++)
            L->col[c] = ostel_xrealloc(L->col[c], L->scap * sizeof(double));
        L->phase = ostel_xrealloc(L->phase, L->scap);
    }
    for (size_t c = 0; c < OSTEL_REPORT_SERIES_NCOLS; c++) {
        enum ostel_metric_col col = L->cols[c];
        double v = ostel_metrics_get(&x->row, col);
        /* the validator's bounds on metrics.csv (src/rundir): finite, not negative, not absurd */
        if (!L->bad[k] && !isnan(v) && (!isfinite(v) || v < 0 || v > 1e15)) {
            ostel_warn("%s: run %lld is left out of the report: a stored sample's %s is %g",
                       L->path, (long long)x->run_id, ostel_metrics_col_name(col), v);
            L->bad[k] = 1;
            L->nbad++;
        }
        L->col[c][L->sn] = v;
    }
    L->phase[L->sn++] = (unsigned char)x->row.phase; /* the table's phases are the report's */
    return 0;
}

size_t ostel_report_db_series_points(size_t max_points, size_t nruns)
{
    const size_t most = OSTEL_REPORT_HTML_LAZY_RUNS_MAX;
    if (max_points == SIZE_MAX || nruns <= most || max_points <= OSTEL_REPORT_DB_POINTS_MIN)
        return max_points;
    size_t k = max_points > SIZE_MAX / most ? max_points : max_points * most / nruns;
    return k < OSTEL_REPORT_DB_POINTS_MIN ? OSTEL_REPORT_DB_POINTS_MIN : k;
}

int ostel_report_load_db(struct ostel_report_set *set, const char *path,
                         const struct ostel_report_db_select *sel)
{
    return ostel_report_load_db_series(set, path, sel, SIZE_MAX);
}

int ostel_report_load_db_series(struct ostel_report_set *set, const char *path,
                                const struct ostel_report_db_select *sel, size_t max_points)
{
    static const struct ostel_report_db_select none = {NULL, NULL};
    if (!sel)
        sel = &none;
    if (!ostel_store_is_url(path) && !ostel_is_file(path))
        return ostel_error("%s: no such database file", path);
    struct ostel_store *s;
    if (ostel_store_open(path, OSTEL_STORE_OPEN_READONLY, &s) != OSTEL_OK)
        return OSTEL_ERR;
    char *shown = ostel_store_redact_url(path); /* a URL's password is never printed */
    path = shown;
    int rc = OSTEL_ERR;
    int64_t study = 0;
    struct db_load *L = ostel_xcalloc(1, sizeof(*L));
    L->set = set;
    L->path = path;
    L->max_points = max_points;
    for (size_t c = 0; c < OSTEL_REPORT_SERIES_NCOLS; c++)
        L->cols[c] = ostel_report_series_col(c);
    L->errs = ostel_xmalloc(DB_BATCH * sizeof(*L->errs));
    L->rcs = ostel_xcalloc(DB_BATCH, sizeof(*L->rcs));
    size_t before = set->n;
    int ver = ostel_store_schema_version(s);
    if (ver < 0)
        goto out;
    if (ver == 0) {
        ostel_error("%s: not an ostel database (an SQLite file without ostel's tables)", path);
        goto out;
    }
    if (sel->study && ostel_store_find_study(s, sel->study, &study) != OSTEL_OK)
        goto out;
    if (study > 0 && ostel_report_db_shard_status(s, study, sel->study) != OSTEL_OK)
        goto out;
    if (ostel_store_each_report_run(s, study, sel->tag, on_run, L) != OSTEL_OK)
        goto out;
    if (L->nrows && flush_rows(L) != OSTEL_OK)
        goto out;
    if (set->n == before) {
        ostel_error("%s: no stored run%s%s%s%s%s%s", path, sel->study ? " of study '" : "",
                    sel->study ? sel->study : "", sel->study ? "'" : "",
                    sel->tag ? " with tag '" : "", sel->tag ? sel->tag : "", sel->tag ? "'" : "");
        goto out;
    }
    if (max_points > 0) {
        /* runs of this call start at `before`: index the samples walk from there */
        struct ostel_report_set view = {set->runs + before, set->n - before, 0};
        L->set = &view;
        L->cur = 0;
        L->max_points = ostel_report_db_series_points(max_points, view.n);
        int sr = ostel_store_each_report_sample(s, study, sel->tag, on_sample, L);
        finish_series(L);
        L->set = set;
        if (sr != OSTEL_OK)
            goto out;
    }
    if (L->nbad > 0) {
        /* the runs left out go to the end, in order kept for the rest, and are freed there */
        size_t keep = before;
        for (size_t i = before; i < set->n; i++) {
            if (L->bad[i - before])
                continue;
            if (keep != i) {
                struct ostel_report_run t = set->runs[keep];
                set->runs[keep] = set->runs[i];
                set->runs[i] = t;
            }
            keep++;
        }
        while (set->n > keep)
            ostel_report_set_drop_last(set);
        if (set->n == before) {
            ostel_error("%s: none of its %zu selected stored runs can be read", path, L->nids);
            goto out;
        }
    }
    rc = OSTEL_OK;
out:
    for (size_t i = 0; i < L->nrows; i++) {
        free(L->rows[i].run_dir);
        free(L->rows[i].summary_json);
        free(L->rows[i].config_text);
    }
    for (size_t c = 0; c < OSTEL_REPORT_SERIES_NCOLS; c++)
        free(L->col[c]);
    free(L->phase);
    free(L->ids);
    free(L->bad);
    free(L->errs);
    free(L->rcs);
    free(L);
    ostel_store_close(s);
    free(shown);
    return rc;
}
