/*
 * runner: one run from spawn to a complete run directory (see runner.h).
 *
 * Threads: the sampler runs in its own thread (sampler.c); this thread drains the child's output
 * pipe (the child must never block on a full pipe), writes it to llama_output.log as it arrives,
 * records when notable log lines arrive (phase marks), enforces --timeout and reacts to
 * SIGINT/SIGTERM. When the child has exited (seen without reaping it), the sampler takes its last
 * sample, the child is reaped, and the artifacts are post-processed: the log parsed, phases
 * labelled in metrics.csv, summary.json written atomically, config.txt rewritten with the final
 * status.
 *
 * The one piece of process-wide state is the signal self-pipe: a signal handler can reach nothing
 * else.
 */
#include "run/runner.h"

#include "llama/gguf_facts.h"
#include "llama/logparse.h"
#include "llama/memmodel.h"
#include "platform/platform.h"
#include "run/aggregate.h"
#include "run/child.h"
#include "rundir/rundir_metrics.h"
#include "run/gpu_finalize.h"
#include "run/gpu_sampler.h"
#include "run/phases.h"
#include "run/prom.h"
#include "run/sampler.h"
#include "rundir/rundir_config.h"
#include "rundir/rundir_summary.h"
#include "util/fileio.h"
#include "util/util.h"

#include <cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define LOG_MAX_BYTES ((size_t)1 << 30) /* a log bigger than this is kept but not parsed whole */
#define LINE_MAX_BYTES 65536            /* longer lines are classified on their first 64 KiB */
#define KILL_GRACE_S 5.0                /* SIGTERM, then SIGKILL after this */
#define MAX_MARKS 100000

static const char *const status_names[] = {"ok",      "failed",      "killed",
                                           "timeout", "interrupted", "spawn_failed"};

const char *ostel_run_status_name(enum ostel_run_status s)
{
    return (unsigned)s < OSTEL_ARRAY_LEN(status_names) ? status_names[s] : "unknown";
}

static volatile sig_atomic_t g_signal_received; /* the signal handler's only outputs */
static int g_signal_pipe[2] = {-1, -1};

static void on_signal(int sig)
{
    int saved = errno;
    g_signal_received = sig;
    if (g_signal_pipe[1] >= 0) {
        char c = (char)sig;
        (void)!write(g_signal_pipe[1], &c, 1);
    }
    errno = saved;
}

struct saved_signals {
    struct sigaction old_int, old_term, old_hup, old_pipe;
};

static int install_signals(struct saved_signals *sv)
{
    if (pipe(g_signal_pipe) != 0)
        return ostel_error("cannot create a pipe: %s", strerror(errno));
    for (int i = 0; i < 2; i++) {
        fcntl(g_signal_pipe[i], F_SETFD, FD_CLOEXEC);
        fcntl(g_signal_pipe[i], F_SETFL, fcntl(g_signal_pipe[i], F_GETFL) | O_NONBLOCK);
    }
    g_signal_received = 0;
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &sv->old_int);
    sigaction(SIGTERM, &sa, &sv->old_term);
    sigaction(SIGHUP, &sa, &sv->old_hup);
    struct sigaction ign;
    memset(&ign, 0, sizeof(ign));
    ign.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &ign, &sv->old_pipe);
    return OSTEL_OK;
}

static void restore_signals(const struct saved_signals *sv)
{
    sigaction(SIGINT, &sv->old_int, NULL);
    sigaction(SIGTERM, &sv->old_term, NULL);
    sigaction(SIGHUP, &sv->old_hup, NULL);
    sigaction(SIGPIPE, &sv->old_pipe, NULL);
    close(g_signal_pipe[0]);
    close(g_signal_pipe[1]);
    g_signal_pipe[0] = g_signal_pipe[1] = -1;
}

static double now_real(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int ostel_runner_prepare_dir(const char *dir)
{
    if (ostel_is_dir(dir)) {
        DIR *d = opendir(dir);
        if (!d)
            return ostel_error("cannot open '%s': %s", dir, strerror(errno));
        struct dirent *e;
        bool empty = true;
        while ((e = readdir(d)))
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
                empty = false;
        closedir(d);
        if (!empty)
            return ostel_error("output directory '%s' is not empty", dir);
    } else if (ostel_mkdir_p(dir) != 0) {
        return OSTEL_ERR;
    }
    char *probe = ostel_xasprintf("%s/.ostel-write-test", dir);
    int fd = open(probe, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int e = errno;
    if (fd >= 0) {
        close(fd);
        unlink(probe);
    }
    free(probe);
    if (fd < 0)
        return ostel_error("cannot write in '%s': %s", dir, strerror(e));
    return OSTEL_OK;
}

/* Shell-quotes argv for reading (config.txt's command line); never executed. */
static char *join_argv(char *const *argv)
{
    struct ostel_buf b;
    ostel_buf_init(&b, 1 << 20);
    for (size_t i = 0; argv[i]; i++) {
        const char *a = argv[i];
        bool plain = *a != '\0';
        for (const char *p = a; *p; p++)
            if (!(('a' <= *p && *p <= 'z') || ('A' <= *p && *p <= 'Z') ||
                  ('0' <= *p && *p <= '9') || strchr("-_./=:,+@%", *p)))
                plain = false;
        if (i)
            ostel_buf_putc(&b, ' ');
        if (plain) {
            ostel_buf_puts(&b, a);
            continue;
        }
        ostel_buf_putc(&b, '\'');
        for (const char *p = a; *p; p++) {
            if (*p == '\'')
                ostel_buf_puts(&b, "'\\''");
            else
                ostel_buf_putc(&b, *p);
        }
        ostel_buf_putc(&b, '\'');
    }
    return ostel_buf_detach(&b);
}

/* 128 random bits as 32 hex digits: the run's identity (run_id), unique across machines. */
static void make_run_id(char out[33])
{
    unsigned char r[16];
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    bool ok = fd >= 0 && read(fd, r, sizeof(r)) == (ssize_t)sizeof(r);
    if (fd >= 0)
        close(fd);
    if (!ok) { /* no /dev/urandom: time and pid, still unique enough on one machine */
        struct timespec t;
        clock_gettime(CLOCK_REALTIME, &t);
        uint64_t a = (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
        uint64_t b = (uint64_t)getpid() * 2654435761ull ^ a;
        memcpy(r, &a, 8);
        memcpy(r + 8, &b, 8);
    }
    for (int i = 0; i < 16; i++)
        snprintf(out + 2 * i, 3, "%02x", r[i]);
}

struct run_ctx {
    char run_id[33];
    const struct ostel_run_spec *spec;
    struct ostel_run_result *res;
    struct ostel_platform_host host;
    char llama_version[256];
    char start_time[40];
    struct ostel_line_mark *marks;
    size_t n_marks, cap_marks;
    struct ostel_buf line; /* the current, not yet complete line */
    bool line_overflow;
    char gpu_line[256];              /* config.txt's "gpu" line: what is read, or why nothing is */
    struct ostel_metrics_table rows; /* the sampler's rows, handed over as it stops (owned) */
    bool rows_complete;              /* else metrics.csv is read back (label_phases) */
    cJSON *gpu_collection;           /* what the GPU sampler recorded (owned), or NULL */
};

/* Records the first artifact that could not be written; the run becomes status failed with it. */
static void note_write_error(struct run_ctx *c, const char *file, int e)
{
    struct ostel_run_result *res = c->res;
    if (res->write_errno || !e)
        return;
    res->write_errno = e;
    ostel_write_error_text(res->write_error, sizeof(res->write_error), e, file);
}

/* fsync + close of an artifact written as the run went, each checked. */
static void close_artifact(struct run_ctx *c, int fd, const char *file)
{
    if (fsync(fd) != 0 && errno != EINVAL)
        note_write_error(c, file, errno);
    if (close(fd) != 0)
        note_write_error(c, file, errno);
}

/* Writes config.txt atomically; returns 0 or the errno of the failure (prints nothing). The last
 * write (last) lets the spec's before_config add its lines and its verdict. */
static int write_config(const struct run_ctx *c, const char *status, bool last)
{
    const struct ostel_run_spec *s = c->spec;
    struct ostel_buf b;
    ostel_buf_init(&b, 0);
    char *cmd = join_argv(s->argv);
    ostel_config_line(&b, OSTEL_CFG_RUN_ID, c->run_id);
    ostel_config_line(&b, OSTEL_CFG_TAG, s->tag);
    ostel_config_line(&b, OSTEL_CFG_MODEL, s->model);
    ostel_config_num(&b, OSTEL_CFG_CTX, s->ctx, s->ctx >= 0);
    ostel_config_num(&b, OSTEL_CFG_GEN, s->gen, s->gen >= 0);
    ostel_config_line(&b, OSTEL_CFG_PROMPT, s->prompt_desc);
    ostel_config_line(&b, OSTEL_CFG_TOOL, s->tool);
    ostel_config_line(&b, OSTEL_CFG_COMMAND, cmd);
    ostel_config_line(&b, OSTEL_CFG_OSTEL_COMMAND, s->ostel_cmdline);
    ostel_config_line(&b, OSTEL_CFG_LLAMA_BIN, s->llama_bin);
    ostel_config_line(&b, OSTEL_CFG_LLAMA_VERSION,
                      c->llama_version[0] ? c->llama_version : s->llama_version);
    ostel_config_line(&b, OSTEL_CFG_OSTEL_VERSION, OSTEL_VERSION);
    ostel_config_line(&b, OSTEL_CFG_HOST, c->host.hostname);
    ostel_config_line(&b, OSTEL_CFG_OS, c->host.os_version[0] ? c->host.os_version : c->host.os);
    ostel_config_line(&b, OSTEL_CFG_KERNEL, c->host.kernel);
    ostel_config_line(&b, OSTEL_CFG_ARCH, c->host.machine);
    ostel_config_line(&b, OSTEL_CFG_CPU_MODEL, c->host.cpu_model);
    ostel_config_num(&b, OSTEL_CFG_CPU_CORES, c->host.logical_cores,
                     (c->host.valid >> OSTEL_PLATFORM_HOST_CORES) & 1u);
    ostel_config_num(&b, OSTEL_CFG_RAM_MIB, (long long)(c->host.ram_bytes >> 20),
                     (c->host.valid >> OSTEL_PLATFORM_HOST_RAM) & 1u);
    ostel_config_num(&b, OSTEL_CFG_SWAP_MIB, (long long)(c->host.swap_total_bytes >> 20),
                     (c->host.valid >> OSTEL_PLATFORM_HOST_SWAP_TOTAL) & 1u);
    ostel_config_line(&b, OSTEL_CFG_PLATFORM, ostel_platform_backend_name());
    if (c->gpu_line[0])
        ostel_config_line(&b, OSTEL_CFG_GPU, c->gpu_line);
    ostel_config_line(&b, OSTEL_CFG_START_TIME, c->start_time);
    char iv[32];
    snprintf(iv, sizeof(iv), "%.3f", (double)s->interval_ns / 1e6);
    ostel_config_line(&b, OSTEL_CFG_INTERVAL_MS, iv);
    ostel_config_line(&b, OSTEL_CFG_SCENARIO, s->scenario ? s->scenario : "none");
    ostel_config_num(&b, OSTEL_CFG_REPETITION, s->repetition, s->repetition > 0);
    if (s->study) {
        ostel_config_line(&b, OSTEL_CFG_STUDY, s->study);
        ostel_config_line(&b, OSTEL_CFG_SPEC_HASH, s->spec_hash);
    }
    ostel_config_line(&b, OSTEL_CFG_OOM_SCOPE, c->res->oom_scope ? c->res->oom_scope : "");
    const char *error = c->res->write_error[0] ? c->res->write_error : NULL;
    if (last && s->before_config)
        s->before_config(s->before_config_arg, &b, c->res, &status, &error);
    ostel_config_line(&b, OSTEL_CFG_STATUS, status);
    if (error && *error)
        ostel_config_line(&b, OSTEL_CFG_ERROR, error);
    int e = ostel_config_write(s->dir, b.data, b.len);
    free(cmd);
    ostel_buf_free(&b);
    return e;
}

static void add_mark(struct run_ctx *c, double ts, enum ostel_logparse_event e)
{
    if (c->n_marks == MAX_MARKS)
        return;
    if (c->n_marks == c->cap_marks) {
        c->cap_marks = c->cap_marks ? c->cap_marks * 2 : 64;
        c->marks = ostel_xrealloc(c->marks, c->cap_marks * sizeof(*c->marks));
    }
    c->marks[c->n_marks].ts = ts;
    c->marks[c->n_marks].event = e;
    c->n_marks++;
    ostel_prom_event(c->spec->prom, e);
}

static void end_line(struct run_ctx *c, double ts)
{
    enum ostel_logparse_event e = ostel_logparse_classify_line(c->line.data, c->line.len);
    if (e != OSTEL_LOGPARSE_EVENT_NONE)
        add_mark(c, ts, e);
    /* The version line is kept for config.txt. */
    if (!c->llama_version[0]) {
        struct ostel_str l = ostel_str_trim(ostel_str_make(c->line.data, c->line.len));
        long at = ostel_str_find(l, "version: ");
        if (at < 0)
            at = ostel_str_find(l, "build: ");
        if (at >= 0 && (size_t)at < 64) {
            size_t n = l.n - (size_t)at;
            if (n >= sizeof(c->llama_version))
                n = sizeof(c->llama_version) - 1;
            memcpy(c->llama_version, l.p + at, n);
            c->llama_version[n] = '\0';
        }
    }
    ostel_buf_reset(&c->line);
    c->line_overflow = false;
}

/* Records one chunk of output: its lines' arrival times (marks) and the version line. */
static void scan_chunk(struct run_ctx *c, const char *p, size_t n, double ts)
{
    while (n) {
        const char *nl = memchr(p, '\n', n);
        size_t take = nl ? (size_t)(nl - p) : n;
        if (!c->line_overflow) {
            size_t room = LINE_MAX_BYTES - c->line.len;
            ostel_buf_append(&c->line, p, take < room ? take : room);
            if (take >= room)
                c->line_overflow = true;
        }
        if (!nl)
            return;
        end_line(c, ts);
        p += take + 1;
        n -= take + 1;
    }
}

/* The spec's `during` on its own thread (ostel serve's load while the server runs). */
struct during_thread {
    const struct ostel_run_spec *spec;
    pid_t pid;
    _Atomic int stop, done;
    pthread_t thread;
    bool started;
};

static void *during_main(void *arg)
{
    struct during_thread *d = arg;
    d->spec->during(d->spec->during_arg, d->pid, &d->stop);
    atomic_store(&d->done, 1);
    return NULL;
}

static int signal_number_after_exit(int wstatus, int *exit_code)
{
    if (WIFEXITED(wstatus)) {
        *exit_code = WEXITSTATUS(wstatus);
        return 0;
    }
    *exit_code = -1;
    return WIFSIGNALED(wstatus) ? WTERMSIG(wstatus) : 0;
}

static const char *signal_name(int sig)
{
    switch (sig) {
    case SIGKILL:
        return "SIGKILL";
    case SIGTERM:
        return "SIGTERM";
    case SIGINT:
        return "SIGINT";
    case SIGSEGV:
        return "SIGSEGV";
    case SIGABRT:
        return "SIGABRT";
    case SIGBUS:
        return "SIGBUS";
    case SIGFPE:
        return "SIGFPE";
    case SIGILL:
        return "SIGILL";
    case SIGHUP:
        return "SIGHUP";
    case SIGPIPE:
        return "SIGPIPE";
    default:
        return NULL;
    }
}

static cJSON *num_or_null(double v, bool valid)
{
    return valid && isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull();
}

/* Post-processing (finalize and its steps): parse the log, label phases, rewrite metrics.csv and
 * gpu_metrics.csv, fill the run's summary and write it. */

/* host.gpu: the names of the GPUs read during the run, ", "-separated in index order (the store's
 * machines.gpu); NULL when none was read (no GPU, no driver, --gpu-interval off). */
static char *gpu_names(const cJSON *gpu)
{
    struct ostel_buf b;
    ostel_buf_init(&b, 0);
    const cJSON *d;
    cJSON_ArrayForEach(d, cJSON_GetObjectItem(gpu, "devices"))
    {
        const cJSON *nm = cJSON_GetObjectItem(d, "name");
        if (cJSON_IsString(nm) && nm->valuestring[0])
            ostel_buf_printf(&b, "%s%s", b.len ? ", " : "", nm->valuestring);
    }
    char *out = b.len ? ostel_xstrdup(b.data) : NULL;
    ostel_buf_free(&b);
    return out;
}

/* What finalize's steps hand each other. */
struct post {
    struct ostel_log_result lr;
    bool parsed;                  /* the log was read and parsed */
    struct ostel_metrics_table t; /* the sampler's rows, labelled with phases */
    struct ostel_phase_bounds b;
};

/* The whole log through the parser. */
static void parse_log(const struct run_ctx *c, struct post *p)
{
    struct ostel_buf log;
    ostel_buf_init(&log, LOG_MAX_BYTES + 1);
    char *log_path = ostel_xasprintf("%s/llama_output.log", c->spec->dir);
    ostel_logparse_result_init(&p->lr);
    p->parsed = false;
    if (ostel_file_read_all(log_path, LOG_MAX_BYTES, &log) == 0) {
        char err[256];
        p->parsed = ostel_logparse_parse(log.data, log.len, &p->lr, err, sizeof(err)) == 0;
    }
    free(log_path);
    ostel_buf_free(&log);
}

/* Phases from the marks and the log's timings, on the rows the sampler handed over; metrics.csv
 * rewritten with them. Where the sampler could not keep them all (out of memory, or no sampler),
 * the rows are metrics.csv's, read back through rundir's reader. */
static void label_phases(struct run_ctx *c, struct post *p)
{
    const struct ostel_run_spec *s = c->spec;
    char *csv_path = ostel_xasprintf("%s/metrics.csv", s->dir);
    if (c->rows_complete) {
        p->t = c->rows;
        memset(&c->rows, 0, sizeof(c->rows));
    } else {
        memset(&p->t, 0, sizeof(p->t));
        struct ostel_buf csv;
        ostel_buf_init(&csv, 0);
        char err[256];
        if (ostel_file_read_all(csv_path, (size_t)1 << 31, &csv) == 0 &&
            ostel_metrics_parse(csv.data, csv.len, &p->t, err, sizeof(err)) != 0)
            ostel_warn("%s: %s", csv_path, err);
        ostel_buf_free(&csv);
    }

    ostel_phases_compute(c->marks, c->n_marks, &p->lr.timings, c->res->start_ts, c->res->end_ts,
                         &p->b);
    if (!p->parsed)
        for (int k = OSTEL_PHASE_PROMPT; k < OSTEL_PHASE_COUNT; k++)
            p->b.start[k] = -1;
    ostel_phases_label_rows(&p->b, p->t.rows, p->t.n);

    struct ostel_buf out;
    ostel_buf_init(&out, 0);
    char line[512];
    size_t n = ostel_metrics_format_header(line, sizeof(line));
    ostel_buf_append(&out, line, n);
    for (size_t i = 0; i < p->t.n; i++) {
        n = ostel_metrics_format_row(&p->t.rows[i], line, sizeof(line));
        ostel_buf_append(&out, line, n);
    }
    note_write_error(c, "metrics.csv", ostel_file_write_atomic_errno(csv_path, out.data, out.len));
    ostel_buf_free(&out);
    free(csv_path);
}

/* run: the run's identity, outcome and token counts. */
static void fill_run(const struct run_ctx *c, const struct post *p, struct ostel_summary_run *r)
{
    const struct ostel_run_spec *s = c->spec;
    const struct ostel_run_result *res = c->res;
    ostel_summary_set_str(&r->run_id, c->run_id);
    ostel_summary_set_str(&r->tag, s->tag);
    ostel_summary_set_str(&r->status, ostel_run_status_name(res->status));
    r->has_exit_code = res->status == OSTEL_RUN_OK || res->status == OSTEL_RUN_FAILED;
    r->exit_code = res->exit_code;
    r->signal = res->signal;
    ostel_summary_set_str(&r->signal_name, res->signal ? signal_name(res->signal) : NULL);
    r->oom_killed = res->oom_killed;
    ostel_summary_set_str(&r->oom_scope, res->oom_scope);
    r->start_ts_s = res->start_ts;
    r->end_ts_s = res->end_ts;
    r->wall_s = res->end_ts - res->start_ts;
    size_t argc = 0;
    while (s->argv[argc])
        argc++;
    r->argv = ostel_xcalloc(argc + 1, sizeof(*r->argv));
    for (r->argc = 0; r->argc < argc; r->argc++)
        r->argv[r->argc] = ostel_xstrdup(s->argv[r->argc]);
    ostel_summary_set_str(&r->tool, s->tool);
    ostel_summary_set_str(&r->model, s->model);
    r->ctx = s->ctx;
    r->gen = s->gen;
    ostel_summary_set_str(&r->scenario, s->scenario ? s->scenario : "none");
    r->repetition = s->repetition;
    /* llama.cpp's "eval time" counts n-1 decode runs: the first generated token is sampled from the
     * prompt's logits. Generated tokens are therefore eval runs + 1 when a prompt was evaluated. */
    const struct ostel_log_timings *lt = &p->lr.timings;
    r->prompt_tokens = p->parsed && lt->prompt_tokens.valid ? lt->prompt_tokens.value : NAN;
    r->gen_tokens =
        p->parsed && lt->gen_tokens.valid && lt->prompt_tokens.valid && lt->prompt_tokens.value > 0
            ? lt->gen_tokens.value + 1
            : NAN;
    /* The pinned llama.cpp's logger writes from a thread that is not joined at exit, so a process
     * that ends well can still lose its last lines, perf block included (upstream issue 22142). */
    bool llama_tool =
        s->tool && strcmp(s->tool, "command") != 0 && strcmp(s->tool, "llama-server") != 0;
    r->log_complete = !llama_tool || res->status != OSTEL_RUN_OK ||
                      (p->parsed && lt->format != OSTEL_LOGPARSE_FORMAT_NONE);
    ostel_summary_set_str(&r->interrupted_by,
                          res->ostel_signal ? signal_name(res->ostel_signal) : NULL);
    ostel_summary_set_str(&r->error, res->write_error[0] ? res->write_error : NULL);
}

/* llama, model_file, prediction: the log parser's facts, the GGUF's (its header read once: by the
 * caller, else here), and ostel fit's prediction of what llama.cpp allocates held against what it
 * reported. */
static void fill_llama(const struct run_ctx *c, const struct post *p, struct ostel_summary *sum)
{
    const struct ostel_run_spec *s = c->spec;
    sum->llama = p->parsed ? ostel_logparse_to_json(&p->lr) : NULL;
    struct ostel_gguf_run_facts own_facts;
    memset(&own_facts, 0, sizeof(own_facts));
    const struct ostel_gguf_run_facts *mf = s->model_facts;
    if (!mf && s->model) {
        char gerr[256];
        if (ostel_gguf_run_facts_read(&own_facts, s->model, gerr, sizeof(gerr)) == OSTEL_OK)
            mf = &own_facts;
    }
    sum->model_file = mf && mf->model_file ? cJSON_Duplicate(mf->model_file, true) : NULL;
    if (p->parsed && strcmp(s->tool ? s->tool : "command", "command") != 0) {
        struct ostel_memmodel_params mp = ostel_memmodel_default_params();
        mp.n_ctx = s->ctx > 0 ? (uint32_t)s->ctx : 0;
        char perr[256];
        sum->prediction = ostel_memmodel_compare_json(mf && mf->has_shape ? &mf->shape : NULL, &mp,
                                                      &p->lr, perr, sizeof(perr));
    }
    ostel_gguf_run_facts_free(&own_facts);
}

/* telemetry: the aggregator's per-phase statistics, what watching cost, where the phases began. */
static cJSON *telemetry_json(const struct run_ctx *c, const struct post *p)
{
    const struct ostel_run_result *res = c->res;
    cJSON *tel =
        ostel_aggregate_telemetry_json(p->t.rows, p->t.n, (double)c->spec->interval_ns / 1e6);
    /* What watching cost: ostel's own CPU time over the run, in all and per sample. */
    double wall = res->end_ts - res->start_ts;
    bool has_cpu = res->watcher_cpu_ns > 0 && res->samples > 0 && wall > 0;
    double cpu_ms = (double)res->watcher_cpu_ns / 1e6;
    cJSON *oc = cJSON_AddObjectToObject(tel, "ostel_cpu");
    cJSON_AddItemToObject(oc, "ms", num_or_null(round(cpu_ms * 1000) / 1000, has_cpu));
    cJSON_AddItemToObject(oc, "pct_of_core",
                          num_or_null(round(cpu_ms / 10.0 / wall * 1000) / 1000, has_cpu));
    cJSON_AddItemToObject(
        oc, "us_per_sample",
        num_or_null(round(cpu_ms * 1000.0 / (double)res->samples * 10) / 10, has_cpu));
    cJSON *bounds = cJSON_AddObjectToObject(tel, "phase_starts");
    for (int k = OSTEL_PHASE_LOAD; k < OSTEL_PHASE_COUNT; k++)
        cJSON_AddItemToObject(bounds, ostel_metrics_phase_name((enum ostel_phase)k),
                              num_or_null(round(p->b.start[k] * 1000) / 1000, p->b.start[k] >= 0));
    return tel;
}

/* host: the machine as the platform describes it, and the GPUs read. */
static void fill_host(const struct run_ctx *c, const cJSON *gpu, struct ostel_summary_host *out)
{
    const struct ostel_platform_host *h = &c->host;
    ostel_summary_set_str(&out->hostname, h->hostname);
    ostel_summary_set_str(&out->os, h->os);
    ostel_summary_set_str(&out->os_version, h->os_version);
    ostel_summary_set_str(&out->kernel, h->kernel);
    ostel_summary_set_str(&out->arch, h->machine);
    ostel_summary_set_str(&out->cpu_model, h->cpu_model);
    out->cpu_cores = (h->valid >> OSTEL_PLATFORM_HOST_CORES) & 1 ? h->logical_cores : NAN;
    out->ram_mib = (h->valid >> OSTEL_PLATFORM_HOST_RAM) & 1 ? (double)(h->ram_bytes >> 20) : NAN;
    out->swap_mib = (h->valid >> OSTEL_PLATFORM_HOST_SWAP_TOTAL) & 1
                        ? (double)(h->swap_total_bytes >> 20)
                        : NAN;
    ostel_summary_set_str(&out->platform, ostel_platform_backend_name());
    free(out->gpu);
    out->gpu = gpu_names(gpu);
}

/* The run's post-processing; returns its summary, written as summary.json (owned by the caller;
 * NULL when it could not be written). */
static struct ostel_summary *finalize(struct run_ctx *c)
{
    const struct ostel_run_spec *s = c->spec;
    struct ostel_run_result *res = c->res;
    struct post p;
    memset(&p, 0, sizeof(p));
    parse_log(c, &p);
    label_phases(c, &p);
    /* gpu_metrics.csv is rewritten with phases too; its failure must reach run.status below. */
    int gpu_errno = 0;
    cJSON *gpu = ostel_gpu_finalize(s->dir, &p.b, p.parsed ? &p.lr : NULL, c->gpu_collection,
                                    c->gpu_line, &gpu_errno);
    c->gpu_collection = NULL;
    note_write_error(c, "gpu_metrics.csv", gpu_errno);
    /* An artifact that could not be written makes the run a failed one, whatever the child did. */
    if (res->write_errno && res->status != OSTEL_RUN_INTERRUPTED)
        res->status = OSTEL_RUN_FAILED;
    const struct ostel_log_timings *lt = &p.lr.timings;
    ostel_prom_set_tps(s->prom, p.parsed && lt->prompt_tps.valid ? lt->prompt_tps.value : NAN,
                       p.parsed && lt->gen_tps.valid ? lt->gen_tps.value : NAN);

    struct ostel_summary *sum = ostel_xmalloc(sizeof(*sum));
    ostel_summary_init(sum);
    ostel_summary_set_str(&sum->ostel_version, OSTEL_VERSION);
    fill_run(c, &p, &sum->run);
    fill_llama(c, &p, sum);
    sum->telemetry = telemetry_json(c, &p);
    sum->gpu = gpu;
    fill_host(c, sum->gpu, &sum->host);
    if (s->keep_rows) { /* handed over: a served run labels its levels on them */
        res->rows = ostel_xmalloc(sizeof(*res->rows));
        *res->rows = p.t;
    } else {
        ostel_metrics_table_free(&p.t);
    }
    if (p.parsed) { /* the parser's result, handed over: nobody parses the log again */
        res->log = ostel_xmalloc(sizeof(*res->log));
        *res->log = p.lr;
    } else {
        ostel_logparse_result_free(&p.lr);
    }

    if (s->before_summary)
        s->before_summary(s->before_summary_arg, sum, res);
    int e = ostel_summary_write(s->dir, sum);
    if (e) {
        note_write_error(c, "summary.json", e);
        if (res->status != OSTEL_RUN_INTERRUPTED)
            res->status = OSTEL_RUN_FAILED;
        ostel_summary_free(sum);
        free(sum);
        return NULL;
    }
    return sum;
}

/* The run's two streamed artifacts, llama_output.log and metrics.csv (with its header). */
struct artifacts {
    char *log_path, *csv_path;
    int log_fd, csv_fd;
};

/* Creates llama_output.log and metrics.csv, writes the header and config.txt (status=running).
 * Returns OSTEL_ERR after printing when nothing could be recorded: the directory is left empty. */
static int open_artifacts(struct run_ctx *c, struct artifacts *a)
{
    const struct ostel_run_spec *s = c->spec;
    struct ostel_run_result *res = c->res;
    a->log_path = ostel_xasprintf("%s/llama_output.log", s->dir);
    a->csv_path = ostel_xasprintf("%s/metrics.csv", s->dir);
    a->log_fd = open(a->log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    a->csv_fd = open(a->csv_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_APPEND, 0644);
    if (a->log_fd < 0 || a->csv_fd < 0) {
        int e = errno;
        if (a->log_fd >= 0)
            close(a->log_fd);
        if (a->csv_fd >= 0)
            close(a->csv_fd);
        free(a->log_path);
        free(a->csv_path);
        return ostel_error("cannot create files in '%s': %s", s->dir, strerror(e));
    }
    char header[512];
    size_t hl = ostel_metrics_format_header(header, sizeof(header));
    note_write_error(c, "metrics.csv", ostel_fd_write_all_errno(a->csv_fd, header, hl));

    res->start_ts = now_real();
    time_t st = (time_t)res->start_ts;
    struct tm tm;
    gmtime_r(&st, &tm);
    strftime(c->start_time, sizeof(c->start_time), "%Y-%m-%dT%H:%M:%SZ", &tm);
    int ce = res->write_errno ? res->write_errno : write_config(c, "running", false);
    if (ce) { /* nothing could be recorded: the child is not started, the directory left empty */
        const char *what = res->write_errno ? "metrics.csv" : "config.txt";
        close(a->log_fd);
        close(a->csv_fd);
        unlink(a->log_path);
        unlink(a->csv_path);
        free(a->log_path);
        free(a->csv_path);
        return ostel_error("cannot write %s in '%s': %s", what, s->dir, strerror(ce));
    }
    return OSTEL_OK;
}

/* What watches the child: the OS sampler, the GPU sampler and the spec's `during` thread. */
struct watchers {
    struct ostel_sampler *sampler;
    struct ostel_gpu_sampler *gpu_sampler;
    struct during_thread during;
    uint64_t runner_cpu0; /* this thread's CPU time at the spawn */
};

static void start_watchers(struct run_ctx *c, const struct ostel_child *child, int csv_fd,
                           struct watchers *w)
{
    const struct ostel_run_spec *s = c->spec;
    w->sampler = ostel_sampler_start_keep(child->pid, csv_fd, s->interval_ns,
                                          s->prom ? ostel_prom_tap : NULL, s->prom, true);
    if (!w->sampler)
        ostel_warn("the run goes on without telemetry");
    w->during = (struct during_thread){.spec = s, .pid = child->pid};
    if (s->during)
        w->during.started = pthread_create(&w->during.thread, NULL, during_main, &w->during) == 0;
    if (s->gpu_interval_ns != UINT64_MAX) {
        char *gpu_csv = ostel_xasprintf("%s/gpu_metrics.csv", s->dir);
        w->gpu_sampler = ostel_gpu_sampler_start_tap(
            child->pid, gpu_csv, s->gpu_interval_ns ? s->gpu_interval_ns : 100000000ull, 5,
            c->gpu_line, sizeof(c->gpu_line), s->prom ? ostel_prom_gpu_tap : NULL, s->prom);
        free(gpu_csv);
    } else {
        snprintf(c->gpu_line, sizeof(c->gpu_line), "GPU telemetry off (--gpu-interval off)");
    }
}

/* How the watch loop ended. */
struct watch_end {
    bool timed_out;      /* ostel ended the child after --timeout */
    bool during_stopped; /* the child was stopped because `during` had finished */
};

/*
 * Reads what the child has written so far (the pipe is non-blocking) into the log, the marks, the
 * echo and the spec's on_output; on_tick stays due while a child keeps writing (*ticked_at, its
 * last call). Returns true at the end of the output.
 */
static bool drain_output(struct run_ctx *c, int out_fd, int log_fd, double *ticked_at)
{
    const struct ostel_run_spec *s = c->spec;
    char chunk[65536];
    for (;;) {
        ssize_t r = read(out_fd, chunk, sizeof(chunk));
        if (r > 0) {
            double ts = now_real();
            if (!c->res->write_errno)
                note_write_error(c, "llama_output.log",
                                 ostel_fd_write_all_errno(log_fd, chunk, (size_t)r));
            if (s->verbose)
                (void)!write(STDERR_FILENO, chunk, (size_t)r);
            scan_chunk(c, chunk, (size_t)r, ts);
            if (s->on_output)
                s->on_output(s->on_output_ctx, chunk, (size_t)r);
            /* a child that keeps writing keeps this loop going: on_tick is still due */
            if (s->on_tick && ostel_mono_s() - *ticked_at >= 0.1) {
                s->on_tick(s->on_output_ctx);
                *ticked_at = ostel_mono_s();
            }
            continue;
        }
        if (r == 0)
            return true;
        if (errno != EINTR)
            return false;
    }
}

/*
 * The runner's loop: drains the child's output into the log (and the marks), reacts to signals,
 * `during`'s end and the timeout, until the child has exited and its output is drained.
 */
static void watch_child(struct run_ctx *c, struct ostel_child *child, int log_fd,
                        struct during_thread *during, struct watch_end *end)
{
    const struct ostel_run_spec *s = c->spec;
    struct ostel_run_result *res = c->res;
    double t0 = ostel_mono_s();
    double deadline = s->timeout_ns ? t0 + (double)s->timeout_ns / 1e9 : 0;
    double term_sent = 0;
    bool exited = false, eof = false;
    double exited_at = 0;
    double ticked_at = t0; /* on_tick's last call (monotonic s) */
    for (;;) {
        /* Wait for output (while the pipe is open) or a signal (the self-pipe); wake at least every
         * 100 ms to notice the child's exit and the timeout. 20 ms cost 8 µs per 10 ms sample. */
        struct pollfd set[2];
        nfds_t k = 0;
        if (!eof)
            set[k++] = (struct pollfd){child->out_fd, POLLIN, 0};
        set[k++] = (struct pollfd){g_signal_pipe[0], POLLIN, 0};
        int rc = poll(set, k, 100);
        if (rc < 0 && errno != EINTR) {
            ostel_warn("poll: %s", strerror(errno));
            break;
        }
        if (!eof)
            eof = drain_output(c, child->out_fd, log_fd, &ticked_at);
        char sigbuf[16];
        while (read(g_signal_pipe[0], sigbuf, sizeof(sigbuf)) > 0)
            ;
        double now = ostel_mono_s();
        if (s->on_tick) {
            s->on_tick(s->on_output_ctx);
            ticked_at = now;
        }
        if (during->started && atomic_load(&during->done) && !term_sent) {
            end->during_stopped = true;
            ostel_child_signal_group(child, SIGTERM);
            term_sent = now;
        }
        if (g_signal_received && !res->ostel_signal) {
            atomic_store(&during->stop, 1);
            res->ostel_signal = g_signal_received;
            ostel_child_signal_group(child, SIGTERM);
            term_sent = now;
        }
        if (deadline && now >= deadline && !end->timed_out && !res->ostel_signal) {
            end->timed_out = true;
            ostel_child_signal_group(child, SIGTERM);
            term_sent = now;
        }
        if (term_sent && now - term_sent >= KILL_GRACE_S) {
            ostel_child_signal_group(child, SIGKILL);
            term_sent = now; /* repeat every grace period until the group is gone */
        }
        if (!exited) {
            ostel_child_check_exit(child, &exited);
            if (exited) {
                exited_at = now;
                if (!atomic_load(&during->stop))
                    atomic_store(&during->stop, 2);
            }
        }
        /* Done when the child exited and its output is drained; descendants that keep the pipe open
         * get a short while, then the group is ended. */
        if (exited && (eof || now - exited_at > 1.0))
            break;
    }
}

/* Joins `during`, stops the GPU and OS samplers (the last sample, ostel's CPU time); returns the
 * OOM kills counted in the run's scope, or -1. */
static int64_t stop_watchers(struct run_ctx *c, struct watchers *w)
{
    struct ostel_run_result *res = c->res;
    if (w->during.started) {
        int zero = 0; /* keep a 2 (the child exited) that the thread has not read yet */
        atomic_compare_exchange_strong(&w->during.stop, &zero, 1);
        pthread_join(w->during.thread, NULL);
    }
    res->end_ts = now_real();
    if (w->gpu_sampler) {
        int gpu_werr = 0;
        c->gpu_collection =
            ostel_gpu_sampler_stop(w->gpu_sampler, &gpu_werr, c->gpu_line, sizeof(c->gpu_line));
        note_write_error(c, "gpu_metrics.csv", gpu_werr);
        w->gpu_sampler = NULL;
        if (c->gpu_collection)
            ostel_gpu_sampler_config_line(c->gpu_collection, c->gpu_line, sizeof(c->gpu_line));
    }
    int64_t oom_kills = -1;
    if (w->sampler) {
        int64_t kills = -1;
        uint64_t sampler_cpu = 0;
        res->oom_scope = ostel_sampler_oom_scope(w->sampler);
        int werr = 0;
        res->samples = ostel_sampler_finish_rows(w->sampler, &kills, &sampler_cpu, &werr, &c->rows,
                                                 &c->rows_complete);
        if (!c->rows_complete)
            ostel_warn("the sampler could not keep its rows (out of memory): metrics.csv is read "
                       "back");
        note_write_error(c, "metrics.csv", werr);
        uint64_t runner_cpu1 =
            ostel_thread_cpu_ns(); /* with the last sample, taken by this thread */
        oom_kills = kills;
        if (sampler_cpu && w->runner_cpu0 && runner_cpu1)
            res->watcher_cpu_ns = sampler_cpu + (runner_cpu1 - w->runner_cpu0);
        w->sampler = NULL;
    }
    return oom_kills;
}

/* The run's status from how the child ended and how the loop ended. */
static void decide_status(struct ostel_run_result *res, int wstatus, const struct watch_end *end,
                          int64_t oom_kills)
{
    res->signal = signal_number_after_exit(wstatus, &res->exit_code);
    if (res->ostel_signal)
        res->status = OSTEL_RUN_INTERRUPTED;
    else if (end->timed_out)
        res->status = OSTEL_RUN_TIMEOUT;
    else if (end->during_stopped && (res->signal == SIGTERM || res->exit_code == 0))
        res->status = OSTEL_RUN_OK;
    else if (res->signal)
        res->status = OSTEL_RUN_KILLED;
    else
        res->status = res->exit_code == 0 ? OSTEL_RUN_OK : OSTEL_RUN_FAILED;
    /* The kernel's OOM killer sends SIGKILL; a kill counted in our scope during the run names it.
     */
    res->oom_killed =
        res->signal == SIGKILL && !res->ostel_signal && !end->timed_out && oom_kills > 0;
}

int ostel_runner_run(const struct ostel_run_spec *s, struct ostel_run_result *res)
{
    memset(res, 0, sizeof(*res));
    if (ostel_runner_prepare_dir(s->dir) != 0)
        return OSTEL_ERR;

    struct run_ctx c;
    memset(&c, 0, sizeof(c));
    c.spec = s;
    c.res = res;
    make_run_id(c.run_id);
    ostel_platform_host_read(&c.host);
    if (s->prom) { /* the run's label: its directory's name */
        const char *base = strrchr(s->dir, '/');
        ostel_prom_run_begin(s->prom, base && base[1] ? base + 1 : s->dir, s->tag, s->model);
    }
    ostel_buf_init(&c.line, LINE_MAX_BYTES + 1);

    struct artifacts a;
    if (open_artifacts(&c, &a) != 0) {
        ostel_buf_free(&c.line);
        return OSTEL_ERR;
    }
    struct saved_signals sv;
    if (install_signals(&sv) != 0) {
        close(a.log_fd);
        close(a.csv_fd);
        free(a.log_path);
        free(a.csv_path);
        ostel_buf_free(&c.line);
        return OSTEL_ERR;
    }

    struct ostel_child child;
    struct watchers w;
    memset(&w, 0, sizeof(w));
    w.runner_cpu0 = ostel_thread_cpu_ns();
    if (ostel_child_spawn_own_cgroup(s->argv, &child) != 0) {
        res->status = OSTEL_RUN_SPAWN_FAILED;
        res->exit_code = -1;
        res->end_ts = now_real();
    } else {
        start_watchers(&c, &child, a.csv_fd, &w);
        struct watch_end end = {false, false};
        watch_child(&c, &child, a.log_fd, &w.during, &end);
        int64_t oom_kills = stop_watchers(&c, &w);
        /* Leave no stray descendant behind; done before reaping, while the unreaped child still
         * holds its pid, so the process group id cannot have been reused by an unrelated process.
         */
        ostel_child_signal_group(&child, SIGKILL);
        int wstatus = 0;
        ostel_child_reap(&child, &wstatus);
        ostel_child_close(&child);
        if (c.line.len)
            end_line(&c, res->end_ts);
        decide_status(res, wstatus, &end, oom_kills);
    }

    close_artifact(&c, a.log_fd, "llama_output.log");
    close_artifact(&c, a.csv_fd, "metrics.csv");
    free(a.log_path);
    free(a.csv_path);
    res->summary = finalize(&c);
    int fe = write_config(&c, ostel_run_status_name(res->status), true);
    if (fe) {
        /* config.txt still says "running": a summary.json beside it would contradict it, so the
         * directory is left visibly incomplete instead */
        note_write_error(&c, "config.txt", fe);
        if (res->status != OSTEL_RUN_INTERRUPTED)
            res->status = OSTEL_RUN_FAILED;
        char *sp = ostel_xasprintf("%s/summary.json", s->dir);
        unlink(sp);
        free(sp);
        if (res->summary) /* the directory has none; the log's parse stays the log's */
            ostel_summary_free(res->summary);
        free(res->summary);
        res->summary = NULL;
    }
    ostel_prom_run_end(s->prom, ostel_run_status_name(res->status));
    restore_signals(&sv);
    free(c.marks);
    ostel_buf_free(&c.line);
    ostel_metrics_table_free(&c.rows);
    return OSTEL_OK;
}

void ostel_run_result_free(struct ostel_run_result *res)
{
    if (res->summary)
        ostel_summary_free(res->summary);
    free(res->summary);
    res->summary = NULL;
    if (res->log)
        ostel_logparse_result_free(res->log);
    free(res->log);
    res->log = NULL;
    if (res->rows)
        ostel_metrics_table_free(res->rows);
    free(res->rows);
    res->rows = NULL;
}
