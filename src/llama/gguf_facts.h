/*
 * gguf_facts: what ostel (inspect, fit, run) derives from a GGUF header read by gguf.h's reader:
 * the model's shape, per-layer heads, file type, sizes and KV-cache bytes per token, and inspect's
 * JSON of them (docs/gguf.md); and what a run records of its model, from one read.
 */
#ifndef OSTEL_GGUF_FACTS_H
#define OSTEL_GGUF_FACTS_H

#include "llama/gguf.h"
#include "llama/memmodel.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

/* Bytes and counts of the tensors of one ggml type. */
struct ostel_gguf_type_total {
    uint32_t type;
    uint64_t count;
    uint64_t elements;
    uint64_t bytes;
};

/*
 * What ostel (inspect, fit, run) knows of a model from its GGUF header. A field the file does not
 * hold is 0 (numbers) or NULL (strings), never a guess, except where noted. Strings are borrowed
 * from the ostel_gguf it was made from, which must outlive it; arrays are owned.
 */
struct ostel_gguf_model {
    const char *arch;   /* general.architecture */
    const char *name;   /* general.name */
    uint32_t file_type; /* general.file_type, or llama.cpp's guess | OSTEL_LLAMA_FTYPE_GUESSED */
    bool file_type_guessed;
    const char *file_type_name; /* as llama.cpp prints it: "Q4_K - Medium" (static) */
    uint64_t n_params;          /* sum of tensor elements */
    uint64_t tensor_bytes;      /* sum of tensor bytes */
    double bpw;                 /* tensor_bytes * 8 / n_params, 0 without tensors */
    uint32_t n_layer;           /* <arch>.block_count */
    uint32_t n_embd;            /* <arch>.embedding_length */
    uint32_t n_ff;              /* <arch>.feed_forward_length (the largest, when per layer) */
    uint32_t n_head;            /* <arch>.attention.head_count (the largest, when per layer) */
    uint32_t n_head_kv;         /* <arch>.attention.head_count_kv (largest); = n_head when absent */
    bool n_head_kv_per_layer;   /* head_count_kv was an array */
    uint32_t *layer_n_head_kv;  /* n_layer entries (NULL when n_layer is 0 or above 65536), owned */
    uint32_t *layer_n_head;     /* idem */
    uint32_t head_dim_k;        /* attention.key_length, else n_embd / n_head */
    uint32_t head_dim_v;        /* attention.value_length, else n_embd / n_head */
    uint32_t n_ctx_train;       /* <arch>.context_length */
    uint32_t n_vocab;           /* tokenizer.ggml.tokens count, else <arch>.vocab_size */
    uint32_t n_rot;             /* rope.dimension_count */
    double rope_freq_base;      /* rope.freq_base */
    const char *rope_scaling_type; /* rope.scaling.type ("linear", "yarn", ...) */
    double rope_scaling_factor;
    uint32_t rope_scaling_orig_ctx;  /* rope.scaling.original_context_length */
    bool has_rope_freqs;             /* a rope_freqs.weight tensor (llama 3.1+ frequency factors) */
    uint32_t sliding_window;         /* attention.sliding_window */
    uint32_t sliding_window_pattern; /* attention.sliding_window_pattern when an integer */
    uint64_t
        kv_bytes_per_token_f16; /* sum over layers of n_head_kv * (k + v head dims) * 2 bytes */
    size_t n_types;
    struct ostel_gguf_type_total *types; /* owned, one per ggml type present, by type id */
};

/* Fills *m from g (m borrows g's strings). Never fails; ostel_gguf_model_free() releases it. */
void ostel_gguf_model_init(struct ostel_gguf_model *m, const struct ostel_gguf *g);
void ostel_gguf_model_free(struct ostel_gguf_model *m);

/*
 * inspect's facts of one GGUF file as a JSON object (docs/gguf.md); the caller owns the result
 * (cJSON_Delete). path is recorded as given.
 */
cJSON *ostel_gguf_model_json(const struct ostel_gguf *g, const struct ostel_gguf_model *m,
                             const char *path);
/*
 * What a run records of its model, from one read of its GGUF header: inspect's object above for
 * summary.json's model_file, and the memory model's shape for the prediction (has_shape false when
 * the header does not describe a model memmodel can use: the prediction then takes the log's).
 */
struct ostel_gguf_run_facts {
    cJSON *model_file; /* owned */
    bool has_shape;
    struct ostel_memmodel_shape shape; /* owned when has_shape */
};
/*
 * Reads path's header once (path is recorded as given). Returns 0, or OSTEL_ERR with err filled
 * when the header cannot be read. Free with ostel_gguf_run_facts_free(), also after a failure.
 */
int ostel_gguf_run_facts_read(struct ostel_gguf_run_facts *f, const char *path, char *err,
                              size_t err_size);
/* The same from a header the caller has read already (g borrowed; path recorded as given), for a
 * caller that reads the header for facts of its own too. Never fails; free f with
 * ostel_gguf_run_facts_free(). */
void ostel_gguf_run_facts_from(struct ostel_gguf_run_facts *f, const struct ostel_gguf *g,
                               const char *path);
void ostel_gguf_run_facts_free(struct ostel_gguf_run_facts *f);

#endif
