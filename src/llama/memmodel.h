/*
 * memmodel: a pure model of the memory llama.cpp (the pinned build) allocates for a model at a
 * context, per device: model weights (what stays on the host, what is offloaded, what the CPU
 * backend repacks), the KV cache, the compute buffers and the output buffer. docs/fit.md gives the
 * formulas, where each comes from in llama.cpp's source and the calibration against measurements.
 *
 * Input is a shape: hparams plus, when known, the GGUF's tensor table (names, types, sizes, file
 * offsets). A shape comes from a GGUF header (ostel_memmodel_shape_from_gguf) or from the model
 * header lines of a parsed log (ostel_memmodel_shape_from_log), which lack the tensor table: the
 * table is then synthesized from the architecture and llama.cpp's quantization recipe (less exact,
 * said in the result). The prediction (memmodel.c), the shapes (memmodel_shape.c), the
 * quantization recipe (memmodel_quant.c) and the comparison with a log (fit_compare.c) are pure:
 * they neither print nor touch a file. A GGUF's shape is made from a header its caller read
 * (gguf_facts.h's ostel_gguf_run_facts_read reads one once for a run).
 */
#ifndef OSTEL_MEMMODEL_H
#define OSTEL_MEMMODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

struct ostel_gguf;
struct ostel_log_result;

/* The backend that holds the offloaded layers. CPU = no GPU (everything on the host). */
enum ostel_memmodel_backend {
    OSTEL_MEMMODEL_BACKEND_CPU = 0,
    OSTEL_MEMMODEL_BACKEND_CUDA,  /* and other discrete GPUs (ROCm, SYCL, Vulkan): own memory */
    OSTEL_MEMMODEL_BACKEND_METAL, /* unified memory; weights mapped from the file */
};

/* CPU features that decide which weights the CPU backend repacks (ggml-cpu/repack.cpp). */
enum {
    OSTEL_MEMMODEL_CPU_AVX2 = 1u << 0,
    OSTEL_MEMMODEL_CPU_AVX512 = 1u << 1,
    OSTEL_MEMMODEL_CPU_NEON_DOTPROD = 1u << 2,
    OSTEL_MEMMODEL_CPU_NEON_I8MM = 1u << 3,
};

/* One weight tensor as the model needs it. */
struct ostel_memmodel_tensor {
    char name[64];
    uint32_t type; /* ggml type id */
    uint32_t n_dims;
    uint64_t ne[4];
    uint64_t bytes;  /* ggml_nbytes */
    uint64_t offset; /* in the data section; meaningful only when shape.have_offsets */
};

/* What the model needs to know of a model. Owned arrays are released by _shape_free. */
struct ostel_memmodel_shape {
    char arch[48];
    uint32_t n_layer, n_embd, n_ff, n_head, n_head_kv, head_dim_k, head_dim_v;
    uint32_t n_vocab, n_ctx_train;
    uint32_t *layer_n_head_kv; /* n_layer entries or NULL (then n_head_kv for every layer); owned */
    uint32_t n_swa;            /* sliding window (tokens); 0 = none */
    uint32_t swa_pattern;      /* every swa_pattern-th layer is full attention (llama.cpp's rule) */
    uint32_t ftype;            /* general.file_type (llama_ftype), 0 when unknown */
    uint64_t total_bytes;      /* all tensors */
    struct ostel_memmodel_tensor *tensors; /* owned */
    size_t n_tensors;
    bool have_offsets; /* tensors[] carry file offsets (a GGUF), not a synthesized table */
    bool synthesized;  /* the table was made up from hparams (a log), not read */
    bool tied_output;  /* no output.weight: token_embd is duplicated for the output layer */
};

struct ostel_memmodel_params {
    uint32_t n_ctx;          /* requested context; 0 = the trained context */
    uint32_t n_seq;          /* parallel sequences; 0 = 1 */
    uint32_t n_batch;        /* 0 = 2048 */
    uint32_t n_ubatch;       /* 0 = 512 */
    bool kv_unified;         /* one KV stream for all sequences (llama-server, Ollama) */
    int ngl;                 /* layers offloaded, llama.cpp's -ngl; -1 = all */
    uint32_t type_k, type_v; /* ggml types of the cache (OSTEL_GGML_TYPE_F16 by default) */
    int flash_attn;          /* -1 auto (= on for CPU, CUDA, Metal), 0 off, 1 on */
    enum ostel_memmodel_backend backend;
    uint32_t cpu_features; /* OSTEL_MEMMODEL_CPU_* of the host */
    bool no_mmap;          /* --no-mmap: weights copied into allocated buffers */
};

/* Defaults of llama-completion: n_ctx 4096, f16 cache, flash attention auto, all layers, CPU. */
struct ostel_memmodel_params ostel_memmodel_default_params(void);

enum { OSTEL_MEMMODEL_DEV_HOST = 0, OSTEL_MEMMODEL_DEV_GPU = 1, OSTEL_MEMMODEL_MAX_DEV = 2 };

/* Bytes on one device. For the host, model_bytes is the mapped part of the file (page cache). */
struct ostel_memmodel_device {
    const char *name;      /* "host", "gpu" (static) */
    uint64_t model_bytes;  /* weights (mapped span or allocated buffer) */
    uint64_t repack_bytes; /* CPU_REPACK copies (host only) */
    uint64_t kv_bytes;
    uint64_t compute_bytes;
    uint64_t output_bytes; /* logits buffer (host only) */
    uint64_t total_bytes;  /* the sum of the above */
};

struct ostel_memmodel_result {
    uint32_t n_ctx; /* after llama.cpp's padding (multiple of 256 per sequence) */
    uint32_t n_ctx_seq;
    uint32_t n_ubatch;     /* effective: min(n_ctx, n_ubatch) */
    uint32_t kv_cells;     /* cells of the full-attention cache, all streams */
    uint32_t kv_cells_swa; /* cells of the sliding-window cache (0 = none) */
    uint32_t layers_gpu;   /* repeating layers on the GPU */
    bool output_on_gpu;
    bool flash_attn; /* as resolved */
    uint64_t kv_k_bytes, kv_v_bytes;
    uint64_t model_bytes; /* all devices (the host's mapped span counted once) */
    uint64_t kv_bytes, compute_bytes, output_bytes, repack_bytes;
    size_t n_dev; /* 1 (CPU) or 2 */
    struct ostel_memmodel_device dev[OSTEL_MEMMODEL_MAX_DEV];
    bool kv_exact;    /* the KV formula is exact for this architecture */
    bool model_exact; /* weights from a real tensor table */
    char note[256];   /* what is approximate, "" when nothing */
};

/* Fills *s from a GGUF header (s owns copies; g may be freed after). Returns 0 or OSTEL_ERR with
 * err. */
int ostel_memmodel_shape_from_gguf(struct ostel_memmodel_shape *s, const struct ostel_gguf *g,
                                   char *err, size_t err_size);
/*
 * Fills *s from the model header lines of a parsed log (n_layer, n_embd, n_head, n_head_kv,
 * n_vocab, file type, size, and r->header_extra's head sizes, n_ff and n_swa), synthesizing a
 * llama-like tensor table whose total is the printed model size. Returns OSTEL_ERR with err when
 * the log lacks what is needed.
 */
int ostel_memmodel_shape_from_log(struct ostel_memmodel_shape *s, const struct ostel_log_result *r,
                                  char *err, size_t err_size);
void ostel_memmodel_shape_free(struct ostel_memmodel_shape *s);

/* Predicts *out (plain data). Returns 0, or OSTEL_ERR with err (bad parameters, unusable shape). */
int ostel_memmodel_predict(const struct ostel_memmodel_shape *s,
                           const struct ostel_memmodel_params *p, struct ostel_memmodel_result *out,
                           char *err, size_t err_size);

/* The ggml type id of a cache type name ("f16", "q8_0", ...) usable for the KV cache, or -1. */
int ostel_memmodel_cache_type(const char *name);

/* The prediction as a JSON object of MiB values (docs/fit.md); the caller owns it. */
cJSON *ostel_memmodel_result_json(const struct ostel_memmodel_result *r);

/*
 * Prediction against measurement, for the runner at the end of a run. gguf_shape (borrowed, may be
 * NULL) is the model's shape from its GGUF header, tensor table included; without it the log's
 * model header is used. params gives what the run asked for; fields left 0 are taken from the log
 * (n_ctx, cache types, backend from the buffers). Returns a new object the caller owns:
 *   {"model": {"predicted_mib", "measured_mib", "error_pct"}, "context": {...}, "compute": {...},
 *    "output": {...}, "devices": [{"device", "model": {...}, ...}], "n_ctx", "source",
 *    "within_bars"}
 * (measured and error null where the log lacks the buffer), or NULL with err when the log holds no
 * buffer sizes or no usable model facts. Without the GGUF, the log's header_extra (head sizes,
 * n_ff, n_swa) sharpens the prediction.
 */
cJSON *ostel_memmodel_compare_json(const struct ostel_memmodel_shape *gguf_shape,
                                   const struct ostel_memmodel_params *p,
                                   const struct ostel_log_result *log, char *err, size_t err_size);

/*
 * What a run's log says llama.cpp ran with, as far as the memory model's parameters go: from the
 * log parser's result (ostel_memmodel_log_settings_of) or from the same facts as summary.json's
 * llama object keeps them (the report). A number is NAN and a string NULL or "" where the log did
 * not print it. Borrowed strings.
 */
struct ostel_memmodel_log_settings {
    double n_ctx, n_seq_max, n_batch, n_ubatch, offloaded_layers;
    const char *kv_type_k, *kv_type_v; /* "f16", "q8_0", ... */
    const char *flash_attn;            /* as printed: "auto", "0", "1", "enabled", "disabled" */
    const char *platform;    /* ostel_logparse_platform's name ("cpu", "metal", a GPU's), or NULL */
    const char *system_info; /* llama.cpp's system_info line (its REPACK and CPU features) */
};
/* The settings in the log parser's result r (borrowing its strings). */
struct ostel_memmodel_log_settings ostel_memmodel_log_settings_of(const struct ostel_log_result *r);
/*
 * Sets *p from what the log says (the one place where a log's settings become the memory model's
 * parameters: the runner's prediction and the report's context sweep): n_ctx, n_batch, n_ubatch,
 * n_seq (more than one: one unified cache, as older builds and servers keep), the cache types,
 * flash attention, -ngl, the backend (from the platform: none or cpu is the CPU) and, where the
 * system_info line was printed, the CPU features the repack depends on. What the log does not say,
 * or says absurdly, leaves p's field as it was.
 */
void ostel_memmodel_params_from_log(struct ostel_memmodel_params *p,
                                    const struct ostel_memmodel_log_settings *s);

/* Error bars of the comparison: |error| at most this many percent. */
#define OSTEL_MEMMODEL_BAR_MODEL_PCT 1.0
#define OSTEL_MEMMODEL_BAR_CONTEXT_PCT 1.0
#define OSTEL_MEMMODEL_BAR_COMPUTE_PCT 15.0

#endif
