/*
 * gguf: the GGUF header reader and the model facts derived from it (see gguf.h).
 *
 * All reads go through struct reader, which knows the input's size and refuses any read that would
 * pass it, so truncation is found at the first missing byte. Numbers are decoded little-endian
 * byte by byte (GGUF v3 big-endian files are refused by their version check, as ggml does).
 */
#include "llama/gguf.h"

#include "llama/ggml_types.h"
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define READ_CHUNK (1u << 20)

struct reader {
    const uint8_t *mem; /* whole input in memory, or NULL for fd */
    int fd;
    uint64_t size;
    uint64_t pos;
    uint8_t *buf; /* fd mode: bytes [buf_start, buf_start + buf_len) of the file */
    uint64_t buf_start;
    size_t buf_len;
    uint64_t meta_bytes; /* metadata held so far, against OSTEL_GGUF_MAX_METADATA */
    char *err;
    size_t err_size;
};

static int fail(struct reader *r, const char *fmt, ...) OSTEL_PRINTF(2, 3);
static int fail(struct reader *r, const char *fmt, ...)
{
    if (r->err && r->err_size) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(r->err, r->err_size, fmt, ap);
        va_end(ap);
    }
    return OSTEL_ERR;
}

static uint64_t remain(const struct reader *r)
{
    return r->size - r->pos;
}

/* Copies n bytes at the current position to dst; a short input is reported as truncation. */
static int rd(struct reader *r, void *dst, uint64_t n, const char *what)
{
    if (n > remain(r))
        return fail(r, "file is truncated: %s at byte %llu needs %llu bytes, the file has %llu",
                    what, (unsigned long long)r->pos, (unsigned long long)n,
                    (unsigned long long)r->size);
    if (r->mem) {
        memcpy(dst, r->mem + r->pos, (size_t)n);
        r->pos += n;
        return OSTEL_OK;
    }
    uint8_t *out = dst;
    while (n > 0) {
        if (r->pos < r->buf_start || r->pos >= r->buf_start + r->buf_len) {
            uint64_t want = r->size - r->pos < READ_CHUNK ? r->size - r->pos : READ_CHUNK;
            ssize_t got;
            do {
                got = pread(r->fd, r->buf, (size_t)want, (off_t)r->pos);
            } while (got < 0 && errno == EINTR);
            if (got < 0)
                return fail(r, "cannot read at byte %llu: %s", (unsigned long long)r->pos,
                            strerror(errno));
            if (got == 0)
                return fail(r, "file is truncated: it shrank while being read (at byte %llu)",
                            (unsigned long long)r->pos);
            r->buf_start = r->pos;
            r->buf_len = (size_t)got;
        }
        size_t off = (size_t)(r->pos - r->buf_start);
        size_t take = r->buf_len - off;
        if (take > n)
            take = (size_t)n;
        memcpy(out, r->buf + off, take);
        out += take;
        r->pos += take;
        n -= take;
    }
    return OSTEL_OK;
}

static uint64_t le(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static int rd_u32(struct reader *r, uint32_t *out, const char *what)
{
    uint8_t b[4];
    if (rd(r, b, 4, what) != OSTEL_OK)
        return OSTEL_ERR;
    *out = (uint32_t)le(b, 4);
    return OSTEL_OK;
}

static int rd_u64(struct reader *r, uint64_t *out, const char *what)
{
    uint8_t b[8];
    if (rd(r, b, 8, what) != OSTEL_OK)
        return OSTEL_ERR;
    *out = le(b, 8);
    return OSTEL_OK;
}

static int account(struct reader *r, uint64_t n)
{
    if (!ostel_add_u64(r->meta_bytes, n, &r->meta_bytes) || r->meta_bytes > OSTEL_GGUF_MAX_METADATA)
        return fail(r, "metadata exceeds %llu MiB", OSTEL_GGUF_MAX_METADATA >> 20);
    return OSTEL_OK;
}

/* Reads a GGUF string (u64 length + bytes) into a new NUL-terminated allocation. */
static int rd_string(struct reader *r, uint64_t max, char **out, uint64_t *len, const char *what)
{
    uint64_t n;
    if (rd_u64(r, &n, what) != OSTEL_OK)
        return OSTEL_ERR;
    if (n > max)
        return fail(r, "%s: string length %llu exceeds the limit of %llu bytes", what,
                    (unsigned long long)n, (unsigned long long)max);
    if (n > remain(r))
        return fail(r,
                    "file is truncated: %s of %llu bytes at byte %llu runs past the end "
                    "(the file has %llu bytes)",
                    what, (unsigned long long)n, (unsigned long long)r->pos,
                    (unsigned long long)r->size);
    if (account(r, n + 1) != OSTEL_OK)
        return OSTEL_ERR;
    char *s = ostel_xmalloc((size_t)n + 1);
    if (rd(r, s, n, what) != OSTEL_OK) {
        free(s);
        return OSTEL_ERR;
    }
    s[n] = '\0';
    *out = s;
    *len = n;
    return OSTEL_OK;
}

static const char *const type_names[OSTEL_GGUF_TYPE_COUNT] = {
    "uint8", "int8",   "uint16", "int16",  "uint32", "int32",   "float32",
    "bool",  "string", "array",  "uint64", "int64",  "float64",
};

const char *ostel_gguf_type_name(uint32_t type)
{
    return type < OSTEL_GGUF_TYPE_COUNT ? type_names[type] : "?";
}

/* Bytes of one element of a fixed-size type; 0 for string, array and unknown types. */
static unsigned scalar_size(uint32_t type)
{
    switch (type) {
    case OSTEL_GGUF_TYPE_UINT8:
    case OSTEL_GGUF_TYPE_INT8:
    case OSTEL_GGUF_TYPE_BOOL:
        return 1;
    case OSTEL_GGUF_TYPE_UINT16:
    case OSTEL_GGUF_TYPE_INT16:
        return 2;
    case OSTEL_GGUF_TYPE_UINT32:
    case OSTEL_GGUF_TYPE_INT32:
    case OSTEL_GGUF_TYPE_FLOAT32:
        return 4;
    case OSTEL_GGUF_TYPE_UINT64:
    case OSTEL_GGUF_TYPE_INT64:
    case OSTEL_GGUF_TYPE_FLOAT64:
        return 8;
    default:
        return 0;
    }
}

static void decode_scalar(uint32_t type, const uint8_t *p, struct ostel_gguf_kv *kv)
{
    uint64_t u = le(p, (int)scalar_size(type));
    switch (type) {
    case OSTEL_GGUF_TYPE_INT8:
        kv->v.i = (int8_t)u;
        break;
    case OSTEL_GGUF_TYPE_INT16:
        kv->v.i = (int16_t)u;
        break;
    case OSTEL_GGUF_TYPE_INT32:
        kv->v.i = (int32_t)u;
        break;
    case OSTEL_GGUF_TYPE_INT64:
        kv->v.i = (int64_t)u;
        break;
    case OSTEL_GGUF_TYPE_FLOAT32: {
        uint32_t b = (uint32_t)u;
        float f;
        memcpy(&f, &b, 4);
        kv->v.f = f;
        break;
    }
    case OSTEL_GGUF_TYPE_FLOAT64: {
        double d;
        memcpy(&d, &u, 8);
        kv->v.f = d;
        break;
    }
    default:
        kv->v.u = u;
        break;
    }
}

/* A string value: its length and bytes, decoded into kv->str and appended to raw as in the file. */
static int read_string_value(struct reader *r, struct ostel_gguf_kv *kv, const char *what,
                             struct ostel_buf *raw)
{
    uint64_t n;
    if (rd_string(r, OSTEL_GGUF_MAX_STRING_LEN, &kv->str, &n, what) != OSTEL_OK)
        return OSTEL_ERR;
    kv->str_len = (size_t)n;
    uint8_t lb[8];
    for (int i = 0; i < 8; i++)
        lb[i] = (uint8_t)(n >> (8 * i));
    ostel_buf_append(raw, lb, 8);
    ostel_buf_append(raw, kv->str, (size_t)n);
    return OSTEL_OK;
}

/* An array's elements of es bytes each (a scalar type), read into raw in one piece. */
static int read_scalar_elements(struct reader *r, struct ostel_gguf_kv *kv, unsigned es,
                                const char *what, struct ostel_buf *raw)
{
    uint64_t bytes = kv->arr_n * es; /* cannot overflow: bounded by remain() */
    if (account(r, bytes) != OSTEL_OK)
        return OSTEL_ERR;
    size_t at = raw->len;
    raw->data = ostel_xrealloc(raw->data, at + (size_t)bytes + 1);
    raw->cap = at + (size_t)bytes + 1;
    if (rd(r, raw->data + at, bytes, what) != OSTEL_OK)
        return OSTEL_ERR;
    raw->len = at + (size_t)bytes;
    raw->data[raw->len] = '\0';
    return OSTEL_OK;
}

/* An array's string elements, each length and bytes into raw (within the metadata's cap). */
static int read_string_elements(struct reader *r, struct ostel_gguf_kv *kv, const char *what,
                                struct ostel_buf *raw)
{
    raw->max = (size_t)OSTEL_GGUF_MAX_METADATA;
    for (uint64_t i = 0; i < kv->arr_n; i++) {
        uint8_t lb[8];
        if (rd(r, lb, 8, what) != OSTEL_OK)
            return OSTEL_ERR;
        uint64_t n = le(lb, 8);
        if (n > OSTEL_GGUF_MAX_STRING_LEN || n > remain(r)) {
            fail(r,
                 "file is truncated or corrupt: element %llu of key '%.100s' claims "
                 "%llu bytes, %llu are left",
                 (unsigned long long)i, kv->key, (unsigned long long)n,
                 (unsigned long long)remain(r));
            return OSTEL_ERR;
        }
        if (account(r, n + 8) != OSTEL_OK)
            return OSTEL_ERR;
        ostel_buf_append(raw, lb, 8);
        if (raw->cap < raw->len + (size_t)n + 1) {
            size_t want = raw->cap * 2 > raw->len + n + 1 ? raw->cap * 2 : raw->len + n + 1;
            raw->data = ostel_xrealloc(raw->data, want);
            raw->cap = want;
        }
        if (rd(r, raw->data + raw->len, n, what) != OSTEL_OK)
            return OSTEL_ERR;
        raw->len += (size_t)n;
        raw->data[raw->len] = '\0';
    }
    if (raw->overflow) {
        fail(r, "metadata exceeds %llu MiB", OSTEL_GGUF_MAX_METADATA >> 20);
        return OSTEL_ERR;
    }
    return OSTEL_OK;
}

/* An array value: its element type and count (checked against what is left of the file), then
 * its elements, all appended to raw as in the file. */
static int read_array_value(struct reader *r, struct ostel_gguf_kv *kv, const char *what,
                            struct ostel_buf *raw)
{
    uint8_t head[12];
    if (rd(r, head, 12, what) != OSTEL_OK)
        return OSTEL_ERR;
    kv->arr_type = (uint32_t)le(head, 4);
    kv->arr_n = le(head + 4, 8);
    if (kv->arr_type == OSTEL_GGUF_TYPE_ARRAY || kv->arr_type >= OSTEL_GGUF_TYPE_COUNT) {
        fail(r, "key '%.100s' is an array of invalid type %u", kv->key, kv->arr_type);
        return OSTEL_ERR;
    }
    unsigned es = scalar_size(kv->arr_type);
    /* Each element takes at least es bytes (8 for a string's length): the count cannot exceed
     * what is left of the file. */
    uint64_t min_el = es ? es : 8;
    if (kv->arr_n > remain(r) / min_el) {
        fail(r,
             "file is truncated or corrupt: key '%.100s' claims %llu elements of %s, more "
             "than the %llu bytes left hold",
             kv->key, (unsigned long long)kv->arr_n, ostel_gguf_type_name(kv->arr_type),
             (unsigned long long)remain(r));
        return OSTEL_ERR;
    }
    ostel_buf_append(raw, head, 12);
    if (es)
        return read_scalar_elements(r, kv, es, what, raw);
    return read_string_elements(r, kv, what, raw);
}

/* A scalar value, decoded into kv and appended to raw as in the file. */
static int read_scalar_value(struct reader *r, struct ostel_gguf_kv *kv, const char *what,
                             struct ostel_buf *raw)
{
    unsigned es = scalar_size(kv->type);
    if (es == 0) {
        fail(r, "key '%.100s' has invalid GGUF type %u", kv->key, kv->type);
        return OSTEL_ERR;
    }
    uint8_t b[8];
    if (rd(r, b, es, what) != OSTEL_OK)
        return OSTEL_ERR;
    decode_scalar(kv->type, b, kv);
    ostel_buf_append(raw, b, es);
    return OSTEL_OK;
}

/* Reads one value of `type` after its type field; fills kv's decoded fields and raw bytes. */
static int read_value(struct reader *r, struct ostel_gguf_kv *kv)
{
    struct ostel_buf raw;
    ostel_buf_init(&raw, 0);
    char what[160];
    snprintf(what, sizeof(what), "the value of key '%.100s'", kv->key);
    int rc = kv->type == OSTEL_GGUF_TYPE_STRING  ? read_string_value(r, kv, what, &raw)
             : kv->type == OSTEL_GGUF_TYPE_ARRAY ? read_array_value(r, kv, what, &raw)
                                                 : read_scalar_value(r, kv, what, &raw);
    if (rc != OSTEL_OK) {
        ostel_buf_free(&raw);
        return OSTEL_ERR;
    }
    kv->raw_len = raw.len;
    kv->raw = (uint8_t *)ostel_buf_detach(&raw);
    return OSTEL_OK;
}

static int cmp_kv_ptr(const void *a, const void *b)
{
    const struct ostel_gguf_kv *x = *(const struct ostel_gguf_kv *const *)a;
    const struct ostel_gguf_kv *y = *(const struct ostel_gguf_kv *const *)b;
    return strcmp(x->key, y->key);
}

static int cmp_tensor_ptr(const void *a, const void *b)
{
    const struct ostel_gguf_tensor *x = *(const struct ostel_gguf_tensor *const *)a;
    const struct ostel_gguf_tensor *y = *(const struct ostel_gguf_tensor *const *)b;
    return strcmp(x->name, y->name);
}

static int check_duplicates(struct reader *r, struct ostel_gguf *g)
{
    size_t n = g->n_kv > g->n_tensors ? g->n_kv : g->n_tensors;
    if (n < 2)
        return OSTEL_OK;
    const void **p = ostel_xcalloc(n, sizeof(*p));
    int rc = OSTEL_OK;
    for (size_t i = 0; i < g->n_kv; i++)
        p[i] = &g->kv[i];
    qsort(p, g->n_kv, sizeof(*p), cmp_kv_ptr);
    for (size_t i = 1; i < g->n_kv && rc == OSTEL_OK; i++)
        if (strcmp(((const struct ostel_gguf_kv *)p[i])->key,
                   ((const struct ostel_gguf_kv *)p[i - 1])->key) == 0)
            rc = fail(r, "duplicate key '%.100s'", ((const struct ostel_gguf_kv *)p[i])->key);
    for (size_t i = 0; i < g->n_tensors; i++)
        p[i] = &g->tensors[i];
    if (rc == OSTEL_OK)
        qsort(p, g->n_tensors, sizeof(*p), cmp_tensor_ptr);
    for (size_t i = 1; i < g->n_tensors && rc == OSTEL_OK; i++)
        if (strcmp(((const struct ostel_gguf_tensor *)p[i])->name,
                   ((const struct ostel_gguf_tensor *)p[i - 1])->name) == 0)
            rc = fail(r, "duplicate tensor name '%s'",
                      ((const struct ostel_gguf_tensor *)p[i])->name);
    free(p);
    return rc;
}

static int read_tensor_info(struct reader *r, struct ostel_gguf_tensor *t, uint64_t idx)
{
    char what[96];
    snprintf(what, sizeof(what), "the name of tensor %llu", (unsigned long long)idx);
    uint64_t n;
    if (rd_u64(r, &n, what) != OSTEL_OK)
        return OSTEL_ERR;
    if (n >= OSTEL_GGUF_MAX_NAME)
        return fail(r, "tensor %llu: name of %llu bytes is too long (ggml allows %d)",
                    (unsigned long long)idx, (unsigned long long)n, OSTEL_GGUF_MAX_NAME - 1);
    if (rd(r, t->name, n, what) != OSTEL_OK)
        return OSTEL_ERR;
    t->name[n] = '\0';
    if (strlen(t->name) != n)
        return fail(r, "tensor %llu: name holds a NUL byte", (unsigned long long)idx);
    snprintf(what, sizeof(what), "the info of tensor '%s'", t->name);
    if (rd_u32(r, &t->n_dims, what) != OSTEL_OK)
        return OSTEL_ERR;
    if (t->n_dims > OSTEL_GGUF_MAX_DIMS)
        return fail(r, "tensor '%s' has %u dimensions (ggml allows %d)", t->name, t->n_dims,
                    OSTEL_GGUF_MAX_DIMS);
    uint64_t ne = 1;
    for (uint32_t j = 0; j < OSTEL_GGUF_MAX_DIMS; j++) {
        t->ne[j] = 1;
        if (j < t->n_dims && rd_u64(r, &t->ne[j], what) != OSTEL_OK)
            return OSTEL_ERR;
        if (t->ne[j] > (uint64_t)INT64_MAX)
            return fail(r, "tensor '%s' dimension %u is negative", t->name, j);
        if (!ostel_mul_u64(ne, t->ne[j], &ne) || ne > (uint64_t)INT64_MAX)
            return fail(r, "tensor '%s' has too many elements", t->name);
    }
    t->nelements = ne;
    if (rd_u32(r, &t->type, what) != OSTEL_OK)
        return OSTEL_ERR;
    const struct ostel_ggml_type_info *ti = ostel_ggml_type_get(t->type);
    t->type_known = ti != NULL;
    if (ti) {
        if (t->ne[0] % ti->blck_size != 0)
            return fail(r,
                        "tensor '%s' of type %s has %llu elements per row, not a multiple of "
                        "the block size %u",
                        t->name, ti->name, (unsigned long long)t->ne[0], ti->blck_size);
        if (!ostel_ggml_tensor_bytes(t->type, t->ne[0], ne, &t->bytes))
            return fail(r, "tensor '%s' is too large", t->name);
    }
    return rd_u64(r, &t->offset, what);
}

/* Tensor offsets: aligned, in order, each right after the previous one (ggml requires it), and the
 * data inside the file. */
static int check_tensor_data(struct reader *r, struct ostel_gguf *g)
{
    uint64_t expected = 0;
    bool expected_known = true;
    for (size_t i = 0; i < g->n_tensors; i++) {
        struct ostel_gguf_tensor *t = &g->tensors[i];
        if (t->offset % g->alignment != 0)
            return fail(r, "tensor '%s' has offset %llu, not a multiple of the alignment %u",
                        t->name, (unsigned long long)t->offset, g->alignment);
        if (expected_known && t->offset != expected)
            return fail(r, "tensor '%s' has offset %llu, expected %llu", t->name,
                        (unsigned long long)t->offset, (unsigned long long)expected);
        if (!expected_known && t->offset < expected)
            return fail(r, "tensor '%s' has offset %llu, before the previous tensor", t->name,
                        (unsigned long long)t->offset);
        uint64_t start, end;
        if (!ostel_add_u64(g->data_offset, t->offset, &start) ||
            !ostel_add_u64(start, t->bytes, &end))
            return fail(r, "tensor '%s' has an offset past any file", t->name);
        if (end > g->file_size)
            return fail(r,
                        "file is truncated: tensor '%s' data ends at byte %llu but the file has "
                        "%llu bytes",
                        t->name, (unsigned long long)end, (unsigned long long)g->file_size);
        if (!t->type_known) {
            expected_known = false;
            expected = t->offset;
            continue;
        }
        uint64_t padded = t->bytes + (g->alignment - t->bytes % g->alignment) % g->alignment;
        if (!ostel_add_u64(t->offset, padded, &expected))
            return fail(r, "tensor '%s' size overflows", t->name);
        expected_known = true;
    }
    return OSTEL_OK;
}

static int parse(struct reader *r, struct ostel_gguf *g)
{
    memset(g, 0, sizeof(*g));
    g->file_size = r->size;
    g->alignment = OSTEL_GGUF_DEFAULT_ALIGNMENT;
    char magic[4];
    if (r->size < 4)
        return fail(r, "not a GGUF file: %llu bytes, too short for the magic",
                    (unsigned long long)r->size);
    if (rd(r, magic, 4, "the magic") != OSTEL_OK)
        return OSTEL_ERR;
    if (memcmp(magic, OSTEL_GGUF_MAGIC, 4) != 0)
        return fail(r, "not a GGUF file (bad magic)");
    if (rd_u32(r, &g->version, "the version") != OSTEL_OK)
        return OSTEL_ERR;
    if (g->version == 1)
        return fail(r, "GGUF version 1 is no longer supported (llama.cpp reads 2 and 3)");
    if (g->version == 0 || (g->version & 0xffffu) == 0)
        return fail(r, "bad GGUF version %u (a big-endian file?)", g->version);
    if (g->version > 3)
        return fail(r, "GGUF version %u is newer than this reader knows (3)", g->version);
    uint64_t n_tensors, n_kv;
    if (rd_u64(r, &n_tensors, "the tensor count") != OSTEL_OK ||
        rd_u64(r, &n_kv, "the key-value count") != OSTEL_OK)
        return OSTEL_ERR;
    /* Minimum encodings: a key-value pair 8+1+4+1 bytes, a tensor info 8+4+4+8. */
    if (n_kv > OSTEL_GGUF_MAX_KV || n_kv > remain(r) / 14)
        return fail(r, "file is truncated or corrupt: it claims %llu key-value pairs",
                    (unsigned long long)n_kv);
    if (n_tensors > OSTEL_GGUF_MAX_TENSORS || n_tensors > remain(r) / 24)
        return fail(r, "file is truncated or corrupt: it claims %llu tensors",
                    (unsigned long long)n_tensors);
    g->kv = ostel_xcalloc(n_kv ? (size_t)n_kv : 1, sizeof(*g->kv));
    for (uint64_t i = 0; i < n_kv; i++) {
        struct ostel_gguf_kv *kv = &g->kv[i];
        char what[64];
        snprintf(what, sizeof(what), "key %llu", (unsigned long long)i);
        uint64_t klen;
        if (rd_string(r, OSTEL_GGUF_MAX_KEY_LEN, &kv->key, &klen, what) != OSTEL_OK)
            return OSTEL_ERR;
        g->n_kv = (size_t)i + 1; /* owns the key from here on */
        if (klen == 0)
            return fail(r, "key %llu is empty", (unsigned long long)i);
        snprintf(what, sizeof(what), "the type of key %llu", (unsigned long long)i);
        if (rd_u32(r, &kv->type, what) != OSTEL_OK)
            return OSTEL_ERR;
        if (read_value(r, kv) != OSTEL_OK)
            return OSTEL_ERR;
    }
    const struct ostel_gguf_kv *al = ostel_gguf_find(g, "general.alignment");
    if (al) {
        if (al->type != OSTEL_GGUF_TYPE_UINT32)
            return fail(r, "key 'general.alignment' must be uint32, not %s",
                        ostel_gguf_type_name(al->type));
        if (al->v.u == 0 || (al->v.u & (al->v.u - 1)) != 0)
            return fail(r, "alignment %llu is not a power of 2", (unsigned long long)al->v.u);
        g->alignment = (uint32_t)al->v.u;
    }
    g->tensors = ostel_xcalloc(n_tensors ? (size_t)n_tensors : 1, sizeof(*g->tensors));
    for (uint64_t i = 0; i < n_tensors; i++) {
        if (read_tensor_info(r, &g->tensors[i], i) != OSTEL_OK)
            return OSTEL_ERR;
        g->n_tensors = (size_t)i + 1;
    }
    if (check_duplicates(r, g) != OSTEL_OK)
        return OSTEL_ERR;
    g->header_bytes = r->pos;
    g->data_offset = r->pos;
    if (g->n_tensors > 0) {
        uint64_t pad = (g->alignment - r->pos % g->alignment) % g->alignment;
        g->data_offset = r->pos + pad;
        if (g->data_offset > g->file_size)
            return fail(r,
                        "file is truncated: the data section would start at byte %llu but the "
                        "file has %llu bytes",
                        (unsigned long long)g->data_offset, (unsigned long long)g->file_size);
    }
    if (check_tensor_data(r, g) != OSTEL_OK)
        return OSTEL_ERR;
    for (size_t i = 0; i < g->n_tensors; i++) {
        g->n_elements += g->tensors[i].nelements; /* each < 2^63 and the data is in the file */
        g->tensor_bytes += g->tensors[i].bytes;
        if (!g->tensors[i].type_known)
            g->n_unknown_types++;
    }
    return OSTEL_OK;
}

int ostel_gguf_read_buffer(struct ostel_gguf *g, const void *data, size_t len, char *err,
                           size_t err_size)
{
    struct reader r = {.mem = data ? data : (const uint8_t *)"",
                       .fd = -1,
                       .size = len,
                       .err = err,
                       .err_size = err_size};
    if (err && err_size)
        err[0] = '\0';
    return parse(&r, g);
}

int ostel_gguf_read_file(struct ostel_gguf *g, const char *path, char *err, size_t err_size)
{
    memset(g, 0, sizeof(*g));
    struct reader r = {.fd = -1, .err = err, .err_size = err_size};
    if (err && err_size)
        err[0] = '\0';
    /* O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused just below */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0)
        return fail(&r, "cannot open '%s': %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return fail(&r, "'%s' is not a regular file", path);
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    r.fd = fd;
    r.size = (uint64_t)st.st_size;
    r.buf = ostel_xmalloc(READ_CHUNK);
    int rc = parse(&r, g);
    free(r.buf);
    close(fd);
    return rc;
}

void ostel_gguf_free(struct ostel_gguf *g)
{
    if (!g)
        return;
    for (size_t i = 0; i < g->n_kv; i++) {
        free(g->kv[i].key);
        free(g->kv[i].str);
        free(g->kv[i].raw);
    }
    free(g->kv);
    free(g->tensors);
    memset(g, 0, sizeof(*g));
}

const struct ostel_gguf_kv *ostel_gguf_find(const struct ostel_gguf *g, const char *key)
{
    for (size_t i = 0; i < g->n_kv; i++)
        if (g->kv[i].key && strcmp(g->kv[i].key, key) == 0)
            return &g->kv[i];
    return NULL;
}

static bool is_signed(uint32_t t)
{
    return t == OSTEL_GGUF_TYPE_INT8 || t == OSTEL_GGUF_TYPE_INT16 || t == OSTEL_GGUF_TYPE_INT32 ||
           t == OSTEL_GGUF_TYPE_INT64;
}

static bool is_float(uint32_t t)
{
    return t == OSTEL_GGUF_TYPE_FLOAT32 || t == OSTEL_GGUF_TYPE_FLOAT64;
}

bool ostel_gguf_get_uint(const struct ostel_gguf *g, const char *key, uint64_t *out)
{
    const struct ostel_gguf_kv *kv = ostel_gguf_find(g, key);
    if (!kv || scalar_size(kv->type) == 0 || is_float(kv->type))
        return false;
    if (is_signed(kv->type)) {
        if (kv->v.i < 0)
            return false;
        *out = (uint64_t)kv->v.i;
    } else {
        *out = kv->v.u;
    }
    return true;
}

bool ostel_gguf_get_float(const struct ostel_gguf *g, const char *key, double *out)
{
    const struct ostel_gguf_kv *kv = ostel_gguf_find(g, key);
    if (!kv || scalar_size(kv->type) == 0)
        return false;
    *out = is_float(kv->type) ? kv->v.f : is_signed(kv->type) ? (double)kv->v.i : (double)kv->v.u;
    return true;
}

const char *ostel_gguf_get_str(const struct ostel_gguf *g, const char *key)
{
    const struct ostel_gguf_kv *kv = ostel_gguf_find(g, key);
    return kv && kv->type == OSTEL_GGUF_TYPE_STRING ? kv->str : NULL;
}

static bool array_elem(const struct ostel_gguf_kv *kv, uint64_t idx, struct ostel_gguf_kv *tmp)
{
    if (kv->type != OSTEL_GGUF_TYPE_ARRAY || idx >= kv->arr_n)
        return false;
    unsigned es = scalar_size(kv->arr_type);
    if (es == 0 || 12 + (idx + 1) * es > kv->raw_len)
        return false;
    decode_scalar(kv->arr_type, kv->raw + 12 + idx * es, tmp);
    return true;
}

bool ostel_gguf_array_get_i64(const struct ostel_gguf_kv *kv, uint64_t idx, int64_t *out)
{
    struct ostel_gguf_kv tmp;
    if (!array_elem(kv, idx, &tmp))
        return false;
    if (is_float(kv->arr_type))
        *out = (int64_t)tmp.v.f;
    else if (is_signed(kv->arr_type))
        *out = tmp.v.i;
    else if (tmp.v.u > (uint64_t)INT64_MAX)
        return false;
    else
        *out = (int64_t)tmp.v.u;
    return true;
}

bool ostel_gguf_array_get_f64(const struct ostel_gguf_kv *kv, uint64_t idx, double *out)
{
    struct ostel_gguf_kv tmp;
    if (!array_elem(kv, idx, &tmp))
        return false;
    *out = is_float(kv->arr_type)    ? tmp.v.f
           : is_signed(kv->arr_type) ? (double)tmp.v.i
                                     : (double)tmp.v.u;
    return true;
}

const struct ostel_gguf_tensor *ostel_gguf_find_tensor(const struct ostel_gguf *g, const char *name)
{
    for (size_t i = 0; i < g->n_tensors; i++)
        if (strcmp(g->tensors[i].name, name) == 0)
            return &g->tensors[i];
    return NULL;
}
