/*
 * fuzz_quality_logits: feeds arbitrary bytes to the logits-file header check of src/quality/ (the
 * file llama-perplexity --kl-divergence-base writes), with the input's own length and a claimed
 * file size taken from its last 8 bytes. Replayed from tests/fuzz/corpus/quality_logits/ in every
 * run.
 */
#include "quality/quality.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ostel_quality_logits_header h;
    char err[256];
    (void)ostel_quality_logits_header_parse(data, size, size, &h, err, sizeof(err));
    if (size >= 8) {
        uint64_t claimed = 0;
        memcpy(&claimed, data + size - 8, 8);
        (void)ostel_quality_logits_header_parse(data, size - 8, claimed, &h, err, sizeof(err));
    }
    (void)ostel_quality_logits_bytes(size, size * 3, size * 7);
    return 0;
}
