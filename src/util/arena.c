/*
 * arena: a bump allocator (see arena.h).
 */
#include "util/arena.h"

#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>

#include "util/util.h"

#define ARENA_DEFAULT_BYTES (32u << 10)
#define ARENA_ALIGN alignof(max_align_t)

struct ostel_arena_block {
    struct ostel_arena_block *next; /* the block filled before this one */
    size_t used, cap;               /* bytes of data[] */
    alignas(max_align_t) unsigned char data[];
};

void ostel_arena_init(struct ostel_arena *a, size_t block_bytes)
{
    a->head = NULL;
    a->block_bytes = block_bytes ? block_bytes : ARENA_DEFAULT_BYTES;
}

static struct ostel_arena_block *block_new(size_t cap, struct ostel_arena_block *next)
{
    struct ostel_arena_block *b = ostel_xmalloc(sizeof(*b) + cap);
    b->next = next;
    b->used = 0;
    b->cap = cap;
    return b;
}

void *ostel_arena_alloc(struct ostel_arena *a, size_t n)
{
    OSTEL_ASSERT(n <= SIZE_MAX - ARENA_ALIGN);
    size_t need = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    if (need == 0)
        need = ARENA_ALIGN;
    struct ostel_arena_block *b = a->head;
    if (b && b->cap - b->used >= need) {
        void *p = b->data + b->used;
        b->used += need;
        return p;
    }
    if (need > a->block_bytes / 4) {
        /* a block of its own, behind the one being filled so that its room is not lost */
        struct ostel_arena_block *big = block_new(need, b ? b->next : NULL);
        big->used = need;
        if (b)
            b->next = big;
        else
            a->head = big;
        return big->data;
    }
    a->head = b = block_new(a->block_bytes, b);
    b->used = need;
    return b->data;
}

void ostel_arena_free(struct ostel_arena *a)
{
    for (struct ostel_arena_block *b = a->head, *next; b; b = next) {
        next = b->next;
        free(b);
    }
    a->head = NULL;
}
