/*
 * quality_study: `ostel study --quality` — the study's quality keys and its quality passes, which
 * run after the measured runs with the same mechanism as `ostel quality` (quality.c), into the
 * study's quality/ directory and its database.
 */
#include "quality/quality.h"
#include "run/study.h"
#include "util/opt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void set_str(char **dst, const char *v)
{
    free(*dst);
    *dst = v && *v ? ostel_xstrdup(v) : NULL;
}

int ostel_study_spec_set_quality(struct ostel_study_spec *s, const char *key, const char *value,
                                 char *err, size_t err_size)
{
    int64_t v;
    if (strcmp(key, "quality") == 0) {
        if (!strcmp(value, "on") || !strcmp(value, "true") || !strcmp(value, "1") ||
            !strcmp(value, "yes"))
            s->quality = true;
        else if (!strcmp(value, "off") || !strcmp(value, "false") || !strcmp(value, "0") ||
                 !strcmp(value, "no"))
            s->quality = false;
        else {
            snprintf(err, err_size, "quality: '%s' is not on or off", value);
            return -1;
        }
    } else if (strcmp(key, "quality_base") == 0) {
        set_str(&s->quality_base, value);
    } else if (strcmp(key, "quality_text") == 0) {
        set_str(&s->quality_text, value);
        s->quality = s->quality || s->quality_text != NULL;
    } else if (strcmp(key, "quality_chunks") == 0) {
        if (!ostel_parse_i64(value, 0, 1 << 24, &v)) {
            snprintf(err, err_size, "quality_chunks: '%s' is not a number of chunks", value);
            return -1;
        }
        s->quality_chunks = v;
    } else if (strcmp(key, "quality_ctx") == 0) {
        if (!ostel_parse_i64(value, 16, 1 << 24, &v)) {
            snprintf(err, err_size, "quality_ctx: '%s' is not a context from 16 tokens", value);
            return -1;
        }
        s->quality_ctx = v;
    } else {
        snprintf(err, err_size, "unknown key '%s'", key);
        return -1;
    }
    return 0;
}

int ostel_study_run_quality(const struct ostel_study_spec *s, struct ostel_store *store,
                            int64_t study_id, bool quiet, bool progress_bar)
{
    if (!s->quality_text) {
        ostel_error("study: quality needs a text (quality_text = FILE / --quality-text FILE): "
                    "ostel downloads none");
        return 2;
    }
    char *dir = ostel_xasprintf("%s/quality", s->dir);
    struct ostel_quality_spec q;
    memset(&q, 0, sizeof(q));
    q.models = (const char *const *)s->models.v;
    q.tags = (const char *const *)s->tags.v;
    q.n_models = s->models.n;
    q.base = s->quality_base;
    q.text = s->quality_text;
    q.ctx = s->quality_ctx > 0 ? s->quality_ctx : 512;
    q.chunks = s->quality_chunks;
    q.dir = dir;
    q.llama_bin = s->llama_bin;
    q.interval_ns = s->interval_ns;
    q.timeout_ns = s->timeout_ns;
    q.store = store;
    q.study_id = study_id;
    q.quiet = quiet;
    q.progress_bar = progress_bar;
    q.ostel_cmdline = "ostel study --quality";
    const char *fb = getenv("OSTEL_QUALITY_FREE_BYTES");
    uint64_t u;
    if (fb && ostel_parse_size_bytes(fb, &u))
        q.free_bytes = u;
    int rc = ostel_quality_execute(&q);
    free(dir);
    return rc;
}
