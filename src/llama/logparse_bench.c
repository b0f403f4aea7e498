/*
 * logparse_bench: llama-bench results in a log, in each of its output formats:
 *   markdown (default): a "| model | size | params | backend | ... | test | t/s |" header, a
 *     separator row, rows with "t/s" as "mean ± stddev"; test names "pp512", "tg128",
 * "pp512+tg128", "pp512 @ d512", and early 2024's "pp 512"/"tg 128"; the optional columns vary with
 * the flags; -o json: an array of objects printed one member per line ("  {" ... "  }"); -o jsonl:
 * one object per line; -o csv: a "build_commit,build_number,..." header then quoted rows. Rows keep
 * the columns that matter for comparisons (struct ostel_log_bench_row); others are skipped. The
 * lines may be interleaved with llama.cpp's stderr when both streams go to one log.
 */
#include "llama/logparse_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void set_str(char *dst, size_t n, const char *s)
{
    ostel_logparse_copy_trim(dst, n, s, strlen(s));
}

/* "pp512", "pp 512", "tg128", "pp512+tg128", "pp512 @ d512" -> counts; writes the normalised name.
 */
static void parse_test_name(struct lp_state *st, struct ostel_log_bench_row *row, const char *s)
{
    char norm[48];
    size_t o = 0;
    for (const char *p = ostel_logparse_skip_ws(s); *p && o + 1 < sizeof(norm); p++) {
        /* drop the space of "pp 512" / "tg 128" */
        if (*p == ' ' && p - s >= 2 &&
            (ostel_logparse_starts(p - 2, "pp") || ostel_logparse_starts(p - 2, "tg")))
            continue;
        norm[o++] = *p;
    }
    norm[o] = '\0';
    ostel_logparse_copy_trim(row->test, sizeof(row->test), norm, o);
    const char *p = norm;
    struct ostel_logval v = {0};
    while (*p) {
        if (ostel_logparse_starts(p, "pp") && ostel_logparse_scan_val(st, p + 2, &v)) {
            row->n_prompt = v;
            p += 2;
        } else if (ostel_logparse_starts(p, "tg") && ostel_logparse_scan_val(st, p + 2, &v)) {
            row->n_gen = v;
            p += 2;
        } else if (ostel_logparse_starts(p, "@ d") && ostel_logparse_scan_val(st, p + 3, &v)) {
            row->depth = v;
            p += 3;
        } else {
            p++;
        }
    }
    if (row->n_prompt.valid || row->n_gen.valid) {
        if (!row->n_prompt.valid)
            lp_set(&row->n_prompt, 0);
        if (!row->n_gen.valid)
            lp_set(&row->n_gen, 0);
        if (!row->depth.valid)
            lp_set(&row->depth, 0);
    }
}

/* Fills one field of a row from a column name of any of the formats and its text. */
static void fill_field(struct lp_state *st, struct ostel_log_bench_row *row, const char *name,
                       const char *val)
{
    struct ostel_logval v = {0};
    const char *e;
    if (!strcmp(name, "model") || !strcmp(name, "model_type")) {
        set_str(row->model, sizeof(row->model), val);
    } else if (!strcmp(name, "backend") || !strcmp(name, "backends")) {
        set_str(row->backend, sizeof(row->backend), val);
    } else if (!strcmp(name, "size")) {
        if ((e = ostel_logparse_scan_val(st, val, &v))) {
            e = ostel_logparse_skip_ws(e);
            if (ostel_logparse_starts(e, "GiB"))
                lp_set(&row->size_mib, v.value * 1024.0);
            else if (ostel_logparse_starts(e, "MiB"))
                lp_set(&row->size_mib, v.value);
        }
    } else if (!strcmp(name, "model_size")) {
        if (ostel_logparse_scan_val(st, val, &v))
            lp_set(&row->size_mib, v.value / (1024.0 * 1024.0));
    } else if (!strcmp(name, "params")) {
        if ((e = ostel_logparse_scan_val(st, val, &v))) {
            e = ostel_logparse_skip_ws(e);
            double f = *e == 'B' ? 1e9 : *e == 'M' ? 1e6 : *e == 'K' ? 1e3 : *e == 'T' ? 1e12 : 0;
            if (f != 0)
                lp_set(&row->params, v.value * f);
        }
    } else if (!strcmp(name, "model_n_params")) {
        ostel_logparse_scan_val(st, val, &row->params);
    } else if (!strcmp(name, "ngl") || !strcmp(name, "n_gpu_layers")) {
        ostel_logparse_scan_val(st, val, &row->ngl);
    } else if (!strcmp(name, "threads") || !strcmp(name, "n_threads")) {
        ostel_logparse_scan_val(st, val, &row->threads);
    } else if (!strcmp(name, "n_batch")) {
        ostel_logparse_scan_val(st, val, &row->n_batch);
    } else if (!strcmp(name, "n_ubatch")) {
        ostel_logparse_scan_val(st, val, &row->n_ubatch);
    } else if (!strcmp(name, "type_k")) {
        set_str(row->type_k, sizeof(row->type_k), val);
    } else if (!strcmp(name, "type_v")) {
        set_str(row->type_v, sizeof(row->type_v), val);
    } else if (!strcmp(name, "fa") || !strcmp(name, "flash_attn")) {
        set_str(row->flash_attn, sizeof(row->flash_attn), val);
    } else if (!strcmp(name, "test")) {
        parse_test_name(st, row, val);
    } else if (!strcmp(name, "t/s")) {
        /* "123.45 ± 1.23" ("±" may be pasted as "_" or "+/-") */
        if ((e = ostel_logparse_scan_val(st, val, &row->avg_ts))) {
            e = ostel_logparse_skip_ws(e);
            if (ostel_logparse_starts(e, "\xc2\xb1"))
                e += 2;
            else if (ostel_logparse_starts(e, "+/-"))
                e += 3;
            else if (*e == '_' || *e == '+')
                e += 1;
            else
                return;
            ostel_logparse_scan_val(st, e, &row->stddev_ts);
        }
    } else if (!strcmp(name, "n_prompt")) {
        ostel_logparse_scan_val(st, val, &row->n_prompt);
    } else if (!strcmp(name, "n_gen")) {
        ostel_logparse_scan_val(st, val, &row->n_gen);
    } else if (!strcmp(name, "n_depth")) {
        ostel_logparse_scan_val(st, val, &row->depth);
    } else if (!strcmp(name, "avg_ts")) {
        ostel_logparse_scan_val(st, val, &row->avg_ts);
    } else if (!strcmp(name, "stddev_ts")) {
        ostel_logparse_scan_val(st, val, &row->stddev_ts);
    }
}

/* JSON and CSV rows carry counts, not a test name: build llama-bench's name from them. */
static void name_from_counts(struct ostel_log_bench_row *row)
{
    if (row->test[0] || !row->n_prompt.valid || !row->n_gen.valid)
        return;
    int np = (int)row->n_prompt.value, ng = (int)row->n_gen.value;
    int nd = row->depth.valid ? (int)row->depth.value : 0;
    char buf[48];
    if (np > 0 && ng == 0)
        snprintf(buf, sizeof(buf), "pp%d", np);
    else if (ng > 0 && np == 0)
        snprintf(buf, sizeof(buf), "tg%d", ng);
    else
        snprintf(buf, sizeof(buf), "pp%d+tg%d", np, ng);
    if (nd > 0) {
        size_t l = strlen(buf);
        snprintf(buf + l, sizeof(buf) - l, " @ d%d", nd);
    }
    set_str(row->test, sizeof(row->test), buf);
    if (!row->depth.valid)
        lp_set(&row->depth, 0);
}

static void push_row(struct lp_state *st, const struct ostel_log_bench_row *row)
{
    struct ostel_log_result *r = st->r;
    if (!row->avg_ts.valid || r->n_bench >= OSTEL_LOGPARSE_MAX_BENCH)
        return;
    if (r->n_bench == r->cap_bench) {
        size_t cap = r->cap_bench ? r->cap_bench * 2 : 16;
        r->bench = ostel_xrealloc(r->bench, cap * sizeof(*r->bench));
        r->cap_bench = cap;
    }
    r->bench[r->n_bench++] = *row;
}

/* Splits a markdown row "| a | b |" into trimmed cells (in place in buf); returns the count. */
static int md_cells(char *buf, char **cells, int max)
{
    int n = 0;
    char *p = buf;
    if (*p != '|')
        return 0;
    p++;
    while (*p && n < max) {
        char *bar = strchr(p, '|');
        if (!bar)
            break;
        *bar = '\0';
        char *s = (char *)ostel_logparse_skip_ws(p);
        char *e = s + strlen(s);
        while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
            *--e = '\0';
        cells[n++] = s;
        p = bar + 1;
    }
    return n;
}

static bool markdown_line(struct lp_state *st, const char *text)
{
    char buf[LP_LINE_MAX];
    char *cells[LP_BENCH_MAX_COLS];
    snprintf(buf, sizeof(buf), "%s", text);
    int n = md_cells(buf, cells, LP_BENCH_MAX_COLS);
    if (n < 2)
        return false;
    bool has_ts = false, has_test = false, sep = true;
    for (int i = 0; i < n; i++) {
        has_ts = has_ts || !strcmp(cells[i], "t/s");
        has_test = has_test || !strcmp(cells[i], "test");
        for (const char *c = cells[i]; *c; c++)
            sep = sep && (*c == '-' || *c == ':');
    }
    if (has_ts && has_test) {
        st->md_ncols = n;
        for (int i = 0; i < n; i++)
            set_str(st->md_cols[i], sizeof(st->md_cols[i]), cells[i]);
        return true;
    }
    if (st->md_ncols == 0 || n != st->md_ncols)
        return false;
    if (sep)
        return true;
    struct ostel_log_bench_row row;
    memset(&row, 0, sizeof(row));
    for (int i = 0; i < n; i++)
        fill_field(st, &row, st->md_cols[i], cells[i]);
    push_row(st, &row);
    return true;
}

/* One CSV record with "quoted ""escaped"" fields"; returns the field count. */
static int csv_fields(const char *s, char out[][96], int max)
{
    int n = 0;
    while (n < max) {
        size_t o = 0;
        if (*s == '"') {
            s++;
            while (*s) {
                if (*s == '"' && s[1] == '"') {
                    s++;
                } else if (*s == '"') {
                    s++;
                    break;
                }
                if (o + 1 < 96)
                    out[n][o++] = *s;
                s++;
            }
        } else {
            while (*s && *s != ',') {
                if (o + 1 < 96)
                    out[n][o++] = *s;
                s++;
            }
        }
        out[n][o] = '\0';
        n++;
        if (*s != ',')
            break;
        s++;
    }
    return n;
}

static bool csv_line(struct lp_state *st, const char *text)
{
    bool header = ostel_logparse_starts(text, "build_commit,");
    if (!header && (st->csv_ncols == 0 || text[0] != '"'))
        return false;
    char(*f)[96] = ostel_xmalloc(sizeof(char[LP_BENCH_MAX_COLS][96]));
    bool used = false;
    if (header) {
        int n = csv_fields(text, f, LP_BENCH_MAX_COLS);
        st->csv_ncols = n;
        for (int i = 0; i < n; i++)
            set_str(st->csv_cols[i], sizeof(st->csv_cols[i]), f[i]);
        used = true;
    } else {
        int n = csv_fields(text, f, LP_BENCH_MAX_COLS);
        if (n == st->csv_ncols) {
            struct ostel_log_bench_row row;
            memset(&row, 0, sizeof(row));
            for (int i = 0; i < n; i++)
                fill_field(st, &row, st->csv_cols[i], f[i]);
            name_from_counts(&row);
            push_row(st, &row);
            used = true;
        }
    }
    free(f);
    return used;
}

static void json_object(struct lp_state *st, const char *s, size_t n)
{
    cJSON *o = cJSON_ParseWithLength(s, n);
    if (!o)
        return;
    if (cJSON_IsObject(o) && cJSON_GetObjectItemCaseSensitive(o, "avg_ts")) {
        struct ostel_log_bench_row row;
        memset(&row, 0, sizeof(row));
        const cJSON *it;
        cJSON_ArrayForEach(it, o)
        {
            char num[64];
            const char *val = NULL;
            if (cJSON_IsString(it))
                val = it->valuestring;
            else if (cJSON_IsNumber(it)) {
                snprintf(num, sizeof(num), "%.17g", it->valuedouble);
                val = num;
            } else if (cJSON_IsBool(it))
                val = cJSON_IsTrue(it) ? "true" : "false";
            if (val && it->string)
                fill_field(st, &row, it->string, val);
        }
        name_from_counts(&row);
        push_row(st, &row);
    }
    cJSON_Delete(o);
}

static bool json_line(struct lp_state *st, const char *text)
{
    const char *t = ostel_logparse_skip_ws(text);
    size_t n = strlen(t);
    if (st->in_json_obj) {
        /* only members and the closing brace belong to the object; anything else aborts it */
        if (*t == '"') {
            ostel_buf_puts(&st->json_obj, t);
            ostel_buf_putc(&st->json_obj, '\n');
            return true;
        }
        st->in_json_obj = false;
        if (*t == '}') {
            ostel_buf_putc(&st->json_obj, '}');
            if (!st->json_obj.overflow)
                json_object(st, st->json_obj.data, st->json_obj.len);
            return true;
        }
        return false;
    }
    if (n == 1 && *t == '{') {
        ostel_buf_reset(&st->json_obj);
        st->json_obj.overflow = false;
        ostel_buf_putc(&st->json_obj, '{');
        st->in_json_obj = true;
        return true;
    }
    if (*t == '{' && t[n - 1] == '}' && strstr(t, "\"avg_ts\"")) {
        json_object(st, t, n);
        return true;
    }
    return false;
}

bool ostel_logparse_bench_line(struct lp_state *st, const char *text)
{
    if (text[0] == '|')
        return markdown_line(st, text);
    if (csv_line(st, text))
        return true;
    return json_line(st, text);
}

void ostel_logparse_bench_state_free(struct lp_state *st)
{
    st->in_json_obj = false;
}
