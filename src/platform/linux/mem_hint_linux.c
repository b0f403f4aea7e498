/*
 * mem_hint_linux: memory-placement hints (madvise) for the Linux backend.
 */
#include "platform/platform.h"

#include <sys/mman.h>

void ostel_platform_hint_huge_pages(void *p, size_t len)
{
#ifdef MADV_HUGEPAGE
    (void)madvise(p, len, MADV_HUGEPAGE);
#else
    (void)p;
    (void)len;
#endif
}
