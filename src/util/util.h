/*
 * util: errors, allocation, growable buffers and string slices shared by every module.
 *
 * Error convention (git's): recoverable failures return a negative int after printing one line
 * through ostel_error(), which returns OSTEL_ERR so callers can write `return ostel_error("...")`.
 * Pure modules (parsers, escapers) never print; they fill a caller's error buffer instead.
 * Out-of-memory aborts.
 */
#ifndef OSTEL_UTIL_H
#define OSTEL_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define OSTEL_OK 0
#define OSTEL_ERR (-1)

/* Process exit codes of every command. */
#define OSTEL_EXIT_OK 0
#define OSTEL_EXIT_FAIL 1
#define OSTEL_EXIT_USAGE 2

#define OSTEL_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#if defined(__GNUC__) || defined(__clang__)
#define OSTEL_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define OSTEL_NORETURN __attribute__((noreturn))
#else
#define OSTEL_PRINTF(f, a)
#define OSTEL_NORETURN
#endif

/* Always-on assertion (redis, ggml): a broken invariant aborts with its location in every build. */
#define OSTEL_ASSERT(x)                                                                            \
    do {                                                                                           \
        if (!(x))                                                                                  \
            ostel_assert_fail(__FILE__, __LINE__, #x);                                             \
    } while (0)
OSTEL_NORETURN void ostel_assert_fail(const char *file, int line, const char *expr);

/* Prints "ostel: error: <message>" on stderr; returns OSTEL_ERR. Messages: lowercase, no full stop.
 */
int ostel_error(const char *fmt, ...) OSTEL_PRINTF(1, 2);
/* Prints "ostel: warning: <message>" on stderr. */
void ostel_warn(const char *fmt, ...) OSTEL_PRINTF(1, 2);
/* Prints "ostel: error: <message>" and exits with `code`. Only main.c and cmd/ may call it. */
OSTEL_NORETURN void ostel_die(int code, const char *fmt, ...) OSTEL_PRINTF(2, 3);

/* Allocation that aborts on failure; the caller owns the result and frees it with free(). */
void *ostel_xmalloc(size_t n);
void *ostel_xcalloc(size_t count, size_t size);
void *ostel_xrealloc(void *p, size_t n);
char *ostel_xstrdup(const char *s);
char *ostel_xstrndup(const char *s, size_t n);
/* A newly allocated string formatted like printf; the caller frees it. */
char *ostel_xasprintf(const char *fmt, ...) OSTEL_PRINTF(1, 2);

/* Overflow-checked arithmetic on sizes: return false (leaving *out untouched) on overflow. */
bool ostel_add_u64(uint64_t a, uint64_t b, uint64_t *out);
bool ostel_mul_u64(uint64_t a, uint64_t b, uint64_t *out);

/* The monotonic clock (for durations and deadlines), in seconds and in nanoseconds. */
double ostel_mono_s(void);
int64_t ostel_mono_ns(void);
/* The calling thread's CPU time in nanoseconds, or 0 when the clock cannot be read. */
uint64_t ostel_thread_cpu_ns(void);

/*
 * Where a streaming buffer's bytes go (ostel_buf_set_sink): ctx as given there, the bytes in order,
 * each byte once. Returns 0, or an errno value (EIO, ENOSPC…) that the buffer keeps.
 */
typedef int (*ostel_buf_sink_fn)(void *ctx, const void *data, size_t len);

/*
 * A growable byte buffer with a size cap. Appends past `max` set `overflow` and are dropped, so a
 * hostile input can never make ostel allocate without bound. data is always NUL-terminated.
 *
 * With a sink (ostel_buf_set_sink) the buffer streams: once it holds more than the threshold, what
 * it holds goes to the sink and len drops to 0, so data is only the part not yet handed on and no
 * one may read it back or cut it. `max` then bounds every byte ever appended (`flushed` + len), and
 * the first overflow or sink error ends the stream: later appends are dropped.
 */
struct ostel_buf {
    char *data;
    size_t len;
    size_t cap;
    size_t max;             /* 0 = 1 GiB */
    bool overflow;          /* an append was refused because of max */
    ostel_buf_sink_fn sink; /* NULL: the buffer holds everything */
    void *sink_ctx;
    size_t sink_threshold; /* bytes held before they go to the sink */
    size_t flushed;        /* bytes handed to the sink so far */
    int sink_error;        /* the sink's first error (an errno value), 0 while none */
};
void ostel_buf_init(struct ostel_buf *b, size_t max);
void ostel_buf_free(struct ostel_buf *b);
void ostel_buf_reset(struct ostel_buf *b);
void ostel_buf_append(struct ostel_buf *b, const void *p, size_t n);
void ostel_buf_puts(struct ostel_buf *b, const char *s);
void ostel_buf_putc(struct ostel_buf *b, char c);
void ostel_buf_printf(struct ostel_buf *b, const char *fmt, ...) OSTEL_PRINTF(2, 3);
void ostel_buf_vprintf(struct ostel_buf *b, const char *fmt, va_list ap) OSTEL_PRINTF(2, 0);
/* Moves the contents out; the caller owns and frees the returned string. The buffer is left freed:
 * ostel_buf_init() it again before reuse. */
char *ostel_buf_detach(struct ostel_buf *b);
/*
 * Streams b (initialised, still empty) into sink: ctx is borrowed for the buffer's life, and an
 * append that leaves more than threshold bytes held hands them on (an append of threshold bytes or
 * more goes to the sink without a copy). The caller ends with ostel_buf_flush(). Not for a buffer
 * that is read back: its data is only what is not yet handed on.
 */
void ostel_buf_set_sink(struct ostel_buf *b, ostel_buf_sink_fn sink, void *ctx, size_t threshold);
/* Hands what b holds to its sink (nothing after an overflow or a sink error); returns the sink's
 * first error (an errno value) or 0. A buffer without a sink keeps its bytes and returns 0. */
int ostel_buf_flush(struct ostel_buf *b);

/* A non-owning view of bytes: (ptr, len). Never NUL-terminated by contract. */
struct ostel_str {
    const char *p;
    size_t n;
};
#define OSTEL_STR_LIT(s) ((struct ostel_str){(s), sizeof(s) - 1})
static inline struct ostel_str ostel_str_make(const char *p, size_t n)
{
    struct ostel_str s = {p, n};
    return s;
}
struct ostel_str ostel_str_from_cstr(const char *s);
struct ostel_str ostel_str_trim(struct ostel_str s);
bool ostel_str_eq(struct ostel_str s, const char *lit);
bool ostel_str_starts_with(struct ostel_str s, const char *prefix);
/* Offset of the first occurrence of needle in s, or -1. */
long ostel_str_find(struct ostel_str s, const char *needle);
/* Splits off the next line (without its '\n' or "\r\n") from *rest; false when *rest is empty. */
bool ostel_str_next_line(struct ostel_str *rest, struct ostel_str *line);

/* Formats a byte count as "12.3 MiB" into out (at least 32 bytes); returns out. */
char *ostel_fmt_bytes(uint64_t bytes, char *out, size_t out_size);

#endif
