/*
 * study_shard: which slice of a study's matrix this process runs (see study_shard.h).
 */
#include "run/study_shard.h"
#include "run/study.h"
#include "util/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* A whole non-negative decimal number of at most 9 digits; -1 otherwise. */
static long parse_count(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 9 || strspn(s, "0123456789") != n)
        return -1;
    return strtol(s, NULL, 10);
}

int ostel_study_shard_parse(const char *text, int *k, int *n, char *err, size_t err_size)
{
    const char *slash = text ? strchr(text, '/') : NULL;
    if (!slash) {
        snprintf(err, err_size, "--shard '%s': want K/N (e.g. 0/4)", text ? text : "");
        return OSTEL_ERR;
    }
    char a[16];
    size_t alen = (size_t)(slash - text);
    long kv = -1, nv = parse_count(slash + 1);
    if (alen > 0 && alen < sizeof(a)) {
        memcpy(a, text, alen);
        a[alen] = '\0';
        kv = parse_count(a);
    }
    if (kv < 0 || nv < 0) {
        snprintf(err, err_size, "--shard '%s': want K/N with whole numbers (e.g. 0/4)", text);
        return OSTEL_ERR;
    }
    if (nv < 1 || nv > OSTEL_STUDY_MAX_SHARDS) {
        snprintf(err, err_size, "--shard '%s': N must be 1 to %d", text, OSTEL_STUDY_MAX_SHARDS);
        return OSTEL_ERR;
    }
    if (kv >= nv) {
        snprintf(err, err_size, "--shard '%s': shard index %ld is outside 0..%ld", text, kv,
                 nv - 1);
        return OSTEL_ERR;
    }
    *k = (int)kv;
    *n = (int)nv;
    return 0;
}

/* K and N of a Slurm array task; 0 = not in an array, OSTEL_ERR (err set). */
static int from_slurm(const struct ostel_study_shard_env *e, long *k, long *n, char *err,
                      size_t err_size)
{
    if (!e->slurm_id)
        return 0;
    long id = parse_count(e->slurm_id);
    long min = e->slurm_min ? parse_count(e->slurm_min) : 0;
    long step = e->slurm_step ? parse_count(e->slurm_step) : 1;
    long count = e->slurm_count ? parse_count(e->slurm_count) : -2;
    if (id < 0 || min < 0 || step < 1 || count == -1) {
        snprintf(err, err_size, "SLURM_ARRAY_TASK_ID/_MIN/_STEP/_COUNT are not whole numbers");
        return OSTEL_ERR;
    }
    if (id < min || (id - min) % step != 0) {
        snprintf(err, err_size,
                 "SLURM_ARRAY_TASK_ID %ld is not MIN %ld plus a multiple of STEP %ld (use a "
                 "plain --array=0-N or A-B:STEP range)",
                 id, min, step);
        return OSTEL_ERR;
    }
    *k = (id - min) / step;
    *n = count;
    return 1;
}

int ostel_study_shard_resolve(const char *shard_opt, long shards_opt,
                              const struct ostel_study_shard_env *env, int *k, int *n,
                              const char **source, char *err, size_t err_size)
{
    *k = 0;
    *n = 0;
    *source = NULL;
    if (shard_opt) {
        if (ostel_study_shard_parse(shard_opt, k, n, err, err_size) != 0)
            return OSTEL_ERR;
        if (shards_opt > 0 && shards_opt != *n) {
            snprintf(err, err_size, "--shard %s and --shards %ld disagree", shard_opt, shards_opt);
            return OSTEL_ERR;
        }
        *source = "--shard";
        return 0;
    }
    if (shards_opt < 0 || shards_opt > OSTEL_STUDY_MAX_SHARDS) {
        snprintf(err, err_size, "--shards must be 1 to %d", OSTEL_STUDY_MAX_SHARDS);
        return OSTEL_ERR;
    }
    long sk = 0, sn = 0;
    int slurm = from_slurm(env, &sk, &sn, err, err_size);
    if (slurm < 0)
        return OSTEL_ERR;
    if (shards_opt == 0) {
        if (slurm == 0 || sn < 0) /* not an array task, or the count is unknown */
            return 0;
        shards_opt = sn;
    }
    long idx;
    if (env->k8s_index) {
        idx = parse_count(env->k8s_index);
        if (idx < 0) {
            snprintf(err, err_size, "JOB_COMPLETION_INDEX '%s' is not a whole number",
                     env->k8s_index);
            return OSTEL_ERR;
        }
        *source = "kubernetes";
    } else if (slurm == 1) {
        if (sn > 0 && sn != shards_opt) {
            snprintf(err, err_size,
                     "--shards %ld but the Slurm array has %ld tasks (SLURM_ARRAY_TASK_COUNT)",
                     shards_opt, sn);
            return OSTEL_ERR;
        }
        idx = sk;
        *source = "slurm";
    } else {
        snprintf(err, err_size,
                 "--shards %ld: which shard is this? give --shard K/N, or run in a Slurm array "
                 "or a Kubernetes Indexed Job",
                 shards_opt);
        return OSTEL_ERR;
    }
    if (idx >= shards_opt) {
        snprintf(err, err_size, "shard index %ld (%s) is outside 0..%ld", idx, *source,
                 shards_opt - 1);
        return OSTEL_ERR;
    }
    *k = (int)idx;
    *n = (int)shards_opt;
    return 0;
}

struct order {
    double cost;
    size_t i;
};

static int by_cost_desc(const void *a, const void *b)
{
    const struct order *x = a, *y = b;
    if (x->cost != y->cost)
        return x->cost > y->cost ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

void ostel_study_shard_assign(const double *cost, size_t nruns, int nshards, int *out)
{
    OSTEL_ASSERT(nshards >= 1);
    struct order *o = ostel_xcalloc(nruns ? nruns : 1, sizeof(*o));
    for (size_t i = 0; i < nruns; i++) {
        o[i].cost = cost[i] > 0 ? cost[i] : 0;
        o[i].i = i;
    }
    qsort(o, nruns, sizeof(*o), by_cost_desc);
    double *load = ostel_xcalloc((size_t)nshards, sizeof(*load));
    for (size_t j = 0; j < nruns; j++) {
        int best = 0;
        for (int s = 1; s < nshards; s++)
            if (load[s] < load[best])
                best = s;
        out[o[j].i] = best;
        load[best] += o[j].cost;
    }
    free(load);
    free(o);
}

size_t ostel_study_shard_select(const struct ostel_study_spec *s,
                                const struct ostel_study_run *plan, size_t nplan, int k, int n,
                                bool *mine, char plan_hash[17])
{
    double *cost = ostel_xcalloc(nplan ? nplan : 1, sizeof(*cost));
    int *shard = ostel_xcalloc(nplan ? nplan : 1, sizeof(*shard));
    double *size = ostel_xcalloc(s->models.n ? s->models.n : 1, sizeof(*size));
    for (size_t m = 0; m < s->models.n; m++) {
        struct stat st;
        size[m] = stat(s->models.v[m], &st) == 0 && st.st_size > 0 ? (double)st.st_size : 1.0;
    }
    for (size_t i = 0; i < nplan; i++)
        cost[i] = size[plan[i].model] * ((double)plan[i].gen + 32.0 + (double)plan[i].ctx / 256.0);
    ostel_study_shard_assign(cost, nplan, n, shard);
    struct ostel_buf b;
    ostel_buf_init(&b, 0);
    size_t mine_n = 0;
    for (size_t i = 0; i < nplan; i++) {
        mine[i] = shard[i] == k;
        mine_n += mine[i];
        ostel_buf_printf(&b, "%s=%d\n", plan[i].hash, shard[i]);
    }
    ostel_study_hash_hex(b.data ? b.data : "", b.len, plan_hash);
    ostel_buf_free(&b);
    free(size);
    free(shard);
    free(cost);
    return mine_n;
}

/* true when line (len n) is one of text's lines. */
static bool has_line(const char *text, const char *line, size_t n)
{
    struct ostel_str rest = ostel_str_from_cstr(text), l;
    while (ostel_str_next_line(&rest, &l))
        if (l.n == n && memcmp(l.p, line, n) == 0)
            return true;
    return false;
}

static void diff_side(struct ostel_buf *b, const char *from, const char *other, char mark)
{
    struct ostel_str rest = ostel_str_from_cstr(from), l;
    while (ostel_str_next_line(&rest, &l))
        if (l.n && !has_line(other, l.p, l.n))
            ostel_buf_printf(b, "%s%c %.*s", b->len ? "; " : "", mark, (int)l.n, l.p);
}

char *ostel_study_definition_diff(const char *stored, const char *now)
{
    struct ostel_buf b;
    ostel_buf_init(&b, 8192);
    diff_side(&b, stored, now, '-');
    diff_side(&b, now, stored, '+');
    if (!b.len)
        ostel_buf_puts(&b, "(only in formatting)");
    return ostel_buf_detach(&b);
}
