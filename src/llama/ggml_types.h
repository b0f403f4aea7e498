/*
 * ggml_types: ggml's tensor types (block size and bytes per block, as the pinned ggml's type_traits
 * table has them) and llama.cpp's file types (general.file_type, printed as llama_ftype_name does).
 *
 * GGUF stores every tensor's type as a ggml type id; a tensor's size in bytes is
 * (elements / block size) * type size. Ids that ggml removed (4, 5, 31-33, 36-38) or that are newer
 * than the pinned ggml have no entry: callers report them by number.
 */
#ifndef OSTEL_GGML_TYPES_H
#define OSTEL_GGML_TYPES_H

#include <stdbool.h>
#include <stdint.h>

/* The ggml type ids ostel writes itself (ggml.h's enum ggml_type). */
enum {
    OSTEL_GGML_TYPE_F32 = 0,
    OSTEL_GGML_TYPE_F16 = 1,
    OSTEL_GGML_TYPE_Q8_0 = 8,
    OSTEL_GGML_TYPE_Q4_K = 12,
    OSTEL_GGML_TYPE_Q6_K = 14,
    OSTEL_GGML_TYPE_COUNT = 43, /* GGML_TYPE_COUNT of the pinned ggml */
};

/* llama.cpp's llama_ftype values ostel writes (include/llama.h). */
enum {
    OSTEL_LLAMA_FTYPE_ALL_F32 = 0,
    OSTEL_LLAMA_FTYPE_MOSTLY_F16 = 1,
    OSTEL_LLAMA_FTYPE_MOSTLY_Q8_0 = 7,
    OSTEL_LLAMA_FTYPE_MOSTLY_Q4_K_M = 15,
    OSTEL_LLAMA_FTYPE_GUESSED = 1024,
};

struct ostel_ggml_type_info {
    const char *name;   /* ggml_type_name(): "f32", "q4_K", "iq2_xxs" */
    uint32_t blck_size; /* elements per block */
    uint32_t type_size; /* bytes per block */
    bool quantized;
};

/* The static entry of type id `type`, or NULL when the pinned ggml has no such (live) type. */
const struct ostel_ggml_type_info *ostel_ggml_type_get(uint32_t type);
/* ggml's name of a type ("q8_0"), or NULL when unknown. Static storage. */
const char *ostel_ggml_type_name(uint32_t type);
/* The type id whose ggml name is `name` (case-insensitive: "Q8_0" works), or -1. */
int ostel_ggml_type_from_name(const char *name);
/*
 * Bytes of a tensor of `type` with `nelements` elements whose first dimension is ne0: false when
 * the type is unknown, ne0 is not a multiple of its block size, or the size overflows 64 bits.
 */
bool ostel_ggml_tensor_bytes(uint32_t type, uint64_t ne0, uint64_t nelements, uint64_t *bytes);

/*
 * llama.cpp's name of a llama_ftype exactly as llama_ftype_name() prints it ("Q4_K - Medium",
 * "(guessed) F16", "unknown, may not work"). Static storage.
 */
const char *ostel_ggml_ftype_name(uint32_t ftype);
/*
 * The ftype llama.cpp guesses from the most common tensor type when general.file_type is absent
 * (the result has OSTEL_LLAMA_FTYPE_GUESSED set).
 */
uint32_t ostel_ggml_ftype_from_type(uint32_t type);

#endif
