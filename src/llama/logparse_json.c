/*
 * logparse_json: the parser's result as JSON (the "llama" object of summary.json and the output of
 * `ostel parse --json`). Every key is always present; a value the log did not print is null. The
 * schema is documented key by key in docs/parse.md; keep the two in step.
 */
#include "llama/logparse_internal.h"

#include <math.h>
#include <string.h>

/* A number, null, or the string "inf"/"-inf" (llama.cpp prints "inf tokens per second"). */
static void add_val(cJSON *o, const char *key, struct ostel_logval v)
{
    if (!v.valid || isnan(v.value))
        cJSON_AddNullToObject(o, key);
    else if (isinf(v.value))
        cJSON_AddStringToObject(o, key, v.value > 0 ? "inf" : "-inf");
    else
        cJSON_AddNumberToObject(o, key, v.value);
}

static void add_str(cJSON *o, const char *key, const char *s)
{
    if (s && *s)
        cJSON_AddStringToObject(o, key, s);
    else
        cJSON_AddNullToObject(o, key);
}

static cJSON *timings_json(const struct ostel_log_timings *t)
{
    cJSON *o = cJSON_CreateObject();
    add_val(o, "load_ms", t->load_ms);
    add_val(o, "prompt_ms", t->prompt_ms);
    add_val(o, "prompt_tokens", t->prompt_tokens);
    add_val(o, "prompt_tps", t->prompt_tps);
    add_val(o, "gen_ms", t->gen_ms);
    add_val(o, "gen_tokens", t->gen_tokens);
    add_val(o, "gen_tps", t->gen_tps);
    add_val(o, "total_ms", t->total_ms);
    add_val(o, "total_tokens", t->total_tokens);
    add_val(o, "sampling_ms", t->sampling_ms);
    add_val(o, "sampling_runs", t->sampling_runs);
    add_val(o, "sampling_tps", t->sampling_tps);
    add_val(o, "samplers_ms", t->samplers_ms);
    add_val(o, "unaccounted_ms", t->unaccounted_ms);
    add_val(o, "graphs_reused", t->graphs_reused);
    cJSON_AddBoolToObject(o, "tps_derived", t->prompt_tps_derived || t->gen_tps_derived);
    return o;
}

static cJSON *model_json(const struct ostel_log_result *r)
{
    const struct ostel_log_model *m = &r->model;
    cJSON *o = cJSON_CreateObject();
    add_str(o, "name", m->name);
    add_str(o, "arch", m->arch);
    add_str(o, "type", m->type);
    add_str(o, "file_type", m->file_type);
    add_str(o, "size_printed", m->size_printed);
    add_val(o, "size_mib", m->size_mib);
    add_val(o, "bpw", m->bpw);
    add_val(o, "params", m->params);
    add_val(o, "n_ctx_train", m->n_ctx_train);
    add_val(o, "n_layer", m->n_layer);
    add_val(o, "n_embd", m->n_embd);
    add_val(o, "n_head", m->n_head);
    add_val(o, "n_head_kv", m->n_head_kv);
    add_val(o, "n_vocab", m->n_vocab);
    cJSON_AddNumberToObject(o, "loads", r->model_loads);
    cJSON_AddNumberToObject(o, "vocab_only_loads", r->vocab_only_loads);
    return o;
}

static cJSON *context_json(const struct ostel_log_result *r)
{
    cJSON *o = cJSON_CreateObject();
    add_val(o, "n_ctx", r->n_ctx);
    add_val(o, "n_ctx_per_seq", r->n_ctx_per_seq);
    add_val(o, "n_seq_max", r->n_seq_max);
    add_val(o, "n_batch", r->n_batch);
    add_val(o, "n_ubatch", r->n_ubatch);
    add_str(o, "flash_attn", r->flash_attn);
    add_val(o, "kv_size_mib", r->kv_size_mib);
    add_val(o, "kv_cells", r->kv_cells);
    add_str(o, "kv_type_k", r->kv_type_k);
    add_str(o, "kv_type_v", r->kv_type_v);
    add_val(o, "kv_k_mib", r->kv_k_mib);
    add_val(o, "kv_v_mib", r->kv_v_mib);
    add_val(o, "offloaded_layers", r->offloaded_layers);
    add_val(o, "offloadable_layers", r->offloadable_layers);
    return o;
}

static cJSON *breakdown_json(const struct ostel_log_result *r)
{
    if (r->n_breakdown == 0)
        return cJSON_CreateNull();
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; i < r->n_breakdown; i++) {
        const struct ostel_log_breakdown_row *b = &r->breakdown[i];
        cJSON *o = cJSON_CreateObject();
        add_str(o, "device", b->device);
        add_val(o, "total", b->total);
        add_val(o, "free", b->free);
        add_val(o, "self", b->self);
        add_val(o, "model", b->model);
        add_val(o, "context", b->context);
        add_val(o, "compute", b->compute);
        add_val(o, "unaccounted", b->unaccounted);
        /* negative (free measured before allocation) or underflowed (2^44 MiB and up) values */
        bool suspect = false;
        const struct ostel_logval *vals[] = {&b->total,   &b->free,    &b->self,       &b->model,
                                             &b->context, &b->compute, &b->unaccounted};
        for (size_t k = 0; k < OSTEL_ARRAY_LEN(vals); k++)
            if (vals[k]->valid && (vals[k]->value < 0 || vals[k]->value >= 17592186044416.0 / 2))
                suspect = true;
        cJSON_AddBoolToObject(o, "suspect", suspect);
        cJSON_AddItemToArray(a, o);
    }
    return a;
}

static cJSON *bench_json(const struct ostel_log_result *r)
{
    if (r->n_bench == 0)
        return cJSON_CreateNull();
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; i < r->n_bench; i++) {
        const struct ostel_log_bench_row *b = &r->bench[i];
        cJSON *o = cJSON_CreateObject();
        add_str(o, "model", b->model);
        add_val(o, "size_mib", b->size_mib);
        add_val(o, "params", b->params);
        add_str(o, "backend", b->backend);
        add_val(o, "ngl", b->ngl);
        add_val(o, "threads", b->threads);
        add_val(o, "n_batch", b->n_batch);
        add_val(o, "n_ubatch", b->n_ubatch);
        add_str(o, "type_k", b->type_k);
        add_str(o, "type_v", b->type_v);
        add_str(o, "flash_attn", b->flash_attn);
        add_str(o, "test", b->test);
        add_val(o, "n_prompt", b->n_prompt);
        add_val(o, "n_gen", b->n_gen);
        add_val(o, "depth", b->depth);
        add_val(o, "avg_ts", b->avg_ts);
        add_val(o, "stddev_ts", b->stddev_ts);
        cJSON_AddItemToArray(a, o);
    }
    return a;
}

static cJSON *perplexity_json(const struct ostel_log_result *r)
{
    if (!r->has_perplexity)
        return cJSON_CreateNull();
    const struct ostel_log_perplexity *p = &r->perplexity;
    cJSON *o = cJSON_CreateObject();
    add_val(o, "ppl", p->ppl);
    add_val(o, "ppl_stderr", p->ppl_stderr);
    add_val(o, "mean_ppl_q", p->mean_ppl_q);
    add_val(o, "mean_ppl_q_stderr", p->mean_ppl_q_stderr);
    add_val(o, "mean_ppl_base", p->mean_ppl_base);
    add_val(o, "mean_ppl_base_stderr", p->mean_ppl_base_stderr);
    add_val(o, "kld_mean", p->kld_mean);
    add_val(o, "kld_mean_stderr", p->kld_mean_stderr);
    add_val(o, "kld_max", p->kld_max);
    add_val(o, "kld_p99_9", p->kld_p99_9);
    add_val(o, "kld_p99", p->kld_p99);
    add_val(o, "kld_p95", p->kld_p95);
    add_val(o, "kld_p90", p->kld_p90);
    add_val(o, "kld_median", p->kld_median);
    add_val(o, "kld_p10", p->kld_p10);
    add_val(o, "kld_p5", p->kld_p5);
    add_val(o, "kld_p1", p->kld_p1);
    add_val(o, "kld_p0_1", p->kld_p0_1);
    add_val(o, "kld_min", p->kld_min);
    add_val(o, "same_top_p_pct", p->same_top_p_pct);
    add_val(o, "same_top_p_stderr", p->same_top_p_stderr);
    add_val(o, "ppl_cor_pct", p->ppl_cor_pct);
    add_val(o, "ln_ppl_ratio", p->ln_ppl_ratio);
    add_val(o, "ln_ppl_ratio_stderr", p->ln_ppl_ratio_stderr);
    add_val(o, "ppl_ratio", p->ppl_ratio);
    add_val(o, "ppl_ratio_stderr", p->ppl_ratio_stderr);
    add_val(o, "ppl_diff", p->ppl_diff);
    add_val(o, "ppl_diff_stderr", p->ppl_diff_stderr);
    add_val(o, "mean_dp_pct", p->mean_dp_pct);
    add_val(o, "mean_dp_stderr", p->mean_dp_stderr);
    add_val(o, "rms_dp_pct", p->rms_dp_pct);
    add_val(o, "rms_dp_stderr", p->rms_dp_stderr);
    add_val(o, "n_chunks", p->n_chunks);
    add_val(o, "tokens_needed", p->tokens_needed);
    add_val(o, "tokens_have", p->tokens_have);
    add_val(o, "seconds_per_pass", p->seconds_per_pass);
    cJSON_AddItemToObject(o, "error",
                          p->error[0] ? cJSON_CreateString(p->error) : cJSON_CreateNull());
    return o;
}

cJSON *ostel_logparse_to_json(const struct ostel_log_result *r)
{
    cJSON *o = cJSON_CreateObject();
    add_str(o, "format", ostel_logparse_format_name(r->timings.format));
    add_str(o, "platform", ostel_logparse_platform(r));
    char sep[2] = {r->decimal_separator, '\0'};
    add_str(o, "decimal_separator", sep);
    cJSON_AddBoolToObject(o, "truncated", r->timings.truncated);
    cJSON_AddItemToObject(o, "timings", timings_json(&r->timings));
    cJSON *srv = cJSON_CreateObject();
    add_val(srv, "n_decoded", r->server_n_decoded);
    add_val(srv, "tg_tps", r->server_tg_tps);
    cJSON_AddItemToObject(o, "server_progress", srv);
    cJSON_AddItemToObject(o, "model", model_json(r));
    cJSON_AddItemToObject(o, "context", context_json(r));

    cJSON *devs = cJSON_CreateArray();
    for (size_t i = 0; i < r->n_devices; i++) {
        cJSON *d = cJSON_CreateObject();
        add_str(d, "name", r->devices[i].name);
        add_val(d, "free_mib", r->devices[i].free_mib);
        cJSON_AddItemToArray(devs, d);
    }
    cJSON_AddItemToObject(o, "devices", devs);
    add_val(o, "recommended_max_working_set_mb", r->recommended_max_working_set_mb);

    cJSON *bufs = cJSON_CreateArray();
    for (size_t i = 0; i < r->n_buffers; i++) {
        cJSON *b = cJSON_CreateObject();
        cJSON_AddStringToObject(b, "kind", ostel_logparse_buffer_kind_name(r->buffers[i].kind));
        cJSON_AddStringToObject(b, "backend", r->buffers[i].backend);
        cJSON_AddNumberToObject(b, "mib", r->buffers[i].mib);
        cJSON_AddItemToArray(bufs, b);
    }
    cJSON_AddItemToObject(o, "buffers", bufs);
    cJSON *tot = cJSON_CreateObject();
    for (int k = 0; k < OSTEL_LOGPARSE_BUF_KIND_COUNT; k++)
        add_val(tot, ostel_logparse_buffer_kind_name((enum ostel_logparse_buffer_kind)k),
                ostel_logparse_buffer_total(r, (enum ostel_logparse_buffer_kind)k));
    cJSON_AddItemToObject(o, "buffer_totals_mib", tot);

    cJSON_AddItemToObject(o, "memory_breakdown", breakdown_json(r));
    cJSON_AddNumberToObject(o, "memory_breakdown_tables", r->breakdown_tables);

    cJSON *build = cJSON_CreateObject();
    add_str(build, "text", r->build);
    add_val(build, "number", r->build_number);
    add_str(build, "commit", r->build_commit);
    cJSON_AddItemToObject(o, "build", build);
    add_str(o, "system_info", r->system_info);
    cJSON_AddItemToObject(o, "bench", bench_json(r));
    cJSON_AddItemToObject(o, "perplexity", perplexity_json(r));
    return o;
}
