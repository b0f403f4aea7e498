/*
 * test_gguf: the GGUF reader on files ostel writes, on the pinned release's vocab GGUFs, and on
 * truncated and corrupted input (every case must fail with a message, never crash); the ggml type
 * table and llama.cpp's file type names.
 */
#include "testlib.h"

#include "llama/ggml_types.h"
#include "llama/gguf_facts.h"
#include "llama/gguf_write.h"
#include "llama/llama_tools.h"
#include "llama/synth.h"

#include <stdlib.h>
#include <string.h>

/* A small valid GGUF with keys of every type and three tensors, data included. */
static uint8_t *make_small(size_t *len)
{
    struct ostel_gguf_writer w;
    ostel_gguf_writer_init(&w);
    ostel_gguf_writer_add_str(&w, "general.architecture", "llama");
    ostel_gguf_writer_add_str(&w, "general.name", "small");
    ostel_gguf_writer_add_u32(&w, "llama.block_count", 2);
    ostel_gguf_writer_add_u32(&w, "llama.embedding_length", 64);
    ostel_gguf_writer_add_u32(&w, "llama.attention.head_count", 4);
    int32_t kvh[2] = {2, 0};
    ostel_gguf_writer_add_arr_i32(&w, "llama.attention.head_count_kv", kvh, 2);
    ostel_gguf_writer_add_f32(&w, "llama.rope.freq_base", 10000.0f);
    ostel_gguf_writer_add_i32(&w, "test.i32", -5);
    ostel_gguf_writer_add_bool(&w, "test.bool", true);
    uint64_t ne1[1] = {64}, ne2[2] = {64, 3}, b;
    assert_int_equal(ostel_gguf_writer_add_tensor(&w, "a", OSTEL_GGML_TYPE_F32, 1, ne1, &b), 0);
    assert_int_equal(b, 256);
    assert_int_equal(ostel_gguf_writer_add_tensor(&w, "b", OSTEL_GGML_TYPE_Q8_0, 2, ne2, &b), 0);
    assert_int_equal(b, 3 * 2 * 34);
    assert_int_equal(ostel_gguf_writer_add_tensor(&w, "c", OSTEL_GGML_TYPE_F16, 2, ne2, &b), 0);
    /* q4_K needs rows of 256 */
    assert_int_equal(ostel_gguf_writer_add_tensor(&w, "d", OSTEL_GGML_TYPE_Q4_K, 2, ne2, &b), -1);
    struct ostel_buf out;
    ostel_buf_init(&out, 0);
    ostel_gguf_writer_header(&w, &out);
    size_t data = (size_t)w.data_bytes;
    ostel_gguf_writer_free(&w);
    uint8_t *p = ostel_xcalloc(out.len + data, 1);
    memcpy(p, out.data, out.len);
    *len = out.len + data;
    ostel_buf_free(&out);
    return p;
}

static void test_small_roundtrip(void **state)
{
    (void)state;
    size_t len;
    uint8_t *p = make_small(&len);
    struct ostel_gguf g;
    char err[256];
    assert_int_equal(ostel_gguf_read_buffer(&g, p, len, err, sizeof(err)), 0);
    assert_int_equal(g.version, 3);
    assert_int_equal(g.n_kv, 9);
    assert_int_equal(g.n_tensors, 3);
    assert_int_equal(g.data_offset % 32, 0);
    assert_int_equal(g.tensors[1].offset, 256);
    assert_int_equal(g.tensors[2].offset, 256 + 224); /* 204 padded to 32 */
    assert_int_equal(g.n_elements, 64 + 192 + 192);
    assert_int_equal(g.tensor_bytes, 256 + 204 + 384);
    int64_t i;
    const struct ostel_gguf_kv *kv = ostel_gguf_find(&g, "llama.attention.head_count_kv");
    assert_non_null(kv);
    assert_int_equal(kv->arr_n, 2);
    assert_true(ostel_gguf_array_get_i64(kv, 1, &i));
    assert_int_equal(i, 0);
    assert_false(ostel_gguf_array_get_i64(kv, 2, &i));
    uint64_t u;
    assert_false(ostel_gguf_get_uint(&g, "test.i32", &u)); /* negative */
    assert_true(ostel_gguf_get_uint(&g, "test.bool", &u));
    assert_int_equal(u, 1);
    double f;
    assert_true(ostel_gguf_get_float(&g, "llama.rope.freq_base", &f));
    assert_true(f == 10000.0);
    assert_string_equal(ostel_gguf_get_str(&g, "general.name"), "small");
    assert_null(ostel_gguf_get_str(&g, "llama.block_count"));

    struct ostel_gguf_model m;
    ostel_gguf_model_init(&m, &g);
    assert_string_equal(m.arch, "llama");
    assert_int_equal(m.n_layer, 2);
    assert_true(m.n_head_kv_per_layer);
    assert_int_equal(m.n_head_kv, 2);
    assert_int_equal(m.layer_n_head_kv[0], 2);
    assert_int_equal(m.layer_n_head_kv[1], 0);
    assert_int_equal(m.head_dim_k, 16);
    /* one layer with 2 kv heads of 16 + 16, f16 */
    assert_int_equal(m.kv_bytes_per_token_f16, 2 * (16 + 16) * 2);
    /* no general.file_type: guessed from the most common type, as llama.cpp does (f32 a, q8_0 b,
     * f16 c: a tie, the first in name order wins) */
    assert_true(m.file_type_guessed);
    assert_string_equal(m.file_type_name, "(guessed) all F32");
    assert_int_equal(m.n_types, 3);
    assert_int_equal(m.types[2].type, OSTEL_GGML_TYPE_Q8_0);
    assert_int_equal(m.types[2].bytes, 204);
    cJSON *j = ostel_gguf_model_json(&g, &m, "x.gguf");
    assert_int_equal((int)cJSON_GetObjectItem(j, "parameters")->valuedouble, 448);
    assert_true(cJSON_IsArray(cJSON_GetObjectItem(j, "head_count_kv_per_layer")));
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "context_length")));
    cJSON_Delete(j);
    ostel_gguf_model_free(&m);
    ostel_gguf_free(&g);

    /* GGUF v2 has the same layout */
    p[4] = 2;
    assert_int_equal(ostel_gguf_read_buffer(&g, p, len, err, sizeof(err)), 0);
    assert_int_equal(g.version, 2);
    ostel_gguf_free(&g);
    p[4] = 1;
    assert_int_equal(ostel_gguf_read_buffer(&g, p, len, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "version 1"));
    ostel_gguf_free(&g);
    free(p);
}

static void expect_fail(const uint8_t *p, size_t len, const char *needle)
{
    struct ostel_gguf g;
    char err[256] = "";
    int rc = ostel_gguf_read_buffer(&g, p, len, err, sizeof(err));
    if (rc == 0 || (needle && !strstr(err, needle)))
        fail_msg("expected failure with '%s', got rc %d err '%s'", needle ? needle : "", rc, err);
    assert_true(err[0] != '\0');
    ostel_gguf_free(&g);
}

static void test_truncated(void **state)
{
    (void)state;
    size_t len;
    uint8_t *p = make_small(&len);
    /* every cut, header and data alike, is an error */
    for (size_t cut = 0; cut < len; cut++)
        expect_fail(p, cut, NULL);
    /* a cut in the tensor data says "truncated" */
    expect_fail(p, len - 1, "truncated");
    expect_fail(p, len - 400, "truncated");
    free(p);
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* Offset of the first occurrence of n bytes of s in p. */
static size_t find_n(const uint8_t *p, size_t len, const char *s, size_t n)
{
    for (size_t i = 0; i + n <= len; i++)
        if (memcmp(p + i, s, n) == 0)
            return i;
    fail_msg("'%s' not found", s);
    return 0;
}

static size_t find(const uint8_t *p, size_t len, const char *s)
{
    return find_n(p, len, s, strlen(s));
}

/* The tensor info of the one-letter tensor name c: its name's length field and the name. */
static size_t find_tensor(const uint8_t *p, size_t len, char c)
{
    char pat[9] = {1, 0, 0, 0, 0, 0, 0, 0, c};
    return find_n(p, len, pat, 9);
}

static void test_corrupted(void **state)
{
    (void)state;
    size_t len;
    uint8_t *orig = make_small(&len);
    uint8_t *p = ostel_xmalloc(len);
#define RESET() memcpy(p, orig, len)
    RESET();
    memcpy(p, "GGUG", 4);
    expect_fail(p, len, "magic");
    RESET();
    put64(p + 8, UINT64_MAX); /* tensor count */
    expect_fail(p, len, "tensors");
    RESET();
    put64(p + 16, 1ull << 40); /* kv count */
    expect_fail(p, len, "key-value");
    RESET();
    put64(p + 24, UINT64_MAX - 3); /* first key's length */
    expect_fail(p, len, "length");
    RESET();
    size_t k = find(p, len, "llama.attention.head_count_kv");
    size_t at = k + strlen("llama.attention.head_count_kv");
    put64(p + at + 8, 1ull << 62); /* array count */
    expect_fail(p, len, "elements");
    RESET();
    put32(p + at + 4, 9); /* array of arrays */
    expect_fail(p, len, "invalid type");
    RESET();
    put32(p + at, 77); /* value type */
    expect_fail(p, len, "invalid GGUF type");
    RESET();
    /* tensor "b": name length 1, then n_dims, ne[0], ne[1], type, offset */
    size_t tb = find_tensor(p, len, 'b') + 9;
    put32(p + tb, 5);
    expect_fail(p, len, "dimensions");
    RESET();
    put64(p + tb + 4, UINT64_MAX); /* negative dimension */
    expect_fail(p, len, "negative");
    RESET();
    put64(p + tb + 4, 1ull << 40);
    put64(p + tb + 12, 1ull << 40);
    expect_fail(p, len, NULL);
    RESET();
    put64(p + tb + 4, 65); /* not a multiple of the q8_0 block */
    expect_fail(p, len, "block size");
    RESET();
    put64(p + tb + 24, 7); /* misaligned offset */
    expect_fail(p, len, "alignment");
    RESET();
    put64(p + tb + 24, 1ull << 50); /* offset far past the end */
    expect_fail(p, len, NULL);
    RESET();
    /* duplicate tensor name: rename "c" to "b" */
    size_t tc = find_tensor(p, len, 'c');
    p[tc + 8] = 'b';
    expect_fail(p, len, "duplicate");
    RESET();
    /* an unknown type id is kept and reported by number, not refused */
    put32(p + tb + 20, 31);
    struct ostel_gguf g;
    char err[256];
    assert_int_equal(ostel_gguf_read_buffer(&g, p, len, err, sizeof(err)), 0);
    assert_false(g.tensors[1].type_known);
    assert_int_equal(g.tensors[1].type, 31);
    assert_int_equal(g.n_unknown_types, 1);
    ostel_gguf_free(&g);
    /* every 8-byte window of the header set to all ones, then to a large count: no crash */
    size_t hdr = find_tensor(orig, len, 'c') + 40;
    for (size_t i = 0; i + 8 <= hdr; i++) {
        RESET();
        put64(p + i, UINT64_MAX);
        if (ostel_gguf_read_buffer(&g, p, len, err, sizeof(err)) == 0) {
            struct ostel_gguf_model m;
            ostel_gguf_model_init(&m, &g);
            cJSON_Delete(ostel_gguf_model_json(&g, &m, NULL));
            ostel_gguf_model_free(&m);
        }
        ostel_gguf_free(&g);
        RESET();
        put64(p + i, 0x7fffffffull);
        if (ostel_gguf_read_buffer(&g, p, len, err, sizeof(err)) == 0) {
            struct ostel_gguf_model m;
            ostel_gguf_model_init(&m, &g);
            ostel_gguf_model_free(&m);
        }
        ostel_gguf_free(&g);
    }
#undef RESET
    free(p);
    free(orig);
}

static void test_file_errors(void **state)
{
    (void)state;
    struct ostel_gguf g;
    char err[256];
    assert_int_equal(ostel_gguf_read_file(&g, "/nonexistent/x.gguf", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "cannot open"));
    ostel_gguf_free(&g);
    assert_int_equal(ostel_gguf_read_file(&g, "/tmp", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "not a regular file"));
    ostel_gguf_free(&g);
    struct ostel_gguf_run_facts f;
    assert_int_equal(ostel_gguf_run_facts_read(&f, "/nonexistent/x.gguf", err, sizeof(err)), -1);
    assert_null(f.model_file);
    assert_false(f.has_shape);
    ostel_gguf_run_facts_free(&f);
}

static void test_vocab_files(void **state)
{
    (void)state;
    static const struct {
        const char *file, *arch;
        uint64_t tokens;
    } cases[] = {
        {"ggml-vocab-llama-bpe.gguf", "llama", 128256},
        {"ggml-vocab-qwen2.gguf", "qwen2", 151936},
        {"ggml-vocab-llama-spm.gguf", "llama", 32000},
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
        assert_int_equal(g.n_tensors, 0);
        const struct ostel_gguf_kv *t = ostel_gguf_find(&g, "tokenizer.ggml.tokens");
        assert_non_null(t);
        assert_int_equal(t->arr_type, OSTEL_GGUF_TYPE_STRING);
        assert_int_equal(t->arr_n, cases[i].tokens);
        struct ostel_gguf_model m;
        ostel_gguf_model_init(&m, &g);
        assert_string_equal(m.arch, cases[i].arch);
        assert_int_equal(m.n_vocab, cases[i].tokens);
        assert_int_equal(m.n_params, 0);
        ostel_gguf_model_free(&m);
        ostel_gguf_free(&g);
        free(path);
    }
}

static void test_synth_file(void **state)
{
    (void)state;
    const struct ostel_synth_shape *s = ostel_synth_preset_find("tiny-llama");
    char *vocab = ostel_llama_find_vocab(s->vocab_file);
    if (!vocab) {
        print_message("skipping: vocab files not installed\n");
        return;
    }
    char *dir = test_tmpdir();
    char *out = ostel_xasprintf("%s/tiny.gguf", dir);
    struct ostel_synth_options o = {
        .out_path = out, .vocab_path = vocab, .type = OSTEL_GGML_TYPE_Q8_0, .seed = 3};
    struct ostel_synth_result res;
    assert_int_equal(ostel_synth_write(s, &o, &res), 0);
    struct ostel_gguf g;
    char err[256];
    assert_int_equal(ostel_gguf_read_file(&g, out, err, sizeof(err)), 0);
    assert_int_equal(g.file_size, res.file_bytes);
    assert_int_equal(g.n_tensors, 21);
    struct ostel_gguf_model m;
    ostel_gguf_model_init(&m, &g);
    assert_int_equal(m.n_params, res.n_params);
    /* 2 * 32000 * 256 embeddings + 2 layers of (3 * 256*256 attention... */
    uint64_t per_layer = 256 * 256 + 2 * 256 * 128 + 256 * 256 + 3 * 256 * 512 + 2 * 256;
    assert_int_equal(m.n_params, 2ull * 32000 * 256 + 2 * per_layer + 256);
    assert_string_equal(m.file_type_name, "Q8_0");
    assert_false(m.file_type_guessed);
    assert_int_equal(m.n_vocab, 32000);
    assert_int_equal(m.n_layer, 2);
    assert_int_equal(m.n_head_kv, 2);
    assert_int_equal(m.kv_bytes_per_token_f16, 2 * 2 * 64 * 2 * 2);
    assert_true(m.bpw > 8.4 && m.bpw < 8.6);
    assert_non_null(ostel_gguf_find_tensor(&g, "output.weight"));
    const struct ostel_gguf_tensor *n = ostel_gguf_find_tensor(&g, "blk.1.ffn_norm.weight");
    assert_non_null(n);
    assert_int_equal(n->type, OSTEL_GGML_TYPE_F32);
    /* the JSON of `ostel run`'s summary and the memory model's shape, from one read */
    struct ostel_gguf_run_facts f;
    assert_int_equal(ostel_gguf_run_facts_read(&f, out, err, sizeof(err)), 0);
    const cJSON *j = f.model_file;
    assert_non_null(j);
    assert_string_equal(cJSON_GetObjectItem(j, "file_type_name")->valuestring, "Q8_0");
    assert_int_equal((int)cJSON_GetObjectItem(j, "vocab_size")->valuedouble, 32000);
    assert_true(f.has_shape);
    assert_int_equal(f.shape.n_layer, 2);
    assert_int_equal(f.shape.n_vocab, 32000);
    /* the same from a header its caller read already (the study's, quality's, serve's) */
    struct ostel_gguf_run_facts f2;
    ostel_gguf_run_facts_from(&f2, &g, out);
    assert_true(cJSON_Compare(f.model_file, f2.model_file, true));
    assert_true(f2.has_shape);
    assert_int_equal(f2.shape.n_tensors, f.shape.n_tensors);
    assert_int_equal(f2.shape.total_bytes, f.shape.total_bytes);
    ostel_gguf_run_facts_free(&f2);
    ostel_gguf_run_facts_free(&f);
    ostel_gguf_model_free(&m);
    ostel_gguf_free(&g);
    free(out);
    test_rmtree(dir);
    free(dir);
    free(vocab);
}

static void test_type_table(void **state)
{
    (void)state;
    static const struct {
        uint32_t id;
        const char *name;
        uint32_t blck, size;
    } cases[] = {
        {0, "f32", 1, 4},         {1, "f16", 1, 2},         {2, "q4_0", 32, 18},
        {8, "q8_0", 32, 34},      {10, "q2_K", 256, 84},    {12, "q4_K", 256, 144},
        {14, "q6_K", 256, 210},   {16, "iq2_xxs", 256, 66}, {19, "iq1_s", 256, 50},
        {23, "iq4_xs", 256, 136}, {29, "iq1_m", 256, 56},   {30, "bf16", 1, 2},
        {34, "tq1_0", 256, 54},   {35, "tq2_0", 256, 66},   {39, "mxfp4", 32, 17},
        {40, "nvfp4", 64, 36},    {41, "q1_0", 128, 18},    {42, "q2_0", 64, 18},
    };
    for (size_t i = 0; i < OSTEL_ARRAY_LEN(cases); i++) {
        const struct ostel_ggml_type_info *t = ostel_ggml_type_get(cases[i].id);
        assert_non_null(t);
        assert_string_equal(t->name, cases[i].name);
        assert_int_equal(t->blck_size, cases[i].blck);
        assert_int_equal(t->type_size, cases[i].size);
        assert_int_equal(ostel_ggml_type_from_name(cases[i].name), (int)cases[i].id);
    }
    assert_null(ostel_ggml_type_get(4));
    assert_null(ostel_ggml_type_get(31));
    assert_null(ostel_ggml_type_get(43));
    assert_null(ostel_ggml_type_get(UINT32_MAX));
    assert_int_equal(ostel_ggml_type_from_name("Q8_0"), 8);
    assert_int_equal(ostel_ggml_type_from_name("q9"), -1);
    uint64_t b;
    assert_true(ostel_ggml_tensor_bytes(12, 4096, 4096ull * 14336, &b));
    assert_int_equal(b, 4096ull * 14336 / 256 * 144);
    assert_false(ostel_ggml_tensor_bytes(12, 100, 100, &b));
    assert_false(ostel_ggml_tensor_bytes(99, 256, 256, &b));
    assert_false(ostel_ggml_tensor_bytes(0, 1, UINT64_MAX, &b)); /* overflow */
}

static void test_ftype_names(void **state)
{
    (void)state;
    assert_string_equal(ostel_ggml_ftype_name(15), "Q4_K - Medium");
    assert_string_equal(ostel_ggml_ftype_name(7), "Q8_0");
    assert_string_equal(ostel_ggml_ftype_name(1), "F16");
    assert_string_equal(ostel_ggml_ftype_name(0), "all F32");
    assert_string_equal(ostel_ggml_ftype_name(27), "IQ3_S mix - 3.66 bpw");
    assert_string_equal(ostel_ggml_ftype_name(38), "MXFP4 MoE");
    assert_string_equal(ostel_ggml_ftype_name(15 | 1024), "(guessed) Q4_K - Medium");
    assert_string_equal(ostel_ggml_ftype_name(33), "unknown, may not work");
    assert_string_equal(ostel_ggml_ftype_name(33 | 1024), "(guessed) unknown, may not work");
    assert_int_equal(ostel_ggml_ftype_from_type(12), 15 | 1024);
    assert_int_equal(ostel_ggml_ftype_from_type(11), 12 | 1024);
    assert_int_equal(ostel_ggml_ftype_from_type(99), 0 | 1024);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_small_roundtrip), cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_corrupted),       cmocka_unit_test(test_file_errors),
        cmocka_unit_test(test_vocab_files),     cmocka_unit_test(test_synth_file),
        cmocka_unit_test(test_type_table),      cmocka_unit_test(test_ftype_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
