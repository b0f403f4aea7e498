/*
 * quality: the probe, the base pass and the KLD passes (see quality.h and docs/quality.md).
 *
 * The pinned llama-perplexity reports several faults only as a log line and goes on or exits 0
 * (a text shorter than two contexts, a logits file of another vocabulary or context), so every
 * check that can be made before a pass is made here (the text's token count from a probe, the
 * logits file's header and size, each model's vocabulary from its GGUF), and after a pass its log
 * (the parser's "perplexity.error") and its logits file's size decide whether it succeeded.
 *
 * Process-wide state: the SIGINT/SIGTERM flag between passes, as in the study; the runner keeps its
 * own during a pass.
 */
#include "quality/quality.h"

#include "llama/gguf_facts.h"
#include "llama/llama_tools.h"
#include "llama/logparse.h"
#include "run/llama_cmd.h"
#include "run/runner.h"
#include "run/study.h"
#include "rundir/rundir_files.h"
#include "store/store.h"
#include "util/fileio.h"
#include "util/names.h"
#include "util/util.h"

#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#define TEXT_MAX_BYTES ((size_t)1 << 30)
#define SYNTH_NAME_MARK "(ostel synth)" /* what `ostel synth` puts in general.name */

/* ---------- pure parts ---------- */

uint64_t ostel_quality_scored_tokens(uint64_t n_ctx, uint64_t n_chunk)
{
    if (n_ctx < 2)
        return 0;
    uint64_t per = n_ctx - 1 - n_ctx / 2, out;
    return ostel_mul_u64(per, n_chunk, &out) ? out : 0;
}

uint64_t ostel_quality_logits_bytes(uint64_t n_vocab, uint64_t n_ctx, uint64_t n_chunk)
{
    uint64_t nv = 2 * ((n_vocab + 1) / 2) + 4, tok, scored_u16, a, b, total;
    uint64_t scored = ostel_quality_scored_tokens(n_ctx, n_chunk);
    if (n_vocab > UINT32_MAX || !ostel_mul_u64(n_ctx, n_chunk, &tok) ||
        !ostel_mul_u64(tok, 4, &a) || !ostel_mul_u64(scored, nv, &scored_u16) ||
        !ostel_mul_u64(scored_u16, 2, &b) || !ostel_add_u64(a, b, &total) ||
        !ostel_add_u64(total, 20, &total))
        return 0;
    return total;
}

uint64_t ostel_quality_chunks(uint64_t tokens, uint64_t n_ctx, long long max_chunks)
{
    if (n_ctx == 0 || tokens < 2 * n_ctx)
        return 0;
    uint64_t n = tokens / n_ctx;
    if (max_chunks > 0 && (uint64_t)max_chunks < n)
        n = (uint64_t)max_chunks;
    return n;
}

double ostel_quality_eta_s(double work_s, double chunk_s, double now_s, uint64_t done,
                           uint64_t total)
{
    if (done == 0 || total == 0 || isnan(chunk_s) || isnan(now_s))
        return NAN;
    if (done >= total)
        return 0;
    if (isnan(work_s) || work_s < 0 || work_s >= chunk_s)
        work_s = 0; /* the load unknown (or later than the chunk: a clock oddity): count it */
    double per = (chunk_s - work_s) / (double)done;
    double left = per * (double)total - (now_s - work_s);
    return left > 0 ? left : 0;
}

static uint32_t rd_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int ostel_quality_logits_header_parse(const void *data, size_t len, uint64_t file_bytes,
                                      struct ostel_quality_logits_header *h, char *err,
                                      size_t err_size)
{
    const unsigned char *p = data;
    memset(h, 0, sizeof(*h));
    if (!data || len < 20 || file_bytes < 20) {
        snprintf(err, err_size, "truncated: %llu bytes, not even a header",
                 (unsigned long long)file_bytes);
        return OSTEL_ERR;
    }
    if (memcmp(p, "_logits_", 8) != 0) {
        snprintf(err, err_size, "not a llama-perplexity logits file (no _logits_ magic)");
        return OSTEL_ERR;
    }
    h->n_ctx = rd_u32(p + 8);
    h->n_vocab = (int32_t)rd_u32(p + 12);
    h->n_chunk = (int32_t)rd_u32(p + 16);
    if (h->n_ctx < 2 || h->n_ctx > (1u << 24) || h->n_vocab <= 0 || h->n_chunk <= 0) {
        snprintf(err, err_size, "implausible header (n_ctx %u, n_vocab %d, n_chunk %d)", h->n_ctx,
                 h->n_vocab, h->n_chunk);
        return OSTEL_ERR;
    }
    uint64_t want =
        ostel_quality_logits_bytes((uint64_t)h->n_vocab, h->n_ctx, (uint64_t)h->n_chunk);
    if (want == 0 || file_bytes != want) {
        snprintf(err, err_size, "%s: %llu of %llu bytes (n_ctx %u, n_vocab %d, %d chunks)",
                 file_bytes < want ? "truncated" : "longer than its header says",
                 (unsigned long long)file_bytes, (unsigned long long)want, h->n_ctx, h->n_vocab,
                 h->n_chunk);
        return OSTEL_ERR;
    }
    return 0;
}

/* ---------- execution ---------- */

static volatile sig_atomic_t g_quality_signal;

static void on_quality_signal(int sig)
{
    g_quality_signal = sig;
}

struct qmodel {
    const char *path;
    char *tag;
    uint32_t n_vocab;
    double bpw;
    char ftype[64];
    bool synthetic;
    bool candidate;
    char key[17]; /* the pass's own key: the base key and this file's path, size and mtime */
    struct ostel_gguf_run_facts facts; /* from the one read of its header, for each pass's runner */
};

struct qctx {
    const struct ostel_quality_spec *q;
    struct qmodel *m;
    size_t n, base;
    char *tool_path, *llama_version;
    char key[17], text_hash[17];
    char *logits, *partial, *sidecar;
    uint64_t tokens, n_chunk, logits_bytes;
    double probe_chunk_s;        /* one chunk of the base model in the probe; NAN unknown */
    double probe_load_s;         /* the probe's model load (its log's load time); NAN unknown */
    long long n_batch, n_ubatch; /* what the base pass's log says llama.cpp used; 0 unknown */
    size_t failed;
    /* progress of the pass in flight */
    const char *label;
    size_t pass_i, pass_n;
    double pass_t0, work_t0, chunk_t, drawn_t;
    uint64_t chunks_done;
    char line[512];
    size_t linelen;
};

static char *default_tag(const char *path)
{
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    size_t n = strlen(b);
    if (n > 5 && strcmp(b + n - 5, ".gguf") == 0)
        n -= 5;
    return ostel_xstrndup(b, n);
}

static int read_model(struct qmodel *m, const char *path)
{
    struct ostel_gguf g;
    char err[256];
    m->path = path;
    if (!ostel_is_file(path))
        return ostel_error("quality: model '%s' not found", path);
    if (ostel_gguf_read_file(&g, path, err, sizeof(err)) != 0) {
        ostel_gguf_free(&g);
        return ostel_error("quality: '%s' is not a usable GGUF model: %s", path, err);
    }
    ostel_gguf_run_facts_from(&m->facts, &g, path);
    struct ostel_gguf_model gm;
    ostel_gguf_model_init(&gm, &g);
    m->n_vocab = gm.n_vocab;
    m->bpw = gm.bpw;
    snprintf(m->ftype, sizeof(m->ftype), "%s", gm.file_type_name ? gm.file_type_name : "?");
    m->synthetic = gm.name && strstr(gm.name, SYNTH_NAME_MARK) != NULL;
    ostel_gguf_model_free(&gm);
    ostel_gguf_free(&g);
    if (m->n_vocab == 0)
        return ostel_error("quality: '%s' holds no vocabulary (tokenizer.ggml.tokens)", path);
    return OSTEL_OK;
}

static bool same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

static void fmt_bytes(uint64_t b, char *out, size_t n)
{
    if (b >= (1ull << 30))
        snprintf(out, n, "%.2f GiB", (double)b / (double)(1ull << 30));
    else if (b >= (1ull << 20))
        snprintf(out, n, "%.1f MiB", (double)b / (double)(1ull << 20));
    else
        snprintf(out, n, "%.1f KiB", (double)b / 1024.0);
}

static void fmt_eta(double s, char *out, size_t n)
{
    if (!(s >= 0) || s > 1e7)
        snprintf(out, n, "?");
    else if (s >= 3600)
        snprintf(out, n, "%dh%02dm", (int)(s / 3600), (int)(fmod(s, 3600) / 60));
    else if (s >= 60)
        snprintf(out, n, "%dm%02ds", (int)(s / 60), (int)fmod(s, 60));
    else
        snprintf(out, n, "%.0fs", s);
}

/* ---------- progress: llama-perplexity's chunk counter, read from its output ---------- */

static void progress_draw(struct qctx *c)
{
    if (c->q->quiet || !c->q->progress_bar)
        return;
    char eta[32] = "?";
    double now = ostel_mono_s();
    c->drawn_t = now;
    fmt_eta(ostel_quality_eta_s(c->work_t0 - c->pass_t0, c->chunk_t - c->pass_t0, now - c->pass_t0,
                                c->chunks_done, c->n_chunk),
            eta, sizeof(eta));
    fprintf(stderr, "\r\033[Kquality: [%zu/%zu] %s: chunk %llu/%llu, ETA %s", c->pass_i, c->pass_n,
            c->label, (unsigned long long)c->chunks_done, (unsigned long long)c->n_chunk, eta);
}

static void progress_chunk(struct qctx *c, uint64_t done)
{
    if (done <= c->chunks_done)
        return;
    c->chunk_t = ostel_mono_s();
    c->chunks_done = done;
    progress_draw(c);
}

/* Every wake-up of the runner (at least every 100 ms): the ETA counts down between chunks. */
static void on_tick(void *ctx)
{
    struct qctx *c = ctx;
    if (ostel_mono_s() - c->drawn_t >= 1.0)
        progress_draw(c);
}

/* A KLD pass prints one table row per chunk: "%4d    %9.4lf ± %9.4lf ..." */
static void progress_line(struct qctx *c, const char *l)
{
    /* "perplexity: calculating perplexity over 4 chunks", "kl_divergence: computing over 4
     * chunks": the model is loaded and the text tokenized; the work begins */
    if (c->chunks_done == 0 && (strstr(l, "perplexity over ") || strstr(l, "computing over ")) &&
        strstr(l, " chunks")) {
        c->work_t0 = ostel_mono_s();
        return;
    }
    char *e;
    while (*l == ' ')
        l++;
    long v = strtol(l, &e, 10);
    if (e == l || v <= 0 || strncmp(e, "    ", 4) != 0 || !strstr(e, "\xc2\xb1"))
        return;
    progress_chunk(c, (uint64_t)v);
}

static void on_output(void *ctx, const char *data, size_t n)
{
    struct qctx *c = ctx;
    for (size_t i = 0; i < n; i++) {
        char ch = data[i];
        /* the base pass prints "[1]12.3456,[2]..." on one line */
        if (ch == ']' && c->linelen > 0) {
            size_t j = c->linelen;
            while (j > 0 && c->line[j - 1] >= '0' && c->line[j - 1] <= '9')
                j--;
            if (j > 0 && j < c->linelen && c->line[j - 1] == '[' && c->linelen - j <= 9) {
                /* the digits end here: the buffer holds an earlier, longer line's bytes after
                 * them, not a NUL (strtoull read "[1" as 100 after a line with "00" there) */
                uint64_t v = 0;
                for (size_t d = j; d < c->linelen; d++)
                    v = v * 10 + (uint64_t)(c->line[d] - '0');
                progress_chunk(c, v);
            }
        }
        if (ch == '\n' || c->linelen + 1 >= sizeof(c->line)) {
            c->line[c->linelen] = '\0';
            progress_line(c, c->line);
            c->linelen = 0;
            continue;
        }
        c->line[c->linelen++] = ch;
    }
}

/* ---------- run directories ---------- */

/* Removes a pass directory that ostel wrote (a run directory's files only). */
static int remove_pass_dir(const char *dir)
{
    return ostel_rundir_remove(dir, NULL);
}

/* A pass is done when its summary says so under this key. */
static bool pass_done(const char *dir, const char *key)
{
    struct ostel_summary sum;
    char err[160];
    (void)ostel_summary_read(dir, &sum, err, sizeof(err)); /* none or unreadable: not done */
    const cJSON *qs = ostel_summary_section(&sum, "quality");
    const cJSON *k = cJSON_GetObjectItem(qs, "key");
    bool ok = cJSON_IsString(k) && strcmp(k->valuestring, key) == 0 &&
              cJSON_IsTrue(cJSON_GetObjectItem(qs, "ok"));
    ostel_summary_free(&sum);
    return ok;
}

static char *pass_dir(const struct qctx *c, const char *role, size_t m)
{
    return ostel_xasprintf("%s/%s-%s-%.8s", c->q->dir, role, c->m[m].tag, c->key);
}

/* ---------- the logits file ---------- */

static char *sidecar_text(const struct qctx *c)
{
    const struct ostel_quality_spec *q = c->q;
    return ostel_xasprintf("key=%s\nbase=%s\ntext=%s\ntext_fnv=%s\nctx=%lld\nbatch=%lld\n"
                           "ubatch=%lld\nchunks=%lld\n",
                           c->key, c->m[c->base].path, q->text, c->text_hash, q->ctx, q->batch,
                           q->ubatch, q->chunks);
}

/* The first line of `have` that `want` lacks: "ctx=256 where this run has ctx=128". */
static void first_difference(const char *have, const char *want, char *out, size_t n)
{
    snprintf(out, n, "no settings record");
    while (*have) {
        size_t len = strcspn(have, "\n");
        size_t klen = strcspn(have, "=");
        const char *w = want;
        bool found = false;
        while (*w && !found) {
            size_t wl = strcspn(w, "\n");
            if (wl == len && memcmp(w, have, len) == 0)
                found = true;
            else if (!found && klen < len && strncmp(w, have, klen + 1) == 0) {
                snprintf(out, n, "%.*s where this run has %.*s", (int)len, have, (int)wl, w);
                return;
            }
            w += wl + (w[wl] == '\n');
        }
        if (!found) {
            snprintf(out, n, "%.*s", (int)len, have);
            return;
        }
        have += len + (have[len] == '\n');
    }
}

/*
 * Checks an existing logits file: its sidecar names this key (else it was made from another base,
 * text or settings: the differing lines are named), its header and size agree. 1 = usable,
 * 0 = absent, OSTEL_ERR = refused (printed).
 */
static int logits_check(const struct qctx *c)
{
    struct stat st;
    if (stat(c->logits, &st) != 0)
        return 0;
    struct ostel_buf b;
    ostel_buf_init(&b, 1 << 16);
    char *want = sidecar_text(c);
    int rc = 1;
    if (!ostel_is_file(c->sidecar) || ostel_file_read_all(c->sidecar, 1 << 16, &b) != 0 ||
        strcmp(b.data, want) != 0) {
        char diff[256];
        first_difference(b.data ? b.data : "", want, diff, sizeof(diff));
        rc = ostel_error("quality: '%s' was made from another base model, text or settings "
                         "(%s, in '%s'): remove it",
                         c->logits, diff, c->sidecar);
    } else {
        unsigned char hdr[20];
        int fd = open(c->logits, O_RDONLY | O_CLOEXEC);
        ssize_t r = fd >= 0 ? read(fd, hdr, sizeof(hdr)) : -1;
        if (fd >= 0)
            close(fd);
        struct ostel_quality_logits_header h;
        char err[256];
        if (ostel_quality_logits_header_parse(hdr, r > 0 ? (size_t)r : 0, (uint64_t)st.st_size, &h,
                                              err, sizeof(err)) != 0)
            rc = ostel_error("quality: base logits '%s' refused: %s", c->logits, err);
        else if (h.n_ctx != (uint32_t)c->q->ctx)
            rc = ostel_error("quality: base logits '%s' were computed with a context of %u, not "
                             "%lld",
                             c->logits, h.n_ctx, c->q->ctx);
        else if ((uint32_t)h.n_vocab != c->m[c->base].n_vocab)
            rc = ostel_error("quality: base logits '%s' have a vocabulary of %d tokens, the base "
                             "model %u",
                             c->logits, h.n_vocab, c->m[c->base].n_vocab);
    }
    free(want);
    ostel_buf_free(&b);
    return rc;
}

static void logits_remove(const struct qctx *c)
{
    unlink(c->partial);
    unlink(c->logits);
    unlink(c->sidecar);
}

/* ---------- one pass ---------- */

/* PASS_REFUSED: a candidate refused before llama-perplexity runs; its run directory records the
 * refusal (a shell prints the reason into the log and exits 1: status failed). */
enum pass_kind { PASS_PROBE, PASS_BASE, PASS_KLD, PASS_REFUSED };

static char **pass_argv(const struct qctx *c, enum pass_kind k, size_t m, const char *why)
{
    const struct ostel_quality_spec *q = c->q;
    char **v = ostel_xcalloc(32, sizeof(char *));
    size_t i = 0;
    if (k == PASS_REFUSED) {
        v[i++] = ostel_xstrdup("/bin/sh");
        v[i++] = ostel_xstrdup("-c");
        v[i++] = ostel_xstrdup("printf 'ostel quality: %s was not run: %s\\n' \"$1\" \"$2\" >&2; "
                               "exit 1");
        v[i++] = ostel_xstrdup("ostel-quality-refused");
        v[i++] = ostel_xstrdup(c->m[m].path);
        v[i++] = ostel_xstrdup(why);
        return v;
    }
    v[i++] = ostel_xstrdup(c->tool_path);
    v[i++] = ostel_xstrdup("-m");
    v[i++] = ostel_xstrdup(c->m[m].path);
    v[i++] = ostel_xstrdup("-f");
    v[i++] = ostel_xstrdup(q->text);
    v[i++] = ostel_xstrdup("-c");
    v[i++] = ostel_xasprintf("%lld", q->ctx);
    if (k == PASS_PROBE) {
        /* perplexity_v2 prints "have N tokens" (or "tokenizes to only N tokens") right after
         * tokenizing; --chunks 1 then evaluates one chunk, which keeps the process alive long
         * enough for its logger to print that line (it loses what is queued at exit). -b = -c
         * keeps it to one sequence. */
        v[i++] = ostel_xstrdup("-b");
        v[i++] = ostel_xasprintf("%lld", q->ctx);
        v[i++] = ostel_xstrdup("-ub");
        v[i++] = ostel_xasprintf("%lld", q->ubatch > 0 && q->ubatch < q->ctx ? q->ubatch : q->ctx);
        v[i++] = ostel_xstrdup("--ppl-stride");
        v[i++] = ostel_xstrdup("1");
        v[i++] = ostel_xstrdup("--chunks");
        v[i++] = ostel_xstrdup("1");
    } else {
        if (q->batch > 0) {
            v[i++] = ostel_xstrdup("-b");
            v[i++] = ostel_xasprintf("%lld", q->batch);
        }
        if (q->ubatch > 0) {
            v[i++] = ostel_xstrdup("-ub");
            v[i++] = ostel_xasprintf("%lld", q->ubatch);
        }
        if (q->chunks > 0) {
            v[i++] = ostel_xstrdup("--chunks");
            v[i++] = ostel_xasprintf("%lld", q->chunks);
        }
        v[i++] = ostel_xstrdup("--kl-divergence-base");
        v[i++] = ostel_xstrdup(k == PASS_BASE ? c->partial : c->logits);
        if (k == PASS_KLD)
            v[i++] = ostel_xstrdup("--kl-divergence");
    }
    /* the pinned build prints the model, buffer and memory-breakdown lines only at -lv 4 */
    v[i++] = ostel_xstrdup("-lv");
    v[i++] = ostel_xstrdup("4");
    v[i] = NULL;
    return v;
}

static void argv_free(char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

struct pass_out {
    struct ostel_run_result res;
    struct ostel_log_perplexity ppl; /* the parser's figures and error */
    double load_s;                   /* the log's load time; NAN when not printed */
    long long n_batch, n_ubatch;     /* llama_context's n_batch, n_ubatch; 0 when not printed */
    bool parsed;
    bool log_read;    /* the log was read (by the pass's before_summary) */
    bool logits_kept; /* the base pass's logits were renamed into place with their sidecar */
    int keep_errno;   /* why they could not be, or 0 */
    char *dir;
};

/* Frees what a pass's outcome owns (its directory's name, the runner's result). */
static void pass_out_free(struct pass_out *o)
{
    free(o->dir);
    o->dir = NULL;
    ostel_run_result_free(&o->res);
}

/* The pass's figures from the log parser's result, which the runner hands over (res.log): the log
 * is not parsed again. */
static void take_pass_log(struct pass_out *o, const struct ostel_run_result *res)
{
    o->log_read = true;
    const struct ostel_log_result *lr = res->log;
    if (!lr)
        return;
    o->ppl = lr->perplexity;
    o->load_s = lr->timings.load_ms.valid ? lr->timings.load_ms.value / 1000.0 : NAN;
    o->n_batch = lr->n_batch.valid ? (long long)lr->n_batch.value : 0;
    o->n_ubatch = lr->n_ubatch.valid ? (long long)lr->n_ubatch.value : 0;
    o->parsed = true;
}

/* The pass's "quality" section of summary.json: role, key, settings, outcome. */
static cJSON *quality_section(const struct qctx *c, const char *role, size_t m, bool ok,
                              const char *error, const struct pass_out *po)
{
    const struct ostel_quality_spec *q = c->q;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "role", role);
    cJSON_AddStringToObject(o, "key", c->m[m].key);
    cJSON_AddStringToObject(o, "base_key", c->key);
    cJSON_AddBoolToObject(o, "ok", ok);
    cJSON_AddItemToObject(o, "error", error ? cJSON_CreateString(error) : cJSON_CreateNull());
    cJSON_AddStringToObject(o, "base_model", c->m[c->base].path);
    cJSON_AddStringToObject(o, "base_tag", c->m[c->base].tag);
    cJSON_AddStringToObject(o, "base_file_type", c->m[c->base].ftype);
    cJSON_AddStringToObject(o, "file_type", c->m[m].ftype);
    cJSON_AddStringToObject(o, "text", q->text);
    cJSON_AddStringToObject(o, "text_fnv", c->text_hash);
    cJSON_AddNumberToObject(o, "text_tokens", (double)c->tokens);
    cJSON_AddNumberToObject(o, "ctx", (double)q->ctx);
    cJSON_AddItemToObject(o, "batch",
                          q->batch > 0 ? cJSON_CreateNumber((double)q->batch) : cJSON_CreateNull());
    cJSON_AddItemToObject(
        o, "ubatch", q->ubatch > 0 ? cJSON_CreateNumber((double)q->ubatch) : cJSON_CreateNull());
    /* what llama.cpp used (its log's llama_context lines): the default when -b/-ub are not set */
    cJSON_AddItemToObject(o, "n_batch",
                          po && po->n_batch > 0 ? cJSON_CreateNumber((double)po->n_batch)
                                                : cJSON_CreateNull());
    cJSON_AddItemToObject(o, "n_ubatch",
                          po && po->n_ubatch > 0 ? cJSON_CreateNumber((double)po->n_ubatch)
                                                 : cJSON_CreateNull());
    cJSON_AddNumberToObject(o, "chunks", (double)c->n_chunk);
    cJSON_AddNumberToObject(o, "scored_tokens",
                            (double)ostel_quality_scored_tokens((uint64_t)q->ctx, c->n_chunk));
    cJSON_AddNumberToObject(o, "logits_bytes", (double)c->logits_bytes);
    cJSON_AddBoolToObject(o, "synthetic", c->m[m].synthetic || c->m[c->base].synthetic);
    return o;
}

/*
 * Why a pass failed, or NULL: ostel's own files of the pass not written (a full disk, ulimit -f),
 * llama-perplexity's own error, its status, then its output: the base pass's logits file (which
 * llama-perplexity does not check its writes to: a full disk shows only in its size; not checked
 * once kept) and "Final estimate" line, a candidate's KL-divergence lines. buf (n bytes) holds the
 * text it returns.
 */
static const char *pass_verdict(const struct qctx *c, enum pass_kind k, const struct pass_out *o,
                                char *buf, size_t n)
{
    struct stat st;
    if (o->res.write_error[0]) {
        snprintf(buf, n, "%s (disk full?)", o->res.write_error);
        return buf;
    }
    if (o->ppl.error[0])
        return o->ppl.error;
    if (o->res.status != OSTEL_RUN_OK) {
        snprintf(buf, n, "llama-perplexity ended %s", ostel_run_status_name(o->res.status));
        return buf;
    }
    if (k == PASS_BASE && !o->logits_kept &&
        (stat(c->partial, &st) != 0 || (uint64_t)st.st_size != c->logits_bytes)) {
        snprintf(buf, n, "the logits file has %lld of %llu bytes (disk full?)",
                 stat(c->partial, &st) == 0 ? (long long)st.st_size : -1LL,
                 (unsigned long long)c->logits_bytes);
        return buf;
    }
    if (k == PASS_BASE && !o->ppl.ppl.valid)
        return "llama-perplexity printed no final estimate of the PPL";
    if (k == PASS_KLD && !o->ppl.kld_mean.valid)
        return "llama-perplexity printed no KL-divergence statistics";
    return NULL;
}

/* A pass's before_summary (runner.h): what a pass needs to know to judge it, so that its
 * "quality" section goes into summary.json's one write. */
struct pass_hook {
    struct qctx *c;
    enum pass_kind k;
    size_t m;
    const char *why; /* a refused pass's reason */
    struct pass_out *o;
};

/*
 * Reads the pass's log, judges it (pass_verdict) and adds its "quality" section to the summary the
 * runner is about to write. A base pass that succeeded gets its logits kept here, first (the
 * sidecar, then the rename): its section says ok only once they are. An interrupted pass, or a base
 * pass whose logits could not be kept (o->keep_errno), gets no section, so a later invocation does
 * it again.
 */
static void pass_before_summary(void *arg, struct ostel_summary *sum,
                                const struct ostel_run_result *res)
{
    struct pass_hook *h = arg;
    struct qctx *c = h->c;
    struct pass_out *o = h->o;
    if (res->status == OSTEL_RUN_INTERRUPTED)
        return;
    take_pass_log(o, res);
    if (h->k == PASS_REFUSED) {
        ostel_summary_set_section(sum, "quality",
                                  quality_section(c, "candidate", h->m, false, h->why, NULL));
        return;
    }
    char buf[512];
    const char *why = pass_verdict(c, h->k, o, buf, sizeof(buf));
    if (!why && h->k == PASS_BASE) {
        char *side = sidecar_text(c);
        if (ostel_file_write_atomic(c->sidecar, side, strlen(side)) != 0 ||
            rename(c->partial, c->logits) != 0)
            o->keep_errno = errno ? errno : EIO;
        else
            o->logits_kept = true;
        free(side);
        if (o->keep_errno)
            return;
    }
    ostel_summary_set_section(
        sum, "quality",
        quality_section(c, h->k == PASS_BASE ? "base" : "candidate", h->m, why == NULL, why, o));
}

/* Runs one pass into o->dir (made fresh). Returns 0 when the run directory is complete. */
static int run_pass(struct qctx *c, enum pass_kind k, size_t m, struct pass_out *o, const char *why)
{
    const struct ostel_quality_spec *q = c->q;
    if (ostel_is_dir(o->dir) && remove_pass_dir(o->dir) != 0)
        return OSTEL_ERR;
    char **argv = pass_argv(c, k, m, why);
    struct ostel_run_spec rs;
    memset(&rs, 0, sizeof(rs));
    rs.dir = o->dir;
    rs.argv = argv;
    rs.tag = c->m[m].tag;
    rs.tool = k == PASS_REFUSED ? "command" : "llama-perplexity";
    rs.model = c->m[m].path;
    rs.model_facts = &c->m[m].facts;
    rs.ctx = q->ctx;
    rs.gen = -1;
    rs.prompt_desc = q->text;
    rs.scenario = "none";
    rs.llama_bin = q->llama_bin;
    rs.llama_version = c->llama_version;
    rs.ostel_cmdline = q->ostel_cmdline ? q->ostel_cmdline : "ostel quality";
    rs.interval_ns = q->interval_ns ? q->interval_ns : 100000000ull;
    rs.timeout_ns = q->timeout_ns;
    rs.quiet = true;
    if (k == PASS_BASE || k == PASS_KLD) {
        rs.on_output = on_output;
        rs.on_tick = on_tick;
        rs.on_output_ctx = c;
    }
    struct pass_hook hook = {c, k, m, why, o};
    if (k != PASS_PROBE) { /* the probe's directory is removed: it has no section */
        rs.before_summary = pass_before_summary;
        rs.before_summary_arg = &hook;
    }
    int rc;
    /* The pinned llama.cpp's logger can lose a process's last lines at exit (upstream issue 22142,
     * docs/STYLE.md), where the figures are: a pass that went well (exit 0, no error line) but
     * whose log lacks them (the base's "Final estimate", a candidate's KLD statistics, the probe's
     * token count) is run again, at most twice (the probe five times). The base pass's logits file
     * is written by llama-perplexity itself, not the logger, and is kept by each attempt. */
    for (int attempt = 0;; attempt++) {
        c->chunks_done = 0;
        c->linelen = 0;
        c->pass_t0 = ostel_mono_s();
        c->chunk_t = NAN;
        /* until the log says the work began: after the load the probe measured, if it did */
        c->work_t0 = c->pass_t0 + (isnan(c->probe_load_s) ? 0 : c->probe_load_s);
        if (k == PASS_BASE || k == PASS_KLD)
            progress_draw(c);
        memset(&o->ppl, 0, sizeof(o->ppl));
        o->load_s = NAN;
        o->n_batch = o->n_ubatch = 0;
        o->parsed = o->log_read = o->logits_kept = false;
        o->keep_errno = 0;
        ostel_run_result_free(&o->res);
        rc = ostel_runner_run(&rs, &o->res);
        if (!q->quiet && q->progress_bar && (k == PASS_BASE || k == PASS_KLD))
            fprintf(stderr, "\r\033[K");
        if (rc != 0)
            break;
        if (!o->log_read) /* the probe's (the others' were taken by pass_before_summary) */
            take_pass_log(o, &o->res);
        const struct ostel_log_perplexity *p = &o->ppl;
        bool complete = k == PASS_REFUSED || p->error[0] ||
                        (k == PASS_PROBE  ? p->tokens_have.valid
                         : k == PASS_BASE ? p->ppl.valid
                                          : p->kld_mean.valid);
        int attempts = k == PASS_PROBE ? 6 : 3; /* the probe is cheap and exits soonest */
        if (complete || o->res.status != OSTEL_RUN_OK || attempt + 1 >= attempts ||
            g_quality_signal)
            break;
        if (k != PASS_PROBE)
            ostel_warn("%s: llama.cpp's log lost its last lines (llama.cpp issue 22142); running "
                       "it again (attempt %d of %d)",
                       o->dir, attempt + 2, attempts);
        if (remove_pass_dir(o->dir) != 0) {
            rc = OSTEL_ERR;
            break;
        }
    }
    argv_free(argv);
    return rc;
}

/* Stores a pass (a study's), under its own key as the spec hash: one row per pass and candidate. */
static int store_pass(const struct qctx *c, const char *dir, size_t m)
{
    if (!c->q->store)
        return OSTEL_OK;
    struct ostel_store_import_opts io = {c->q->study_id, c->m[m].key};
    return ostel_store_import_run_dir(c->q->store, dir, &io, NULL) == OSTEL_ERR ? OSTEL_ERR
                                                                                : OSTEL_OK;
}

static int interrupted_rc(const struct pass_out *o)
{
    int sig = o->res.ostel_signal ? o->res.ostel_signal : SIGINT;
    return 128 + sig;
}

/* ---------- the probe: the text's token count, before anything is written ---------- */

static int probe(struct qctx *c)
{
    const struct ostel_quality_spec *q = c->q;
    struct stat st;
    /* every token is at least one byte (and a BOS is added): a text this short cannot do */
    if (stat(q->text, &st) == 0 && (long long)st.st_size + 1 < 2 * q->ctx)
        return ostel_error("quality: '%s' is too short: %lld bytes are at most %lld tokens, and a "
                           "context of %lld needs at least %lld (two contexts); give a longer "
                           "text or a smaller -c",
                           q->text, (long long)st.st_size, (long long)st.st_size + 1, q->ctx,
                           2 * q->ctx),
               1;
    struct pass_out o;
    memset(&o, 0, sizeof(o));
    o.dir = ostel_xasprintf("%s/probe-%.8s", q->dir, c->key);
    c->label = "counting the text's tokens";
    int rc = run_pass(c, PASS_PROBE, c->base, &o, NULL);
    if (rc != 0) {
        pass_out_free(&o);
        return 1;
    }
    if (o.res.status == OSTEL_RUN_INTERRUPTED) {
        pass_out_free(&o);
        return interrupted_rc(&o);
    }
    const struct ostel_log_perplexity *p = &o.ppl;
    if (!p->tokens_have.valid || p->tokens_have.value < 0) {
        ostel_error("quality: llama-perplexity did not print the text's token count (%s); its log "
                    "is in '%s'",
                    p->error[0] ? p->error : "its log lost its last lines", o.dir);
        pass_out_free(&o);
        return 1;
    }
    if (p->tokens_have.value < 2.0 * (double)q->ctx) {
        ostel_error("quality: '%s' is too short: it tokenizes to %.0f tokens, and a context of "
                    "%lld needs at least %lld (two contexts); give a longer text or a smaller -c",
                    q->text, p->tokens_have.value, q->ctx, 2 * q->ctx);
        pass_out_free(&o);
        return 1;
    }
    c->tokens = (uint64_t)p->tokens_have.value;
    c->probe_chunk_s = p->seconds_per_pass.valid ? p->seconds_per_pass.value : NAN;
    c->probe_load_s = o.load_s;
    remove_pass_dir(o.dir);
    pass_out_free(&o);
    c->n_chunk = ostel_quality_chunks(c->tokens, (uint64_t)q->ctx, q->chunks);
    c->logits_bytes =
        ostel_quality_logits_bytes(c->m[c->base].n_vocab, (uint64_t)q->ctx, c->n_chunk);
    return 0;
}

static int check_space(const struct qctx *c)
{
    const struct ostel_quality_spec *q = c->q;
    uint64_t avail = q->free_bytes;
    if (!avail) {
        struct statvfs sv;
        if (statvfs(q->dir, &sv) != 0)
            return ostel_error("quality: cannot read the free space of '%s': %s", q->dir,
                               strerror(errno));
        avail = (uint64_t)sv.f_bavail * (uint64_t)sv.f_frsize;
    }
    /* the pass directories need a little beside the logits */
    uint64_t need = c->logits_bytes + (8u << 20);
    if (need <= avail)
        return OSTEL_OK;
    char nb[32], ab[32], per[32];
    fmt_bytes(c->logits_bytes, nb, sizeof(nb));
    fmt_bytes(avail, ab, sizeof(ab));
    uint64_t one = ostel_quality_logits_bytes(c->m[c->base].n_vocab, (uint64_t)q->ctx, 1);
    fmt_bytes(one, per, sizeof(per));
    return ostel_error(
        "quality: the base logits need %s (%u vocabulary × %llu scored tokens × 2 "
        "bytes, %llu chunks of %lld) but '%s' has %s free; bound the work with "
        "--quality-chunks N (about %s a chunk) or choose another directory",
        nb, c->m[c->base].n_vocab,
        (unsigned long long)ostel_quality_scored_tokens((uint64_t)q->ctx, c->n_chunk),
        (unsigned long long)c->n_chunk, q->ctx, q->dir, ab, per);
}

/* ---------- the passes ---------- */

static int base_pass(struct qctx *c, size_t pass_n)
{
    const struct ostel_quality_spec *q = c->q;
    struct pass_out o;
    memset(&o, 0, sizeof(o));
    o.dir = pass_dir(c, "base", c->base);
    c->label = c->m[c->base].tag;
    c->pass_i = 1;
    c->pass_n = pass_n;
    unlink(c->partial);
    if (!q->quiet) {
        char nb[32];
        fmt_bytes(c->logits_bytes, nb, sizeof(nb));
        fprintf(stderr,
                "quality: base pass %s (%s): %llu chunks of %lld tokens of %llu, logits "
                "%s\n",
                c->m[c->base].tag, c->m[c->base].ftype, (unsigned long long)c->n_chunk, q->ctx,
                (unsigned long long)c->tokens, nb);
        if (!isnan(c->probe_chunk_s)) {
            /* the probe ran one sequence; a pass batches several, so this is an upper bound */
            char est[32], per[32];
            fmt_eta(c->probe_chunk_s * (double)c->n_chunk, est, sizeof(est));
            fmt_eta(c->probe_chunk_s, per, sizeof(per));
            fprintf(stderr,
                    "quality: time: about %s or less for the base pass and for each of "
                    "the %zu KLD passes (a chunk of the base took %s in the probe)\n",
                    est, pass_n - 1, c->probe_chunk_s < 1 ? "under 1s" : per);
        }
    }
    double t0 = ostel_mono_s();
    int rc = run_pass(c, PASS_BASE, c->base, &o, NULL);
    char buf[512];
    if (rc != 0) {
        unlink(c->partial);
        pass_out_free(&o);
        return 1;
    }
    if (o.res.status == OSTEL_RUN_INTERRUPTED) {
        unlink(c->partial);
        pass_out_free(&o);
        return interrupted_rc(&o);
    }
    if (o.keep_errno) {
        unlink(c->partial);
        ostel_error("quality: cannot keep the base logits '%s': %s", c->logits,
                    strerror(o.keep_errno));
        pass_out_free(&o);
        return 1;
    }
    /* the verdict pass_before_summary wrote into the summary, or a failure after it (summary.json
     * or config.txt not written, the run failed) */
    const char *why = pass_verdict(c, PASS_BASE, &o, buf, sizeof(buf));
    if (why) {
        unlink(c->partial);
        if (o.logits_kept)
            unlink(c->logits);
        store_pass(c, o.dir, c->base); /* as failed: not done */
        ostel_error("quality: the base pass failed: %s; its log is in '%s'", why, o.dir);
        pass_out_free(&o);
        return 1;
    }
    c->n_batch = o.n_batch;
    c->n_ubatch = o.n_ubatch;
    rc = store_pass(c, o.dir, c->base) == 0 ? 0 : 1;
    if (!q->quiet) {
        char took[32];
        fmt_eta(ostel_mono_s() - t0, took, sizeof(took));
        fprintf(stderr, "quality: [1/%zu] base %s: PPL %.4f ± %.4f, %s\n", pass_n,
                c->m[c->base].tag, o.ppl.ppl.value, o.ppl.ppl_stderr.value, took);
    }
    pass_out_free(&o);
    return rc;
}

static int kld_pass(struct qctx *c, size_t m, size_t pass_i, size_t pass_n)
{
    const struct ostel_quality_spec *q = c->q;
    struct pass_out o;
    memset(&o, 0, sizeof(o));
    o.dir = pass_dir(c, "kld", m);
    if (c->m[m].n_vocab != c->m[c->base].n_vocab) {
        char why[256];
        snprintf(why, sizeof(why),
                 "its vocabulary has %u tokens, the base %s's %u: KL divergence compares the "
                 "same tokens' probabilities",
                 c->m[m].n_vocab, c->m[c->base].tag, c->m[c->base].n_vocab);
        /* a run directory that records the refusal: status failed, the reason in its log and
         * its summary, stored as failed (not done: a later run tries again) */
        int rc = run_pass(c, PASS_REFUSED, m, &o, why);
        if (rc == 0 && o.res.status == OSTEL_RUN_INTERRUPTED) {
            pass_out_free(&o);
            return interrupted_rc(&o);
        }
        if (rc == 0)
            store_pass(c, o.dir, m); /* its summary says why (pass_before_summary) */
        ostel_error("quality: %s refused: %s%s%s", c->m[m].tag, why,
                    rc == 0 ? "; recorded in " : "", rc == 0 ? o.dir : "");
        pass_out_free(&o);
        c->failed++;
        return 0;
    }
    c->label = c->m[m].tag;
    c->pass_i = pass_i;
    c->pass_n = pass_n;
    double t0 = ostel_mono_s();
    int rc = run_pass(c, PASS_KLD, m, &o, NULL);
    if (rc != 0) {
        pass_out_free(&o);
        return 1;
    }
    if (o.res.status == OSTEL_RUN_INTERRUPTED) {
        pass_out_free(&o);
        return interrupted_rc(&o);
    }
    char buf[512];
    /* the verdict in its summary (pass_before_summary), or a failure after it */
    const char *why = pass_verdict(c, PASS_KLD, &o, buf, sizeof(buf));
    if (why) {
        store_pass(c, o.dir, m); /* as failed: not done */
        ostel_error("quality: %s failed: %s; its log is in '%s'", c->m[m].tag, why, o.dir);
        c->failed++;
        pass_out_free(&o);
        return 0;
    }
    rc = store_pass(c, o.dir, m) == 0 ? 0 : 1;
    if (!q->quiet) {
        char took[32];
        fmt_eta(ostel_mono_s() - t0, took, sizeof(took));
        fprintf(stderr, "quality: [%zu/%zu] %s: mean KLD %.6f ± %.6f, same top p %.3f %%, %s\n",
                pass_i, pass_n, c->m[m].tag, o.ppl.kld_mean.value, o.ppl.kld_mean_stderr.value,
                o.ppl.same_top_p_pct.value, took);
    }
    pass_out_free(&o);
    return rc;
}

/* ---------- the table ---------- */

static double jnum(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItem(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static void cell_pm(char *out, size_t n, double v, double e, int dec)
{
    if (isnan(v))
        snprintf(out, n, "—");
    else if (isnan(e))
        snprintf(out, n, "%.*f", dec, v);
    else
        snprintf(out, n, "%.*f ± %.*f", dec, v, dec, e);
}

/* "512", "2048 (llama.cpp's default)" (the value its log printed), "llama.cpp's default". */
static void setting_text(char *out, size_t n, long long set, long long logged)
{
    if (set > 0)
        snprintf(out, n, "%lld", set);
    else if (logged > 0)
        snprintf(out, n, "%lld (llama.cpp's default)", logged);
    else
        snprintf(out, n, "llama.cpp's default");
}

static void print_table(const struct qctx *c)
{
    const struct ostel_quality_spec *q = c->q;
    printf("| model | type | PPL | PPL ratio | ΔPPL | mean KLD | KLD p99 | KLD max | same top p %% "
           "| RMS Δp %% |\n|---|---|---|---|---|---|---|---|---|---|\n");
    bool synth = false;
    for (size_t m = 0; m < c->n; m++) {
        bool base = m == c->base;
        if (!base && !c->m[m].candidate)
            continue;
        char *dir = pass_dir(c, base ? "base" : "kld", m);
        struct ostel_summary sum;
        char err[160];
        (void)ostel_summary_read(dir, &sum, err, sizeof(err)); /* none: "(no result)" */
        free(dir);
        const cJSON *p = cJSON_GetObjectItem(sum.llama, "perplexity");
        const cJSON *qs = ostel_summary_section(&sum, "quality");
        if (!cJSON_IsTrue(cJSON_GetObjectItem(qs, "ok"))) {
            printf("| %s | %s | (no result) | | | | | | | |\n", c->m[m].tag, c->m[m].ftype);
            ostel_summary_free(&sum);
            continue;
        }
        synth = synth || c->m[m].synthetic;
        char a[64], b[64], d[64], e[64], f[64], g[64], h[64], i[64];
        if (base) {
            cell_pm(a, sizeof(a), jnum(p, "ppl"), jnum(p, "ppl_stderr"), 4);
            printf("| %s (base) | %s | %s | — | — | — | — | — | — | — |\n", c->m[m].tag,
                   c->m[m].ftype, a);
        } else {
            cell_pm(a, sizeof(a), jnum(p, "mean_ppl_q"), jnum(p, "mean_ppl_q_stderr"), 4);
            cell_pm(b, sizeof(b), jnum(p, "ppl_ratio"), jnum(p, "ppl_ratio_stderr"), 6);
            cell_pm(d, sizeof(d), jnum(p, "ppl_diff"), jnum(p, "ppl_diff_stderr"), 6);
            cell_pm(e, sizeof(e), jnum(p, "kld_mean"), jnum(p, "kld_mean_stderr"), 6);
            cell_pm(f, sizeof(f), jnum(p, "kld_p99"), NAN, 6);
            cell_pm(g, sizeof(g), jnum(p, "kld_max"), NAN, 6);
            cell_pm(h, sizeof(h), jnum(p, "same_top_p_pct"), jnum(p, "same_top_p_stderr"), 3);
            cell_pm(i, sizeof(i), jnum(p, "rms_dp_pct"), jnum(p, "rms_dp_stderr"), 3);
            printf("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", c->m[m].tag,
                   c->m[m].ftype, a, b, d, e, f, g, h, i);
        }
        ostel_summary_free(&sum);
    }
    char bs[64], ubs[64];
    setting_text(bs, sizeof(bs), q->batch, c->n_batch);
    setting_text(ubs, sizeof(ubs), q->ubatch, c->n_ubatch);
    printf("\n%llu chunks of %lld tokens (%llu scored) of '%s'; -b %s, -ub %s for every pass.\n",
           (unsigned long long)c->n_chunk, q->ctx,
           (unsigned long long)ostel_quality_scored_tokens((uint64_t)q->ctx, c->n_chunk), q->text,
           bs, ubs);
    if (synth || c->m[c->base].synthetic)
        printf("These are `ostel synth` models (random weights): the KL divergence measures what "
               "the quantizer does to weights of this shape and distribution, not a real model's "
               "quality.\n");
}

/* ---------- the whole ---------- */

static int setup(struct qctx *c)
{
    const struct ostel_quality_spec *q = c->q;
    if (q->n_models == 0)
        return ostel_error("quality: no models given");
    if (!q->text)
        return ostel_error("quality: no text given (--quality-text FILE): ostel downloads none; "
                           "any plain text of a few thousand words will do");
    if (!ostel_is_file(q->text))
        return ostel_error("quality: text '%s' not found", q->text);
    if (q->ctx < 16)
        return ostel_error("quality: a context of %lld is too small", q->ctx);
    c->n = q->n_models + (q->base ? 1 : 0);
    c->m = ostel_xcalloc(c->n, sizeof(*c->m));
    for (size_t i = 0; i < q->n_models; i++) {
        if (read_model(&c->m[i], q->models[i]) != 0)
            return OSTEL_ERR;
        c->m[i].tag = ostel_xstrdup(q->tags && q->tags[i] ? q->tags[i] : "");
        if (!c->m[i].tag[0]) {
            free(c->m[i].tag);
            c->m[i].tag = default_tag(q->models[i]);
        }
        /* a tag names directories: no '/' or other odd characters */
        char *safe = ostel_tag_sanitize(c->m[i].tag);
        free(c->m[i].tag);
        c->m[i].tag = safe;
    }
    c->base = SIZE_MAX;
    if (q->base) {
        for (size_t i = 0; i < q->n_models && c->base == SIZE_MAX; i++)
            if (same_file(q->base, q->models[i]))
                c->base = i;
        if (c->base == SIZE_MAX) {
            c->base = q->n_models;
            if (read_model(&c->m[c->base], q->base) != 0)
                return OSTEL_ERR;
            char *t = default_tag(q->base);
            c->m[c->base].tag = ostel_tag_sanitize(t);
            free(t);
        } else {
            c->n--;
        }
    } else {
        c->n = q->n_models;
        c->base = 0;
        for (size_t i = 1; i < c->n; i++)
            if (c->m[i].bpw > c->m[c->base].bpw)
                c->base = i;
    }
    /* a tag names the pass's directory: two models under one tag would share it */
    for (size_t i = 0; i < c->n; i++)
        for (size_t j = i + 1; j < c->n; j++)
            if (strcmp(c->m[i].tag, c->m[j].tag) == 0)
                return ostel_error("quality: '%s' and '%s' would both be '%s': give each model "
                                   "its own label (--tags, a study's tags)",
                                   c->m[i].path, c->m[j].path, c->m[i].tag);
    size_t cand = 0;
    for (size_t i = 0; i < c->n; i++) {
        c->m[i].candidate = i != c->base && !same_file(c->m[i].path, c->m[c->base].path);
        cand += c->m[i].candidate;
    }
    if (cand == 0)
        return ostel_error("quality: nothing to compare with the base %s: give at least one other "
                           "model",
                           c->m[c->base].tag);
    c->tool_path = ostel_llama_find_tool(q->llama_bin, "llama-perplexity");
    if (!c->tool_path)
        return ostel_error("quality: llama-perplexity not found; run scripts/setup.sh, or point "
                           "--llama-bin / OSTEL_LLAMA_BIN at llama.cpp's build/bin");
    struct ostel_buf t;
    ostel_buf_init(&t, TEXT_MAX_BYTES);
    if (ostel_file_read_all(q->text, TEXT_MAX_BYTES, &t) != 0) {
        ostel_buf_free(&t);
        return ostel_error("quality: cannot read '%s' (at most 1 GiB)", q->text);
    }
    ostel_study_hash_hex(t.data, t.len, c->text_hash);
    ostel_buf_free(&t);
    c->llama_version = ostel_run_llama_tool_version(c->tool_path);
    struct stat st;
    stat(c->m[c->base].path, &st);
    char *base_real = realpath(c->m[c->base].path, NULL);
    char *k = ostel_xasprintf("base=%s\nsize=%lld\nmtime=%lld\ntext=%s\nctx=%lld\nbatch=%lld\n"
                              "ubatch=%lld\nchunks=%lld\nllama=%s\n",
                              base_real ? base_real : c->m[c->base].path, (long long)st.st_size,
                              (long long)st.st_mtime, c->text_hash, q->ctx, q->batch, q->ubatch,
                              q->chunks, c->llama_version ? c->llama_version : "");
    ostel_study_hash_hex(k, strlen(k), c->key);
    free(k);
    free(base_real);
    /* each pass's own key: the base key and the model file as it is now (a file quantized again
     * under the same name is measured again) */
    for (size_t i = 0; i < c->n; i++) {
        struct stat ms;
        char *real = realpath(c->m[i].path, NULL);
        bool have = stat(c->m[i].path, &ms) == 0;
        char *pk = ostel_xasprintf("base_key=%s\nmodel=%s\nsize=%lld\nmtime=%lld\n", c->key,
                                   real ? real : c->m[i].path, have ? (long long)ms.st_size : -1LL,
                                   have ? (long long)ms.st_mtime : -1LL);
        ostel_study_hash_hex(pk, strlen(pk), c->m[i].key);
        free(pk);
        free(real);
    }
    if (ostel_mkdir_p(q->dir) != 0)
        return OSTEL_ERR;
    c->logits = ostel_xasprintf("%s/base-%s.kld", q->dir, c->key);
    c->partial = ostel_xasprintf("%s.partial", c->logits);
    c->sidecar = ostel_xasprintf("%s.settings", c->logits);
    return OSTEL_OK;
}

static void ctx_free(struct qctx *c)
{
    for (size_t i = 0; c->m && i < c->n; i++) {
        free(c->m[i].tag);
        ostel_gguf_run_facts_free(&c->m[i].facts);
    }
    free(c->m);
    free(c->tool_path);
    free(c->llama_version);
    free(c->logits);
    free(c->partial);
    free(c->sidecar);
}

/* n_chunk and the logits size of a finished base pass, from its summary. */
static void plan_from_base(struct qctx *c)
{
    char *dir = pass_dir(c, "base", c->base);
    struct ostel_summary sum;
    char err[160];
    (void)ostel_summary_read(dir, &sum, err, sizeof(err)); /* none: nothing planned */
    free(dir);
    const cJSON *qs = ostel_summary_section(&sum, "quality");
    double n = jnum(qs, "chunks"), t = jnum(qs, "text_tokens"), b = jnum(qs, "logits_bytes");
    double nb = jnum(qs, "n_batch"), nub = jnum(qs, "n_ubatch");
    c->n_batch = isnan(nb) ? 0 : (long long)nb;
    c->n_ubatch = isnan(nub) ? 0 : (long long)nub;
    c->n_chunk = isnan(n) ? 0 : (uint64_t)n;
    c->tokens = isnan(t) ? 0 : (uint64_t)t;
    c->logits_bytes = isnan(b) ? 0 : (uint64_t)b;
    ostel_summary_free(&sum);
}

static int execute(struct qctx *c)
{
    const struct ostel_quality_spec *q = c->q;
    int rc = setup(c);
    if (rc != 0)
        return OSTEL_EXIT_USAGE;
    size_t pending = 0, total = 1;
    bool *todo = ostel_xcalloc(c->n, sizeof(bool));
    for (size_t i = 0; i < c->n; i++) {
        if (!c->m[i].candidate)
            continue;
        total++;
        char *d = pass_dir(c, "kld", i);
        todo[i] = !pass_done(d, c->m[i].key);
        pending += todo[i];
        free(d);
    }
    char *bdir = pass_dir(c, "base", c->base);
    bool base_done = pass_done(bdir, c->m[c->base].key);
    free(bdir);
    rc = 0;
    if (!q->quiet && (pending < total - 1 || base_done))
        fprintf(stderr, "quality: %zu of %zu passes already done in '%s'; resuming\n",
                total - 1 - pending + (base_done ? 1 : 0), total, q->dir);
    int have = logits_check(c);
    if (have < 0) {
        rc = 1;
        goto out;
    }
    if (pending > 0 && !(have == 1 && base_done)) {
        if ((rc = probe(c)) != 0)
            goto out;
        if (check_space(c) != 0) {
            rc = 1;
            goto out;
        }
        if (g_quality_signal) {
            rc = 128 + g_quality_signal;
            goto out;
        }
        if ((rc = base_pass(c, total)) != 0)
            goto out;
    } else {
        plan_from_base(c);
        if (pending > 0 && !q->quiet)
            fprintf(stderr, "quality: reusing the base logits '%s'\n", c->logits);
    }
    size_t k = 1;
    for (size_t i = 0; i < c->n; i++) {
        if (!c->m[i].candidate)
            continue;
        k++;
        if (!todo[i])
            continue;
        if (g_quality_signal) {
            rc = 128 + g_quality_signal;
            break;
        }
        if ((rc = kld_pass(c, i, k, total)) != 0)
            break;
    }
    if (rc == 0 && c->failed)
        rc = 1;
    if (rc == 0 && !q->keep_logits)
        logits_remove(c);
    else if (rc == 1 && !q->keep_logits && !q->quiet && ostel_is_file(c->logits)) {
        struct stat st;
        char sz[32] = "?";
        if (stat(c->logits, &st) == 0)
            fmt_bytes((uint64_t)st.st_size, sz, sizeof(sz));
        fprintf(stderr,
                "quality: the base logits '%s' (%s) are kept because a pass did not finish: "
                "running again redoes only that pass; remove the file to free the space\n",
                c->logits, sz);
    }
    if ((rc == 0 || rc == 1) && q->table)
        print_table(c);
out:
    free(todo);
    if (rc > 128 && !q->quiet)
        fprintf(stderr, "quality: interrupted; run the same command again to resume\n");
    return rc;
}

int ostel_quality_execute(const struct ostel_quality_spec *spec)
{
    struct qctx c;
    memset(&c, 0, sizeof(c));
    c.q = spec;
    c.probe_chunk_s = NAN;
    c.probe_load_s = NAN;
    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_quality_signal;
    sigemptyset(&sa.sa_mask);
    g_quality_signal = 0;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    int rc = execute(&c);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    ctx_free(&c);
    return rc;
}
