/*
 * study: executing a study (see study.h; the file format and the policies are in docs/study.md).
 *
 * For each planned run, in order: skip it when the database holds it complete (resume); take it
 * from its run directory when that is complete but was never stored (ostel was killed between the
 * two); else start its background scenario and wait until it holds what it asked, run llama.cpp
 * under the runner, stop the scenario, store the run in one transaction, and cool down. A run that
 * fails is stored as failed and the study goes on; an interrupted one is not stored and the study
 * stops (exit 128+signal), to be redone by the next invocation.
 *
 * Process-wide state: the SIGINT/SIGTERM flag, as in the runner; a signal handler can reach nothing
 * else.
 */
#include "run/study_internal.h"
#include "run/study_shard.h"

#include "llama/gguf_facts.h"
#include "llama/llama_tools.h"
#include "run/hog.h"
#include "run/llama_cmd.h"
#include "run/runner.h"
#include "rundir/rundir_config.h"
#include "rundir/rundir_files.h"
#include "store/store.h"
#include "util/fileio.h"
#include "util/names.h"

#include <cJSON.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t g_study_signal;

static void on_study_signal(int sig)
{
    g_study_signal = sig;
}

/* Sleeps up to s seconds in 50 ms slices; false when a signal asked the study to stop. */
bool ostel_study_nap(double s)
{
    double end = ostel_mono_s() + s;
    while (!g_study_signal) {
        double left = end - ostel_mono_s();
        if (left <= 0)
            return true;
        struct timespec t = {0, (long)((left < 0.05 ? left : 0.05) * 1e9)};
        nanosleep(&t, NULL);
    }
    return false;
}

/* ---------- progress ---------- */

static void fmt_dur(double s, char *out, size_t n)
{
    long v = (long)(s + 0.5);
    if (v >= 3600)
        snprintf(out, n, "%ldh%02ldm", v / 3600, v / 60 % 60);
    else if (v >= 60)
        snprintf(out, n, "%ldm%02lds", v / 60, v % 60);
    else
        snprintf(out, n, "%lds", v);
}

/* "n256", or "serve" for a serving study's cell */
static const char *gen_text(const struct ostel_study_run *r, char *buf, size_t n)
{
    if (r->gen < 0)
        return "serve";
    snprintf(buf, n, "n%lld", r->gen);
    return buf;
}

static void progress(struct study_ctx *c, const struct ostel_study_run *r, const char *what)
{
    if (c->opt->quiet)
        return;
    const struct ostel_study_spec *s = c->spec;
    char el[32], eta[32] = "?";
    double elapsed = ostel_mono_s() - c->t0;
    fmt_dur(elapsed, el, sizeof(el));
    if (c->done_now > 0)
        fmt_dur(c->run_seconds / (double)c->done_now * (double)(c->todo - c->done_now), eta,
                sizeof(eta));
    char last[48] = "";
    if (!isnan(c->last_gen_tps))
        snprintf(last, sizeof(last), " | last %.2f t/s", c->last_gen_tps);
    if (c->opt->progress_bar) {
        int width = 20, fill = c->todo ? (int)(width * c->done_now / c->todo) : width;
        char bar[32];
        for (int i = 0; i < width; i++)
            bar[i] = i < fill ? '#' : '.';
        bar[width] = '\0';
        fprintf(stderr, "\r\033[K[%s] %zu/%zu %s · %s · r%lld %s | %s, ETA %s%s", bar,
                c->done_now + (r ? 1 : 0), c->todo, r ? s->tags.v[r->model] : "",
                r ? s->scenarios.v[r->scenario] : "", r ? r->rep : 0, what, el, eta, last);
        fflush(stderr);
    } else if (r) {
        char g[32];
        fprintf(stderr, "study: [%zu/%zu] %s %s c%lld %s r%lld: %s (%s elapsed, ETA %s)\n",
                c->done_now + 1, c->todo, s->tags.v[r->model], s->scenarios.v[r->scenario], r->ctx,
                gen_text(r, g, sizeof(g)), r->rep, what, el, eta);
    }
}

static void progress_end(struct study_ctx *c)
{
    if (!c->opt->quiet && c->opt->progress_bar)
        fputc('\n', stderr);
}

/* ---------- leftovers of a killed study ---------- */

static char *active_path(const struct study_ctx *c)
{
    return ostel_xasprintf("%s/.active", c->spec->dir);
}

/* Records the process groups in flight, so that a study killed with SIGKILL can end them next time.
 */
void ostel_study_active_write(const struct study_ctx *c, pid_t run_pgid, pid_t scen_pgid)
{
    char *p = active_path(c);
    char txt[64];
    snprintf(txt, sizeof(txt), "%ld %ld\n", (long)run_pgid, (long)scen_pgid);
    if (run_pgid <= 0 && scen_pgid <= 0)
        unlink(p);
    else
        ostel_file_write_atomic(p, txt, strlen(txt));
    free(p);
}

static void active_reap_leftovers(const struct study_ctx *c)
{
    char *p = active_path(c);
    struct ostel_buf b;
    ostel_buf_init(&b, 256);
    if (ostel_is_file(p) && ostel_file_read_all(p, 200, &b) == 0) {
        long a = 0, h = 0;
        if (sscanf(b.data, "%ld %ld", &a, &h) >= 1) {
            for (int i = 0; i < 2; i++) {
                long g = i ? h : a;
                if (g > 1 && kill((pid_t)-g, 0) == 0) {
                    ostel_warn("ending process group %ld left running by an earlier, killed "
                               "invocation of this study",
                               g);
                    kill((pid_t)-g, SIGKILL);
                }
            }
        }
        unlink(p);
    }
    ostel_buf_free(&b);
    free(p);
}

/* ---------- run directories ---------- */

/* The files a study adds to a run directory, beyond a run's own (rundir_files.h): the scenario's,
 * and a serving study's cells' (serve.h). */
static const char *const study_files[] = {"scenario_metrics.csv",
                                          "scenario.log",
                                          "scenario.json",
                                          "requests.csv",
                                          "server_metrics.csv",
                                          "tokens.csv",
                                          NULL};

/* Removes a run directory left by an interrupted run: only the files ostel writes there. */
static int remove_run_dir(const char *dir)
{
    return ostel_rundir_remove(dir, study_files);
}

/* True when dir holds a finished run of this spec hash (summary.json and a final status; a serve
 * cell's load lines, which serve_study.c writes after the runner's last word). */
static bool run_dir_finished(const char *dir, const char *hash, bool serve)
{
    char *sum = ostel_xasprintf("%s/summary.json", dir);
    bool ok = false;
    struct ostel_buf b;
    ostel_buf_init(&b, 1 << 20);
    if (ostel_is_file(sum) && ostel_config_read(dir, 1 << 20, &b) == 0) {
        char *status = ostel_config_get(b.data, b.len, OSTEL_CFG_STATUS);
        char *spec_hash = ostel_config_get(b.data, b.len, OSTEL_CFG_SPEC_HASH);
        bool final = status && (strcmp(status, "ok") == 0 || strcmp(status, "failed") == 0 ||
                                strcmp(status, "killed") == 0 || strcmp(status, "timeout") == 0);
        char *serve_mode = serve ? ostel_config_get(b.data, b.len, OSTEL_CFG_SERVE_MODE) : NULL;
        ok = final && spec_hash && strcmp(spec_hash, hash) == 0 && (!serve || serve_mode);
        free(serve_mode);
        free(status);
        free(spec_hash);
    }
    ostel_buf_free(&b);
    free(sum);
    return ok;
}

/* ---------- cool-down ---------- */

static double avail_mib(void)
{
    struct ostel_hog_meminfo mi;
    ostel_hog_read_meminfo(&mi);
    return mi.valid ? (double)mi.avail_bytes / 1048576.0 : NAN;
}

static bool cooldown(struct study_ctx *c)
{
    const struct ostel_study_spec *s = c->spec;
    if (s->cooldown_ns)
        return ostel_study_nap((double)s->cooldown_ns / 1e9);
    /* Adaptive: at least a second, then until available memory is back near where the study began
     * (within max(256 MiB, 2 % of RAM)), at most cooldown_max. */
    if (!ostel_study_nap(1.0))
        return false;
    if (isnan(c->baseline_avail))
        return true;
    struct ostel_hog_meminfo mi;
    ostel_hog_read_meminfo(&mi);
    double slack = fmax(256.0, 0.02 * (double)mi.total_bytes / 1048576.0);
    double end = ostel_mono_s() + (double)s->cooldown_max_ns / 1e9;
    while (ostel_mono_s() < end) {
        double a = avail_mib();
        if (isnan(a) || a >= c->baseline_avail - slack)
            return true;
        if (!ostel_study_nap(0.25))
            return false;
    }
    return true;
}

/* ---------- one run ---------- */

static char **llama_argv(const struct study_ctx *c, size_t model, long long ctx, long long gen)
{
    const struct ostel_study_spec *s = c->spec;
    char **extra = ostel_xcalloc(s->llama_args.n + 1, sizeof(char *));
    for (size_t i = 0; i < s->llama_args.n; i++)
        extra[i] = s->llama_args.v[i];
    struct ostel_run_llama_cmd lc = {c->tool_path, s->tool,   s->models.v[model], ctx,
                                     gen,          s->prompt, s->prompt_file,     s->seed,
                                     extra};
    char **argv = ostel_run_llama_cmd_argv(&lc);
    free(extra);
    return argv;
}

static void fill_spec(const struct study_ctx *c, struct ostel_run_spec *rs, const char *dir,
                      char **argv, size_t model, long long ctx, long long gen, const char *scenario,
                      int rep, const char *hash)
{
    const struct ostel_study_spec *s = c->spec;
    memset(rs, 0, sizeof(*rs));
    rs->dir = dir;
    rs->argv = argv;
    rs->tag = s->tags.v[model];
    rs->tool = s->serve ? "llama-server" : s->tool;
    rs->model = s->models.v[model];
    rs->model_facts = &c->model_facts[model];
    rs->ctx = ctx;
    rs->gen = gen;
    rs->prompt_desc = s->prompt_file ? s->prompt_file
                      : s->prompt    ? "text given in the study"
                                     : "ostel default prompt";
    rs->scenario = scenario;
    rs->repetition = rep;
    rs->llama_bin = s->llama_bin;
    rs->llama_version = c->llama_version;
    rs->ostel_cmdline = "ostel study";
    rs->interval_ns = s->interval_ns;
    rs->gpu_interval_ns = s->gpu_interval_ns;
    rs->timeout_ns = s->timeout_ns;
    rs->quiet = true;
    rs->spec_hash = hash;
    rs->study = s->name;
    rs->prom = c->opt->prom;
}

/* The run's llama.timings.gen_tps, NAN when its summary has none. */
static double summary_gen_tps(const struct ostel_summary *sum)
{
    const cJSON *t =
        cJSON_GetObjectItem(cJSON_GetObjectItem(sum ? sum->llama : NULL, "timings"), "gen_tps");
    return cJSON_IsNumber(t) ? t->valuedouble : NAN;
}

/* A measured run's before_summary: on its last attempt the scenario is stopped and its files moved
 * in, so that its "scenario" section is in summary.json's one write. */
struct scenario_hook {
    struct study_ctx *c;
    struct ostel_study_scenario *sc;
    const char *dir;
    int attempt;
    bool serve;   /* a serve cell: one attempt, always the last */
    bool stopped; /* ostel_study_scenario_stop ran here */
    int stop_rc;  /* and returned this */
};

/* The study's retry rule (run_attempts): a run that went well but lost its timings is run again. */
static bool last_attempt(int attempt, const struct ostel_run_result *res,
                         const struct ostel_summary *sum)
{
    return res->status != OSTEL_RUN_OK || attempt == 2 || g_study_signal ||
           !isnan(summary_gen_tps(sum));
}

static void scenario_before_summary(void *arg, struct ostel_summary *sum,
                                    const struct ostel_run_result *res)
{
    struct scenario_hook *h = arg;
    if (!h->serve && !last_attempt(h->attempt, res, sum))
        return;
    h->stopped = true;
    h->stop_rc = ostel_study_scenario_stop(h->c, h->sc, !res->write_error[0] ? h->dir : NULL, sum);
}

/* do_run's run directory: refused when it is not one path component inside runs/; a leftover one
 * is stored (finished) or removed. Returns -1 to go on, else do_run's return value. */
static int claim_run_dir(struct study_ctx *c, const struct ostel_study_run *r, const char *dir)
{
    char why[512] = "its name is not one path component";
    if (!ostel_path_is_component(r->dir_name) ||
        ostel_path_check_inside(c->runs_dir, dir, why, sizeof(why)) != 0) {
        ostel_error("study: refusing a run directory: %s", why);
        return 1;
    }
    if (ostel_is_dir(dir)) {
        if (run_dir_finished(dir, r->hash, c->spec->serve)) {
            /* finished but never stored: ostel was killed between the two */
            progress(c, r, "storing a finished run");
            struct ostel_store_import_opts io = {c->study_id, r->hash};
            int ir = ostel_store_import_run_dir(c->store, dir, &io, NULL);
            return ir == OSTEL_ERR ? 1 : 0;
        }
        if (remove_run_dir(dir) != 0)
            return 1;
    }
    return -1;
}

/* Runs the cell into res; returns the runner's (or the serve cell's) rc. */
static int run_attempts(struct study_ctx *c, const struct ostel_study_run *r, const char *dir,
                        struct ostel_run_spec *rs, struct scenario_hook *hook,
                        struct ostel_run_result *res)
{
    const struct ostel_study_spec *s = c->spec;
    int rr = OSTEL_ERR;
    /* A run whose log lost its timings (llama.cpp's logger thread, see runner.c) is done again, at
     * most twice, under the same scenario: a measurement without timings is no measurement. A
     * serve cell's measurements are its requests: it runs once. */
    hook->serve = s->serve;
    if (s->serve)
        rr = c->opt->run_serve(c->opt->run_serve_arg, s, c->tool_path, rs, false, res);
    for (int attempt = 0; !s->serve; attempt++) {
        hook->attempt = attempt;
        rr = ostel_runner_run(rs, res);
        /* a full disk is not llama.cpp's lost log: never run again for it (res.write_error) */
        if (rr != 0 || last_attempt(attempt, res, res->summary))
            break;
        ostel_run_result_free(res);
        ostel_warn("%s: llama.cpp's log lost its timings (llama.cpp issue 22142); running it "
                   "again",
                   r->dir_name);
        if (remove_run_dir(dir) != 0) {
            rr = OSTEL_ERR;
            break;
        }
    }
    return rr;
}

/* The scenario's stop: its rc from the hook, or, when the hook did not stop it, stopped now. */
static int stop_scenario(struct study_ctx *c, const struct scenario_hook *hook, const char *dir,
                         bool keep, const struct ostel_run_result *res)
{
    int stop_rc = hook->stop_rc;
    if (!hook->stopped) {
        /* not stopped before the write (ostel was interrupted after it): added now, rewriting
         * summary.json */
        stop_rc =
            ostel_study_scenario_stop(c, hook->sc, keep ? dir : NULL, keep ? res->summary : NULL);
        if (stop_rc == OSTEL_OK && keep && res->summary &&
            ostel_summary_section(res->summary, "scenario")) {
            int e = ostel_summary_write(dir, res->summary);
            if (e)
                stop_rc = ostel_error("cannot write '%s/summary.json': %s", dir, strerror(e));
        }
    }
    return stop_rc;
}

/* A kept run, started at t0: counted, stored and told. Returns 0, or 1 when it was not stored. */
static int record_run(struct study_ctx *c, const struct ostel_study_run *r, const char *dir,
                      const struct ostel_run_result *res, double t0)
{
    const struct ostel_study_spec *s = c->spec;
    int rc = 0;
    c->run_seconds += ostel_mono_s() - t0;
    if (res->status != OSTEL_RUN_OK)
        c->failed++;
    /* Stored in one transaction; a failed run is stored as failed. */
    struct ostel_store_import_opts io = {c->study_id, r->hash};
    if (ostel_store_import_run_dir(c->store, dir, &io, NULL) == OSTEL_ERR) {
        ostel_error("study: %s is kept; run the same command again to store it", dir);
        rc = 1;
    }
    c->last_gen_tps =
        s->serve ? NAN : summary_gen_tps(res->summary); /* a server's is per request */
    c->done_now++;
    if (!c->opt->quiet && !c->opt->progress_bar) {
        char took[32];
        fmt_dur(ostel_mono_s() - t0, took, sizeof(took));
        char g[32];
        fprintf(stderr, "study: [%zu/%zu] %s %s c%lld %s r%lld: %s", c->done_now, c->todo,
                s->tags.v[r->model], s->scenarios.v[r->scenario], r->ctx, gen_text(r, g, sizeof(g)),
                r->rep, ostel_run_status_name(res->status));
        if (!isnan(c->last_gen_tps))
            fprintf(stderr, ", generation %.2f t/s", c->last_gen_tps);
        fprintf(stderr, ", %s\n", took);
    }
    return rc;
}

/* Returns 0 (run recorded), 1 (could not go on: printed), or 128+signal. */
static int do_run(struct study_ctx *c, const struct ostel_study_run *r)
{
    const struct ostel_study_spec *s = c->spec;
    char *dir = ostel_xasprintf("%s/%s", c->runs_dir, r->dir_name);
    int rc = claim_run_dir(c, r, dir);
    if (rc >= 0) {
        free(dir);
        return rc;
    }
    const char *scen = s->scenarios.v[r->scenario];
    struct ostel_study_scenario sc;
    progress(c, r, strcmp(scen, "none") ? "starting the scenario" : "running");
    if (ostel_study_scenario_start(c, r->index, &sc, scen) != 0) {
        (void)ostel_study_scenario_stop(c, &sc, NULL, NULL);
        free(dir);
        return g_study_signal ? 128 + g_study_signal : 1;
    }
    if (strcmp(scen, "none"))
        progress(c, r, "running");
    char **argv = s->serve ? NULL : llama_argv(c, r->model, r->ctx, r->gen);
    struct ostel_run_spec rs;
    fill_spec(c, &rs, dir, argv, r->model, r->ctx, r->gen, scen, (int)r->rep, r->hash);
    struct ostel_run_result res; /* zeroed: a serve cell may fail before the runner fills it */
    memset(&res, 0, sizeof(res));
    struct scenario_hook hook = {c, &sc, dir, 0, false, false, OSTEL_OK};
    rs.before_summary = scenario_before_summary;
    rs.before_summary_arg = &hook;
    double t0 = ostel_mono_s();
    int rr = run_attempts(c, r, dir, &rs, &hook, &res);
    if (argv)
        ostel_run_llama_cmd_argv_free(argv);
    bool recorded = rr == 0, keep = recorded && !res.write_error[0];
    int stop_rc = stop_scenario(c, &hook, dir, keep, &res);
    if (stop_rc != 0)
        keep = false;
    else if (recorded && res.write_error[0])
        ostel_error("study: %s: %s; stopping (free some space, then run the same command again "
                    "to resume)",
                    r->dir_name, res.write_error);
    if (!keep) {
        /* not stored and not left looking finished: the next invocation runs it again */
        if (recorded)
            remove_run_dir(dir);
        free(dir);
        ostel_run_result_free(&res);
        if (recorded && res.status == OSTEL_RUN_INTERRUPTED)
            return 128 + (res.ostel_signal ? res.ostel_signal : SIGINT);
        return 1;
    }
    if (res.status == OSTEL_RUN_INTERRUPTED) {
        free(dir);
        ostel_run_result_free(&res);
        return 128 + (res.ostel_signal ? res.ostel_signal : SIGINT);
    }
    rc = record_run(c, r, dir, &res, t0);
    free(dir);
    ostel_run_result_free(&res);
    return rc;
}

static int do_warmups(struct study_ctx *c, const bool *needed)
{
    const struct ostel_study_spec *s = c->spec;
    for (size_t m = 0; m < s->models.n; m++) {
        if (!needed[m])
            continue;
        char *tag = ostel_tag_sanitize(s->tags.v[m]);
        char *dir = ostel_xasprintf("%s/%s", c->warm_dir, tag);
        free(tag);
        if (ostel_is_dir(dir) && remove_run_dir(dir) != 0) {
            free(dir);
            return 1;
        }
        long long ctx = atoll(s->ctxs.v[0]), gen = s->serve ? -1 : atoll(s->gens.v[0]);
        if (gen > 32)
            gen = 32; /* enough to load the weights into the page cache and run every kernel */
        if (!c->opt->quiet) {
            if (c->opt->progress_bar)
                fprintf(stderr, "\r\033[Kwarm-up: %s", s->tags.v[m]);
            else
                fprintf(stderr, "study: warm-up %s\n", s->tags.v[m]);
        }
        char **argv = s->serve ? NULL : llama_argv(c, m, ctx, gen);
        struct ostel_run_spec rs;
        fill_spec(c, &rs, dir, argv, m, ctx, gen, "none", 0, NULL);
        struct ostel_run_result res;
        memset(&res, 0, sizeof(res)); /* a serve warm-up may fail before the runner */
        int rr = s->serve
                     ? c->opt->run_serve(c->opt->run_serve_arg, s, c->tool_path, &rs, true, &res)
                     : ostel_runner_run(&rs, &res);
        ostel_run_result_free(&res);
        if (argv)
            ostel_run_llama_cmd_argv_free(argv);
        free(dir);
        if (rr != 0)
            return 1;
        if (res.status == OSTEL_RUN_INTERRUPTED)
            return 128 + (res.ostel_signal ? res.ostel_signal : SIGINT);
        if (res.write_error[0])
            return ostel_error("study: warm-up %s: %s; stopping", s->tags.v[m], res.write_error), 1;
        if (res.status != OSTEL_RUN_OK)
            ostel_warn("the warm-up run of %s ended %s: its measured runs will likely fail too",
                       s->tags.v[m], ostel_run_status_name(res.status));
        if (!cooldown(c))
            return 128 + g_study_signal;
    }
    return 0;
}

static int check_inputs(struct study_ctx *c)
{
    const struct ostel_study_spec *s = c->spec;
    c->model_facts = ostel_xcalloc(s->models.n ? s->models.n : 1, sizeof(*c->model_facts));
    for (size_t m = 0; m < s->models.n; m++) {
        char err[256];
        if (!ostel_is_file(s->models.v[m]))
            return ostel_error("study: model '%s' not found", s->models.v[m]);
        if (ostel_gguf_run_facts_read(&c->model_facts[m], s->models.v[m], err, sizeof(err)) != 0)
            return ostel_error("study: '%s' is not a usable GGUF model: %s", s->models.v[m], err);
    }
    if (s->prompt_file && !ostel_is_file(s->prompt_file))
        return ostel_error("study: prompt file '%s' not found", s->prompt_file);
    if (s->serve && !c->opt->run_serve)
        return ostel_error("study: this ostel cannot make serving cells");
    const char *tool = s->serve ? "llama-server" : s->tool;
    c->tool_path = ostel_llama_find_tool(s->llama_bin, tool);
    if (!c->tool_path)
        return ostel_error("study: %s not found; run scripts/setup.sh, or point --llama-bin / "
                           "OSTEL_LLAMA_BIN at llama.cpp's build/bin",
                           tool);
    return OSTEL_OK;
}

/* A memory scenario the machine cannot give is refused before anything starts, with the numbers. */
static int check_scenarios(const struct study_ctx *c)
{
    const struct ostel_study_spec *s = c->spec;
    struct ostel_hog_meminfo mi;
    ostel_hog_read_meminfo(&mi);
    for (size_t i = 0; i < s->scenarios.n; i++) {
        const char *t = s->scenarios.v[i];
        if (!strcmp(t, "none") || !strncmp(t, "cmd:", 4))
            continue;
        struct ostel_hog_spec hs;
        char err[256];
        uint64_t bytes;
        bool checked;
        if (ostel_hog_parse_spec(t, &hs, err, sizeof(err)) != 0 ||
            ostel_hog_resolve_mem(&hs, &mi, OSTEL_HOG_RESERVE_BYTES, &bytes, &checked, err,
                                  sizeof(err)) != 0)
            return ostel_error("study: scenario %s", err);
    }
    return OSTEL_OK;
}

/*
 * A study's name stands for one matrix in a shared database: a second definition under the same
 * name is refused with what differs (for a sharded study, or any study in PostgreSQL, where many
 * machines write; a local SQLite file keeps allowing it, and `--study ID` tells them apart).
 */
static int study_same_matrix(struct study_ctx *c, const char *canon)
{
    if (!c->spec->name || (c->opt->shards == 0 && !ostel_store_is_url(c->spec->db)))
        return 0;
    int64_t id = 0;
    char *def = NULL;
    int found = ostel_store_study_by_name(c->store, c->spec->name, &id, &def);
    int rc = found < 0 ? 1 : 0;
    if (found == 1 && strcmp(def, canon) != 0) {
        char *d = ostel_study_definition_diff(def, canon);
        ostel_error("study '%s' is already in %s with another matrix: %s (give the new matrix "
                    "another --name)",
                    c->spec->name, ostel_store_name(c->store), d);
        free(d);
        rc = 1;
    }
    free(def);
    return rc;
}

/* Marks the other shards' runs as skipped and records this shard in the database. */
static int study_shard_begin(struct study_ctx *c, bool *skip)
{
    const struct ostel_study_options *o = c->opt;
    bool *mine = ostel_xcalloc(c->nplan ? c->nplan : 1, sizeof(bool));
    char plan_hash[17];
    c->shard_runs =
        ostel_study_shard_select(c->spec, c->plan, c->nplan, o->shard, o->shards, mine, plan_hash);
    for (size_t i = 0; i < c->nplan; i++)
        skip[i] = !mine[i];
    c->mine = mine;
    char host[256] = "";
    gethostname(host, sizeof(host) - 1);
    if (ostel_store_shard_begin(c->store, c->study_id, o->shard, o->shards, host,
                                (int)c->shard_runs, plan_hash) != 0)
        return OSTEL_ERR;
    if (!o->quiet)
        fprintf(stderr, "study: shard %d of %d: %zu of %zu runs\n", o->shard, o->shards,
                c->shard_runs, c->nplan);
    return 0;
}

/*
 * Records this shard as finished with the number of its runs the database holds with a final
 * status, not the number planned: a run that could not be made (spawn_failed, interrupted) or
 * stored leaves the shard incomplete, and `ostel report --study` says "x of y runs".
 */
static int study_shard_finish(struct study_ctx *c)
{
    int done = 0;
    for (size_t i = 0; i < c->nplan; i++) {
        if (!c->mine[i])
            continue;
        int r = ostel_store_run_is_complete(c->store, c->study_id, c->plan[i].hash);
        if (r == OSTEL_ERR)
            return OSTEL_ERR;
        done += r == 1;
    }
    if (!c->opt->quiet && (size_t)done < c->shard_runs)
        ostel_warn("study: shard %d of %d: %d of %zu runs are stored", c->opt->shard,
                   c->opt->shards, done, c->shard_runs);
    return ostel_store_shard_finish(c->store, c->study_id, c->opt->shard, done);
}

/* The study's inputs and scenarios checked, its directories made and locked (lock_fd), leftovers
 * of a killed study reaped. Returns 0, OSTEL_EXIT_USAGE or OSTEL_EXIT_FAIL. */
static int study_prepare(struct study_ctx *c, int *lock_fd)
{
    const struct ostel_study_spec *s = c->spec;
    if (check_inputs(c) != 0)
        return OSTEL_EXIT_USAGE;
    if (check_scenarios(c) != 0)
        return OSTEL_EXIT_FAIL;
    c->llama_version = ostel_run_llama_tool_version(c->tool_path);
    c->runs_dir = ostel_xasprintf("%s/runs", s->dir);
    c->warm_dir = ostel_xasprintf("%s/warmup", s->dir);
    if (ostel_mkdir_p(c->runs_dir) != 0 || ostel_mkdir_p(c->warm_dir) != 0)
        return OSTEL_EXIT_FAIL;
    if ((*lock_fd = ostel_study_lock(s->dir, c->opt->wait_lock)) < 0)
        return OSTEL_EXIT_FAIL;
    active_reap_leftovers(c);
    return 0;
}

/* study.ini written, the store opened, the plan made and the study recorded in the store;
 * *skipp (one per planned run, another shard's set) is returned on success only. */
static int study_register(struct study_ctx *c, bool **skipp)
{
    const struct ostel_study_spec *s = c->spec;
    char *canon = ostel_study_spec_canonical(s);
    char *ini = ostel_xasprintf("%s/study.ini", s->dir);
    int iw = ostel_file_write_atomic(ini, canon, strlen(canon));
    free(ini);
    if (iw != 0) {
        free(canon);
        return OSTEL_ERR;
    }
    if (ostel_store_open(s->db, 0, &c->store) != 0) {
        free(canon);
        return OSTEL_ERR;
    }
    ostel_study_plan(s, &c->plan, &c->nplan);
    bool *skip = ostel_xcalloc(c->nplan ? c->nplan : 1, sizeof(bool));
    /* The name's checks and the inserts in one write transaction: two machines starting the
     * same study name at once cannot both pass the checks (docs/fleet.md) */
    int sr = ostel_store_study_lock(c->store, s->name);
    if (sr == 0) {
        sr = study_same_matrix(c, canon);
        if (sr == 0)
            sr = ostel_store_insert_study(c->store, s->name, canon, strlen(canon), &c->study_id);
        if (sr == 0 && c->opt->shards > 0)
            sr = study_shard_begin(c, skip);
        if (ostel_store_study_unlock(c->store, sr == 0) != 0)
            sr = OSTEL_ERR;
    }
    free(canon);
    if (sr != 0) {
        free(skip);
        return OSTEL_ERR;
    }
    *skipp = skip;
    return OSTEL_OK;
}

/* Skips the runs already in the store (a resumed study) and counts the rest in c->todo;
 * *warmp (one per model) says which models are warmed up first. */
static int study_resume(struct study_ctx *c, bool *skip, bool **warmp)
{
    const struct ostel_study_spec *s = c->spec;
    bool *warm = ostel_xcalloc(s->models.n, sizeof(bool));
    for (size_t i = 0; i < c->nplan; i++) {
        if (skip[i]) /* another shard's */
            continue;
        int done = ostel_store_run_is_complete(c->store, c->study_id, c->plan[i].hash);
        if (done == OSTEL_ERR) {
            free(warm);
            return OSTEL_ERR;
        }
        skip[i] = done == 1;
        if (!skip[i]) {
            c->todo++;
            warm[c->plan[i].model] = s->warmup;
        }
    }
    if (!c->opt->quiet && c->todo < c->nplan)
        fprintf(stderr, "study: %zu of %zu runs are already in %s; resuming\n", c->nplan - c->todo,
                c->nplan, ostel_store_name(c->store));
    *warmp = warm;
    return OSTEL_OK;
}

/* The warm-ups and the runs not skipped, under the study's SIGINT/SIGTERM handler.
 * Returns 0, 1 or 128+signal. */
static int study_run_plan(struct study_ctx *c, const bool *skip, const bool *warm)
{
    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_study_signal;
    sigemptyset(&sa.sa_mask);
    g_study_signal = 0;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);

    c->t0 = ostel_mono_s();
    c->baseline_avail = avail_mib();
    int rc = 0;
    if (c->todo > 0)
        rc = do_warmups(c, warm);
    for (size_t i = 0; i < c->nplan && rc == 0; i++) {
        if (skip[i])
            continue;
        if (g_study_signal) {
            rc = 128 + g_study_signal;
            break;
        }
        rc = do_run(c, &c->plan[i]);
        if (rc == 0 && c->done_now < c->todo && !cooldown(c))
            rc = 128 + g_study_signal;
    }
    progress_end(c);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    return rc;
}

/* After the runs: the shard's end, the reports and the closing lines. Returns 0, or 1. */
static int study_finish(struct study_ctx *c)
{
    const struct ostel_study_spec *s = c->spec;
    const struct ostel_study_options *o = c->opt;
    if (o->shards > 0 && study_shard_finish(c) != 0)
        return 1;
    if (o->write_reports && o->write_reports(s, c->runs_dir) != 0)
        return 1;
    if (!o->quiet) {
        char el[32];
        fmt_dur(ostel_mono_s() - c->t0, el, sizeof(el));
        fprintf(stderr, "study: %zu runs done in %s (%zu failed); database %s\n", c->done_now, el,
                c->failed, ostel_store_name(c->store));
    }
    printf("%s/report.html\n", s->dir);
    return 0;
}

int ostel_study_execute(const struct ostel_study_spec *s, const struct ostel_study_options *o)
{
    struct study_ctx c;
    memset(&c, 0, sizeof(c));
    c.spec = s;
    c.opt = o;
    c.last_gen_tps = NAN;
    c.baseline_avail = NAN;
    int lock_fd = -1;
    int rc = study_prepare(&c, &lock_fd);
    if (rc != 0)
        goto out;
    rc = OSTEL_EXIT_FAIL;
    bool *skip = NULL, *warm = NULL;
    if (study_register(&c, &skip) != OSTEL_OK)
        goto out;
    if (study_resume(&c, skip, &warm) != OSTEL_OK) {
        free(skip);
        goto out;
    }
    rc = study_run_plan(&c, skip, warm);
    free(skip);
    free(warm);
    if (rc > 128) {
        if (!o->quiet)
            fprintf(stderr, "study: interrupted; run the same command again to resume\n");
        goto out;
    }
    if (rc == 0 && s->quality) { /* quality passes: src/quality/, docs/quality.md */
        int qr = o->run_quality ? o->run_quality(s, c.store, c.study_id, o->quiet, o->progress_bar)
                                : ostel_error("study: this build makes no quality passes");
        if (qr > 128)
            rc = qr;
        else if (qr != 0)
            c.failed++;
    }
    if (rc > 128 && !o->quiet)
        fprintf(stderr, "study: interrupted; run the same command again to resume\n");
    if (rc != 0)
        goto out;
    rc = study_finish(&c);
out:
    if (c.plan)
        ostel_study_plan_free(c.plan, c.nplan);
    ostel_store_close(c.store);
    free(c.mine);
    free(c.runs_dir);
    free(c.warm_dir);
    free(c.tool_path);
    free(c.llama_version);
    for (size_t m = 0; c.model_facts && m < s->models.n; m++)
        ostel_gguf_run_facts_free(&c.model_facts[m]);
    free(c.model_facts);
    ostel_study_unlock(lock_fd);
    return rc;
}
