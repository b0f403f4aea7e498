/*
 * store_quality: the quality table — one row per quality pass (ostel quality, study --quality),
 * from summary.json's "quality" section (role, key, settings: src/quality/) and the log parser's
 * "llama.perplexity" figures (src/llama/logparse.c), stored as printed, never recomputed.
 */
#include "store/store_internal.h"

#include <cJSON.h>
#include <string.h>

/* column, and where its value is: 'q' the quality section, 'p' llama.perplexity; 's'/'n'/'b' */
static const struct {
    const char *col;
    char where, kind;
    const char *key;
} cols[] = {
    {"role", 'q', 's', "role"},
    {"quality_key", 'q', 's', "key"},
    {"ok", 'q', 'b', "ok"},
    {"error", 'q', 's', "error"},
    {"base_model", 'q', 's', "base_model"},
    {"base_tag", 'q', 's', "base_tag"},
    {"file_type", 'q', 's', "file_type"},
    {"text", 'q', 's', "text"},
    {"text_fnv", 'q', 's', "text_fnv"},
    {"text_tokens", 'q', 'n', "text_tokens"},
    {"ctx", 'q', 'n', "ctx"},
    {"batch", 'q', 'n', "batch"},
    {"ubatch", 'q', 'n', "ubatch"},
    {"chunks", 'q', 'n', "chunks"},
    {"scored_tokens", 'q', 'n', "scored_tokens"},
    {"synthetic", 'q', 'b', "synthetic"},
    {"ppl", 'p', 'n', NULL}, /* the base's "Final estimate", a candidate's "Mean PPL(Q)" */
    {"ppl_stderr", 'p', 'n', NULL},
    {"ppl_base", 'p', 'n', "mean_ppl_base"},
    {"ppl_base_stderr", 'p', 'n', "mean_ppl_base_stderr"},
    {"ppl_ratio", 'p', 'n', "ppl_ratio"},
    {"ppl_ratio_stderr", 'p', 'n', "ppl_ratio_stderr"},
    {"ppl_diff", 'p', 'n', "ppl_diff"},
    {"ppl_diff_stderr", 'p', 'n', "ppl_diff_stderr"},
    {"ln_ppl_ratio", 'p', 'n', "ln_ppl_ratio"},
    {"ln_ppl_ratio_stderr", 'p', 'n', "ln_ppl_ratio_stderr"},
    {"ppl_cor_pct", 'p', 'n', "ppl_cor_pct"},
    {"kld_mean", 'p', 'n', "kld_mean"},
    {"kld_mean_stderr", 'p', 'n', "kld_mean_stderr"},
    {"kld_median", 'p', 'n', "kld_median"},
    {"kld_p99", 'p', 'n', "kld_p99"},
    {"kld_p99_9", 'p', 'n', "kld_p99_9"},
    {"kld_max", 'p', 'n', "kld_max"},
    {"same_top_p_pct", 'p', 'n', "same_top_p_pct"},
    {"same_top_p_stderr", 'p', 'n', "same_top_p_stderr"},
    {"rms_dp_pct", 'p', 'n', "rms_dp_pct"},
    {"rms_dp_stderr", 'p', 'n', "rms_dp_stderr"},
    {"mean_dp_pct", 'p', 'n', "mean_dp_pct"},
    {"mean_dp_stderr", 'p', 'n', "mean_dp_stderr"},
};

int ostel_store_insert_quality(struct ostel_store *s, const cJSON *doc, int64_t run_id)
{
    const cJSON *q = cJSON_GetObjectItem(doc, "quality");
    if (!cJSON_IsObject(q))
        return OSTEL_OK;
    const cJSON *role = cJSON_GetObjectItem(q, "role");
    if (!cJSON_IsString(role))
        return OSTEL_OK; /* not a shape this version wrote: kept in summary_json only */
    const cJSON *p = cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "llama"), "perplexity");
    bool base = strcmp(role->valuestring, "base") == 0;
    char sql[2048] = "INSERT INTO quality(run_id";
    size_t n = strlen(sql);
    for (size_t i = 0; i < OSTEL_ARRAY_LEN(cols); i++)
        n += (size_t)snprintf(sql + n, sizeof(sql) - n, ", %s", cols[i].col);
    n += (size_t)snprintf(sql + n, sizeof(sql) - n, ") VALUES(?");
    for (size_t i = 0; i < OSTEL_ARRAY_LEN(cols); i++)
        n += (size_t)snprintf(sql + n, sizeof(sql) - n, ",?");
    snprintf(sql + n, sizeof(sql) - n, ")");
    OSTEL_ASSERT(n + 2 < sizeof(sql));
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
        return ostel_store_sql_error(s, "preparing the quality insert");
    sqlite3_bind_int64(st, 1, run_id);
    for (size_t i = 0; i < OSTEL_ARRAY_LEN(cols); i++) {
        const char *key = cols[i].key;
        if (!key) /* ppl, ppl_stderr */
            key = strcmp(cols[i].col, "ppl") == 0 ? (base ? "ppl" : "mean_ppl_q")
                                                  : (base ? "ppl_stderr" : "mean_ppl_q_stderr");
        const cJSON *v = cJSON_GetObjectItem(cols[i].where == 'q' ? q : p, key);
        int at = (int)i + 2;
        if (cols[i].kind == 's' && cJSON_IsString(v))
            sqlite3_bind_text(st, at, v->valuestring, -1, SQLITE_TRANSIENT);
        else if (cols[i].kind == 'n' && cJSON_IsNumber(v))
            sqlite3_bind_double(st, at, v->valuedouble);
        else if (cols[i].kind == 'b' && cJSON_IsBool(v))
            sqlite3_bind_int(st, at, cJSON_IsTrue(v));
    }
    int rc = sqlite3_step(st) == SQLITE_DONE
                 ? OSTEL_OK
                 : ostel_store_sql_error(s, "inserting the quality row");
    sqlite3_finalize(st);
    return rc;
}
