/*
 * arena: a bump allocator for many small blocks that die together (a parsed summary.json's tree:
 * hundreds of nodes and strings a run). One malloc a block instead of one a node, and one free for
 * all of them: malloc and free were a fifth of a 10,000-run report.
 */
#ifndef OSTEL_ARENA_H
#define OSTEL_ARENA_H

#include <stddef.h>

struct ostel_arena_block;

struct ostel_arena {
    struct ostel_arena_block *head; /* the block being filled; older ones chained behind it */
    size_t block_bytes;             /* room of each new block */
};

/* An empty arena whose blocks hold block_bytes (0: 32 KiB); nothing is allocated until the first
 * ostel_arena_alloc. */
void ostel_arena_init(struct ostel_arena *a, size_t block_bytes);
/* n bytes aligned for any type, owned by the arena (valid until ostel_arena_free);
 * aborts when out of memory, as ostel_xmalloc. A request larger than a quarter of a block gets a
 * block of its own. */
void *ostel_arena_alloc(struct ostel_arena *a, size_t n);
/* Frees every block; the arena is empty (ostel_arena_alloc may be called again). */
void ostel_arena_free(struct ostel_arena *a);

#endif
