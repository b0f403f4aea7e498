/*
 * study_spec: the study definition — keys, the INI file (util/ini), defaults, canonical text and
 * hash, and the run matrix in its interleaved order (see study.h and docs/study.md).
 */
#include "run/study.h"

#include "run/hog.h"
#include "util/fileio.h"
#include "util/fnv.h"
#include "util/ini.h"
#include "util/names.h"
#include "util/opt.h"
#include "util/optval.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

void ostel_study_spec_init(struct ostel_study_spec *s)
{
    memset(s, 0, sizeof(*s));
    s->repetitions = 3;
    s->warmup = true;
    s->cooldown_max_ns = 30ull * 1000000000ull;
    s->timeout_ns = 30ull * 60 * 1000000000ull;
    s->interval_ns = 100000000ull;
    s->seed = 42;
    s->serve_requests = 32;
    s->serve_warmup = 2;
    s->serve_timeout_ns = 600ull * 1000000000ull;
}

void ostel_study_spec_free(struct ostel_study_spec *s)
{
    free(s->name);
    ostel_strlist_free(&s->models);
    ostel_strlist_free(&s->tags);
    ostel_strlist_free(&s->ctxs);
    ostel_strlist_free(&s->gens);
    ostel_strlist_free(&s->scenarios);
    ostel_strlist_free(&s->llama_args);
    free(s->tool);
    free(s->prompt);
    free(s->prompt_file);
    free(s->dir);
    free(s->db);
    free(s->llama_bin);
    free(s->quality_base);
    free(s->quality_text);
    free(s->serve_concurrency);
    free(s->serve_rate);
    free(s->serve_arrivals);
    free(s->serve_prompt_tokens);
    free(s->serve_output_tokens);
    free(s->serve_slo);
    memset(s, 0, sizeof(*s));
}

static void set_str(char **dst, const char *v)
{
    free(*dst);
    *dst = ostel_xstrdup(v);
}

static bool numbers_ok(const struct ostel_strlist *l, int64_t min, int64_t max)
{
    for (size_t i = 0; i < l->n; i++) {
        int64_t v;
        if (!ostel_parse_i64(l->v[i], min, max, &v))
            return false;
    }
    return true;
}

/* A scenario is "none", a hog spec, or "cmd:" with a program. */
static int check_scenario(const char *sc, char *err, size_t err_size)
{
    if (strcmp(sc, "none") == 0)
        return 0;
    if (strncmp(sc, "cmd:", 4) == 0) {
        const char *p = sc + 4;
        while (*p == ' ')
            p++;
        if (!*p) {
            snprintf(err, err_size, "scenario '%s' names no program", sc);
            return OSTEL_ERR;
        }
        return 0;
    }
    struct ostel_hog_spec h;
    char herr[160];
    if (ostel_hog_parse_spec(sc, &h, herr, sizeof(herr)) != 0) {
        snprintf(err, err_size,
                 "scenario '%s': %s (want none, mem:SIZE, mem:PCT%%, "
                 "mem:PCT%%avail, mem:avail-SIZE, cpu:N, or cmd:PROGRAM ARGS)",
                 sc, herr);
        return OSTEL_ERR;
    }
    return 0;
}

/* The scenario list: a cmd: entry (which may hold commas) ends it; '+' joins a hog's kinds. */
static int set_scenarios(struct ostel_strlist *out, const char *value, bool *empty_cell, char *err,
                         size_t err_size)
{
    ostel_strlist_free(out);
    const char *cmd = strstr(value, "cmd:");
    char *head = ostel_xstrndup(value, cmd ? (size_t)(cmd - value) : strlen(value));
    char *h = head + strlen(head);
    while (h > head && (h[-1] == ' ' || h[-1] == ','))
        *--h = '\0';
    struct ostel_strlist l = {0};
    if (*head && !ostel_strlist_split(&l, head)) {
        free(head);
        *empty_cell = true;
        return OSTEL_ERR;
    }
    free(head);
    /* a hog spec may combine kinds with commas ("mem:4G,cpu:1") only inside one entry written
     * with '+': "mem:4G+cpu:1" */
    for (size_t i = 0; i < l.n; i++) {
        for (char *p = l.v[i]; *p; p++)
            if (*p == '+')
                *p = ',';
        ostel_strlist_push(out, l.v[i]);
    }
    ostel_strlist_free(&l);
    if (cmd)
        ostel_strlist_push(out, cmd);
    for (size_t i = 0; i < out->n; i++)
        if (check_scenario(out->v[i], err, err_size) != 0)
            return OSTEL_ERR;
    return 0;
}

/* true/yes/1/on or false/no/0/off into *out; false (and *out untouched) for anything else. */
static bool parse_bool(const char *v, bool *out)
{
    static const char *const yes[] = {"true", "yes", "1", "on"};
    static const char *const no[] = {"false", "no", "0", "off"};
    for (size_t i = 0; i < OSTEL_ARRAY_LEN(yes); i++)
        if (strcmp(v, yes[i]) == 0 || strcmp(v, no[i]) == 0) {
            *out = strcmp(v, yes[i]) == 0;
            return true;
        }
    return false;
}

#define F(field) offsetof(struct ostel_study_spec, field)
#define SEC 1000000000ll
#define MS 1000000ll

/*
 * Every key of a study, in the order of the canonical text (curl's habit: the table is the one
 * source of the study file's keys, ostel study's options and their --help, and the canonical
 * writer). Changing the order, a key's name or a canonical format changes every study's hash.
 */
static const struct ostel_study_key study_keys[] = {
    {"name", NULL, "name", 0, OSTEL_STUDY_STR, F(name), "NAME", NULL, "the study's name", 0, 0, 0,
     NULL, OSTEL_STUDY_CANON_IF_SET, NULL, 0},
    {"models", "model", "models", 'm', OSTEL_STUDY_LIST, F(models), "LIST", NULL,
     "GGUF models, comma-separated", 0, 0, 0, NULL, OSTEL_STUDY_CANON_ALWAYS, NULL, 0},
    {"tags", "tag", "tags", 't', OSTEL_STUDY_LIST, F(tags), "LIST", NULL,
     "one label per model (default: file names)", 0, 0, 0, NULL, OSTEL_STUDY_CANON_ALWAYS, NULL, 0},
    {"ctx", "contexts", "ctx", 'c', OSTEL_STUDY_COUNTS, F(ctxs), "LIST", NULL,
     "context sizes, comma-separated (default 4096)", 1, 1 << 24, 0, "a list of token counts",
     OSTEL_STUDY_CANON_ALWAYS, NULL, 0},
    {"gen", "n_predict", "gen", 'n', OSTEL_STUDY_COUNTS, F(gens), "LIST", NULL,
     "tokens to generate, comma-separated (default 256)", 1, 1 << 24, 0, "a list of token counts",
     OSTEL_STUDY_CANON_NOT_SERVE, NULL, 0},
    {"scenarios", "scenario", "scenario", 0, OSTEL_STUDY_SCENARIOS, F(scenarios), "LIST", NULL,
     "background: none, mem:SIZE|PCT%|PCT%avail|avail-SIZE, cpu:N (join with +), cmd:PROG ARGS", 0,
     0, 0, NULL, OSTEL_STUDY_CANON_ALWAYS, NULL, 0},
    {"repetitions", "reps", "repetitions", 'r', OSTEL_STUDY_INT, F(repetitions), "N", NULL,
     "measured runs of each combination (default 3)", 1, 10000, 0, "a number from 1 to 10000",
     OSTEL_STUDY_CANON_ALWAYS, NULL, 0},
    /* no option: --no-warmup is cmd_study's flag */
    {"warmup", NULL, NULL, 0, OSTEL_STUDY_BOOL, F(warmup), NULL, NULL, NULL, 0, 0, 0,
     "true or false", OSTEL_STUDY_CANON_ALWAYS, NULL, 0},
    {"cooldown", NULL, "cooldown", 0, OSTEL_STUDY_COOLDOWN, F(cooldown_ns), "auto|DUR", NULL,
     "pause between runs: auto (until memory is back, default) or a fixed time", 0, 0, SEC,
     "'auto' or a duration (5s, 1m)", OSTEL_STUDY_CANON_ALWAYS, NULL, 0},
    {"cooldown_max", NULL, "cooldown-max", 0, OSTEL_STUDY_DURATION, F(cooldown_max_ns), "DUR", NULL,
     "longest adaptive cool-down (default 30s)", 0, 0, SEC, "a duration", OSTEL_STUDY_CANON_ALWAYS,
     NULL, 0},
    {"timeout", NULL, "timeout", 0, OSTEL_STUDY_DURATION, F(timeout_ns), "DUR", NULL,
     "per-run time limit (default 30m)", 1, 0, SEC, "a positive duration", OSTEL_STUDY_CANON_ALWAYS,
     NULL, 0},
    {"interval", NULL, "interval", 0, OSTEL_STUDY_DURATION, F(interval_ns), "DUR", "OSTEL_INTERVAL",
     "sampling interval (default 100ms)", MS, 3600 * SEC, MS, "a duration from 1ms to 1h",
     OSTEL_STUDY_CANON_ALWAYS, NULL, 0},
    {"hog_cycle", NULL, "hog-cycle", 0, OSTEL_STUDY_DURATION, F(hog_cycle_ns), "DUR", NULL,
     "memory scenarios re-write every page once per DUR (default 5s; longer = less CPU)", 100 * MS,
     0, SEC, "a duration of at least 100ms", OSTEL_STUDY_CANON_IF_SET, NULL, 0},
    /* GPU telemetry (docs/gpu.md): written only when set, so specs without it keep their hash */
    {"gpu_interval", NULL, "gpu-interval", 0, OSTEL_STUDY_DURATION_OFF, F(gpu_interval_ns), "DUR",
     "OSTEL_GPU_INTERVAL", "GPU sampling interval (NVML; default 100ms), or off", 10 * MS,
     3600 * SEC, MS, "a duration from 10ms to 1h, or off", OSTEL_STUDY_CANON_IF_SET, NULL, 0},
    {"tool", NULL, "tool", 0, OSTEL_STUDY_TOOL, F(tool), "NAME", NULL,
     "llama-completion (default) or llama-cli", 0, 0, 0, "llama-completion or llama-cli",
     OSTEL_STUDY_CANON_NOT_SERVE, "llama-completion", 0},
    {"seed", NULL, "seed", 0, OSTEL_STUDY_INT, F(seed), "N", NULL,
     "llama.cpp sampling seed (default 42)", 0, UINT32_MAX, 0, "a number from 0 to 4294967295",
     OSTEL_STUDY_CANON_ALWAYS, NULL, 0},
    {"prompt", NULL, "prompt", 0, OSTEL_STUDY_STR, F(prompt), "TEXT", NULL,
     "prompt text (default: ostel's fixed paragraph)", 0, 0, 0, NULL, OSTEL_STUDY_CANON_IF_SET,
     NULL, 0},
    {"prompt_file", NULL, "prompt-file", 0, OSTEL_STUDY_STR, F(prompt_file), "FILE", NULL,
     "read the prompt from FILE", 0, 0, 0, NULL, OSTEL_STUDY_CANON_IF_SET, NULL, 0},
    /* no option: the arguments after "--" (cmd_study) */
    {"llama_args", NULL, NULL, 0, OSTEL_STUDY_ARGS, F(llama_args), NULL, NULL, NULL, 0, 0, 0, NULL,
     OSTEL_STUDY_CANON_ALWAYS, NULL, 0},
    /* the quality passes (docs/quality.md, src/quality/quality_study.c): written only when on */
    {"quality", NULL, "quality", 0, OSTEL_STUDY_ONOFF, F(quality), NULL, NULL,
     "after the runs, KL divergence of each model against a base (docs/quality.md)", 0, 0, 0,
     "on or off", OSTEL_STUDY_CANON_QUALITY, NULL, 0},
    {"quality_base", NULL, "quality-base", 0, OSTEL_STUDY_STR, F(quality_base), "MODEL", NULL,
     "the quality reference (default: the highest-precision model)", 0, 0, 0, NULL,
     OSTEL_STUDY_CANON_QUALITY, "", OSTEL_STUDY_EMPTY_IS_UNSET},
    {"quality_text", NULL, "quality-text", 0, OSTEL_STUDY_STR, F(quality_text), "FILE", NULL,
     "the quality passes' text (never downloaded)", 0, 0, 0, NULL, OSTEL_STUDY_CANON_QUALITY, "",
     OSTEL_STUDY_EMPTY_IS_UNSET | OSTEL_STUDY_TURNS_ON_QUALITY},
    {"quality_chunks", NULL, "quality-chunks", 0, OSTEL_STUDY_INT, F(quality_chunks), "N", NULL,
     "evaluate at most N chunks of the text", 0, 1 << 24, 0, "a number of chunks",
     OSTEL_STUDY_CANON_QUALITY, NULL, 0},
    {"quality_ctx", NULL, "quality-ctx", 0, OSTEL_STUDY_INT, F(quality_ctx), "N", NULL,
     "context of the quality passes (default 512)", 16, 1 << 24, 0, "a context from 16 tokens",
     OSTEL_STUDY_CANON_QUALITY, NULL, 0},
    {"quality_batch", NULL, "quality-batch", 0, OSTEL_STUDY_INT, F(quality_batch), "N", NULL,
     "llama-perplexity -b of the quality passes (default: its own, 2048)", 1, 1 << 24, 0,
     "a batch size from 1", OSTEL_STUDY_CANON_QUALITY_IF_SET, NULL, 0},
    {"quality_ubatch", NULL, "quality-ubatch", 0, OSTEL_STUDY_INT, F(quality_ubatch), "N", NULL,
     "llama-perplexity -ub of the quality passes (default: its own, 512)", 1, 1 << 24, 0,
     "a batch size from 1", OSTEL_STUDY_CANON_QUALITY_IF_SET, NULL, 0},
    /* where, not what: outside the canonical text (moving a study keeps its hash) */
    {"dir", NULL, "dir", 0, OSTEL_STUDY_STR, F(dir), "DIR", NULL,
     "study directory (default studies/NAME)", 0, 0, 0, NULL, OSTEL_STUDY_CANON_NEVER, NULL, 0},
    {"quality_keep_logits", NULL, "quality-keep-logits", 0, OSTEL_STUDY_BOOL,
     F(quality_keep_logits), NULL, NULL, "keep the quality base's logits file at the end", 0, 0, 0,
     "true or false", OSTEL_STUDY_CANON_NEVER, NULL, 0},
    {"db", NULL, "db", 0, OSTEL_STUDY_STR, F(db), "FILE", "OSTEL_DB",
     "results database (default DIR/ostel.db)", 0, 0, 0, NULL, OSTEL_STUDY_CANON_NEVER, NULL, 0},
    {"llama_bin", NULL, "llama-bin", 0, OSTEL_STUDY_STR, F(llama_bin), "DIR", "OSTEL_LLAMA_BIN",
     "directory of llama.cpp's programs", 0, 0, 0, NULL, OSTEL_STUDY_CANON_NEVER, NULL, 0},
    /* serving (docs/serve.md "In a study"): a [serve] section in the canonical text; its presence
     * says serve = on, so the key itself is written nowhere */
    {"serve", NULL, "serve", 0, OSTEL_STUDY_ONOFF, F(serve), NULL, NULL,
     "each cell is llama-server under load (the [serve] keys; default concurrency 1)", 0, 0, 0,
     "on or off", OSTEL_STUDY_CANON_NEVER, NULL, 0},
    {"serve_concurrency", NULL, "concurrency", 0, OSTEL_STUDY_LEVELS, F(serve_concurrency), "LIST",
     NULL, "serving: closed loop at these concurrencies (1,2,4)", 1, 0, 0,
     "a list of whole numbers from 1 (1,2,4)", OSTEL_STUDY_CANON_SERVE, NULL,
     OSTEL_STUDY_TURNS_ON_SERVE},
    {"serve_rate", NULL, "rate", 0, OSTEL_STUDY_LEVELS, F(serve_rate), "LIST", NULL,
     "serving: open loop at these request rates (req/s: 0.5,1,2)", 0, 0, 0,
     "a list of positive requests/s (0.5,1,2)", OSTEL_STUDY_CANON_SERVE, NULL,
     OSTEL_STUDY_TURNS_ON_SERVE},
    {"serve_arrivals", NULL, "arrivals", 0, OSTEL_STUDY_ARRIVALS, F(serve_arrivals), "KIND", NULL,
     "serving, open loop: poisson (default) or constant", 0, 0, 0, "poisson or constant",
     OSTEL_STUDY_CANON_SERVE, "poisson", OSTEL_STUDY_TURNS_ON_SERVE},
    {"serve_requests", NULL, "requests", 0, OSTEL_STUDY_INT, F(serve_requests), "N", NULL,
     "serving: measured requests per level (default 32)", 1, 10000000, 0,
     "a number from 1 to 10000000", OSTEL_STUDY_CANON_SERVE, NULL, OSTEL_STUDY_TURNS_ON_SERVE},
    {"serve_duration", NULL, "duration", 0, OSTEL_STUDY_DURATION, F(serve_duration_ns), "DUR", NULL,
     "serving: measure each level for DUR instead of a number of requests", 1, 0, SEC,
     "a positive duration", OSTEL_STUDY_CANON_SERVE, NULL, OSTEL_STUDY_TURNS_ON_SERVE},
    {"serve_warmup", NULL, "serve-warmup", 0, OSTEL_STUDY_INT, F(serve_warmup), "N", NULL,
     "serving: uncounted requests at the start of each level (default 2)", 0, 1000000, 0,
     "a number from 0", OSTEL_STUDY_CANON_SERVE, NULL, OSTEL_STUDY_TURNS_ON_SERVE},
    {"serve_prompt_tokens", NULL, "prompt-tokens", 0, OSTEL_STUDY_LENGTH, F(serve_prompt_tokens),
     "LEN", NULL, "serving: prompt tokens, N, N:SD or MIN-MAX (default 512)", 0, 0, 0,
     "N, N:SD or MIN-MAX tokens", OSTEL_STUDY_CANON_SERVE, "512", OSTEL_STUDY_TURNS_ON_SERVE},
    {"serve_output_tokens", NULL, "output-tokens", 0, OSTEL_STUDY_LENGTH, F(serve_output_tokens),
     "LEN", NULL, "serving: tokens generated, N, N:SD or MIN-MAX (default 256)", 0, 0, 0,
     "N, N:SD or MIN-MAX tokens", OSTEL_STUDY_CANON_SERVE, "256", OSTEL_STUDY_TURNS_ON_SERVE},
    {"serve_slo", NULL, "slo", 0, OSTEL_STUDY_SLO, F(serve_slo), "SPEC", NULL,
     "serving: goodput bounds (default ttft=500ms,itl=50ms,e2e=10s)", 0, 0, 0,
     "ttft=DUR,itl=DUR,e2e=DUR (each a positive duration or none)", OSTEL_STUDY_CANON_SERVE,
     "ttft=500ms,itl=50ms,e2e=10s", OSTEL_STUDY_TURNS_ON_SERVE},
    {"serve_parallel", NULL, "parallel", 0, OSTEL_STUDY_INT, F(serve_parallel), "N", NULL,
     "serving: llama-server slots, -np (default 0: the server's own)", 0, 4096, 0,
     "a number from 0 to 4096", OSTEL_STUDY_CANON_SERVE, NULL, OSTEL_STUDY_TURNS_ON_SERVE},
    {"serve_timeout", NULL, "request-timeout", 0, OSTEL_STUDY_DURATION, F(serve_timeout_ns), "DUR",
     NULL, "serving: per-request time limit (default 10m)", 1, 0, SEC, "a positive duration",
     OSTEL_STUDY_CANON_SERVE, NULL, OSTEL_STUDY_TURNS_ON_SERVE},
};

#undef F
#undef SEC
#undef MS

const struct ostel_study_key *ostel_study_keys(size_t *n)
{
    *n = OSTEL_ARRAY_LEN(study_keys);
    return study_keys;
}

const struct ostel_study_key *ostel_study_key_find(const char *name)
{
    for (size_t i = 0; i < OSTEL_ARRAY_LEN(study_keys); i++)
        if (strcmp(name, study_keys[i].key) == 0 ||
            (study_keys[i].alias && strcmp(name, study_keys[i].alias) == 0))
            return &study_keys[i];
    return NULL;
}

/* A [serve] value of one of the serving kinds, as `ostel serve` would take it. */
static bool serve_value_ok(const struct ostel_study_key *k, const char *value)
{
    double a, b, c;
    int m, sd, max;
    bool ok = false;
    switch (k->kind) {
    case OSTEL_STUDY_LENGTH:
        ok = ostel_parse_length(value, &m, &sd, &max);
        break;
    case OSTEL_STUDY_SLO:
        ok = ostel_parse_slo(value, &a, &b, &c);
        break;
    case OSTEL_STUDY_ARRIVALS:
        ok = !strcmp(value, "poisson") || !strcmp(value, "constant");
        break;
    default:
        break;
    }
    return ok;
}

int ostel_study_spec_set(struct ostel_study_spec *s, const char *key, const char *value, char *err,
                         size_t err_size)
{
    const struct ostel_study_key *k = ostel_study_key_find(key);
    if (!k) {
        snprintf(err, err_size, "unknown key '%s'", key);
        return OSTEL_ERR;
    }
    void *field = (char *)s + k->offset;
    bool ok = true, empty_cell = false;
    int64_t v;
    uint64_t ns;
    switch (k->kind) {
    case OSTEL_STUDY_STR:
        if ((k->flags & OSTEL_STUDY_EMPTY_IS_UNSET) && !*value) {
            free(*(char **)field);
            *(char **)field = NULL;
        } else {
            set_str(field, value);
            if (k->flags & OSTEL_STUDY_TURNS_ON_QUALITY)
                s->quality = true;
        }
        break;
    case OSTEL_STUDY_TOOL:
        ok = strcmp(value, "llama-completion") == 0 || strcmp(value, "llama-cli") == 0;
        if (ok)
            set_str(field, value);
        break;
    case OSTEL_STUDY_LIST:
        empty_cell = !ostel_strlist_split(field, value);
        break;
    case OSTEL_STUDY_COUNTS:
        empty_cell = !ostel_strlist_split(field, value);
        ok = empty_cell || numbers_ok(field, k->min, k->max);
        break;
    case OSTEL_STUDY_SCENARIOS:
        if (set_scenarios(field, value, &empty_cell, err, err_size) != 0 && !empty_cell)
            return OSTEL_ERR;
        break;
    case OSTEL_STUDY_ARGS:
        ostel_strlist_split_blanks(field, value);
        break;
    case OSTEL_STUDY_INT:
        ok = ostel_parse_i64(value, k->min, k->max, &v);
        if (ok)
            *(long long *)field = v;
        break;
    case OSTEL_STUDY_BOOL:
    case OSTEL_STUDY_ONOFF:
        ok = parse_bool(value, field);
        break;
    case OSTEL_STUDY_COOLDOWN:
    case OSTEL_STUDY_DURATION:
    case OSTEL_STUDY_DURATION_OFF:
        if (k->kind == OSTEL_STUDY_COOLDOWN && strcmp(value, "auto") == 0) {
            *(uint64_t *)field = 0;
            break;
        }
        if (k->kind == OSTEL_STUDY_DURATION_OFF && strcmp(value, "off") == 0) {
            *(uint64_t *)field = UINT64_MAX;
            break;
        }
        ok = ostel_parse_duration_ns(value, k->unit_ns, &ns) && ns >= (uint64_t)k->min &&
             (k->max == 0 || ns <= (uint64_t)k->max);
        if (ok)
            *(uint64_t *)field = ns;
        break;
    case OSTEL_STUDY_LEVELS: {
        /* kept as "1,4,16" however it was written, so "1, 4, 16" is the same study */
        double *levels = NULL;
        size_t n = 0;
        ok = ostel_parse_levels(value, k->min == 1, &levels, &n);
        if (ok) {
            struct ostel_buf b;
            ostel_buf_init(&b, 0);
            for (size_t i = 0; i < n; i++)
                ostel_buf_printf(&b, "%s%.17g", i ? "," : "", levels[i]);
            free(*(char **)field);
            *(char **)field = ostel_buf_detach(&b);
        }
        free(levels);
        break;
    }
    case OSTEL_STUDY_LENGTH:
    case OSTEL_STUDY_SLO:
    case OSTEL_STUDY_ARRIVALS:
        ok = serve_value_ok(k, value);
        if (ok)
            set_str(field, value);
        break;
    }
    if (ok && (k->flags & OSTEL_STUDY_TURNS_ON_SERVE))
        s->serve = true;
    if (empty_cell) {
        snprintf(err, err_size, "%s: empty entry in '%s'", key, value);
        return OSTEL_ERR;
    }
    if (!ok) {
        snprintf(err, err_size, "%s: '%s' is not %s", k->key, value, k->what);
        return OSTEL_ERR;
    }
    return 0;
}

struct ini_ctx {
    struct ostel_study_spec *spec;
    int seen_line[OSTEL_ARRAY_LEN(study_keys)]; /* the line that gave each key, 0 = not yet */
};

static int on_ini(void *user, const char *section, const char *name, const char *value, int line,
                  char *err, size_t err_size)
{
    struct ini_ctx *c = user;
    bool serve = strcmp(section, "serve") == 0;
    if (strcmp(section, "study") != 0 && !serve) {
        if (*section)
            snprintf(err, err_size, "unknown section [%s] (ostel studies have [study] and [serve])",
                     section);
        else
            snprintf(err, err_size, "'%s' before the [study] section", name);
        return OSTEL_ERR;
    }
    /* [serve]'s keys are the table's serve_* keys without the prefix */
    char full[96];
    if (serve) {
        snprintf(full, sizeof(full), "serve_%s", name);
        const struct ostel_study_key *sk = ostel_study_key_find(full);
        if (!sk || sk->canon != OSTEL_STUDY_CANON_SERVE || strlen(name) > 64) {
            snprintf(err, err_size, "unknown key '%s' in [serve]", name);
            return OSTEL_ERR;
        }
        name = full;
    }
    /* a key and its alias name the same setting: a file giving both gives it twice */
    const struct ostel_study_key *k = ostel_study_key_find(name);
    int *seen = k ? &c->seen_line[k - study_keys] : NULL;
    if (seen && *seen) {
        snprintf(err, err_size, "'%s' is given twice (lines %d and %d)", k->key, *seen, line);
        return OSTEL_ERR;
    }
    if (ostel_study_spec_set(c->spec, name, value, err, err_size) != 0)
        return OSTEL_ERR;
    if (seen)
        *seen = line;
    return 0;
}

int ostel_study_spec_read_file(struct ostel_study_spec *s, const char *path)
{
    struct ostel_buf b;
    ostel_buf_init(&b, 1 << 20);
    if (ostel_file_read_all(path, 1 << 20, &b) != 0) {
        ostel_buf_free(&b);
        return OSTEL_ERR;
    }
    struct ini_ctx c = {.spec = s};
    char err[512];
    int line = ostel_ini_parse(b.data, b.len, on_ini, &c, err, sizeof(err));
    ostel_buf_free(&b);
    if (line > 0)
        return ostel_error("%s:%d: %s", path, line, err);
    return OSTEL_OK;
}

static char *default_tag(const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = strlen(base);
    if (n > 5 && strcmp(base + n - 5, ".gguf") == 0)
        n -= 5;
    char *t = ostel_xstrndup(base, n);
    char *safe = ostel_tag_sanitize(t);
    free(t);
    return safe;
}

/* A serving study's own checks and defaults (a cell is llama-server under load, not a run). */
static int serve_finish(struct ostel_study_spec *s, char *err, size_t err_size)
{
    if (s->gens.n) {
        snprintf(err, err_size,
                 "gen is for llama.cpp runs: a serving study sets output_tokens in "
                 "[serve] (--output-tokens)");
        return OSTEL_ERR;
    }
    if (s->prompt) {
        snprintf(err, err_size,
                 "prompt is for llama.cpp runs: a serving study makes its prompts "
                 "from prompt_file or a built-in text");
        return OSTEL_ERR;
    }
    if (s->serve_concurrency && s->serve_rate) {
        snprintf(err, err_size, "[serve]: give concurrency or rate, not both");
        return OSTEL_ERR;
    }
    if (!s->serve_concurrency && !s->serve_rate)
        s->serve_concurrency = ostel_xstrdup("1");
    /* ostel picks the server's address and waits for /health there */
    for (size_t i = 0; i < s->llama_args.n; i++) {
        const char *r = s->llama_args.v[i];
        if (!strcmp(r, "--port") || !strncmp(r, "--port=", 7) || !strcmp(r, "--host") ||
            !strncmp(r, "--host=", 7)) {
            snprintf(err, err_size,
                     "llama_args: '%.40s': ostel starts llama-server on 127.0.0.1 and a free port "
                     "of its own",
                     r);
            return OSTEL_ERR;
        }
    }
    return 0;
}

int ostel_study_spec_finish(struct ostel_study_spec *s, char *err, size_t err_size)
{
    if (s->models.n == 0) {
        snprintf(err, err_size, "no models: give -m a.gguf,b.gguf or 'models =' in [study]");
        return OSTEL_ERR;
    }
    if (s->tags.n && s->tags.n != s->models.n) {
        snprintf(err, err_size, "%zu tags for %zu models", s->tags.n, s->models.n);
        return OSTEL_ERR;
    }
    if (!s->tags.n)
        for (size_t i = 0; i < s->models.n; i++) {
            char *t = default_tag(s->models.v[i]);
            ostel_strlist_push(&s->tags, t);
            free(t);
        }
    for (size_t i = 0; i < s->tags.n; i++)
        for (size_t j = i + 1; j < s->tags.n; j++)
            if (strcmp(s->tags.v[i], s->tags.v[j]) == 0) {
                snprintf(err, err_size, "two models have the tag '%s': give tags = ...",
                         s->tags.v[i]);
                return OSTEL_ERR;
            }
    if (!s->ctxs.n)
        ostel_strlist_push(&s->ctxs, "4096");
    if (s->serve && serve_finish(s, err, err_size) != 0)
        return OSTEL_ERR;
    if (!s->gens.n && !s->serve)
        ostel_strlist_push(&s->gens, "256");
    if (!s->scenarios.n)
        ostel_strlist_push(&s->scenarios, "none");
    if (!s->tool)
        s->tool = ostel_xstrdup("llama-completion");
    if (s->prompt && s->prompt_file) {
        snprintf(err, err_size, "give prompt or prompt_file, not both");
        return OSTEL_ERR;
    }
    if (!s->name) {
        char *canon = ostel_study_spec_canonical(s);
        char h[17];
        ostel_study_hash_hex(canon, strlen(canon), h);
        free(canon);
        s->name = ostel_xasprintf("study-%.8s", h);
    }
    if (!s->dir) {
        char *safe = ostel_tag_sanitize(s->name);
        s->dir = ostel_xasprintf("studies/%s", safe);
        free(safe);
    }
    if (!s->db)
        s->db = ostel_xasprintf("%s/ostel.db", s->dir);
    return 0;
}

static void put_list(struct ostel_buf *b, const char *key, const struct ostel_strlist *l,
                     const char *sep)
{
    ostel_buf_printf(b, "%s = ", key);
    for (size_t i = 0; i < l->n; i++)
        ostel_buf_printf(b, "%s%s", i ? sep : "", l->v[i]);
    ostel_buf_putc(b, '\n');
}

/* The scenarios with a hog's several kinds written with '+', so the list stays comma-separated. */
static void put_scenarios(struct ostel_buf *b, const char *key, const struct ostel_strlist *l)
{
    ostel_buf_printf(b, "%s = ", key);
    for (size_t i = 0; i < l->n; i++) {
        ostel_buf_puts(b, i ? ", " : "");
        for (const char *p = l->v[i]; *p; p++)
            ostel_buf_putc(b, (*p == ',' && strncmp(l->v[i], "cmd:", 4)) ? '+' : *p);
    }
    ostel_buf_putc(b, '\n');
}

/* One key as canonical text, or nothing (a key written only when set that is not). */
static void put_key(struct ostel_buf *b, const struct ostel_study_key *k, const void *field)
{
    bool serve = k->canon == OSTEL_STUDY_CANON_SERVE;
    bool if_set = k->canon == OSTEL_STUDY_CANON_IF_SET || serve;
    const char *name = serve ? k->key + 6 : k->key; /* [serve]'s keys lose "serve_" */
    switch (k->kind) {
    case OSTEL_STUDY_STR:
    case OSTEL_STUDY_TOOL:
    case OSTEL_STUDY_LEVELS:
    case OSTEL_STUDY_LENGTH:
    case OSTEL_STUDY_SLO:
    case OSTEL_STUDY_ARRIVALS: {
        const char *v = *(char *const *)field;
        if (!v && if_set && !(serve && k->canon_default))
            return;
        ostel_buf_printf(b, "%s = %s\n", name, v ? v : k->canon_default ? k->canon_default : "");
        return;
    }
    case OSTEL_STUDY_LIST:
    case OSTEL_STUDY_COUNTS:
        put_list(b, k->key, field, ", ");
        return;
    case OSTEL_STUDY_ARGS:
        put_list(b, k->key, field, " ");
        return;
    case OSTEL_STUDY_SCENARIOS:
        put_scenarios(b, k->key, field);
        return;
    case OSTEL_STUDY_INT:
        if (k->canon == OSTEL_STUDY_CANON_QUALITY_IF_SET && *(const long long *)field == 0)
            return;
        ostel_buf_printf(b, "%s = %lld\n", name, *(const long long *)field);
        return;
    case OSTEL_STUDY_BOOL:
        ostel_buf_printf(b, "%s = %s\n", k->key, *(const bool *)field ? "true" : "false");
        return;
    case OSTEL_STUDY_ONOFF:
        ostel_buf_printf(b, "%s = %s\n", k->key, *(const bool *)field ? "on" : "off");
        return;
    case OSTEL_STUDY_COOLDOWN:
    case OSTEL_STUDY_DURATION:
    case OSTEL_STUDY_DURATION_OFF: {
        uint64_t ns = *(const uint64_t *)field;
        if (k->kind == OSTEL_STUDY_DURATION_OFF && ns == UINT64_MAX) {
            ostel_buf_printf(b, "%s = off\n", k->key);
            return;
        }
        if (ns == 0 && (if_set || k->kind == OSTEL_STUDY_COOLDOWN)) {
            if (k->kind == OSTEL_STUDY_COOLDOWN)
                ostel_buf_printf(b, "%s = auto\n", k->key);
            return;
        }
        if (k->unit_ns == 1000000)
            ostel_buf_printf(b, "%s = %.3fms\n", name, (double)ns / 1e6);
        else
            ostel_buf_printf(b, "%s = %.3fs\n", name, (double)ns / 1e9);
        return;
    }
    }
}

/* The [serve] section: every serving key, defaults written out (a serving study's hash and its
 * cells' resume keys hold the whole load). */
static void put_serve_section(struct ostel_buf *b, const struct ostel_study_spec *s)
{
    ostel_buf_puts(b, "[serve]\n");
    for (size_t i = 0; i < OSTEL_ARRAY_LEN(study_keys); i++)
        if (study_keys[i].canon == OSTEL_STUDY_CANON_SERVE)
            put_key(b, &study_keys[i], (const char *)s + study_keys[i].offset);
}

char *ostel_study_spec_canonical(const struct ostel_study_spec *s)
{
    struct ostel_buf b;
    ostel_buf_init(&b, 0);
    ostel_buf_puts(&b, "[study]\n");
    for (size_t i = 0; i < OSTEL_ARRAY_LEN(study_keys); i++) {
        const struct ostel_study_key *k = &study_keys[i];
        if (k->canon == OSTEL_STUDY_CANON_NEVER || k->canon == OSTEL_STUDY_CANON_SERVE ||
            (k->canon == OSTEL_STUDY_CANON_NOT_SERVE && s->serve) ||
            ((k->canon == OSTEL_STUDY_CANON_QUALITY ||
              k->canon == OSTEL_STUDY_CANON_QUALITY_IF_SET) &&
             !s->quality))
            continue;
        put_key(&b, k, (const char *)s + k->offset);
    }
    if (s->serve)
        put_serve_section(&b, s);
    return ostel_buf_detach(&b);
}

void ostel_study_hash_hex(const void *data, size_t len, char out[17])
{
    ostel_fnv1a64_hex(data, len, OSTEL_SPEC_HASH_BASIS_LEGACY, out);
}

int ostel_study_plan(const struct ostel_study_spec *s, struct ostel_study_run **runs, size_t *n)
{
    size_t ngens = s->serve ? 1 : s->gens.n; /* a serving study has no gen */
    size_t combos = s->models.n * s->ctxs.n * ngens * s->scenarios.n;
    size_t total = combos * (size_t)s->repetitions;
    struct ostel_study_run *r = ostel_xcalloc(total ? total : 1, sizeof(*r));
    size_t k = 0;
    for (long long rep = 1; rep <= s->repetitions; rep++) {
        for (size_t i = 0; i < combos; i++) {
            size_t c = (i + (size_t)(rep - 1)) % combos;
            size_t sc = c % s->scenarios.n;
            size_t rest = c / s->scenarios.n;
            size_t g = rest % ngens;
            rest /= ngens;
            size_t x = rest % s->ctxs.n;
            size_t m = rest / s->ctxs.n;
            struct ostel_study_run *u = &r[k];
            u->index = k;
            u->model = m;
            u->ctx = atoll(s->ctxs.v[x]);
            u->gen = s->serve ? -1 : atoll(s->gens.v[g]);
            u->scenario = sc;
            u->rep = rep;
            /* The resume key: everything that makes the measurement what it is. */
            char *key = ostel_xasprintf(
                "model=%s\ntag=%s\nctx=%lld\ngen=%lld\nscenario=%s\nrep=%lld\ntool=%s\nseed=%lld\n"
                "prompt=%s\nprompt_file=%s\ninterval_ns=%llu\n",
                s->models.v[m], s->tags.v[m], u->ctx, u->gen, s->scenarios.v[sc], rep,
                s->serve  ? "llama-server"
                : s->tool ? s->tool
                          : "llama-completion",
                s->seed, s->prompt ? s->prompt : "", s->prompt_file ? s->prompt_file : "",
                (unsigned long long)s->interval_ns);
            struct ostel_buf kb;
            ostel_buf_init(&kb, 0);
            ostel_buf_puts(&kb, key);
            for (size_t a = 0; a < s->llama_args.n; a++)
                ostel_buf_printf(&kb, "arg=%s\n", s->llama_args.v[a]);
            if (s->gpu_interval_ns) /* only when set: older studies keep their resume keys */
                ostel_buf_printf(&kb, "gpu_interval_ns=%llu\n",
                                 (unsigned long long)s->gpu_interval_ns);
            if (s->serve) /* the whole load: a cell measured under another load is another cell */
                put_serve_section(&kb, s);
            ostel_study_hash_hex(kb.data, kb.len, u->hash);
            ostel_buf_free(&kb);
            free(key);
            char *scen = ostel_tag_sanitize(s->scenarios.v[sc]);
            char *tag = ostel_tag_sanitize(s->tags.v[m]);
            if (s->serve)
                u->dir_name =
                    ostel_xasprintf("%03zu-%s-%s-c%lld-serve-r%lld", k + 1, tag, scen, u->ctx, rep);
            else
                u->dir_name = ostel_xasprintf("%03zu-%s-%s-c%lld-n%lld-r%lld", k + 1, tag, scen,
                                              u->ctx, u->gen, rep);
            free(tag);
            free(scen);
            k++;
        }
    }
    *runs = r;
    *n = total;
    return 0;
}

void ostel_study_plan_free(struct ostel_study_run *runs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(runs[i].dir_name);
    free(runs);
}
