/*
 * cmd_parse: `ostel parse LOG [--json]` reads an existing llama.cpp log (or one of a runtime that
 * embeds it) and prints what src/llama/logparse found: timings, model and context facts, buffers,
 * the memory breakdown, llama-bench rows, perplexity. The file is read whole with a size cap; "-"
 * reads standard input.
 */
#include "cmd/cmd.h"
#include "llama/logparse.h"
#include "util/fileio.h"
#include "util/opt.h"
#include "util/util.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PARSE_MAX_BYTES ((size_t)256 << 20)

enum { OPT_JSON = 1000 };

static const struct ostel_option parse_opts[] = {
    {OPT_JSON, "json", NULL, NULL, "print the result as JSON (the schema of docs/parse.md)"},
};

static const struct ostel_command_help parse_help = {
    "parse", "LOG [--json]", "parse an existing llama.cpp log: timings, buffers, memory breakdown",
    "LOG is a file or '-' for standard input (at most 256 MiB). Logs of llama-completion, "
    "llama-cli,\nllama-server, llama-bench, llama-perplexity, llama-cpp-python and Ollama are "
    "understood; lines\nit does not know are skipped, and a value the log lacks is left out "
    "(null in JSON)."};

struct parse_opts_ctx {
    bool json;
};

static int on_option(void *ctx, int id, const char *arg, const char *source)
{
    (void)arg;
    (void)source;
    struct parse_opts_ctx *c = ctx;
    if (id == OPT_JSON)
        c->json = true;
    return 0;
}

static int read_stdin(size_t max, struct ostel_buf *out)
{
    char chunk[65536];
    for (;;) {
        ssize_t n = read(STDIN_FILENO, chunk, sizeof(chunk));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return ostel_error("cannot read standard input: %s", strerror(errno));
        }
        if (n == 0)
            return OSTEL_OK;
        if (out->len + (size_t)n > max)
            return ostel_error("standard input is larger than %zu bytes", max);
        ostel_buf_append(out, chunk, (size_t)n);
    }
}

static void put_val(const char *label, struct ostel_logval v, const char *unit, int decimals)
{
    if (!v.valid)
        return;
    if (isinf(v.value))
        printf("  %-22s inf%s%s\n", label, unit ? " " : "", unit ? unit : "");
    else
        printf("  %-22s %.*f%s%s\n", label, decimals, v.value, unit ? " " : "", unit ? unit : "");
}

static void put_str(const char *label, const char *s)
{
    if (s && *s)
        printf("  %-22s %s\n", label, s);
}

static void print_timings(const struct ostel_log_result *r)
{
    const struct ostel_log_timings *t = &r->timings;
    const char *fmt = ostel_logparse_format_name(t->format);
    printf("timings%s%s%s\n", fmt ? " (" : "", fmt ? fmt : "", fmt ? ")" : ": none");
    put_val("load", t->load_ms, "ms", 2);
    put_val("prompt eval", t->prompt_ms, "ms", 2);
    put_val("prompt tokens", t->prompt_tokens, NULL, 0);
    put_val("prompt speed", t->prompt_tps, "tokens/s", 2);
    put_val("generation", t->gen_ms, "ms", 2);
    put_val("generated tokens", t->gen_tokens, NULL, 0);
    put_val("generation speed", t->gen_tps, "tokens/s", 2);
    put_val("total", t->total_ms, "ms", 2);
    put_val("total tokens", t->total_tokens, NULL, 0);
    put_val("sampling", t->sampling_ms, "ms", 2);
    put_val("server tg (progress)", r->server_tg_tps, "tokens/s", 2);
    if (t->truncated)
        printf("  (the timing block was cut short)\n");
    if (t->prompt_tps_derived || t->gen_tps_derived)
        printf("  (speed computed from ms and tokens: the log did not print it)\n");
}

static void print_model(const struct ostel_log_model *m)
{
    if (!m->seen)
        return;
    printf("model\n");
    put_str("name", m->name);
    put_str("arch", m->arch);
    put_str("type", m->type);
    put_str("file type", m->file_type);
    put_str("file size", m->size_printed);
    if (m->params.valid)
        printf("  %-22s %.2f B\n", "params", m->params.value / 1e9);
    put_val("n_ctx_train", m->n_ctx_train, NULL, 0);
    put_val("n_layer", m->n_layer, NULL, 0);
    put_val("n_embd", m->n_embd, NULL, 0);
    put_val("n_head", m->n_head, NULL, 0);
    put_val("n_head_kv", m->n_head_kv, NULL, 0);
}

/* The context, KV cache and offload; then the devices. */
static void print_context(const struct ostel_log_result *r)
{
    if (r->n_ctx.valid || r->kv_size_mib.valid || r->offloaded_layers.valid) {
        printf("context\n");
        put_val("n_ctx", r->n_ctx, NULL, 0);
        put_val("n_batch", r->n_batch, NULL, 0);
        put_val("n_ubatch", r->n_ubatch, NULL, 0);
        put_str("flash_attn", r->flash_attn);
        put_val("KV cache", r->kv_size_mib, "MiB", 2);
        put_str("KV type K", r->kv_type_k);
        put_str("KV type V", r->kv_type_v);
        if (r->offloaded_layers.valid)
            printf("  %-22s %.0f/%.0f\n", "layers on GPU", r->offloaded_layers.value,
                   r->offloadable_layers.value);
    }
    for (size_t i = 0; i < r->n_devices; i++) {
        if (i == 0)
            printf("devices\n");
        if (r->devices[i].free_mib.valid)
            printf("  %-22s %.0f MiB free at load\n", r->devices[i].name,
                   r->devices[i].free_mib.value);
        else
            printf("  %s\n", r->devices[i].name);
    }
}

/* The buffers and the memory breakdown, where the log printed them. */
static void print_memory(const struct ostel_log_result *r)
{
    if (r->n_buffers > 0) {
        printf("buffers (MiB)\n");
        for (size_t i = 0; i < r->n_buffers; i++)
            printf("  %-14s %-8s %10.2f\n", r->buffers[i].backend,
                   ostel_logparse_buffer_kind_name(r->buffers[i].kind), r->buffers[i].mib);
    }
    if (r->n_breakdown > 0) {
        printf("memory breakdown (MiB)   total     free     self    model  context  compute  "
               "unaccounted\n");
        for (size_t i = 0; i < r->n_breakdown; i++) {
            const struct ostel_log_breakdown_row *b = &r->breakdown[i];
            printf("  %-22.22s", b->device);
            const struct ostel_logval *v[] = {&b->total,   &b->free,    &b->self,       &b->model,
                                              &b->context, &b->compute, &b->unaccounted};
            for (size_t k = 0; k < 7; k++) {
                if (v[k]->valid)
                    printf(" %8.0f", v[k]->value);
                else
                    printf(" %8s", "-");
            }
            printf("\n");
        }
    }
}

/* llama-bench's rows, perplexity's results and the build, where the log printed them. */
static void print_results(const struct ostel_log_result *r)
{
    if (r->n_bench > 0) {
        printf("llama-bench\n");
        for (size_t i = 0; i < r->n_bench; i++) {
            const struct ostel_log_bench_row *b = &r->bench[i];
            printf("  %-30.30s %-16s %10.2f", b->model, b->test, b->avg_ts.value);
            if (b->stddev_ts.valid)
                printf(" ± %.2f", b->stddev_ts.value);
            printf(" t/s\n");
        }
    }
    if (r->has_perplexity) {
        printf("perplexity\n");
        put_val("PPL", r->perplexity.ppl, NULL, 4);
        put_val("mean PPL(Q)", r->perplexity.mean_ppl_q, NULL, 6);
        put_val("mean PPL(base)", r->perplexity.mean_ppl_base, NULL, 6);
        put_val("mean KLD", r->perplexity.kld_mean, NULL, 6);
        put_val("same top p", r->perplexity.same_top_p_pct, "%", 3);
    }
    if (r->build[0] || r->system_info[0]) {
        printf("build\n");
        put_str("llama.cpp", r->build);
        put_str("system_info", r->system_info);
    }
}

static void print_human(const char *name, const struct ostel_log_result *r)
{
    printf("%s\n", name);
    print_timings(r);
    print_model(&r->model);
    print_context(r);
    print_memory(r);
    print_results(r);
}

int ostel_cmd_parse(int argc, char **argv)
{
    struct parse_opts_ctx ctx = {false};
    int first = 0;
    int rc = ostel_options_parse(&parse_help, parse_opts, OSTEL_ARRAY_LEN(parse_opts), argc, argv,
                                 on_option, &ctx, &first);
    if (rc == OSTEL_OPT_HELP)
        return OSTEL_EXIT_OK;
    if (rc != OSTEL_OPT_DONE)
        return OSTEL_EXIT_USAGE;
    /* options may also follow the file name: "ostel parse LOG --json" */
    const char *path = NULL;
    for (int i = first; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            ctx.json = true;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            ostel_error("parse: unknown option '%s' (see 'ostel parse --help')", argv[i]);
            return OSTEL_EXIT_USAGE;
        } else if (path) {
            ostel_error("parse: one log at a time ('%s' and '%s')", path, argv[i]);
            return OSTEL_EXIT_USAGE;
        } else {
            path = argv[i];
        }
    }
    if (!path) {
        ostel_error("parse: which log? (usage: ostel parse LOG [--json]; '-' reads stdin)");
        return OSTEL_EXIT_USAGE;
    }

    struct ostel_buf data;
    ostel_buf_init(&data, 0);
    int r = strcmp(path, "-") == 0 ? read_stdin(PARSE_MAX_BYTES, &data)
                                   : ostel_file_read_all(path, PARSE_MAX_BYTES, &data);
    if (r != OSTEL_OK) {
        ostel_buf_free(&data);
        return OSTEL_EXIT_FAIL;
    }
    struct ostel_log_result res;
    ostel_logparse_result_init(&res);
    char err[256] = "";
    if (ostel_logparse_parse(data.data, data.len, &res, err, sizeof(err)) != OSTEL_OK) {
        ostel_buf_free(&data);
        ostel_error("parse: %s", err);
        return OSTEL_EXIT_FAIL;
    }
    ostel_buf_free(&data);
    int status = OSTEL_EXIT_OK;
    if (ctx.json) {
        cJSON *j = ostel_logparse_to_json(&res);
        char *s = cJSON_Print(j);
        cJSON_Delete(j);
        if (!s) {
            status = OSTEL_EXIT_FAIL;
            ostel_error("parse: out of memory formatting JSON");
        } else {
            printf("%s\n", s);
            cJSON_free(s);
        }
    } else {
        print_human(strcmp(path, "-") == 0 ? "(stdin)" : path, &res);
    }
    ostel_logparse_result_free(&res);
    if (fflush(stdout) != 0) {
        ostel_error("parse: cannot write the output: %s", strerror(errno));
        status = OSTEL_EXIT_FAIL;
    }
    return status;
}
