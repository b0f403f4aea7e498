/*
 * gguf_facts: the model facts ostel derives from a GGUF header read by gguf.c (shape, per-layer
 * heads, file type, sizes, KV-cache bytes per token) and inspect's JSON of them. Pure, except
 * ostel_gguf_run_facts_read, which reads the header of the file it is given.
 */
#include "llama/gguf_facts.h"

#include "llama/ggml_types.h"
#include "util/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- model facts ---- */

static bool arch_uint(const struct ostel_gguf *g, const char *arch, const char *suffix,
                      uint64_t *out)
{
    char key[256];
    snprintf(key, sizeof(key), "%s.%s", arch, suffix);
    return ostel_gguf_get_uint(g, key, out);
}

static uint32_t clamp_u32(uint64_t v)
{
    return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

/* Per-layer values of a key that may be a scalar or an array (llama.cpp's get_key_or_arr). Fills
 * layer[] (n entries) when non-NULL; returns the largest value, 0 when absent. */
static uint32_t per_layer(const struct ostel_gguf *g, const char *arch, const char *suffix,
                          uint32_t *layer, uint32_t n, bool *was_array)
{
    char key[256];
    snprintf(key, sizeof(key), "%s.%s", arch, suffix);
    const struct ostel_gguf_kv *kv = ostel_gguf_find(g, key);
    uint32_t max = 0;
    if (was_array)
        *was_array = false;
    if (!kv)
        return 0;
    if (kv->type == OSTEL_GGUF_TYPE_ARRAY) {
        if (was_array)
            *was_array = true;
        for (uint64_t i = 0; i < kv->arr_n; i++) {
            int64_t v;
            if (!ostel_gguf_array_get_i64(kv, i, &v) || v < 0)
                continue;
            uint32_t u = clamp_u32((uint64_t)v);
            if (layer && i < n)
                layer[i] = u;
            if (u > max)
                max = u;
        }
        return max;
    }
    uint64_t v;
    if (!ostel_gguf_get_uint(g, key, &v))
        return 0;
    max = clamp_u32(v);
    for (uint32_t i = 0; layer && i < n; i++)
        layer[i] = max;
    return max;
}

/* llama.cpp's weight_name_comparer: layer number first, then the name. */
static int llama_name_cmp(const char *a, const char *b)
{
    int la = -1, lb = -1;
    if (strncmp(a, "blk.", 4) == 0)
        la = atoi(a + 4);
    if (strncmp(b, "blk.", 4) == 0)
        lb = atoi(b + 4);
    if (la != lb)
        return la < lb ? -1 : 1;
    return strcmp(a, b);
}

static int cmp_llama_order(const void *a, const void *b)
{
    const struct ostel_gguf_tensor *x = *(const struct ostel_gguf_tensor *const *)a;
    const struct ostel_gguf_tensor *y = *(const struct ostel_gguf_tensor *const *)b;
    return llama_name_cmp(x->name, y->name);
}

/* The ftype llama.cpp guesses: the most common tensor type, first to reach the count in its
 * name order. */
static uint32_t guess_ftype(const struct ostel_gguf *g)
{
    if (g->n_tensors == 0)
        return ostel_ggml_ftype_from_type(0);
    const struct ostel_gguf_tensor **p = ostel_xcalloc(g->n_tensors, sizeof(*p));
    for (size_t i = 0; i < g->n_tensors; i++)
        p[i] = &g->tensors[i];
    qsort(p, g->n_tensors, sizeof(*p), cmp_llama_order);
    uint64_t *count = ostel_xcalloc(256, sizeof(*count));
    uint64_t best = 0;
    uint32_t best_type = 0;
    for (size_t i = 0; i < g->n_tensors; i++) {
        uint32_t t = p[i]->type < 256 ? p[i]->type : 255;
        count[t]++;
        if (count[t] > best) {
            best = count[t];
            best_type = p[i]->type;
        }
    }
    free(count);
    free(p);
    return ostel_ggml_ftype_from_type(best_type);
}

void ostel_gguf_model_init(struct ostel_gguf_model *m, const struct ostel_gguf *g)
{
    memset(m, 0, sizeof(*m));
    m->arch = ostel_gguf_get_str(g, "general.architecture");
    m->name = ostel_gguf_get_str(g, "general.name");
    uint64_t v;
    if (ostel_gguf_get_uint(g, "general.file_type", &v)) {
        m->file_type = clamp_u32(v);
    } else {
        m->file_type = guess_ftype(g);
        m->file_type_guessed = true;
    }
    m->file_type_name = ostel_ggml_ftype_name(m->file_type);
    m->n_params = g->n_elements;
    m->tensor_bytes = g->tensor_bytes;
    m->bpw = g->n_elements ? (double)g->tensor_bytes * 8.0 / (double)g->n_elements : 0.0;
    m->has_rope_freqs = ostel_gguf_find_tensor(g, "rope_freqs.weight") != NULL;

    /* bytes by tensor type, ordered by type id */
    for (size_t i = 0; i < g->n_tensors; i++) {
        const struct ostel_gguf_tensor *t = &g->tensors[i];
        size_t k = 0;
        while (k < m->n_types && m->types[k].type != t->type)
            k++;
        if (k == m->n_types) {
            m->types = ostel_xrealloc(m->types, (m->n_types + 1) * sizeof(*m->types));
            size_t at = 0;
            while (at < m->n_types && m->types[at].type < t->type)
                at++;
            memmove(&m->types[at + 1], &m->types[at], (m->n_types - at) * sizeof(*m->types));
            m->types[at] = (struct ostel_gguf_type_total){.type = t->type};
            m->n_types++;
            k = at;
        }
        m->types[k].count++;
        m->types[k].elements += t->nelements;
        m->types[k].bytes += t->bytes;
    }

    const struct ostel_gguf_kv *tok = ostel_gguf_find(g, "tokenizer.ggml.tokens");
    if (tok && tok->type == OSTEL_GGUF_TYPE_ARRAY)
        m->n_vocab = clamp_u32(tok->arr_n);
    const char *a = m->arch;
    if (!a)
        return;
    if (!m->n_vocab && arch_uint(g, a, "vocab_size", &v))
        m->n_vocab = clamp_u32(v);
    if (arch_uint(g, a, "block_count", &v))
        m->n_layer = clamp_u32(v);
    if (arch_uint(g, a, "embedding_length", &v))
        m->n_embd = clamp_u32(v);
    if (arch_uint(g, a, "context_length", &v))
        m->n_ctx_train = clamp_u32(v);
    if (arch_uint(g, a, "rope.dimension_count", &v))
        m->n_rot = clamp_u32(v);
    if (arch_uint(g, a, "attention.sliding_window", &v))
        m->sliding_window = clamp_u32(v);
    if (arch_uint(g, a, "attention.sliding_window_pattern", &v))
        m->sliding_window_pattern = clamp_u32(v);
    if (arch_uint(g, a, "rope.scaling.original_context_length", &v))
        m->rope_scaling_orig_ctx = clamp_u32(v);
    char key[256];
    snprintf(key, sizeof(key), "%s.rope.freq_base", a);
    ostel_gguf_get_float(g, key, &m->rope_freq_base);
    snprintf(key, sizeof(key), "%s.rope.scaling.factor", a);
    ostel_gguf_get_float(g, key, &m->rope_scaling_factor);
    snprintf(key, sizeof(key), "%s.rope.scaling.type", a);
    m->rope_scaling_type = ostel_gguf_get_str(g, key);

    uint32_t nl = m->n_layer > 0 && m->n_layer <= 65536 ? m->n_layer : 0;
    if (nl) {
        m->layer_n_head = ostel_xcalloc(nl, sizeof(uint32_t));
        m->layer_n_head_kv = ostel_xcalloc(nl, sizeof(uint32_t));
    }
    m->n_ff = per_layer(g, a, "feed_forward_length", NULL, 0, NULL);
    m->n_head = per_layer(g, a, "attention.head_count", m->layer_n_head, nl, NULL);
    snprintf(key, sizeof(key), "%s.attention.head_count_kv", a);
    if (ostel_gguf_find(g, key)) {
        m->n_head_kv = per_layer(g, a, "attention.head_count_kv", m->layer_n_head_kv, nl,
                                 &m->n_head_kv_per_layer);
    } else {
        /* llama.cpp: head_count_kv defaults to head_count, layer by layer */
        m->n_head_kv = m->n_head;
        for (uint32_t i = 0; i < nl; i++)
            m->layer_n_head_kv[i] = m->layer_n_head[i];
    }
    uint32_t def_dim = m->n_head ? m->n_embd / m->n_head : 0;
    m->head_dim_k = arch_uint(g, a, "attention.key_length", &v) ? clamp_u32(v) : def_dim;
    m->head_dim_v = arch_uint(g, a, "attention.value_length", &v) ? clamp_u32(v) : def_dim;
    uint64_t kvb = 0;
    for (uint32_t i = 0; i < nl; i++)
        kvb += (uint64_t)m->layer_n_head_kv[i] * ((uint64_t)m->head_dim_k + m->head_dim_v) * 2;
    m->kv_bytes_per_token_f16 = kvb;
}

void ostel_gguf_model_free(struct ostel_gguf_model *m)
{
    free(m->layer_n_head);
    free(m->layer_n_head_kv);
    free(m->types);
    memset(m, 0, sizeof(*m));
}

/* ---- JSON ---- */

static void add_num_or_null(cJSON *o, const char *k, double v)
{
    if (v != 0)
        cJSON_AddNumberToObject(o, k, v);
    else
        cJSON_AddNullToObject(o, k);
}

static void add_str_or_null(cJSON *o, const char *k, const char *v)
{
    if (v)
        cJSON_AddStringToObject(o, k, v);
    else
        cJSON_AddNullToObject(o, k);
}

cJSON *ostel_gguf_model_json(const struct ostel_gguf *g, const struct ostel_gguf_model *m,
                             const char *path)
{
    cJSON *o = cJSON_CreateObject();
    add_str_or_null(o, "path", path);
    cJSON_AddNumberToObject(o, "file_size", (double)g->file_size);
    cJSON_AddNumberToObject(o, "gguf_version", g->version);
    cJSON_AddNumberToObject(o, "n_kv", (double)g->n_kv);
    cJSON_AddNumberToObject(o, "n_tensors", (double)g->n_tensors);
    add_str_or_null(o, "architecture", m->arch);
    add_str_or_null(o, "name", m->name);
    cJSON_AddNumberToObject(o, "parameters", (double)m->n_params);
    cJSON_AddNumberToObject(o, "file_type", m->file_type & ~(uint32_t)OSTEL_LLAMA_FTYPE_GUESSED);
    cJSON_AddStringToObject(o, "file_type_name", m->file_type_name);
    cJSON_AddBoolToObject(o, "file_type_guessed", m->file_type_guessed);
    cJSON_AddNumberToObject(o, "tensor_bytes", (double)m->tensor_bytes);
    add_num_or_null(o, "bits_per_weight", m->bpw);
    add_num_or_null(o, "layers", m->n_layer);
    add_num_or_null(o, "embedding_length", m->n_embd);
    add_num_or_null(o, "feed_forward_length", m->n_ff);
    add_num_or_null(o, "head_count", m->n_head);
    add_num_or_null(o, "head_count_kv", m->n_head_kv);
    if (m->n_head_kv_per_layer && m->layer_n_head_kv) {
        cJSON *arr = cJSON_AddArrayToObject(o, "head_count_kv_per_layer");
        for (uint32_t i = 0; i < m->n_layer; i++)
            cJSON_AddItemToArray(arr, cJSON_CreateNumber(m->layer_n_head_kv[i]));
    }
    add_num_or_null(o, "key_length", m->head_dim_k);
    add_num_or_null(o, "value_length", m->head_dim_v);
    add_num_or_null(o, "context_length", m->n_ctx_train);
    add_num_or_null(o, "vocab_size", m->n_vocab);
    cJSON *rope = cJSON_AddObjectToObject(o, "rope");
    add_num_or_null(rope, "dimension_count", m->n_rot);
    add_num_or_null(rope, "freq_base", m->rope_freq_base);
    add_str_or_null(rope, "scaling_type", m->rope_scaling_type);
    add_num_or_null(rope, "scaling_factor", m->rope_scaling_factor);
    add_num_or_null(rope, "original_context_length", m->rope_scaling_orig_ctx);
    cJSON_AddBoolToObject(rope, "freq_factors", m->has_rope_freqs);
    add_num_or_null(o, "sliding_window", m->sliding_window);
    add_num_or_null(o, "sliding_window_pattern", m->sliding_window_pattern);
    add_num_or_null(o, "kv_bytes_per_token_f16", (double)m->kv_bytes_per_token_f16);
    cJSON *types = cJSON_AddArrayToObject(o, "tensor_types");
    for (size_t i = 0; i < m->n_types; i++) {
        cJSON *t = cJSON_CreateObject();
        const char *tn = ostel_ggml_type_name(m->types[i].type);
        if (tn)
            cJSON_AddStringToObject(t, "type", tn);
        else
            cJSON_AddNumberToObject(t, "type", m->types[i].type);
        cJSON_AddNumberToObject(t, "tensors", (double)m->types[i].count);
        cJSON_AddNumberToObject(t, "elements", (double)m->types[i].elements);
        if (tn)
            cJSON_AddNumberToObject(t, "bytes", (double)m->types[i].bytes);
        else
            cJSON_AddNullToObject(t, "bytes");
        cJSON_AddItemToArray(types, t);
    }
    return o;
}

void ostel_gguf_run_facts_from(struct ostel_gguf_run_facts *f, const struct ostel_gguf *g,
                               const char *path)
{
    memset(f, 0, sizeof(*f));
    struct ostel_gguf_model m;
    ostel_gguf_model_init(&m, g);
    f->model_file = ostel_gguf_model_json(g, &m, path);
    ostel_gguf_model_free(&m);
    char serr[256];
    f->has_shape = ostel_memmodel_shape_from_gguf(&f->shape, g, serr, sizeof(serr)) == OSTEL_OK;
    if (!f->has_shape)
        ostel_memmodel_shape_free(&f->shape);
}

int ostel_gguf_run_facts_read(struct ostel_gguf_run_facts *f, const char *path, char *err,
                              size_t err_size)
{
    memset(f, 0, sizeof(*f));
    struct ostel_gguf g;
    if (ostel_gguf_read_file(&g, path, err, err_size) != OSTEL_OK) {
        ostel_gguf_free(&g);
        return OSTEL_ERR;
    }
    ostel_gguf_run_facts_from(f, &g, path);
    ostel_gguf_free(&g);
    return OSTEL_OK;
}

void ostel_gguf_run_facts_free(struct ostel_gguf_run_facts *f)
{
    cJSON_Delete(f->model_file);
    if (f->has_shape)
        ostel_memmodel_shape_free(&f->shape);
    memset(f, 0, sizeof(*f));
}
