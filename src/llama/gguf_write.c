/*
 * gguf_write: an in-memory GGUF v3 header builder (see gguf_write.h). Little-endian, as ggml
 * writes.
 */
#include "llama/gguf_write.h"

#include "llama/ggml_types.h"

#include <string.h>

static void put_u32(struct ostel_buf *b, uint32_t v)
{
    uint8_t x[4];
    for (int i = 0; i < 4; i++)
        x[i] = (uint8_t)(v >> (8 * i));
    ostel_buf_append(b, x, 4);
}

static void put_u64(struct ostel_buf *b, uint64_t v)
{
    uint8_t x[8];
    for (int i = 0; i < 8; i++)
        x[i] = (uint8_t)(v >> (8 * i));
    ostel_buf_append(b, x, 8);
}

static void put_str(struct ostel_buf *b, const char *s, size_t n)
{
    put_u64(b, n);
    ostel_buf_append(b, s, n);
}

void ostel_gguf_writer_init(struct ostel_gguf_writer *w)
{
    memset(w, 0, sizeof(*w));
    ostel_buf_init(&w->kv, 0);
    ostel_buf_init(&w->ti, 0);
    w->alignment = OSTEL_GGUF_DEFAULT_ALIGNMENT;
}

void ostel_gguf_writer_free(struct ostel_gguf_writer *w)
{
    ostel_buf_free(&w->kv);
    ostel_buf_free(&w->ti);
}

static void key(struct ostel_gguf_writer *w, const char *k, uint32_t type)
{
    put_str(&w->kv, k, strlen(k));
    put_u32(&w->kv, type);
    w->n_kv++;
}

void ostel_gguf_writer_add_str(struct ostel_gguf_writer *w, const char *k, const char *val)
{
    key(w, k, OSTEL_GGUF_TYPE_STRING);
    put_str(&w->kv, val, strlen(val));
}

void ostel_gguf_writer_add_u32(struct ostel_gguf_writer *w, const char *k, uint32_t val)
{
    key(w, k, OSTEL_GGUF_TYPE_UINT32);
    put_u32(&w->kv, val);
}

void ostel_gguf_writer_add_i32(struct ostel_gguf_writer *w, const char *k, int32_t val)
{
    key(w, k, OSTEL_GGUF_TYPE_INT32);
    put_u32(&w->kv, (uint32_t)val);
}

void ostel_gguf_writer_add_f32(struct ostel_gguf_writer *w, const char *k, float val)
{
    uint32_t u;
    memcpy(&u, &val, 4);
    key(w, k, OSTEL_GGUF_TYPE_FLOAT32);
    put_u32(&w->kv, u);
}

void ostel_gguf_writer_add_bool(struct ostel_gguf_writer *w, const char *k, bool val)
{
    uint8_t b = val ? 1 : 0;
    key(w, k, OSTEL_GGUF_TYPE_BOOL);
    ostel_buf_append(&w->kv, &b, 1);
}

void ostel_gguf_writer_add_arr_i32(struct ostel_gguf_writer *w, const char *k, const int32_t *v,
                                   size_t n)
{
    key(w, k, OSTEL_GGUF_TYPE_ARRAY);
    put_u32(&w->kv, OSTEL_GGUF_TYPE_INT32);
    put_u64(&w->kv, n);
    for (size_t i = 0; i < n; i++)
        put_u32(&w->kv, (uint32_t)v[i]);
}

void ostel_gguf_writer_add_kv(struct ostel_gguf_writer *w, const struct ostel_gguf_kv *kv)
{
    key(w, kv->key, kv->type);
    ostel_buf_append(&w->kv, kv->raw, kv->raw_len);
}

uint64_t ostel_gguf_writer_pad_bytes(const struct ostel_gguf_writer *w, uint64_t bytes)
{
    return (w->alignment - bytes % w->alignment) % w->alignment;
}

int ostel_gguf_writer_add_tensor(struct ostel_gguf_writer *w, const char *name, uint32_t type,
                                 uint32_t n_dims, const uint64_t *ne, uint64_t *bytes)
{
    uint64_t n = 1;
    if (n_dims == 0 || n_dims > OSTEL_GGUF_MAX_DIMS || strlen(name) >= OSTEL_GGUF_MAX_NAME)
        return OSTEL_ERR;
    for (uint32_t i = 0; i < n_dims; i++)
        if (!ostel_mul_u64(n, ne[i], &n))
            return OSTEL_ERR;
    uint64_t b;
    if (!ostel_ggml_tensor_bytes(type, ne[0], n, &b))
        return OSTEL_ERR;
    put_str(&w->ti, name, strlen(name));
    put_u32(&w->ti, n_dims);
    for (uint32_t i = 0; i < n_dims; i++)
        put_u64(&w->ti, ne[i]);
    put_u32(&w->ti, type);
    put_u64(&w->ti, w->data_bytes);
    w->data_bytes += b + ostel_gguf_writer_pad_bytes(w, b);
    w->n_tensors++;
    *bytes = b;
    return OSTEL_OK;
}

void ostel_gguf_writer_header(const struct ostel_gguf_writer *w, struct ostel_buf *out)
{
    ostel_buf_append(out, OSTEL_GGUF_MAGIC, 4);
    put_u32(out, 3);
    put_u64(out, w->n_tensors);
    put_u64(out, w->n_kv);
    ostel_buf_append(out, w->kv.data, w->kv.len);
    ostel_buf_append(out, w->ti.data, w->ti.len);
    static const char zeros[256] = {0};
    uint64_t pad = (w->alignment - out->len % w->alignment) % w->alignment;
    while (pad > 0) {
        size_t take = pad > sizeof(zeros) ? sizeof(zeros) : (size_t)pad;
        ostel_buf_append(out, zeros, take);
        pad -= take;
    }
}
