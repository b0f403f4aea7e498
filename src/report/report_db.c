/*
 * report_db: `ostel report --db FILE` — the run set filled from the results database (see
 * report_db.h). Each stored run goes through the run-directory loaders unchanged, so a report from
 * the database and one from the directories it was imported from are the same report.
 */
#include "report/report_db.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rundir/rundir_validate.h"
#include "store/store.h"
#include "store/store_query.h"
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

int ostel_report_load_record(struct ostel_report_run *r, const struct ostel_store_run_record *rec,
                             char *err, size_t errlen)
{
    const char *dir = rec->run_dir ? rec->run_dir : "";
    size_t dl, base;
    ostel_path_split_base(dir, &dl, &base);
    set_clean(&r->path, dir, dl);
    if (dl > base) {
        set_clean(&r->name, dir + base, dl - base);
    } else {
        char name[32];
        snprintf(name, sizeof(name), "run-%lld", (long long)rec->id);
        set_clean(&r->name, name, strlen(name));
    }

    char why[256];
    if (!rec->summary_json) {
        snprintf(err, errlen, "no summary");
        return -1;
    }
    /* the validator of directories and db import (src/rundir), for a database written by an older
     * ostel or by hand */
    struct ostel_rundir_facts facts;
    size_t slen = strlen(rec->summary_json);
    if (ostel_rundir_validate_summary(rec->summary_json, &slen, &facts, why, sizeof(why)) != 0 ||
        ostel_report_load_summary(r, rec->summary_json, slen, why, sizeof(why)) != 0) {
        snprintf(err, errlen, "summary.json: %s", why);
        return -1;
    }
    if (rec->config_text) {
        size_t clen = strlen(rec->config_text);
        if (ostel_rundir_validate_config(rec->config_text, &clen, why, sizeof(why)) != 0) {
            snprintf(err, errlen, "config.txt: %s", why);
            return -1;
        }
        ostel_report_load_config(r, rec->config_text, clen);
    }
    size_t len = 0;
    char *csv = rec->metrics_header ? ostel_store_run_record_metrics_csv(rec, &len) : NULL;
    if (!csv) {
        snprintf(err, errlen, "its samples cannot be rebuilt into metrics.csv");
        return -1;
    }
    int rc = ostel_rundir_validate_metrics(csv, &len, &facts, why, sizeof(why));
    if (rc == 0)
        rc = ostel_report_load_metrics(r, csv, len, why, sizeof(why));
    free(csv);
    if (rc != 0) {
        snprintf(err, errlen, "metrics.csv: %s", why);
        return -1;
    }
    if (!r->ok && dl > 0 && dir_holds_summary(dir, rec->summary_json))
        r->log_tail = ostel_report_read_log_tail(dir);
    return 0;
}

int ostel_report_load_db(struct ostel_report_set *set, const char *path,
                         const struct ostel_report_db_select *sel)
{
    static const struct ostel_report_db_select none = {NULL, NULL};
    if (!sel)
        sel = &none;
    if (!ostel_is_file(path))
        return ostel_error("%s: no such database file", path);
    struct ostel_store *s;
    if (ostel_store_open(path, OSTEL_STORE_OPEN_READONLY, &s) != OSTEL_OK)
        return OSTEL_ERR;
    int rc = OSTEL_ERR;
    int64_t *ids = NULL, study = 0;
    size_t n = 0, bad = 0;
    int ver = ostel_store_schema_version(s);
    if (ver < 0)
        goto out;
    if (ver == 0) {
        ostel_error("%s: not an ostel database (an SQLite file without ostel's tables)", path);
        goto out;
    }
    if (sel->study && ostel_store_find_study(s, sel->study, &study) != OSTEL_OK)
        goto out;
    if (ostel_store_list_runs(s, study, sel->tag, &ids, &n) != OSTEL_OK)
        goto out;
    if (n == 0) {
        ostel_error("%s: no stored run%s%s%s%s%s%s", path, sel->study ? " of study '" : "",
                    sel->study ? sel->study : "", sel->study ? "'" : "",
                    sel->tag ? " with tag '" : "", sel->tag ? sel->tag : "", sel->tag ? "'" : "");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        struct ostel_store_run_record rec;
        if (ostel_store_load_run(s, ids[i], &rec) != OSTEL_OK)
            goto out;
        struct ostel_report_run *r = ostel_report_set_add(set);
        char err[512];
        int lr = ostel_report_load_record(r, &rec, err, sizeof(err));
        /* One bad stored run is named and left out; every other run is still reported. */
        if (lr != 0) {
            ostel_warn("%s: run %lld (%s) is left out of the report: %s", path, (long long)rec.id,
                       rec.run_dir ? rec.run_dir : "?", err);
            ostel_report_set_drop_last(set);
            bad++;
        }
        ostel_store_run_record_free(&rec);
    }
    if (bad == n) {
        ostel_error("%s: none of its %zu stored runs can be read", path, n);
        goto out;
    }
    rc = OSTEL_OK;
out:
    free(ids);
    ostel_store_close(s);
    return rc;
}
