/*
 * synth: writes a random-weight GGUF with the exact tensor set and shapes llama.cpp's loader
 * expects for a real model (LLM_ARCH_LLAMA, LLM_ARCH_QWEN2), with the tokenizer of one of the
 * pinned release's vocab GGUFs, so memory and speed can be measured without downloading weights.
 *
 * Values: norms 1, biases 0, llama-3 rope frequency factors as convert_hf_to_gguf.py computes them,
 * weights small random numbers (|w| in [2^-7, 2^-5)) so logits stay finite. The output is written
 * to a temporary file beside the target, fsync'd and renamed; free space is checked first.
 */
#ifndef OSTEL_SYNTH_H
#define OSTEL_SYNTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ostel_synth_shape {
    const char *preset; /* preset name, or "custom" */
    const char *arch;   /* "llama" or "qwen2" */
    const char *name;   /* general.name */
    const char
        *vocab_file;  /* vocab GGUF name in the pinned release ("ggml-vocab-llama-bpe.gguf") */
    uint32_t n_vocab; /* expected token count of the vocab file; 0 = take the file's */
    uint32_t n_layer;
    uint32_t n_embd;
    uint32_t n_ff;
    uint32_t n_head;
    uint32_t n_head_kv;
    uint32_t head_dim; /* 0 = n_embd / n_head */
    uint32_t n_ctx_train;
    float rope_theta;
    float rms_eps;
    bool tied_embeddings; /* no output.weight: llama.cpp reuses token_embd */
    bool qkv_bias;        /* attn_q/k/v biases (qwen2) */
    /* llama-3 rope scaling (rope_freqs.weight); factor 0 = none */
    float rope_factor;
    float rope_low_freq_factor;
    float rope_high_freq_factor;
    uint32_t rope_orig_ctx;
};

/* The preset called `name`, or NULL. Static storage. */
const struct ostel_synth_shape *ostel_synth_preset_find(const char *name);
/* Preset i (0-based), or NULL past the end: for listing. */
const struct ostel_synth_shape *ostel_synth_preset_at(size_t i);

/*
 * Checks a shape for what llama.cpp and the output type need (non-zero sizes, heads dividing,
 * rows a multiple of 32). Returns 0, or OSTEL_ERR with a line in err.
 */
int ostel_synth_shape_check(const struct ostel_synth_shape *s, char *err, size_t err_size);

struct ostel_synth_options {
    const char *out_path;
    const char *vocab_path; /* vocab GGUF to take the tokenizer from */
    uint32_t type;          /* OSTEL_GGML_TYPE_F16 or OSTEL_GGML_TYPE_Q8_0 */
    uint64_t seed;
    bool force;   /* replace an existing out_path */
    bool dry_run; /* compute sizes only, write nothing */
    bool sparse;  /* header only; the weights are a hole of the right size that reads as zeros */
};

struct ostel_synth_result {
    uint64_t file_bytes;
    uint64_t n_params;
    uint64_t n_tensors;
    double seconds; /* wall time of the write, fsync included */
};

/*
 * Writes the model. Prints one error through ostel_error() and returns OSTEL_ERR on failure,
 * leaving no partial output behind: the file is written as OUT.synth-<pid>-XXXXXX and renamed at
 * the end; SIGINT/SIGTERM during the write stop it and remove that file (ostel_synth_interrupted()
 * then names the signal); such files left by a synth that was killed outright are removed by the
 * next synth of the same OUT.
 */
int ostel_synth_write(const struct ostel_synth_shape *s, const struct ostel_synth_options *o,
                      struct ostel_synth_result *res);
/* The signal (SIGINT or SIGTERM) that stopped the last ostel_synth_write, or 0. */
int ostel_synth_interrupted(void);

/* What every `ostel synth` model's general.name ends with ("Llama 3.1 8B (ostel synth)"). */
#define OSTEL_SYNTH_NAME_MARK "(ostel synth)"
/* Whether general.name `name` (may be NULL) is that of an `ostel synth` model. */
bool ostel_synth_is_synth_name(const char *name);

#endif
