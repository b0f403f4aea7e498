/*
 * memmodel_quant: llama.cpp's quantization recipe (llama-quant.cpp of the pinned build) as far as
 * the memory model needs it: the default tensor type of a file type, the fallbacks for rows that
 * do not fill a block, the mixed types of the common K mixes, and a llama-like tensor table
 * synthesized from a shape's hparams when no GGUF tensor table is at hand (a log).
 */
#include "llama/memmodel.h"

#include "llama/ggml_types.h"
#include "llama/memmodel_internal.h"
#include "util/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* llama.cpp's llama_ftype -> the default tensor type of llama-quant.cpp (0 = unknown). */
int ostel_memmodel_ftype_default_type(uint32_t ftype)
{
    switch (ftype) {
    case 0:
        return 0; /* ALL_F32 */
    case 1:
        return 1; /* F16 */
    case 2:
        return T_Q4_0;
    case 3:
        return 3; /* Q4_1 */
    case 7:
        return T_Q8_0;
    case 8:
        return T_Q5_0;
    case 9:
        return T_Q5_1;
    case 10:
        return T_Q2_K; /* Q2_K */
    case 11:
    case 12:
    case 13:
        return T_Q3_K;
    case 14:
    case 15:
        return T_Q4_K;
    case 16:
    case 17:
        return T_Q5_K;
    case 18:
        return T_Q6_K;
    case 25:
        return T_IQ4_NL;
    case 32:
        return T_BF16;
    case 38:
        return T_MXFP4;
    default:
        return -1;
    }
}

/* llama-quant.cpp's tensor_type_fallback for rows that are not a multiple of 256. */
static uint32_t type_fallback(uint32_t type, uint32_t ne0)
{
    const struct ostel_ggml_type_info *ti = ostel_ggml_type_get(type);
    if (!ti || ne0 % ti->blck_size == 0)
        return type;
    switch (type) {
    case T_Q2_K:
    case T_Q3_K:
        return T_IQ4_NL;
    case T_Q4_K:
        return T_Q5_0;
    case T_Q5_K:
        return T_Q5_1;
    case T_Q6_K:
        return T_Q8_0;
    default:
        return 1;
    }
}

/* ftype of a log's "file type" text ("Q4_K - Medium"), by llama_ftype_name; -1 when unknown. */
int ostel_memmodel_ftype_from_name(const char *name)
{
    for (uint32_t f = 0; f < 64; f++) {
        const char *n = ostel_ggml_ftype_name(f);
        if (n && strcmp(n, name) == 0 && strstr(n, "unknown") == NULL)
            return (int)f;
    }
    return -1;
}

static void add_tensor(struct ostel_memmodel_shape *s, size_t *cap, const char *name, uint32_t type,
                       uint64_t ne0, uint64_t ne1)
{
    if (s->n_tensors == *cap) {
        *cap = *cap ? *cap * 2 : 64;
        s->tensors = ostel_xrealloc(s->tensors, *cap * sizeof(*s->tensors));
    }
    struct ostel_memmodel_tensor *t = &s->tensors[s->n_tensors++];
    memset(t, 0, sizeof(*t));
    copy_str(t->name, sizeof(t->name), name);
    t->type = type_fallback(type, (uint32_t)ne0);
    t->n_dims = ne1 > 1 ? 2 : 1;
    t->ne[0] = ne0;
    t->ne[1] = ne1;
    t->ne[2] = t->ne[3] = 1;
    if (!ostel_ggml_tensor_bytes(t->type, ne0, ne0 * ne1, &t->bytes))
        t->bytes = ne0 * ne1 * 2;
}

/* llama-quant.cpp's use_more_bits: the first and last eighth of the layers and every third */
static bool more_bits(uint32_t i, uint32_t n)
{
    return i < n / 8 || i >= 7 * n / 8 || (i >= n / 8 && (i - n / 8) % 3 == 2);
}

/* The type of attn_v / ffn_down of layer il under ftype (llama-quant.cpp, the common K mixes). */
static uint32_t mixed_type(uint32_t ftype, uint32_t base, uint32_t il, uint32_t n, bool down)
{
    switch (ftype) {
    case 15:
    case 17: /* Q4_K_M, Q5_K_M */
        return more_bits(il, n) ? T_Q6_K : base;
    case 12: /* Q3_K_M */
        if (down)
            return il < n / 16 ? T_Q5_K : T_Q4_K;
        return il < 2 ? T_Q5_K : T_Q4_K;
    case 14: /* Q4_K_S */
        return down && il < n / 8 ? T_Q5_K : base;
    default:
        return base;
    }
}

/* A llama-like tensor table of the shape, with the quantization recipe of ftype. */
void ostel_memmodel_synth_table(struct ostel_memmodel_shape *s, uint32_t base, bool tied)
{
    size_t cap = 0;
    s->n_tensors = 0;
    uint64_t q = (uint64_t)s->n_head * s->head_dim_k, kv = (uint64_t)s->n_head_kv * s->head_dim_k;
    uint32_t out_type = base == 1 || base == T_BF16 || base == T_Q8_0 || base == 0 ? base : T_Q6_K;
    /* a tied token_embd gets the output type (llama-quant.cpp), unless its rows force a fallback */
    uint32_t embd_type = tied && s->n_embd % 256 == 0 ? out_type : base;
    char name[64];
    add_tensor(s, &cap, "token_embd.weight", embd_type, s->n_embd, s->n_vocab);
    for (uint32_t il = 0; il < s->n_layer; il++) {
        snprintf(name, sizeof(name), "blk.%u.attn_norm.weight", il);
        add_tensor(s, &cap, name, 0, s->n_embd, 1);
        snprintf(name, sizeof(name), "blk.%u.attn_q.weight", il);
        add_tensor(s, &cap, name, base, s->n_embd, q);
        snprintf(name, sizeof(name), "blk.%u.attn_k.weight", il);
        add_tensor(s, &cap, name, base, s->n_embd, kv);
        snprintf(name, sizeof(name), "blk.%u.attn_v.weight", il);
        add_tensor(s, &cap, name, mixed_type(s->ftype, base, il, s->n_layer, false), s->n_embd, kv);
        snprintf(name, sizeof(name), "blk.%u.attn_output.weight", il);
        add_tensor(s, &cap, name, base, q, s->n_embd);
        snprintf(name, sizeof(name), "blk.%u.ffn_norm.weight", il);
        add_tensor(s, &cap, name, 0, s->n_embd, 1);
        snprintf(name, sizeof(name), "blk.%u.ffn_gate.weight", il);
        add_tensor(s, &cap, name, base, s->n_embd, s->n_ff);
        snprintf(name, sizeof(name), "blk.%u.ffn_up.weight", il);
        add_tensor(s, &cap, name, base, s->n_embd, s->n_ff);
        snprintf(name, sizeof(name), "blk.%u.ffn_down.weight", il);
        add_tensor(s, &cap, name, mixed_type(s->ftype, base, il, s->n_layer, true), s->n_ff,
                   s->n_embd);
    }
    add_tensor(s, &cap, "output_norm.weight", 0, s->n_embd, 1);
    if (!tied)
        add_tensor(s, &cap, "output.weight", out_type, s->n_embd, s->n_vocab);
}

uint64_t ostel_memmodel_table_bytes(const struct ostel_memmodel_shape *s)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < s->n_tensors; i++)
        sum += s->tensors[i].bytes;
    return sum;
}
