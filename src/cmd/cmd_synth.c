/*
 * cmd_synth: `ostel synth PRESET -o OUT.gguf` or `ostel synth --arch llama --layers N ... -o
 * OUT.gguf` writes a random-weight GGUF of a real model's shape (src/llama/synth.h, docs/gguf.md).
 */
#include "cmd/cmd.h"
#include "llama/ggml_types.h"
#include "llama/llama_tools.h"
#include "llama/synth.h"
#include "util/fileio.h"
#include "util/opt.h"
#include "util/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    OPT_ARCH = 256,
    OPT_CTX_TRAIN,
    OPT_DRY_RUN,
    OPT_EMBD,
    OPT_FF,
    OPT_FORCE,
    OPT_HEAD_DIM,
    OPT_HEADS,
    OPT_KV_HEADS,
    OPT_LAYERS,
    OPT_LIST,
    OPT_SEED,
    OPT_SPARSE,
    OPT_TIED,
    OPT_TYPE,
    OPT_VOCAB,
};

/* Sorted by long name. */
static const struct ostel_option options[] = {
    {OPT_ARCH, "arch", "ARCH", NULL, "custom shape: llama or qwen2 (instead of a preset)"},
    {OPT_CTX_TRAIN, "ctx-train", "N", NULL, "custom: trained context length (default 4096)"},
    {OPT_DRY_RUN, "dry-run", NULL, NULL, "print the size it would write, write nothing"},
    {OPT_EMBD, "embd", "N", NULL, "custom: embedding length"},
    {OPT_FF, "ff", "N", NULL, "custom: feed-forward length"},
    {OPT_FORCE, "force", NULL, NULL, "replace an existing output file"},
    {OPT_HEAD_DIM, "head-dim", "N", NULL, "custom: head size (default embd / heads)"},
    {OPT_HEADS, "heads", "N", NULL, "custom: attention heads"},
    {OPT_KV_HEADS, "kv-heads", "N", NULL, "custom: key/value heads (default = heads)"},
    {OPT_LAYERS, "layers", "N", NULL, "custom: layers (blocks)"},
    {OPT_LIST, "list", NULL, NULL, "list the presets and exit"},
    {'o', "output", "FILE", NULL, "the GGUF to write (required)"},
    {OPT_SEED, "seed", "N", "OSTEL_SYNTH_SEED", "random seed (default 1): same seed, same bytes"},
    {OPT_SPARSE, "sparse", NULL, NULL,
     "header and shapes only: weights are a hole that reads as zeros (for fit, inspect)"},
    {OPT_TIED, "tied", NULL, NULL, "custom: tie output to token embeddings (no output.weight)"},
    {OPT_TYPE, "type", "TYPE", "OSTEL_SYNTH_TYPE", "f16 (default) or q8_0"},
    {OPT_VOCAB, "vocab", "FILE", "OSTEL_SYNTH_VOCAB",
     "vocab GGUF for the tokenizer (default: the preset's, from the pinned release)"},
};

static const struct ostel_command_help help = {
    "synth", "[PRESET] -o OUT.gguf [--type f16|q8_0] [--seed N]",
    "write a random-weight GGUF with the exact shapes of a real model",
    "Presets (see --list): llama-3.1-8b, llama-3.2-1b, llama-3.2-3b, qwen2.5-0.5b, qwen2.5-1.5b,\n"
    "tiny-llama, tiny-qwen. Or a custom shape: --arch llama --layers 4 --embd 512 --ff 1024\n"
    "--heads 8 --kv-heads 2. The tokenizer comes from a vocab GGUF of the pinned llama.cpp\n"
    "release; the vocabulary size is that file's token count. Quantize the result with\n"
    "llama-quantize (--allow-requantize when it is q8_0)."};

struct synth_args {
    struct ostel_synth_shape shape;
    bool custom;
    const char *out;
    const char *vocab;
    const char *type;
    uint64_t seed;
    bool force, dry_run, list, sparse;
};

static int parse_u32(const char *arg, const char *what, uint32_t *out)
{
    int64_t v;
    if (!ostel_parse_i64(arg, 1, 1 << 30, &v))
        return ostel_error("bad --%s '%s' (a positive integer)", what, arg);
    *out = (uint32_t)v;
    return 0;
}

static int on_option(void *ctx, int id, const char *arg, const char *source)
{
    struct synth_args *a = ctx;
    struct ostel_synth_shape *s = &a->shape;
    switch (id) {
    case OPT_ARCH:
        a->custom = true;
        s->arch = arg;
        return 0;
    case OPT_CTX_TRAIN:
        a->custom = true;
        return parse_u32(arg, "ctx-train", &s->n_ctx_train);
    case OPT_DRY_RUN:
        a->dry_run = true;
        return 0;
    case OPT_EMBD:
        a->custom = true;
        return parse_u32(arg, "embd", &s->n_embd);
    case OPT_FF:
        a->custom = true;
        return parse_u32(arg, "ff", &s->n_ff);
    case OPT_FORCE:
        a->force = true;
        return 0;
    case OPT_SPARSE:
        a->sparse = true;
        return 0;
    case OPT_HEAD_DIM:
        a->custom = true;
        return parse_u32(arg, "head-dim", &s->head_dim);
    case OPT_HEADS:
        a->custom = true;
        return parse_u32(arg, "heads", &s->n_head);
    case OPT_KV_HEADS:
        a->custom = true;
        return parse_u32(arg, "kv-heads", &s->n_head_kv);
    case OPT_LAYERS:
        a->custom = true;
        return parse_u32(arg, "layers", &s->n_layer);
    case OPT_LIST:
        a->list = true;
        return 0;
    case 'o':
        a->out = arg;
        return 0;
    case OPT_SEED: {
        int64_t v;
        if (!ostel_parse_i64(arg, 0, INT64_MAX, &v))
            return ostel_error("bad %s '%s' (a non-negative integer)", source ? source : "--seed",
                               arg);
        a->seed = (uint64_t)v;
        return 0;
    }
    case OPT_TIED:
        a->custom = true;
        s->tied_embeddings = true;
        return 0;
    case OPT_TYPE:
        a->type = arg;
        return 0;
    case OPT_VOCAB:
        a->vocab = arg;
        return 0;
    }
    return 0;
}

static void list_presets(void)
{
    printf("%-14s %-6s %6s %6s %6s %5s %5s %5s %7s  %s\n", "preset", "arch", "layers", "embd", "ff",
           "heads", "kv", "hdim", "vocab", "vocab file");
    for (size_t i = 0; ostel_synth_preset_at(i); i++) {
        const struct ostel_synth_shape *p = ostel_synth_preset_at(i);
        printf("%-14s %-6s %6u %6u %6u %5u %5u %5u %7u  %s%s\n", p->preset, p->arch, p->n_layer,
               p->n_embd, p->n_ff, p->n_head, p->n_head_kv, p->head_dim, p->n_vocab, p->vocab_file,
               p->tied_embeddings ? " (tied)" : "");
    }
}

/* --arch's shape with the defaults the options left out, checked; prints why not (OSTEL_ERR). */
static int custom_shape(const struct synth_args *a, struct ostel_synth_shape *shape)
{
    *shape = a->shape;
    if (!shape->arch)
        return ostel_error("synth: a custom shape needs --arch llama|qwen2");
    bool qwen = strcmp(shape->arch, "qwen2") == 0;
    shape->preset = "custom";
    shape->name = qwen ? "custom qwen2 (ostel synth)" : "custom llama (ostel synth)";
    shape->vocab_file = qwen ? "ggml-vocab-qwen2.gguf" : "ggml-vocab-llama-bpe.gguf";
    shape->n_vocab = 0;
    if (!shape->n_head_kv)
        shape->n_head_kv = shape->n_head;
    if (!shape->n_ctx_train)
        shape->n_ctx_train = 4096;
    shape->rope_theta = qwen ? 1000000.0f : 10000.0f;
    shape->rms_eps = qwen ? 1e-6f : 1e-5f;
    shape->qkv_bias = qwen;
    char err[256];
    if (ostel_synth_shape_check(shape, err, sizeof(err)) != OSTEL_OK)
        return ostel_error("synth: %s", err);
    return OSTEL_OK;
}

/* The shape to write: the preset named, or the custom one; prints why not (OSTEL_ERR). */
static int choose_shape(const struct synth_args *a, const char *preset,
                        struct ostel_synth_shape *shape)
{
    if (preset) {
        if (a->custom)
            return ostel_error("synth: give a preset or a custom shape (--arch ...), not both");
        const struct ostel_synth_shape *p = ostel_synth_preset_find(preset);
        if (!p)
            return ostel_error("synth: unknown preset '%s' (see 'ostel synth --list')", preset);
        *shape = *p;
        return OSTEL_OK;
    }
    if (a->custom)
        return custom_shape(a, shape);
    return ostel_error("synth: give a preset (see --list) or a custom shape (--arch ...)");
}

/* --vocab's file (a bare name looked up in the vocab directory), or the shape's own; NULL after
 * printing where it was not found. Owned by the caller. */
static char *find_vocab(const struct synth_args *a, const struct ostel_synth_shape *shape)
{
    char *vocab = NULL;
    if (a->vocab && strchr(a->vocab, '/') == NULL && !ostel_is_file(a->vocab))
        vocab = ostel_llama_find_vocab(a->vocab); /* a bare name: look in the vocab directory */
    else if (a->vocab)
        vocab = ostel_xstrdup(a->vocab);
    else
        vocab = ostel_llama_find_vocab(shape->vocab_file);
    if (!vocab)
        ostel_error("synth: vocab file %s not found (run scripts/setup.sh, set OSTEL_VOCAB_DIR, "
                    "or pass --vocab FILE)",
                    a->vocab ? a->vocab : shape->vocab_file);
    return vocab;
}

/* The line that says what was written (or, with --dry-run, would be). */
static void print_result(const struct synth_args *a, const struct ostel_synth_shape *shape,
                         const struct ostel_synth_result *res)
{
    char sz[32];
    ostel_fmt_bytes(res->file_bytes, sz, sizeof(sz));
    if (a->dry_run) {
        printf("%s: %s %s would be %llu bytes (%s), %llu tensors, %llu parameters\n", a->out,
               shape->preset, a->type, (unsigned long long)res->file_bytes, sz,
               (unsigned long long)res->n_tensors, (unsigned long long)res->n_params);
        return;
    }
    if (a->sparse) {
        printf("%s: %s %s, %llu bytes (%s, sparse: the weights read as zeros), %llu tensors, "
               "%llu parameters\n",
               a->out, shape->preset, a->type, (unsigned long long)res->file_bytes, sz,
               (unsigned long long)res->n_tensors, (unsigned long long)res->n_params);
        return;
    }
    double mibs = res->seconds > 0 ? (double)res->file_bytes / 1048576.0 / res->seconds : 0;
    printf("%s: %s %s, %llu bytes (%s), %llu tensors, %llu parameters, %.2f s (%.0f MiB/s)\n",
           a->out, shape->preset, a->type, (unsigned long long)res->file_bytes, sz,
           (unsigned long long)res->n_tensors, (unsigned long long)res->n_params, res->seconds,
           mibs);
}

int ostel_cmd_synth(int argc, char **argv)
{
    struct synth_args a = {.seed = 1, .type = "f16"};
    struct ostel_args pos;
    int r = ostel_options_parse_mixed(&help, options, OSTEL_ARRAY_LEN(options), argc, argv,
                                      on_option, &a, &pos);
    int npos = pos.npos + pos.nrest;
    const char *preset = npos ? pos.pos[0] : NULL; /* argv's string: outlives pos */
    if (npos > 1) {
        ostel_error("synth: unexpected argument '%s'", pos.pos[1]);
        r = OSTEL_OPT_USAGE;
    }
    ostel_args_free(&pos);
    if (r != OSTEL_OPT_DONE)
        return r == OSTEL_OPT_HELP ? OSTEL_EXIT_OK : OSTEL_EXIT_USAGE;
    if (a.list) {
        list_presets();
        return OSTEL_EXIT_OK;
    }
    struct ostel_synth_shape shape;
    if (choose_shape(&a, preset, &shape) != OSTEL_OK)
        return OSTEL_EXIT_USAGE;
    if (!a.out) {
        ostel_error("synth: -o OUT.gguf is required");
        return OSTEL_EXIT_USAGE;
    }
    struct ostel_synth_options o = {.out_path = a.out,
                                    .seed = a.seed,
                                    .force = a.force,
                                    .dry_run = a.dry_run,
                                    .sparse = a.sparse};
    int t = ostel_ggml_type_from_name(a.type);
    if (t != OSTEL_GGML_TYPE_F16 && t != OSTEL_GGML_TYPE_Q8_0) {
        ostel_error("synth: --type must be f16 or q8_0, not '%s'", a.type);
        return OSTEL_EXIT_USAGE;
    }
    o.type = (uint32_t)t;
    char *vocab = find_vocab(&a, &shape);
    if (!vocab)
        return OSTEL_EXIT_FAIL;
    o.vocab_path = vocab;
    struct ostel_synth_result res;
    int rc = ostel_synth_write(&shape, &o, &res);
    free(vocab);
    if (rc != OSTEL_OK)
        return ostel_synth_interrupted() ? 128 + ostel_synth_interrupted() : OSTEL_EXIT_FAIL;
    print_result(&a, &shape, &res);
    return OSTEL_EXIT_OK;
}
