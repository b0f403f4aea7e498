/*
 * store_query: small read-only lookups over the results database for commands that select runs
 * (`ostel report --db FILE --study ID|NAME`). Kept apart from store.c, which writes; like the rest
 * of src/store/ it is the only kind of code that speaks SQL.
 */
#ifndef OSTEL_STORE_QUERY_H
#define OSTEL_STORE_QUERY_H

#include "store/store.h"

/*
 * Finds a study by its id (all digits, an existing id) or else by its name. Returns OSTEL_OK with
 * *study_id set, or prints one error naming the database and returns OSTEL_ERR: no such study (the
 * message lists the studies it holds, up to ten), or a name that several studies share (it lists
 * their ids: pick one). `key` is borrowed.
 */
int ostel_store_find_study(struct ostel_store *s, const char *key, int64_t *study_id);

#endif
