/*
 * memmodel_shape: the model shape the memory model predicts from, read from a GGUF header
 * (ostel_memmodel_shape_from_gguf) or from the model header lines of a parsed log
 * (ostel_memmodel_shape_from_log, whose tensor table is synthesized by memmodel_quant.c).
 */
#include "llama/memmodel.h"

#include "llama/gguf_facts.h"
#include "llama/logparse.h"
#include "llama/memmodel_internal.h"
#include "util/util.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ostel_memmodel_shape_free(struct ostel_memmodel_shape *s)
{
    if (!s)
        return;
    free(s->layer_n_head_kv);
    free(s->tensors);
    memset(s, 0, sizeof(*s));
}

/* Sliding-window pattern of architectures whose GGUFs may not carry it (llama-model.cpp). */
static uint32_t default_swa_pattern(const char *arch)
{
    if (strcmp(arch, "gemma2") == 0)
        return 2;
    if (strcmp(arch, "gemma3") == 0 || strcmp(arch, "gemma3n") == 0)
        return 6;
    if (strcmp(arch, "cohere2") == 0 || strcmp(arch, "llama4") == 0)
        return 4;
    if (strcmp(arch, "gpt-oss") == 0)
        return 2;
    return 0;
}

int ostel_memmodel_shape_from_gguf(struct ostel_memmodel_shape *s, const struct ostel_gguf *g,
                                   char *err, size_t err_size)
{
    memset(s, 0, sizeof(*s));
    struct ostel_gguf_model m;
    ostel_gguf_model_init(&m, g);
    int rc = 0;
    if (!m.arch || m.n_layer == 0 || m.n_embd == 0 || m.n_head == 0 || m.n_vocab == 0) {
        snprintf(err, err_size,
                 "not a llama.cpp language model (architecture, block count, "
                 "embedding length, head count or vocabulary missing)");
        rc = OSTEL_ERR;
        goto done;
    }
    if (m.n_layer > MAX_LAYERS) {
        snprintf(err, err_size, "implausible block count %u", m.n_layer);
        rc = OSTEL_ERR;
        goto done;
    }
    copy_str(s->arch, sizeof(s->arch), m.arch);
    s->n_layer = m.n_layer;
    s->n_embd = m.n_embd;
    s->n_ff = m.n_ff;
    s->n_head = m.n_head;
    s->n_head_kv = m.n_head_kv ? m.n_head_kv : m.n_head;
    s->head_dim_k = m.head_dim_k;
    s->head_dim_v = m.head_dim_v;
    s->n_vocab = m.n_vocab;
    s->n_ctx_train = m.n_ctx_train;
    s->ftype = m.file_type_guessed ? 0 : m.file_type;
    s->total_bytes = m.tensor_bytes;
    if (m.layer_n_head_kv && m.n_head_kv_per_layer) {
        s->layer_n_head_kv = ostel_xcalloc(m.n_layer, sizeof(uint32_t));
        memcpy(s->layer_n_head_kv, m.layer_n_head_kv, m.n_layer * sizeof(uint32_t));
    }
    s->n_swa = m.sliding_window;
    s->swa_pattern =
        m.sliding_window_pattern ? m.sliding_window_pattern : default_swa_pattern(s->arch);
    if (s->head_dim_k == 0 || s->head_dim_v == 0) {
        snprintf(err, err_size, "head size unknown");
        rc = OSTEL_ERR;
        goto done;
    }
    s->n_tensors = g->n_tensors;
    s->tensors = ostel_xcalloc(g->n_tensors ? g->n_tensors : 1, sizeof(*s->tensors));
    bool have_output = false;
    for (size_t i = 0; i < g->n_tensors; i++) {
        const struct ostel_gguf_tensor *gt = &g->tensors[i];
        struct ostel_memmodel_tensor *t = &s->tensors[i];
        copy_str(t->name, sizeof(t->name), gt->name);
        t->type = gt->type;
        t->n_dims = gt->n_dims;
        for (int d = 0; d < 4; d++)
            t->ne[d] = gt->ne[d];
        t->bytes = gt->bytes;
        t->offset = gt->offset;
        if (strcmp(t->name, "output.weight") == 0)
            have_output = true;
    }
    s->tied_output = !have_output;
    s->have_offsets = true;
done:
    ostel_gguf_model_free(&m);
    if (rc != 0)
        ostel_memmodel_shape_free(s);
    return rc;
}

/* Tied embeddings of the common families, from the header alone (a log has no tensor list). */
static bool guess_tied(const struct ostel_memmodel_shape *s)
{
    if (strncmp(s->arch, "gemma", 5) == 0)
        return true;
    if ((strcmp(s->arch, "qwen2") == 0 || strcmp(s->arch, "qwen3") == 0) && s->n_embd <= 2560)
        return true;
    if (strcmp(s->arch, "llama") == 0 && s->n_vocab == 128256 && s->n_embd <= 3072)
        return true;
    return false;
}

int ostel_memmodel_shape_from_log(struct ostel_memmodel_shape *s, const struct ostel_log_result *r,
                                  char *err, size_t err_size)
{
    const struct ostel_log_header_extra *extra = &r->header_extra;
    memset(s, 0, sizeof(*s));
    const struct ostel_log_model *m = &r->model;
    if (!m->n_layer.valid || !m->n_embd.valid || !m->n_head.valid || !m->n_vocab.valid) {
        snprintf(err, err_size,
                 "the log lacks the model header (n_layer, n_embd, n_head, n_vocab)");
        return OSTEL_ERR;
    }
    double nl = m->n_layer.value, ne = m->n_embd.value, nh = m->n_head.value;
    double nv = m->n_vocab.value;
    if (nl < 1 || nl > MAX_LAYERS || ne < 1 || ne > 1e6 || nh < 1 || nh > 1e5 || nv < 1 ||
        nv > 1e8) {
        snprintf(err, err_size, "implausible model header in the log");
        return OSTEL_ERR;
    }
    copy_str(s->arch, sizeof(s->arch), m->arch);
    s->n_layer = (uint32_t)nl;
    s->n_embd = (uint32_t)ne;
    s->n_head = (uint32_t)nh;
    s->n_head_kv = m->n_head_kv.valid && m->n_head_kv.value >= 1 && m->n_head_kv.value <= nh
                       ? (uint32_t)m->n_head_kv.value
                       : s->n_head;
    s->head_dim_k = s->head_dim_v = s->n_embd / s->n_head;
    if (extra->head_dim_k && extra->head_dim_k <= 65536)
        s->head_dim_k = extra->head_dim_k;
    if (extra->head_dim_v && extra->head_dim_v <= 65536)
        s->head_dim_v = extra->head_dim_v;
    if (s->head_dim_k == 0 || s->head_dim_v == 0) {
        snprintf(err, err_size, "implausible model header in the log");
        return OSTEL_ERR;
    }
    if (extra->n_swa && extra->n_swa < (1u << 30)) {
        s->n_swa = extra->n_swa;
        s->swa_pattern = default_swa_pattern(s->arch);
    }
    s->n_vocab = (uint32_t)nv;
    s->n_ctx_train = m->n_ctx_train.valid && m->n_ctx_train.value >= 1 && m->n_ctx_train.value < 1e9
                         ? (uint32_t)m->n_ctx_train.value
                         : 0;
    int ft = m->file_type[0] ? ostel_memmodel_ftype_from_name(m->file_type) : -1;
    s->ftype = ft > 0 ? (uint32_t)ft : 0;
    int base = ft >= 0 ? ostel_memmodel_ftype_default_type((uint32_t)ft) : -1;
    if (base < 0)
        base = 1;
    uint64_t size = m->size_mib.valid && m->size_mib.value > 0 && m->size_mib.value < 1e8
                        ? (uint64_t)(m->size_mib.value * MIB)
                        : 0;
    s->synthesized = true;
    s->tied_output = guess_tied(s);
    if (extra->n_ff && extra->n_ff < (1u << 24)) {
        s->n_ff = extra->n_ff;
    } else if (size) {
        /* n_ff is not printed by every build: the multiple of 256 whose table is closest */
        uint64_t best_diff = UINT64_MAX;
        uint32_t best_ff = 256;
        for (uint32_t ff = 256; ff <= s->n_embd * 8; ff += 256) {
            s->n_ff = ff;
            ostel_memmodel_synth_table(s, (uint32_t)base, s->tied_output);
            uint64_t b = ostel_memmodel_table_bytes(s);
            uint64_t d = b > size ? b - size : size - b;
            if (d < best_diff) {
                best_diff = d;
                best_ff = ff;
            }
            if (b > size + (size >> 3))
                break;
        }
        s->n_ff = best_ff;
    } else {
        s->n_ff = s->n_embd * 4;
    }
    ostel_memmodel_synth_table(s, (uint32_t)base, s->tied_output);
    uint64_t tb = ostel_memmodel_table_bytes(s);
    if (size && tb) {
        /* the recipe is approximate (mixed types per layer): scale the repeating layers so the
         * table's total is the size the log printed, which is exact */
        uint64_t fixed = 0, layers = 0;
        for (size_t i = 0; i < s->n_tensors; i++) {
            if (strncmp(s->tensors[i].name, "blk.", 4) == 0)
                layers += s->tensors[i].bytes;
            else
                fixed += s->tensors[i].bytes;
        }
        if (layers && size > fixed) {
            double k = (double)(size - fixed) / (double)layers;
            for (size_t i = 0; i < s->n_tensors; i++)
                if (strncmp(s->tensors[i].name, "blk.", 4) == 0)
                    s->tensors[i].bytes = (uint64_t)(s->tensors[i].bytes * k);
        }
    }
    s->total_bytes = size ? size : ostel_memmodel_table_bytes(s);
    return 0;
}
