/*
 * fuzz_gguf: the GGUF header reader over arbitrary bytes, then everything inspect derives from a
 * header it accepts (model facts, JSON) and the tokens that are not UTF-8 on their own (vocab.h).
 * Corpus: tests/fuzz/corpus/gguf (see its README).
 */
#include "llama/gguf_facts.h"
#include "llama/vocab.h"

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
        int32_t *ids;
        size_t n;
        err[0] = '\0';
        if (ostel_vocab_non_utf8_tokens(&g, &ids, &n, err, sizeof(err)) != 0) {
            if (err[0] == '\0' || ids || n)
                abort();
        } else {
            const struct ostel_gguf_kv *tok = ostel_gguf_find(&g, "tokenizer.ggml.tokens");
            for (size_t i = 0; i < n; i++) /* ascending ids of tokens that exist */
                if (ids[i] < 0 || (uint64_t)ids[i] >= tok->arr_n || (i && ids[i] <= ids[i - 1]))
                    abort();
            free(ids);
        }
    } else if (err[0] == '\0') {
        abort(); /* a failure must always say why */
    }
    ostel_gguf_free(&g);
    return 0;
}
