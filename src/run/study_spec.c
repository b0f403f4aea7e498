/*
 * study_spec: the study definition — keys, the INI file (util/ini), defaults, canonical text and hash,
 * and the run matrix in its interleaved order (see study.h and docs/study.md).
 */
#include "run/study.h"

#include "run/hog.h"
#include "util/fileio.h"
#include "util/fnv.h"
#include "util/ini.h"
#include "util/names.h"
#include "util/opt.h"

#include <stdlib.h>
#include <string.h>

void ostel_strlist_push(struct ostel_strlist *l, const char *s)
{
    l->v = ostel_xrealloc(l->v, (l->n + 2) * sizeof(char *));
    l->v[l->n++] = ostel_xstrdup(s);
    l->v[l->n] = NULL;
}

void ostel_strlist_free(struct ostel_strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

bool ostel_strlist_split(struct ostel_strlist *l, const char *text)
{
    ostel_strlist_free(l);
    struct ostel_str rest = ostel_str_from_cstr(text);
    for (;;) {
        const char *c = memchr(rest.p, ',', rest.n);
        size_t n = c ? (size_t)(c - rest.p) : rest.n;
        struct ostel_str cell = ostel_str_trim(ostel_str_make(rest.p, n));
        if (cell.n == 0) {
            ostel_strlist_free(l);
            return false;
        }
        char *s = ostel_xstrndup(cell.p, cell.n);
        ostel_strlist_push(l, s);
        free(s);
        if (!c)
            return true;
        rest.p = c + 1;
        rest.n -= n + 1;
    }
}

void ostel_strlist_split_blanks(struct ostel_strlist *l, const char *text)
{
    ostel_strlist_free(l);
    const char *p = text;
    while (*p) {
        while (*p == ' ' || *p == '\t')
            p++;
        const char *q = p;
        while (*q && *q != ' ' && *q != '\t')
            q++;
        if (q > p) {
            char *s = ostel_xstrndup(p, (size_t)(q - p));
            ostel_strlist_push(l, s);
            free(s);
        }
        p = q;
    }
}

void ostel_study_spec_init(struct ostel_study_spec *s)
{
    memset(s, 0, sizeof(*s));
    s->repetitions = 3;
    s->warmup = true;
    s->cooldown_max_ns = 30ull * 1000000000ull;
    s->timeout_ns = 30ull * 60 * 1000000000ull;
    s->interval_ns = 100000000ull;
    s->seed = 42;
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
            return -1;
        }
        return 0;
    }
    struct ostel_hog_spec h;
    char herr[160];
    if (ostel_hog_parse_spec(sc, &h, herr, sizeof(herr)) != 0) {
        snprintf(err, err_size, "scenario '%s': %s (want none, mem:SIZE, mem:PCT%%, "
                 "mem:PCT%%avail, mem:avail-SIZE, cpu:N, or cmd:PROGRAM ARGS)", sc, herr);
        return -1;
    }
    return 0;
}

int ostel_study_spec_set(struct ostel_study_spec *s, const char *key, const char *value, char *err,
                         size_t err_size)
{
    uint64_t ns;
    int64_t v;
    if (strcmp(key, "name") == 0) {
        set_str(&s->name, value);
    } else if (strcmp(key, "models") == 0 || strcmp(key, "model") == 0) {
        if (!ostel_strlist_split(&s->models, value))
            goto empty_cell;
    } else if (strcmp(key, "tags") == 0 || strcmp(key, "tag") == 0) {
        if (!ostel_strlist_split(&s->tags, value))
            goto empty_cell;
    } else if (strcmp(key, "ctx") == 0 || strcmp(key, "contexts") == 0) {
        if (!ostel_strlist_split(&s->ctxs, value))
            goto empty_cell;
        if (!numbers_ok(&s->ctxs, 1, 1 << 24)) {
            snprintf(err, err_size, "ctx: '%s' is not a list of token counts", value);
            return -1;
        }
    } else if (strcmp(key, "gen") == 0 || strcmp(key, "n_predict") == 0) {
        if (!ostel_strlist_split(&s->gens, value))
            goto empty_cell;
        if (!numbers_ok(&s->gens, 1, 1 << 24)) {
            snprintf(err, err_size, "gen: '%s' is not a list of token counts", value);
            return -1;
        }
    } else if (strcmp(key, "scenarios") == 0 || strcmp(key, "scenario") == 0) {
        /* cmd: scenarios may hold commas, so a cmd: entry ends the list */
        ostel_strlist_free(&s->scenarios);
        const char *cmd = strstr(value, "cmd:");
        char *head = ostel_xstrndup(value, cmd ? (size_t)(cmd - value) : strlen(value));
        char *h = head + strlen(head);
        while (h > head && (h[-1] == ' ' || h[-1] == ','))
            *--h = '\0';
        struct ostel_strlist l = {0};
        if (*head && !ostel_strlist_split(&l, head)) {
            free(head);
            goto empty_cell;
        }
        free(head);
        /* a hog spec may combine kinds with commas ("mem:4G,cpu:1") only inside one entry written
         * with '+': "mem:4G+cpu:1" */
        for (size_t i = 0; i < l.n; i++) {
            for (char *p = l.v[i]; *p; p++)
                if (*p == '+')
                    *p = ',';
            ostel_strlist_push(&s->scenarios, l.v[i]);
        }
        ostel_strlist_free(&l);
        if (cmd)
            ostel_strlist_push(&s->scenarios, cmd);
        for (size_t i = 0; i < s->scenarios.n; i++)
            if (check_scenario(s->scenarios.v[i], err, err_size) != 0)
                return -1;
    } else if (strcmp(key, "repetitions") == 0 || strcmp(key, "reps") == 0) {
        if (!ostel_parse_i64(value, 1, 10000, &v)) {
            snprintf(err, err_size, "repetitions: '%s' is not a number from 1 to 10000", value);
            return -1;
        }
        s->repetitions = v;
    } else if (strcmp(key, "warmup") == 0) {
        if (!strcmp(value, "true") || !strcmp(value, "yes") || !strcmp(value, "1") ||
            !strcmp(value, "on"))
            s->warmup = true;
        else if (!strcmp(value, "false") || !strcmp(value, "no") || !strcmp(value, "0") ||
                 !strcmp(value, "off"))
            s->warmup = false;
        else {
            snprintf(err, err_size, "warmup: '%s' is not true or false", value);
            return -1;
        }
    } else if (strcmp(key, "cooldown") == 0) {
        if (strcmp(value, "auto") == 0)
            s->cooldown_ns = 0;
        else if (ostel_parse_duration_ns(value, 1000000000ull, &ns))
            s->cooldown_ns = ns;
        else {
            snprintf(err, err_size, "cooldown: '%s' is not 'auto' or a duration (5s, 1m)", value);
            return -1;
        }
    } else if (strcmp(key, "cooldown_max") == 0) {
        if (!ostel_parse_duration_ns(value, 1000000000ull, &ns)) {
            snprintf(err, err_size, "cooldown_max: '%s' is not a duration", value);
            return -1;
        }
        s->cooldown_max_ns = ns;
    } else if (strcmp(key, "timeout") == 0) {
        if (!ostel_parse_duration_ns(value, 1000000000ull, &ns) || ns == 0) {
            snprintf(err, err_size, "timeout: '%s' is not a positive duration", value);
            return -1;
        }
        s->timeout_ns = ns;
    } else if (strcmp(key, "interval") == 0) {
        if (!ostel_parse_duration_ns(value, 1000000ull, &ns) || ns < 1000000ull ||
            ns > 3600ull * 1000000000ull) {
            snprintf(err, err_size, "interval: '%s' is not a duration from 1ms to 1h", value);
            return -1;
        }
        s->interval_ns = ns;
    } else if (strcmp(key, "hog_cycle") == 0) {
        if (!ostel_parse_duration_ns(value, 1000000000ull, &ns) || ns < 100000000ull) {
            snprintf(err, err_size, "hog_cycle: '%s' is not a duration of at least 100ms", value);
            return -1;
        }
        s->hog_cycle_ns = ns;
    } else if (strcmp(key, "tool") == 0) {
        if (strcmp(value, "llama-completion") && strcmp(value, "llama-cli")) {
            snprintf(err, err_size, "tool: '%s' is not llama-completion or llama-cli", value);
            return -1;
        }
        set_str(&s->tool, value);
    } else if (strcmp(key, "prompt") == 0) {
        set_str(&s->prompt, value);
    } else if (strcmp(key, "prompt_file") == 0) {
        set_str(&s->prompt_file, value);
    } else if (strcmp(key, "seed") == 0) {
        if (!ostel_parse_i64(value, 0, UINT32_MAX, &v)) {
            snprintf(err, err_size, "seed: '%s' is not a number from 0 to 4294967295", value);
            return -1;
        }
        s->seed = v;
    } else if (strcmp(key, "llama_args") == 0) {
        ostel_strlist_split_blanks(&s->llama_args, value);
    } else if (strcmp(key, "dir") == 0) {
        set_str(&s->dir, value);
    } else if (strcmp(key, "db") == 0) {
        set_str(&s->db, value);
    } else if (strcmp(key, "llama_bin") == 0) {
        set_str(&s->llama_bin, value);
    } else if (strncmp(key, "quality", 7) == 0) {
        return ostel_study_spec_set_quality(s, key, value, err, err_size);
    } else {
        snprintf(err, err_size, "unknown key '%s'", key);
        return -1;
    }
    return 0;
empty_cell:
    snprintf(err, err_size, "%s: empty entry in '%s'", key, value);
    return -1;
}

/* Keys that name the same setting (a file giving both gives it twice). */
static const char *canonical_key(const char *key)
{
    static const char *const alias[][2] = {
        {"model", "models"},     {"tag", "tags"},           {"contexts", "ctx"},
        {"n_predict", "gen"},    {"scenario", "scenarios"}, {"reps", "repetitions"},
    };
    for (size_t i = 0; i < OSTEL_ARRAY_LEN(alias); i++)
        if (strcmp(key, alias[i][0]) == 0)
            return alias[i][1];
    return key;
}

#define STUDY_MAX_KEYS 64

struct ini_ctx {
    struct ostel_study_spec *spec;
    size_t n_seen;
    struct {
        char key[32];
        int line;
    } seen[STUDY_MAX_KEYS]; /* known keys given so far, canonical, with their line */
};

static int on_ini(void *user, const char *section, const char *name, const char *value, int line,
                  char *err, size_t err_size)
{
    struct ini_ctx *c = user;
    if (strcmp(section, "study") != 0) {
        if (*section)
            snprintf(err, err_size, "unknown section [%s] (ostel studies have [study])", section);
        else
            snprintf(err, err_size, "'%s' before the [study] section", name);
        return -1;
    }
    const char *key = canonical_key(name);
    for (size_t i = 0; i < c->n_seen; i++)
        if (strcmp(c->seen[i].key, key) == 0) {
            snprintf(err, err_size, "'%s' is given twice (lines %d and %d)", key,
                     c->seen[i].line, line);
            return -1;
        }
    if (ostel_study_spec_set(c->spec, name, value, err, err_size) != 0)
        return -1;
    /* a known key (an unknown one was refused above), so its name is short */
    if (c->n_seen < STUDY_MAX_KEYS && strlen(key) < sizeof(c->seen[0].key)) {
        snprintf(c->seen[c->n_seen].key, sizeof(c->seen[0].key), "%s", key);
        c->seen[c->n_seen++].line = line;
    }
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
    struct ini_ctx *c = ostel_xcalloc(1, sizeof(*c));
    c->spec = s;
    char err[512];
    int line = ostel_ini_parse(b.data, b.len, on_ini, c, err, sizeof(err));
    ostel_buf_free(&b);
    free(c);
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

int ostel_study_spec_finish(struct ostel_study_spec *s, char *err, size_t err_size)
{
    if (s->models.n == 0) {
        snprintf(err, err_size, "no models: give -m a.gguf,b.gguf or 'models =' in [study]");
        return -1;
    }
    if (s->tags.n && s->tags.n != s->models.n) {
        snprintf(err, err_size, "%zu tags for %zu models", s->tags.n, s->models.n);
        return -1;
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
                return -1;
            }
    if (!s->ctxs.n)
        ostel_strlist_push(&s->ctxs, "4096");
    if (!s->gens.n)
        ostel_strlist_push(&s->gens, "256");
    if (!s->scenarios.n)
        ostel_strlist_push(&s->scenarios, "none");
    if (!s->tool)
        s->tool = ostel_xstrdup("llama-completion");
    if (s->prompt && s->prompt_file) {
        snprintf(err, err_size, "give prompt or prompt_file, not both");
        return -1;
    }
    if (!s->name) {
        char *canon = ostel_study_spec_canonical(s);
        char h[17];
        ostel_hash_hex(canon, strlen(canon), h);
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

char *ostel_study_spec_canonical(const struct ostel_study_spec *s)
{
    struct ostel_buf b;
    ostel_buf_init(&b, 0);
    ostel_buf_puts(&b, "[study]\n");
    if (s->name)
        ostel_buf_printf(&b, "name = %s\n", s->name);
    put_list(&b, "models", &s->models, ", ");
    put_list(&b, "tags", &s->tags, ", ");
    put_list(&b, "ctx", &s->ctxs, ", ");
    put_list(&b, "gen", &s->gens, ", ");
    /* hog specs with several kinds are written with '+' so the list stays comma-separated */
    ostel_buf_puts(&b, "scenarios = ");
    for (size_t i = 0; i < s->scenarios.n; i++) {
        ostel_buf_puts(&b, i ? ", " : "");
        for (const char *p = s->scenarios.v[i]; *p; p++)
            ostel_buf_putc(&b, (*p == ',' && strncmp(s->scenarios.v[i], "cmd:", 4)) ? '+' : *p);
    }
    ostel_buf_putc(&b, '\n');
    ostel_buf_printf(&b, "repetitions = %lld\nwarmup = %s\n", s->repetitions,
                     s->warmup ? "true" : "false");
    if (s->cooldown_ns)
        ostel_buf_printf(&b, "cooldown = %.3fs\n", (double)s->cooldown_ns / 1e9);
    else
        ostel_buf_puts(&b, "cooldown = auto\n");
    ostel_buf_printf(&b, "cooldown_max = %.3fs\ntimeout = %.3fs\ninterval = %.3fms\n",
                     (double)s->cooldown_max_ns / 1e9, (double)s->timeout_ns / 1e9,
                     (double)s->interval_ns / 1e6);
    if (s->hog_cycle_ns)
        ostel_buf_printf(&b, "hog_cycle = %.3fs\n", (double)s->hog_cycle_ns / 1e9);
    ostel_buf_printf(&b, "tool = %s\nseed = %lld\n", s->tool ? s->tool : "llama-completion",
                     s->seed);
    if (s->prompt)
        ostel_buf_printf(&b, "prompt = %s\n", s->prompt);
    if (s->prompt_file)
        ostel_buf_printf(&b, "prompt_file = %s\n", s->prompt_file);
    put_list(&b, "llama_args", &s->llama_args, " ");
    if (s->quality)
        ostel_buf_printf(&b, "quality = on\nquality_base = %s\nquality_text = %s\n"
                             "quality_chunks = %lld\nquality_ctx = %lld\n",
                         s->quality_base ? s->quality_base : "", s->quality_text ? s->quality_text : "",
                         s->quality_chunks, s->quality_ctx);
    return ostel_buf_detach(&b);
}

void ostel_hash_hex(const void *data, size_t len, char out[17])
{
    ostel_fnv1a64_hex(data, len, OSTEL_SPEC_HASH_BASIS_LEGACY, out);
}

int ostel_study_plan(const struct ostel_study_spec *s, struct ostel_study_run **runs, size_t *n)
{
    size_t combos = s->models.n * s->ctxs.n * s->gens.n * s->scenarios.n;
    size_t total = combos * (size_t)s->repetitions;
    struct ostel_study_run *r = ostel_xcalloc(total ? total : 1, sizeof(*r));
    size_t k = 0;
    for (long long rep = 1; rep <= s->repetitions; rep++) {
        for (size_t i = 0; i < combos; i++) {
            size_t c = (i + (size_t)(rep - 1)) % combos;
            size_t sc = c % s->scenarios.n;
            size_t rest = c / s->scenarios.n;
            size_t g = rest % s->gens.n;
            rest /= s->gens.n;
            size_t x = rest % s->ctxs.n;
            size_t m = rest / s->ctxs.n;
            struct ostel_study_run *u = &r[k];
            u->index = k;
            u->model = m;
            u->ctx = atoll(s->ctxs.v[x]);
            u->gen = atoll(s->gens.v[g]);
            u->scenario = sc;
            u->rep = rep;
            /* The resume key: everything that makes the measurement what it is. */
            char *key = ostel_xasprintf(
                "model=%s\ntag=%s\nctx=%lld\ngen=%lld\nscenario=%s\nrep=%lld\ntool=%s\nseed=%lld\n"
                "prompt=%s\nprompt_file=%s\ninterval_ns=%llu\n",
                s->models.v[m], s->tags.v[m], u->ctx, u->gen, s->scenarios.v[sc], rep,
                s->tool ? s->tool : "llama-completion", s->seed, s->prompt ? s->prompt : "",
                s->prompt_file ? s->prompt_file : "", (unsigned long long)s->interval_ns);
            struct ostel_buf kb;
            ostel_buf_init(&kb, 0);
            ostel_buf_puts(&kb, key);
            for (size_t a = 0; a < s->llama_args.n; a++)
                ostel_buf_printf(&kb, "arg=%s\n", s->llama_args.v[a]);
            ostel_hash_hex(kb.data, kb.len, u->hash);
            ostel_buf_free(&kb);
            free(key);
            char *scen = ostel_tag_sanitize(s->scenarios.v[sc]);
            char *tag = ostel_tag_sanitize(s->tags.v[m]);
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
