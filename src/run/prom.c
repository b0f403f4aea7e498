/*
 * prom: the Prometheus exporter (see prom.h): live state, the exposition text, the textfile, and a
 * tiny HTTP/1.1 responder.
 *
 * The responder is deliberately small and hostile-input safe: it binds only loopback addresses,
 * serves one connection at a time with a 2 s receive and send timeout, reads at most
 * OSTEL_PROM_HTTP_MAX_REQUEST bytes of request head (a body is never read), answers GET/HEAD
 * /metrics (and / with a pointer to it), refuses everything else with a status line, and always
 * closes the connection after one response.
 */
#include "run/prom.h"
#include "util/fileio.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define OSTEL_PROM_MAX_GPUS 64

enum live_phase { PH_IDLE, PH_START, PH_LOAD, PH_EVAL, PH_TEARDOWN, PH_DONE, PH_COUNT };
static const char *const phase_names[PH_COUNT] = {"idle", "start",    "load",
                                                  "eval", "teardown", "done"};

struct ostel_prom {
    pthread_mutex_t mu;
    char *run, *tag, *model, *status;
    enum live_phase phase;
    bool have_sample;
    struct ostel_platform_sample last;
    uint64_t samples, runs;
    double prompt_tps, gen_tps;
    struct ostel_gpu_row gpu[OSTEL_PROM_MAX_GPUS]; /* the latest row of each GPU */
    double gpu_energy_j[OSTEL_PROM_MAX_GPUS];      /* NAN = no energy counter */
    unsigned ngpu;                                 /* GPUs seen in this run: 0..ngpu-1 */
    char *textfile;
    /* listener */
    int fd, wake[2], port;
    bool listening;
    pthread_t thread;
};

/* ---- state -------------------------------------------------------------------------------- */

static void set_str(char **dst, const char *v)
{
    free(*dst);
    *dst = ostel_xstrdup(v ? v : "");
}

void ostel_prom_run_begin(struct ostel_prom *p, const char *run, const char *tag, const char *model)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    set_str(&p->run, run);
    set_str(&p->tag, tag);
    const char *slash = model ? strrchr(model, '/') : NULL;
    set_str(&p->model, slash ? slash + 1 : model);
    set_str(&p->status, "");
    p->phase = PH_START;
    p->have_sample = false;
    p->samples = 0;
    p->prompt_tps = p->gen_tps = NAN;
    p->ngpu = 0;
    p->runs++;
    pthread_mutex_unlock(&p->mu);
}

void ostel_prom_event(struct ostel_prom *p, enum ostel_logparse_event e)
{
    if (!p)
        return;
    enum live_phase to;
    switch (e) {
    case OSTEL_LOGPARSE_EVENT_MODEL_LOAD_START:
        to = PH_LOAD;
        break;
    case OSTEL_LOGPARSE_EVENT_PROMPT_START:
        to = PH_EVAL;
        break;
    case OSTEL_LOGPARSE_EVENT_PERF_START:
        to = PH_TEARDOWN;
        break;
    default:
        return;
    }
    pthread_mutex_lock(&p->mu);
    if (to > p->phase && p->phase != PH_DONE)
        p->phase = to;
    pthread_mutex_unlock(&p->mu);
}

void ostel_prom_tap(void *arg, const struct ostel_platform_sample *s)
{
    struct ostel_prom *p = arg;
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->last = *s;
    p->have_sample = true;
    p->samples++;
    pthread_mutex_unlock(&p->mu);
}

void ostel_prom_gpu_tap(void *arg, const struct ostel_gpu_row *row, double energy_total_j)
{
    struct ostel_prom *p = arg;
    if (!p || row->gpu >= OSTEL_PROM_MAX_GPUS)
        return;
    pthread_mutex_lock(&p->mu);
    for (unsigned i = p->ngpu; i <= row->gpu; i++) {
        p->gpu[i].valid = 0; /* not seen yet: nothing to show */
        p->gpu_energy_j[i] = NAN;
    }
    if (row->gpu >= p->ngpu)
        p->ngpu = row->gpu + 1;
    /* field by field: a value read only every few samples (the process list) stays shown */
    struct ostel_gpu_row *g = &p->gpu[row->gpu];
    for (int f = 0; f < OSTEL_GPU_FIELD_COUNT; f++)
        if (row->valid >> f & 1)
            g->v[f] = row->v[f];
    g->valid |= row->valid;
    if (!isnan(energy_total_j))
        p->gpu_energy_j[row->gpu] = energy_total_j;
    pthread_mutex_unlock(&p->mu);
}

void ostel_prom_set_tps(struct ostel_prom *p, double prompt_tps, double gen_tps)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->prompt_tps = prompt_tps;
    p->gen_tps = gen_tps;
    pthread_mutex_unlock(&p->mu);
}

int ostel_prom_run_end(struct ostel_prom *p, const char *status)
{
    if (!p)
        return OSTEL_OK;
    pthread_mutex_lock(&p->mu);
    p->phase = PH_DONE;
    set_str(&p->status, status);
    pthread_mutex_unlock(&p->mu);
    if (!p->textfile)
        return OSTEL_OK;
    struct ostel_buf b;
    ostel_buf_init(&b, 0);
    ostel_prom_format(p, &b);
    int rc = ostel_file_write_atomic(p->textfile, b.data, b.len);
    ostel_buf_free(&b);
    if (rc != OSTEL_OK)
        ostel_warn("--metrics-textfile %s could not be written", p->textfile);
    return rc;
}

/* ---- the exposition text ------------------------------------------------------------------- */

/* A label value with \\, \" and \n escaped (exposition format). */
static void put_label(struct ostel_buf *b, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\')
            ostel_buf_puts(b, "\\\\");
        else if (*v == '"')
            ostel_buf_puts(b, "\\\"");
        else if (*v == '\n')
            ostel_buf_puts(b, "\\n");
        else
            ostel_buf_putc(b, *v);
    }
}

static void labels(struct ostel_buf *b, const struct ostel_prom *p, const char *extra_key,
                   const char *extra_val)
{
    ostel_buf_puts(b, "{run=\"");
    put_label(b, p->run ? p->run : "");
    ostel_buf_puts(b, "\",tag=\"");
    put_label(b, p->tag ? p->tag : "");
    ostel_buf_puts(b, "\",model=\"");
    put_label(b, p->model ? p->model : "");
    ostel_buf_putc(b, '"');
    if (extra_key) {
        ostel_buf_printf(b, ",%s=\"", extra_key);
        put_label(b, extra_val);
        ostel_buf_putc(b, '"');
    }
    ostel_buf_putc(b, '}');
}

static void head(struct ostel_buf *b, const char *name, const char *type, const char *help)
{
    ostel_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void value(struct ostel_buf *b, double v)
{
    if (v == floor(v) && fabs(v) < 1e15)
        ostel_buf_printf(b, " %.0f\n", v);
    else
        ostel_buf_printf(b, " %.17g\n", v);
}

/* One sample-derived metric, written only when the platform could read the field. */
static void metric(struct ostel_buf *b, const struct ostel_prom *p, const char *name,
                   const char *type, const char *help, bool have, double v)
{
    if (!have)
        return;
    head(b, name, type, help);
    ostel_buf_puts(b, name);
    labels(b, p, NULL, NULL);
    value(b, v);
}

/* One GPU metric: a line per GPU that read the field (label gpu = NVML's index), none when no GPU
 * did. field < 0: the energy counter. */
static void gpu_metric(struct ostel_buf *b, const struct ostel_prom *p, const char *name,
                       const char *type, const char *help, int field, double scale)
{
    bool headed = false;
    for (unsigned i = 0; i < p->ngpu; i++) {
        double v = field < 0 ? p->gpu_energy_j[i] : p->gpu[i].v[field] * scale;
        if ((field >= 0 && !(p->gpu[i].valid >> field & 1)) || !isfinite(v))
            continue;
        if (!headed)
            head(b, name, type, help);
        headed = true;
        char idx[16];
        snprintf(idx, sizeof(idx), "%u", i);
        ostel_buf_puts(b, name);
        labels(b, p, "gpu", idx);
        value(b, v);
    }
}

static void gpu_metrics(struct ostel_buf *b, const struct ostel_prom *p)
{
    const double mib = 1048576.0;
    gpu_metric(b, p, "ostel_gpu_memory_used_bytes", "gauge",
               "Memory used on the GPU (all processes).", OSTEL_GPU_MEM_USED_MB, mib);
    gpu_metric(b, p, "ostel_gpu_memory_total_bytes", "gauge", "Memory of the GPU.",
               OSTEL_GPU_MEM_TOTAL_MB, mib);
    gpu_metric(b, p, "ostel_gpu_process_memory_bytes", "gauge",
               "GPU memory of the run's process tree (the driver's process list).",
               OSTEL_GPU_PROC_MEM_MB, mib);
    gpu_metric(b, p, "ostel_gpu_power_watts", "gauge",
               "Power draw of the GPU (the driver's average).", OSTEL_GPU_POWER_W, 1);
    gpu_metric(b, p, "ostel_gpu_utilization_ratio", "gauge",
               "Share of the last sample period a kernel ran on the GPU (0-1).", OSTEL_GPU_UTIL_PCT,
               0.01);
    gpu_metric(b, p, "ostel_gpu_energy_joules_total", "counter",
               "Energy the GPU used since the run began.", -1, 1);
    gpu_metric(b, p, "ostel_gpu_temperature_celsius", "gauge", "Temperature of the GPU.",
               OSTEL_GPU_TEMP_C, 1);
}

void ostel_prom_format(struct ostel_prom *p, struct ostel_buf *b)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    head(b, "ostel_runs_total", "counter", "Runs this ostel process started.");
    ostel_buf_printf(b, "ostel_runs_total %llu\n", (unsigned long long)p->runs);
    if (p->run) {
        head(b, "ostel_run_phase", "gauge",
             "1 for the run's current phase (start, load, eval, teardown, done), else 0.");
        for (int ph = PH_START; ph < PH_COUNT; ph++) {
            ostel_buf_puts(b, "ostel_run_phase");
            labels(b, p, "phase", phase_names[ph]);
            ostel_buf_printf(b, " %d\n", p->phase == (enum live_phase)ph);
        }
        head(b, "ostel_samples_total", "counter", "Telemetry samples taken in this run.");
        ostel_buf_puts(b, "ostel_samples_total");
        labels(b, p, NULL, NULL);
        ostel_buf_printf(b, " %llu\n", (unsigned long long)p->samples);
        if (p->status && *p->status) {
            head(b, "ostel_run_info", "gauge", "The finished run's status, as a label.");
            ostel_buf_puts(b, "ostel_run_info");
            labels(b, p, "status", p->status);
            ostel_buf_puts(b, " 1\n");
        }
    }
    const struct ostel_platform_sample *s = &p->last;
    bool h = p->run && p->have_sample;
#define HAS(f) (h && ostel_platform_sample_has(s, OSTEL_PLATFORM_FIELD_##f))
    metric(b, p, "ostel_process_resident_memory_bytes", "gauge",
           "Resident memory of the run's process tree.", HAS(RSS), (double)s->rss_bytes);
    metric(b, p, "ostel_process_resident_memory_anon_bytes", "gauge",
           "Anonymous resident memory of the run's process tree.", HAS(RSS_ANON),
           (double)s->rss_anon_bytes);
    metric(b, p, "ostel_process_resident_memory_file_bytes", "gauge",
           "File-backed and shared resident memory of the run's process tree.", HAS(RSS_FILE),
           (double)s->rss_file_bytes);
    metric(b, p, "ostel_process_swap_bytes", "gauge",
           "Swapped-out memory of the run's process tree.", HAS(SWAP), (double)s->swap_bytes);
    metric(b, p, "ostel_process_cpu_seconds_total", "counter",
           "User and system CPU time of the run's process tree.", HAS(CPU),
           (double)s->cpu_ns / 1e9);
    metric(b, p, "ostel_process_major_faults_total", "counter",
           "Major page faults of the run's process tree.", HAS(MAJFLT), (double)s->majflt);
    metric(b, p, "ostel_process_threads", "gauge", "Threads of the run's process tree.",
           HAS(THREADS), (double)s->threads);
    metric(b, p, "ostel_system_memory_available_bytes", "gauge",
           "Memory the system can give without swapping (MemAvailable).", HAS(MEM_AVAIL),
           (double)s->mem_avail_bytes);
    metric(b, p, "ostel_system_memory_total_bytes", "gauge", "Physical memory of the system.",
           HAS(MEM_TOTAL), (double)s->mem_total_bytes);
    metric(b, p, "ostel_pressure_memory_waiting_seconds_total", "counter",
           "Time some task waited on memory (PSI memory some total).", HAS(PSI_SOME_TOTAL),
           (double)s->psi_some_total_us / 1e6);
    metric(b, p, "ostel_pressure_memory_stalled_seconds_total", "counter",
           "Time all non-idle tasks stalled on memory (PSI memory full total).",
           HAS(PSI_FULL_TOTAL), (double)s->psi_full_total_us / 1e6);
    metric(b, p, "ostel_pressure_memory_waiting_ratio", "gauge",
           "Share of the last 10 s some task waited on memory (PSI some avg10 / 100).",
           HAS(PSI_SOME_AVG10), s->psi_some_avg10 / 100.0);
#undef HAS
    if (p->run)
        gpu_metrics(b, p);
    if (p->run && (!isnan(p->prompt_tps) || !isnan(p->gen_tps))) {
        head(b, "ostel_llama_tokens_per_second", "gauge",
             "llama.cpp's throughput as its log reports it at the end of a run.");
        double v[2] = {p->prompt_tps, p->gen_tps};
        static const char *const ph[2] = {"prompt", "generate"};
        for (int i = 0; i < 2; i++) {
            if (isnan(v[i]) || isinf(v[i]))
                continue;
            ostel_buf_puts(b, "ostel_llama_tokens_per_second");
            labels(b, p, "phase", ph[i]);
            value(b, v[i]);
        }
    }
    pthread_mutex_unlock(&p->mu);
}

/* ---- HTTP request parsing (pure) ------------------------------------------------------------ */

int ostel_prom_http_parse(const char *buf, size_t len, enum ostel_prom_http_method *method,
                          char path[OSTEL_PROM_HTTP_MAX_PATH + 1])
{
    path[0] = '\0';
    /* the end of the head: the first empty line (CRLF CRLF, or bare LF LF from netcat users) */
    size_t end = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)buf[i];
        if (c == 0 || (c < 0x20 && c != '\r' && c != '\n' && c != '\t') || c == 0x7f)
            return -400;
        if (c == '\n' && ((i >= 1 && buf[i - 1] == '\n') ||
                          (i >= 2 && buf[i - 1] == '\r' && buf[i - 2] == '\n'))) {
            end = i + 1;
            break;
        }
    }
    if (end == 0)
        return len >= OSTEL_PROM_HTTP_MAX_REQUEST ? -431 : 0;
    if (end > OSTEL_PROM_HTTP_MAX_REQUEST)
        return -431;
    /* request line: METHOD SP TARGET SP HTTP/1.x */
    size_t line_len = 0;
    while (line_len < end && buf[line_len] != '\r' && buf[line_len] != '\n')
        line_len++;
    const char *sp1 = memchr(buf, ' ', line_len);
    if (!sp1 || sp1 == buf)
        return -400;
    size_t mlen = (size_t)(sp1 - buf);
    const char *target = sp1 + 1;
    const char *sp2 = memchr(target, ' ', line_len - mlen - 1);
    if (!sp2 || sp2 == target)
        return -400;
    size_t tlen = (size_t)(sp2 - target);
    const char *ver = sp2 + 1;
    size_t vlen = line_len - (size_t)(ver - buf);
    if (vlen != 8 || memcmp(ver, "HTTP/1.", 7) != 0 || (ver[7] != '0' && ver[7] != '1'))
        return vlen >= 5 && memcmp(ver, "HTTP/", 5) == 0 ? -505 : -400;
    if (mlen == 3 && memcmp(buf, "GET", 3) == 0)
        *method = OSTEL_PROM_HTTP_GET;
    else if (mlen == 4 && memcmp(buf, "HEAD", 4) == 0)
        *method = OSTEL_PROM_HTTP_HEAD;
    else {
        for (size_t i = 0; i < mlen; i++)
            if (buf[i] < 'A' || buf[i] > 'Z')
                return -400;
        return -405;
    }
    if (target[0] != '/')
        return -400;
    size_t plen = strcspn(target, "?# ");
    if (plen > tlen)
        plen = tlen;
    if (plen > OSTEL_PROM_HTTP_MAX_PATH)
        return -414;
    for (size_t i = 0; i < tlen; i++)
        if ((unsigned char)target[i] <= 0x20 || (unsigned char)target[i] >= 0x7f)
            return -400;
    memcpy(path, target, plen);
    path[plen] = '\0';
    return (int)end;
}

/* ---- the responder -------------------------------------------------------------------------- */

/* Linux says "no SIGPIPE" per send; macOS has no MSG_NOSIGNAL and says it per socket
 * (SO_NOSIGPIPE, set on each accepted connection). */
#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0
#endif

static void send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        p += w;
        n -= (size_t)w;
    }
}

static void respond(int fd, int status, const char *reason, const char *type, const char *body,
                    size_t blen, bool head_only)
{
    char h[256];
    int n = snprintf(h, sizeof(h),
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n%s\r\n",
                     status, reason, type, blen, status == 405 ? "Allow: GET, HEAD\r\n" : "");
    send_all(fd, h, (size_t)n);
    if (!head_only)
        send_all(fd, body, blen);
}

static void serve_one(struct ostel_prom *p, int fd)
{
    struct timeval tv = {2, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    char buf[OSTEL_PROM_HTTP_MAX_REQUEST];
    size_t len = 0;
    int rc = 0;
    enum ostel_prom_http_method m = OSTEL_PROM_HTTP_GET;
    char path[OSTEL_PROM_HTTP_MAX_PATH + 1];
    while (rc == 0) {
        if (len == sizeof(buf)) {
            rc = -431;
            break;
        }
        ssize_t r = recv(fd, buf + len, sizeof(buf) - len, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return; /* closed, or too slow: no answer */
        len += (size_t)r;
        rc = ostel_prom_http_parse(buf, len, &m, path);
    }
    static const char text[] = "text/plain; charset=utf-8";
    if (rc < 0) {
        static const struct {
            int code;
            const char *reason;
        } errs[] = {{400, "Bad Request"},
                    {405, "Method Not Allowed"},
                    {414, "URI Too Long"},
                    {431, "Request Header Fields Too Large"},
                    {505, "HTTP Version Not Supported"}};
        for (size_t i = 0; i < OSTEL_ARRAY_LEN(errs); i++)
            if (errs[i].code == -rc) {
                char body[64];
                int bn = snprintf(body, sizeof(body), "%d %s\n", errs[i].code, errs[i].reason);
                respond(fd, errs[i].code, errs[i].reason, text, body, (size_t)bn, false);
            }
        return;
    }
    bool head_only = m == OSTEL_PROM_HTTP_HEAD;
    if (strcmp(path, "/metrics") == 0) {
        struct ostel_buf b;
        ostel_buf_init(&b, 0);
        ostel_prom_format(p, &b);
        respond(fd, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", b.data ? b.data : "",
                b.len, head_only);
        ostel_buf_free(&b);
    } else if (strcmp(path, "/") == 0) {
        static const char body[] = "ostel exporter: see /metrics\n";
        respond(fd, 200, "OK", text, body, sizeof(body) - 1, head_only);
    } else {
        static const char body[] = "404 Not Found: see /metrics\n";
        respond(fd, 404, "Not Found", text, body, sizeof(body) - 1, head_only);
    }
}

/*
 * Closes after the response has left: a close with unread request bytes (a refused huge head, a
 * body) makes the kernel send a reset that can destroy the response before the client reads it.
 * So: no more writes, then read and drop at most 64 KiB for at most 200 ms, then close.
 */
static void linger_close(int fd)
{
    shutdown(fd, SHUT_WR);
    struct timeval tv = {0, 200000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    char sink[4096];
    for (size_t total = 0; total < 65536;) {
        ssize_t r = recv(fd, sink, sizeof(sink), 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        total += (size_t)r;
    }
    close(fd);
}

static void *listen_loop(void *arg)
{
    struct ostel_prom *p = arg;
    for (;;) {
        struct pollfd fds[2] = {{p->fd, POLLIN, 0}, {p->wake[0], POLLIN, 0}};
        int n = poll(fds, 2, -1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 || fds[1].revents)
            break;
        if (!(fds[0].revents & POLLIN))
            continue;
        int c = accept(p->fd, NULL, NULL);
        if (c < 0)
            continue;
#ifdef SO_NOSIGPIPE
        int on = 1;
        (void)setsockopt(c, SOL_SOCKET, SO_NOSIGPIPE, &on, sizeof(on));
#endif
        serve_one(p, c);
        linger_close(c);
    }
    return NULL;
}

/* "127.0.0.1:9464", "[::1]:9464", "localhost:9464" → a loopback socket address. */
static int parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *sl)
{
    const char *colon = strrchr(s, ':');
    if (!colon || !colon[1])
        return ostel_error("--metrics-listen '%s': want HOST:PORT (e.g. 127.0.0.1:9464)", s);
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end || port < 0 || port > 65535)
        return ostel_error("--metrics-listen '%s': bad port", s);
    char host[64];
    size_t hl = (size_t)(colon - s);
    if (hl >= sizeof(host))
        return ostel_error("--metrics-listen '%s': bad host", s);
    memcpy(host, s, hl);
    host[hl] = '\0';
    memset(ss, 0, sizeof(*ss));
    struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
    if (strcmp(host, "localhost") == 0)
        snprintf(host, sizeof(host), "127.0.0.1");
    if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
        host[hl - 1] = '\0';
        if (inet_pton(AF_INET6, host + 1, &a6->sin6_addr) != 1 ||
            !IN6_IS_ADDR_LOOPBACK(&a6->sin6_addr))
            return ostel_error("--metrics-listen '%s': only a loopback address ([::1]) is served",
                               s);
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        *sl = sizeof(*a6);
        return OSTEL_OK;
    }
    if (inet_pton(AF_INET, host, &a4->sin_addr) != 1)
        return ostel_error("--metrics-listen '%s': bad host (give 127.0.0.1 or [::1])", s);
    if ((ntohl(a4->sin_addr.s_addr) >> 24) != 127)
        return ostel_error("--metrics-listen '%s': only a loopback address (127.x.x.x, [::1]) is "
                           "served; put a reverse proxy in front to expose it",
                           s);
    a4->sin_family = AF_INET;
    a4->sin_port = htons((uint16_t)port);
    *sl = sizeof(*a4);
    return OSTEL_OK;
}

struct ostel_prom *ostel_prom_start(const char *listen_addr, const char *textfile)
{
    struct ostel_prom *p = ostel_xcalloc(1, sizeof(*p));
    pthread_mutex_init(&p->mu, NULL);
    p->fd = p->wake[0] = p->wake[1] = -1;
    p->prompt_tps = p->gen_tps = NAN;
    if (textfile)
        p->textfile = ostel_xstrdup(textfile);
    if (!listen_addr)
        return p;
    struct sockaddr_storage ss;
    socklen_t sl = 0;
    if (parse_listen(listen_addr, &ss, &sl) != OSTEL_OK)
        goto fail;
    p->fd = socket(ss.ss_family, SOCK_STREAM, 0);
    if (p->fd >= 0)
        (void)fcntl(p->fd, F_SETFD, FD_CLOEXEC);
    int one = 1;
    if (p->fd < 0 || setsockopt(p->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        bind(p->fd, (struct sockaddr *)&ss, sl) != 0 || listen(p->fd, 8) != 0) {
        ostel_error("--metrics-listen %s: %s", listen_addr, strerror(errno));
        goto fail;
    }
    struct sockaddr_storage got;
    socklen_t gl = sizeof(got);
    if (getsockname(p->fd, (struct sockaddr *)&got, &gl) == 0)
        p->port = ntohs(got.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&got)->sin6_port
                                                  : ((struct sockaddr_in *)&got)->sin_port);
    if (pipe(p->wake) != 0) {
        ostel_error("--metrics-listen: %s", strerror(errno));
        goto fail;
    }
    /* the listener thread takes no signals: the runner's handlers stay on the main thread */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int rc = pthread_create(&p->thread, NULL, listen_loop, p);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        ostel_error("--metrics-listen: cannot start the listener: %s", strerror(rc));
        goto fail;
    }
    p->listening = true;
    return p;
fail:
    ostel_prom_stop(p);
    return NULL;
}

void ostel_prom_stop(struct ostel_prom *p)
{
    if (!p)
        return;
    if (p->listening) {
        ssize_t w;
        do
            w = write(p->wake[1], "x", 1);
        while (w < 0 && errno == EINTR);
        pthread_join(p->thread, NULL);
    }
    if (p->fd >= 0)
        close(p->fd);
    if (p->wake[0] >= 0)
        close(p->wake[0]);
    if (p->wake[1] >= 0)
        close(p->wake[1]);
    pthread_mutex_destroy(&p->mu);
    free(p->run);
    free(p->tag);
    free(p->model);
    free(p->status);
    free(p->textfile);
    free(p);
}

int ostel_prom_port(const struct ostel_prom *p)
{
    return p ? p->port : 0;
}
