/*
 * cmd_inspect: `ostel inspect MODEL.gguf [MODEL2.gguf...] [--json]` prints what a GGUF header says
 * about a model: shape, file type, sizes, KV-cache bytes per token, bytes by tensor type. Several
 * files give one column each; --json gives the object of ostel_gguf_model_json() (an array for
 * several files).
 */
#include "cmd/cmd.h"
#include "llama/ggml_types.h"
#include "llama/gguf_facts.h"
#include "util/opt.h"
#include "util/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { OPT_JSON = 256, OPT_TENSORS };

/* Sorted by long name. */
static const struct ostel_option options[] = {
    {OPT_JSON, "json", NULL, NULL, "print JSON (an object; an array for several files)"},
    {OPT_TENSORS, "tensors", NULL, NULL, "also list every tensor (name, type, shape, bytes)"},
};

static const struct ostel_command_help help = {
    "inspect", "MODEL.gguf [MODEL2.gguf...] [--json] [--tensors]",
    "read a GGUF file's header: shape, type, sizes, KV bytes per token",
    "Only the header is read, so any size of model is inspected at once. 'tensor data' is the sum\n"
    "of tensor sizes that llama.cpp prints as \"file size = ... (... BPW)\"; the KV cache per\n"
    "token is for an f16 cache: 2 (K and V) * layers * kv heads * head size * 2 bytes."};

struct inspect_args {
    bool json;
    bool tensors;
};

static int on_option(void *ctx, int id, const char *arg, const char *source)
{
    struct inspect_args *a = ctx;
    if (id == OPT_JSON)
        a->json = true;
    else if (id == OPT_TENSORS)
        a->tensors = true;
    return 0;
}

struct model {
    const char *path;
    struct ostel_gguf g;
    struct ostel_gguf_model m;
};

#define MAX_ROWS 96

struct table {
    size_t n_rows, n_cols;
    char *label[MAX_ROWS];
    char **cell[MAX_ROWS]; /* n_cols each; NULL = "-" */
};

static size_t row(struct table *t, const char *label)
{
    for (size_t i = 0; i < t->n_rows; i++)
        if (strcmp(t->label[i], label) == 0)
            return i;
    OSTEL_ASSERT(t->n_rows < MAX_ROWS);
    t->label[t->n_rows] = ostel_xstrdup(label);
    t->cell[t->n_rows] = ostel_xcalloc(t->n_cols, sizeof(char *));
    return t->n_rows++;
}

static void set(struct table *t, const char *label, size_t col, char *owned_value)
{
    size_t r = row(t, label);
    free(t->cell[r][col]);
    t->cell[r][col] = owned_value;
}

static char *u32_or_dash(uint32_t v)
{
    return v ? ostel_xasprintf("%u", v) : NULL;
}

static char *params_text(uint64_t n)
{
    if (n >= 1000000000ull)
        return ostel_xasprintf("%.2f B (%llu)", n * 1e-9, (unsigned long long)n);
    if (n >= 1000000ull)
        return ostel_xasprintf("%.2f M (%llu)", n * 1e-6, (unsigned long long)n);
    return ostel_xasprintf("%.2f K (%llu)", n * 1e-3, (unsigned long long)n);
}

/* llama.cpp's "file size" format: MiB below 1 GiB, else GiB. */
static char *size_text(uint64_t b)
{
    if (b < (1ull << 30))
        return ostel_xasprintf("%.2f MiB (%llu bytes)", b / 1048576.0, (unsigned long long)b);
    return ostel_xasprintf("%.2f GiB (%llu bytes)", b / 1073741824.0, (unsigned long long)b);
}

static void fill_column(struct table *t, size_t c, const struct model *md)
{
    const struct ostel_gguf *g = &md->g;
    const struct ostel_gguf_model *m = &md->m;
    set(t, "file", c, ostel_xstrdup(md->path));
    set(t, "architecture", c, m->arch ? ostel_xstrdup(m->arch) : NULL);
    set(t, "name", c, m->name ? ostel_xstrdup(m->name) : NULL);
    set(t, "parameters", c, params_text(m->n_params));
    set(t, "file type", c,
        ostel_xasprintf("%s (%u)", m->file_type_name,
                        m->file_type & ~(uint32_t)OSTEL_LLAMA_FTYPE_GUESSED));
    set(t, "file size", c, size_text(g->file_size));
    char *td = size_text(m->tensor_bytes);
    set(t, "tensor data", c, m->n_params ? ostel_xasprintf("%s, %.2f BPW", td, m->bpw) : td);
    if (m->n_params)
        free(td);
    set(t, "gguf", c,
        ostel_xasprintf("v%u, %zu keys, %zu tensors", g->version, g->n_kv, g->n_tensors));
    set(t, "layers", c, u32_or_dash(m->n_layer));
    set(t, "embedding", c, u32_or_dash(m->n_embd));
    set(t, "feed forward", c, u32_or_dash(m->n_ff));
    set(t, "heads", c, u32_or_dash(m->n_head));
    set(t, "kv heads", c,
        m->n_head_kv ? ostel_xasprintf("%u%s", m->n_head_kv,
                                       m->n_head_kv_per_layer ? " (max; per layer)" : "")
                     : NULL);
    set(t, "head size k/v", c,
        m->head_dim_k || m->head_dim_v ? ostel_xasprintf("%u / %u", m->head_dim_k, m->head_dim_v)
                                       : NULL);
    set(t, "trained context", c, u32_or_dash(m->n_ctx_train));
    set(t, "vocabulary", c, u32_or_dash(m->n_vocab));
    if (m->rope_freq_base || m->n_rot) {
        struct ostel_buf b;
        ostel_buf_init(&b, 0);
        ostel_buf_printf(&b, "base %g, %u dims", m->rope_freq_base, m->n_rot);
        if (m->rope_scaling_type)
            ostel_buf_printf(&b, ", %s x%g", m->rope_scaling_type, m->rope_scaling_factor);
        if (m->has_rope_freqs)
            ostel_buf_puts(&b, ", freq factors");
        set(t, "rope", c, ostel_buf_detach(&b));
    }
    if (m->sliding_window)
        set(t, "sliding window", c,
            ostel_xasprintf("%u (pattern %u)", m->sliding_window, m->sliding_window_pattern));
    if (m->kv_bytes_per_token_f16) {
        char b[32];
        ostel_fmt_bytes(m->kv_bytes_per_token_f16, b, sizeof(b));
        set(t, "KV cache/token f16", c,
            ostel_xasprintf("%s (%llu bytes)", b, (unsigned long long)m->kv_bytes_per_token_f16));
        if (m->n_ctx_train) {
            char b2[32];
            ostel_fmt_bytes(m->kv_bytes_per_token_f16 * m->n_ctx_train, b2, sizeof(b2));
            set(t, "KV cache f16 @ train ctx", c, ostel_xstrdup(b2));
        }
    }
    for (size_t i = 0; i < m->n_types; i++) {
        const char *tn = ostel_ggml_type_name(m->types[i].type);
        char label[64];
        if (tn)
            snprintf(label, sizeof(label), "bytes %s", tn);
        else
            snprintf(label, sizeof(label), "bytes type %u", m->types[i].type);
        char b[32];
        ostel_fmt_bytes(m->types[i].bytes, b, sizeof(b));
        set(t, label, c,
            tn ? ostel_xasprintf("%s (%llu tensors)", b, (unsigned long long)m->types[i].count)
               : ostel_xasprintf("unknown ggml type %u (%llu tensors)", m->types[i].type,
                                 (unsigned long long)m->types[i].count));
    }
}

static void print_table(const struct table *t)
{
    size_t lw = 0;
    size_t *cw = ostel_xcalloc(t->n_cols, sizeof(size_t));
    for (size_t r = 0; r < t->n_rows; r++) {
        if (strlen(t->label[r]) > lw)
            lw = strlen(t->label[r]);
        for (size_t c = 0; c < t->n_cols; c++) {
            size_t n = t->cell[r][c] ? strlen(t->cell[r][c]) : 1;
            if (n > cw[c])
                cw[c] = n;
        }
    }
    for (size_t r = 0; r < t->n_rows; r++) {
        printf("%-*s", (int)lw, t->label[r]);
        for (size_t c = 0; c < t->n_cols; c++) {
            const char *v = t->cell[r][c] ? t->cell[r][c] : "-";
            if (c + 1 == t->n_cols)
                printf("  %s", v);
            else
                printf("  %-*s", (int)cw[c], v);
        }
        printf("\n");
    }
    free(cw);
}

static void print_tensors(const struct model *md)
{
    printf("\ntensors of %s:\n", md->path);
    for (size_t i = 0; i < md->g.n_tensors; i++) {
        const struct ostel_gguf_tensor *t = &md->g.tensors[i];
        char shape[128];
        int n = snprintf(shape, sizeof(shape), "[");
        for (uint32_t d = 0; d < t->n_dims; d++)
            n += snprintf(shape + n, sizeof(shape) - (size_t)n, "%s%llu", d ? ", " : "",
                          (unsigned long long)t->ne[d]);
        snprintf(shape + n, sizeof(shape) - (size_t)n, "]");
        const char *tn = ostel_ggml_type_name(t->type);
        char ty[24];
        snprintf(ty, sizeof(ty), "%s", tn ? tn : "?");
        if (!tn)
            snprintf(ty, sizeof(ty), "type %u", t->type);
        printf("  %-40s %-8s %-24s %14llu bytes  @%llu\n", t->name, ty, shape,
               (unsigned long long)t->bytes, (unsigned long long)t->offset);
    }
}

int ostel_cmd_inspect(int argc, char **argv)
{
    struct inspect_args a = {0};
    struct ostel_args args;
    int r = ostel_options_parse_mixed(&help, options, OSTEL_ARRAY_LEN(options), argc, argv,
                                      on_option, &a, &args);
    if (r != OSTEL_OPT_DONE)
        return r == OSTEL_OPT_HELP ? OSTEL_EXIT_OK : OSTEL_EXIT_USAGE;
    char **pos = args.pos; /* the files, "--" or not */
    size_t n = (size_t)(args.npos + args.nrest);
    if (n == 0 || n > 16) {
        ostel_error(n ? "inspect: at most 16 files at once"
                      : "inspect: give at least one GGUF file");
        ostel_args_free(&args);
        return OSTEL_EXIT_USAGE;
    }
    struct model *md = ostel_xcalloc(n, sizeof(*md));
    int rc = OSTEL_EXIT_OK;
    size_t loaded = 0;
    for (size_t i = 0; i < n; i++, loaded++) {
        char err[512];
        md[i].path = pos[i];
        if (ostel_gguf_read_file(&md[i].g, md[i].path, err, sizeof(err)) != OSTEL_OK) {
            ostel_error("%s: %s", md[i].path, err);
            ostel_gguf_free(&md[i].g);
            rc = OSTEL_EXIT_FAIL;
            break;
        }
        ostel_gguf_model_init(&md[i].m, &md[i].g);
    }
    if (rc == OSTEL_EXIT_OK && a.json) {
        cJSON *out = NULL;
        if (n == 1) {
            out = ostel_gguf_model_json(&md[0].g, &md[0].m, md[0].path);
        } else {
            out = cJSON_CreateArray();
            for (size_t i = 0; i < n; i++)
                cJSON_AddItemToArray(out, ostel_gguf_model_json(&md[i].g, &md[i].m, md[i].path));
        }
        char *s = cJSON_Print(out);
        printf("%s\n", s);
        free(s);
        cJSON_Delete(out);
    } else if (rc == OSTEL_EXIT_OK) {
        struct table t = {.n_cols = n};
        for (size_t i = 0; i < n; i++)
            fill_column(&t, i, &md[i]);
        print_table(&t);
        for (size_t i = 0; i < t.n_rows; i++) {
            for (size_t c = 0; c < t.n_cols; c++)
                free(t.cell[i][c]);
            free(t.cell[i]);
            free(t.label[i]);
        }
        for (size_t i = 0; a.tensors && i < n; i++)
            print_tensors(&md[i]);
    }
    for (size_t i = 0; i < loaded; i++) {
        ostel_gguf_model_free(&md[i].m);
        ostel_gguf_free(&md[i].g);
    }
    free(md);
    ostel_args_free(&args);
    return rc;
}
