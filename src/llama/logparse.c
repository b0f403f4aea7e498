/*
 * logparse: the llama.cpp log parser's core. The log is walked line by line; each line is cleaned
 * (ANSI colours, CR and NUL bytes dropped, the prefixes of llama.cpp's own logger, journalctl,
 * Docker and Go loggers stripped), split into "tag: body" (tag = the llama.cpp function that
 * printed it), and dispatched on tag and content. Every printf format this file knows is quoted
 * beside its handler; docs/parse.md lists them by llama.cpp age. llama-bench output lives in
 * logparse_bench.c, the JSON form of the result in logparse_json.c.
 *
 * Numbers are scanned by hand, never with strtod: the locale must not matter, and logs printed
 * under a German locale write "167,13 ms".
 */
#include "llama/logparse_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- small helpers */

const char *ostel_logparse_skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

bool ostel_logparse_starts(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool ieq_n(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char x = a[i], y = b[i];
        if (x >= 'A' && x <= 'Z')
            x = (char)(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z')
            y = (char)(y - 'A' + 'a');
        if (x != y || x == '\0')
            return false;
    }
    return true;
}

bool ostel_logparse_scan_num(const char *p, double *out, const char **end, char *sep,
                             bool *complete)
{
    p = ostel_logparse_skip_ws(p);
    const char *s = p;
    double sign = 1.0;
    if (*p == '-' || *p == '+') {
        sign = *p == '-' ? -1.0 : 1.0;
        p++;
    }
    if (ieq_n(p, "inf", 3) || ieq_n(p, "nan", 3)) {
        *out = ieq_n(p, "inf", 3) ? sign * INFINITY : NAN;
        p += 3;
        if (ieq_n(p, "inity", 5))
            p += 5;
        *end = p;
        *complete = *p != '\0';
        return true;
    }
    if (!is_digit(*p))
        return false;
    double v = 0.0;
    while (is_digit(*p)) {
        v = v * 10.0 + (*p - '0');
        p++;
    }
    if ((*p == '.' || *p == ',') && is_digit(p[1])) {
        char c = *p++;
        double scale = 0.1;
        while (is_digit(*p)) {
            v += (*p - '0') * scale;
            scale *= 0.1;
            p++;
        }
        if (sep)
            *sep = c;
    }
    if ((*p == 'e' || *p == 'E') &&
        (is_digit(p[1]) || ((p[1] == '-' || p[1] == '+') && is_digit(p[2])))) {
        p++;
        int esign = 1, e = 0;
        if (*p == '-' || *p == '+')
            esign = *p++ == '-' ? -1 : 1;
        while (is_digit(*p)) {
            if (e < 400)
                e = e * 10 + (*p - '0');
            p++;
        }
        if (v != 0.0)
            v *= pow(10.0, esign * e);
    }
    /* The value as printed, correctly rounded (the digit loop above drifts in the last place:
     * 0.000726 became 0.0007260000000000003): strtod over a copy with '.' as the separator (ostel
     * never calls setlocale, so strtod reads the C locale's '.'). */
    char tmp[64];
    size_t n = (size_t)(p - s);
    if (n < sizeof(tmp)) {
        memcpy(tmp, s, n);
        tmp[n] = '\0';
        for (char *c = tmp; *c; c++)
            if (*c == ',')
                *c = '.';
        char *e;
        double x = strtod(tmp, &e);
        if (*e == '\0' && !isnan(x)) {
            *out = x;
            *end = p;
            *complete = *p != '\0';
            return true;
        }
    }
    *out = sign * v;
    *end = p;
    *complete = *p != '\0';
    return true;
}

/* Notes the decimal separator of the log: ',' wins (a German log still prints integers). */
static void note_sep(struct lp_state *st, char sep)
{
    if (sep == ',')
        st->r->decimal_separator = ',';
    else if (sep == '.' && st->r->decimal_separator == 0)
        st->r->decimal_separator = '.';
}

const char *ostel_logparse_scan_val(struct lp_state *st, const char *p, struct ostel_logval *v)
{
    double x;
    const char *end;
    char sep = 0;
    bool complete;
    if (!ostel_logparse_scan_num(p, &x, &end, &sep, &complete) || isnan(x))
        return NULL;
    note_sep(st, sep);
    lp_set(v, x);
    return end;
}

void ostel_logparse_copy_trim(char *out, size_t n, const char *p, size_t len)
{
    while (len > 0 && (*p == ' ' || *p == '\t')) {
        p++;
        len--;
    }
    while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
        len--;
    if (len >= n)
        len = n - 1;
    memcpy(out, p, len);
    out[len] = '\0';
}

static void copy_cstr(char *out, size_t n, const char *s)
{
    ostel_logparse_copy_trim(out, n, s, strlen(s));
}

/* ---------------------------------------------------------------- cleaning and prefixes */

/* Copies one raw line into out without ANSI escapes, NUL and CR bytes, tabs as spaces; trims the
 * end. Returns the length. */
static size_t clean_line(const char *p, size_t n, char *out, size_t outsz)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 1 < outsz; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == 0x1b) {
            if (i + 1 < n && p[i + 1] == '[') {
                i += 2;
                while (i < n && !(p[i] >= '@' && p[i] <= '~'))
                    i++;
            }
            continue;
        }
        if (c == '\r' || c == '\0')
            continue;
        out[o++] = c == '\t' ? ' ' : (char)c;
    }
    while (o > 0 && out[o - 1] == ' ')
        o--;
    out[o] = '\0';
    return o;
}

static const char *digits_n(const char *p, int min, int max)
{
    int k = 0;
    while (is_digit(p[k]) && k < max)
        k++;
    return k >= min && !is_digit(p[k]) ? p + k : NULL;
}

/* "0.04.427.185 I " (common/log.cpp: minutes.seconds.ms.us then level), or the level alone. */
static const char *strip_llama_prefix(const char *s)
{
    const char *p = digits_n(s, 1, 6);
    if (p && *p == '.' && (p = digits_n(p + 1, 2, 2)) && *p == '.' && (p = digits_n(p + 1, 3, 3)) &&
        *p == '.' && (p = digits_n(p + 1, 3, 3)) && *p == ' ') {
        p++;
        if ((*p == 'I' || *p == 'W' || *p == 'E' || *p == 'D') && p[1] == ' ')
            p += 2;
        return p;
    }
    return s;
}

/* Docker --timestamps "2025-06-11T04:46:43.995123456Z " and Go's log "2025/06/26 04:34:13 ". */
static const char *strip_date_prefix(const char *s)
{
    const char *p = digits_n(s, 4, 4);
    if (!p || (*p != '-' && *p != '/'))
        return s;
    char d = *p;
    if (!(p = digits_n(p + 1, 2, 2)) || *p != d || !(p = digits_n(p + 1, 2, 2)))
        return s;
    if (*p != 'T' && *p != ' ')
        return s;
    p++;
    if (!(p = digits_n(p, 2, 2)) || *p != ':' || !(p = digits_n(p + 1, 2, 2)) || *p != ':' ||
        !(p = digits_n(p + 1, 2, 2)))
        return s;
    while (*p && *p != ' ' && p - s < 48)
        p++;
    return *p == ' ' ? p + 1 : s;
}

/* journalctl/syslog "6月 26 04:34:13 host ollama[1073]: ": a hh:mm:ss before the first "]: ". */
static const char *strip_journal_prefix(const char *s)
{
    const char *br = strstr(s, "]: ");
    if (!br || br - s > 200)
        return s;
    for (const char *p = s; p + 8 <= br; p++) {
        if (is_digit(p[0]) && is_digit(p[1]) && p[2] == ':' && is_digit(p[3]) && is_digit(p[4]) &&
            p[5] == ':' && is_digit(p[6]) && is_digit(p[7]))
            return br + 3;
    }
    return s;
}

/* docker compose "ollama-1  | ". */
static const char *strip_compose_prefix(const char *s)
{
    const char *p = s;
    while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || is_digit(*p) || *p == '_' ||
           *p == '-' || *p == '.')
        p++;
    if (p == s || *p != ' ')
        return s;
    p = ostel_logparse_skip_ws(p);
    return p[0] == '|' && p[1] == ' ' ? p + 2 : s;
}

static const char *strip_prefixes(const char *s)
{
    for (int round = 0; round < 4; round++) {
        const char *t = strip_journal_prefix(s);
        t = strip_date_prefix(t);
        t = strip_compose_prefix(t);
        t = strip_llama_prefix(t);
        if (t == s)
            break;
        s = t;
    }
    return s;
}

/*
 * Splits "tag: body". A tag is [A-Za-z0-9_~.]+ directly followed by ':' and a blank or the end.
 * llama-server's "slot NAME: id 0 | task 0 | msg" and "srv NAME: msg" give tag NAME and the
 * message; the old server's "INFO [   NAME] msg" gives tag NAME. Returns false (tag "") otherwise.
 */
static bool split_tag(const char *text, char *tag, size_t tagsz, const char **body)
{
    const char *p = text;
    tag[0] = '\0';
    *body = text;
    if (ostel_logparse_starts(p, "INFO [") || ostel_logparse_starts(p, "WARN [") ||
        ostel_logparse_starts(p, "ERR [")) {
        const char *o = strchr(p, '[') + 1;
        const char *c = strchr(o, ']');
        if (!c)
            return false;
        ostel_logparse_copy_trim(tag, tagsz, o, (size_t)(c - o));
        *body = ostel_logparse_skip_ws(c + 1);
        return true;
    }
    bool server = false;
    if (ostel_logparse_starts(p, "slot ") || ostel_logparse_starts(p, "srv ") ||
        ostel_logparse_starts(p, "que ") || ostel_logparse_starts(p, "cmn ")) {
        p = ostel_logparse_skip_ws(strchr(p, ' '));
        server = true;
    }
    const char *q = p;
    while ((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || is_digit(*q) || *q == '_' ||
           *q == '~' || *q == '.')
        q++;
    if (q == p || *q != ':' || (q[1] != ' ' && q[1] != '\0'))
        return false;
    ostel_logparse_copy_trim(tag, tagsz, p, (size_t)(q - p));
    const char *b = ostel_logparse_skip_ws(q + 1);
    if (server) {
        /* "id  0 | task 0 | prompt eval time = ..." -> the text after the last "| " */
        const char *bar = NULL;
        for (const char *x = b; (x = strchr(x, '|')) != NULL; x++)
            bar = x;
        if (bar && (ostel_logparse_starts(b, "id ") || ostel_logparse_starts(b, "id_slot")))
            b = ostel_logparse_skip_ws(bar + 1);
    }
    *body = b;
    return true;
}

/* ---------------------------------------------------------------- timings */

enum tkey { T_PROMPT, T_GEN, T_LOAD, T_TOTAL, T_SAMPLING, T_SAMPLERS, T_UNACC, T_GRAPHS };

static const struct {
    const char *key;
    enum tkey k;
} timing_keys[] = {
    {"prompt eval time", T_PROMPT}, {"generation eval time", T_GEN}, {"eval time", T_GEN},
    {"load time", T_LOAD},          {"total time", T_TOTAL},         {"sample time", T_SAMPLING},
    {"sampling time", T_SAMPLING},  {"samplers time", T_SAMPLERS},   {"unaccounted time", T_UNACC},
    {"graphs reused", T_GRAPHS},
};

static struct ostel_logval *timing_primary(struct ostel_log_timings *t, enum tkey k)
{
    switch (k) {
    case T_PROMPT:
        return &t->prompt_ms;
    case T_GEN:
        return &t->gen_ms;
    case T_LOAD:
        return &t->load_ms;
    case T_TOTAL:
        return &t->total_ms;
    case T_SAMPLING:
        return &t->sampling_ms;
    case T_SAMPLERS:
        return &t->samplers_ms;
    case T_UNACC:
        return &t->unaccounted_ms;
    case T_GRAPHS:
        return &t->graphs_reused;
    }
    return &t->load_ms;
}

/* A field printed twice means a new block began: the last block printed wins. */
static void timing_begin(struct lp_state *st, struct ostel_logval *field, bool is_format_line,
                         enum ostel_logparse_format fmt)
{
    struct ostel_log_timings *t = &st->r->timings;
    if (field->valid) {
        memset(t, 0, sizeof(*t));
    }
    if (is_format_line)
        t->format = fmt;
}

/* The timing key that body starts with ("<key> ="): its index in timing_keys, with *eq at its '=';
 * -1 when none. */
static int timing_key_at(const char *body, const char **eq)
{
    for (size_t i = 0; i < OSTEL_ARRAY_LEN(timing_keys); i++) {
        if (ostel_logparse_starts(body, timing_keys[i].key)) {
            const char *p = ostel_logparse_skip_ws(body + strlen(timing_keys[i].key));
            if (*p == '=') {
                *eq = p;
                return (int)i;
            }
        }
    }
    return -1;
}

/*
 * After "x ms", p at its "/": "/ n tokens" ("runs" for sampling; "/ p %" for the unaccounted time,
 * not kept), the count into k's field. Returns where the text after it begins, or NULL when the
 * line was cut (t->truncated set). *sep: the decimal separator scanned last (note_sep).
 */
static const char *timing_count(struct lp_state *st, enum tkey k, const char *p, char *sep)
{
    struct ostel_log_timings *t = &st->r->timings;
    double x;
    const char *end;
    bool complete;
    if (!ostel_logparse_scan_num(p + 1, &x, &end, sep, &complete) || !complete) {
        t->truncated = true;
        return NULL;
    }
    note_sep(st, *sep);
    p = ostel_logparse_skip_ws(end);
    struct ostel_logval *count = NULL;
    switch (k) {
    case T_PROMPT:
        count = &t->prompt_tokens;
        break;
    case T_GEN:
        count = &t->gen_tokens;
        break;
    case T_TOTAL:
        count = &t->total_tokens;
        break;
    case T_SAMPLING:
        count = &t->sampling_runs;
        break;
    default:
        break;
    }
    if (count) {
        lp_set(count, x);
        /* "tokens"/"runs" cut short: the count before it was complete, the line was not */
        if (!ostel_logparse_starts(p, "token") && !ostel_logparse_starts(p, "run"))
            t->truncated = true;
    }
    while (*p && *p != ' ' && *p != '(')
        p++;
    return ostel_logparse_skip_ws(p);
}

/* p at a number followed by word: the number into *x and the text after word, or NULL where the
 * line is cut before both are whole. */
static const char *num_then(const char *p, const char *word, double *x)
{
    const char *end;
    char sep = 0;
    bool complete;
    if (!ostel_logparse_scan_num(p, x, &end, &sep, &complete) || !complete)
        return NULL;
    p = ostel_logparse_skip_ws(end);
    return ostel_logparse_starts(p, word) ? p + strlen(word) : NULL;
}

/* The parenthesis after a prompt's, generation's or sampling's time, p at its "(": "( y ms per
 * token, z tokens per second)", z into k's speed; t->truncated set where the line was cut. */
static void timing_rate(struct ostel_log_timings *t, enum tkey k, const char *p)
{
    double x;
    if (*p != '(') {
        /* common_perf's "sampling time = x ms" has no parenthesis; the others always do */
        if (k != T_SAMPLING)
            t->truncated = true;
        return;
    }
    /* "( 0.65 ms per token" then ", 12.31 tokens per second)" since June 2023 */
    p = num_then(p + 1, "ms per token", &x);
    if (!p) {
        t->truncated = true;
        return;
    }
    p = ostel_logparse_skip_ws(p);
    if (*p == ')')
        return; /* mid-2023: no tokens per second */
    if (*p != ',' || !(p = num_then(p + 1, "tokens per second", &x))) {
        t->truncated = true;
        return;
    }
    struct ostel_logval *tps = k == T_PROMPT ? &t->prompt_tps
                               : k == T_GEN  ? &t->gen_tps
                                             : &t->sampling_tps;
    if (!isnan(x))
        lp_set(tps, x);
    if (*p != ')')
        t->truncated = true;
}

/*
 * "<key> time = %10.2f ms / %5d tokens (%8.2f ms per token, %8.2f tokens per second)" and its
 * relatives: "sample time = x ms / n runs (y ms per token)" (mid-2023, no tokens per second),
 * "total time = x ms" (no tokens before 2024), "unaccounted time = x ms / p %", "graphs reused =
 * n". Returns false when body is no timing line.
 */
static bool timing_line(struct lp_state *st, enum ostel_logparse_format fmt, bool sampler_only,
                        const char *body)
{
    body = ostel_logparse_skip_ws(body);
    const char *p = NULL;
    int i = timing_key_at(body, &p);
    if (i < 0)
        return false;
    enum tkey k = timing_keys[i].k;
    if (sampler_only && k != T_SAMPLING)
        return false;
    struct ostel_log_timings *t = &st->r->timings;
    struct ostel_logval *primary = timing_primary(t, k);
    timing_begin(st, primary, !sampler_only, fmt);
    p++;

    double x;
    const char *end;
    char sep = 0;
    bool complete;
    bool ok = ostel_logparse_scan_num(p, &x, &end, &sep, &complete);
    if (ok && k == T_GRAPHS) {
        /* the only timing line that ends with its number */
        note_sep(st, sep);
        lp_set(primary, x);
        return true;
    }
    if (!ok || !complete) {
        t->truncated = true;
        return true;
    }
    note_sep(st, sep);
    lp_set(primary, x);
    p = ostel_logparse_skip_ws(end);
    if (!ostel_logparse_starts(p, "ms")) {
        t->truncated = true;
        return true;
    }
    p = ostel_logparse_skip_ws(p + 2);
    if (*p == '/') {
        p = timing_count(st, k, p, &sep);
        if (!p)
            return true;
    } else if (*p == '\0' && (k == T_PROMPT || k == T_GEN)) {
        t->truncated = true;
        return true;
    }
    if (k == T_PROMPT || k == T_GEN || k == T_SAMPLING)
        timing_rate(t, k, p);
    return true;
}

/* New llama-cli: "[ Prompt: 45.1 t/s | Generation: 12.9 t/s ]". */
static bool cli_speed_line(struct lp_state *st, const char *text)
{
    if (!ostel_logparse_starts(text, "[ Prompt:"))
        return false;
    struct ostel_log_timings *t = &st->r->timings;
    timing_begin(st, &t->prompt_tps, true, OSTEL_LOGPARSE_FORMAT_CLI);
    const char *p = ostel_logparse_scan_val(st, text + strlen("[ Prompt:"), &t->prompt_tps);
    const char *g = strstr(text, "Generation:");
    if (g)
        ostel_logparse_scan_val(st, g + strlen("Generation:"), &t->gen_tps);
    if (!p || !g)
        t->truncated = true;
    return true;
}

/* llama-server progress: "n_decoded = 100, tg = 12.93 t/s" (2025), "n_gen = 100, tg = ..." now. */
static bool server_progress_line(struct lp_state *st, const char *body)
{
    const char *n = strstr(body, "n_decoded =");
    size_t klen = strlen("n_decoded =");
    if (!n) {
        n = strstr(body, "n_gen =");
        klen = strlen("n_gen =");
    }
    const char *tg = strstr(body, "tg =");
    if (!n || !tg)
        return false;
    struct ostel_logval nd = {0}, tps = {0};
    if (ostel_logparse_scan_val(st, n + klen, &nd) && ostel_logparse_scan_val(st, tg + 4, &tps)) {
        st->r->server_n_decoded = nd;
        st->r->server_tg_tps = tps;
    }
    return true;
}

/* ---------------------------------------------------------------- model and context facts */

/* "3.54 GiB (3.99 BPW)" / "462.96 MiB (6.16 BPW)" -> MiB and BPW. */
static void parse_size(struct lp_state *st, const char *v, struct ostel_logval *mib,
                       struct ostel_logval *bpw)
{
    struct ostel_logval x = {0};
    const char *p = ostel_logparse_scan_val(st, v, &x);
    if (!p)
        return;
    p = ostel_logparse_skip_ws(p);
    double f = 0;
    if (ostel_logparse_starts(p, "GiB") || ostel_logparse_starts(p, "GB"))
        f = 1024.0;
    else if (ostel_logparse_starts(p, "MiB") || ostel_logparse_starts(p, "MB"))
        f = 1.0;
    else if (ostel_logparse_starts(p, "KiB") || ostel_logparse_starts(p, "kB") ||
             ostel_logparse_starts(p, "KB"))
        f = 1.0 / 1024.0;
    else if (ostel_logparse_starts(p, "TiB"))
        f = 1024.0 * 1024.0;
    if (f == 0)
        return;
    lp_set(mib, x.value * f);
    const char *o = strchr(p, '(');
    if (o && bpw) {
        struct ostel_logval b = {0};
        const char *e = ostel_logparse_scan_val(st, o + 1, &b);
        if (e && ostel_logparse_starts(ostel_logparse_skip_ws(e), "BPW"))
            *bpw = b;
    }
}

/* "8.03 B", "630.17 M", "1.23 T", "0.5 K" -> count. */
static void parse_params(struct lp_state *st, const char *v, struct ostel_logval *out)
{
    struct ostel_logval x = {0};
    const char *p = ostel_logparse_scan_val(st, v, &x);
    if (!p)
        return;
    p = ostel_logparse_skip_ws(p);
    double f = *p == 'T'                ? 1e12
               : *p == 'B' || *p == 'G' ? 1e9
               : *p == 'M'              ? 1e6
               : *p == 'K'              ? 1e3
                                        : 0;
    if (f != 0)
        lp_set(out, x.value * f);
}

/* Scans a plain count; "[32, 32, ...]" per-layer arrays stay invalid. */
static void parse_count(struct lp_state *st, const char *v, struct ostel_logval *out)
{
    struct ostel_logval x = {0};
    if (*ostel_logparse_skip_ws(v) != '[' && ostel_logparse_scan_val(st, v, &x))
        *out = x;
}

/* Splits "key   = value" into a trimmed key and the value's start. */
static bool split_kv(const char *body, char *key, size_t keysz, const char **val)
{
    const char *eq = strchr(body, '=');
    if (!eq)
        return false;
    ostel_logparse_copy_trim(key, keysz, body, (size_t)(eq - body));
    *val = ostel_logparse_skip_ws(eq + 1);
    return true;
}

/* print_info: (2025) / llm_load_print_meta: (2023-24) "key = value" lines of a model load. */
static void model_line(struct lp_state *st, const char *body)
{
    char key[64];
    const char *v;
    if (!split_kv(body, key, sizeof(key), &v))
        return;
    struct ostel_log_model *m = &st->r->model;
    bool known = true;
    if (!strcmp(key, "file type") || !strcmp(key, "model ftype"))
        copy_cstr(m->file_type, sizeof(m->file_type), v);
    else if (!strcmp(key, "file size") || !strcmp(key, "model size")) {
        copy_cstr(m->size_printed, sizeof(m->size_printed), v);
        parse_size(st, v, &m->size_mib, &m->bpw);
    } else if (!strcmp(key, "model params"))
        parse_params(st, v, &m->params);
    else if (!strcmp(key, "arch"))
        copy_cstr(m->arch, sizeof(m->arch), v);
    else if (!strcmp(key, "model type"))
        copy_cstr(m->type, sizeof(m->type), v);
    else if (!strcmp(key, "general.name"))
        copy_cstr(m->name, sizeof(m->name), v);
    else if (!strcmp(key, "n_ctx_train"))
        parse_count(st, v, &m->n_ctx_train);
    else if (!strcmp(key, "n_layer"))
        parse_count(st, v, &m->n_layer);
    else if (!strcmp(key, "n_embd"))
        parse_count(st, v, &m->n_embd);
    else if (!strcmp(key, "n_head"))
        parse_count(st, v, &m->n_head);
    else if (!strcmp(key, "n_head_kv"))
        parse_count(st, v, &m->n_head_kv);
    else if (!strcmp(key, "n_vocab"))
        parse_count(st, v, &m->n_vocab);
    else if (!strcmp(key, "vocab_only")) {
        if (*v == '1' && !m->vocab_only) {
            m->vocab_only = true;
            st->r->vocab_only_loads++;
        }
    } else
        known = false;
    if (known)
        m->seen = true;
}

/* "llama_model_loader: loaded meta data with 26 key-value pairs ..." begins a load. */
static void model_load_start(struct lp_state *st)
{
    struct ostel_log_result *r = st->r;
    r->model_loads++;
    if (r->model.seen && !r->model.vocab_only) {
        st->saved_model = r->model;
        st->have_saved_model = true;
    }
    memset(&r->model, 0, sizeof(r->model));
    /* a second full load: its buffers replace the first one's */
    if (r->n_buffers > 0)
        r->n_buffers = 0;
}

/* "%12s model buffer size = %8.2f MiB", "%10s KV buffer size", "%10s compute buffer size",
 * "%10s  output buffer size", March 2024's "%10s buffer size". */
static bool buffer_line(struct lp_state *st, const char *tag, const char *body)
{
    /* "buffer size =", and March 2024's "input buffer size   =" */
    const char *bs = strstr(body, "buffer size");
    if (!bs || *ostel_logparse_skip_ws(bs + strlen("buffer size")) != '=')
        return false;
    /* words before "buffer size" */
    const char *w[4];
    size_t wl[4];
    int nw = 0;
    for (const char *p = ostel_logparse_skip_ws(body); p < bs;) {
        const char *e = p;
        while (e < bs && *e != ' ')
            e++;
        if (nw == 4) {
            memmove(w, w + 1, sizeof(w[0]) * 3);
            memmove(wl, wl + 1, sizeof(wl[0]) * 3);
            nw = 3;
        }
        w[nw] = p;
        wl[nw++] = (size_t)(e - p);
        p = ostel_logparse_skip_ws(e);
    }
    if (nw == 0)
        return true;
    enum ostel_logparse_buffer_kind kind = OSTEL_LOGPARSE_BUF_OTHER;
    int bi = nw - 1;
    static const struct {
        const char *word;
        enum ostel_logparse_buffer_kind kind;
    } kinds[] = {{"model", OSTEL_LOGPARSE_BUF_MODEL},     {"KV", OSTEL_LOGPARSE_BUF_KV},
                 {"compute", OSTEL_LOGPARSE_BUF_COMPUTE}, {"output", OSTEL_LOGPARSE_BUF_OUTPUT},
                 {"RS", OSTEL_LOGPARSE_BUF_OTHER},        {"LoRA", OSTEL_LOGPARSE_BUF_OTHER},
                 {"state", OSTEL_LOGPARSE_BUF_OTHER},     {"input", OSTEL_LOGPARSE_BUF_OTHER}};
    bool have_kind = false;
    for (size_t i = 0; i < OSTEL_ARRAY_LEN(kinds); i++) {
        if (wl[nw - 1] == strlen(kinds[i].word) && !strncmp(w[nw - 1], kinds[i].word, wl[nw - 1])) {
            kind = kinds[i].kind;
            have_kind = true;
        }
    }
    if (have_kind) {
        if (nw < 2)
            return true;
        bi = nw - 2;
    } else if (strstr(tag, "load_tensors")) {
        kind = OSTEL_LOGPARSE_BUF_MODEL;
    }
    struct ostel_logval mib = {0};
    const char *p =
        ostel_logparse_scan_val(st, ostel_logparse_skip_ws(bs + strlen("buffer size")) + 1, &mib);
    if (!p)
        return true;
    p = ostel_logparse_skip_ws(p);
    if (ostel_logparse_starts(p, "GiB"))
        mib.value *= 1024.0;
    else if (ostel_logparse_starts(p, "KiB"))
        mib.value /= 1024.0;
    else if (!ostel_logparse_starts(p, "MiB") && !ostel_logparse_starts(p, "MB"))
        return true;

    struct ostel_log_result *r = st->r;
    char backend[48];
    ostel_logparse_copy_trim(backend, sizeof(backend), w[bi], wl[bi]);
    for (size_t i = 0; i < r->n_buffers; i++) {
        struct ostel_log_buffer *b = &r->buffers[i];
        if (b->kind != kind || strcmp(b->backend, backend) != 0)
            continue;
        /* compute/output reservations are redone in place; model (split files), KV (iSWA) and
         * others are distinct buffers that add up */
        if (kind == OSTEL_LOGPARSE_BUF_COMPUTE || kind == OSTEL_LOGPARSE_BUF_OUTPUT)
            b->mib = mib.value;
        else
            b->mib += mib.value;
        return true;
    }
    if (r->n_buffers < OSTEL_LOGPARSE_MAX_BUFFERS) {
        struct ostel_log_buffer *b = &r->buffers[r->n_buffers++];
        b->kind = kind;
        memcpy(b->backend, backend, sizeof(backend));
        b->mib = mib.value;
    }
    return true;
}

/* A new context drops the previous context's KV, compute and output buffers and KV facts. */
static void context_start(struct lp_state *st)
{
    struct ostel_log_result *r = st->r;
    size_t o = 0;
    for (size_t i = 0; i < r->n_buffers; i++) {
        enum ostel_logparse_buffer_kind k = r->buffers[i].kind;
        if (k == OSTEL_LOGPARSE_BUF_MODEL || k == OSTEL_LOGPARSE_BUF_OTHER)
            r->buffers[o++] = r->buffers[i];
    }
    r->n_buffers = o;
    memset(&r->kv_size_mib, 0, sizeof(r->kv_size_mib));
    memset(&r->kv_cells, 0, sizeof(r->kv_cells));
    memset(&r->kv_k_mib, 0, sizeof(r->kv_k_mib));
    memset(&r->kv_v_mib, 0, sizeof(r->kv_v_mib));
    st->context_open = true;
}

/* llama_context: / llama_new_context_with_model: / llama_init_from_model: "key = value". */
static void context_line(struct lp_state *st, const char *body)
{
    char key[64];
    const char *v;
    struct ostel_log_result *r = st->r;
    if (!split_kv(body, key, sizeof(key), &v))
        return;
    if (!strcmp(key, "n_ctx")) {
        context_start(st);
        parse_count(st, v, &r->n_ctx);
    } else if (!strcmp(key, "n_ctx_per_seq") || !strcmp(key, "n_ctx_seq"))
        parse_count(st, v, &r->n_ctx_per_seq);
    else if (!strcmp(key, "n_seq_max"))
        parse_count(st, v, &r->n_seq_max);
    else if (!strcmp(key, "n_batch"))
        parse_count(st, v, &r->n_batch);
    else if (!strcmp(key, "n_ubatch"))
        parse_count(st, v, &r->n_ubatch);
    else if (!strcmp(key, "flash_attn"))
        copy_cstr(r->flash_attn, sizeof(r->flash_attn), v);
}

static void add_or_set(struct ostel_logval *dst, struct ostel_logval x, bool add)
{
    if (!x.valid)
        return;
    if (add && dst->valid)
        dst->value += x.value;
    else
        *dst = x;
}

/* Reads "K (f16): 256.00 MiB" style parts after `key`. */
static void kv_part(struct lp_state *st, const char *s, const char *key, char *type, size_t tsz,
                    struct ostel_logval *mib, bool add)
{
    const char *k = strstr(s, key);
    if (!k)
        return;
    const char *o = k + strlen(key);
    const char *c = strchr(o, ')');
    if (!c)
        return;
    ostel_logparse_copy_trim(type, tsz, o, (size_t)(c - o));
    if (c[1] == ':') {
        struct ostel_logval x = {0};
        ostel_logparse_scan_val(st, c + 2, &x);
        add_or_set(mib, x, add);
    }
}

/*
 * "llama_kv_cache: size = %7.2f MiB (%6u cells, %3d layers, %2u/%u seqs), K (%s): %7.2f MiB, V
 * (%s): %7.2f MiB", older "KV self size  = %7.2f MiB, K (%s): ...", and 2024's llama_kv_cache_init
 * "kv_size = 16384, offload = 1, type_k = 'f16', type_v = 'f16', n_layer = 28".
 */
static bool kv_line(struct lp_state *st, const char *body)
{
    struct ostel_log_result *r = st->r;
    const char *p = NULL;
    if (ostel_logparse_starts(body, "size ="))
        p = body + strlen("size =");
    else if (ostel_logparse_starts(body, "KV self size"))
        p = strchr(body, '=') ? strchr(body, '=') + 1 : NULL;
    if (p) {
        /* two caches in one context (iSWA) add up */
        bool add = r->kv_size_mib.valid;
        struct ostel_logval x = {0}, cells = {0};
        const char *e = ostel_logparse_scan_val(st, p, &x);
        if (!e)
            return true;
        e = ostel_logparse_skip_ws(e);
        if (ostel_logparse_starts(e, "GiB"))
            x.value *= 1024.0;
        add_or_set(&r->kv_size_mib, x, add);
        if (*e && (e = strchr(e, '(')) && ostel_logparse_scan_val(st, e + 1, &cells))
            add_or_set(&r->kv_cells, cells, false);
        kv_part(st, p, "K (", r->kv_type_k, sizeof(r->kv_type_k), &r->kv_k_mib, add);
        kv_part(st, p, "V (", r->kv_type_v, sizeof(r->kv_type_v), &r->kv_v_mib, add);
        return true;
    }
    if (ostel_logparse_starts(body, "kv_size =")) {
        parse_count(st, body + strlen("kv_size ="), &r->kv_cells);
        const char *tk = strstr(body, "type_k = '");
        const char *tv = strstr(body, "type_v = '");
        if (tk) {
            tk += strlen("type_k = '");
            const char *q = strchr(tk, '\'');
            if (q)
                ostel_logparse_copy_trim(r->kv_type_k, sizeof(r->kv_type_k), tk, (size_t)(q - tk));
        }
        if (tv) {
            tv += strlen("type_v = '");
            const char *q = strchr(tv, '\'');
            if (q)
                ostel_logparse_copy_trim(r->kv_type_v, sizeof(r->kv_type_v), tv, (size_t)(q - tv));
        }
        return true;
    }
    return false;
}

/* "using device CUDA0 (NVIDIA GeForce GTX 1080) - 7990 MiB free" */
static void device_line(struct lp_state *st, const char *body)
{
    const char *u = strstr(body, "using device ");
    if (!u)
        return;
    u += strlen("using device ");
    const char *dash = NULL;
    for (const char *x = u; (x = strstr(x, " - ")) != NULL; x++)
        dash = x;
    if (!dash)
        return;
    char name[128];
    ostel_logparse_copy_trim(name, sizeof(name), u, (size_t)(dash - u));
    struct ostel_logval free_mib = {0};
    const char *e = ostel_logparse_scan_val(st, dash + 3, &free_mib);
    if (!e || !ostel_logparse_starts(ostel_logparse_skip_ws(e), "MiB"))
        free_mib.valid = false;
    struct ostel_log_result *r = st->r;
    for (size_t i = 0; i < r->n_devices; i++) {
        if (!strcmp(r->devices[i].name, name)) {
            r->devices[i].free_mib = free_mib;
            return;
        }
    }
    if (r->n_devices < OSTEL_LOGPARSE_MAX_DEVICES) {
        memcpy(r->devices[r->n_devices].name, name, sizeof(name));
        r->devices[r->n_devices++].free_mib = free_mib;
    }
}

/* The build line of every age: "build: 5489 (2d38b6e4) with cc ...", llama-bench's "build: 3f1ae2e3
 * (4481)", "common_init: build 7300 (2960eb297) with ...", "main: build = 1234 (abc)", "version:
 * 7300 (2960eb297)" and "version: X (build N, commit C)". */
static void build_line(struct lp_state *st, const char *text)
{
    struct ostel_log_result *r = st->r;
    if (r->build[0])
        return;
    copy_cstr(r->build, sizeof(r->build), text);
    const char *p = text;
    if (*p == '=')
        p = ostel_logparse_skip_ws(p + 1);
    const char *b = strstr(p, "(build ");
    if (b) {
        ostel_logparse_scan_val(st, b + strlen("(build "), &r->build_number);
        const char *c = strstr(b, "commit ");
        if (c) {
            c += strlen("commit ");
            size_t n = strcspn(c, ") ,");
            ostel_logparse_copy_trim(r->build_commit, sizeof(r->build_commit), c, n);
        }
        return;
    }
    size_t n1 = strcspn(p, " (");
    const char *o = strchr(p, '(');
    size_t n2 = o ? strcspn(o + 1, ")") : 0;
    bool first_digits = n1 > 0;
    for (size_t i = 0; i < n1; i++)
        first_digits = first_digits && is_digit(p[i]);
    if (first_digits) {
        struct ostel_logval x = {0};
        if (ostel_logparse_scan_val(st, p, &x))
            r->build_number = x;
        if (o)
            ostel_logparse_copy_trim(r->build_commit, sizeof(r->build_commit), o + 1, n2);
    } else {
        ostel_logparse_copy_trim(r->build_commit, sizeof(r->build_commit), p, n1);
        struct ostel_logval x = {0};
        if (o && ostel_logparse_scan_val(st, o + 1, &x))
            r->build_number = x;
    }
}

/* ---------------------------------------------------------------- memory breakdown table */

/*
 * "| memory breakdown [MiB] | total free self model context compute unaccounted |" then
 * "|   - CUDA0 (H100) | 80000 = 1234 + (70000 = 65000 + 4000 + 1000) + 8766 |" and
 * "|   - Host         |               1054 =  1039 +       0 +      15                   |".
 */
static void breakdown_line(struct lp_state *st, const char *body)
{
    struct ostel_log_result *r = st->r;
    if (*body != '|')
        return;
    const char *c1 = ostel_logparse_skip_ws(body + 1);
    const char *bar = strchr(c1, '|');
    if (!bar)
        return;
    if (ostel_logparse_starts(c1, "memory breakdown")) {
        r->n_breakdown = 0;
        r->breakdown_tables++;
        return;
    }
    if (*c1 != '-' || r->n_breakdown >= OSTEL_LOGPARSE_MAX_BREAKDOWN)
        return;
    struct ostel_log_breakdown_row row;
    memset(&row, 0, sizeof(row));
    ostel_logparse_copy_trim(row.device, sizeof(row.device), c1 + 1, (size_t)(bar - c1 - 1));
    const char *cell = bar + 1;
    const char *endc = strchr(cell, '|');
    size_t len = endc ? (size_t)(endc - cell) : strlen(cell);
    char buf[512];
    ostel_logparse_copy_trim(buf, sizeof(buf), cell, len);
    double v[8];
    int nv = 0;
    const char *p = buf;
    while (*p && nv < 8) {
        double x;
        const char *e;
        char sep = 0;
        bool complete;
        /* a '-' is a sign only when glued to digits */
        if ((is_digit(*p) || (*p == '-' && is_digit(p[1]))) &&
            ostel_logparse_scan_num(p, &x, &e, &sep, &complete)) {
            v[nv++] = x;
            p = e;
        } else {
            p++;
        }
    }
    bool device_row = strchr(buf, '(') != NULL;
    if (device_row && nv == 7) {
        lp_set(&row.total, v[0]);
        lp_set(&row.free, v[1]);
        lp_set(&row.self, v[2]);
        lp_set(&row.model, v[3]);
        lp_set(&row.context, v[4]);
        lp_set(&row.compute, v[5]);
        lp_set(&row.unaccounted, v[6]);
    } else if (!device_row && nv == 4) {
        lp_set(&row.self, v[0]);
        lp_set(&row.model, v[1]);
        lp_set(&row.context, v[2]);
        lp_set(&row.compute, v[3]);
    } else {
        return;
    }
    r->breakdown[r->n_breakdown++] = row;
}

/* ---------------------------------------------------------------- perplexity */

/* Matches pattern against s where each single space of pattern stands for any run of blanks (or
 * none); returns the rest of s or NULL. */
static const char *match_loose(const char *s, const char *pat)
{
    while (*pat) {
        if (*pat == ' ') {
            s = ostel_logparse_skip_ws(s);
            pat++;
            continue;
        }
        if (*s != *pat)
            return NULL;
        s++;
        pat++;
    }
    return s;
}

/* "x ± y", "x _ y" (pasted), "x +/- y"; stores what is there. */
static void val_pm(struct lp_state *st, const char *p, struct ostel_logval *v,
                   struct ostel_logval *unc)
{
    const char *e = ostel_logparse_scan_val(st, p, v);
    if (!e || !unc)
        return;
    e = ostel_logparse_skip_ws(e);
    if (ostel_logparse_starts(e, "\xc2\xb1"))
        e += 2;
    else if (ostel_logparse_starts(e, "+/-"))
        e += 3;
    else if (*e == '_')
        e += 1;
    else
        return;
    ostel_logparse_scan_val(st, e, unc);
}

static bool perplexity_line(struct lp_state *st, const char *text)
{
    struct ostel_log_perplexity *x = &st->r->perplexity;
    const char *s = ostel_logparse_skip_ws(text);
    const char *p;
    if ((p = match_loose(s, "Final estimate: PPL ="))) {
        val_pm(st, p, &x->ppl, &x->ppl_stderr);
    } else if ((p = match_loose(s, "Mean PPL(Q) :"))) {
        val_pm(st, p, &x->mean_ppl_q, &x->mean_ppl_q_stderr);
    } else if ((p = match_loose(s, "Mean PPL(base) :"))) {
        val_pm(st, p, &x->mean_ppl_base, &x->mean_ppl_base_stderr);
    } else if ((p = match_loose(s, "Same top p:"))) {
        val_pm(st, p, &x->same_top_p_pct, &x->same_top_p_stderr);
    } else if ((p = match_loose(s, "Cor(ln(PPL(Q)), ln(PPL(base))):"))) {
        ostel_logparse_scan_val(st, p, &x->ppl_cor_pct);
    } else if ((p = match_loose(s, "Mean ln(PPL(Q)/PPL(base)) :"))) {
        val_pm(st, p, &x->ln_ppl_ratio, &x->ln_ppl_ratio_stderr);
    } else if ((p = match_loose(s, "Mean PPL(Q)/PPL(base) :"))) {
        val_pm(st, p, &x->ppl_ratio, &x->ppl_ratio_stderr);
    } else if ((p = match_loose(s, "Mean PPL(Q)-PPL(base) :"))) {
        val_pm(st, p, &x->ppl_diff, &x->ppl_diff_stderr);
    } else if ((p = match_loose(s, "Mean \xce\x94p:"))) {
        val_pm(st, p, &x->mean_dp_pct, &x->mean_dp_stderr);
    } else if ((p = match_loose(s, "RMS \xce\x94p :"))) {
        val_pm(st, p, &x->rms_dp_pct, &x->rms_dp_stderr);
    } else {
        static const struct {
            const char *pat;
            size_t off;
        } klds[] = {
            {"Maximum KLD:", offsetof(struct ostel_log_perplexity, kld_max)},
            {"99.9% KLD:", offsetof(struct ostel_log_perplexity, kld_p99_9)},
            {"99.0% KLD:", offsetof(struct ostel_log_perplexity, kld_p99)},
            {"95.0% KLD:", offsetof(struct ostel_log_perplexity, kld_p95)},
            {"90.0% KLD:", offsetof(struct ostel_log_perplexity, kld_p90)},
            {"Median KLD:", offsetof(struct ostel_log_perplexity, kld_median)},
            {"10.0% KLD:", offsetof(struct ostel_log_perplexity, kld_p10)},
            {"5.0% KLD:", offsetof(struct ostel_log_perplexity, kld_p5)},
            {"1.0% KLD:", offsetof(struct ostel_log_perplexity, kld_p1)},
            {"0.1% KLD:", offsetof(struct ostel_log_perplexity, kld_p0_1)},
            {"Minimum KLD:", offsetof(struct ostel_log_perplexity, kld_min)},
        };
        if ((p = match_loose(s, "Mean KLD:"))) {
            val_pm(st, p, &x->kld_mean, &x->kld_mean_stderr);
        } else {
            size_t i;
            for (i = 0; i < OSTEL_ARRAY_LEN(klds); i++) {
                if ((p = match_loose(s, klds[i].pat)))
                    break;
            }
            if (i == OSTEL_ARRAY_LEN(klds))
                return false;
            ostel_logparse_scan_val(st, p, (struct ostel_logval *)((char *)x + klds[i].off));
        }
    }
    st->r->has_perplexity = true;
    return true;
}

/* Tagged lines of llama-perplexity's perplexity() / kl_divergence(): chunk count, token counts and
 * the errors it prints (several of which it does not act on: it goes on, or exits 0). */
static bool perplexity_tag_line(struct lp_state *st, const char *tag, const char *body)
{
    if (strcmp(tag, "perplexity") != 0 && strcmp(tag, "kl_divergence") != 0 &&
        strcmp(tag, "perplexity_v2") != 0)
        return false;
    struct ostel_log_perplexity *x = &st->r->perplexity;
    const char *p;
    bool err = false;
    if ((p = strstr(body, "perplexity over ")) || (p = strstr(body, "computing over "))) {
        ostel_logparse_scan_val(st, strstr(p, "over ") + strlen("over "), &x->n_chunks);
    } else if ((p = strstr(body, "you need at least "))) {
        ostel_logparse_scan_val(st, p + strlen("you need at least "), &x->tokens_needed);
        err = true;
    } else if ((p = strstr(body, "tokenizes to only "))) {
        ostel_logparse_scan_val(st, p + strlen("tokenizes to only "), &x->tokens_have);
        err = true;
    } else if ((p = strstr(body, " seconds per pass"))) {
        ostel_logparse_scan_val(st, body, &x->seconds_per_pass);
    } else if (ostel_logparse_starts(body, "have ") && strstr(body, " tokens.")) {
        ostel_logparse_scan_val(st, body + strlen("have "), &x->tokens_have);
    } else if (strstr(body, "inconsistent vocabulary") || strstr(body, "does not look like") ||
               strstr(body, "has been computed with") || strstr(body, "failed ") ||
               strstr(body, "you must provide") || strstr(body, "not enough")) {
        err = true;
    } else {
        return false;
    }
    if (err && !x->error[0])
        snprintf(x->error, sizeof(x->error), "%s: %s", tag, body);
    st->r->has_perplexity = true;
    return true;
}

/* ---------------------------------------------------------------- dispatch */

static bool tag_is(const char *tag, const char *a)
{
    return strcmp(tag, a) == 0;
}

static bool is_context_tag(const char *tag)
{
    return tag_is(tag, "llama_context") || tag_is(tag, "llama_new_context_with_model") ||
           tag_is(tag, "llama_init_from_model");
}

static bool is_breakdown_tag(const char *tag)
{
    return tag_is(tag, "llama_memory_breakdown_print") ||
           tag_is(tag, "common_memory_breakdown_print");
}

/* llama-cpp-python prints llama_print_system_info() untagged: "Metal : EMBED_LIBRARY = 1 | CPU :
 * NEON = 1 | ...". */
static bool looks_like_system_info(const char *text)
{
    const char *c = strstr(text, " : ");
    return c && c - text < 24 && strstr(text, " = 1 |") != NULL;
}

/* Metal's "recommendedMaxWorkingSetSize = N MB", anywhere in a line. */
static void working_set_line(struct lp_state *st, const char *text)
{
    const char *rm = strstr(text, "recommendedMaxWorkingSetSize");
    if (rm && (rm = strchr(rm, '=')))
        ostel_logparse_scan_val(st, rm + 1, &st->r->recommended_max_working_set_mb);
}

/* A line without a "tag: " prefix: a server timing block's un-prefixed lines, perplexity's and the
 * CLI's speed, llama-cpp-python's system info, Metal's working set. */
static void untagged_line(struct lp_state *st, const char *text)
{
    struct ostel_log_result *r = st->r;
    if (st->server_block_lines > 0 &&
        timing_line(st, OSTEL_LOGPARSE_FORMAT_SERVER_TIMING, false, text))
        return;
    if (perplexity_line(st, text) || cli_speed_line(st, text))
        return;
    if (!r->system_info[0] && looks_like_system_info(text))
        copy_cstr(r->system_info, sizeof(r->system_info), text);
    working_set_line(st, text);
}

/* The timing blocks, by their tag; false when the tag is none of theirs. */
static bool timing_tag_line(struct lp_state *st, const char *tag, const char *body)
{
    if (tag_is(tag, "llama_print_timings")) {
        timing_line(st, OSTEL_LOGPARSE_FORMAT_PRINT_TIMINGS, false, body);
        return true;
    }
    if (tag_is(tag, "llama_perf_context_print")) {
        timing_line(st, OSTEL_LOGPARSE_FORMAT_PERF_CONTEXT, false, body);
        return true;
    }
    if (tag_is(tag, "common_perf_print")) {
        timing_line(st, OSTEL_LOGPARSE_FORMAT_COMMON_PERF, false, body);
        return true;
    }
    if (tag_is(tag, "llama_perf_sampler_print")) {
        timing_line(st, OSTEL_LOGPARSE_FORMAT_NONE, true, body);
        return true;
    }
    if (tag_is(tag, "print_timing")) {
        /* "slot print_timing: id 0 | task 0 |" alone: un-prefixed timing lines follow (2025) */
        if (!*body)
            st->server_block_lines = 6;
        else
            timing_line(st, OSTEL_LOGPARSE_FORMAT_SERVER_TIMING, false, body);
        return true;
    }
    if (tag_is(tag, "print_timings")) {
        timing_line(st, OSTEL_LOGPARSE_FORMAT_SERVER_KV, false, body);
        return true;
    }
    return false;
}

/* The model loader's lines: the start of a load, a vocabulary-only load. */
static bool model_load_tag_line(struct lp_state *st, const char *tag, const char *body)
{
    struct ostel_log_result *r = st->r;
    if (tag_is(tag, "llama_model_loader")) {
        if (ostel_logparse_starts(body, "loaded meta data"))
            model_load_start(st);
        return true;
    }
    if (tag_is(tag, "llama_model_load") && strstr(body, "vocab only")) {
        if (!r->model.vocab_only) {
            r->model.vocab_only = true;
            r->vocab_only_loads++;
        }
        return true;
    }
    return false;
}

/* The build: "build:" or "version:" lines, and common_init's or main's "build ..." (the old
 * server's "build info | ..." among them). */
static bool build_tag_line(struct lp_state *st, const char *tag, const char *body)
{
    struct ostel_log_result *r = st->r;
    if (tag_is(tag, "build") || tag_is(tag, "version")) {
        build_line(st, body);
        return true;
    }
    if (!((tag_is(tag, "common_init") || tag_is(tag, "main")) &&
          ostel_logparse_starts(body, "build ")))
        return false;
    const char *b = ostel_logparse_skip_ws(body + strlen("build"));
    if (ostel_logparse_starts(b, "info")) {
        /* old server: "build info | tid=... build=2700 commit="abcdef1"" */
        const char *n = strstr(b, " build=");
        const char *c = strstr(b, " commit=\"");
        if (!r->build[0] && n) {
            ostel_logparse_scan_val(st, n + strlen(" build="), &r->build_number);
            if (c) {
                c += strlen(" commit=\"");
                ostel_logparse_copy_trim(r->build_commit, sizeof(r->build_commit), c,
                                         strcspn(c, "\""));
            }
            snprintf(r->build, sizeof(r->build), "%.0f (%s)", r->build_number.value,
                     r->build_commit);
        }
        return true;
    }
    if (*b == '=')
        b = ostel_logparse_skip_ws(b + 1);
    build_line(st, b);
    return true;
}

/* "offloaded N/M layers to GPU"; false for any other line. */
static bool offload_line(struct lp_state *st, const char *body)
{
    struct ostel_log_result *r = st->r;
    const char *off = strstr(body, "offloaded ");
    if (!(off && strstr(off, "layers to GPU")))
        return false;
    struct ostel_logval a = {0}, b = {0};
    const char *e = ostel_logparse_scan_val(st, off + strlen("offloaded "), &a);
    if (e && *e == '/' && ostel_logparse_scan_val(st, e + 1, &b)) {
        r->offloaded_layers = a;
        r->offloadable_layers = b;
    }
    return true;
}

/* What no other tag took: the context's lines, Flash Attention's setting (any tag), Metal's working
 * set. */
static void context_rest_line(struct lp_state *st, const char *tag, const char *body)
{
    struct ostel_log_result *r = st->r;
    if (is_context_tag(tag)) {
        context_line(st, body);
        /* fall through: "Flash Attention was auto, set to enabled" is a llama_context line */
    }
    /* "Flash Attention was auto, set to enabled" (2025), "Flash Attention enabled" (pinned) */
    const char *fa = strstr(body, "Flash Attention ");
    if (fa) {
        const char *set = strstr(fa, "set to ");
        const char *v = set ? set + strlen("set to ") : fa + strlen("Flash Attention ");
        if (ostel_logparse_starts(v, "enabled") || ostel_logparse_starts(v, "disabled")) {
            copy_cstr(r->flash_attn, sizeof(r->flash_attn), v);
            return;
        }
    }
    working_set_line(st, body);
}

static void parse_line(struct lp_state *st, const char *text)
{
    struct ostel_log_result *r = st->r;
    if (st->server_block_lines > 0)
        st->server_block_lines--;
    if (ostel_logparse_bench_line(st, text))
        return;

    if (server_progress_line(st, text))
        return;

    char tag[64];
    const char *body;
    if (!split_tag(text, tag, sizeof(tag), &body)) {
        untagged_line(st, text);
        return;
    }
    if (timing_tag_line(st, tag, body))
        return;
    if (tag_is(tag, "print_info") || tag_is(tag, "llm_load_print_meta")) {
        model_line(st, body);
        return;
    }
    if (perplexity_tag_line(st, tag, body) || model_load_tag_line(st, tag, body))
        return;
    if (strstr(body, "using device ")) {
        device_line(st, body);
        return;
    }
    if (build_tag_line(st, tag, body))
        return;
    if (tag_is(tag, "system_info")) {
        copy_cstr(r->system_info, sizeof(r->system_info), body);
        return;
    }
    if (is_breakdown_tag(tag)) {
        breakdown_line(st, body);
        return;
    }
    if (offload_line(st, body) || buffer_line(st, tag, body))
        return;
    if ((strstr(tag, "kv_cache") || is_context_tag(tag)) && kv_line(st, body))
        return;
    context_rest_line(st, tag, body);
}

static void finish(struct lp_state *st)
{
    struct ostel_log_result *r = st->r;
    if ((!r->model.seen || r->model.vocab_only) && st->have_saved_model)
        r->model = st->saved_model;
    struct ostel_log_timings *t = &r->timings;
    if (t->truncated)
        return; /* a cut line's speed is unknown, not to be guessed */
    if (!t->prompt_tps.valid && t->prompt_ms.valid && t->prompt_ms.value > 0 &&
        t->prompt_tokens.valid) {
        lp_set(&t->prompt_tps, 1e3 * t->prompt_tokens.value / t->prompt_ms.value);
        t->prompt_tps_derived = true;
    }
    if (!t->gen_tps.valid && t->gen_ms.valid && t->gen_ms.value > 0 && t->gen_tokens.valid) {
        lp_set(&t->gen_tps, 1e3 * t->gen_tokens.value / t->gen_ms.value);
        t->gen_tps_derived = true;
    }
}

/* ---------------------------------------------------------------- public */

void ostel_logparse_result_init(struct ostel_log_result *r)
{
    memset(r, 0, sizeof(*r));
}

void ostel_logparse_result_free(struct ostel_log_result *r)
{
    free(r->bench);
    memset(r, 0, sizeof(*r));
}

int ostel_logparse_parse(const char *data, size_t len, struct ostel_log_result *r, char *err,
                         size_t err_size)
{
    if (!r || (!data && len > 0)) {
        if (err && err_size)
            snprintf(err, err_size, "logparse: no input");
        return OSTEL_ERR;
    }
    ostel_logparse_result_free(r);
    struct lp_state *st = ostel_xcalloc(1, sizeof(*st));
    st->r = r;
    ostel_buf_init(&st->json_obj, LP_JSON_OBJ_MAX);
    char *line = ostel_xmalloc(LP_LINE_MAX);
    struct ostel_str rest = ostel_str_make(data ? data : "", len);
    struct ostel_str raw;
    while (ostel_str_next_line(&rest, &raw)) {
        ostel_logparse_header_extra_line(raw, &r->header_extra);
        size_t n = clean_line(raw.p, raw.n, line, LP_LINE_MAX);
        if (n == 0)
            continue;
        const char *text = strip_prefixes(line);
        if (*text)
            parse_line(st, text);
    }
    finish(st);
    ostel_logparse_bench_state_free(st);
    ostel_buf_free(&st->json_obj);
    free(line);
    free(st);
    return OSTEL_OK;
}

const char *ostel_logparse_format_name(enum ostel_logparse_format f)
{
    switch (f) {
    case OSTEL_LOGPARSE_FORMAT_PRINT_TIMINGS:
        return "print_timings";
    case OSTEL_LOGPARSE_FORMAT_PERF_CONTEXT:
        return "perf_context";
    case OSTEL_LOGPARSE_FORMAT_COMMON_PERF:
        return "common_perf";
    case OSTEL_LOGPARSE_FORMAT_SERVER_TIMING:
        return "server_print_timing";
    case OSTEL_LOGPARSE_FORMAT_SERVER_KV:
        return "server_print_timings_kv";
    case OSTEL_LOGPARSE_FORMAT_CLI:
        return "cli";
    case OSTEL_LOGPARSE_FORMAT_NONE:
        break;
    }
    return NULL;
}

const char *ostel_logparse_buffer_kind_name(enum ostel_logparse_buffer_kind k)
{
    switch (k) {
    case OSTEL_LOGPARSE_BUF_MODEL:
        return "model";
    case OSTEL_LOGPARSE_BUF_KV:
        return "kv";
    case OSTEL_LOGPARSE_BUF_COMPUTE:
        return "compute";
    case OSTEL_LOGPARSE_BUF_OUTPUT:
        return "output";
    default:
        return "other";
    }
}

struct ostel_logval ostel_logparse_buffer_total(const struct ostel_log_result *r,
                                                enum ostel_logparse_buffer_kind k)
{
    struct ostel_logval v = {0};
    for (size_t i = 0; i < r->n_buffers; i++) {
        if (r->buffers[i].kind == k) {
            v.value += r->buffers[i].mib;
            v.valid = true;
        }
    }
    return v;
}

const char *ostel_logparse_platform(const struct ostel_log_result *r)
{
    static const struct {
        const char *needle;
        const char *name;
    } plats[] = {{"CUDA", "cuda"},     {"MTL", "metal"}, {"Metal", "metal"}, {"SYCL", "sycl"},
                 {"Vulkan", "vulkan"}, {"ROCm", "rocm"}, {"HIP", "rocm"},    {"CANN", "cann"},
                 {"OpenCL", "opencl"}, {"MUSA", "musa"}, {"RPC", "rpc"}};
    for (size_t p = 0; p < OSTEL_ARRAY_LEN(plats); p++) {
        for (size_t i = 0; i < r->n_buffers; i++)
            if (strstr(r->buffers[i].backend, plats[p].needle))
                return plats[p].name;
        for (size_t i = 0; i < r->n_devices; i++)
            if (strstr(r->devices[i].name, plats[p].needle))
                return plats[p].name;
        for (size_t i = 0; i < r->n_breakdown; i++)
            if (strstr(r->breakdown[i].device, plats[p].needle))
                return plats[p].name;
    }
    if (r->n_buffers > 0)
        return "cpu";
    return NULL;
}

/* ---------------------------------------------------------------- line classifier */

enum ostel_logparse_event ostel_logparse_classify_line(const char *line, size_t n)
{
    char buf[512];
    if (!line)
        return OSTEL_LOGPARSE_EVENT_NONE;
    clean_line(line, n, buf, sizeof(buf));
    const char *text = strip_prefixes(buf);
    char tag[64];
    const char *body;
    if (!split_tag(text, tag, sizeof(tag), &body))
        return OSTEL_LOGPARSE_EVENT_NONE;
    if (tag_is(tag, "llama_model_loader") && ostel_logparse_starts(body, "loaded meta data"))
        return OSTEL_LOGPARSE_EVENT_MODEL_LOAD_START;
    if (is_context_tag(tag)) {
        if (ostel_logparse_starts(body, "graph splits"))
            return OSTEL_LOGPARSE_EVENT_CONTEXT_CREATED;
        return OSTEL_LOGPARSE_EVENT_MODEL_LOAD_DONE;
    }
    if (tag_is(tag, "sched_reserve") && ostel_logparse_starts(body, "graph splits"))
        return OSTEL_LOGPARSE_EVENT_CONTEXT_CREATED;
    if (tag_is(tag, "generate") && ostel_logparse_starts(body, "n_ctx ="))
        return OSTEL_LOGPARSE_EVENT_PROMPT_START;
    if (tag_is(tag, "common_perf_print") || tag_is(tag, "llama_perf_context_print") ||
        tag_is(tag, "llama_perf_sampler_print") || tag_is(tag, "llama_print_timings"))
        return OSTEL_LOGPARSE_EVENT_PERF_START;
    if (is_breakdown_tag(tag) && ostel_logparse_starts(body, "| memory breakdown"))
        return OSTEL_LOGPARSE_EVENT_MEMORY_BREAKDOWN;
    return OSTEL_LOGPARSE_EVENT_NONE;
}

const char *ostel_logparse_event_name(enum ostel_logparse_event e)
{
    switch (e) {
    case OSTEL_LOGPARSE_EVENT_MODEL_LOAD_START:
        return "model_load_start";
    case OSTEL_LOGPARSE_EVENT_MODEL_LOAD_DONE:
        return "model_load_done";
    case OSTEL_LOGPARSE_EVENT_CONTEXT_CREATED:
        return "context_created";
    case OSTEL_LOGPARSE_EVENT_PROMPT_START:
        return "prompt_start";
    case OSTEL_LOGPARSE_EVENT_PERF_START:
        return "perf_start";
    case OSTEL_LOGPARSE_EVENT_MEMORY_BREAKDOWN:
        return "memory_breakdown";
    case OSTEL_LOGPARSE_EVENT_NONE:
        break;
    }
    return "none";
}
