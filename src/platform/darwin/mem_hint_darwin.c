/*
 * mem_hint_darwin: memory-placement hints for the macOS backend. macOS has no transparent huge
 * pages for ordinary anonymous memory, so the hint does nothing.
 */
#include "platform/platform.h"

void ostel_platform_hint_huge_pages(void *p, size_t len)
{
    (void)p;
    (void)len;
}
