/*
 * store_serve: `ostel serve`'s files in the store — requests.csv into `requests`, summary.json's
 * serve.levels into `serve_levels`. requests.csv is read by its one reader, rundir_requests.h
 * (fuzzed by tests/fuzz/fuzz_requests.c).
 */
#ifndef OSTEL_STORE_SERVE_H
#define OSTEL_STORE_SERVE_H

#include "store/store.h"
#include "util/util.h"

#include <cJSON.h>

/* Inside an import's transaction: DIR/requests.csv (when present) and summary's serve.levels.
 * Returns 0 or OSTEL_ERR after printing why. */
int ostel_store_insert_serve(struct ostel_store *s, const char *dir, const cJSON *summary,
                             int64_t run_id);

#endif
