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

void ostel_run_config_line(struct ostel_buf *b, const char *key, const char *value)
{
    ostel_buf_printf(b, "%s=", key);
    for (const char *p = value ? value : ""; *p; p++)
        ostel_buf_putc(b, (*p == '\n' || *p == '\r') ? ' ' : *p);
    ostel_buf_putc(b, '\n');
}

static void kv_num(struct ostel_buf *b, const char *key, long long v, bool valid)
{
    char tmp[32];
    snprintf(tmp, sizeof(tmp), "%lld", v);
    ostel_run_config_line(b, key, valid ? tmp : "");
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
    char gpu_line[256];    /* config.txt's "gpu" line: what is read, or why nothing is */
    cJSON *gpu_collection; /* what the GPU sampler recorded (owned), or NULL */
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

/* Writes config.txt atomically; returns 0 or the errno of the failure (prints nothing). */
static int write_config(const struct run_ctx *c, const char *status)
{
    const struct ostel_run_spec *s = c->spec;
    struct ostel_buf b;
    ostel_buf_init(&b, 0);
    char *cmd = join_argv(s->argv);
    ostel_run_config_line(&b, "run_id", c->run_id);
    ostel_run_config_line(&b, "tag", s->tag);
    ostel_run_config_line(&b, "model", s->model);
    kv_num(&b, "ctx", s->ctx, s->ctx >= 0);
    kv_num(&b, "gen", s->gen, s->gen >= 0);
    ostel_run_config_line(&b, "prompt", s->prompt_desc);
    ostel_run_config_line(&b, "tool", s->tool);
    ostel_run_config_line(&b, "command", cmd);
    ostel_run_config_line(&b, "ostel_command", s->ostel_cmdline);
    ostel_run_config_line(&b, "llama_bin", s->llama_bin);
    ostel_run_config_line(&b, "llama_version",
                          c->llama_version[0] ? c->llama_version : s->llama_version);
    ostel_run_config_line(&b, "ostel_version", OSTEL_VERSION);
    ostel_run_config_line(&b, "host", c->host.hostname);
    ostel_run_config_line(&b, "os", c->host.os_version[0] ? c->host.os_version : c->host.os);
    ostel_run_config_line(&b, "kernel", c->host.kernel);
    ostel_run_config_line(&b, "arch", c->host.machine);
    ostel_run_config_line(&b, "cpu_model", c->host.cpu_model);
    kv_num(&b, "cpu_cores", c->host.logical_cores,
           (c->host.valid >> OSTEL_PLATFORM_HOST_CORES) & 1u);
    kv_num(&b, "ram_mib", (long long)(c->host.ram_bytes >> 20),
           (c->host.valid >> OSTEL_PLATFORM_HOST_RAM) & 1u);
    kv_num(&b, "swap_mib", (long long)(c->host.swap_total_bytes >> 20),
           (c->host.valid >> OSTEL_PLATFORM_HOST_SWAP_TOTAL) & 1u);
    ostel_run_config_line(&b, "platform", ostel_platform_backend_name());
    if (c->gpu_line[0])
        ostel_run_config_line(&b, "gpu", c->gpu_line);
    ostel_run_config_line(&b, "start_time", c->start_time);
    char iv[32];
    snprintf(iv, sizeof(iv), "%.3f", (double)s->interval_ns / 1e6);
    ostel_run_config_line(&b, "interval_ms", iv);
    ostel_run_config_line(&b, "scenario", s->scenario ? s->scenario : "none");
    kv_num(&b, "repetition", s->repetition, s->repetition > 0);
    if (s->study) {
        ostel_run_config_line(&b, "study", s->study);
        ostel_run_config_line(&b, "spec_hash", s->spec_hash);
    }
    ostel_run_config_line(&b, "oom_scope", c->res->oom_scope ? c->res->oom_scope : "");
    ostel_run_config_line(&b, "status", status);
    if (c->res->write_error[0])
        ostel_run_config_line(&b, "error", c->res->write_error);
    char *path = ostel_xasprintf("%s/config.txt", s->dir);
    int e = ostel_file_write_atomic_errno(path, b.data, b.len);
    free(path);
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

static cJSON *str_or_null(const char *s)
{
    return s && *s ? cJSON_CreateString(s) : cJSON_CreateNull();
}

/* Post-processing: parse the log, label phases, rewrite metrics.csv, write summary.json. */
/* host.gpu: the names of the GPUs read during the run, ", "-separated in index order (the store's
 * machines.gpu); null when none was read (no GPU, no driver, --gpu-interval off). */
static cJSON *gpu_names(const cJSON *gpu)
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
    cJSON *out = b.len ? cJSON_CreateString(b.data) : cJSON_CreateNull();
    ostel_buf_free(&b);
    return out;
}

static void finalize(struct run_ctx *c)
{
    const struct ostel_run_spec *s = c->spec;
    struct ostel_run_result *res = c->res;

    struct ostel_buf log;
    ostel_buf_init(&log, LOG_MAX_BYTES + 1);
    char *log_path = ostel_xasprintf("%s/llama_output.log", s->dir);
    struct ostel_log_result lr;
    ostel_log_result_init(&lr);
    bool parsed = false;
    if (ostel_file_read_all(log_path, LOG_MAX_BYTES, &log) == 0) {
        char err[256];
        parsed = ostel_logparse_parse(log.data, log.len, &lr, err, sizeof(err)) == 0;
    }
    free(log_path);

    struct ostel_metrics_table t = {0};
    struct ostel_buf csv;
    ostel_buf_init(&csv, 0);
    char *csv_path = ostel_xasprintf("%s/metrics.csv", s->dir);
    char err[256];
    if (ostel_file_read_all(csv_path, (size_t)1 << 31, &csv) == 0 &&
        ostel_metrics_parse(csv.data, csv.len, &t, err, sizeof(err)) != 0)
        ostel_warn("%s: %s", csv_path, err);
    ostel_buf_free(&csv);

    struct ostel_phase_bounds b;
    ostel_phases_compute(c->marks, c->n_marks, &lr.timings, res->start_ts, res->end_ts, &b);
    if (!parsed)
        for (int p = OSTEL_PHASE_PROMPT; p < OSTEL_PHASE_COUNT; p++)
            b.start[p] = -1;
    ostel_phases_label_rows(&b, t.rows, t.n);

    struct ostel_buf out;
    ostel_buf_init(&out, 0);
    char line[512];
    size_t n = ostel_metrics_format_header(line, sizeof(line));
    ostel_buf_append(&out, line, n);
    for (size_t i = 0; i < t.n; i++) {
        n = ostel_metrics_format_row(&t.rows[i], line, sizeof(line));
        ostel_buf_append(&out, line, n);
    }
    note_write_error(c, "metrics.csv", ostel_file_write_atomic_errno(csv_path, out.data, out.len));
    ostel_buf_free(&out);
    free(csv_path);
    /* gpu_metrics.csv is rewritten with phases too; its failure must reach run.status below. */
    int gpu_errno = 0;
    cJSON *gpu = ostel_gpu_finalize(s->dir, &b, parsed ? &lr : NULL, c->gpu_collection, c->gpu_line,
                                    &gpu_errno);
    c->gpu_collection = NULL;
    note_write_error(c, "gpu_metrics.csv", gpu_errno);
    /* An artifact that could not be written makes the run a failed one, whatever the child did. */
    if (res->write_errno && res->status != OSTEL_RUN_INTERRUPTED)
        res->status = OSTEL_RUN_FAILED;

    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "schema", "ostel.summary");
    cJSON_AddNumberToObject(root, "schema_version", 1);
    cJSON_AddStringToObject(root, "ostel_version", OSTEL_VERSION);
    cJSON *run = cJSON_AddObjectToObject(root, "run");
    cJSON_AddStringToObject(run, "run_id", c->run_id);
    cJSON_AddItemToObject(run, "tag", str_or_null(s->tag));
    cJSON_AddStringToObject(run, "status", ostel_run_status_name(res->status));
    cJSON_AddItemToObject(run, "exit_code",
                          num_or_null(res->exit_code, res->status == OSTEL_RUN_OK ||
                                                          res->status == OSTEL_RUN_FAILED));
    cJSON_AddItemToObject(run, "signal",
                          str_or_null(res->signal ? signal_name(res->signal) : NULL));
    if (res->signal && !signal_name(res->signal))
        cJSON_ReplaceItemInObject(run, "signal", cJSON_CreateNumber(res->signal));
    cJSON_AddBoolToObject(run, "oom_killed", res->oom_killed);
    cJSON_AddItemToObject(run, "oom_scope", str_or_null(res->oom_scope));
    cJSON_AddNumberToObject(run, "start_ts", round(res->start_ts * 1000) / 1000);
    cJSON_AddNumberToObject(run, "end_ts", round(res->end_ts * 1000) / 1000);
    cJSON_AddNumberToObject(run, "wall_s", round((res->end_ts - res->start_ts) * 1000) / 1000);
    cJSON *av = cJSON_AddArrayToObject(run, "argv");
    for (size_t i = 0; s->argv[i]; i++)
        cJSON_AddItemToArray(av, cJSON_CreateString(s->argv[i]));
    cJSON_AddItemToObject(run, "tool", str_or_null(s->tool));
    cJSON_AddItemToObject(run, "model", str_or_null(s->model));
    cJSON_AddItemToObject(run, "ctx", num_or_null((double)s->ctx, s->ctx >= 0));
    cJSON_AddItemToObject(run, "gen", num_or_null((double)s->gen, s->gen >= 0));
    cJSON_AddStringToObject(run, "scenario", s->scenario ? s->scenario : "none");
    cJSON_AddItemToObject(run, "repetition", num_or_null(s->repetition, s->repetition > 0));
    /* llama.cpp's "eval time" counts n-1 decode runs: the first generated token is sampled from the
     * prompt's logits. Generated tokens are therefore eval runs + 1 when a prompt was evaluated. */
    cJSON *tok = cJSON_AddObjectToObject(run, "tokens");
    const struct ostel_log_timings *lt = &lr.timings;
    ostel_prom_set_tps(s->prom, parsed && lt->prompt_tps.valid ? lt->prompt_tps.value : NAN,
                       parsed && lt->gen_tps.valid ? lt->gen_tps.value : NAN);
    cJSON_AddItemToObject(tok, "prompt",
                          num_or_null(lt->prompt_tokens.value, parsed && lt->prompt_tokens.valid));
    cJSON_AddItemToObject(tok, "generated",
                          num_or_null(lt->gen_tokens.value + 1, parsed && lt->gen_tokens.valid &&
                                                                    lt->prompt_tokens.valid &&
                                                                    lt->prompt_tokens.value > 0));
    /* The pinned llama.cpp's logger writes from a thread that is not joined at exit, so a process
     * that ends well can still lose its last lines, perf block included (upstream issue 22142). */
    bool llama_tool =
        s->tool && strcmp(s->tool, "command") != 0 && strcmp(s->tool, "llama-server") != 0;
    cJSON_AddBoolToObject(run, "log_complete",
                          !llama_tool || res->status != OSTEL_RUN_OK ||
                              (parsed && lt->format != OSTEL_LOGPARSE_FORMAT_NONE));
    cJSON_AddItemToObject(run, "interrupted_by",
                          str_or_null(res->ostel_signal ? signal_name(res->ostel_signal) : NULL));
    cJSON_AddItemToObject(run, "error", str_or_null(res->write_error));

    cJSON_AddItemToObject(root, "llama", parsed ? ostel_logparse_to_json(&lr) : cJSON_CreateNull());
    cJSON *mf = NULL;
    if (s->model) {
        char gerr[256];
        mf = ostel_gguf_inspect_json(s->model, gerr, sizeof(gerr));
    }
    cJSON_AddItemToObject(root, "model_file", mf ? mf : cJSON_CreateNull());
    /* ostel fit's prediction of what llama.cpp allocates, held against what it reported. */
    cJSON *pred = NULL;
    if (parsed && strcmp(s->tool ? s->tool : "command", "command") != 0) {
        struct ostel_memmodel_params mp = ostel_memmodel_default_params();
        mp.n_ctx = s->ctx > 0 ? (uint32_t)s->ctx : 0;
        char perr[256];
        pred = ostel_memmodel_compare_json(s->model, &mp, &lr, perr, sizeof(perr));
    }
    cJSON_AddItemToObject(root, "prediction", pred ? pred : cJSON_CreateNull());
    cJSON_AddItemToObject(
        root, "telemetry",
        ostel_aggregate_telemetry_json(t.rows, t.n, (double)s->interval_ns / 1e6));
    cJSON *tel = cJSON_GetObjectItem(root, "telemetry");
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
    for (int p = OSTEL_PHASE_LOAD; p < OSTEL_PHASE_COUNT; p++)
        cJSON_AddItemToObject(bounds, ostel_phase_name((enum ostel_phase)p),
                              num_or_null(round(b.start[p] * 1000) / 1000, b.start[p] >= 0));

    cJSON_AddItemToObject(root, "gpu", gpu);

    cJSON *host = cJSON_AddObjectToObject(root, "host");
    const struct ostel_platform_host *h = &c->host;
    cJSON_AddItemToObject(host, "hostname", str_or_null(h->hostname));
    cJSON_AddItemToObject(host, "os", str_or_null(h->os));
    cJSON_AddItemToObject(host, "os_version", str_or_null(h->os_version));
    cJSON_AddItemToObject(host, "kernel", str_or_null(h->kernel));
    cJSON_AddItemToObject(host, "arch", str_or_null(h->machine));
    cJSON_AddItemToObject(host, "cpu_model", str_or_null(h->cpu_model));
    cJSON_AddItemToObject(
        host, "cpu_cores",
        num_or_null(h->logical_cores, (h->valid >> OSTEL_PLATFORM_HOST_CORES) & 1));
    cJSON_AddItemToObject(
        host, "ram_mib",
        num_or_null((double)(h->ram_bytes >> 20), (h->valid >> OSTEL_PLATFORM_HOST_RAM) & 1));
    cJSON_AddItemToObject(host, "swap_mib",
                          num_or_null((double)(h->swap_total_bytes >> 20),
                                      (h->valid >> OSTEL_PLATFORM_HOST_SWAP_TOTAL) & 1));
    cJSON_AddStringToObject(host, "platform", ostel_platform_backend_name());
    cJSON_AddItemToObject(host, "gpu", gpu_names(cJSON_GetObjectItem(root, "gpu")));

    int e = ostel_run_write_summary_errno(s->dir, root);
    if (e) {
        note_write_error(c, "summary.json", e);
        if (res->status != OSTEL_RUN_INTERRUPTED)
            res->status = OSTEL_RUN_FAILED;
    }
    cJSON_Delete(root);
    ostel_metrics_table_free(&t);
    ostel_log_result_free(&lr);
    ostel_buf_free(&log);
}

cJSON *ostel_run_read_summary(const char *dir)
{
    char *path = ostel_xasprintf("%s/summary.json", dir);
    struct ostel_buf b;
    ostel_buf_init(&b, 0);
    cJSON *root = NULL;
    if (ostel_is_file(path) && ostel_file_read_all(path, 256u << 20, &b) == 0)
        root = cJSON_ParseWithLength(b.data, b.len);
    ostel_buf_free(&b);
    free(path);
    return root;
}

char *ostel_run_summary_text(const cJSON *root, size_t *len)
{
    char *json = cJSON_Print(root);
    size_t n = strlen(json);
    json = ostel_xrealloc(json, n + 2);
    json[n] = '\n';
    json[n + 1] = '\0';
    *len = n + 1;
    return json;
}

int ostel_run_write_summary_errno(const char *dir, const cJSON *root)
{
    size_t n = 0;
    char *json = ostel_run_summary_text(root, &n);
    char *path = ostel_xasprintf("%s/summary.json", dir);
    int e = ostel_file_write_atomic_errno(path, json, n);
    free(path);
    free(json);
    return e;
}

int ostel_run_write_summary(const char *dir, const cJSON *root)
{
    int e = ostel_run_write_summary_errno(dir, root);
    if (e)
        return ostel_error("cannot write '%s/summary.json': %s", dir, strerror(e));
    return OSTEL_OK;
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

    char *log_path = ostel_xasprintf("%s/llama_output.log", s->dir);
    char *csv_path = ostel_xasprintf("%s/metrics.csv", s->dir);
    int log_fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int csv_fd = open(csv_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_APPEND, 0644);
    if (log_fd < 0 || csv_fd < 0) {
        int e = errno;
        if (log_fd >= 0)
            close(log_fd);
        if (csv_fd >= 0)
            close(csv_fd);
        free(log_path);
        free(csv_path);
        ostel_buf_free(&c.line);
        return ostel_error("cannot create files in '%s': %s", s->dir, strerror(e));
    }
    char header[512];
    size_t hl = ostel_metrics_format_header(header, sizeof(header));
    note_write_error(&c, "metrics.csv", ostel_fd_write_all_errno(csv_fd, header, hl));

    res->start_ts = now_real();
    time_t st = (time_t)res->start_ts;
    struct tm tm;
    gmtime_r(&st, &tm);
    strftime(c.start_time, sizeof(c.start_time), "%Y-%m-%dT%H:%M:%SZ", &tm);
    int ce = res->write_errno ? res->write_errno : write_config(&c, "running");
    if (ce) { /* nothing could be recorded: the child is not started, the directory left empty */
        const char *what = res->write_errno ? "metrics.csv" : "config.txt";
        close(log_fd);
        close(csv_fd);
        unlink(log_path);
        unlink(csv_path);
        free(log_path);
        free(csv_path);
        ostel_buf_free(&c.line);
        return ostel_error("cannot write %s in '%s': %s", what, s->dir, strerror(ce));
    }

    struct saved_signals sv;
    if (install_signals(&sv) != 0) {
        close(log_fd);
        close(csv_fd);
        free(log_path);
        free(csv_path);
        ostel_buf_free(&c.line);
        return OSTEL_ERR;
    }

    struct ostel_child child;
    struct ostel_sampler *sampler = NULL;
    uint64_t runner_cpu0 = ostel_thread_cpu_ns();
    if (ostel_child_spawn_own_cgroup(s->argv, &child) != 0) {
        res->status = OSTEL_RUN_SPAWN_FAILED;
        res->exit_code = -1;
        res->end_ts = now_real();
        goto finish;
    }
    sampler = ostel_sampler_start_tap(child.pid, csv_fd, s->interval_ns,
                                      s->prom ? ostel_prom_tap : NULL, s->prom);
    if (!sampler)
        ostel_warn("the run goes on without telemetry");
    struct during_thread during = {.spec = s, .pid = child.pid};
    if (s->during)
        during.started = pthread_create(&during.thread, NULL, during_main, &during) == 0;
    bool during_stopped = false; /* the child was stopped because `during` had finished */
    struct ostel_gpu_sampler *gpu_sampler = NULL;
    if (s->gpu_interval_ns != UINT64_MAX) {
        char *gpu_csv = ostel_xasprintf("%s/gpu_metrics.csv", s->dir);
        gpu_sampler = ostel_gpu_sampler_start_tap(
            child.pid, gpu_csv, s->gpu_interval_ns ? s->gpu_interval_ns : 100000000ull, 5,
            c.gpu_line, sizeof(c.gpu_line), s->prom ? ostel_prom_gpu_tap : NULL, s->prom);
        free(gpu_csv);
    } else {
        snprintf(c.gpu_line, sizeof(c.gpu_line), "GPU telemetry off (--gpu-interval off)");
    }

    int64_t oom_kills = -1;
    double t0 = ostel_mono_s();
    double deadline = s->timeout_ns ? t0 + (double)s->timeout_ns / 1e9 : 0;
    double term_sent = 0;
    bool timed_out = false, exited = false, eof = false;
    double exited_at = 0;
    double ticked_at = t0; /* on_tick's last call (monotonic s) */
    char chunk[65536];
    for (;;) {
        /* Wait for output (while the pipe is open) or a signal (the self-pipe); wake at least every
         * 100 ms to notice the child's exit and the timeout. 20 ms cost 8 µs per 10 ms sample. */
        struct pollfd set[2];
        nfds_t k = 0;
        if (!eof)
            set[k++] = (struct pollfd){child.out_fd, POLLIN, 0};
        set[k++] = (struct pollfd){g_signal_pipe[0], POLLIN, 0};
        int rc = poll(set, k, 100);
        if (rc < 0 && errno != EINTR) {
            ostel_warn("poll: %s", strerror(errno));
            break;
        }
        if (!eof) {
            for (;;) {
                ssize_t r = read(child.out_fd, chunk, sizeof(chunk));
                if (r > 0) {
                    double ts = now_real();
                    if (!res->write_errno)
                        note_write_error(&c, "llama_output.log",
                                         ostel_fd_write_all_errno(log_fd, chunk, (size_t)r));
                    if (s->verbose)
                        (void)!write(STDERR_FILENO, chunk, (size_t)r);
                    scan_chunk(&c, chunk, (size_t)r, ts);
                    if (s->on_output)
                        s->on_output(s->on_output_ctx, chunk, (size_t)r);
                    /* a child that keeps writing keeps this loop going: on_tick is still due */
                    if (s->on_tick && ostel_mono_s() - ticked_at >= 0.1) {
                        s->on_tick(s->on_output_ctx);
                        ticked_at = ostel_mono_s();
                    }
                    continue;
                }
                if (r == 0)
                    eof = true;
                else if (errno == EINTR)
                    continue;
                break;
            }
        }
        char sigbuf[16];
        while (read(g_signal_pipe[0], sigbuf, sizeof(sigbuf)) > 0)
            ;
        double now = ostel_mono_s();
        if (s->on_tick) {
            s->on_tick(s->on_output_ctx);
            ticked_at = now;
        }
        if (during.started && atomic_load(&during.done) && !term_sent) {
            during_stopped = true;
            ostel_child_signal_group(&child, SIGTERM);
            term_sent = now;
        }
        if (g_signal_received && !res->ostel_signal) {
            atomic_store(&during.stop, 1);
            res->ostel_signal = g_signal_received;
            ostel_child_signal_group(&child, SIGTERM);
            term_sent = now;
        }
        if (deadline && now >= deadline && !timed_out && !res->ostel_signal) {
            timed_out = true;
            ostel_child_signal_group(&child, SIGTERM);
            term_sent = now;
        }
        if (term_sent && now - term_sent >= KILL_GRACE_S) {
            ostel_child_signal_group(&child, SIGKILL);
            term_sent = now; /* repeat every grace period until the group is gone */
        }
        if (!exited) {
            ostel_child_check_exit(&child, &exited);
            if (exited) {
                exited_at = now;
                if (!atomic_load(&during.stop))
                    atomic_store(&during.stop, 2);
            }
        }
        /* Done when the child exited and its output is drained; descendants that keep the pipe open
         * get a short while, then the group is ended. */
        if (exited && (eof || now - exited_at > 1.0))
            break;
    }
    if (during.started) {
        int zero = 0; /* keep a 2 (the child exited) that the thread has not read yet */
        atomic_compare_exchange_strong(&during.stop, &zero, 1);
        pthread_join(during.thread, NULL);
    }
    res->end_ts = now_real();
    if (gpu_sampler) {
        int gpu_werr = 0;
        c.gpu_collection =
            ostel_gpu_sampler_stop(gpu_sampler, &gpu_werr, c.gpu_line, sizeof(c.gpu_line));
        note_write_error(&c, "gpu_metrics.csv", gpu_werr);
        gpu_sampler = NULL;
        if (c.gpu_collection)
            ostel_gpu_config_line(c.gpu_collection, c.gpu_line, sizeof(c.gpu_line));
    }
    if (sampler) {
        int64_t kills = -1;
        uint64_t sampler_cpu = 0;
        res->oom_scope = ostel_sampler_oom_scope(sampler);
        int werr = 0;
        res->samples = ostel_sampler_finish(sampler, &kills, &sampler_cpu, &werr);
        note_write_error(&c, "metrics.csv", werr);
        uint64_t runner_cpu1 =
            ostel_thread_cpu_ns(); /* with the last sample, taken by this thread */
        oom_kills = kills;
        if (sampler_cpu && runner_cpu0 && runner_cpu1)
            res->watcher_cpu_ns = sampler_cpu + (runner_cpu1 - runner_cpu0);
        sampler = NULL;
    }
    /* Leave no stray descendant behind; done before reaping, while the unreaped child still holds
     * its pid, so the process group id cannot have been reused by an unrelated process. */
    ostel_child_signal_group(&child, SIGKILL);
    int wstatus = 0;
    ostel_child_reap(&child, &wstatus);
    ostel_child_close(&child);
    if (c.line.len)
        end_line(&c, res->end_ts);

    res->signal = signal_number_after_exit(wstatus, &res->exit_code);
    if (res->ostel_signal)
        res->status = OSTEL_RUN_INTERRUPTED;
    else if (timed_out)
        res->status = OSTEL_RUN_TIMEOUT;
    else if (during_stopped && (res->signal == SIGTERM || res->exit_code == 0))
        res->status = OSTEL_RUN_OK;
    else if (res->signal)
        res->status = OSTEL_RUN_KILLED;
    else
        res->status = res->exit_code == 0 ? OSTEL_RUN_OK : OSTEL_RUN_FAILED;
    /* The kernel's OOM killer sends SIGKILL; a kill counted in our scope during the run names it.
     */
    res->oom_killed = res->signal == SIGKILL && !res->ostel_signal && !timed_out && oom_kills > 0;

finish:
    close_artifact(&c, log_fd, "llama_output.log");
    close_artifact(&c, csv_fd, "metrics.csv");
    free(log_path);
    free(csv_path);
    finalize(&c);
    int fe = write_config(&c, ostel_run_status_name(res->status));
    if (fe) {
        /* config.txt still says "running": a summary.json beside it would contradict it, so the
         * directory is left visibly incomplete instead */
        note_write_error(&c, "config.txt", fe);
        if (res->status != OSTEL_RUN_INTERRUPTED)
            res->status = OSTEL_RUN_FAILED;
        char *sp = ostel_xasprintf("%s/summary.json", s->dir);
        unlink(sp);
        free(sp);
    }
    ostel_prom_run_end(s->prom, ostel_run_status_name(res->status));
    restore_signals(&sv);
    free(c.marks);
    ostel_buf_free(&c.line);
    return OSTEL_OK;
}
