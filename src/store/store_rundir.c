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

bool ostel_store_col_typed(enum ostel_metric_col c)
{
    return c != OSTEL_COL_PHASE && ostel_metrics_col(c)->sql != NULL;
}

/* Whether file column i goes to samples.extra: a column the table does not know, or one the store
 * has no column for. */
static bool col_extra(const struct ostel_metrics_header *h, size_t i)
{
    int c = h->col[i];
    return c < 0 || ostel_metrics_col((enum ostel_metric_col)c)->sql == NULL;
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

/* The extra cells of a row as one JSON object into b (nothing when there are none); true when
 * there were some. Written directly: a cJSON tree per row was a sixth of an import. */
static bool put_extra(struct ostel_buf *b, const struct ostel_metrics_header *h,
                      const struct ostel_str *names, const struct ostel_str *cells)
{
    bool any = false;
    for (size_t i = 0; i < h->ncols; i++) {
        if (cells[i].n == 0 || !col_extra(h, i))
            continue;
        ostel_buf_putc(b, any ? ',' : '{');
        json_string(b, names[i].p, names[i].n);
        ostel_buf_putc(b, ':');
        json_string(b, cells[i].p, cells[i].n);
        any = true;
    }
    if (any)
        ostel_buf_putc(b, '}');
    return any;
}

int ostel_store_metrics_reader_init(struct ostel_store_metrics_reader *r, const char *text,
                                    size_t len, char *err, size_t err_size)
{
    memset(r, 0, sizeof(*r));
    r->scan = ostel_xmalloc(sizeof(*r->scan));
    if (ostel_rundir_metrics_scan_init(r->scan, text, len, NULL, err, err_size) != 0) {
        ostel_store_metrics_reader_free(r);
        return OSTEL_ERR;
    }
    ostel_metrics_header_map(&r->h, r->scan->header, r->scan->ncols);
    ostel_buf_init(&r->extra_buf, 0);
    return OSTEL_OK;
}

int ostel_store_metrics_reader_next(struct ostel_store_metrics_reader *r,
                                    struct ostel_store_sample *out, char *err, size_t err_size)
{
    int rc = ostel_rundir_metrics_scan_next(r->scan, err, err_size);
    if (rc != 1)
        return rc;
    ostel_metrics_row_from_cells(&r->h, r->scan->cells, r->scan->vals, &out->row);
    r->extra_buf.len = 0;
    bool any = put_extra(&r->extra_buf, &r->h, r->scan->header, r->scan->cells);
    if (any)
        ostel_buf_putc(&r->extra_buf, '\0');
    out->extra = any ? r->extra_buf.data : NULL;
    return 1;
}

void ostel_store_metrics_reader_free(struct ostel_store_metrics_reader *r)
{
    free(r->scan);
    if (r->extra_buf.data)
        ostel_buf_free(&r->extra_buf);
    memset(r, 0, sizeof(*r));
}

static bool rows_header(void *ctx, const struct ostel_str *cells, size_t ncols)
{
    struct ostel_store_metrics_rows *m = ctx;
    ostel_metrics_header_map(&m->h, cells, ncols);
    memcpy(m->names, cells, ncols * sizeof(*cells));
    for (size_t i = 0; i < m->h.ncols; i++) {
        if (!col_extra(&m->h, i))
            continue;
        json_string(&m->extra_keys, m->names[i].p, m->names[i].n);
        ostel_buf_putc(&m->extra_keys, ':');
        m->extra_col[m->nextra] = (uint16_t)i;
        m->extra_key_end[m->nextra++] = m->extra_keys.len;
    }
    m->on = true;
    return true;
}

/* Every cell is one the validator has just accepted, so the row is the reader's. */
static void rows_row(void *ctx, const struct ostel_str *cells, const double *vals, size_t ncols)
{
    (void)ncols;
    struct ostel_store_metrics_rows *m = ctx;
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 256;
        m->rows = ostel_xrealloc(m->rows, m->cap * sizeof(*m->rows));
        m->extra_at = ostel_xrealloc(m->extra_at, m->cap * sizeof(*m->extra_at));
    }
    struct ostel_store_sample *out = &m->rows[m->n];
    ostel_metrics_row_from_cells(&m->h, cells, vals, &out->row);
    out->extra = NULL;
    size_t start = m->extra.len;
    /* put_extra's object, from the keys written once for the file */
    bool any = false;
    for (size_t k = 0; k < m->nextra; k++) {
        const struct ostel_str *cell = &cells[m->extra_col[k]];
        if (cell->n == 0)
            continue;
        size_t key = k ? m->extra_key_end[k - 1] : 0;
        ostel_buf_putc(&m->extra, any ? ',' : '{');
        ostel_buf_append(&m->extra, m->extra_keys.data + key, m->extra_key_end[k] - key);
        json_string(&m->extra, cell->p, cell->n);
        any = true;
    }
    if (any)
        ostel_buf_append(&m->extra, "}", 2); /* each row's JSON ends with its NUL */
    m->extra_at[m->n] = any ? start : SIZE_MAX;
    m->n++;
}

void ostel_store_metrics_rows_sink(struct ostel_store_metrics_rows *rows,
                                   struct ostel_rundir_metrics_sink *sink)
{
    memset(rows, 0, sizeof(*rows));
    ostel_buf_init(&rows->extra, 0);
    ostel_buf_init(&rows->extra_keys, 0);
    sink->header = rows_header;
    sink->row = rows_row;
    sink->ctx = rows;
}

void ostel_store_metrics_rows_free(struct ostel_store_metrics_rows *rows)
{
    free(rows->rows);
    free(rows->extra_at);
    ostel_buf_free(&rows->extra);
    ostel_buf_free(&rows->extra_keys);
    memset(rows, 0, sizeof(*rows));
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
        return OSTEL_ERR;
    *out = v->valuedouble;
    return 1;
}

int ostel_store_json_string(const cJSON *root, const char *path, const char **out)
{
    const cJSON *v = ostel_store_json_get(root, path);
    if (!v || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsString(v) || !v->valuestring)
        return OSTEL_ERR;
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
    return OSTEL_ERR;
}

/*
 * The values the store types into its columns where the run-directory contract defines their
 * type: 's' a string, 'n' a finite number, 'b' a boolean, 'g' a signal: its name or, for one the
 * writer has no name for (SIGQUIT, SIGUSR1…), its number from 1 to 999 (each or null, or absent).
 * rundir's reader (rundir_summary.h) takes a value of the wrong type as unknown; the store refuses
 * the run instead, naming the first path in this order (runs' columns). The values themselves are
 * read through rundir's struct.
 */
struct typed {
    const char *path;
    char kind;
};
static const struct typed typed_host[] = {
    {"host.hostname", 's'},  {"host.os", 's'},      {"host.cpu_model", 's'},
    {"host.cpu_cores", 'n'}, {"host.ram_mib", 'n'},
};
static const struct typed typed_run[] = {
    {"run.tag", 's'},
    {"run.status", 's'},
    {"run.exit_code", 'n'},
    {"run.signal", 'g'},
    {"run.oom_killed", 'b'},
    {"run.start_ts", 'n'},
    {"run.end_ts", 'n'},
    {"run.wall_s", 'n'},
    {"run.tool", 's'},
    {"run.model", 's'},
    {"run.ctx", 'n'},
    {"run.gen", 'n'},
    {"run.repetition", 'n'},
    {"ostel_version", 's'},
    {"telemetry.samples", 'n'},
    {"telemetry.interval_ms", 'n'},
    {"telemetry.interval_ms_mean", 'n'},
    {"telemetry.interval_ms_p99", 'n'},
    {"telemetry.overall.rss_peak_mib", 'n'},
    {"telemetry.overall.rss_anon_peak_mib", 'n'},
    {"telemetry.overall.rss_file_peak_mib", 'n'},
    {"telemetry.overall.swap_peak_mib", 'n'},
    {"telemetry.overall.cpu_mean_pct", 'n'},
    {"telemetry.overall.majflt", 'n'},
    {"telemetry.overall.pageouts", 'n'},
    {"telemetry.overall.swapouts", 'n'},
    {"telemetry.overall.pressure_worst", 'n'},
    {"telemetry.overall.avail_min_pct", 'n'},
    {"telemetry.ostel_cpu.ms", 'n'},
    {"telemetry.ostel_cpu.us_per_sample", 'n'},
};

static bool typed_ok(const cJSON *root, const char *path, char kind)
{
    const cJSON *v = ostel_store_json_get(root, path);
    if (!v || cJSON_IsNull(v))
        return true;
    switch (kind) {
    case 's':
        return cJSON_IsString(v) && v->valuestring;
    case 'n':
        return cJSON_IsNumber(v) && isfinite(v->valuedouble);
    case 'g':
        return (cJSON_IsString(v) && v->valuestring) ||
               (cJSON_IsNumber(v) && v->valuedouble >= 1 && v->valuedouble < 1000 &&
                v->valuedouble == floor(v->valuedouble));
    default:
        return cJSON_IsBool(v);
    }
}

/* The first path of table t whose value has the wrong type, or NULL. */
static const char *first_mistyped(const cJSON *root, const struct typed *t, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!typed_ok(root, t[i].path, t[i].kind))
            return t[i].path;
    return NULL;
}

const char *ostel_store_summary_mistyped_host(const cJSON *root)
{
    return first_mistyped(root, typed_host, OSTEL_ARRAY_LEN(typed_host));
}

const char *ostel_store_summary_mistyped(const cJSON *root)
{
    return first_mistyped(root, typed_run, OSTEL_ARRAY_LEN(typed_run));
}

void ostel_store_hash_hex(const void *data, size_t len, char out[17])
{
    ostel_fnv1a64_hex(data, len, OSTEL_FNV1A64_BASIS, out);
}
