/*
 * quality_study: `ostel study --quality` — the study's quality passes, which run after the measured
 * runs with the same mechanism as `ostel quality` (quality.c), into the study's quality/ directory
 * and its database. The quality keys are rows of the study's key table (run/study_spec.c).
 */
#include "quality/quality_study.h"
#include "quality/quality.h"
#include "util/opt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ostel_quality_study_run(const struct ostel_study_spec *s, struct ostel_store *store,
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
    q.batch = s->quality_batch;
    q.ubatch = s->quality_ubatch;
    q.keep_logits = s->quality_keep_logits;
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
