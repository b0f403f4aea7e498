/*
 * memmodel_internal: what memmodel.c (the prediction), memmodel_shape.c (shapes from a GGUF or a
 * log) and memmodel_quant.c (llama.cpp's quantization recipe) share. Not for other modules.
 */
#ifndef OSTEL_MEMMODEL_INTERNAL_H
#define OSTEL_MEMMODEL_INTERNAL_H

#include "llama/memmodel.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define MIB (1024.0 * 1024.0)
#define MAX_LAYERS 65536u

/* ggml type ids the recipe and the repack rules name */
enum {
    T_Q4_0 = 2,
    T_Q5_0 = 6,
    T_Q5_1 = 7,
    T_Q8_0 = 8,
    T_Q2_K = 10,
    T_Q3_K = 11,
    T_Q4_K = 12,
    T_Q5_K = 13,
    T_Q6_K = 14,
    T_IQ4_NL = 20,
    T_BF16 = 30,
    T_MXFP4 = 39
};

static inline void copy_str(char *dst, size_t n, const char *src)
{
    snprintf(dst, n, "%s", src ? src : "");
}

/* llama.cpp's llama_ftype -> the default tensor type of llama-quant.cpp (0 = unknown, -1 = a
 * file type the recipe does not know). */
int ostel_memmodel_ftype_default_type(uint32_t ftype);
/* ftype of a log's "file type" text ("Q4_K - Medium"), by llama_ftype_name; -1 when unknown. */
int ostel_memmodel_ftype_from_name(const char *name);
/* Replaces s's tensor table by a llama-like one of its hparams, with the recipe of s->ftype over
 * the base type; tied: no output.weight. */
void ostel_memmodel_synth_table(struct ostel_memmodel_shape *s, uint32_t base, bool tied);
/* The sum of s's tensor bytes. */
uint64_t ostel_memmodel_table_bytes(const struct ostel_memmodel_shape *s);

#endif
