/*
 * synth: the presets, the tensor list of each architecture and the fast random writer (see
 * synth.h).
 *
 * Speed: weights come from one xorshift64* stream per tensor (seeded from --seed and the tensor's
 * index, so output is deterministic), written in 8 MiB write(2) calls. F16 values are built from
 * random bits directly (sign, exponent 2^-7 or 2^-6, random mantissa); Q8_0 blocks are a fixed f16
 * scale followed by 32 random int8 quants.
 */
#include "llama/synth.h"

#include "llama/ggml_types.h"
#include "llama/gguf.h"
#include "llama/gguf_write.h"
#include "util/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#define WRITE_CHUNK (8u << 20)

/* Shapes of the published models (their config.json / GGUF metadata). */
/* clang-format off */
static const struct ostel_synth_shape presets[] = {
    {"llama-3.1-8b", "llama", "Llama 3.1 8B (ostel synth)", "ggml-vocab-llama-bpe.gguf", 128256,
     32, 4096, 14336, 32, 8, 128, 131072, 500000.0f, 1e-5f, false, false, 8.0f, 1.0f, 4.0f, 8192},
    {"llama-3.2-1b", "llama", "Llama 3.2 1B (ostel synth)", "ggml-vocab-llama-bpe.gguf", 128256,
     16, 2048, 8192, 32, 8, 64, 131072, 500000.0f, 1e-5f, true, false, 32.0f, 1.0f, 4.0f, 8192},
    {"llama-3.2-3b", "llama", "Llama 3.2 3B (ostel synth)", "ggml-vocab-llama-bpe.gguf", 128256,
     28, 3072, 8192, 24, 8, 128, 131072, 500000.0f, 1e-5f, true, false, 32.0f, 1.0f, 4.0f, 8192},
    {"qwen2.5-0.5b", "qwen2", "Qwen2.5 0.5B (ostel synth)", "ggml-vocab-qwen2.gguf", 151936,
     24, 896, 4864, 14, 2, 64, 32768, 1000000.0f, 1e-6f, true, true, 0, 0, 0, 0},
    {"qwen2.5-1.5b", "qwen2", "Qwen2.5 1.5B (ostel synth)", "ggml-vocab-qwen2.gguf", 151936,
     28, 1536, 8960, 12, 2, 128, 32768, 1000000.0f, 1e-6f, true, true, 0, 0, 0, 0},
    {"tiny-llama", "llama", "tiny llama (ostel synth)", "ggml-vocab-llama-spm.gguf", 32000,
     2, 256, 512, 4, 2, 64, 2048, 10000.0f, 1e-5f, false, false, 0, 0, 0, 0},
    {"tiny-qwen", "qwen2", "tiny qwen2 (ostel synth)", "ggml-vocab-qwen2.gguf", 151936,
     2, 64, 128, 2, 1, 32, 2048, 1000000.0f, 1e-6f, true, true, 0, 0, 0, 0},
};
/* clang-format on */

const struct ostel_synth_shape *ostel_synth_preset_find(const char *name)
{
    for (size_t i = 0; i < OSTEL_ARRAY_LEN(presets); i++)
        if (strcmp(presets[i].preset, name) == 0)
            return &presets[i];
    return NULL;
}

const struct ostel_synth_shape *ostel_synth_preset_at(size_t i)
{
    return i < OSTEL_ARRAY_LEN(presets) ? &presets[i] : NULL;
}

static int errf(char *err, size_t err_size, const char *fmt, ...) OSTEL_PRINTF(3, 4);
static int errf(char *err, size_t err_size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_size, fmt, ap);
    va_end(ap);
    return OSTEL_ERR;
}

static uint32_t head_dim(const struct ostel_synth_shape *s)
{
    return s->head_dim ? s->head_dim : (s->n_head ? s->n_embd / s->n_head : 0);
}

int ostel_synth_shape_check(const struct ostel_synth_shape *s, char *err, size_t err_size)
{
    if (strcmp(s->arch, "llama") != 0 && strcmp(s->arch, "qwen2") != 0)
        return errf(err, err_size, "architecture '%s' is not supported (llama, qwen2)", s->arch);
    if (!s->n_layer || !s->n_embd || !s->n_ff || !s->n_head || !s->n_head_kv)
        return errf(err, err_size, "layers, embd, ff, heads and kv-heads must all be above 0");
    if (s->n_layer > 1024)
        return errf(err, err_size, "%u layers is more than llama.cpp supports", s->n_layer);
    if (s->n_head % s->n_head_kv != 0)
        return errf(err, err_size, "heads (%u) must be a multiple of kv-heads (%u)", s->n_head,
                    s->n_head_kv);
    uint32_t hd = head_dim(s);
    if (hd == 0 || hd % 2 != 0)
        return errf(err, err_size, "head size %u must be even and above 0", hd);
    if (s->n_embd % 32 || s->n_ff % 32 || ((uint64_t)hd * s->n_head) % 32)
        return errf(err, err_size,
                    "embd, ff and heads*head size must be multiples of 32 (q8_0 "
                    "blocks)");
    if ((uint64_t)s->n_embd * s->n_ff > (1ull << 40) || (uint64_t)hd * s->n_head > (1u << 20))
        return errf(err, err_size, "shape is implausibly large");
    return OSTEL_OK;
}

enum fill { FILL_WEIGHT, FILL_ONE, FILL_ZERO, FILL_ROPE };

struct tensor {
    char name[OSTEL_GGUF_MAX_NAME];
    uint32_t type;
    uint32_t n_dims;
    uint64_t ne[2];
    uint64_t bytes;
    enum fill fill;
};

struct tensor_list {
    struct tensor *t;
    size_t n, cap;
};

static void add(struct tensor_list *l, enum fill fill, uint32_t type, uint64_t ne0, uint64_t ne1,
                const char *fmt, ...) OSTEL_PRINTF(6, 7);
static void add(struct tensor_list *l, enum fill fill, uint32_t type, uint64_t ne0, uint64_t ne1,
                const char *fmt, ...)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->t = ostel_xrealloc(l->t, l->cap * sizeof(*l->t));
    }
    struct tensor *t = &l->t[l->n++];
    memset(t, 0, sizeof(*t));
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->name, sizeof(t->name), fmt, ap);
    va_end(ap);
    t->fill = fill;
    t->type = type;
    t->n_dims = ne1 ? 2 : 1;
    t->ne[0] = ne0;
    t->ne[1] = ne1;
}

/* The tensors llama.cpp's llama / qwen2 loaders create, in convert_hf_to_gguf.py's usual order. */
static void build_tensors(const struct ostel_synth_shape *s, uint32_t wtype, struct tensor_list *l)
{
    const uint32_t f32 = OSTEL_GGML_TYPE_F32;
    uint64_t hd = head_dim(s), q = hd * s->n_head, kv = hd * s->n_head_kv;
    if (s->rope_factor > 0)
        add(l, FILL_ROPE, f32, hd / 2, 0, "rope_freqs.weight");
    add(l, FILL_WEIGHT, wtype, s->n_embd, s->n_vocab, "token_embd.weight");
    for (uint32_t i = 0; i < s->n_layer; i++) {
        add(l, FILL_ONE, f32, s->n_embd, 0, "blk.%u.attn_norm.weight", i);
        add(l, FILL_WEIGHT, wtype, s->n_embd, q, "blk.%u.attn_q.weight", i);
        add(l, FILL_WEIGHT, wtype, s->n_embd, kv, "blk.%u.attn_k.weight", i);
        add(l, FILL_WEIGHT, wtype, s->n_embd, kv, "blk.%u.attn_v.weight", i);
        if (s->qkv_bias) {
            add(l, FILL_ZERO, f32, q, 0, "blk.%u.attn_q.bias", i);
            add(l, FILL_ZERO, f32, kv, 0, "blk.%u.attn_k.bias", i);
            add(l, FILL_ZERO, f32, kv, 0, "blk.%u.attn_v.bias", i);
        }
        add(l, FILL_WEIGHT, wtype, q, s->n_embd, "blk.%u.attn_output.weight", i);
        add(l, FILL_ONE, f32, s->n_embd, 0, "blk.%u.ffn_norm.weight", i);
        add(l, FILL_WEIGHT, wtype, s->n_embd, s->n_ff, "blk.%u.ffn_gate.weight", i);
        add(l, FILL_WEIGHT, wtype, s->n_embd, s->n_ff, "blk.%u.ffn_up.weight", i);
        add(l, FILL_WEIGHT, wtype, s->n_ff, s->n_embd, "blk.%u.ffn_down.weight", i);
    }
    add(l, FILL_ONE, f32, s->n_embd, 0, "output_norm.weight");
    if (!s->tied_embeddings)
        add(l, FILL_WEIGHT, wtype, s->n_embd, s->n_vocab, "output.weight");
}

/* convert_hf_to_gguf.py's llama-3 rope frequency factors. */
static float rope_factor_at(const struct ostel_synth_shape *s, uint64_t i)
{
    double dim = head_dim(s);
    double freq = 1.0 / pow((double)s->rope_theta, (double)(2 * i) / dim);
    double wavelen = 2.0 * M_PI / freq;
    double low_wl = s->rope_orig_ctx / s->rope_low_freq_factor;
    double high_wl = s->rope_orig_ctx / s->rope_high_freq_factor;
    if (wavelen < high_wl)
        return 1.0f;
    if (wavelen > low_wl)
        return s->rope_factor;
    double smooth = (s->rope_orig_ctx / wavelen - s->rope_low_freq_factor) /
                    (s->rope_high_freq_factor - s->rope_low_freq_factor);
    return (float)(1.0 / ((1.0 - smooth) / s->rope_factor + smooth));
}

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static inline uint64_t xorshift(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545f4914f6cdd1dull;
}

static uint16_t f32_to_f16(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000u;
    int32_t e = (int32_t)((x >> 23) & 0xff) - 127 + 15;
    uint32_t m = (x >> 13) & 0x3ffu;
    if (e <= 0)
        return (uint16_t)sign; /* only used for normal values; flush tiny ones */
    if (e >= 31)
        return (uint16_t)(sign | 0x7c00u);
    return (uint16_t)(sign | ((uint32_t)e << 10) | m);
}

struct out {
    int fd;
    uint8_t *buf;
    size_t len;
    uint64_t written;
    const char *path;       /* the file written: the temporary one */
    const char *final_path; /* what it becomes */
};

/* SIGINT/SIGTERM while a file is written: the writer stops at its next flush and removes its
 * temporary file (see ostel_synth_write). */
static volatile sig_atomic_t g_stop_signal;

static void on_stop_signal(int sig)
{
    g_stop_signal = sig;
}

int ostel_synth_interrupted(void)
{
    return (int)g_stop_signal;
}

static int out_flush(struct out *o)
{
    size_t off = 0;
    while (off < o->len) {
        if (g_stop_signal)
            return ostel_error("interrupted by %s: '%s' was not written",
                               g_stop_signal == SIGINT ? "SIGINT" : "SIGTERM", o->final_path);
        ssize_t n = write(o->fd, o->buf + off, o->len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return ostel_error("cannot write '%s': %s", o->path, strerror(errno));
        off += (size_t)n;
    }
    o->written += o->len;
    o->len = 0;
    return OSTEL_OK;
}

/* Room for at least `need` bytes (need <= WRITE_CHUNK) at o->buf + o->len. */
static int out_room(struct out *o, size_t need)
{
    if (WRITE_CHUNK - o->len < need)
        return out_flush(o);
    return OSTEL_OK;
}

static int out_bytes(struct out *o, const void *p, uint64_t n)
{
    const uint8_t *b = p;
    while (n > 0) {
        if (o->len == WRITE_CHUNK && out_flush(o) != OSTEL_OK)
            return OSTEL_ERR;
        size_t take = WRITE_CHUNK - o->len;
        if (take > n)
            take = (size_t)n;
        if (b)
            memcpy(o->buf + o->len, b, take);
        else
            memset(o->buf + o->len, 0, take);
        o->len += take;
        n -= take;
        if (b)
            b += take;
    }
    return OSTEL_OK;
}

static int write_f32_const(struct out *o, uint64_t n, float v)
{
    for (uint64_t i = 0; i < n; i++) {
        if (out_room(o, 4) != OSTEL_OK)
            return OSTEL_ERR;
        memcpy(o->buf + o->len, &v, 4); /* ggml files are little-endian, as every supported host */
        o->len += 4;
    }
    return OSTEL_OK;
}

static int write_weight(struct out *o, const struct tensor *t, uint64_t rng)
{
    uint64_t n = t->ne[0] * (t->ne[1] ? t->ne[1] : 1);
    if (t->type == OSTEL_GGML_TYPE_F16) {
        /* 4 values per 64 random bits: keep sign and mantissa, force exponent 8 or 9. */
        for (uint64_t i = 0; i < n; i += 4) {
            if (out_room(o, 8) != OSTEL_OK)
                return OSTEL_ERR;
            uint64_t r = xorshift(&rng);
            r = (r & 0x87ff87ff87ff87ffull) | 0x2000200020002000ull;
            memcpy(o->buf + o->len, &r, 8);
            o->len += 8;
        }
        return OSTEL_OK;
    }
    /* Q8_0: |d * q| <= 0.0003 * 127 ~ 0.04 */
    const uint16_t d = f32_to_f16(0.00025f);
    for (uint64_t i = 0; i < n; i += 32) {
        if (out_room(o, 34) != OSTEL_OK)
            return OSTEL_ERR;
        uint8_t *p = o->buf + o->len;
        memcpy(p, &d, 2);
        for (int k = 0; k < 4; k++) {
            uint64_t r = xorshift(&rng);
            memcpy(p + 2 + 8 * k, &r, 8);
        }
        o->len += 34;
    }
    return OSTEL_OK;
}

static int write_tensor(struct out *o, const struct ostel_synth_shape *s, const struct tensor *t,
                        uint64_t rng)
{
    uint64_t n = t->ne[0] * (t->ne[1] ? t->ne[1] : 1);
    switch (t->fill) {
    case FILL_ONE:
        return write_f32_const(o, n, 1.0f);
    case FILL_ZERO:
        return write_f32_const(o, n, 0.0f);
    case FILL_ROPE:
        for (uint64_t i = 0; i < n; i++) {
            float v = rope_factor_at(s, i);
            if (out_bytes(o, &v, 4) != OSTEL_OK)
                return OSTEL_ERR;
        }
        return OSTEL_OK;
    case FILL_WEIGHT:
        return write_weight(o, t, rng);
    }
    return OSTEL_ERR;
}

static void add_metadata(struct ostel_gguf_writer *w, const struct ostel_synth_shape *s,
                         uint32_t wtype)
{
    const char *a = s->arch;
    char k[128];
    uint32_t hd = head_dim(s);
    ostel_gguf_writer_add_str(w, "general.architecture", a);
    ostel_gguf_writer_add_str(w, "general.type", "model");
    ostel_gguf_writer_add_str(w, "general.name", s->name);
#define KEY(suffix) (snprintf(k, sizeof(k), "%s.%s", a, suffix), k)
    ostel_gguf_writer_add_u32(w, KEY("block_count"), s->n_layer);
    ostel_gguf_writer_add_u32(w, KEY("context_length"), s->n_ctx_train);
    ostel_gguf_writer_add_u32(w, KEY("embedding_length"), s->n_embd);
    ostel_gguf_writer_add_u32(w, KEY("feed_forward_length"), s->n_ff);
    ostel_gguf_writer_add_u32(w, KEY("attention.head_count"), s->n_head);
    ostel_gguf_writer_add_u32(w, KEY("attention.head_count_kv"), s->n_head_kv);
    ostel_gguf_writer_add_f32(w, KEY("rope.freq_base"), s->rope_theta);
    ostel_gguf_writer_add_f32(w, KEY("attention.layer_norm_rms_epsilon"), s->rms_eps);
    ostel_gguf_writer_add_u32(w, KEY("attention.key_length"), hd);
    ostel_gguf_writer_add_u32(w, KEY("attention.value_length"), hd);
    ostel_gguf_writer_add_u32(w, "general.file_type",
                              wtype == OSTEL_GGML_TYPE_Q8_0 ? OSTEL_LLAMA_FTYPE_MOSTLY_Q8_0
                                                            : OSTEL_LLAMA_FTYPE_MOSTLY_F16);
    if (strcmp(a, "llama") == 0)
        ostel_gguf_writer_add_u32(w, KEY("vocab_size"), s->n_vocab);
    ostel_gguf_writer_add_u32(w, KEY("rope.dimension_count"), hd);
#undef KEY
    ostel_gguf_writer_add_u32(w, "general.quantization_version", 2);
}

/*
 * The temporary file beside OUT is OUT.synth-<pid>-XXXXXX. Removes those whose writer is gone (a
 * synth killed with SIGKILL, or a crash, leaves its partial file behind): the pid in the name no
 * longer exists. A file of a live pid (a synth running now, or an unrelated process that reused
 * the pid) is left alone, and so is anything not named that way.
 */
static void remove_stale_temps(const char *dir, const char *out_path)
{
    const char *base = strrchr(out_path, '/');
    base = base ? base + 1 : out_path;
    char *prefix = ostel_xasprintf("%s.synth-", base);
    size_t plen = strlen(prefix);
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, prefix, plen) != 0)
            continue;
        char *end;
        errno = 0;
        long pid = strtol(e->d_name + plen, &end, 10);
        if (errno || pid <= 0 || pid > INT32_MAX || *end != '-' || strlen(end + 1) != 6)
            continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue;
        char *p = ostel_xasprintf("%s/%s", dir, e->d_name);
        if (unlink(p) == 0)
            ostel_warn("removed '%s', left by a synth (pid %ld) that did not finish", p, pid);
        free(p);
    }
    if (d)
        closedir(d);
    free(prefix);
}

static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return ostel_xstrdup(".");
    if (slash == path)
        return ostel_xstrdup("/");
    return ostel_xstrndup(path, (size_t)(slash - path));
}

/* The file ostel_synth_write makes: its shape (n_vocab the vocabulary's), its metadata and tensors
 * described in the GGUF writer, and the header they make. */
struct synth_file {
    struct ostel_synth_shape s;
    struct ostel_gguf_writer w;
    struct tensor_list l;
    struct ostel_buf header;
};

/*
 * Reads o->vocab_path and checks its tokens against shape; s becomes shape with the vocabulary's
 * n_vocab. Returns 0 with vocab the caller's to free, or OSTEL_ERR (printed) with vocab freed.
 */
static int read_vocab(const struct ostel_synth_shape *shape, const struct ostel_synth_options *o,
                      struct ostel_gguf *vocab, struct ostel_synth_shape *s)
{
    char err[512];
    if (ostel_gguf_read_file(vocab, o->vocab_path, err, sizeof(err)) != OSTEL_OK) {
        ostel_gguf_free(vocab);
        return ostel_error("vocab file %s: %s", o->vocab_path, err);
    }
    const struct ostel_gguf_kv *tokens = ostel_gguf_find(vocab, "tokenizer.ggml.tokens");
    if (!tokens || tokens->type != OSTEL_GGUF_TYPE_ARRAY ||
        tokens->arr_type != OSTEL_GGUF_TYPE_STRING || tokens->arr_n == 0 ||
        tokens->arr_n > (1u << 24)) {
        ostel_gguf_free(vocab);
        return ostel_error("%s has no usable tokenizer.ggml.tokens array", o->vocab_path);
    }
    *s = *shape;
    if (s->n_vocab && s->n_vocab != tokens->arr_n) {
        uint64_t have = tokens->arr_n;
        ostel_gguf_free(vocab);
        return ostel_error("vocab file %s has %llu tokens, preset %s needs %u", o->vocab_path,
                           (unsigned long long)have, s->preset, s->n_vocab);
    }
    s->n_vocab = (uint32_t)tokens->arr_n;
    return OSTEL_OK;
}

/*
 * Describes f->s's file in f->w: the metadata, vocab's tokenizer keys (vocab is freed) and the
 * tensors (f->l); its header into f->header and its sizes into res. Returns 0, or OSTEL_ERR
 * (printed) with f->w and f->l freed and f->header not made.
 */
static int describe_file(struct synth_file *f, struct ostel_gguf *vocab, uint32_t type,
                         struct ostel_synth_result *res)
{
    ostel_gguf_writer_init(&f->w);
    add_metadata(&f->w, &f->s, type);
    for (size_t i = 0; i < vocab->n_kv; i++)
        if (strncmp(vocab->kv[i].key, "tokenizer.", 10) == 0)
            ostel_gguf_writer_add_kv(&f->w, &vocab->kv[i]);
    ostel_gguf_free(vocab);

    f->l = (struct tensor_list){0};
    build_tensors(&f->s, type, &f->l);
    for (size_t i = 0; i < f->l.n; i++) {
        struct tensor *t = &f->l.t[i];
        if (ostel_gguf_writer_add_tensor(&f->w, t->name, t->type, t->n_dims, t->ne, &t->bytes) !=
            OSTEL_OK) {
            ostel_gguf_writer_free(&f->w);
            free(f->l.t);
            return ostel_error("internal: cannot describe tensor '%s'", t->name);
        }
        res->n_params += t->ne[0] * (t->ne[1] ? t->ne[1] : 1);
    }
    ostel_buf_init(&f->header, 0);
    ostel_gguf_writer_header(&f->w, &f->header);
    res->n_tensors = f->l.n;
    res->file_bytes = f->header.len + f->w.data_bytes;
    return OSTEL_OK;
}

/* Refuses an existing o->out_path without --force, and a file system (dir's) with less than need
 * bytes free; prints why (OSTEL_ERR). */
static int check_destination(const struct ostel_synth_options *o, const char *dir, uint64_t need)
{
    struct stat st;
    if (!o->force && lstat(o->out_path, &st) == 0)
        return ostel_error("'%s' exists (use --force to replace it)", o->out_path);
    struct statvfs vfs;
    if (statvfs(dir, &vfs) != 0)
        return ostel_error("cannot stat the file system of '%s': %s", dir, strerror(errno));
    uint64_t avail = (uint64_t)vfs.f_bavail * vfs.f_frsize;
    if (avail < need) {
        char a[32], n[32];
        return ostel_error("not enough free space in '%s': %s needed, %s available", dir,
                           ostel_fmt_bytes(need, n, sizeof(n)),
                           ostel_fmt_bytes(avail, a, sizeof(a)));
    }
    return OSTEL_OK;
}

/* Ctrl-C or SIGTERM from here on: stop at the next flush (on_stop_signal); the old handlers into
 * old_int and old_term. */
static void catch_stop_signals(struct sigaction *old_int, struct sigaction *old_term)
{
    struct sigaction stop = {0};
    stop.sa_handler = on_stop_signal;
    sigemptyset(&stop.sa_mask);
    g_stop_signal = 0;
    sigaction(SIGINT, &stop, old_int);
    sigaction(SIGTERM, &stop, old_term);
}

/* f's bytes into out (the temporary file): the header, then each tensor's data and padding, or
 * with o->sparse the data section as a hole. Checks the size against res->file_bytes. */
static int write_contents(struct out *out, const struct synth_file *f,
                          const struct ostel_synth_options *o, const struct ostel_synth_result *res)
{
    if (out_bytes(out, f->header.data, f->header.len) != OSTEL_OK)
        return OSTEL_ERR;
    uint64_t seed = o->seed;
    for (size_t i = 0; i < f->l.n && !o->sparse; i++) {
        uint64_t x = seed ^ ((uint64_t)(i + 1) * 0x9e3779b97f4a7c15ull);
        uint64_t rng = splitmix64(&x) | 1; /* xorshift state must not be 0 */
        if (write_tensor(out, &f->s, &f->l.t[i], rng) != OSTEL_OK ||
            out_bytes(out, NULL, ostel_gguf_writer_pad_bytes(&f->w, f->l.t[i].bytes)) != OSTEL_OK)
            return OSTEL_ERR;
    }
    if (out_flush(out) != OSTEL_OK)
        return OSTEL_ERR;
    if (o->sparse) { /* the data section as a hole: the file has its real size, no blocks */
        if (ftruncate(out->fd, (off_t)res->file_bytes) != 0)
            return ostel_error("cannot extend '%s' to %llu bytes: %s", out->path,
                               (unsigned long long)res->file_bytes, strerror(errno));
        out->written = res->file_bytes;
    }
    if (out->written != res->file_bytes)
        return ostel_error("internal: wrote %llu bytes, expected %llu",
                           (unsigned long long)out->written, (unsigned long long)res->file_bytes);
    return OSTEL_OK;
}

/* The temporary file made the output: synced, closed (out->fd -1 after) and renamed to
 * out->final_path. */
static int commit_file(struct out *out)
{
    if (fchmod(out->fd, 0644) != 0 || fsync(out->fd) != 0)
        return ostel_error("cannot sync '%s': %s", out->path, strerror(errno));
    if (close(out->fd) != 0) {
        out->fd = -1;
        return ostel_error("cannot close '%s': %s", out->path, strerror(errno));
    }
    out->fd = -1;
    if (rename(out->path, out->final_path) != 0)
        return ostel_error("cannot rename '%s' to '%s': %s", out->path, out->final_path,
                           strerror(errno));
    return OSTEL_OK;
}

int ostel_synth_write(const struct ostel_synth_shape *shape, const struct ostel_synth_options *o,
                      struct ostel_synth_result *res)
{
    memset(res, 0, sizeof(*res));
    char err[512];
    if (ostel_synth_shape_check(shape, err, sizeof(err)) != OSTEL_OK)
        return ostel_error("%s", err);
    if (o->type != OSTEL_GGML_TYPE_F16 && o->type != OSTEL_GGML_TYPE_Q8_0)
        return ostel_error("output type must be f16 or q8_0");

    struct ostel_gguf vocab;
    struct synth_file f;
    if (read_vocab(shape, o, &vocab, &f.s) != OSTEL_OK)
        return OSTEL_ERR;
    if (describe_file(&f, &vocab, o->type, res) != OSTEL_OK)
        return OSTEL_ERR;

    int rc = OSTEL_ERR;
    char *dir = dir_of(o->out_path);
    char *tmp = NULL;
    struct out out = {.fd = -1, .path = o->out_path, .final_path = o->out_path};
    bool handlers_set = false;
    struct sigaction old_int, old_term;
    if (o->dry_run) {
        rc = OSTEL_OK;
        goto done;
    }
    if (check_destination(o, dir, (o->sparse ? f.header.len : res->file_bytes) + (64u << 20)) !=
        OSTEL_OK)
        goto done;
    remove_stale_temps(dir, o->out_path);
    tmp = ostel_xasprintf("%s.synth-%ld-XXXXXX", o->out_path, (long)getpid());
    /* Ctrl-C or SIGTERM from here on: stop at the next flush, remove the temporary file. */
    catch_stop_signals(&old_int, &old_term);
    handlers_set = true;
    out.fd = mkstemp(tmp);
    if (out.fd < 0) {
        ostel_error("cannot create a temporary file beside '%s': %s", o->out_path, strerror(errno));
        free(tmp);
        tmp = NULL;
        goto done;
    }
    out.path = tmp;
    out.buf = ostel_xmalloc(WRITE_CHUNK);
    double t0 = ostel_mono_s();
    if (write_contents(&out, &f, o, res) != OSTEL_OK || commit_file(&out) != OSTEL_OK)
        goto done;
    free(tmp);
    tmp = NULL;
    res->seconds = ostel_mono_s() - t0;
    rc = OSTEL_OK;
done:
    if (out.fd >= 0)
        close(out.fd);
    if (tmp) {
        unlink(tmp);
        free(tmp);
    }
    if (handlers_set) {
        sigaction(SIGINT, &old_int, NULL);
        sigaction(SIGTERM, &old_term, NULL);
    }
    free(out.buf);
    free(dir);
    ostel_buf_free(&f.header);
    ostel_gguf_writer_free(&f.w);
    free(f.l.t);
    return rc;
}

bool ostel_synth_is_synth_name(const char *name)
{
    size_t n = name ? strlen(name) : 0, m = strlen(OSTEL_SYNTH_NAME_MARK);
    return n >= m && strcmp(name + n - m, OSTEL_SYNTH_NAME_MARK) == 0;
}
