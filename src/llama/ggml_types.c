/*
 * ggml_types: the pinned ggml's type_traits (block size, type size) and llama.cpp's ftype names.
 * Block sizes were taken from ggml/src/ggml.c's type_traits[] and the sizeof() of each block struct
 * in ggml/src/ggml-common.h of the pinned source (compiled and printed, not counted by hand).
 */
#include "llama/ggml_types.h"

#include "util/util.h"

#include <stddef.h>
#include <string.h>
#include <strings.h>

#define QK_K 256

static const struct ostel_ggml_type_info type_table[OSTEL_GGML_TYPE_COUNT] = {
    [0] = {"f32", 1, 4, false},         [1] = {"f16", 1, 2, false},
    [2] = {"q4_0", 32, 18, true},       [3] = {"q4_1", 32, 20, true},
    [6] = {"q5_0", 32, 22, true},       [7] = {"q5_1", 32, 24, true},
    [8] = {"q8_0", 32, 34, true},       [9] = {"q8_1", 32, 36, true},
    [10] = {"q2_K", QK_K, 84, true},    [11] = {"q3_K", QK_K, 110, true},
    [12] = {"q4_K", QK_K, 144, true},   [13] = {"q5_K", QK_K, 176, true},
    [14] = {"q6_K", QK_K, 210, true},   [15] = {"q8_K", QK_K, 292, true},
    [16] = {"iq2_xxs", QK_K, 66, true}, [17] = {"iq2_xs", QK_K, 74, true},
    [18] = {"iq3_xxs", QK_K, 98, true}, [19] = {"iq1_s", QK_K, 50, true},
    [20] = {"iq4_nl", 32, 18, true},    [21] = {"iq3_s", QK_K, 110, true},
    [22] = {"iq2_s", QK_K, 82, true},   [23] = {"iq4_xs", QK_K, 136, true},
    [24] = {"i8", 1, 1, false},         [25] = {"i16", 1, 2, false},
    [26] = {"i32", 1, 4, false},        [27] = {"i64", 1, 8, false},
    [28] = {"f64", 1, 8, false},        [29] = {"iq1_m", QK_K, 56, true},
    [30] = {"bf16", 1, 2, false},       [34] = {"tq1_0", QK_K, 54, true},
    [35] = {"tq2_0", QK_K, 66, true},   [39] = {"mxfp4", 32, 17, true},
    [40] = {"nvfp4", 64, 36, true},     [41] = {"q1_0", 128, 18, true},
    [42] = {"q2_0", 64, 18, true},
};

const struct ostel_ggml_type_info *ostel_ggml_type_get(uint32_t type)
{
    if (type >= OSTEL_GGML_TYPE_COUNT || type_table[type].name == NULL)
        return NULL;
    return &type_table[type];
}

const char *ostel_ggml_type_name(uint32_t type)
{
    const struct ostel_ggml_type_info *t = ostel_ggml_type_get(type);
    return t ? t->name : NULL;
}

int ostel_ggml_type_from_name(const char *name)
{
    for (uint32_t i = 0; i < OSTEL_GGML_TYPE_COUNT; i++)
        if (type_table[i].name && strcasecmp(type_table[i].name, name) == 0)
            return (int)i;
    return -1;
}

bool ostel_ggml_tensor_bytes(uint32_t type, uint64_t ne0, uint64_t nelements, uint64_t *bytes)
{
    const struct ostel_ggml_type_info *t = ostel_ggml_type_get(type);
    if (!t || ne0 % t->blck_size != 0)
        return false;
    uint64_t blocks = nelements / t->blck_size;
    uint64_t b;
    if (!ostel_mul_u64(blocks, t->type_size, &b))
        return false;
    *bytes = b;
    return true;
}

/* llama_ftype_name() of src/llama-model-loader.cpp, without the "(guessed) " prefix. */
static const char *ftype_base_name(uint32_t ftype)
{
    switch (ftype) {
    case 0:
        return "all F32";
    case 1:
        return "F16";
    case 2:
        return "Q4_0";
    case 3:
        return "Q4_1";
    case 7:
        return "Q8_0";
    case 8:
        return "Q5_0";
    case 9:
        return "Q5_1";
    case 10:
        return "Q2_K - Medium";
    case 11:
        return "Q3_K - Small";
    case 12:
        return "Q3_K - Medium";
    case 13:
        return "Q3_K - Large";
    case 14:
        return "Q4_K - Small";
    case 15:
        return "Q4_K - Medium";
    case 16:
        return "Q5_K - Small";
    case 17:
        return "Q5_K - Medium";
    case 18:
        return "Q6_K";
    case 19:
        return "IQ2_XXS - 2.0625 bpw";
    case 20:
        return "IQ2_XS - 2.3125 bpw";
    case 21:
        return "Q2_K - Small";
    case 22:
        return "IQ3_XS - 3.3 bpw";
    case 23:
        return "IQ3_XXS - 3.0625 bpw";
    case 24:
        return "IQ1_S - 1.5625 bpw";
    case 25:
        return "IQ4_NL - 4.5 bpw";
    case 26:
        return "IQ3_S - 3.4375 bpw";
    case 27:
        return "IQ3_S mix - 3.66 bpw";
    case 28:
        return "IQ2_S - 2.5 bpw";
    case 29:
        return "IQ2_M - 2.7 bpw";
    case 30:
        return "IQ4_XS - 4.25 bpw";
    case 31:
        return "IQ1_M - 1.75 bpw";
    case 32:
        return "BF16";
    case 36:
        return "TQ1_0 - 1.69 bpw ternary";
    case 37:
        return "TQ2_0 - 2.06 bpw ternary";
    case 38:
        return "MXFP4 MoE";
    case 39:
        return "NVFP4";
    case 40:
        return "Q1_0";
    case 41:
        return "Q2_0";
    default:
        return "unknown, may not work";
    }
}

const char *ostel_ggml_ftype_name(uint32_t ftype)
{
    /* Two tables of the same strings would drift; the guessed form is built from a fixed list. */
    static const char *const guessed[] = {
        "(guessed) all F32",
        "(guessed) F16",
        "(guessed) Q4_0",
        "(guessed) Q4_1",
        "(guessed) Q8_0",
        "(guessed) Q5_0",
        "(guessed) Q5_1",
        "(guessed) Q2_K - Medium",
        "(guessed) Q3_K - Small",
        "(guessed) Q3_K - Medium",
        "(guessed) Q3_K - Large",
        "(guessed) Q4_K - Small",
        "(guessed) Q4_K - Medium",
        "(guessed) Q5_K - Small",
        "(guessed) Q5_K - Medium",
        "(guessed) Q6_K",
        "(guessed) IQ2_XXS - 2.0625 bpw",
        "(guessed) IQ2_XS - 2.3125 bpw",
        "(guessed) Q2_K - Small",
        "(guessed) IQ3_XS - 3.3 bpw",
        "(guessed) IQ3_XXS - 3.0625 bpw",
        "(guessed) IQ1_S - 1.5625 bpw",
        "(guessed) IQ4_NL - 4.5 bpw",
        "(guessed) IQ3_S - 3.4375 bpw",
        "(guessed) IQ3_S mix - 3.66 bpw",
        "(guessed) IQ2_S - 2.5 bpw",
        "(guessed) IQ2_M - 2.7 bpw",
        "(guessed) IQ4_XS - 4.25 bpw",
        "(guessed) IQ1_M - 1.75 bpw",
        "(guessed) BF16",
        "(guessed) TQ1_0 - 1.69 bpw ternary",
        "(guessed) TQ2_0 - 2.06 bpw ternary",
        "(guessed) MXFP4 MoE",
        "(guessed) NVFP4",
        "(guessed) Q1_0",
        "(guessed) Q2_0",
        "(guessed) unknown, may not work",
    };
    const char *base = ftype_base_name(ftype & ~(uint32_t)OSTEL_LLAMA_FTYPE_GUESSED);
    if (!(ftype & OSTEL_LLAMA_FTYPE_GUESSED))
        return base;
    for (size_t i = 0; i < sizeof(guessed) / sizeof(guessed[0]); i++)
        if (strcmp(guessed[i] + 10, base) == 0)
            return guessed[i];
    return "(guessed) unknown, may not work";
}

uint32_t ostel_ggml_ftype_from_type(uint32_t type)
{
    uint32_t f;
    switch (type) {
    case 0:
        f = 0;
        break;
    case 1:
        f = 1;
        break;
    case 30:
        f = 32;
        break;
    case 2:
        f = 2;
        break;
    case 3:
        f = 3;
        break;
    case 6:
        f = 8;
        break;
    case 7:
        f = 9;
        break;
    case 8:
        f = 7;
        break;
    case 10:
        f = 10;
        break;
    case 11:
        f = 12;
        break;
    case 12:
        f = 15;
        break;
    case 13:
        f = 17;
        break;
    case 14:
        f = 18;
        break;
    case 34:
        f = 36;
        break;
    case 35:
        f = 37;
        break;
    case 16:
        f = 19;
        break;
    case 17:
        f = 20;
        break;
    case 22:
        f = 28;
        break;
    case 18:
        f = 23;
        break;
    case 19:
        f = 24;
        break;
    case 29:
        f = 31;
        break;
    case 20:
        f = 25;
        break;
    case 23:
        f = 30;
        break;
    case 21:
        f = 26;
        break;
    case 40:
        f = 39;
        break;
    case 41:
        f = 40;
        break;
    case 42:
        f = 41;
        break;
    default:
        f = 0;
        break; /* llama.cpp warns "unknown type" and says all F32 */
    }
    return f | OSTEL_LLAMA_FTYPE_GUESSED;
}
