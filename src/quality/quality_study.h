/*
 * quality_study: `ostel study --quality` — the study's quality passes (quality_study.c), reached by
 * run/study.c through its options' run_quality callback, which cmd/cmd_study.c sets: run/ may not
 * call into quality/, a sibling on its floor.
 */
#ifndef OSTEL_QUALITY_STUDY_H
#define OSTEL_QUALITY_STUDY_H

#include "run/study.h"

#include <stdbool.h>
#include <stdint.h>

struct ostel_store;

/* Runs the study's quality passes into DIR/quality, storing them under study_id in store (both
 * borrowed; after the study's runs). Returns what ostel_quality_execute() returns (2 when the spec
 * names no text). */
int ostel_quality_study_run(const struct ostel_study_spec *s, struct ostel_store *store,
                            int64_t study_id, bool quiet, bool progress_bar);

#endif
