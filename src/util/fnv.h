/*
 * fnv: FNV-1a 64-bit, the one implementation, with the offset basis as a parameter because ostel
 * stores hashes made with two bases and both must keep their values.
 */
#ifndef OSTEL_FNV_H
#define OSTEL_FNV_H

#include <stddef.h>
#include <stdint.h>

/* FNV-1a 64's published offset basis, 14695981039346656037: the store's definition and facts
 * hashes (store/store_rundir.c). */
#define OSTEL_FNV1A64_BASIS 0xcbf29ce484222325ull
/*
 * 1469598103934665603: the real basis with its last digit lost, used by the study's hashes (run
 * resume keys, generated study names, plan and quality text hashes) since the first release. It is
 * wrong but stable, and databases hold hashes made with it (resume matches on them), so it keeps
 * its value under this name. Not for new hashes.
 */
#define OSTEL_SPEC_HASH_BASIS_LEGACY 1469598103934665603ull

/* FNV-1a 64 of len bytes starting from basis. */
uint64_t ostel_fnv1a64(const void *data, size_t len, uint64_t basis);
/* The same as 16 lowercase hex digits into out[17]. */
void ostel_fnv1a64_hex(const void *data, size_t len, uint64_t basis, char out[17]);

#endif
