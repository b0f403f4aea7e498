/*
 * vocab: which tokens of a GGUF's vocabulary llama.cpp detokenizes to bytes that are not valid
 * UTF-8 on their own (vocab.h says why that matters to llama-server). It follows the pinned
 * llama.cpp's src/llama-vocab.cpp (token_to_piece, llama_decode_text, token_to_byte) token type by
 * token type; the stored arrays are walked again with every length checked against the value's
 * bytes, so a hostile header cannot make it read out of bounds.
 */
#include "llama/vocab.h"

#include "llama/gguf.h"
#include "util/util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* llama.cpp's llama_token_type (tokenizer.ggml.token_type values) */
enum {
    TOKEN_UNDEFINED = 0,
    TOKEN_NORMAL = 1,
    TOKEN_UNKNOWN = 2,
    TOKEN_CONTROL = 3,
    TOKEN_USER_DEFINED = 4,
    TOKEN_UNUSED = 5,
    TOKEN_BYTE = 6,
};

/* A stored array's elements start after its element type (4 bytes) and count (8 bytes). */
#define ARRAY_HEAD 12u
#define GPT2_MAP_CPS 324 /* bytes_to_unicode maps every byte to a code point below 256 + 68 */

static int fail(char *err, size_t err_size, const char *fmt, ...) OSTEL_PRINTF(3, 4);
static int fail(char *err, size_t err_size, const char *fmt, ...)
{
    if (err && err_size) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, err_size, fmt, ap);
        va_end(ap);
    }
    return OSTEL_ERR;
}

static uint64_t le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* The code point at s[*i], advancing *i; -1 when the bytes there are not valid UTF-8. */
static int32_t next_cp(const uint8_t *s, size_t n, size_t *i)
{
    uint8_t c = s[*i];
    int len;
    uint32_t cp, min;
    if (c < 0x80) {
        (*i)++;
        return c;
    } else if (c >= 0xc2 && c <= 0xdf) {
        len = 2, cp = c & 0x1f, min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3, cp = c & 0x0f, min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4, cp = c & 0x07, min = 0x10000;
    } else {
        return -1; /* a continuation byte, an overlong lead (0xc0, 0xc1) or beyond 0xf4 */
    }
    if (n - *i < (size_t)len)
        return -1;
    for (int k = 1; k < len; k++) {
        if ((s[*i + k] & 0xc0) != 0x80)
            return -1;
        cp = cp << 6 | (s[*i + k] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return -1;
    *i += (size_t)len;
    return (int32_t)cp;
}

bool ostel_vocab_utf8_valid(const uint8_t *s, size_t n)
{
    for (size_t i = 0; i < n;)
        if (next_cp(s, n, &i) < 0)
            return false;
    return true;
}

/* GPT-2's bytes_to_unicode, inverted: byte_of[cp] is the byte + 1 that code point cp stands for,
 * 0 for a code point outside the table. */
static void gpt2_byte_map(uint16_t byte_of[GPT2_MAP_CPS])
{
    memset(byte_of, 0, GPT2_MAP_CPS * sizeof(*byte_of));
    int extra = 0;
    for (int b = 0; b < 256; b++) {
        bool printable = (b >= '!' && b <= '~') || (b >= 0xa1 && b <= 0xac) || b >= 0xae;
        byte_of[printable ? b : 256 + extra++] = (uint16_t)(b + 1);
    }
}

/* A normal token of a byte-level BPE vocabulary: its characters as the bytes they stand for. */
static bool bpe_normal_valid(const uint16_t *byte_of, const uint8_t *s, size_t n, uint8_t *out)
{
    size_t k = 0;
    for (size_t i = 0; i < n;) {
        int32_t cp = next_cp(s, n, &i);
        if (cp < 0)
            return false; /* llama.cpp emits the stored text, invalid, inside an [UNK_BYTE…] */
        if (cp < GPT2_MAP_CPS && byte_of[cp])
            out[k++] = (uint8_t)(byte_of[cp] - 1);
        else
            out[k++] = 'U'; /* "[UNK_BYTE_0x…]": ASCII around valid text, valid as one char */
    }
    return ostel_vocab_utf8_valid(out, k);
}

static int hex_digit(uint8_t c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* A byte token "<0xNN>": valid when NN is ASCII; a malformed one is counted invalid. */
static bool byte_token_valid(const uint8_t *s, size_t n)
{
    if (n != 6 || memcmp(s, "<0x", 3) != 0 || s[5] != '>')
        return false;
    int hi = hex_digit(s[3]), lo = hex_digit(s[4]);
    return hi >= 0 && lo >= 0 && hi < 8;
}

int ostel_vocab_non_utf8_tokens(const struct ostel_gguf *g, int32_t **ids, size_t *n, char *err,
                                size_t err_size)
{
    *ids = NULL;
    *n = 0;
    const struct ostel_gguf_kv *tok = ostel_gguf_find(g, "tokenizer.ggml.tokens");
    if (!tok || tok->type != OSTEL_GGUF_TYPE_ARRAY || tok->arr_type != OSTEL_GGUF_TYPE_STRING)
        return fail(err, err_size, "no tokenizer.ggml.tokens string array");
    if (tok->arr_n == 0 || tok->arr_n > INT32_MAX)
        return fail(err, err_size, "tokenizer.ggml.tokens holds %llu tokens",
                    (unsigned long long)tok->arr_n);
    const char *model = ostel_gguf_get_str(g, "tokenizer.ggml.model");
    bool bpe = model && strcmp(model, "gpt2") == 0;
    if (!bpe && !(model && strcmp(model, "llama") == 0))
        return fail(err, err_size, "tokenizer model '%.40s' is not gpt2 or llama",
                    model ? model : "(none)");
    /* BPE vocabularies with SentencePiece-style normal tokens (llama-vocab.cpp's
     * escape_whitespaces for these pre-tokenizers): their text as stored */
    const char *pre = ostel_gguf_get_str(g, "tokenizer.ggml.pre");
    if (bpe && pre &&
        (!strcmp(pre, "gemma4") || !strcmp(pre, "granite-embed-multi-311m") ||
         !strcmp(pre, "sarvam-moe")))
        bpe = false;
    const struct ostel_gguf_kv *types = ostel_gguf_find(g, "tokenizer.ggml.token_type");
    if (types) {
        if (types->type != OSTEL_GGUF_TYPE_ARRAY || types->arr_type != OSTEL_GGUF_TYPE_INT32)
            return fail(err, err_size, "tokenizer.ggml.token_type is not an int32 array");
        if (types->arr_n < tok->arr_n || !types->raw || types->raw_len < ARRAY_HEAD ||
            (types->raw_len - ARRAY_HEAD) / 4 < tok->arr_n)
            return fail(err, err_size, "tokenizer.ggml.token_type has fewer entries than tokens");
    }
    uint16_t byte_of[GPT2_MAP_CPS];
    gpt2_byte_map(byte_of);
    uint8_t *scratch = NULL; /* a decoded BPE token: at most one byte per stored byte */
    size_t scratch_cap = 0, cap = 0;
    const uint8_t *raw = tok->raw;
    size_t at = ARRAY_HEAD, len = tok->raw_len;
    if (!raw || len < ARRAY_HEAD)
        return fail(err, err_size, "tokenizer.ggml.tokens is truncated");
    for (uint64_t i = 0; i < tok->arr_n; i++) {
        uint64_t sl = len - at >= 8 ? le64(raw + at) : UINT64_MAX;
        at += len - at >= 8 ? 8 : 0;
        if (sl > len - at) {
            free(scratch);
            free(*ids);
            *ids = NULL;
            *n = 0;
            return fail(err, err_size, "tokenizer.ggml.tokens is truncated at token %llu",
                        (unsigned long long)i);
        }
        const uint8_t *s = raw + at;
        at += (size_t)sl;
        int32_t type = TOKEN_NORMAL;
        if (types) {
            const uint8_t *p = types->raw + ARRAY_HEAD + i * 4;
            type = (int32_t)((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                             (uint32_t)p[3] << 24);
        }
        bool valid;
        switch (type) {
        case TOKEN_NORMAL:
            if (bpe) {
                if (scratch_cap < sl) {
                    scratch_cap = (size_t)sl;
                    free(scratch);
                    scratch = ostel_xmalloc(scratch_cap);
                }
                valid = bpe_normal_valid(byte_of, s, (size_t)sl, scratch);
            } else {
                valid = ostel_vocab_utf8_valid(s, (size_t)sl);
            }
            break;
        case TOKEN_BYTE:
            valid = byte_token_valid(s, (size_t)sl);
            break;
        case TOKEN_UNKNOWN:
        case TOKEN_CONTROL:
        case TOKEN_USER_DEFINED:
            valid = ostel_vocab_utf8_valid(s, (size_t)sl); /* empty: "[EMPTY_i]" */
            break;
        default: /* unused, undefined: token_to_piece writes nothing */
            valid = true;
            break;
        }
        if (valid)
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 256;
            *ids = ostel_xrealloc(*ids, cap * sizeof(**ids));
        }
        (*ids)[(*n)++] = (int32_t)i;
    }
    free(scratch);
    return 0;
}
