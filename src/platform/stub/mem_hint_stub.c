/*
 * mem_hint_stub: memory-placement hints of the stub backend: none.
 */
#include "platform/platform.h"

void ostel_platform_hint_huge_pages(void *p, size_t len)
{
    (void)p;
    (void)len;
}
