/*
 * util: the error printer, aborting allocators, the capped growable buffer and string slices.
 */
#include "util/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void ostel_assert_fail(const char *file, int line, const char *expr)
{
    fprintf(stderr, "ostel: assertion failed at %s:%d: %s\n", file, line, expr);
    abort();
}

OSTEL_PRINTF(2, 0) static void vreport(const char *kind, const char *fmt, va_list ap)
{
    char msg[4096];
    va_list again;
    va_copy(again, ap);
    int n = vsnprintf(msg, sizeof(msg), fmt, ap);
    if (n >= 0 && (size_t)n >= sizeof(msg)) {
        /* a long message (a long path in it) is printed whole: its reason comes last */
        char *big = ostel_xmalloc((size_t)n + 1);
        vsnprintf(big, (size_t)n + 1, fmt, again);
        fprintf(stderr, "ostel: %s: %s\n", kind, big);
        free(big);
    } else {
        fprintf(stderr, "ostel: %s: %s\n", kind, msg);
    }
    va_end(again);
}

int ostel_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport("error", fmt, ap);
    va_end(ap);
    return OSTEL_ERR;
}

void ostel_warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport("warning", fmt, ap);
    va_end(ap);
}

void ostel_die(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport("error", fmt, ap);
    va_end(ap);
    exit(code);
}

static OSTEL_NORETURN void oom(size_t n)
{
    fprintf(stderr, "ostel: out of memory allocating %zu bytes\n", n);
    abort();
}

void *ostel_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        oom(n);
    return p;
}

void *ostel_xcalloc(size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p)
        oom(count * size);
    return p;
}

void *ostel_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        oom(n);
    return q;
}

char *ostel_xstrdup(const char *s)
{
    return ostel_xstrndup(s, strlen(s));
}

char *ostel_xstrndup(const char *s, size_t n)
{
    char *p = ostel_xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *ostel_xasprintf(const char *fmt, ...)
{
    struct ostel_buf b;
    va_list ap;
    ostel_buf_init(&b, 0);
    va_start(ap, fmt);
    ostel_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    return ostel_buf_detach(&b);
}

bool ostel_add_u64(uint64_t a, uint64_t b, uint64_t *out)
{
    if (a > UINT64_MAX - b)
        return false;
    *out = a + b;
    return true;
}

bool ostel_mul_u64(uint64_t a, uint64_t b, uint64_t *out)
{
    if (a != 0 && b > UINT64_MAX / a)
        return false;
    *out = a * b;
    return true;
}

#define OSTEL_BUF_DEFAULT_MAX ((size_t)1 << 30)

void ostel_buf_init(struct ostel_buf *b, size_t max)
{
    b->cap = 64;
    b->data = ostel_xmalloc(b->cap);
    b->data[0] = '\0';
    b->len = 0;
    b->max = max ? max : OSTEL_BUF_DEFAULT_MAX;
    b->overflow = false;
    b->sink = NULL;
    b->sink_ctx = NULL;
    b->sink_threshold = 0;
    b->flushed = 0;
    b->sink_error = 0;
}

void ostel_buf_free(struct ostel_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

void ostel_buf_reset(struct ostel_buf *b)
{
    OSTEL_ASSERT(!b->sink); /* what went to a sink cannot be taken back */
    b->len = 0;
    b->data[0] = '\0';
    b->overflow = false;
}

void ostel_buf_set_sink(struct ostel_buf *b, ostel_buf_sink_fn sink, void *ctx, size_t threshold)
{
    OSTEL_ASSERT(b->len == 0 && b->flushed == 0);
    b->sink = sink;
    b->sink_ctx = ctx;
    b->sink_threshold = threshold;
}

/* A streaming buffer stops at its first overflow or sink error: a later append that fitted would
 * leave a hole in what the sink received. */
static bool buf_stopped(const struct ostel_buf *b)
{
    return b->sink && (b->overflow || b->sink_error);
}

/* Whether n more bytes stay within max, counting those already handed to the sink. */
static bool buf_room(struct ostel_buf *b, size_t n)
{
    if (n > b->max || b->flushed + b->len > b->max - n) {
        b->overflow = true;
        return false;
    }
    return true;
}

static void buf_sink(struct ostel_buf *b, const void *p, size_t n)
{
    if (b->sink_error || n == 0)
        return;
    int e = b->sink(b->sink_ctx, p, n);
    if (e)
        b->sink_error = e;
    else
        b->flushed += n;
}

/* Hands what the buffer holds to its sink and empties it. */
static void buf_hand_on(struct ostel_buf *b)
{
    buf_sink(b, b->data, b->len);
    b->len = 0;
    b->data[0] = '\0';
}

static bool buf_reserve(struct ostel_buf *b, size_t extra)
{
    if (!buf_room(b, extra))
        return false;
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return true;
    size_t cap = b->cap;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    b->data = ostel_xrealloc(b->data, cap);
    b->cap = cap;
    return true;
}

/* After an append: a streaming buffer that holds more than its threshold hands it on. */
static void buf_appended(struct ostel_buf *b)
{
    if (b->sink && b->len > b->sink_threshold)
        buf_hand_on(b);
}

void ostel_buf_append(struct ostel_buf *b, const void *p, size_t n)
{
    if (n == 0 || buf_stopped(b))
        return;
    if (b->sink && n >= b->sink_threshold) { /* a large piece goes on as it is, not copied */
        if (!buf_room(b, n))
            return;
        buf_hand_on(b);
        buf_sink(b, p, n);
        return;
    }
    if (!buf_reserve(b, n))
        return;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    buf_appended(b);
}

void ostel_buf_puts(struct ostel_buf *b, const char *s)
{
    ostel_buf_append(b, s, strlen(s));
}

void ostel_buf_putc(struct ostel_buf *b, char c)
{
    ostel_buf_append(b, &c, 1);
}

void ostel_buf_vprintf(struct ostel_buf *b, const char *fmt, va_list ap)
{
    if (buf_stopped(b))
        return;
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return;
    if ((size_t)n < b->cap - b->len) {
        if (!buf_room(b, (size_t)n)) {
            b->data[b->len] = '\0';
            return;
        }
        b->len += (size_t)n;
        buf_appended(b);
        return;
    }
    if (!buf_reserve(b, (size_t)n)) {
        b->data[b->len] = '\0';
        return;
    }
    vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
    b->len += (size_t)n;
    buf_appended(b);
}

void ostel_buf_printf(struct ostel_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ostel_buf_vprintf(b, fmt, ap);
    va_end(ap);
}

int ostel_buf_flush(struct ostel_buf *b)
{
    if (!b->sink)
        return 0;
    if (!buf_stopped(b))
        buf_hand_on(b);
    return b->sink_error;
}

char *ostel_buf_detach(struct ostel_buf *b)
{
    char *p = b->data;
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}

struct ostel_str ostel_str_from_cstr(const char *s)
{
    return ostel_str_make(s, strlen(s));
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

struct ostel_str ostel_str_trim(struct ostel_str s)
{
    while (s.n && is_space(s.p[0])) {
        s.p++;
        s.n--;
    }
    while (s.n && is_space(s.p[s.n - 1]))
        s.n--;
    return s;
}

bool ostel_str_eq(struct ostel_str s, const char *lit)
{
    size_t n = strlen(lit);
    return s.n == n && memcmp(s.p, lit, n) == 0;
}

bool ostel_str_starts_with(struct ostel_str s, const char *prefix)
{
    size_t n = strlen(prefix);
    return s.n >= n && memcmp(s.p, prefix, n) == 0;
}

long ostel_str_find(struct ostel_str s, const char *needle)
{
    size_t n = strlen(needle);
    if (n == 0)
        return 0;
    if (n > s.n)
        return -1;
    for (size_t i = 0; i + n <= s.n; i++)
        if (s.p[i] == needle[0] && memcmp(s.p + i, needle, n) == 0)
            return (long)i;
    return -1;
}

bool ostel_str_next_line(struct ostel_str *rest, struct ostel_str *line)
{
    if (rest->n == 0)
        return false;
    const char *nl = memchr(rest->p, '\n', rest->n);
    size_t len = nl ? (size_t)(nl - rest->p) : rest->n;
    line->p = rest->p;
    line->n = len;
    if (line->n && line->p[line->n - 1] == '\r')
        line->n--;
    size_t adv = nl ? len + 1 : len;
    rest->p += adv;
    rest->n -= adv;
    return true;
}

char *ostel_fmt_bytes(uint64_t bytes, char *out, size_t out_size)
{
    static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    double v = (double)bytes;
    size_t u = 0;
    while (v >= 1024.0 && u + 1 < OSTEL_ARRAY_LEN(units)) {
        v /= 1024.0;
        u++;
    }
    if (u == 0)
        snprintf(out, out_size, "%llu B", (unsigned long long)bytes);
    else
        snprintf(out, out_size, "%.2f %s", v, units[u]);
    return out;
}

double ostel_mono_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int64_t ostel_mono_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000LL + t.tv_nsec;
}

uint64_t ostel_thread_cpu_ns(void)
{
    struct timespec t;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t) != 0)
        return 0;
    return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}
