/*
 * study_scenario: a study run's background scenario (docs/study.md): "none", a memory hog
 * (`ostel hog`, waited for through its ready file and checked against what it asked) or a command
 * (cmd:PROGRAM ARGS, given a second), its telemetry sampled into scenario_metrics.csv, its output
 * into scenario.log, and on stop both moved into the run directory with scenario.json and the
 * summary's "scenario" section.
 */
#include "run/study_internal.h"

#include "platform/platform.h"
#include "run/aggregate.h"
#include "run/hog.h"
#include "rundir/rundir_metrics.h"
#include "util/fileio.h"

#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double tree_rss_mib(pid_t pid)
{
    char err[128];
    struct ostel_platform *p = ostel_platform_open(pid, 64, err, sizeof(err));
    if (!p)
        return NAN;
    struct ostel_platform_sample s;
    ostel_platform_sample(p, &s);
    ostel_platform_close(p);
    return ostel_platform_sample_has(&s, OSTEL_PLATFORM_FIELD_RSS) ? (double)s.rss_bytes / 1048576.0
                                                                   : NAN;
}

/* Starts the scenario and waits until it holds its load. Returns 0, or OSTEL_ERR (printed). */
int ostel_study_scenario_start(struct study_ctx *c, size_t idx, struct ostel_study_scenario *sc,
                               const char *text)
{
    memset(sc, 0, sizeof(*sc));
    sc->text = text;
    sc->log_fd = sc->csv_fd = -1;
    if (strcmp(text, "none") == 0)
        return OSTEL_OK;
    sc->log_tmp = ostel_xasprintf("%s/.scenario-%zu.log", c->spec->dir, idx);
    sc->csv_tmp = ostel_xasprintf("%s/.scenario-%zu.csv", c->spec->dir, idx);
    sc->ready_tmp = ostel_xasprintf("%s/.scenario-%zu.ready", c->spec->dir, idx);
    unlink(sc->ready_tmp);
    sc->log_fd = open(sc->log_tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    sc->csv_fd = open(sc->csv_tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_APPEND, 0644);
    if (sc->log_fd < 0 || sc->csv_fd < 0)
        return ostel_error("cannot create scenario files in '%s': %s", c->spec->dir,
                           strerror(errno));
    char header[512];
    size_t hl = ostel_metrics_format_header(header, sizeof(header));
    if (write(sc->csv_fd, header, hl) != (ssize_t)hl)
        return ostel_error("cannot write '%s'", sc->csv_tmp);

    struct ostel_strlist argv = {0};
    bool is_cmd = strncmp(text, "cmd:", 4) == 0;
    if (is_cmd) {
        ostel_strlist_split_blanks(&argv, text + 4);
        char *resolved = argv.n ? ostel_find_executable(argv.v[0]) : NULL;
        if (!resolved) {
            ostel_error("scenario '%s': program '%s' not found", text, argv.n ? argv.v[0] : "");
            ostel_strlist_free(&argv);
            return OSTEL_ERR;
        }
        free(argv.v[0]);
        argv.v[0] = resolved;
    } else {
        struct ostel_hog_spec hs;
        char err[256];
        struct ostel_hog_meminfo mi;
        bool checked;
        ostel_hog_parse_spec(text, &hs, err, sizeof(err));
        ostel_hog_read_meminfo(&mi);
        if (ostel_hog_resolve_mem(&hs, &mi, OSTEL_HOG_RESERVE_BYTES, &sc->asked_bytes, &checked,
                                  err, sizeof(err)) != 0)
            return ostel_error("scenario %s", err);
        const char *hog_argv[] = {c->opt->self_exe, "hog", text, "--ready-file", sc->ready_tmp};
        for (size_t i = 0; i < OSTEL_ARRAY_LEN(hog_argv); i++)
            ostel_strlist_push(&argv, hog_argv[i]);
        if (c->spec->hog_cycle_ns) {
            char cyc[32];
            snprintf(cyc, sizeof(cyc), "%.3fs", (double)c->spec->hog_cycle_ns / 1e9);
            ostel_strlist_push(&argv, "--cycle");
            ostel_strlist_push(&argv, cyc);
        }
    }
    double t0 = ostel_mono_s();
    int rc = ostel_child_spawn_to_fd(argv.v, sc->log_fd, &sc->child);
    ostel_strlist_free(&argv);
    if (rc != 0)
        return OSTEL_ERR;
    sc->running = true;
    ostel_study_active_write(c, 0, sc->child.pid);

    /* Wait until it holds its load: the hog's ready file; a plain command gets one second. */
    double limit = is_cmd ? 1.0 : 300.0;
    for (;;) {
        bool exited = false;
        ostel_child_check_exit(&sc->child, &exited);
        if (exited) {
            struct ostel_buf b;
            ostel_buf_init(&b, 1 << 16);
            ostel_file_read_all(sc->log_tmp, 1 << 16, &b);
            char *last = b.data;
            for (char *p = b.data; *p; p++)
                if (*p == '\n' && p[1])
                    last = p + 1;
            ostel_error("scenario '%s' ended before the run: %s", text,
                        *last ? last : "(it printed nothing)");
            ostel_buf_free(&b);
            return OSTEL_ERR;
        }
        if (!is_cmd && ostel_is_file(sc->ready_tmp))
            break;
        if (ostel_mono_s() - t0 >= limit) {
            if (is_cmd)
                break;
            return ostel_error("scenario '%s' did not hold its load within %.0f s", text, limit);
        }
        if (!ostel_study_nap(0.05))
            return OSTEL_ERR;
    }
    sc->ready_s = ostel_mono_s() - t0;
    /* Check from its telemetry that it really holds what it asked (at least 90 %). */
    sc->held_mib = tree_rss_mib(sc->child.pid);
    if (sc->asked_bytes) {
        sc->held_checked = true;
        double asked_mib = (double)sc->asked_bytes / 1048576.0;
        if (isnan(sc->held_mib) || sc->held_mib < 0.9 * asked_mib)
            ostel_warn("scenario '%s' holds %.0f MiB of the %.0f MiB it asked", text, sc->held_mib,
                       asked_mib);
    }
    sc->sampler =
        ostel_sampler_start_keep(sc->child.pid, sc->csv_fd, c->spec->interval_ns, NULL, NULL, true);
    return OSTEL_OK;
}

/*
 * summary.json's "scenario" object (docs/run-directory.md) from scenario.json's: name, definition,
 * what it asked and held, and its telemetry (the overall statistics of scenario_metrics.csv).
 */
static cJSON *scenario_section(const cJSON *sc)
{
    cJSON *o = cJSON_CreateObject();
    const cJSON *name = cJSON_GetObjectItem(sc, "scenario");
    cJSON_AddStringToObject(o, "name", name->valuestring);
    cJSON_AddStringToObject(o, "definition", name->valuestring);
    static const char *const keys[] = {"kind", "asked_mib", "held_mib_at_start", "ready_s"};
    for (size_t i = 0; i < OSTEL_ARRAY_LEN(keys); i++)
        cJSON_AddItemToObject(o, keys[i], cJSON_Duplicate(cJSON_GetObjectItem(sc, keys[i]), 1));
    const cJSON *tel = cJSON_GetObjectItem(cJSON_GetObjectItem(sc, "telemetry"), "overall");
    cJSON_AddItemToObject(o, "telemetry", tel ? cJSON_Duplicate(tel, 1) : cJSON_CreateNull());
    return o;
}

/*
 * Stops the scenario and moves its files into the run directory (when given), adding its
 * "scenario" section to sum (when given: the run's summary before its write). Returns OSTEL_ERR
 * after printing when one of them could not be written (a full disk): the run is then not to be
 * kept.
 */
int ostel_study_scenario_stop(struct study_ctx *c, struct ostel_study_scenario *sc,
                              const char *run_dir, struct ostel_summary *sum)
{
    int werr = 0, rc = OSTEL_OK;
    struct ostel_metrics_table rows = {0}; /* as scenario_metrics.csv holds them */
    bool rows_complete = false;            /* else scenario_metrics.csv is read back */
    if (sc->sampler) {
        int64_t kills;
        ostel_sampler_finish_rows(sc->sampler, &kills, NULL, &werr, &rows, &rows_complete);
        sc->sampler = NULL;
    }
    if (sc->running) {
        ostel_child_signal_group(&sc->child, SIGTERM);
        double t0 = ostel_mono_s();
        bool exited = false;
        while (!exited && ostel_mono_s() - t0 < 10.0) {
            ostel_child_check_exit(&sc->child, &exited);
            if (!exited) {
                struct timespec t = {0, 20000000};
                nanosleep(&t, NULL);
            }
        }
        /* SIGKILL to what is left of the group before reaping (see runner.c) */
        ostel_child_signal_group(&sc->child, SIGKILL);
        int st;
        ostel_child_reap(&sc->child, &st);
        sc->running = false;
        ostel_study_active_write(c, 0, 0);
    }
    if (sc->log_fd >= 0 && close(sc->log_fd) != 0 && !werr)
        werr = errno;
    if (sc->csv_fd >= 0 && (fsync(sc->csv_fd) != 0 || close(sc->csv_fd) != 0) && !werr)
        werr = errno;
    sc->log_fd = sc->csv_fd = -1;
    if (werr && run_dir)
        rc = ostel_error("study: %s: cannot write the scenario's files: %s", run_dir,
                         strerror(werr));
    if (sc->log_tmp && run_dir && rc == OSTEL_OK && ostel_is_dir(run_dir)) {
        char *csv = ostel_xasprintf("%s/scenario_metrics.csv", run_dir);
        char *log = ostel_xasprintf("%s/scenario.log", run_dir);
        if (rename(sc->csv_tmp, csv) != 0 || rename(sc->log_tmp, log) != 0)
            rc = ostel_error("study: cannot move the scenario's files into '%s': %s", run_dir,
                             strerror(errno));
        /* scenario.json: what it was, what it held, and its own telemetry */
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "scenario", sc->text);
        cJSON_AddStringToObject(j, "kind", strncmp(sc->text, "cmd:", 4) == 0 ? "cmd" : "hog");
        if (sc->asked_bytes)
            cJSON_AddNumberToObject(j, "asked_mib", round((double)sc->asked_bytes / 1048576.0));
        else
            cJSON_AddNullToObject(j, "asked_mib");
        if (!isnan(sc->held_mib))
            cJSON_AddNumberToObject(j, "held_mib_at_start", round(sc->held_mib * 100) / 100);
        else
            cJSON_AddNullToObject(j, "held_mib_at_start");
        cJSON_AddNumberToObject(j, "ready_s", round(sc->ready_s * 1000) / 1000);
        bool have_rows = rows_complete;
        if (!rows_complete) { /* the sampler could not keep its rows (out of memory) */
            struct ostel_buf b;
            ostel_buf_init(&b, 0);
            char err[160];
            have_rows = ostel_file_read_all(csv, (size_t)1 << 30, &b) == 0 &&
                        ostel_metrics_parse(b.data, b.len, &rows, err, sizeof(err)) == 0;
            ostel_buf_free(&b);
        }
        if (have_rows)
            cJSON_AddItemToObject(j, "telemetry",
                                  ostel_aggregate_telemetry_json(
                                      rows.rows, rows.n, (double)c->spec->interval_ns / 1e6));
        char *txt = cJSON_Print(j);
        char *jp = ostel_xasprintf("%s/scenario.json", run_dir);
        if (rc == OSTEL_OK && ostel_file_write_atomic(jp, txt, strlen(txt)) != 0)
            rc = OSTEL_ERR;
        if (rc == OSTEL_OK && sum)
            ostel_summary_set_section(sum, "scenario", scenario_section(j));
        free(jp);
        free(txt);
        cJSON_Delete(j);
        free(csv);
        free(log);
    }
    if (sc->log_tmp) {
        unlink(sc->log_tmp);
        unlink(sc->csv_tmp);
        unlink(sc->ready_tmp);
    }
    free(sc->log_tmp);
    free(sc->csv_tmp);
    free(sc->ready_tmp);
    sc->log_tmp = sc->csv_tmp = sc->ready_tmp = NULL;
    ostel_metrics_table_free(&rows);
    return rc;
}
