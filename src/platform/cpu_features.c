/*
 * cpu_features: the host CPU's vector features, for the memory model's repack rules (which weights
 * ggml-cpu copies into a CPU_REPACK buffer). Compiled on every platform; the instruction-set
 * checks are per architecture, not per OS: x86-64 reads CPUID and XCR0, aarch64 assumes dotprod,
 * anything else reports nothing.
 */
#include "platform/platform.h"

#include <stdbool.h>
#include <stdint.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#endif

/*
 * CPUID and XCR0 directly rather than __builtin_cpu_supports, whose __cpu_model lives in the
 * compiler's runtime (zig's, used for the macOS cross-build, has none). Same rule as compiler-rt's
 * cpu_model.c: a feature counts when the CPU has it and the OS saves its registers (XCR0); macOS
 * saves the AVX-512 state lazily on first use, so there the CPU's bit is enough for AVX-512.
 */
uint32_t ostel_platform_cpu_features(void)
{
    uint32_t f = 0;
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_OSXSAVE) || __get_cpuid_max(0, NULL) < 7)
        return 0;
    unsigned xcr0_lo, xcr0_hi;
    __asm__ volatile("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
    bool ymm = (xcr0_lo & 0x6) == 0x6;
#if defined(__APPLE__)
    bool zmm = ymm;
#else
    bool zmm = ymm && (xcr0_lo & 0xe0) == 0xe0;
#endif
    __cpuid_count(7, 0, a, b, c, d);
    if (ymm && (b & bit_AVX2))
        f |= OSTEL_PLATFORM_CPU_AVX2;
    if (zmm && (b & bit_AVX512F))
        f |= OSTEL_PLATFORM_CPU_AVX512;
#elif defined(__aarch64__)
    f |= OSTEL_PLATFORM_CPU_NEON_DOTPROD; /* every Apple Silicon and recent ARM server */
#endif
    return f;
}
