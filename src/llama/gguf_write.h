/*
 * gguf_write: builds a GGUF v3 header (metadata and tensor infos) in memory; the caller then
 * streams each tensor's data in the same order, padded to the alignment
 * (ostel_gguf_writer_pad_bytes()). Offsets follow ggml's gguf writer: each tensor starts where the
 * previous one's padded data ends.
 */
#ifndef OSTEL_GGUF_WRITE_H
#define OSTEL_GGUF_WRITE_H

#include "llama/gguf.h"
#include "util/util.h"

struct ostel_gguf_writer {
    struct ostel_buf kv; /* serialized key-value pairs */
    uint64_t n_kv;
    struct ostel_buf ti; /* serialized tensor infos */
    uint64_t n_tensors;
    uint64_t data_bytes; /* padded size of the data section so far */
    uint32_t alignment;
};

void ostel_gguf_writer_init(struct ostel_gguf_writer *w);
void ostel_gguf_writer_free(struct ostel_gguf_writer *w);

/* Scalars and arrays; key and values are copied. */
void ostel_gguf_writer_add_str(struct ostel_gguf_writer *w, const char *key, const char *val);
void ostel_gguf_writer_add_u32(struct ostel_gguf_writer *w, const char *key, uint32_t val);
void ostel_gguf_writer_add_i32(struct ostel_gguf_writer *w, const char *key, int32_t val);
void ostel_gguf_writer_add_f32(struct ostel_gguf_writer *w, const char *key, float val);
void ostel_gguf_writer_add_bool(struct ostel_gguf_writer *w, const char *key, bool val);
void ostel_gguf_writer_add_arr_i32(struct ostel_gguf_writer *w, const char *key, const int32_t *v,
                                   size_t n);
/* Copies a pair read by the gguf reader verbatim (its type and raw value bytes). */
void ostel_gguf_writer_add_kv(struct ostel_gguf_writer *w, const struct ostel_gguf_kv *kv);

/*
 * Adds a tensor info (ne: n_dims sizes, innermost first, as in ggml). Returns 0 and its unpadded
 * byte size in *bytes, or OSTEL_ERR when the type is unknown or ne[0] not a multiple of its block
 * size.
 */
int ostel_gguf_writer_add_tensor(struct ostel_gguf_writer *w, const char *name, uint32_t type,
                                 uint32_t n_dims, const uint64_t *ne, uint64_t *bytes);

/* Serializes magic, counts, metadata, tensor infos and the padding before the data into out
 * (initialised by the caller). */
void ostel_gguf_writer_header(const struct ostel_gguf_writer *w, struct ostel_buf *out);
/* Bytes of zero padding to write after a tensor of `bytes` bytes. */
uint64_t ostel_gguf_writer_pad_bytes(const struct ostel_gguf_writer *w, uint64_t bytes);

#endif
