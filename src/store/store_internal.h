/*
 * store_internal: the store handle's layout, shared by store.c and store_export.c only.
 */
#ifndef OSTEL_STORE_INTERNAL_H
#define OSTEL_STORE_INTERNAL_H

#include "store/store.h"

#include <sqlite3.h>

/* Statements prepared once per handle and reused (reset + rebind) for every run. */
enum store_stmt {
    STMT_FIND_RUN,
    STMT_INSERT_RUN,
    STMT_INSERT_SAMPLE,
    STMT_INSERT_PHASE,
    STMT_INSERT_MEMORY,
    STMT_INSERT_SCENARIO,
    STMT_INSERT_MACHINE,
    STMT_FIND_MACHINE,
    STMT_TOUCH_MACHINE,
    STMT_COUNT
};

struct ostel_store {
    sqlite3 *db;
    char *path;
    bool readonly;
    bool in_tx;
    bool in_batch; /* in_tx belongs to ostel_store_batch_begin: each import is a savepoint */
    sqlite3_stmt *stmt[STMT_COUNT]; /* lazily prepared; finalized by close */
};

/* Prints "<what>: <sqlite message>" as an error; returns OSTEL_ERR. */
int ostel_store_sql_error(struct ostel_store *s, const char *what);

#endif
