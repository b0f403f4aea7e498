/*
 * fuzz_procfs: feeds arbitrary bytes to every Linux /proc parser (procfs_parse.c). They must never
 * crash, hang or read outside the buffer, whatever the kernel — or an attacker — put in the file.
 * The corpus (tests/fuzz/corpus/procfs/) holds the real snapshots and hostile variants; a plain
 * build replays it in every test run.
 */
#include "platform/linux/procfs_parse.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* An exact-size copy, so ASan catches any read past the end. */
    char *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    if (size)
        memcpy(buf, data, size);
    char err[128];
    struct ostel_procfs_stat st;
    ostel_procfs_parse_stat(buf, size, &st, err, sizeof(err));
    struct ostel_procfs_status status;
    ostel_procfs_parse_status(buf, size, &status);
    struct ostel_procfs_statm statm;
    uint64_t rss_kib, anon_kib, file_kib;
    if (ostel_procfs_parse_statm(buf, size, &statm, err, sizeof(err)) == OSTEL_OK)
        ostel_procfs_statm_memory(&statm, 4096, &rss_kib, &anon_kib, &file_kib);
    struct ostel_procfs_loadavg la;
    ostel_procfs_parse_loadavg(buf, size, &la);
    struct ostel_procfs_meminfo mi;
    ostel_procfs_parse_meminfo(buf, size, &mi);
    struct ostel_procfs_vmstat vm;
    ostel_procfs_parse_vmstat(buf, size, &vm);
    struct ostel_procfs_psi psi;
    ostel_procfs_parse_psi(buf, size, &psi);
    pid_t pids[8];
    size_t n;
    bool more;
    ostel_procfs_parse_pids(buf, size, pids, 8, &n, &more, err, sizeof(err));
    char out[64];
    ostel_procfs_parse_cpu_model(buf, size, out, sizeof(out));
    ostel_procfs_parse_os_release(buf, size, out, sizeof(out));
    struct ostel_str v2, v1;
    ostel_procfs_parse_cgroup(buf, size, &v2, &v1);
    if (v2.p && (v2.p < buf || v2.p + v2.n > buf + size))
        abort();
    if (v1.p && (v1.p < buf || v1.p + v1.n > buf + size))
        abort();
    uint64_t v;
    ostel_procfs_find_u64(buf, size, "oom_kill", &v);
    /* A NUL-terminated prefix as a /proc directory name. */
    char name[20];
    size_t k = size < sizeof(name) - 1 ? size : sizeof(name) - 1;
    memcpy(name, buf, k);
    name[k] = '\0';
    pid_t pid;
    ostel_procfs_parse_pid_name(name, &pid);
    free(buf);
    return 0;
}
