/*
 * rundir_validate: one validator for a run directory's files (see rundir_validate.h).
 */
#include "rundir/rundir_validate.h"
#include "rundir/rundir_csv.h"
#include "rundir/rundir_metrics.h"

#include "util/arena.h"
#include "util/util.h"

#include <cJSON.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSON_ABS_MAX 1e18 /* bytes of a model file are 1e11; no field of a summary nears this */
#define CELL_ABS_MAX 1e15 /* metrics.csv's cells are MiB, percents, counts and epoch seconds */
#define DEFAULT_RAM_MIB (1024.0 * 1024.0) /* 1 TiB when the summary does not say */
#define RAM_FACTOR 1000.0

void ostel_rundir_facts_init(struct ostel_rundir_facts *f)
{
    f->ram_mib = NAN;
}

double ostel_rundir_ram_bound_mib(const struct ostel_rundir_facts *f)
{
    double ram = f && f->ram_mib > 0 ? f->ram_mib : DEFAULT_RAM_MIB;
    return ram * RAM_FACTOR;
}

void ostel_rundir_strip_bom(char *data, size_t *len)
{
    if (*len >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0) {
        memmove(data, data + 3, *len - 3 + 1); /* with the NUL after the data */
        *len -= 3;
    }
}

/* The 1-based line of offset off in data. */
static size_t line_of(const char *data, size_t off)
{
    size_t line = 1;
    for (size_t i = 0; i < off; i++)
        line += data[i] == '\n';
    return line;
}

static int refuse_nul(const char *data, size_t len, char *err, size_t err_size)
{
    const char *nul = memchr(data, '\0', len);
    if (!nul)
        return 0;
    snprintf(err, err_size, "line %zu: a NUL byte (a binary or corrupt file)",
             line_of(data, (size_t)(nul - data)));
    return OSTEL_ERR;
}

/* ---- summary.json ---- */

/* Keys whose number is a duration, never negative. unaccounted_ms is llama.cpp's remainder and may
 * be. */
static bool is_duration_key(const char *k)
{
    static const char *const keys[] = {"wall_s",      "duration_s", "ready_s",  "load_ms",
                                       "prompt_ms",   "gen_ms",     "total_ms", "sampling_ms",
                                       "samplers_ms", "interval_ms"};
    for (size_t i = 0; i < OSTEL_ARRAY_LEN(keys); i++)
        if (strcmp(k, keys[i]) == 0)
            return true;
    return false;
}

/* Keys of a resident-set size in MiB: rss_peak_mib, rss_mean_mib, rss_anon_peak_mib… */
static bool is_rss_key(const char *k)
{
    size_t n = strlen(k);
    return strncmp(k, "rss", 3) == 0 && n > 4 && strcmp(k + n - 4, "_mib") == 0;
}

/* The walk keeps the nodes from the root down; a value's path ("run.wall_s", "argv[3]") is only
 * written when it is refused (formatting it at every node was a quarter of a report's time). */
#define WALK_MAX_DEPTH 64

struct walk {
    const cJSON *stack[WALK_MAX_DEPTH + 2];
    double ram_bound;
    char *err;
    size_t err_size;
};

/* The path of stack[1..depth] as "a.b[2].c", cut to 255 bytes level by level. */
static void walk_path(const struct walk *w, size_t depth, char path[256])
{
    path[0] = '\0';
    for (size_t d = 1; d <= depth; d++) {
        const cJSON *parent = w->stack[d - 1], *c = w->stack[d];
        size_t at = strlen(path);
        if (cJSON_IsObject(parent)) {
            snprintf(path + at, 256 - at, "%s%s", at ? "." : "", c->string ? c->string : "");
        } else {
            size_t i = 0;
            for (const cJSON *k = parent->child; k && k != c; k = k->next)
                i++;
            snprintf(path + at, 256 - at, "[%zu]", i);
        }
    }
}

static int walk_json(struct walk *w, const cJSON *o, size_t depth)
{
    char path[256];
    w->stack[depth] = o;
    if (depth > WALK_MAX_DEPTH) {
        walk_path(w, depth, path);
        snprintf(w->err, w->err_size, "%s: nested too deeply", path);
        return OSTEL_ERR;
    }
    if (cJSON_IsNumber(o)) {
        double v = o->valuedouble;
        const char *key = o->string ? o->string : "";
        bool absurd = !isfinite(v) || fabs(v) > JSON_ABS_MAX;
        bool negative = !absurd && v < 0 && is_duration_key(key);
        bool rss = !absurd && !negative && (v < 0 || v > w->ram_bound) && is_rss_key(key);
        if (!absurd && !negative && !rss)
            return 0;
        walk_path(w, depth, path);
        if (absurd)
            snprintf(w->err, w->err_size, "%s: an absurd number (%g)", path, v);
        else if (negative)
            snprintf(w->err, w->err_size, "%s: a negative duration (%g)", path, v);
        else
            snprintf(w->err, w->err_size, "%s: an impossible resident size (%g MiB)", path, v);
        return OSTEL_ERR;
    }
    if (!cJSON_IsObject(o) && !cJSON_IsArray(o))
        return 0;
    for (const cJSON *c = o->child; c; c = c->next)
        if (walk_json(w, c, depth + 1) != 0)
            return OSTEL_ERR;
    return 0;
}

static double num_at(const cJSON *o, const char *a, const char *b)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(o, a), b);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

/*
 * cJSON allocates through one process-wide pair of hooks. These route it to the calling thread's
 * arena while ostel_rundir_parse_summary_arena parses (json_arena set), and to malloc and free
 * everywhere else: other threads, and this one before and after, allocate and free as they did. A
 * tree parsed into an arena is never freed node by node (the hook's free does nothing while the
 * arena is set: cJSON frees a half-built tree when the text is not JSON). The hooks are set once,
 * before the first such parse; cJSON has no per-call allocator.
 */
static _Thread_local struct ostel_arena *json_arena;

static void *json_alloc(size_t n)
{
    return json_arena ? ostel_arena_alloc(json_arena, n) : malloc(n);
}

static void json_dealloc(void *p)
{
    if (!json_arena)
        free(p);
}

static pthread_once_t json_hooks_once = PTHREAD_ONCE_INIT;

static void json_hooks_set(void)
{
    cJSON_Hooks h = {json_alloc, json_dealloc};
    cJSON_InitHooks(&h);
}

/*
 * A JSON parser for what ostel writes, into an arena: the tree cJSON_ParseWithLengthOpts(data, len,
 * NULL, false) builds (the same nodes, links, strings and numbers, valueint saturated as cJSON
 * does), or NULL to let cJSON decide. It takes JSON's own grammar only: a BOM, a number that is
 * not JSON's (01, 1., .5, +1) or longer than cJSON reads (63 bytes), a \u escape, a literal or
 * number run into other characters, or deep nesting make it give up, never accept what cJSON
 * would refuse. cJSON's parse was most of a report's time: a node and a string malloc'd each,
 * strtod and localeconv for every number.
 */
/* Exact powers of ten: a decimal of at most 15 digits divided by one is strtod's value. */
static const double pow10_tab[] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                   1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};

#define FAST_JSON_DEPTH_MAX 128

struct fast_json {
    const char *p, *e;
    struct ostel_arena *a;
    int depth;
};

static cJSON *fj_node(struct fast_json *j)
{
    cJSON *n = ostel_arena_alloc(j->a, sizeof(*n));
    memset(n, 0, sizeof(*n));
    return n;
}

static void fj_ws(struct fast_json *j)
{
    while (j->p < j->e && (unsigned char)*j->p <= 32) /* cJSON's whitespace */
        j->p++;
}

/* The string whose opening quote is at j->p, in the arena; NULL to give up. */
static char *fj_string(struct fast_json *j)
{
    const char *s = j->p + 1;
    const char *q = memchr(s, '"', (size_t)(j->e - s));
    if (!q)
        return NULL;
    const char *bs = memchr(s, '\\', (size_t)(q - s));
    if (!bs) {
        char *out = ostel_arena_alloc(j->a, (size_t)(q - s) + 1);
        memcpy(out, s, (size_t)(q - s));
        out[q - s] = '\0';
        j->p = q + 1;
        return out;
    }
    /* with escapes: the closing quote is the first one not escaped */
    for (q = s; q < j->e && *q != '"'; q++)
        if (*q == '\\' && ++q == j->e)
            return NULL;
    if (q >= j->e)
        return NULL;
    char *out = ostel_arena_alloc(j->a, (size_t)(q - s) + 1), *w = out;
    for (const char *c = s; c < q; c++) {
        if (*c != '\\') {
            *w++ = *c;
            continue;
        }
        switch (*++c) {
        case 'b':
            *w++ = '\b';
            break;
        case 'f':
            *w++ = '\f';
            break;
        case 'n':
            *w++ = '\n';
            break;
        case 'r':
            *w++ = '\r';
            break;
        case 't':
            *w++ = '\t';
            break;
        case '"':
        case '\\':
        case '/':
            *w++ = *c;
            break;
        default: /* \u (surrogates, \u0000) and bad escapes: cJSON's call */
            return NULL;
        }
    }
    *w = '\0';
    j->p = q + 1;
    return out;
}

static bool fj_digit(const struct fast_json *j, const char *q)
{
    return q < j->e && *q >= '0' && *q <= '9';
}

/* A number as JSON writes it, into n; false to give up. */
static bool fj_number(struct fast_json *j, cJSON *n)
{
    const char *s = j->p, *q = s;
    bool neg = q < j->e && *q == '-', expo = false;
    q += neg;
    if (!fj_digit(j, q))
        return false;
    uint64_t m = 0;
    size_t digits = 0, frac = 0;
    if (*q == '0') {
        q++, digits++;
    } else {
        for (; fj_digit(j, q); q++, digits++)
            m = m * 10 + (uint64_t)(*q - '0');
    }
    if (q < j->e && *q == '.') {
        if (!fj_digit(j, ++q))
            return false;
        for (; fj_digit(j, q); q++, digits++, frac++)
            m = m * 10 + (uint64_t)(*q - '0');
    }
    if (q < j->e && (*q == 'e' || *q == 'E')) {
        expo = true;
        q++;
        if (q < j->e && (*q == '+' || *q == '-'))
            q++;
        if (!fj_digit(j, q))
            return false;
        while (fj_digit(j, q))
            q++;
    }
    /* cJSON reads every one of these characters into the number (at most 63), then strtod */
    if ((q < j->e && *q && strchr("0123456789+-eE.", *q)) || q - s > 63)
        return false;
    double v;
    if (!expo && digits <= 15) { /* exact: as the scanner's fast path */
        double x = frac ? (double)m / pow10_tab[frac] : (double)m;
        v = neg ? -x : x;
    } else {
        char tmp[64], *end;
        memcpy(tmp, s, (size_t)(q - s));
        tmp[q - s] = '\0';
        v = strtod(tmp, &end);
        if (end != tmp + (q - s))
            return false;
    }
    n->type = cJSON_Number;
    n->valuedouble = v;
    n->valueint = v >= INT_MAX ? INT_MAX : v <= (double)INT_MIN ? INT_MIN : (int)v;
    j->p = q;
    return true;
}

static bool fj_value(struct fast_json *j, cJSON *n);

/* An array or object at j->p (its bracket) into n; false to give up. */
static bool fj_container(struct fast_json *j, cJSON *n, bool object)
{
    if (++j->depth > FAST_JSON_DEPTH_MAX)
        return false;
    char close = object ? '}' : ']';
    j->p++;
    fj_ws(j);
    cJSON *head = NULL, *tail = NULL;
    if (j->p < j->e && *j->p == close) {
        j->p++;
    } else {
        for (;;) {
            cJSON *c = fj_node(j);
            if (object) {
                if (j->p >= j->e || *j->p != '"' || !(c->string = fj_string(j)))
                    return false;
                fj_ws(j);
                if (j->p >= j->e || *j->p != ':')
                    return false;
                j->p++;
                fj_ws(j);
            }
            if (!fj_value(j, c))
                return false;
            if (head) {
                tail->next = c;
                c->prev = tail;
            } else {
                head = c;
            }
            tail = c;
            fj_ws(j);
            if (j->p < j->e && *j->p == ',') {
                j->p++;
                fj_ws(j);
                continue;
            }
            if (j->p < j->e && *j->p == close) {
                j->p++;
                break;
            }
            return false;
        }
        head->prev = tail; /* cJSON's head points back to its last child */
    }
    j->depth--;
    n->type = object ? cJSON_Object : cJSON_Array;
    n->child = head;
    return true;
}

/* The value at j->p (no whitespace before it) into n; false to give up. */
static bool fj_value(struct fast_json *j, cJSON *n)
{
    size_t left = (size_t)(j->e - j->p);
    if (left == 0)
        return false;
    switch (*j->p) {
    case '"':
        n->type = cJSON_String;
        return (n->valuestring = fj_string(j)) != NULL;
    case '{':
        return fj_container(j, n, true);
    case '[':
        return fj_container(j, n, false);
    case 'n':
        if (left < 4 || memcmp(j->p, "null", 4) != 0)
            return false;
        n->type = cJSON_NULL;
        j->p += 4;
        return true;
    case 't':
        if (left < 4 || memcmp(j->p, "true", 4) != 0)
            return false;
        n->type = cJSON_True;
        n->valueint = 1;
        j->p += 4;
        return true;
    case 'f':
        if (left < 5 || memcmp(j->p, "false", 5) != 0)
            return false;
        n->type = cJSON_False;
        j->p += 5;
        return true;
    default:
        return fj_number(j, n);
    }
}

cJSON *ostel_rundir_json_parse_fast(const char *data, size_t len, struct ostel_arena *arena)
{
    if (len >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0)
        return NULL; /* cJSON skips one */
    struct fast_json j = {data, data + len, arena, 0};
    fj_ws(&j);
    cJSON *root = fj_node(&j);
    return fj_value(&j, root) ? root : NULL;
}

/* The validation of both entry points; with an arena, the tree's memory is the arena's. */
static int parse_summary(char *data, size_t *len, struct ostel_rundir_facts *facts,
                         struct ostel_arena *arena, cJSON **out, char *err, size_t err_size)
{
    *out = NULL;
    ostel_rundir_strip_bom(data, len);
    if (refuse_nul(data, *len, err, err_size) != 0)
        return OSTEL_ERR;
    const char *end = NULL;
    cJSON *root;
    if (arena && (root = ostel_rundir_json_parse_fast(data, *len, arena)) != NULL) {
        /* the fast parser's tree: cJSON's */
    } else if (arena) {
        json_arena = arena;
        root = cJSON_ParseWithLengthOpts(data, *len, &end, false);
        json_arena = NULL;
    } else {
        root = cJSON_ParseWithLengthOpts(data, *len, &end, false);
    }
    if (!root) {
        size_t off = end && end >= data && end <= data + *len ? (size_t)(end - data) : 0;
        snprintf(err, err_size, "not valid JSON (line %zu)", line_of(data, off));
        return OSTEL_ERR;
    }
    int rc = OSTEL_ERR;
    const cJSON *schema = cJSON_GetObjectItemCaseSensitive(root, "schema");
    const cJSON *ver = cJSON_GetObjectItemCaseSensitive(root, "schema_version");
    const cJSON *run = cJSON_GetObjectItemCaseSensitive(root, "run");
    if (!cJSON_IsObject(root) || !cJSON_IsString(schema) ||
        strcmp(schema->valuestring, "ostel.summary") != 0) {
        snprintf(err, err_size, "not an ostel summary (no \"schema\": \"ostel.summary\")");
        goto out;
    }
    if (!cJSON_IsNumber(ver) || ver->valuedouble != 1) {
        snprintf(err, err_size, "unsupported schema_version (this ostel reads version 1)");
        goto out;
    }
    const cJSON *status = cJSON_GetObjectItemCaseSensitive(run, "status");
    if (!cJSON_IsObject(run) || !cJSON_IsString(status) || !status->valuestring[0]) {
        snprintf(err, err_size, "no \"run\" object with a \"status\"");
        goto out;
    }
    struct ostel_rundir_facts f;
    ostel_rundir_facts_init(&f);
    double ram = num_at(root, "host", "ram_mib");
    if (isfinite(ram) && ram > 0 && ram <= JSON_ABS_MAX)
        f.ram_mib = ram;
    struct walk w = {.ram_bound = ostel_rundir_ram_bound_mib(&f), .err = err, .err_size = err_size};
    if (walk_json(&w, root, 0) != 0)
        goto out;
    double t0 = num_at(root, "run", "start_ts"), t1 = num_at(root, "run", "end_ts");
    if (isfinite(t0) && isfinite(t1) && t1 < t0) {
        snprintf(err, err_size, "run.end_ts: before run.start_ts (a negative duration of %g s)",
                 t1 - t0);
        goto out;
    }
    if (facts)
        *facts = f;
    rc = 0;
out:
    if (rc == 0)
        *out = root;
    else if (!arena)
        cJSON_Delete(root);
    return rc;
}

int ostel_rundir_parse_summary(char *data, size_t *len, struct ostel_rundir_facts *facts,
                               cJSON **out, char *err, size_t err_size)
{
    return parse_summary(data, len, facts, NULL, out, err, err_size);
}

int ostel_rundir_parse_summary_arena(char *data, size_t *len, struct ostel_rundir_facts *facts,
                                     struct ostel_arena *arena, cJSON **out, char *err,
                                     size_t err_size)
{
    pthread_once(&json_hooks_once, json_hooks_set);
    return parse_summary(data, len, facts, arena, out, err, err_size);
}

int ostel_rundir_validate_summary(char *data, size_t *len, struct ostel_rundir_facts *facts,
                                  char *err, size_t err_size)
{
    cJSON *root;
    int rc = ostel_rundir_parse_summary(data, len, facts, &root, err, err_size);
    cJSON_Delete(root);
    return rc;
}

/* ---- metrics.csv ---- */

enum cell_rule { RULE_EXTRA, RULE_NUMBER, RULE_TS, RULE_MEM, RULE_NONNEG, RULE_PHASE };

/* The column table's rule for a header name (rundir_metrics.h); a column it does not know is
 * text. */
static enum cell_rule rule_of(struct ostel_str name)
{
    int c = ostel_metrics_col_find(name);
    if (c < 0)
        return RULE_EXTRA;
    switch (ostel_metrics_col((enum ostel_metric_col)c)->rule) {
    case OSTEL_METRICS_RULE_TS:
        return RULE_TS;
    case OSTEL_METRICS_RULE_MEM:
        return RULE_MEM;
    case OSTEL_METRICS_RULE_NONNEG:
        return RULE_NONNEG;
    case OSTEL_METRICS_RULE_PHASE:
        return RULE_PHASE;
    case OSTEL_METRICS_RULE_NUMBER:
        break;
    }
    return RULE_NUMBER;
}

/* A decimal number as ostel writes them ("-12.345", at most 15 digits) without strtod, else strtod
 * on a copy. False when it is not a number or not finite. */
static bool cell_number(struct ostel_str s, double *out)
{
    return ostel_rundir_csv_number_within(s, 64, out);
}

/* "" or a phase name of the table's (rundir_metrics.h) */
static bool known_phase(struct ostel_str s)
{
    return s.n == 0 || ostel_metrics_phase_from_name(s) != OSTEL_PHASE_NONE;
}

/* At most 40 bytes of a cell for a message, control bytes replaced. */
static const char *show(struct ostel_str s, char out[48])
{
    size_t n = s.n > 40 ? 40 : s.n;
    for (size_t i = 0; i < n; i++)
        out[i] = (unsigned char)s.p[i] < 0x20 ? '?' : s.p[i];
    strcpy(out + n, s.n > 40 ? "..." : "");
    return out;
}

#define MAX_COLS OSTEL_METRICS_MAX_COLS

int ostel_rundir_validate_metrics(char *data, size_t *len, const struct ostel_rundir_facts *facts,
                                  char *err, size_t err_size)
{
    return ostel_rundir_scan_metrics(data, len, facts, NULL, err, err_size);
}

int ostel_rundir_scan_metrics(char *data, size_t *len, const struct ostel_rundir_facts *facts,
                              const struct ostel_rundir_metrics_sink *sink, char *err,
                              size_t err_size)
{
    ostel_rundir_strip_bom(data, len);
    return ostel_rundir_scan_metrics_text(data, *len, facts, sink, err, err_size);
}

int ostel_rundir_metrics_scan_init(struct ostel_rundir_metrics_scan *sc, const char *data,
                                   size_t len, const struct ostel_rundir_facts *facts, char *err,
                                   size_t err_size)
{
    sc->ncols = 0;
    sc->lineno = 1;
    sc->rest = ostel_str_make(data, 0);
    if (len >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0) { /* a spreadsheet's BOM */
        data += 3;
        len -= 3;
    }
    if (refuse_nul(data, len, err, err_size) != 0)
        return OSTEL_ERR;
    struct ostel_str rest = ostel_str_make(data, len), line;
    if (!ostel_str_next_line(&rest, &line) || line.n == 0) {
        snprintf(err, err_size, "line 1: no header");
        return OSTEL_ERR;
    }
    size_t ncols = 0;
    bool have_ts = false;
    char shown[48];
    struct ostel_str hl = line;
    for (;;) {
        const char *comma = memchr(hl.p, ',', hl.n);
        struct ostel_str cell = ostel_str_make(hl.p, comma ? (size_t)(comma - hl.p) : hl.n);
        if (ncols == MAX_COLS) {
            snprintf(err, err_size, "line 1: more than %d columns", MAX_COLS);
            return OSTEL_ERR;
        }
        if (cell.n == 0 || cell.n > 64 || memchr(cell.p, '"', cell.n)) {
            snprintf(err, err_size, "line 1: bad column name '%s'", show(cell, shown));
            return OSTEL_ERR;
        }
        for (size_t k = 0; k < ncols; k++)
            if (cell.n == sc->header[k].n && memcmp(cell.p, sc->header[k].p, cell.n) == 0) {
                snprintf(err, err_size, "line 1: column '%s' appears twice", show(cell, shown));
                return OSTEL_ERR;
            }
        sc->header[ncols] = cell;
        enum cell_rule r = rule_of(cell);
        sc->rule[ncols] = (unsigned char)r;
        have_ts |= r == RULE_TS;
        ncols++;
        if (!comma)
            break;
        hl.n -= (size_t)(comma - hl.p) + 1;
        hl.p = comma + 1;
    }
    if (!have_ts) {
        snprintf(err, err_size, "line 1: no 'ts' column (not a metrics.csv header)");
        return OSTEL_ERR;
    }
    sc->ncols = ncols;
    sc->rest = rest;
    sc->phase_seen = ostel_str_make(data, 0); /* "" is a known phase */
    sc->mem_max = ostel_rundir_ram_bound_mib(facts);
    return 0;
}

/* The header's name of column i for a message (at most 23 bytes). */
static const char *col_shown(const struct ostel_rundir_metrics_scan *sc, size_t i, char out[24])
{
    snprintf(out, 24, "%.*s", (int)(sc->header[i].n < 23 ? sc->header[i].n : 23), sc->header[i].p);
    return out;
}

int ostel_rundir_metrics_scan_next(struct ostel_rundir_metrics_scan *sc, char *err, size_t err_size)
{
    struct ostel_str line;
    char shown[48], name[24];
    const size_t ncols = sc->ncols;
    const unsigned char *rules = sc->rule;
    for (;;) {
        if (!ostel_str_next_line(&sc->rest, &line))
            return 0;
        sc->lineno++;
        if (line.n > 0)
            break;
    }
    const size_t lineno = sc->lineno;
    size_t i = 0;
    const char *p = line.p, *e = line.p + line.n;
    for (;; i++) {
        if (i == ncols) {
            snprintf(err, err_size, "line %zu: more cells than the header's %zu", lineno, ncols);
            return OSTEL_ERR;
        }
        enum cell_rule r = (enum cell_rule)rules[i];
        double v = NAN;
        /* A number column's cell is parsed as it is scanned: "-12.345" (at most 15 digits, the
         * fast path of cell_number, same value) up to its comma; anything else is cut at its
         * comma and goes through cell_number. */
        const char *q = p;
        bool fast = false, below_zero = false; /* below_zero: v < 0 */
        if (r != RULE_EXTRA && r != RULE_PHASE) {
            bool neg = false, dot = false;
            size_t digits = 0, frac = 0;
            uint64_t m = 0;
            if (q < e && (*q == '-' || *q == '+'))
                neg = *q++ == '-';
            for (; q < e; q++) {
                unsigned d = (unsigned)(unsigned char)*q - '0';
                if (d < 10) {
                    m = m * 10 + d;
                    digits++;
                    frac += dot;
                } else if (*q == '.' && !dot) {
                    dot = true;
                } else {
                    break;
                }
            }
            if ((q == e || *q == ',') && digits > 0 && digits <= 15) {
                /* an integer needs no division (a third of the cells; the division was most of
                 * this loop's time) */
                double x = frac ? (double)m / pow10_tab[frac] : (double)m;
                v = neg ? -x : x;
                fast = true;
                below_zero = neg && m != 0; /* v < 0, known without waiting for the division */
            }
        }
        while (q < e && *q != ',')
            q++;
        struct ostel_str cell = ostel_str_make(p, (size_t)(q - p));
        if (r == RULE_TS && cell.n == 0) {
            snprintf(err, err_size, "line %zu: empty 'ts'", lineno);
            return OSTEL_ERR;
        }
        if (r == RULE_PHASE &&
            !(cell.n == sc->phase_seen.n && memcmp(cell.p, sc->phase_seen.p, cell.n) == 0) &&
            !known_phase(cell)) {
            snprintf(err, err_size, "line %zu: unknown phase '%s'", lineno, show(cell, shown));
            return OSTEL_ERR;
        }
        if (r == RULE_EXTRA && (cell.n > 256 || memchr(cell.p, '"', cell.n))) {
            snprintf(err, err_size, "line %zu: bad cell in column %s: '%s'", lineno,
                     col_shown(sc, i, name), show(cell, shown));
            return OSTEL_ERR;
        }
        if (r == RULE_PHASE)
            sc->phase_seen = cell; /* the next row's phase is most often the same: one memcmp */
        /* the fast path's number has at most 15 digits: neither absurd (< 1e15) nor too small
         * (>= 1e-15 unless 0); any other goes through cell_number and the range check */
        bool number = fast;
        if (!fast && r != RULE_EXTRA && r != RULE_PHASE && cell.n > 0) {
            if (!cell_number(cell, &v)) {
                snprintf(err, err_size, "line %zu: column %s is not a number: '%s'", lineno,
                         col_shown(sc, i, name), show(cell, shown));
                return OSTEL_ERR;
            }
            if (fabs(v) > CELL_ABS_MAX || (v != 0 && fabs(v) < 1e-300)) {
                snprintf(err, err_size, "line %zu: column %s is out of range: '%s'", lineno,
                         col_shown(sc, i, name), show(cell, shown));
                return OSTEL_ERR;
            }
            number = true;
            below_zero = v < 0;
        }
        if (number && (r == RULE_TS || r == RULE_NONNEG || r == RULE_MEM) && below_zero) {
            snprintf(err, err_size, "line %zu: column %s is negative: '%s'", lineno,
                     col_shown(sc, i, name), show(cell, shown));
            return OSTEL_ERR;
        }
        if (number && r == RULE_MEM && v > sc->mem_max) {
            snprintf(err, err_size,
                     "line %zu: column %s is beyond any machine's memory (%g MiB > %g)", lineno,
                     col_shown(sc, i, name), v, sc->mem_max);
            return OSTEL_ERR;
        }
        sc->cells[i] = cell;
        sc->vals[i] = v;
        if (q == e)
            break;
        p = q + 1;
    }
    i++;
    if (i != ncols) {
        snprintf(err, err_size, "line %zu: %zu cells but the header has %zu", lineno, i, ncols);
        return OSTEL_ERR;
    }
    return 1;
}

int ostel_rundir_scan_metrics_text(const char *data, size_t len,
                                   const struct ostel_rundir_facts *facts,
                                   const struct ostel_rundir_metrics_sink *sink, char *err,
                                   size_t err_size)
{
    struct ostel_rundir_metrics_scan *sc = ostel_xmalloc(sizeof(*sc));
    int rc = ostel_rundir_metrics_scan_init(sc, data, len, facts, err, err_size);
    bool want_rows = rc == 0 && sink && sink->header(sink->ctx, sc->header, sc->ncols);
    while (rc == 0) {
        int k = ostel_rundir_metrics_scan_next(sc, err, err_size);
        if (k <= 0) {
            rc = k;
            break;
        }
        if (want_rows)
            sink->row(sink->ctx, sc->cells, sc->vals, sc->ncols);
    }
    free(sc);
    return rc;
}

/* ---- config.txt ---- */

int ostel_rundir_validate_config(char *data, size_t *len, char *err, size_t err_size)
{
    ostel_rundir_strip_bom(data, len);
    if (refuse_nul(data, *len, err, err_size) != 0)
        return OSTEL_ERR;
    struct ostel_str rest = ostel_str_make(data, *len), line;
    size_t lineno = 0;
    while (ostel_str_next_line(&rest, &line)) {
        lineno++;
        if (ostel_str_trim(line).n == 0)
            continue;
        long eq = ostel_str_find(line, "=");
        if (eq <= 0) {
            snprintf(err, err_size, "line %zu: not a key=value line", lineno);
            return OSTEL_ERR;
        }
        for (long i = 0; i < eq; i++) {
            char c = line.p[i];
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '.' || c == '-')) {
                snprintf(err, err_size, "line %zu: bad key", lineno);
                return OSTEL_ERR;
            }
        }
    }
    return 0;
}
