/*
 * gpu_internal: the backend seam. A backend fills an ostel_gpu's ops and state in its open
 * function; gpu.c dispatches. ROCm SMI and IOReport would add one open function each (docs/gpu.md).
 */
#ifndef OSTEL_GPU_INTERNAL_H
#define OSTEL_GPU_INTERNAL_H

#include "gpu/gpu.h"

struct ostel_gpu_ops {
    const char *name;
    bool (*read)(struct ostel_gpu *g, unsigned i, bool with_procs, struct ostel_gpu_reading *out);
    void (*close)(struct ostel_gpu *g);
};

struct ostel_gpu {
    const struct ostel_gpu_ops *ops;
    void *impl; /* the backend's own state, freed by ops->close */
    unsigned n;
    struct ostel_gpu_info info[OSTEL_GPU_MAX_DEVICES];
    struct ostel_gpu_caps caps;
    char library[256];
    char driver[96];
};

/* Opens NVML into g (ops, impl, n, info, caps, library, driver). On failure returns false with one
 * line in why and leaves g as it found it. gpu_nvml.c. */
bool ostel_gpu_nvml_open(struct ostel_gpu *g, char *why, size_t why_size);

#endif
