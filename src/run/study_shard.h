/*
 * study_shard: one study spread over many machines (docs/fleet.md). `ostel study --shard K/N` runs
 * the K-th of N disjoint slices of the matrix; K and N may come from a Slurm array
 * (SLURM_ARRAY_TASK_ID, _MIN, _STEP, _COUNT) or a Kubernetes Indexed Job (JOB_COMPLETION_INDEX with
 * --shards N). Nothing here prints or reads the environment itself.
 */
#ifndef OSTEL_STUDY_SHARD_H
#define OSTEL_STUDY_SHARD_H

#include <stdbool.h>
#include <stddef.h>

/* The most shards a study may be cut into. */
#define OSTEL_STUDY_MAX_SHARDS 100000

/*
 * Reads "K/N" (0 <= K < N <= OSTEL_STUDY_MAX_SHARDS). Returns 0, or OSTEL_ERR with the reason in
 * err.
 */
int ostel_study_shard_parse(const char *text, int *k, int *n, char *err, size_t err_size);

/* The environment variables ostel_study_shard_resolve looks at (NULL = unset); borrowed. */
struct ostel_study_shard_env {
    const char *slurm_id, *slurm_min, *slurm_step, *slurm_count; /* SLURM_ARRAY_TASK_* */
    const char *k8s_index;                                       /* JOB_COMPLETION_INDEX */
};

/*
 * Which shard this process runs. shard_opt: --shard's text or NULL; shards_opt: --shards N, 0 when
 * not given. Without either, a Slurm array task shards itself (K = (ID - MIN) / STEP, N = COUNT);
 * anything else runs the whole study (*n = 0). With --shards N the index comes from
 * JOB_COMPLETION_INDEX or the Slurm array. *source names where K/N came from ("--shard", "slurm",
 * "kubernetes"). Returns 0, or OSTEL_ERR with the reason in err (an index out of range, a count
 * that disagrees with the array's, a malformed number).
 */
int ostel_study_shard_resolve(const char *shard_opt, long shards_opt,
                              const struct ostel_study_shard_env *env, int *k, int *n,
                              const char **source, char *err, size_t err_size);

/*
 * Splits nruns runs over nshards shards, balanced by expected cost (longest first onto the least
 * loaded shard; ties by run index and then shard index, so every machine computes the same split).
 * out[i] receives run i's shard. Every run is in exactly one shard.
 */
void ostel_study_shard_assign(const double *cost, size_t nruns, int nshards, int *out);

struct ostel_study_spec;
struct ostel_study_run;

/*
 * This shard's runs of the plan: mine[i] is true for run i of shard k of n. A run's expected cost
 * is its model file's size × (generated tokens + 32 + ctx / 256) (load and prompt take about as
 * long as a few dozen generated tokens); the split depends only on the spec and the model files'
 * sizes, so every machine with the same files computes the same one. plan_hash identifies the split
 * (the same on every shard of the same study). Returns the number of this shard's runs.
 */
size_t ostel_study_shard_select(const struct ostel_study_spec *s,
                                const struct ostel_study_run *plan, size_t nplan, int k, int n,
                                bool *mine, char plan_hash[17]);

/*
 * What differs between two study definitions (canonical INI text), one "- line" / "+ line" per
 * changed line, for the message that refuses a second matrix under a study's name. Caller frees.
 */
char *ostel_study_definition_diff(const char *stored, const char *now);

#endif
