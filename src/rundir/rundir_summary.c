/*
 * rundir_summary: summary.json's one writer and one reader (see rundir_summary.h).
 *
 * The writer's key order is the file's contract (tests compare bytes): schema, schema_version,
 * ostel_version, run, llama, model_file, prediction, telemetry, gpu, host, then the added sections.
 * The reader's legacy keys (llama_keys) are those of every layout of the "llama" section that ostel
 * has written, so old run directories and stored runs keep loading.
 */
#include "rundir/rundir_summary.h"

#include "util/fileio.h"
#include "util/util.h"

#include <cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SUMMARY_READ_MAX ((size_t)256 << 20)

void ostel_summary_init(struct ostel_summary *s)
{
    memset(s, 0, sizeof(*s));
    s->run.ctx = s->run.gen = -1;
    s->run.samples = s->run.watched_pid = -1;
    s->run.start_ts_s = s->run.end_ts_s = s->run.wall_s = NAN;
    s->run.prompt_tokens = s->run.gen_tokens = NAN;
    s->host.cpu_cores = s->host.ram_mib = s->host.swap_mib = NAN;
}

void ostel_summary_free(struct ostel_summary *s)
{
    struct ostel_summary_run *r = &s->run;
    char **strs[] = {&s->ostel_version,  &r->run_id,          &r->tag,         &r->status,
                     &r->signal_name,    &r->oom_scope,       &r->tool,        &r->model,
                     &r->scenario,       &r->interrupted_by,  &r->error,       &s->host.hostname,
                     &s->host.os,        &s->host.os_version, &s->host.kernel, &s->host.arch,
                     &s->host.cpu_model, &s->host.platform,   &s->host.gpu};
    for (size_t i = 0; i < OSTEL_ARRAY_LEN(strs); i++)
        free(*strs[i]);
    for (size_t i = 0; i < r->argc; i++)
        free(r->argv[i]);
    free(r->argv);
    cJSON *trees[] = {s->llama, s->model_file, s->prediction, s->telemetry, s->gpu, s->sections};
    for (size_t i = 0; i < OSTEL_ARRAY_LEN(trees); i++)
        cJSON_Delete(trees[i]);
    ostel_summary_init(s);
}

void ostel_summary_set_str(char **dst, const char *v)
{
    char *copy = v ? ostel_xstrdup(v) : NULL;
    free(*dst);
    *dst = copy;
}

void ostel_summary_set_section(struct ostel_summary *s, const char *key, cJSON *section)
{
    if (!s->sections)
        s->sections = cJSON_CreateObject();
    cJSON_DeleteItemFromObjectCaseSensitive(s->sections, key);
    cJSON_AddItemToObject(s->sections, key, section ? section : cJSON_CreateNull());
}

const cJSON *ostel_summary_section(const struct ostel_summary *s, const char *key)
{
    return s->sections ? cJSON_GetObjectItemCaseSensitive(s->sections, key) : NULL;
}

/* ---- the writer ---- */

static cJSON *num_or_null(double v, bool valid)
{
    return valid && isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull();
}

static cJSON *str_or_null(const char *s)
{
    return s && *s ? cJSON_CreateString(s) : cJSON_CreateNull();
}

static double ms_round(double v)
{
    return round(v * 1000) / 1000;
}

static cJSON *tree_or_null(const cJSON *t)
{
    return t ? cJSON_Duplicate(t, 1) : cJSON_CreateNull();
}

/* run.samples and run.watched_pid, written only when set (a process ostel did not start). */
static void run_to_json_watched(cJSON *run, const struct ostel_summary_run *r)
{
    if (r->samples >= 0)
        cJSON_AddNumberToObject(run, "samples", (double)r->samples);
    if (r->watched_pid >= 0)
        cJSON_AddNumberToObject(run, "watched_pid", (double)r->watched_pid);
}

static cJSON *run_to_json(const struct ostel_summary_run *r)
{
    cJSON *run = cJSON_CreateObject();
    if (r->run_id)
        cJSON_AddStringToObject(run, "run_id", r->run_id);
    cJSON_AddItemToObject(run, "tag", str_or_null(r->tag));
    cJSON_AddStringToObject(run, "status", r->status ? r->status : "");
    cJSON_AddItemToObject(run, "exit_code", num_or_null(r->exit_code, r->has_exit_code));
    cJSON_AddItemToObject(run, "signal",
                          r->signal_name ? cJSON_CreateString(r->signal_name)
                          : r->signal    ? cJSON_CreateNumber(r->signal)
                                         : cJSON_CreateNull());
    cJSON_AddBoolToObject(run, "oom_killed", r->oom_killed);
    cJSON_AddItemToObject(run, "oom_scope", str_or_null(r->oom_scope));
    cJSON_AddItemToObject(run, "start_ts", num_or_null(ms_round(r->start_ts_s), true));
    cJSON_AddItemToObject(run, "end_ts", num_or_null(ms_round(r->end_ts_s), true));
    cJSON_AddItemToObject(run, "wall_s", num_or_null(ms_round(r->wall_s), true));
    cJSON *av = cJSON_AddArrayToObject(run, "argv");
    for (size_t i = 0; i < r->argc; i++)
        cJSON_AddItemToArray(av, cJSON_CreateString(r->argv[i]));
    cJSON_AddItemToObject(run, "tool", str_or_null(r->tool));
    cJSON_AddItemToObject(run, "model", str_or_null(r->model));
    cJSON_AddItemToObject(run, "ctx", num_or_null((double)r->ctx, r->ctx >= 0));
    cJSON_AddItemToObject(run, "gen", num_or_null((double)r->gen, r->gen >= 0));
    cJSON_AddStringToObject(run, "scenario", r->scenario ? r->scenario : "none");
    cJSON_AddItemToObject(run, "repetition", num_or_null(r->repetition, r->repetition > 0));
    cJSON *tok = cJSON_AddObjectToObject(run, "tokens");
    cJSON_AddItemToObject(tok, "prompt", num_or_null(r->prompt_tokens, true));
    cJSON_AddItemToObject(tok, "generated", num_or_null(r->gen_tokens, true));
    cJSON_AddBoolToObject(run, "log_complete", r->log_complete);
    cJSON_AddItemToObject(run, "interrupted_by", str_or_null(r->interrupted_by));
    cJSON_AddItemToObject(run, "error", str_or_null(r->error));
    run_to_json_watched(run, r);
    return run;
}

/* The "run" of a process ostel did not start (struct ostel_summary's external). */
static cJSON *external_run_to_json(const struct ostel_summary_run *r)
{
    cJSON *run = cJSON_CreateObject();
    if (r->run_id)
        cJSON_AddStringToObject(run, "run_id", r->run_id);
    cJSON_AddItemToObject(run, "tag", str_or_null(r->tag));
    cJSON_AddStringToObject(run, "status", r->status ? r->status : "");
    cJSON_AddItemToObject(run, "start_ts", num_or_null(ms_round(r->start_ts_s), true));
    cJSON_AddItemToObject(run, "end_ts", num_or_null(ms_round(r->end_ts_s), true));
    cJSON_AddItemToObject(run, "wall_s", num_or_null(ms_round(r->wall_s), true));
    cJSON_AddItemToObject(run, "tool", str_or_null(r->tool));
    run_to_json_watched(run, r);
    if (r->error && *r->error)
        cJSON_AddStringToObject(run, "error", r->error);
    return run;
}

static cJSON *host_to_json(const struct ostel_summary_host *h)
{
    cJSON *host = cJSON_CreateObject();
    cJSON_AddItemToObject(host, "hostname", str_or_null(h->hostname));
    cJSON_AddItemToObject(host, "os", str_or_null(h->os));
    cJSON_AddItemToObject(host, "os_version", str_or_null(h->os_version));
    cJSON_AddItemToObject(host, "kernel", str_or_null(h->kernel));
    cJSON_AddItemToObject(host, "arch", str_or_null(h->arch));
    cJSON_AddItemToObject(host, "cpu_model", str_or_null(h->cpu_model));
    cJSON_AddItemToObject(host, "cpu_cores", num_or_null(h->cpu_cores, true));
    cJSON_AddItemToObject(host, "ram_mib", num_or_null(h->ram_mib, true));
    cJSON_AddItemToObject(host, "swap_mib", num_or_null(h->swap_mib, true));
    cJSON_AddItemToObject(host, "platform",
                          h->platform ? cJSON_CreateString(h->platform) : cJSON_CreateNull());
    cJSON_AddItemToObject(host, "gpu", str_or_null(h->gpu));
    return host;
}

cJSON *ostel_summary_to_json(const struct ostel_summary *s)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "schema", "ostel.summary");
    cJSON_AddNumberToObject(root, "schema_version", 1);
    cJSON_AddStringToObject(root, "ostel_version", s->ostel_version ? s->ostel_version : "");
    if (s->external) {
        cJSON_AddItemToObject(root, "run", external_run_to_json(&s->run));
    } else {
        cJSON_AddItemToObject(root, "run", run_to_json(&s->run));
        cJSON_AddItemToObject(root, "llama", tree_or_null(s->llama));
        cJSON_AddItemToObject(root, "model_file", tree_or_null(s->model_file));
        cJSON_AddItemToObject(root, "prediction", tree_or_null(s->prediction));
        cJSON_AddItemToObject(root, "telemetry", tree_or_null(s->telemetry));
        cJSON_AddItemToObject(root, "gpu", tree_or_null(s->gpu));
        cJSON_AddItemToObject(root, "host", host_to_json(&s->host));
    }
    const cJSON *sec;
    cJSON_ArrayForEach(sec, s->sections)
    {
        cJSON_AddItemToObject(root, sec->string, cJSON_Duplicate(sec, 1));
    }
    return root;
}

char *ostel_summary_json_text(const cJSON *root, size_t *len)
{
    char *json = cJSON_Print(root);
    size_t n = strlen(json);
    json = ostel_xrealloc(json, n + 2);
    json[n] = '\n';
    json[n + 1] = '\0';
    *len = n + 1;
    return json;
}

char *ostel_summary_text(const struct ostel_summary *s, size_t *len)
{
    cJSON *root = ostel_summary_to_json(s);
    char *json = ostel_summary_json_text(root, len);
    cJSON_Delete(root);
    return json;
}

int ostel_summary_write_json(const char *dir, const cJSON *root)
{
    size_t n = 0;
    char *json = ostel_summary_json_text(root, &n);
    char *path = ostel_xasprintf("%s/summary.json", dir);
    int e = ostel_file_write_atomic_errno(path, json, n);
    free(path);
    free(json);
    return e;
}

int ostel_summary_write(const char *dir, const struct ostel_summary *s)
{
    cJSON *root = ostel_summary_to_json(s);
    int e = ostel_summary_write_json(dir, root);
    cJSON_Delete(root);
    return e;
}

/* ---- the reader ---- */

/* The item at a dotted path ("timings.gen_tps"), or NULL. */
const cJSON *ostel_summary_jpath(const cJSON *o, const char *path)
{
    char part[64];
    while (o && *path) {
        size_t n = strcspn(path, ".");
        if (n >= sizeof(part))
            return NULL;
        memcpy(part, path, n);
        part[n] = '\0';
        o = cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, part) : NULL;
        path += n + (path[n] == '.');
    }
    return o;
}

/* A finite number, or NAN ("inf" tokens/s and strings are not available values). */
double ostel_summary_jnum(const cJSON *o, const char *key)
{
    const cJSON *v = o ? ostel_summary_jpath(o, key) : NULL;
    return cJSON_IsNumber(v) && isfinite(v->valuedouble) ? v->valuedouble : NAN;
}

const char *ostel_summary_jstr(const cJSON *o, const char *key)
{
    const cJSON *v = o ? ostel_summary_jpath(o, key) : NULL;
    return cJSON_IsString(v) && v->valuestring ? v->valuestring : NULL;
}

/* A whole number within ±1e15, or -1. */
long long ostel_summary_jint(const cJSON *o, const char *key)
{
    double v = ostel_summary_jnum(o, key);
    return isnan(v) || v < -1e15 || v > 1e15 ? -1 : (long long)v;
}

/* The item v as the struct keeps it: a copy, or (view) a reference node that borrows v's children
 * (cJSON_Delete of it frees only the node). */
static cJSON *jkeep(const cJSON *v, bool view)
{
    if (view && cJSON_IsObject(v))
        return cJSON_CreateObjectReference(v->child);
    if (view && cJSON_IsArray(v))
        return cJSON_CreateArrayReference(v->child);
    return cJSON_Duplicate(v, 1);
}

/* The section at key when it is not null (kept as jkeep does), else NULL. */
static cJSON *jtree(const cJSON *root, const char *key, bool view)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
    return v && !cJSON_IsNull(v) ? jkeep(v, view) : NULL;
}

const char *ostel_summary_signal_text(const struct ostel_summary_run *r, char *buf, size_t size)
{
    if (r->signal_name)
        return r->signal_name;
    if (r->signal <= 0)
        return NULL;
    snprintf(buf, size, "signal %d", r->signal);
    return buf;
}

static void run_from_json(struct ostel_summary_run *r, const cJSON *run)
{
    ostel_summary_set_str(&r->run_id, ostel_summary_jstr(run, "run_id"));
    ostel_summary_set_str(&r->tag, ostel_summary_jstr(run, "tag"));
    ostel_summary_set_str(&r->status, ostel_summary_jstr(run, "status"));
    const cJSON *ec = cJSON_GetObjectItemCaseSensitive(run, "exit_code");
    long long e = ostel_summary_jint(run, "exit_code");
    r->has_exit_code = cJSON_IsNumber(ec) && e >= -1e9 && e <= 1e9;
    r->exit_code = r->has_exit_code ? (int)e : 0;
    const cJSON *sig = cJSON_GetObjectItemCaseSensitive(run, "signal");
    if (cJSON_IsString(sig) && sig->valuestring) {
        ostel_summary_set_str(&r->signal_name, sig->valuestring); /* its number not written */
    } else {
        long long n = ostel_summary_jint(run, "signal");
        r->signal = n > 0 && n < 1000 ? (int)n : 0;
    }
    const cJSON *oom = cJSON_GetObjectItemCaseSensitive(run, "oom_killed");
    r->oom_killed = cJSON_IsTrue(oom);
    r->has_oom_killed = cJSON_IsBool(oom);
    ostel_summary_set_str(&r->oom_scope, ostel_summary_jstr(run, "oom_scope"));
    r->start_ts_s = ostel_summary_jnum(run, "start_ts");
    r->end_ts_s = ostel_summary_jnum(run, "end_ts");
    r->wall_s = ostel_summary_jnum(run, "wall_s");
    const cJSON *av = cJSON_GetObjectItemCaseSensitive(run, "argv"), *a;
    if (cJSON_IsArray(av)) {
        r->argv = ostel_xcalloc((size_t)cJSON_GetArraySize(av) + 1, sizeof(*r->argv));
        cJSON_ArrayForEach(a, av)
        {
            if (cJSON_IsString(a) && a->valuestring)
                r->argv[r->argc++] = ostel_xstrdup(a->valuestring);
        }
    }
    ostel_summary_set_str(&r->tool, ostel_summary_jstr(run, "tool"));
    ostel_summary_set_str(&r->model, ostel_summary_jstr(run, "model"));
    r->ctx = ostel_summary_jint(run, "ctx");
    r->gen = ostel_summary_jint(run, "gen");
    long long rep = ostel_summary_jint(run, "repetition");
    r->repetition = rep > 0 && rep < 1000000000 ? (int)rep : 0;
    /* run.scenario: a string; an object with a "name" in early study summaries */
    const char *scen = ostel_summary_jstr(run, "scenario");
    ostel_summary_set_str(&r->scenario, scen ? scen : ostel_summary_jstr(run, "scenario.name"));
    r->prompt_tokens = ostel_summary_jnum(run, "tokens.prompt");
    r->gen_tokens = ostel_summary_jnum(run, "tokens.generated");
    r->log_complete = !cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(run, "log_complete"));
    ostel_summary_set_str(&r->interrupted_by, ostel_summary_jstr(run, "interrupted_by"));
    ostel_summary_set_str(&r->error, ostel_summary_jstr(run, "error"));
    r->samples = ostel_summary_jint(run, "samples");
    r->watched_pid = ostel_summary_jint(run, "watched_pid");
}

static void host_from_json(struct ostel_summary_host *h, const cJSON *host)
{
    struct {
        char **dst;
        const char *key;
    } strs[] = {{&h->hostname, "hostname"}, {&h->os, "os"},     {&h->os_version, "os_version"},
                {&h->kernel, "kernel"},     {&h->arch, "arch"}, {&h->cpu_model, "cpu_model"},
                {&h->platform, "platform"}, {&h->gpu, "gpu"}};
    for (size_t i = 0; i < OSTEL_ARRAY_LEN(strs); i++)
        ostel_summary_set_str(strs[i].dst, ostel_summary_jstr(host, strs[i].key));
    h->cpu_cores = ostel_summary_jnum(host, "cpu_cores");
    h->ram_mib = ostel_summary_jnum(host, "ram_mib");
    h->swap_mib = ostel_summary_jnum(host, "swap_mib");
}

/* The top-level keys the struct holds; every other one is a section. */
static const char *const known_keys[] = {
    "schema",     "schema_version", "ostel_version", "run", "llama",
    "model_file", "prediction",     "telemetry",     "gpu", "host"};

static int from_json(const cJSON *root, struct ostel_summary *out, bool view, char *err,
                     size_t err_size)
{
    ostel_summary_init(out);
    const char *schema = ostel_summary_jstr(root, "schema");
    if (!cJSON_IsObject(root) || !schema || strcmp(schema, "ostel.summary") != 0) {
        snprintf(err, err_size, "not an ostel summary (no \"schema\": \"ostel.summary\")");
        return OSTEL_ERR;
    }
    double ver = ostel_summary_jnum(root, "schema_version");
    if (isnan(ver) || ver < 1 || ver > 1) {
        snprintf(err, err_size, "unsupported schema_version (this ostel reads version 1)");
        return OSTEL_ERR;
    }
    const cJSON *run = cJSON_GetObjectItemCaseSensitive(root, "run");
    if (!cJSON_IsObject(run)) {
        snprintf(err, err_size, "no \"run\" object");
        return OSTEL_ERR;
    }
    ostel_summary_set_str(&out->ostel_version, ostel_summary_jstr(root, "ostel_version"));
    run_from_json(&out->run, run);
    out->llama = jtree(root, "llama", view);
    out->model_file = jtree(root, "model_file", view);
    out->prediction = jtree(root, "prediction", view);
    out->telemetry = jtree(root, "telemetry", view);
    out->gpu = jtree(root, "gpu", view);
    host_from_json(&out->host, cJSON_GetObjectItemCaseSensitive(root, "host"));
    const cJSON *item;
    cJSON_ArrayForEach(item, root)
    {
        bool known = false;
        for (size_t i = 0; i < OSTEL_ARRAY_LEN(known_keys) && !known; i++)
            known = item->string && strcmp(item->string, known_keys[i]) == 0;
        if (!known && item->string)
            ostel_summary_set_section(out, item->string, jkeep(item, view));
    }
    return OSTEL_OK;
}

int ostel_summary_from_json(const cJSON *root, struct ostel_summary *out, char *err,
                            size_t err_size)
{
    return from_json(root, out, false, err, err_size);
}

int ostel_summary_view(const cJSON *root, struct ostel_summary *out, char *err, size_t err_size)
{
    return from_json(root, out, true, err, err_size);
}

int ostel_summary_parse(const char *data, size_t len, struct ostel_summary *out, char *err,
                        size_t err_size)
{
    cJSON *root = cJSON_ParseWithLength(data, len);
    if (!root) {
        ostel_summary_init(out);
        snprintf(err, err_size, "not valid JSON");
        return OSTEL_ERR;
    }
    int rc = ostel_summary_from_json(root, out, err, err_size);
    cJSON_Delete(root);
    return rc;
}

int ostel_summary_read(const char *dir, struct ostel_summary *out, char *err, size_t err_size)
{
    char *path = ostel_xasprintf("%s/summary.json", dir);
    struct ostel_buf b;
    ostel_buf_init(&b, 0);
    int rc;
    if (!ostel_is_file(path)) {
        ostel_summary_init(out);
        snprintf(err, err_size, "missing");
        rc = OSTEL_ERR;
    } else if (ostel_file_read_all(path, SUMMARY_READ_MAX, &b) != 0) {
        ostel_summary_init(out);
        snprintf(err, err_size, "cannot be read");
        rc = OSTEL_ERR;
    } else {
        rc = ostel_summary_parse(b.data ? b.data : "", b.len, out, err, err_size);
    }
    ostel_buf_free(&b);
    free(path);
    return rc;
}

/* ---- the llama section's layouts ---- */

/*
 * Where each value lives in the "llama" section (the log parser's output, docs/parse.md) and in
 * "model_file" (ostel inspect, docs/gguf.md): dotted paths, the first one present wins. The second
 * and third paths are the layouts older versions wrote.
 */
#define NKEYS 3
static const struct {
    const char *prompt_tps[NKEYS], *gen_tps[NKEYS], *prompt_tokens[NKEYS], *gen_tokens[NKEYS];
    const char *load_ms[NKEYS], *prompt_ms[NKEYS], *gen_ms[NKEYS];
    const char *file_type[NKEYS], *model_desc[NKEYS], *size_mib[NKEYS], *n_params[NKEYS];
    const char *version[NKEYS], *breakdown[NKEYS], *buffers[NKEYS], *arch[NKEYS];
    const char *mf_n_params[NKEYS], *mf_size_bytes[NKEYS], *mf_file_type[NKEYS];
    const char *timings_gen_tps[NKEYS];
} llama_keys = {
    .prompt_tps = {"timings.prompt_tps", "prompt_tps"},
    .gen_tps = {"timings.gen_tps", "server_progress.tg_tps", "gen_tps"},
    .timings_gen_tps = {"timings.gen_tps", "gen_tps"},
    .prompt_tokens = {"timings.prompt_tokens", "prompt_tokens"},
    .gen_tokens = {"timings.gen_tokens", "gen_tokens"},
    .load_ms = {"timings.load_ms", "load_ms"},
    .prompt_ms = {"timings.prompt_ms", "prompt_ms"},
    .gen_ms = {"timings.gen_ms", "gen_ms"},
    .file_type = {"model.file_type", "model_file_type"},
    .model_desc = {"model.type", "model_type"},
    .size_mib = {"model.size_mib", "model_size_mib"},
    .n_params = {"model.params", "model_n_params"},
    .version = {"build.text", "build"},
    .breakdown = {"memory_breakdown", "breakdown"},
    .buffers = {"buffers"},
    .arch = {"model.arch", "model_arch"},
    .mf_n_params = {"n_params", "params"},
    .mf_size_bytes = {"file_size", "size_bytes"},
    .mf_file_type = {"file_type_name", "file_type"},
};

/* The first finite number among keys, or NAN. */
static double jnum_first(const cJSON *o, const char *const keys[NKEYS])
{
    for (int i = 0; i < NKEYS && keys[i]; i++) {
        double v = ostel_summary_jnum(o, keys[i]);
        if (!isnan(v))
            return v;
    }
    return NAN;
}

/* The first non-empty string among keys, or NULL. */
static const char *jstr_first(const cJSON *o, const char *const keys[NKEYS])
{
    for (int i = 0; i < NKEYS && keys[i]; i++) {
        const char *s = ostel_summary_jstr(o, keys[i]);
        if (s && *s)
            return s;
    }
    return NULL;
}

/* The first non-null item among keys, or NULL. */
static const cJSON *jtree_first(const cJSON *o, const char *const keys[NKEYS])
{
    for (int i = 0; o && i < NKEYS && keys[i]; i++) {
        const cJSON *v = ostel_summary_jpath(o, keys[i]);
        if (v && !cJSON_IsNull(v))
            return v;
    }
    return NULL;
}

void ostel_summary_llama_facts(const struct ostel_summary *s, struct ostel_summary_llama_facts *out)
{
    const cJSON *l = cJSON_IsObject(s->llama) ? s->llama : NULL;
    const cJSON *mf = cJSON_IsObject(s->model_file) ? s->model_file : NULL;
    out->prompt_tps = jnum_first(l, llama_keys.prompt_tps);
    out->gen_tps = jnum_first(l, llama_keys.gen_tps);
    out->prompt_tokens = jnum_first(l, llama_keys.prompt_tokens);
    out->gen_tokens = jnum_first(l, llama_keys.gen_tokens);
    out->load_ms = jnum_first(l, llama_keys.load_ms);
    out->prompt_ms = jnum_first(l, llama_keys.prompt_ms);
    out->gen_ms = jnum_first(l, llama_keys.gen_ms);
    out->size_mib = jnum_first(l, llama_keys.size_mib);
    out->n_params = jnum_first(l, llama_keys.n_params);
    out->arch = jstr_first(l, llama_keys.arch);
    out->model_desc = jstr_first(l, llama_keys.model_desc);
    out->file_type = jstr_first(l, llama_keys.file_type);
    out->version = jstr_first(l, llama_keys.version);
    out->breakdown = jtree_first(l, llama_keys.breakdown);
    out->buffers = jtree_first(l, llama_keys.buffers);
    out->mf_n_params = jnum_first(mf, llama_keys.mf_n_params);
    out->mf_size_bytes = jnum_first(mf, llama_keys.mf_size_bytes);
    out->mf_file_type = jstr_first(mf, llama_keys.mf_file_type);
    out->timings_gen_tps = jnum_first(l, llama_keys.timings_gen_tps);
}
