/*
 * gguf: a reader of GGUF v2/v3 headers (metadata and tensor infos) that never touches tensor data,
 * and the model facts ostel derives from them (shape, file type, sizes, KV-cache bytes per token).
 *
 * The format is ggml's docs/gguf.md; the checks follow ggml/src/gguf.cpp of the pinned llama.cpp,
 * so a file this reader accepts is one llama.cpp's GGUF parser accepts too (tensor types newer than
 * the pinned ggml excepted: those are kept and reported by number). Input is untrusted: every
 * count, length and offset is checked against the file size with overflow-safe arithmetic,
 * allocations grow only as bytes are really read and are capped (OSTEL_GGUF_MAX_*), and any failure
 * is one line in the caller's error buffer. The reader is pure: it never prints.
 *
 * Only the header region is read (bounded reads through a 1 MiB buffer), so a 100 GB model is
 * inspected in the time it takes to read its vocabulary.
 */
#ifndef OSTEL_GGUF_H
#define OSTEL_GGUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

enum {
    OSTEL_GGUF_TYPE_UINT8 = 0,
    OSTEL_GGUF_TYPE_INT8 = 1,
    OSTEL_GGUF_TYPE_UINT16 = 2,
    OSTEL_GGUF_TYPE_INT16 = 3,
    OSTEL_GGUF_TYPE_UINT32 = 4,
    OSTEL_GGUF_TYPE_INT32 = 5,
    OSTEL_GGUF_TYPE_FLOAT32 = 6,
    OSTEL_GGUF_TYPE_BOOL = 7,
    OSTEL_GGUF_TYPE_STRING = 8,
    OSTEL_GGUF_TYPE_ARRAY = 9,
    OSTEL_GGUF_TYPE_UINT64 = 10,
    OSTEL_GGUF_TYPE_INT64 = 11,
    OSTEL_GGUF_TYPE_FLOAT64 = 12,
    OSTEL_GGUF_TYPE_COUNT = 13,
};

#define OSTEL_GGUF_MAGIC "GGUF"
#define OSTEL_GGUF_DEFAULT_ALIGNMENT 32u
#define OSTEL_GGUF_MAX_NAME 64                  /* GGML_MAX_NAME: tensor names are shorter */
#define OSTEL_GGUF_MAX_DIMS 4                   /* GGML_MAX_DIMS */
#define OSTEL_GGUF_MAX_KEY_LEN 65535u           /* bytes of a key */
#define OSTEL_GGUF_MAX_STRING_LEN (64u << 20)   /* bytes of one string value */
#define OSTEL_GGUF_MAX_KV (1u << 20)            /* key-value pairs */
#define OSTEL_GGUF_MAX_TENSORS (1u << 20)       /* tensor infos */
#define OSTEL_GGUF_MAX_METADATA (1024ull << 20) /* all metadata values together, bytes */

/* One key-value pair. */
struct ostel_gguf_kv {
    char *key;         /* owned, NUL-terminated */
    uint32_t type;     /* OSTEL_GGUF_TYPE_*; OSTEL_GGUF_TYPE_ARRAY for arrays */
    uint32_t arr_type; /* element type of an array (never ARRAY: nested arrays are refused) */
    uint64_t arr_n;    /* elements of an array */
    union {
        uint64_t u; /* UINT*, BOOL */
        int64_t i;  /* INT* */
        double f;   /* FLOAT32, FLOAT64 */
    } v;            /* a scalar's value */
    char *str;      /* a STRING scalar, owned, NUL-terminated (may hold NULs: see str_len) */
    size_t str_len;
    uint8_t *raw; /* owned: the value as stored after its type field (for an array: element
                     type, count, elements), so a writer can copy it verbatim */
    size_t raw_len;
};

struct ostel_gguf_tensor {
    char name[OSTEL_GGUF_MAX_NAME];
    uint32_t n_dims;
    uint64_t ne[OSTEL_GGUF_MAX_DIMS]; /* unused dimensions are 1 */
    uint32_t type;                    /* ggml type id */
    bool type_known;                  /* false: a type the pinned ggml lacks; bytes is then 0 */
    uint64_t nelements;
    uint64_t bytes;  /* ggml_nbytes(), unpadded */
    uint64_t offset; /* from the start of the data section */
};

struct ostel_gguf {
    uint32_t version;
    uint64_t file_size;
    uint32_t alignment;
    uint64_t header_bytes; /* bytes of magic, counts, metadata and tensor infos */
    uint64_t data_offset;  /* absolute offset of the tensor data section */
    size_t n_kv;
    struct ostel_gguf_kv *kv; /* owned, file order */
    size_t n_tensors;
    struct ostel_gguf_tensor *tensors; /* owned, file order */
    uint64_t n_elements;    /* sum of all tensors' elements (llama.cpp's "model params") */
    uint64_t tensor_bytes;  /* sum of known tensors' bytes (llama.cpp's "file size") */
    size_t n_unknown_types; /* tensors whose type the pinned ggml lacks */
};

/*
 * Reads the header of the GGUF file at path into *g (which the caller owns and must release with
 * ostel_gguf_free(), also after a failure). Returns 0, or -1 with one lowercase line in err.
 */
int ostel_gguf_read_file(struct ostel_gguf *g, const char *path, char *err, size_t errlen);
/* The same over a buffer holding a whole file (borrowed for the call only). */
int ostel_gguf_read_buffer(struct ostel_gguf *g, const void *data, size_t len, char *err,
                           size_t errlen);
void ostel_gguf_free(struct ostel_gguf *g);

/* GGUF's name of a value type ("uint32", "string"), or "?" */
const char *ostel_gguf_type_name(uint32_t type);

/* The pair with key `key`, or NULL; borrowed from g. */
const struct ostel_gguf_kv *ostel_gguf_find(const struct ostel_gguf *g, const char *key);
/* A scalar of any integer or bool type that is >= 0; false when absent or of another type. */
bool ostel_gguf_get_uint(const struct ostel_gguf *g, const char *key, uint64_t *out);
/* A scalar of any numeric type as a double. */
bool ostel_gguf_get_float(const struct ostel_gguf *g, const char *key, double *out);
/* A string scalar (borrowed from g), or NULL when absent or not a string. */
const char *ostel_gguf_get_str(const struct ostel_gguf *g, const char *key);
/* Element idx of a numeric (or bool) array as int64 / double; false when out of range or not one.
 */
bool ostel_gguf_array_get_i64(const struct ostel_gguf_kv *kv, uint64_t idx, int64_t *out);
bool ostel_gguf_array_get_f64(const struct ostel_gguf_kv *kv, uint64_t idx, double *out);
/* The tensor named `name`, or NULL; borrowed from g. */
const struct ostel_gguf_tensor *ostel_gguf_find_tensor(const struct ostel_gguf *g,
                                                       const char *name);

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
/* Reads path's header and returns the object above, or NULL with err filled (for `ostel run`). */
cJSON *ostel_gguf_inspect_json(const char *path, char *err, size_t errlen);

#endif
