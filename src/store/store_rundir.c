/*
 * store_rundir: validating readers of metrics.csv, config.txt and summary.json (see
 * store_rundir.h). Pure: no printing, no I/O, no SQL.
 */
#include "store/store_rundir.h"
#include "rundir/rundir_validate.h"
#include "util/fnv.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const metric_names[OSTEL_STORE_METRIC_COUNT] = {
    "ts",
    "rss_mb",
    "cpu_pct",
    "vm_pressure_flag",
    "avail_mem_level",
    "pageins_delta",
    "pageouts_delta",
    "rss_anon_mb",
    "rss_file_mb",
    "swap_mb",
    "minflt_delta",
    "majflt_delta",
    "threads",
    "sys_avail_mb",
    "swapin_delta",
    "swapout_delta",
    "psi_some_pct",
    "psi_full_pct",
};

static const char *const phase_names[] = {"", "load", "prompt", "generate", "teardown"};

#define COL_PHASE (-1)
#define COL_EXTRA (-2)

const char *ostel_store_metric_name(int metric)
{
    OSTEL_ASSERT(metric >= 0 && metric < OSTEL_STORE_METRIC_COUNT);
    return metric_names[metric];
}

const char *ostel_store_phase_name(int phase)
{
    if (phase < 0 || phase >= (int)OSTEL_ARRAY_LEN(phase_names))
        return "";
    return phase_names[phase];
}

/* Next comma-separated cell of a line; false when the line is exhausted. */
static bool next_cell(struct ostel_str *line, bool *done, struct ostel_str *cell)
{
    if (*done)
        return false;
    const char *comma = memchr(line->p, ',', line->n);
    if (!comma) {
        *cell = *line;
        *done = true;
        return true;
    }
    *cell = ostel_str_make(line->p, (size_t)(comma - line->p));
    line->n -= (size_t)(comma - line->p) + 1;
    line->p = comma + 1;
    return true;
}

/* Copies at most 40 bytes of a cell into out for an error message, replacing control bytes. */
static const char *show(struct ostel_str s, char out[48])
{
    size_t n = s.n > 40 ? 40 : s.n;
    for (size_t i = 0; i < n; i++)
        out[i] = (unsigned char)s.p[i] < 0x20 ? '?' : s.p[i];
    strcpy(out + n, s.n > 40 ? "..." : "");
    return out;
}

/*
 * The common cell ("-12.345": at most 15 significant digits, no exponent) without strtod: an exact
 * integer mantissa divided by an exact power of ten is correctly rounded (Clinger's fast path), so
 * the result is the same double strtod gives. Anything else takes the strtod path.
 */
static bool parse_simple(struct ostel_str s, double *out)
{
    static const double pow10[] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                   1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};
    size_t i = 0, digits = 0, frac = 0;
    bool neg = false, dot = false;
    uint64_t m = 0;
    if (s.n && (s.p[0] == '-' || s.p[0] == '+'))
        neg = s.p[i++] == '-';
    for (; i < s.n; i++) {
        char c = s.p[i];
        if (c == '.' && !dot) {
            dot = true;
            continue;
        }
        if (c < '0' || c > '9' || ++digits > 15)
            return false;
        m = m * 10 + (uint64_t)(c - '0');
        frac += dot;
    }
    if (digits == 0)
        return false;
    double v = (double)m / pow10[frac];
    *out = neg ? -v : v;
    return true;
}

static bool parse_number(struct ostel_str s, double *out)
{
    if (parse_simple(s, out))
        return true;
    char tmp[64];
    if (s.n == 0 || s.n >= sizeof(tmp))
        return false;
    memcpy(tmp, s.p, s.n);
    tmp[s.n] = '\0';
    char *end;
    double v = strtod(tmp, &end);
    if (*end || !isfinite(v) || tmp[0] == ' ')
        return false;
    *out = v;
    return true;
}

int ostel_store_metrics_reader_init(struct ostel_store_metrics_reader *r, const char *text,
                                    size_t len, char *err, size_t err_size)
{
    memset(r, 0, sizeof(*r));
    r->rest = ostel_str_make(text, len);
    struct ostel_str line;
    if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0) /* a spreadsheet's BOM */
        r->rest = ostel_str_make(text + 3, len - 3);
    if (!ostel_str_next_line(&r->rest, &line) || line.n == 0) {
        snprintf(err, err_size, "line 1: no header");
        return OSTEL_ERR;
    }
    r->line = 1;
    bool done = false, have_ts = false;
    struct ostel_str cell;
    char shown[48];
    while (next_cell(&line, &done, &cell)) {
        if (r->ncols == OSTEL_STORE_MAX_COLUMNS) {
            snprintf(err, err_size, "line 1: more than %d columns", OSTEL_STORE_MAX_COLUMNS);
            goto fail;
        }
        if (cell.n == 0 || cell.n > 64 || memchr(cell.p, '"', cell.n)) {
            snprintf(err, err_size, "line 1: bad column name '%s'", show(cell, shown));
            goto fail;
        }
        for (size_t i = 0; i < r->ncols; i++) {
            if (ostel_str_eq(cell, r->col_names[i])) {
                snprintf(err, err_size, "line 1: column '%s' appears twice", r->col_names[i]);
                goto fail;
            }
        }
        int map = COL_EXTRA;
        if (ostel_str_eq(cell, "phase"))
            map = COL_PHASE;
        for (int m = 0; m < OSTEL_STORE_METRIC_COUNT; m++)
            if (ostel_str_eq(cell, metric_names[m]))
                map = m;
        if (map == OSTEL_STORE_METRIC_TS)
            have_ts = true;
        r->col_map[r->ncols] = map;
        r->col_names[r->ncols] = ostel_xstrndup(cell.p, cell.n);
        r->ncols++;
    }
    if (!have_ts) {
        snprintf(err, err_size, "line 1: no 'ts' column");
        goto fail;
    }
    return OSTEL_OK;
fail:
    ostel_store_metrics_reader_free(r);
    return OSTEL_ERR;
}

/* Appends s as a JSON string exactly as cJSON_PrintUnformatted writes one (", \\ and bytes below
 * 0x20 escaped, the rest as they are). */
static void json_string(struct ostel_buf *b, const char *s, size_t n)
{
    ostel_buf_putc(b, '"');
    for (size_t i = 0; i < n; i++) {
        size_t run = i;
        while (run < n && (unsigned char)s[run] > 31 && s[run] != '"' && s[run] != '\\')
            run++;
        if (run > i) { /* the plain bytes up to the next one to escape, at once */
            ostel_buf_append(b, s + i, run - i);
            i = run - 1;
            continue;
        }
        unsigned char c = (unsigned char)s[i];
        ostel_buf_putc(b, '\\');
        switch (c) {
        case '\\':
            ostel_buf_putc(b, '\\');
            break;
        case '"':
            ostel_buf_putc(b, '"');
            break;
        case '\b':
            ostel_buf_putc(b, 'b');
            break;
        case '\f':
            ostel_buf_putc(b, 'f');
            break;
        case '\n':
            ostel_buf_putc(b, 'n');
            break;
        case '\r':
            ostel_buf_putc(b, 'r');
            break;
        case '\t':
            ostel_buf_putc(b, 't');
            break;
        default:
            ostel_buf_printf(b, "u%04x", c);
            break;
        }
    }
    ostel_buf_putc(b, '"');
}

int ostel_store_metrics_reader_next(struct ostel_store_metrics_reader *r,
                                    struct ostel_store_sample *out, char *err, size_t err_size)
{
    struct ostel_str line;
    char shown[48];
    for (;;) {
        if (!ostel_str_next_line(&r->rest, &line))
            return 0;
        r->line++;
        if (line.n > 0)
            break;
    }
    memset(out, 0, sizeof(*out));
    /* the extra cells as one JSON object, written directly (a cJSON tree per row was a sixth of
     * an import) */
    if (!r->extra_buf.data)
        ostel_buf_init(&r->extra_buf, 0);
    struct ostel_buf *extra = &r->extra_buf;
    extra->len = 0;
    bool done = false;
    struct ostel_str cell;
    size_t i = 0;
    while (next_cell(&line, &done, &cell)) {
        if (i == r->ncols) {
            snprintf(err, err_size, "line %zu: more cells than the header's %zu", r->line,
                     r->ncols);
            goto fail;
        }
        int map = r->col_map[i];
        if (map >= 0) {
            if (cell.n > 0) {
                if (!parse_number(cell, &out->v[map])) {
                    snprintf(err, err_size, "line %zu: cell '%s' is not a number: '%s'", r->line,
                             r->col_names[i], show(cell, shown));
                    goto fail;
                }
                out->valid |= 1u << map;
            }
        } else if (map == COL_PHASE) {
            int ph = -1;
            for (int p = 0; p < (int)OSTEL_ARRAY_LEN(phase_names); p++)
                if (ostel_str_eq(cell, phase_names[p]))
                    ph = p;
            if (ph < 0) {
                snprintf(err, err_size, "line %zu: unknown phase '%s'", r->line, show(cell, shown));
                goto fail;
            }
            out->phase = ph;
        } else if (cell.n > 0) {
            if (cell.n > 256 || memchr(cell.p, '"', cell.n) || memchr(cell.p, '\0', cell.n)) {
                snprintf(err, err_size, "line %zu: bad cell '%s': '%s'", r->line, r->col_names[i],
                         show(cell, shown));
                goto fail;
            }
            ostel_buf_putc(extra, extra->len ? ',' : '{');
            json_string(extra, r->col_names[i], strlen(r->col_names[i]));
            ostel_buf_putc(extra, ':');
            json_string(extra, cell.p, cell.n);
        }
        i++;
    }
    if (i != r->ncols) {
        snprintf(err, err_size, "line %zu: %zu cells but the header has %zu", r->line, i, r->ncols);
        goto fail;
    }
    if (!(out->valid & (1u << OSTEL_STORE_METRIC_TS))) {
        snprintf(err, err_size, "line %zu: empty 'ts'", r->line);
        goto fail;
    }
    if (extra->len) {
        ostel_buf_putc(extra, '}');
        out->extra = extra->data;
    }
    return 1;
fail:
    return OSTEL_ERR;
}

void ostel_store_metrics_reader_free(struct ostel_store_metrics_reader *r)
{
    for (size_t i = 0; i < r->ncols; i++)
        free(r->col_names[i]);
    ostel_buf_free(&r->extra_buf);
    memset(r, 0, sizeof(*r));
}

static bool rows_header(void *ctx, const struct ostel_str *cells, size_t ncols)
{
    struct ostel_store_metrics_rows *m = ctx;
    if (ncols > OSTEL_STORE_MAX_COLUMNS)
        return false;
    /* the reader's mapping (its header checks are the validator's) */
    for (size_t i = 0; i < ncols; i++) {
        int map = COL_EXTRA;
        if (ostel_str_eq(cells[i], "phase"))
            map = COL_PHASE;
        for (int k = 0; k < OSTEL_STORE_METRIC_COUNT; k++)
            if (ostel_str_eq(cells[i], metric_names[k]))
                map = k;
        m->col_map[i] = map;
        m->names[i] = cells[i];
    }
    m->ncols = ncols;
    m->on = true;
    return true;
}

/* Every cell the reader parses is in a column the validator checks the same way (a number column:
 * the same digits give the same value; phase: a known name; any other: no quote, at most 256
 * bytes), so the row is the reader's. */
static void rows_row(void *ctx, const struct ostel_str *cells, const double *vals, size_t ncols)
{
    struct ostel_store_metrics_rows *m = ctx;
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 256;
        m->rows = ostel_xrealloc(m->rows, m->cap * sizeof(*m->rows));
        m->extra_at = ostel_xrealloc(m->extra_at, m->cap * sizeof(*m->extra_at));
    }
    struct ostel_store_sample *out = &m->rows[m->n];
    memset(out, 0, sizeof(*out));
    size_t start = m->extra.len;
    bool any = false;
    for (size_t i = 0; i < ncols; i++) {
        int map = m->col_map[i];
        if (map >= 0) {
            if (cells[i].n > 0) {
                out->v[map] = vals[i];
                out->valid |= 1u << map;
            }
        } else if (map == COL_PHASE) {
            for (int p = 0; p < (int)OSTEL_ARRAY_LEN(phase_names); p++)
                if (ostel_str_eq(cells[i], phase_names[p]))
                    out->phase = p;
        } else if (cells[i].n > 0) {
            ostel_buf_putc(&m->extra, any ? ',' : '{');
            json_string(&m->extra, m->names[i].p, m->names[i].n);
            ostel_buf_putc(&m->extra, ':');
            json_string(&m->extra, cells[i].p, cells[i].n);
            any = true;
        }
    }
    if (any) {
        ostel_buf_putc(&m->extra, '}');
        ostel_buf_putc(&m->extra, '\0'); /* each row's JSON ends with its NUL */
    }
    m->extra_at[m->n] = any ? start : SIZE_MAX;
    m->n++;
}

void ostel_store_metrics_rows_sink(struct ostel_store_metrics_rows *rows,
                                   struct ostel_rundir_metrics_sink *sink)
{
    memset(rows, 0, sizeof(*rows));
    ostel_buf_init(&rows->extra, 0);
    sink->header = rows_header;
    sink->row = rows_row;
    sink->ctx = rows;
}

void ostel_store_metrics_rows_get(const struct ostel_store_metrics_rows *rows, size_t i,
                                  struct ostel_store_sample *out)
{
    *out = rows->rows[i];
    out->extra = rows->extra_at[i] == SIZE_MAX ? NULL : rows->extra.data + rows->extra_at[i];
}

void ostel_store_metrics_rows_free(struct ostel_store_metrics_rows *rows)
{
    free(rows->rows);
    free(rows->extra_at);
    ostel_buf_free(&rows->extra);
    memset(rows, 0, sizeof(*rows));
}

static bool key_char_ok(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
}

int ostel_store_config_validate(const char *text, size_t len, char *err, size_t err_size)
{
    struct ostel_str rest = ostel_str_make(text, len), line;
    size_t n = 0;
    char shown[48];
    if (memchr(text, '\0', len)) {
        snprintf(err, err_size, "contains a NUL byte");
        return OSTEL_ERR;
    }
    while (ostel_str_next_line(&rest, &line)) {
        n++;
        if (ostel_str_trim(line).n == 0)
            continue;
        long eq = ostel_str_find(line, "=");
        bool ok = eq > 0;
        for (long i = 0; ok && i < eq; i++)
            ok = key_char_ok(line.p[i]);
        if (!ok) {
            snprintf(err, err_size, "line %zu is not key=value: '%s'", n, show(line, shown));
            return OSTEL_ERR;
        }
    }
    return OSTEL_OK;
}

const cJSON *ostel_store_json_get(const cJSON *root, const char *path)
{
    const cJSON *cur = root;
    const char *p = path;
    while (cur && *p) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        char key[64];
        if (n >= sizeof(key) || !cJSON_IsObject(cur))
            return NULL;
        memcpy(key, p, n);
        key[n] = '\0';
        cur = cJSON_GetObjectItemCaseSensitive(cur, key);
        p += n + (dot ? 1 : 0);
    }
    return cur;
}

int ostel_store_json_number(const cJSON *root, const char *path, double *out)
{
    const cJSON *v = ostel_store_json_get(root, path);
    if (!v || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
        return -1;
    *out = v->valuedouble;
    return 1;
}

int ostel_store_json_string(const cJSON *root, const char *path, const char **out)
{
    const cJSON *v = ostel_store_json_get(root, path);
    if (!v || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsString(v) || !v->valuestring)
        return -1;
    *out = v->valuestring;
    return 1;
}

cJSON *ostel_store_summary_parse(const char *text, size_t len, char *err, size_t err_size)
{
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, false);
    if (!root) {
        size_t off = end && end >= text && end <= text + len ? (size_t)(end - text) : 0;
        snprintf(err, err_size, "not valid JSON (near byte %zu)", off);
        return NULL;
    }
    if (ostel_store_summary_check(root, err, err_size) != 0) {
        cJSON_Delete(root);
        return NULL;
    }
    return root;
}

int ostel_store_summary_check(const cJSON *root, char *err, size_t err_size)
{
    const char *schema = NULL, *status = NULL;
    double version = 0;
    if (!cJSON_IsObject(root) || ostel_store_json_string(root, "schema", &schema) != 1 ||
        strcmp(schema, "ostel.summary") != 0) {
        snprintf(err, err_size, "not an ostel summary (\"schema\" is not \"ostel.summary\")");
        goto fail;
    }
    if (ostel_store_json_number(root, "schema_version", &version) != 1 || version < 1) {
        snprintf(err, err_size, "missing or bad \"schema_version\"");
        goto fail;
    }
    if (version > 1) {
        snprintf(err, err_size, "schema_version %g is newer than this ostel understands (1)",
                 version);
        goto fail;
    }
    if (!cJSON_IsObject(ostel_store_json_get(root, "run")) ||
        ostel_store_json_string(root, "run.status", &status) != 1 || !*status) {
        snprintf(err, err_size, "missing \"run\" object or its \"status\"");
        goto fail;
    }
    return 0;
fail:
    return -1;
}

void ostel_store_hash_hex(const void *data, size_t len, char out[17])
{
    ostel_fnv1a64_hex(data, len, OSTEL_FNV1A64_BASIS, out);
}
