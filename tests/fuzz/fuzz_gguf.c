/*
 * fuzz_gguf: the GGUF header reader over arbitrary bytes, then everything inspect derives from a
 * header it accepts (model facts, JSON). Corpus: tests/fuzz/corpus/gguf (see its README).
 */
#include "llama/gguf_facts.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ostel_gguf g;
    char err[256];
    if (ostel_gguf_read_buffer(&g, data, size, err, sizeof(err)) == 0) {
        struct ostel_gguf_model m;
        ostel_gguf_model_init(&m, &g);
        cJSON *j = ostel_gguf_model_json(&g, &m, "fuzz.gguf");
        char *s = cJSON_PrintUnformatted(j);
        free(s);
        cJSON_Delete(j);
        ostel_gguf_model_free(&m);
    } else if (err[0] == '\0') {
        abort(); /* a failure must always say why */
    }
    ostel_gguf_free(&g);
    return 0;
}
