/*
 * test_vocab: the tokens llama.cpp detokenizes to invalid UTF-8 (llama/vocab.h) — the validator on
 * hand-made byte strings, small crafted vocabularies of both tokenizer models (every token type,
 * characters outside GPT-2's byte map, malformed byte tokens), vocabularies llama.cpp would refuse,
 * arrays whose stored bytes are shorter than their counts say, and the pinned release's vocab
 * GGUFs. The counts of those (1352 of llama-bpe's 128256 tokens, …) were computed apart, by a
 * Python script decoding every token through GPT-2's bytes_to_unicode and Python's strict UTF-8
 * decoder.
 */
#include "testlib.h"

#include "llama/gguf.h"
#include "llama/llama_tools.h"
#include "llama/vocab.h"

#include <stdlib.h>
#include <string.h>

static bool valid(const char *s)
{
    return ostel_vocab_utf8_valid((const uint8_t *)s, strlen(s));
}

static void test_utf8_valid(void **state)
{
    (void)state;
    assert_true(valid(""));
    assert_true(valid("plain ascii"));
    assert_true(valid("\xc3\xa9"));         /* é */
    assert_true(valid("\xe4\xb8\xad"));     /* 中 */
    assert_true(valid("\xf0\x9f\x98\x80")); /* U+1F600 */
    assert_true(valid("\xf4\x8f\xbf\xbf")); /* U+10FFFF */
    assert_true(valid("\xed\x9f\xbf"));     /* U+D7FF, below the surrogates */
    assert_false(valid("\x80"));            /* a lone continuation byte */
    assert_false(valid("\xc3"));            /* a lead byte alone */
    assert_false(valid("\xe4\xb8"));        /* cut short */
    assert_false(valid("a\xc3z"));          /* a lead byte before ASCII */
    assert_false(valid("\xc0\x80"));        /* overlong NUL */
    assert_false(valid("\xc1\xbf"));        /* overlong */
    assert_false(valid("\xe0\x80\xaf"));    /* overlong '/' */
    assert_false(valid("\xf0\x80\x80\xaf"));
    assert_false(valid("\xed\xa0\x80"));     /* U+D800, a surrogate */
    assert_false(valid("\xf4\x90\x80\x80")); /* above U+10FFFF */
    assert_false(valid("\xf5\x80\x80\x80"));
    assert_false(valid("\xff"));
}

/* ---------- crafted GGUFs, byte by byte ---------- */

static void put_u32(struct ostel_buf *b, uint32_t v)
{
    uint8_t x[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    ostel_buf_append(b, x, 4);
}

static void put_u64(struct ostel_buf *b, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        ostel_buf_putc(b, (char)(uint8_t)(v >> (8 * i)));
}

static void put_str(struct ostel_buf *b, const char *s)
{
    put_u64(b, strlen(s));
    ostel_buf_puts(b, s);
}

struct vocab_spec {
    const char *model; /* NULL: no tokenizer.ggml.model */
    const char *pre;   /* NULL: no tokenizer.ggml.pre */
    const char *const *tokens;
    size_t n_tokens;
    const int32_t *types; /* NULL: no token_type array */
    size_t n_types;
    uint32_t types_elem; /* the token_type array's element type */
};

/* A GGUF v3 with no tensors and the vocabulary of spec. */
static uint8_t *make_vocab(const struct vocab_spec *v, size_t *len)
{
    struct ostel_buf b;
    ostel_buf_init(&b, 0);
    ostel_buf_puts(&b, "GGUF");
    put_u32(&b, 3);
    put_u64(&b, 0);
    put_u64(&b, 1 + (v->model != NULL) + (v->pre != NULL) + (v->types != NULL));
    if (v->model) {
        put_str(&b, "tokenizer.ggml.model");
        put_u32(&b, OSTEL_GGUF_TYPE_STRING);
        put_str(&b, v->model);
    }
    if (v->pre) {
        put_str(&b, "tokenizer.ggml.pre");
        put_u32(&b, OSTEL_GGUF_TYPE_STRING);
        put_str(&b, v->pre);
    }
    put_str(&b, "tokenizer.ggml.tokens");
    put_u32(&b, OSTEL_GGUF_TYPE_ARRAY);
    put_u32(&b, OSTEL_GGUF_TYPE_STRING);
    put_u64(&b, v->n_tokens);
    for (size_t i = 0; i < v->n_tokens; i++)
        put_str(&b, v->tokens[i]);
    if (v->types) {
        put_str(&b, "tokenizer.ggml.token_type");
        put_u32(&b, OSTEL_GGUF_TYPE_ARRAY);
        put_u32(&b, v->types_elem);
        put_u64(&b, v->n_types);
        for (size_t i = 0; i < v->n_types; i++)
            put_u32(&b, (uint32_t)v->types[i]); /* int32 and float32 are 4 bytes each */
    }
    *len = b.len;
    return (uint8_t *)ostel_buf_detach(&b);
}

/* Runs the function on spec's GGUF; returns its status, the ids in *ids (caller frees). */
static int run_spec(const struct vocab_spec *v, int32_t **ids, size_t *n, char *err, size_t el)
{
    size_t len;
    uint8_t *data = make_vocab(v, &len);
    struct ostel_gguf g;
    char rerr[256];
    assert_int_equal(ostel_gguf_read_buffer(&g, data, len, rerr, sizeof(rerr)), 0);
    err[0] = '\0';
    int rc = ostel_vocab_non_utf8_tokens(&g, ids, n, err, el);
    ostel_gguf_free(&g);
    free(data);
    return rc;
}

static void assert_ids(const int32_t *ids, size_t n, const int32_t *want, size_t nwant)
{
    if (n != nwant) {
        for (size_t i = 0; i < n; i++)
            print_message("got id %d\n", ids[i]);
    }
    assert_int_equal(n, nwant);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(ids[i], want[i]);
}

static void test_bpe(void **state)
{
    (void)state;
    /* GPT-2's byte map: printable Latin-1 stands for itself, the rest for U+0100 on ("Ġ" = ' ') */
    static const char *const tokens[] = {
        "a",                        /* 0 */
        "\xc4\xa0the",              /* 1 "Ġthe" = " the" */
        "\xc3\x83",                 /* 2 "Ã" = byte 0xC3 alone: invalid */
        "\xc3\x83\xc2\xa9",         /* 3 "Ã©" = C3 A9 = é */
        "\xc3\xa4\xc2\xb8",         /* 4 "ä¸" = E4 B8, cut short: invalid */
        "\xc3\xa4\xc2\xb8\xc5\x83", /* 5 "ä¸Ń" = E4 B8 AD = 中 (U+0143 stands for 0xAD) */
        "\xc4\x8a",                 /* 6 "Ċ" = '\n' */
        "\xc2\xa9",                 /* 7 "©" = byte 0xA9, a continuation byte alone: invalid */
        "\xe2\x82\xac",             /* 8 "€", outside the map: "[UNK_BYTE_…€]", valid */
        "\xc3\x83\xe2\x82\xac",     /* 9 byte 0xC3, then an [UNK…] text: invalid */
        "<0x41>",                   /* 10 byte token 'A' */
        "<0xE4>",                   /* 11 byte token 0xE4: invalid */
        "<0xZZ>",                   /* 12 malformed byte token: counted invalid */
        "<|eot_id|>",               /* 13 control */
        "\xff",                     /* 14 control with invalid stored text */
        "\xff",                     /* 15 unused: prints nothing */
        "\xc3\x83",                 /* 16 user-defined: its stored text "Ã", valid */
        "\xff\xfe",                 /* 17 normal, stored text not UTF-8: invalid */
        "\xc5\x82",                 /* 18 "ł" = U+0142 = byte 0xA0, a continuation: invalid */
        "",                         /* 19 empty: llama.cpp's "[EMPTY_19]" */
        "\xc3\xb0\xc5\x81\xc4\xba\xc4\xa2", /* 20 "ðŁĺĢ" = F0 9F 98 80 = U+1F600 */
    };
    /* the bytes outside printable Latin-1 take U+0100 on in order: 0x00-0x20 (U+0100-0120),
     * 0x7F-0xA0 (U+0121-0142), 0xAD (U+0143) */
    static const int32_t types[] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 6, 6, 6, 3, 3, 5, 4, 1, 1, 1, 1};
    struct vocab_spec v = {"gpt2",
                           "llama-bpe",
                           tokens,
                           OSTEL_ARRAY_LEN(tokens),
                           types,
                           OSTEL_ARRAY_LEN(types),
                           OSTEL_GGUF_TYPE_INT32};
    int32_t *ids;
    size_t n;
    char err[256];
    assert_int_equal(run_spec(&v, &ids, &n, err, sizeof(err)), 0);
    static const int32_t want[] = {2, 4, 7, 9, 11, 12, 14, 17, 18};
    assert_ids(ids, n, want, OSTEL_ARRAY_LEN(want));
    free(ids);

    /* no token_type array: every token is normal (llama.cpp's default), "<0xE4>" is plain text */
    v.types = NULL;
    assert_int_equal(run_spec(&v, &ids, &n, err, sizeof(err)), 0);
    static const int32_t want_untyped[] = {2, 4, 7, 9, 14, 15, 16, 17, 18};
    assert_ids(ids, n, want_untyped, OSTEL_ARRAY_LEN(want_untyped));
    free(ids);

    /* a pre-tokenizer with SentencePiece-style normal tokens: text as stored, no byte map */
    v.types = types;
    v.pre = "gemma4";
    assert_int_equal(run_spec(&v, &ids, &n, err, sizeof(err)), 0);
    static const int32_t want_spm_style[] = {11, 12, 14, 17};
    assert_ids(ids, n, want_spm_style, OSTEL_ARRAY_LEN(want_spm_style));
    free(ids);
}

static void test_spm(void **state)
{
    (void)state;
    static const char *const tokens[] = {
        "<unk>",    "<s>",    "</s>",   "<0x41>",
        "<0x7F>",   "<0x80>", "<0xff>", "\xe2\x96\x81the", /* "▁the" */
        "<0x80>",   /* a normal token that looks like a byte token: printed as is */
        "\xe4\xb8", /* normal, stored text cut short */
    };
    static const int32_t types[] = {2, 3, 3, 6, 6, 6, 6, 1, 1, 1};
    struct vocab_spec v = {"llama",
                           NULL,
                           tokens,
                           OSTEL_ARRAY_LEN(tokens),
                           types,
                           OSTEL_ARRAY_LEN(types),
                           OSTEL_GGUF_TYPE_INT32};
    int32_t *ids;
    size_t n;
    char err[256];
    assert_int_equal(run_spec(&v, &ids, &n, err, sizeof(err)), 0);
    static const int32_t want[] = {5, 6, 9};
    assert_ids(ids, n, want, OSTEL_ARRAY_LEN(want));
    free(ids);

    /* all valid: no array */
    static const char *const fine[] = {"a", "b"};
    struct vocab_spec f = {"llama", NULL, fine, 2, NULL, 0, 0};
    ids = (int32_t *)&n; /* must be overwritten */
    assert_int_equal(run_spec(&f, &ids, &n, err, sizeof(err)), 0);
    assert_null(ids);
    assert_int_equal(n, 0);
}

static void test_refused(void **state)
{
    (void)state;
    static const char *const tokens[] = {"a", "\xc3\x83", "c"};
    static const int32_t types[] = {1, 1, 1};
    int32_t *ids;
    size_t n;
    char err[256];
    /* a tokenizer model this does not know */
    struct vocab_spec v = {"bert", NULL, tokens, 3, NULL, 0, 0};
    assert_int_equal(run_spec(&v, &ids, &n, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "tokenizer model 'bert'"));
    assert_null(ids);
    v.model = NULL;
    assert_int_equal(run_spec(&v, &ids, &n, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "(none)"));
    /* a token_type array shorter than the tokens, or not int32: llama.cpp refuses the vocab */
    struct vocab_spec s = {"gpt2", NULL, tokens, 3, types, 2, OSTEL_GGUF_TYPE_INT32};
    assert_int_equal(run_spec(&s, &ids, &n, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "fewer entries"));
    s.n_types = 3;
    s.types_elem = OSTEL_GGUF_TYPE_FLOAT32;
    assert_int_equal(run_spec(&s, &ids, &n, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "not an int32 array"));
    /* no tokens at all */
    struct vocab_spec e = {"gpt2", NULL, tokens, 0, NULL, 0, 0};
    assert_int_equal(run_spec(&e, &ids, &n, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "holds 0 tokens"));
    /* no token array: an empty header */
    struct ostel_gguf g;
    memset(&g, 0, sizeof(g));
    assert_int_equal(ostel_vocab_non_utf8_tokens(&g, &ids, &n, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "no tokenizer.ggml.tokens"));
    assert_null(ids);
}

/* Headers no reader would hand over (the stored bytes shorter than the counts): the function
 * checks again and fails, never reading past them. */
static void test_hostile_arrays(void **state)
{
    (void)state;
    static const char *const tokens[] = {"\xc3\x83", "b", "c"};
    static const int32_t types[] = {1, 1, 1};
    struct vocab_spec v = {"gpt2", NULL, tokens, 3, types, 3, OSTEL_GGUF_TYPE_INT32};
    size_t len;
    uint8_t *data = make_vocab(&v, &len);
    struct ostel_gguf g;
    char err[256];
    assert_int_equal(ostel_gguf_read_buffer(&g, data, len, err, sizeof(err)), 0);
    free(data);
    struct ostel_gguf_kv *tok =
        (struct ostel_gguf_kv *)ostel_gguf_find(&g, "tokenizer.ggml.tokens");
    struct ostel_gguf_kv *typ =
        (struct ostel_gguf_kv *)ostel_gguf_find(&g, "tokenizer.ggml.token_type");
    assert_non_null(tok);
    assert_non_null(typ);
    int32_t *ids;
    size_t n;
    /* as read: token 0 only */
    assert_int_equal(ostel_vocab_non_utf8_tokens(&g, &ids, &n, err, sizeof(err)), 0);
    assert_int_equal(n, 1);
    free(ids);
    size_t tok_len = tok->raw_len, typ_len = typ->raw_len;
    /* every cut of the token array's bytes fails with a message: after token 0 has been listed,
     * inside a length, inside a string */
    for (size_t cut = 0; cut < tok_len; cut++) {
        tok->raw_len = cut;
        err[0] = '\0';
        assert_int_equal(ostel_vocab_non_utf8_tokens(&g, &ids, &n, err, sizeof(err)), -1);
        assert_true(err[0] != '\0');
        assert_null(ids);
        assert_int_equal(n, 0);
    }
    tok->raw_len = tok_len;
    /* a string length near 2^64 */
    uint8_t saved[8];
    memcpy(saved, tok->raw + 12, 8);
    memset(tok->raw + 12, 0xff, 8);
    assert_int_equal(ostel_vocab_non_utf8_tokens(&g, &ids, &n, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "truncated at token 0"));
    memcpy(tok->raw + 12, saved, 8);
    /* a count beyond llama_token's range */
    tok->arr_n = (uint64_t)INT32_MAX + 1;
    assert_int_equal(ostel_vocab_non_utf8_tokens(&g, &ids, &n, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "2147483648 tokens"));
    tok->arr_n = 3;
    /* a token_type array whose bytes hold fewer entries than its count */
    for (size_t cut = 0; cut < typ_len; cut++) {
        typ->raw_len = cut;
        assert_int_equal(ostel_vocab_non_utf8_tokens(&g, &ids, &n, err, sizeof(err)), -1);
        assert_non_null(strstr(err, "token_type"));
    }
    typ->raw_len = typ_len;
    assert_int_equal(ostel_vocab_non_utf8_tokens(&g, &ids, &n, err, sizeof(err)), 0);
    assert_int_equal(n, 1);
    free(ids);
    ostel_gguf_free(&g);
}

static void test_pinned_vocabs(void **state)
{
    (void)state;
    static const struct {
        const char *file;
        size_t n;
        int32_t first, last;
    } cases[] = {
        {"ggml-vocab-llama-bpe.gguf", 1352, 94, 127815},
        {"ggml-vocab-qwen2.gguf", 1448, 94, 151560},
        {"ggml-vocab-llama-spm.gguf", 128, 131, 258}, /* <0x80>…<0xFF> */
        {"ggml-vocab-gpt-2.gguf", 344, 94, 50169},
    };
    for (size_t i = 0; i < OSTEL_ARRAY_LEN(cases); i++) {
        char *path = ostel_llama_find_vocab(cases[i].file);
        if (!path) {
            print_message("skipping %s: vocab files not installed\n", cases[i].file);
            continue;
        }
        struct ostel_gguf g;
        char err[256];
        assert_int_equal(ostel_gguf_read_file(&g, path, err, sizeof(err)), 0);
        int32_t *ids;
        size_t n;
        assert_int_equal(ostel_vocab_non_utf8_tokens(&g, &ids, &n, err, sizeof(err)), 0);
        print_message("%s: %zu tokens not UTF-8 on their own\n", cases[i].file, n);
        assert_int_equal(n, cases[i].n);
        assert_int_equal(ids[0], cases[i].first);
        assert_int_equal(ids[n - 1], cases[i].last);
        for (size_t k = 1; k < n; k++)
            assert_true(ids[k - 1] < ids[k]);
        free(ids);
        ostel_gguf_free(&g);
        free(path);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utf8_valid),
        cmocka_unit_test(test_bpe),
        cmocka_unit_test(test_spm),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_hostile_arrays),
        cmocka_unit_test(test_pinned_vocabs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
