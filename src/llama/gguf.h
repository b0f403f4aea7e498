/*
 * gguf: a reader of GGUF v2/v3 headers (metadata and tensor infos) that never touches tensor data,
 * of which gguf_facts.h derives the model facts (shape, file type, sizes, KV-cache bytes per
 * token).
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
 * ostel_gguf_free(), also after a failure). Returns 0, or OSTEL_ERR with one lowercase line in err.
 */
int ostel_gguf_read_file(struct ostel_gguf *g, const char *path, char *err, size_t err_size);
/* The same over a buffer holding a whole file (borrowed for the call only). */
int ostel_gguf_read_buffer(struct ostel_gguf *g, const void *data, size_t len, char *err,
                           size_t err_size);
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

#endif
