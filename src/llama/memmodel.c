/*
 * memmodel: where llama.cpp (the pinned build) puts a model's bytes at a context, and how many.
 *
 * Sources in the pinned llama.cpp, and the rule taken from each:
 *   llama-context.cpp   n_ctx = GGML_PAD(n_ctx, 256); n_ctx_seq = GGML_PAD(n_ctx / n_seq, 256);
 *                       the worst-case graph reserved with n_tokens = min(n_ctx, n_ubatch) and as
 *                       many outputs; the output buffer holds n_vocab floats per sequence.
 *   llama-kv-cache.cpp  per layer one K tensor [n_embd_k_gqa, kv_size, n_stream] and one V tensor,
 *                       of the cache types (block-quantized rows: elements / block * block bytes).
 *   llama-kv-cache-iswa.cpp  sliding-window layers get
 *                       GGML_PAD(min(kv_size, n_swa + n_ubatch), 256) cells.
 *   llama-model.cpp     load_tensors: the input layer (token embeddings) always on the CPU; layer
 *                       il on the GPU when il >= n_layer + 1 - ngl; the output layer on the GPU
 *                       when ngl > n_layer. A mapped buffer (CPU, Metal) covers the file span from
 *                       its first to its last tensor.
 *   llama-model-loader.cpp + ggml-cpu/repack.cpp  on a CPU-only build, 2-D matrix weights of
 *                       repackable types (AVX2: Q4_0, Q4_K, IQ4_NL, MXFP4; AVX-512 adds Q2_K)
 *                       are copied into a CPU_REPACK buffer, on top of the mapped file.
 * The compute buffer is a calibrated peak model (docs/fit.md): the largest of the output logits,
 * the attention scores (without flash attention) and the feed-forward activations. On a discrete
 * GPU the host's compute buffer is the graph's inputs (host_inputs, exact against an H200) and
 * host-resident weights are copied into the GPU's compute buffer (op offload).
 */
#include "llama/memmodel.h"

#include "llama/ggml_types.h"
#include "llama/memmodel_internal.h"
#include "util/util.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CTX_PAD 256u

struct ostel_memmodel_params ostel_memmodel_default_params(void)
{
    struct ostel_memmodel_params p;
    memset(&p, 0, sizeof(p));
    p.n_ctx = 4096;
    p.n_seq = 1;
    p.n_batch = 2048;
    p.n_ubatch = 512;
    p.ngl = -1;
    p.type_k = OSTEL_GGML_TYPE_F16;
    p.type_v = OSTEL_GGML_TYPE_F16;
    p.flash_attn = -1;
    p.backend = OSTEL_MEMMODEL_BACKEND_CPU;
    return p;
}

int ostel_memmodel_cache_type(const char *name)
{
    static const char *const ok[] = {"f32",  "f16",    "bf16", "q8_0", "q4_0",
                                     "q4_1", "iq4_nl", "q5_0", "q5_1"};
    if (!name)
        return -1;
    for (size_t i = 0; i < OSTEL_ARRAY_LEN(ok); i++)
        if (strcasecmp(name, ok[i]) == 0)
            return ostel_ggml_type_from_name(ok[i]);
    return -1;
}

/* ---- tensor placement ---- */

enum place { PLACE_INPUT, PLACE_LAYER, PLACE_OUTPUT, PLACE_ROPE };

/* Which of llama.cpp's layer kinds a tensor belongs to (llm_tensor_info's layer), by name. */
static enum place tensor_place(const char *name, uint32_t n_layer, uint32_t *layer)
{
    if (strncmp(name, "blk.", 4) == 0) {
        char *end = NULL;
        unsigned long il = strtoul(name + 4, &end, 10);
        if (end != name + 4 && *end == '.' && il < n_layer) {
            *layer = (uint32_t)il;
            return PLACE_LAYER;
        }
        return PLACE_OUTPUT;
    }
    if (strncmp(name, "token_embd.", 11) == 0 || strncmp(name, "token_types.", 12) == 0 ||
        strncmp(name, "position_embd.", 14) == 0 || strncmp(name, "token_embd_norm.", 16) == 0 ||
        strncmp(name, "per_layer_token_embd.", 21) == 0)
        return PLACE_INPUT;
    if (strncmp(name, "rope_freqs.", 11) == 0)
        return PLACE_ROPE; /* created once per layer as a duplicate, on each layer's device */
    return PLACE_OUTPUT;
}

/* ggml-cpu/repack.cpp's ggml_repack_get_optimal_repack_type: is this weight repacked? */
static bool repackable(const struct ostel_memmodel_tensor *t, uint32_t feat)
{
    bool matrix = t->n_dims == 2 || (t->n_dims == 3 && strstr(t->name, "_exps") != NULL);
    if (!matrix)
        return false;
    uint64_t rows = t->ne[1];
    bool avx2 = feat & OSTEL_MEMMODEL_CPU_AVX2;
    bool neon = feat & (OSTEL_MEMMODEL_CPU_NEON_DOTPROD | OSTEL_MEMMODEL_CPU_NEON_I8MM);
    switch (t->type) {
    case T_Q4_0:
    case T_IQ4_NL:
    case T_MXFP4:
        return (avx2 && rows % 8 == 0) || (neon && rows % 4 == 0);
    case T_Q4_K:
        return (avx2 || neon) && rows % 8 == 0;
    case T_Q2_K:
        return (feat & OSTEL_MEMMODEL_CPU_AVX512) && rows % 8 == 0;
    case T_Q5_K:
    case T_Q6_K:
        return neon && rows % 8 == 0;
    case T_Q8_0:
        return neon && rows % 4 == 0;
    default:
        return false;
    }
}

/* A mapped region: the span from the first to the last tensor placed in it. */
struct span {
    uint64_t lo, hi;
    bool any;
};

static void span_add(struct span *sp, const struct ostel_memmodel_tensor *t)
{
    uint64_t end = t->offset + t->bytes;
    if (!sp->any || t->offset < sp->lo)
        sp->lo = t->offset;
    if (!sp->any || end > sp->hi)
        sp->hi = end;
    sp->any = true;
}

static uint64_t span_bytes(const struct span *sp)
{
    return sp->any ? sp->hi - sp->lo : 0;
}

static uint64_t align_up(uint64_t v, uint64_t a)
{
    return (v + a - 1) / a * a;
}

/* Bytes a discrete GPU buffer takes for a tensor: CUDA pads quantized rows to 512 elements. */
static uint64_t gpu_alloc_bytes(const struct ostel_memmodel_tensor *t)
{
    uint64_t bytes = t->bytes;
    const struct ostel_ggml_type_info *ti = ostel_ggml_type_get(t->type);
    if (ti && ti->quantized && t->ne[0] % 512 != 0) {
        uint64_t pad = 0;
        if (ostel_ggml_tensor_bytes(t->type, 512 - t->ne[0] % 512, 512 - t->ne[0] % 512, &pad))
            bytes += pad;
    }
    return align_up(bytes, 128);
}

/* Bytes of `n` elements of `type` (row-wise, as ggml_row_size), 0 when not representable. */
static uint64_t row_bytes(uint32_t type, uint64_t n)
{
    uint64_t b = 0;
    if (!ostel_ggml_tensor_bytes(type, n, n, &b))
        return 0;
    return b;
}

static bool layer_is_swa(const struct ostel_memmodel_shape *s, uint32_t il)
{
    if (s->n_swa == 0)
        return false;
    if (s->swa_pattern == 0)
        return true;
    return il % s->swa_pattern < s->swa_pattern - 1;
}

static uint32_t layer_kv_heads(const struct ostel_memmodel_shape *s, uint32_t il)
{
    return s->layer_n_head_kv ? s->layer_n_head_kv[il] : s->n_head_kv;
}

/* Architectures whose KV cache is one plain attention cache over every layer (formula exact). */
static bool arch_kv_exact(const char *arch)
{
    static const char *const exact[] = {
        "llama",  "qwen2",   "qwen3",     "qwen2moe",  "qwen3moe",   "mistral3",   "phi3",
        "gemma",  "gemma2",  "gemma3",    "granite",   "granitemoe", "starcoder2", "stablelm",
        "olmo",   "olmo2",   "internlm2", "command-r", "cohere2",    "exaone",     "smollm3",
        "llama4", "gpt-oss", "glm4",      "mixtral",   "baichuan",   "falcon",     "bloom",
        "gpt2",   "phi2",    "orion",     "minicpm",   "ernie4_5",
    };
    for (size_t i = 0; i < OSTEL_ARRAY_LEN(exact); i++)
        if (strcmp(arch, exact[i]) == 0)
            return true;
    return false;
}

/*
 * The host compute buffer (CUDA_Host) of a discrete GPU: the graph's inputs, which the scheduler
 * puts on the CPU backend (ggml-backend.cpp: GGML_TENSOR_FLAG_INPUT -> last backend), plus the
 * token embeddings' GET_ROWS, which runs where token_embd is (the host). llama-graph.cpp and
 * llama-kv-cache.cpp of the pinned build create, for a worst-case ubatch of T tokens:
 *   inp_embd (f32 n_embd x T) and the GET_ROWS result of the same size (PR 18550 keeps both),
 *   inp_tokens, inp_pos, inp_out_ids (i32 x T), per cache k_idxs (i64 x T) and v_idxs (i64 x T,
 *   or x T x n_embd_v_gqa when V is stored transposed: without flash attention), the KQ mask per
 *   cache (n_kv x T, f16 with flash attention, else f32) and, for a quantized K / V cache, the
 *   Hadamard rotation matrices (f32 nrot x nrot). Nothing is freed in between: their sum.
 */
static uint64_t host_inputs(const struct ostel_memmodel_shape *s,
                            const struct ostel_memmodel_params *p, uint64_t T, uint64_t kv_size,
                            uint64_t kv_size_swa, bool any_full, bool any_swa, uint64_t v_gqa_max,
                            bool fa)
{
    uint64_t h = 2 * (uint64_t)s->n_embd * T * 4 + 3 * T * 4;
    uint64_t mask_elem = fa ? 2 : 4;
    uint64_t idxs = T * 8 + (fa ? T * 8 : T * v_gqa_max * 8);
    if (any_full || !any_swa)
        h += kv_size * T * mask_elem + idxs;
    if (any_swa)
        h += kv_size_swa * T * mask_elem + idxs;
    const struct ostel_ggml_type_info *tk = ostel_ggml_type_get(p->type_k);
    const struct ostel_ggml_type_info *tv = ostel_ggml_type_get(p->type_v);
    if (tk && tk->quantized && s->head_dim_k % 64 == 0) {
        uint64_t nrot = 64;
        while (s->head_dim_k % (nrot * 2) == 0)
            nrot *= 2;
        h += nrot * nrot * 4;
    }
    if (tv && tv->quantized && s->head_dim_v % 64 == 0)
        h += 64 * 64 * 4;
    return h;
}

/* What the sections of ostel_memmodel_predict hand each other. */
struct predict_state {
    const struct ostel_ggml_type_info *tk, *tv; /* cache types */
    bool gpu;                                   /* a GPU backend holds offloaded layers */
    bool fa;                                    /* flash attention, as resolved */
    uint32_t n_seq, n_stream;
    uint64_t n_tok;       /* worst-case graph: min(n_ctx, n_ubatch) tokens, as many outputs */
    uint64_t kv_size;     /* cells per stream */
    uint64_t kv_size_swa; /* cells per stream of the sliding-window cache */
    int64_t i_gpu_start;  /* the first layer on the GPU */
    /* the largest weight of a layer, and of the output layer, left on the host: with op offload
     * (CUDA) a big batch copies it into the GPU's compute buffer for the matrix product */
    uint64_t host_layer_w_max, host_out_w_max;
    uint64_t v_gqa_max, host_layer_kv_max;
    bool any_full, any_swa;
};

/* ---- context (llama-context.cpp) ---- */
static int predict_context(const struct ostel_memmodel_shape *s,
                           const struct ostel_memmodel_params *p, struct predict_state *st,
                           struct ostel_memmodel_result *out, char *err, size_t err_size)
{
    uint64_t n_ctx = p->n_ctx ? p->n_ctx : s->n_ctx_train;
    if (n_ctx == 0)
        n_ctx = 4096;
    uint32_t n_seq = p->n_seq ? p->n_seq : 1;
    n_ctx = align_up(n_ctx, CTX_PAD);
    uint64_t n_ctx_seq = n_ctx;
    if (!p->kv_unified) {
        n_ctx_seq = align_up(n_ctx / n_seq, CTX_PAD);
        if (n_ctx_seq == 0) {
            snprintf(err, err_size, "context smaller than the number of sequences");
            return OSTEL_ERR;
        }
        n_ctx = n_ctx_seq * n_seq;
    }
    if (n_ctx > (1ull << 31)) {
        snprintf(err, err_size, "context too large");
        return OSTEL_ERR;
    }
    uint32_t n_batch = p->n_batch ? p->n_batch : 2048;
    uint32_t n_ubatch = p->n_ubatch ? p->n_ubatch : 512;
    if (n_batch > n_ctx)
        n_batch = (uint32_t)n_ctx;
    if (n_ubatch > n_batch)
        n_ubatch = n_batch;
    st->n_seq = n_seq;
    st->n_tok = n_ubatch;
    st->n_stream = p->kv_unified ? 1 : n_seq;
    st->kv_size = n_ctx_seq;
    st->kv_size_swa = 0;
    if (s->n_swa) {
        uint64_t want = (uint64_t)s->n_swa * (p->kv_unified ? n_seq : 1) + n_ubatch;
        st->kv_size_swa = align_up(want < st->kv_size ? want : st->kv_size, CTX_PAD);
    }
    out->n_ctx = (uint32_t)n_ctx;
    out->n_ctx_seq = (uint32_t)n_ctx_seq;
    out->n_ubatch = n_ubatch;
    out->kv_cells = (uint32_t)(st->kv_size * st->n_stream);
    out->kv_cells_swa = (uint32_t)(st->kv_size_swa * st->n_stream);
    out->flash_attn = st->fa;
    return 0;
}

/* ---- layer placement (llama-model.cpp load_tensors) ---- */
static void predict_placement(const struct ostel_memmodel_shape *s,
                              const struct ostel_memmodel_params *p, struct predict_state *st,
                              struct ostel_memmodel_result *out)
{
    uint32_t n_layer = s->n_layer;
    int64_t ngl = p->ngl < 0 ? (int64_t)n_layer + 1 : p->ngl;
    if (!st->gpu)
        ngl = 0;
    int64_t i_gpu_start = (int64_t)n_layer + 1 - ngl;
    if (i_gpu_start < 0)
        i_gpu_start = 0;
    st->i_gpu_start = i_gpu_start;
    /* ngl counts the output layer first: -ngl 1 offloads only the output */
    out->layers_gpu = i_gpu_start >= (int64_t)n_layer ? 0 : (uint32_t)(n_layer - i_gpu_start);
    out->output_on_gpu = st->gpu && ngl >= 1;
    out->n_dev = st->gpu ? 2 : 1;
    out->dev[0].name = "host";
    out->dev[1].name = "gpu";
}

/* ---- weights ---- */
static void predict_weights(const struct ostel_memmodel_shape *s,
                            const struct ostel_memmodel_params *p, struct predict_state *st,
                            struct ostel_memmodel_result *out)
{
    struct ostel_memmodel_device *host = &out->dev[OSTEL_MEMMODEL_DEV_HOST];
    struct ostel_memmodel_device *dgpu = &out->dev[OSTEL_MEMMODEL_DEV_GPU];
    uint32_t n_layer = s->n_layer;
    int64_t i_gpu_start = st->i_gpu_start;
    bool mapped_gpu = p->backend == OSTEL_MEMMODEL_BACKEND_METAL && !p->no_mmap;
    bool repack_ok = p->backend != OSTEL_MEMMODEL_BACKEND_CUDA; /* CUDA: host buffer type first */
    bool have_output = false;
    const struct ostel_memmodel_tensor *tok_embd = NULL;
    for (size_t i = 0; i < s->n_tensors; i++) {
        if (strcmp(s->tensors[i].name, "output.weight") == 0)
            have_output = true;
        if (strcmp(s->tensors[i].name, "token_embd.weight") == 0)
            tok_embd = &s->tensors[i];
    }
    struct span host_span = {0, 0, false}, gpu_span = {0, 0, false};
    uint64_t host_alloc = 0, gpu_alloc = 0, repack = 0;
    uint64_t host_layer_w_max = 0, host_out_w_max = 0;
    for (size_t i = 0; i < s->n_tensors; i++) {
        const struct ostel_memmodel_tensor *t = &s->tensors[i];
        uint32_t il = 0;
        enum place pl = tensor_place(t->name, n_layer, &il);
        bool on_gpu, on_host;
        switch (pl) {
        case PLACE_INPUT:
            on_gpu = false;
            on_host = true;
            break;
        case PLACE_LAYER:
            on_gpu = il >= i_gpu_start;
            on_host = !on_gpu;
            break;
        case PLACE_ROPE:
            on_gpu = st->gpu && i_gpu_start < (int64_t)n_layer;
            on_host = i_gpu_start > 0;
            break;
        default:
            on_gpu = out->output_on_gpu;
            on_host = !on_gpu;
            break;
        }
        if (on_host && pl == PLACE_LAYER && t->bytes > host_layer_w_max)
            host_layer_w_max = t->bytes;
        if (on_host && pl == PLACE_OUTPUT && t->bytes > host_out_w_max)
            host_out_w_max = t->bytes;
        if (on_host) {
            bool rp = repack_ok && pl != PLACE_INPUT && pl != PLACE_ROPE &&
                      repackable(t, p->cpu_features);
            if (rp)
                repack += align_up(t->bytes, 64);
            else if (!p->no_mmap && s->have_offsets)
                span_add(&host_span, t);
            else
                host_alloc += align_up(t->bytes, 64);
            /* without offsets, a mapped host buffer spans the repacked weights too: they are
             * interleaved with the rest in the file */
            if (rp && !p->no_mmap && !s->have_offsets)
                host_alloc += t->bytes;
        }
        if (on_gpu) {
            if (mapped_gpu && s->have_offsets)
                span_add(&gpu_span, t);
            else
                gpu_alloc += gpu_alloc_bytes(t);
        }
    }
    /* tied output: token_embd is duplicated for the output layer (llama-model-loader.cpp) */
    if (!have_output && tok_embd) {
        if (out->output_on_gpu) {
            if (mapped_gpu && s->have_offsets)
                span_add(&gpu_span, tok_embd);
            else
                gpu_alloc += gpu_alloc_bytes(tok_embd);
        } else {
            if (tok_embd->bytes > host_out_w_max)
                host_out_w_max = tok_embd->bytes;
            if (repack_ok && repackable(tok_embd, p->cpu_features))
                repack += align_up(tok_embd->bytes, 64);
        }
    }
    st->host_layer_w_max = host_layer_w_max;
    st->host_out_w_max = host_out_w_max;
    host->model_bytes = span_bytes(&host_span) + host_alloc;
    host->repack_bytes = repack;
    dgpu->model_bytes = span_bytes(&gpu_span) + gpu_alloc;
    if (mapped_gpu && s->have_offsets && host_span.any && gpu_span.any) {
        /* one file mapped twice: the union is what the memory holds */
        uint64_t lo = host_span.lo < gpu_span.lo ? host_span.lo : gpu_span.lo;
        uint64_t hi = host_span.hi > gpu_span.hi ? host_span.hi : gpu_span.hi;
        uint64_t uni = hi - lo;
        uint64_t sum = span_bytes(&host_span) + span_bytes(&gpu_span);
        out->model_bytes = (uni < sum ? uni : sum) + host_alloc + gpu_alloc;
    } else {
        out->model_bytes = host->model_bytes + dgpu->model_bytes;
    }
    out->repack_bytes = repack;
    out->model_exact = !s->synthesized;
}

/* ---- KV cache (llama-kv-cache.cpp) ---- */
static int predict_kv(const struct ostel_memmodel_shape *s, const struct ostel_memmodel_params *p,
                      struct predict_state *st, struct ostel_memmodel_result *out, char *err,
                      size_t err_size)
{
    struct ostel_memmodel_device *host = &out->dev[OSTEL_MEMMODEL_DEV_HOST];
    struct ostel_memmodel_device *dgpu = &out->dev[OSTEL_MEMMODEL_DEV_GPU];
    const struct ostel_ggml_type_info *tk = st->tk, *tv = st->tv;
    uint64_t v_gqa_max = 0, host_layer_kv_max = 0;
    bool any_full = false, any_swa = false;
    for (uint32_t il = 0; il < s->n_layer; il++) {
        uint64_t hkv = layer_kv_heads(s, il);
        if (hkv == 0)
            continue;
        if (hkv * s->head_dim_v > v_gqa_max)
            v_gqa_max = hkv * s->head_dim_v;
        bool swa = layer_is_swa(s, il);
        any_swa |= swa;
        any_full |= !swa;
        uint64_t cells = swa ? st->kv_size_swa : st->kv_size;
        uint64_t kb = row_bytes(p->type_k, hkv * s->head_dim_k * cells) * st->n_stream;
        uint64_t vb = row_bytes(p->type_v, hkv * s->head_dim_v * cells) * st->n_stream;
        if ((hkv * s->head_dim_k) % tk->blck_size || (hkv * s->head_dim_v) % tv->blck_size) {
            snprintf(err, err_size, "cache type needs rows that are a multiple of %u elements",
                     tk->blck_size > tv->blck_size ? tk->blck_size : tv->blck_size);
            return OSTEL_ERR;
        }
        out->kv_k_bytes += kb;
        out->kv_v_bytes += vb;
        if ((int64_t)il >= st->i_gpu_start && st->gpu) {
            dgpu->kv_bytes += kb + vb;
        } else {
            host->kv_bytes += kb + vb;
            if (kb + vb > host_layer_kv_max)
                host_layer_kv_max = kb + vb;
        }
    }
    st->v_gqa_max = v_gqa_max;
    st->host_layer_kv_max = host_layer_kv_max;
    st->any_full = any_full;
    st->any_swa = any_swa;
    out->kv_bytes = out->kv_k_bytes + out->kv_v_bytes;
    out->kv_exact = arch_kv_exact(s->arch);
    return 0;
}

/* ---- compute buffers (calibrated; docs/fit.md) ---- */
static void predict_compute(const struct ostel_memmodel_shape *s,
                            const struct ostel_memmodel_params *p, const struct predict_state *st,
                            struct ostel_memmodel_result *out)
{
    struct ostel_memmodel_device *host = &out->dev[OSTEL_MEMMODEL_DEV_HOST];
    struct ostel_memmodel_device *dgpu = &out->dev[OSTEL_MEMMODEL_DEV_GPU];
    uint64_t n_tok = st->n_tok, kv_size = st->kv_size, kv_size_swa = st->kv_size_swa;
    bool gpu = st->gpu, fa = st->fa;
    int64_t i_gpu_start = st->i_gpu_start;
    uint32_t max_head = s->n_head;
    uint64_t E = (uint64_t)s->n_embd * n_tok * 4; /* one activation */
    uint64_t kv_att = s->n_swa && s->swa_pattern == 0 ? kv_size_swa : kv_size;
    uint64_t mask = kv_att * n_tok * 4; /* f32 KQ mask */
    uint64_t logits = (uint64_t)s->n_vocab * n_tok * 4;
    uint64_t out_peak = logits + (gpu ? 1 : 2) * E;
    uint64_t attn_peak =
        fa ? mask + mask / 2 + 3 * E : kv_att * n_tok * 4 * ((uint64_t)max_head + 1) + 5 * E;
    uint64_t ffn_peak = ((uint64_t)s->n_ff * 3 + (uint64_t)s->n_embd * 2) * n_tok * 4;
    uint64_t layer_peak = attn_peak > ffn_peak ? attn_peak : ffn_peak;
    if (!gpu) {
        host->compute_bytes = out_peak > layer_peak ? out_peak : layer_peak;
    } else if (p->backend == OSTEL_MEMMODEL_BACKEND_CUDA) {
        /* Discrete GPUs (ggml-backend.cpp's scheduler, llama-graph.cpp's inputs; verified on an
         * H200, docs/fit.md). Every op runs on the GPU: layers whose weights stay on the host
         * too, since a batch of 512 tokens is offloaded (op offload) with a copy of the weight
         * (and of the layer's K and V) in the GPU's compute buffer. Below 32 tokens
         * (ggml-cuda.cu's op_offload_min_batch_size) host layers run on the CPU. */
        bool op_offload = n_tok >= 32;
        uint64_t h = host_inputs(s, p, n_tok, kv_size, kv_size_swa, st->any_full, st->any_swa,
                                 st->v_gqa_max, fa);
        uint64_t g = 0;
        if (out->layers_gpu > 0)
            g = layer_peak;
        if (i_gpu_start > 0 && op_offload) {
            uint64_t off = layer_peak + st->host_layer_w_max + st->host_layer_kv_max;
            g = off > g ? off : g;
        } else if (i_gpu_start > 0) {
            h += layer_peak;
        }
        uint64_t o = out_peak;
        if (!out->output_on_gpu && op_offload)
            o += st->host_out_w_max;
        else if (!out->output_on_gpu)
            o = 0, h += out_peak;
        dgpu->compute_bytes = o > g ? o : g;
        host->compute_bytes = h;
    } else {
        uint64_t g = 0;
        if (out->layers_gpu > 0 || out->output_on_gpu)
            g = layer_peak;
        if (out->output_on_gpu && out_peak > g)
            g = out_peak;
        dgpu->compute_bytes = g;
        /* host: the embeddings (input layer) and the KQ mask (calibrated on the Metal reference,
         * not verified against the pinned build: docs/fit.md) */
        uint64_t h = E + mask;
        if (i_gpu_start > 0)
            h += layer_peak; /* layers computed on the CPU */
        if (!out->output_on_gpu)
            h += out_peak;
        host->compute_bytes = h;
    }
    out->compute_bytes = host->compute_bytes + dgpu->compute_bytes;
    host->output_bytes = (uint64_t)s->n_vocab * st->n_seq * 4;
    out->output_bytes = host->output_bytes;

    for (size_t d = 0; d < out->n_dev; d++) {
        struct ostel_memmodel_device *dv = &out->dev[d];
        dv->total_bytes = dv->model_bytes + dv->repack_bytes + dv->kv_bytes + dv->compute_bytes +
                          dv->output_bytes;
    }
}

/* ---- what is approximate ---- */
static void predict_note(const struct ostel_memmodel_shape *s, struct ostel_memmodel_result *out)
{
    char *n = out->note;
    size_t nl = sizeof(out->note);
    n[0] = '\0';
    if (!out->kv_exact)
        snprintf(n + strlen(n), nl - strlen(n), "KV formula not verified for arch '%s'; ",
                 s->arch[0] ? s->arch : "?");
    if (s->n_swa && s->swa_pattern == 0)
        snprintf(n + strlen(n), nl - strlen(n),
                 "sliding-window pattern unknown: all layers "
                 "taken as windowed; ");
    if (s->synthesized)
        snprintf(n + strlen(n), nl - strlen(n), "weights split estimated from the log header; ");
    size_t len = strlen(n);
    if (len >= 2 && n[len - 2] == ';')
        n[len - 2] = '\0';
}

int ostel_memmodel_predict(const struct ostel_memmodel_shape *s,
                           const struct ostel_memmodel_params *p, struct ostel_memmodel_result *out,
                           char *err, size_t err_size)
{
    memset(out, 0, sizeof(*out));
    if (s->n_layer == 0 || s->n_layer > MAX_LAYERS || s->n_embd == 0 || s->n_head == 0 ||
        s->n_vocab == 0) {
        snprintf(err, err_size,
                 "model shape incomplete (layers, embedding, heads or vocabulary "
                 "missing)");
        return OSTEL_ERR;
    }
    struct predict_state st;
    memset(&st, 0, sizeof(st));
    st.tk = ostel_ggml_type_get(p->type_k);
    st.tv = ostel_ggml_type_get(p->type_v);
    if (!st.tk || !st.tv) {
        snprintf(err, err_size, "unknown cache type");
        return OSTEL_ERR;
    }
    st.gpu = p->backend != OSTEL_MEMMODEL_BACKEND_CPU;
    st.fa = p->flash_attn != 0; /* auto resolves to on for CPU, CUDA and Metal */
    if (!st.fa && st.tv->quantized) {
        snprintf(err, err_size, "a quantized V cache (%s) needs flash attention", st.tv->name);
        return OSTEL_ERR;
    }
    if (predict_context(s, p, &st, out, err, err_size) != 0)
        return OSTEL_ERR;
    predict_placement(s, p, &st, out);
    predict_weights(s, p, &st, out);
    if (predict_kv(s, p, &st, out, err, err_size) != 0)
        return OSTEL_ERR;
    predict_compute(s, p, &st, out);
    predict_note(s, out);
    return 0;
}

/* ---- JSON ---- */

static double mib(uint64_t b)
{
    return round(b / MIB * 100.0) / 100.0;
}

cJSON *ostel_memmodel_result_json(const struct ostel_memmodel_result *r)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "n_ctx", r->n_ctx);
    cJSON_AddNumberToObject(o, "n_ctx_seq", r->n_ctx_seq);
    cJSON_AddNumberToObject(o, "kv_cells", r->kv_cells);
    if (r->kv_cells_swa)
        cJSON_AddNumberToObject(o, "kv_cells_swa", r->kv_cells_swa);
    else
        cJSON_AddNullToObject(o, "kv_cells_swa");
    cJSON_AddNumberToObject(o, "layers_gpu", r->layers_gpu);
    cJSON_AddBoolToObject(o, "output_on_gpu", r->output_on_gpu);
    cJSON_AddBoolToObject(o, "flash_attn", r->flash_attn);
    cJSON_AddNumberToObject(o, "model_mib", mib(r->model_bytes));
    cJSON_AddNumberToObject(o, "repack_mib", mib(r->repack_bytes));
    cJSON_AddNumberToObject(o, "kv_mib", mib(r->kv_bytes));
    cJSON_AddNumberToObject(o, "kv_k_mib", mib(r->kv_k_bytes));
    cJSON_AddNumberToObject(o, "kv_v_mib", mib(r->kv_v_bytes));
    cJSON_AddNumberToObject(o, "compute_mib", mib(r->compute_bytes));
    cJSON_AddNumberToObject(o, "output_mib", mib(r->output_bytes));
    cJSON *devs = cJSON_AddArrayToObject(o, "devices");
    for (size_t i = 0; i < r->n_dev; i++) {
        const struct ostel_memmodel_device *d = &r->dev[i];
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "device", d->name);
        cJSON_AddNumberToObject(j, "model_mib", mib(d->model_bytes));
        cJSON_AddNumberToObject(j, "repack_mib", mib(d->repack_bytes));
        cJSON_AddNumberToObject(j, "kv_mib", mib(d->kv_bytes));
        cJSON_AddNumberToObject(j, "compute_mib", mib(d->compute_bytes));
        cJSON_AddNumberToObject(j, "output_mib", mib(d->output_bytes));
        cJSON_AddNumberToObject(j, "total_mib", mib(d->total_bytes));
        cJSON_AddItemToArray(devs, j);
    }
    cJSON_AddBoolToObject(o, "kv_exact", r->kv_exact);
    cJSON_AddBoolToObject(o, "model_exact", r->model_exact);
    if (r->note[0])
        cJSON_AddStringToObject(o, "note", r->note);
    else
        cJSON_AddNullToObject(o, "note");
    return o;
}
