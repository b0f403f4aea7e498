/*
 * Unit tests for quality's pure parts: the logits file's size (checked against a file the pinned
 * llama-perplexity wrote: vocabulary 32000, -c 128, 4 chunks → 16132084 bytes), the chunk count,
 * and the header check (complete, truncated, too long, bad magic, implausible counts).
 */
#include "testlib.h"
#include "quality/quality.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

static void test_logits_bytes(void **state)
{
    (void)state;
    /* measured: ls -l of the file `llama-perplexity -m tiny-llama-F16 -c 128 --chunks 4
     * --kl-divergence-base` wrote */
    assert_int_equal(ostel_quality_logits_bytes(32000, 128, 4), 16132084);
    assert_int_equal(ostel_quality_scored_tokens(128, 4), 4 * 63);
    assert_int_equal(ostel_quality_scored_tokens(512, 1), 255);
    /* an odd vocabulary is padded to even, plus 4 uint16 per token */
    assert_int_equal(ostel_quality_logits_bytes(3, 4, 1),
                     20 + 4 * 4 + (4 - 1 - 2) * (2 * 2 + 4) * 2);
    /* LLaMA 3 on Wikitext-2 at 512: 564 chunks, 128256 tokens: 36.9 GB = 34.4 GiB (the
     * perplexity README's "about 37 GiB" is gigabytes) */
    uint64_t b = ostel_quality_logits_bytes(128256, 512, 564);
    assert_int_equal(b, 36893861492ull);
    assert_int_equal(ostel_quality_logits_bytes(UINT32_MAX + 1ull, 512, 1), 0);
    assert_int_equal(ostel_quality_logits_bytes(128256, UINT64_MAX / 2, 3), 0);
}

static void test_chunks(void **state)
{
    (void)state;
    assert_int_equal(ostel_quality_chunks(8707, 128, 0), 68);
    assert_int_equal(ostel_quality_chunks(8707, 128, 4), 4);
    assert_int_equal(ostel_quality_chunks(8707, 128, 1000), 68);
    assert_int_equal(ostel_quality_chunks(255, 128, 0), 0); /* fewer than 2 contexts */
    assert_int_equal(ostel_quality_chunks(256, 128, 0), 2);
    assert_int_equal(ostel_quality_chunks(100, 0, 0), 0);
}

/* The ETA of a pass: from the start of its work, not from the first chunk; bursts of chunks. */
static void test_eta(void **state)
{
    (void)state;
    /* nothing printed yet: unknown */
    assert_true(isnan(ostel_quality_eta_s(1.0, NAN, 5.0, 0, 8)));
    assert_true(isnan(ostel_quality_eta_s(1.0, 5.0, 5.0, 1, 0)));
    /* a burst of 4 chunks (-c 512 -b 2048) at 9 s after a 1 s load: 2 s a chunk, 4 left = 8 s
     * (the old estimate, time since the first chunk over the chunks, gave 0) */
    assert_true(fabs(ostel_quality_eta_s(1.0, 9.0, 9.0, 4, 8) - 8.0) < 1e-9);
    /* it counts down between bursts, and the next burst does not reset it */
    assert_true(fabs(ostel_quality_eta_s(1.0, 9.0, 12.0, 4, 8) - 5.0) < 1e-9);
    assert_true(fabs(ostel_quality_eta_s(1.0, 17.0, 17.0, 8, 12) - 8.0) < 1e-9);
    /* one chunk at a time: not off by one (1 chunk done of 3 after 2 s of work: 4 s left) */
    assert_true(fabs(ostel_quality_eta_s(0.5, 2.5, 2.5, 1, 3) - 4.0) < 1e-9);
    /* the load unknown: counted as work (an upper bound) */
    assert_true(fabs(ostel_quality_eta_s(0, 3.0, 3.0, 1, 2) - 3.0) < 1e-9);
    assert_true(fabs(ostel_quality_eta_s(NAN, 3.0, 3.0, 1, 2) - 3.0) < 1e-9);
    /* late: never below 0; done: 0 */
    assert_true(ostel_quality_eta_s(1.0, 3.0, 100.0, 1, 2) == 0);
    assert_true(ostel_quality_eta_s(1.0, 3.0, 3.0, 2, 2) == 0);
    assert_true(ostel_quality_eta_s(1.0, 3.0, 3.0, 5, 2) == 0);
}

static void put_u32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

static void test_header(void **state)
{
    (void)state;
    unsigned char h[20];
    memcpy(h, "_logits_", 8);
    put_u32(h + 8, 128);
    put_u32(h + 12, 32000);
    put_u32(h + 16, 4);
    struct ostel_quality_logits_header x;
    char err[256];
    assert_int_equal(ostel_quality_logits_header_parse(h, 20, 16132084, &x, err, sizeof(err)), 0);
    assert_int_equal(x.n_ctx, 128);
    assert_int_equal(x.n_vocab, 32000);
    assert_int_equal(x.n_chunk, 4);
    assert_int_equal(ostel_quality_logits_header_parse(h, 20, 1000000, &x, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "truncated: 1000000 of 16132084 bytes"));
    assert_int_equal(ostel_quality_logits_header_parse(h, 20, 16132085, &x, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "longer"));
    assert_int_equal(ostel_quality_logits_header_parse(h, 12, 12, &x, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "not even a header"));
    put_u32(h + 16, 0);
    assert_int_equal(ostel_quality_logits_header_parse(h, 20, 16132084, &x, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "implausible"));
    h[0] = 'X';
    assert_int_equal(ostel_quality_logits_header_parse(h, 20, 16132084, &x, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "magic"));
    assert_int_equal(ostel_quality_logits_header_parse(NULL, 0, 0, &x, err, sizeof(err)), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_logits_bytes),
        cmocka_unit_test(test_chunks),
        cmocka_unit_test(test_eta),
        cmocka_unit_test(test_header),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
