/*
 * report_serve: the serving section of a report — for every run made by `ostel serve`, one row per
 * load level (concurrency or rate, in the order measured): latency percentiles against the level
 * (where they bend upward is the knee at which the server saturates), throughput and goodput, and
 * what the machine did meanwhile (the server's RSS and CPU in that level's samples). The values
 * come from summary.json's "serve" object (docs/serve.md); nothing is recomputed, so a report from
 * the database reads the same. Text from runs (tags, level names) is the writers' to escape.
 */
#include "report/report.h"

#include <cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static double jnum(const cJSON *o, const char *a, const char *b)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, a);
    if (b)
        v = cJSON_IsObject(v) ? cJSON_GetObjectItemCaseSensitive(v, b) : NULL;
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static const char *jstr(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : "";
}

static char *fmt(double v, int decimals)
{
    char b[64];
    return ostel_xstrdup(ostel_report_fmt_num(v, decimals, b, sizeof(b)));
}

void ostel_report_serve_tables(const struct ostel_report *r, struct ostel_report_tables *out)
{
    static const char *const lat_head[] = {
        "Run",          "Level",       "Load",        "OK / failed", "Req/s",
        "Output tok/s", "Goodput/s",   "TTFT p50 ms", "TTFT p99 ms", "ITL p50 ms",
        "ITL p99 ms",   "TPOT p50 ms", "E2E p50 ms",  "E2E p99 ms",  "Queue p99 ms"};
    static const char *const sys_head[] = {
        "Run",          "Level",      "Load",    "RSS peak MiB",
        "RSS mean MiB", "CPU mean %", "Samples", "TTFT − server prompt p50 ms",
        "Stopped early"};
    struct ostel_report_table *lat = NULL, *sys = NULL;
    const struct ostel_report_set *set = r->set;
    for (size_t i = 0; i < set->n; i++) {
        const struct ostel_report_run *run = &set->runs[i];
        if (!run->serve_json)
            continue;
        cJSON *s = cJSON_Parse(run->serve_json);
        const cJSON *levels = cJSON_GetObjectItemCaseSensitive(s, "levels"), *l;
        cJSON_ArrayForEach(l, levels)
        {
            if (!cJSON_IsObject(l))
                continue;
            if (!lat) {
                lat = ostel_report_table_new(
                    out, "serve_latency", "Serving: latency and throughput per level",
                    OSTEL_ARRAY_LEN(lat_head), lat_head, "llllrrrrrrrrrrr");
                lat->caption = ostel_xstrdup(
                    "One row per load level of each ostel serve run. TTFT and E2E are timed from "
                    "the scheduled send (open loop: the client's own queueing included); ITL is "
                    "every gap between token chunks pooled over the level; TPOT is (E2E − TTFT) / "
                    "(tokens − 1) per request; goodput counts requests within the SLO "
                    "(docs/serve.md). Where the percentiles rise steeply the server has "
                    "saturated.");
            }
            if (!sys) {
                /* the second table is made after the first: re-find lat, the array moved */
                size_t li = (size_t)(lat - out->t);
                sys = ostel_report_table_new(out, "serve_system", "Serving: the machine per level",
                                             OSTEL_ARRAY_LEN(sys_head), sys_head, "lllrrrrrl");
                lat = &out->t[li];
                sys->caption = ostel_xstrdup(
                    "The watched process tree (the server ostel started, or --pid) in the samples "
                    "of each level; TTFT − server prompt is the client's TTFT minus llama-server's "
                    "own prompt_ms: HTTP and queueing in the server.");
            }
            const char *kind = jstr(l, "kind");
            double value = jnum(l, "value", NULL);
            char load[64];
            snprintf(load, sizeof(load), "%s %g%s", strcmp(kind, "rate") == 0 ? "rate" : "conc.",
                     value, strcmp(kind, "rate") == 0 ? "/s" : "");
            size_t row = ostel_report_table_row_add(lat);
            struct ostel_report_cell *c = &lat->cells[row * lat->ncols];
            c[0].text = ostel_xstrdup(run->tag[0] ? run->tag : run->name);
            c[1].text = ostel_xstrdup(jstr(l, "name"));
            c[2].text = ostel_xstrdup(load);
            c[3].text =
                ostel_xasprintf("%.0f / %.0f", jnum(l, "completed", NULL), jnum(l, "failed", NULL));
            c[4].text = fmt(jnum(l, "request_throughput", NULL), 2);
            c[5].text = fmt(jnum(l, "output_tokens_per_s", NULL), 1);
            c[6].text = fmt(jnum(l, "goodput", NULL), 2);
            c[7].text = fmt(jnum(l, "ttft_ms", "p50"), 1);
            c[8].text = fmt(jnum(l, "ttft_ms", "p99"), 1);
            c[9].text = fmt(jnum(l, "itl_pooled_ms", "p50"), 2);
            c[10].text = fmt(jnum(l, "itl_pooled_ms", "p99"), 2);
            c[11].text = fmt(jnum(l, "tpot_ms", "p50"), 2);
            c[12].text = fmt(jnum(l, "e2e_ms", "p50"), 1);
            c[13].text = fmt(jnum(l, "e2e_ms", "p99"), 1);
            c[14].text = fmt(jnum(l, "client_queue_ms", "p99"), 2);

            row = ostel_report_table_row_add(sys);
            c = &sys->cells[row * sys->ncols];
            c[0].text = ostel_xstrdup(run->tag[0] ? run->tag : run->name);
            c[1].text = ostel_xstrdup(jstr(l, "name"));
            c[2].text = ostel_xstrdup(load);
            c[3].text = fmt(jnum(l, "telemetry", "rss_peak_mib"), 1);
            c[4].text = fmt(jnum(l, "telemetry", "rss_mean_mib"), 1);
            c[5].text = fmt(jnum(l, "telemetry", "cpu_mean_pct"), 1);
            c[6].text = fmt(jnum(l, "telemetry", "samples"), 0);
            c[7].text = fmt(jnum(l, "ttft_minus_server_prompt_ms", "p50"), 2);
            const char *st = jstr(l, "stopped_early");
            c[8].text = ostel_xstrdup(*st ? st : "—");
        }
        cJSON_Delete(s);
    }
}
