/*
 * serve: the load generator and its measurements (see serve.h; definitions in docs/serve.md).
 *
 * Everything runs on the calling thread around one curl multi handle: starting requests when the
 * level's loop says so (closed loop: whenever fewer than C are in flight; open loop: at each
 * scheduled arrival), feeding each answer's bytes to its SSE parser as they arrive (the arrival
 * time of a write callback is the arrival time of every event in it), finishing requests, and
 * scraping /metrics. A request's row goes to requests.csv the moment it finishes, so a crash or
 * Ctrl-C loses nothing already measured.
 */
#include "serve/serve.h"

#include "llama/gguf.h"
#include "llama/gguf_facts.h"
#include "llama/synth.h"
#include "llama/vocab.h"
#include "platform/platform.h"
#include "platform/poller.h"
#include "rundir/rundir_metrics.h"
#include "rundir/rundir_requests.h"
#include "serve/chunk.h"
#include "serve/serve_prom.h"
#include "serve/serve_internal.h"
#include "serve/serve_stats.h"
#include "serve/sse.h"
#include "util/fileio.h"

#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static cJSON *num_or_null(double v)
{
    return isfinite(v) ? cJSON_CreateNumber(round(v * 1000) / 1000) : cJSON_CreateNull();
}

#ifdef OSTEL_HAVE_CURL
#include <curl/curl.h>

#define ERRBODY_MAX 4096
#define SSE_EVENT_MAX ((size_t)1 << 20)

/* A built-in text to cut prompts from when no --prompt-file is given (written for ostel). */
static const char builtin_text[] =
    "The lighthouse keeper wrote every evening in a ledger bound in green cloth. He noted the "
    "wind, the height of the swell, the ships that passed and the ones that did not come. Over "
    "forty winters the ledger filled a shelf, then a second, and the village began to consult it "
    "the way other villages consult an almanac: when to plant, when to mend nets, when to keep the "
    "children away from the harbour wall. Nobody asked him why he kept it. He would have said that "
    "a light is only half of the work; the other half is remembering what the light was for. "
    "Engineers who came later to automate the tower measured the lamp, the lens, the clockwork and "
    "the fog signal, and wrote a careful report. They did not measure the ledger. Years after the "
    "last keeper left, a storm surge took the lower rooms, and with them the shelves, and the "
    "village found that it no longer knew which spring tides to fear. A quick brown fox jumps over "
    "the lazy dog while seven zealous wizards quietly judge the boxing match; jovial pumas vex "
    "bright kings, and quartz sphinxes hear my vow of justice. Numbers too: 3.14159, 2.71828, "
    "1.41421, 42, 1024, 65536, and the year 1848.";

/* ---- random numbers (splitmix64): the same seed gives the same lengths and arrivals ---- */

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double rng_unit(uint64_t *s) /* (0, 1] */
{
    return ((double)(rng_next(s) >> 11) + 1.0) / 9007199254740992.0;
}

static double rng_normal(uint64_t *s)
{
    double u = rng_unit(s), v = rng_unit(s);
    return sqrt(-2.0 * log(u)) * cos(2.0 * M_PI * v);
}

/* A length: mean, normal (sd > 0), or uniform from mean to max inclusive (max > 0) */
static int draw_len(uint64_t *s, int mean, int sd, int max)
{
    if (max > 0)
        return mean + (int)(rng_next(s) % (uint64_t)(max - mean + 1));
    if (sd <= 0)
        return mean;
    double x = round(mean + sd * rng_normal(s));
    return x < 1 ? 1 : x > 1e7 ? 10000000 : (int)x;
}

/* ---- records ---- */

struct req {
    int level;
    bool warmup;
    uint64_t id;
    int64_t sched_ns, send_ns, first_ns, last_ns, end_ns; /* monotonic; -1 when none */
    int prompt_asked, output_asked;
    int chunks;                                                     /* token chunks counted */
    int usage_prompt, usage_completion;                             /* -1 when absent */
    double cache_n, prompt_n, prompt_ms, predicted_n, predicted_ms; /* NAN when absent */
    long http_status;
    bool ok, done_seen;
    char error[160];
    int64_t *tok; /* arrival of each token chunk; owned */
    size_t ntok, captok;
    /* with save_tokens: each chunk's text (at most 63 bytes), NUL-terminated one after the other
     * in one buffer (no allocation per token) */
    struct ostel_buf tok_text;
};

struct xfer {
    CURL *e;
    struct req *r;
    struct ostel_sse sse;
    struct ostel_buf errbody;
    char *body;
    struct engine *g;
};

struct engine {
    const struct ostel_serve_params *p;
    const _Atomic int *stop;
    CURLM *multi;
    struct curl_slist *hdrs;
    char *completions_url, *metrics_url;
    char *logit_bias; /* `,"logit_bias":[[id,false],…]}` ending every body, or NULL */
    int64_t t0_mono_ns;
    double t0_real;
    int req_fd;    /* requests.csv: one write() per row, -1 when not open */
    off_t req_len; /* its length up to the last whole row */
    struct ostel_buf req_row;
    FILE *met_csv;
    FILE *tok_csv;                /* tokens.csv with save_tokens, else NULL */
    struct ostel_buf tok_row;     /* one request's tokens.csv rows */
    struct ostel_buf prompt_json; /* the prompt of the request being sent (build_prompt) */
    int32_t *corpus;
    size_t ncorpus;
    int32_t *pool_ids; /* the unique prefixes' digits: distinct tokens, in id order */
    size_t npool_ids;
    uint64_t nonce; /* this run's offset of the prefixes (run_nonce) */
    uint64_t rng;
    uint64_t next_id;
    struct req **reqs;
    size_t nreqs, capreqs;
    struct xfer **pool; /* idle transfers for reuse */
    size_t npool, cappool;
    int inflight;
    struct ostel_poller *poller;   /* the sockets curl asked to watch */
    int64_t timer_ns;              /* curl's next timeout (monotonic), -1 none */
    struct ostel_poller_event *ev; /* OSTEL_POLLER_MAX: one wait's ready sockets */
    int64_t wake_ns; /* while curl reads the sockets of one wait: when the wait returned; else -1 */
    struct xfer **active; /* the transfers in flight, in no order */
    size_t nactive, capactive;
    CURL *scrape;
    struct ostel_buf scrape_buf;
    bool scraping;
    int64_t next_scrape_ns;
    const char *level_name;
    size_t level_finished, level_failed; /* measured and warm-up requests of the current level */
    size_t transport_failed;             /* of those, failed in transport (refused, reset, none) */
    bool interrupted;                    /* the stop flag was 1 (Ctrl-C) */
    bool server_exited;                  /* the stop flag was 2 (the server ostel started exited) */
    int write_errno;                     /* the first failed write of an output file, or 0 */
    char write_error[160];               /* "no space left on device writing requests.csv" */
};

/* Records the first output file that could not be written; the load then stops and fails. */
static void note_write_errno(struct engine *g, int e, const char *file)
{
    if (g->write_errno || !e)
        return;
    g->write_errno = e;
    ostel_write_error_text(g->write_error, sizeof(g->write_error), e, file);
}

/* Flushes f (a row is on disk, or in the kernel, once its request finished) and checks it. */
static void flush_checked(struct engine *g, FILE *f, const char *file)
{
    errno = 0;
    if (fflush(f) != 0 || ferror(f))
        note_write_errno(g, errno ? errno : EIO, file);
}

/* fsync + fclose, each checked; f is closed whatever happens. */
static void close_checked(struct engine *g, FILE *f, const char *file)
{
    flush_checked(g, f, file);
    if (fsync(fileno(f)) != 0 && errno != EINVAL)
        note_write_errno(g, errno, file);
    if (fclose(f) != 0)
        note_write_errno(g, errno, file);
}

/* Appends text[0..n) to requests.csv in one write() (a loop over short writes); a row that does
 * not fit whole is cut off again, so the file holds whole rows only. Nothing is written after the
 * first failure. */
static void req_append(struct engine *g, const char *text, size_t n)
{
    if (g->write_errno || g->req_fd < 0)
        return;
    size_t done = 0;
    while (done < n) {
        ssize_t w = write(g->req_fd, text + done, n - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            note_write_errno(g, w < 0 ? errno : EIO, "requests.csv");
            if (ftruncate(g->req_fd, g->req_len) != 0) {
                /* the partial row stays; the error already says the file is incomplete */
            }
            return;
        }
        done += (size_t)w;
    }
    g->req_len += (off_t)n;
}

static double mono_to_real(const struct engine *g, int64_t ns)
{
    return g->t0_real + (double)(ns - g->t0_mono_ns) / 1e9;
}

static double ms_between(int64_t a, int64_t b)
{
    return a >= 0 && b >= 0 ? (double)(b - a) / 1e6 : NAN;
}

/* ---- CSV ---- */

static double req_tpot_ms(const struct req *r)
{
    int n = r->usage_completion >= 0 ? r->usage_completion : r->chunks;
    return ostel_serve_tpot_ms(r->first_ns, r->end_ns, n);
}

static double req_itl_mean_ms(const struct req *r)
{
    return ostel_serve_itl_mean_ms(r->tok, r->ntok);
}

static double req_itl_max_ms(const struct req *r)
{
    return ostel_serve_itl_max_ms(r->tok, r->ntok);
}

_Static_assert(OSTEL_REQ_COL_SEND_TS == OSTEL_REQ_COL_SCHED_TS + 1 &&
                   OSTEL_REQ_COL_END_TS == OSTEL_REQ_COL_SCHED_TS + 3,
               "requests.csv's four *_ts columns follow each other");

/* One requests.csv row into f, through its table's writer (rundir/rundir_requests.h). */
static void format_req_row(const struct engine *g, const struct req *r, struct ostel_buf *f)
{
    struct ostel_requests_row row;
    ostel_requests_row_init(&row);
    double *v = row.v;
    /* the level name is ours (digits, '.', letters); the error is quoted, control bytes spaces */
    row.text[OSTEL_REQ_COL_LEVEL] = g->level_name;
    v[OSTEL_REQ_COL_WARMUP] = r->warmup ? 1 : 0;
    v[OSTEL_REQ_COL_REQ_ID] = (double)r->id;
    const int64_t ts[4] = {r->sched_ns, r->send_ns, r->first_ns, r->end_ns};
    for (int i = 0; i < 4; i++)
        v[OSTEL_REQ_COL_SCHED_TS + i] = ts[i] >= 0 ? mono_to_real(g, ts[i]) : NAN;
    v[OSTEL_REQ_COL_QUEUE_MS] = ms_between(r->sched_ns, r->send_ns);
    v[OSTEL_REQ_COL_TTFT_MS] = ms_between(r->sched_ns, r->first_ns);
    v[OSTEL_REQ_COL_TTFT_SEND_MS] = ms_between(r->send_ns, r->first_ns);
    v[OSTEL_REQ_COL_E2E_MS] = ms_between(r->sched_ns, r->end_ns);
    v[OSTEL_REQ_COL_E2E_SEND_MS] = ms_between(r->send_ns, r->end_ns);
    v[OSTEL_REQ_COL_ITL_MEAN_MS] = req_itl_mean_ms(r);
    v[OSTEL_REQ_COL_ITL_MAX_MS] = req_itl_max_ms(r);
    v[OSTEL_REQ_COL_TPOT_MS] = req_tpot_ms(r);
    v[OSTEL_REQ_COL_PROMPT_TOKENS_ASKED] = (double)r->prompt_asked;
    v[OSTEL_REQ_COL_OUTPUT_TOKENS_ASKED] = (double)r->output_asked;
    v[OSTEL_REQ_COL_PROMPT_TOKENS] = r->usage_prompt >= 0 ? (double)r->usage_prompt : NAN;
    v[OSTEL_REQ_COL_COMPLETION_TOKENS] =
        r->usage_completion >= 0 ? (double)r->usage_completion : NAN;
    v[OSTEL_REQ_COL_CHUNKS] = (double)r->chunks;
    v[OSTEL_REQ_COL_CACHE_N] = r->cache_n;
    v[OSTEL_REQ_COL_PROMPT_N] = r->prompt_n;
    v[OSTEL_REQ_COL_PROMPT_MS] = r->prompt_ms;
    v[OSTEL_REQ_COL_PREDICTED_N] = r->predicted_n;
    v[OSTEL_REQ_COL_PREDICTED_MS] = r->predicted_ms;
    v[OSTEL_REQ_COL_HTTP_STATUS] = r->http_status > 0 ? (double)r->http_status : NAN;
    v[OSTEL_REQ_COL_OK] = r->ok ? 1 : 0;
    row.text[OSTEL_REQ_COL_ERROR] = r->error;
    char line[OSTEL_REQUESTS_ROW_MAX];
    ostel_buf_append(f, line, ostel_requests_format_row(&row, line, sizeof(line)));
}

static void set_error(struct req *r, const char *fmt, ...) OSTEL_PRINTF(2, 3);
static void set_error(struct req *r, const char *fmt, ...)
{
    if (r->error[0])
        return; /* the first reason is the one that counts */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->error, sizeof(r->error), fmt, ap);
    va_end(ap);
}

/* ---- one answer's SSE events ---- */

static double json_num(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItem(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

/* Records a token chunk that arrived at now; text (n bytes, decoded) is kept with save_tokens. */
static void add_token(struct xfer *x, int64_t now, const char *text, size_t n)
{
    struct req *r = x->r;
    r->chunks++;
    if (r->ntok == r->captok) {
        r->captok = r->captok ? r->captok * 2 : 64;
        r->tok = ostel_xrealloc(r->tok, r->captok * sizeof(*r->tok));
    }
    if (x->g->tok_csv) {
        ostel_buf_append(&r->tok_text, text, n < 63 ? n : 63);
        ostel_buf_putc(&r->tok_text, '\0');
    }
    r->tok[r->ntok++] = now;
    if (r->first_ns < 0)
        r->first_ns = now;
}

/* Returns non-zero to stop the stream (malformed event or an error object). */
static int on_event(void *ctx, const char *data, size_t len)
{
    struct xfer *x = ctx;
    struct req *r = x->r;
    int64_t now = r->last_ns;
    if (len == 6 && memcmp(data, "[DONE]", 6) == 0) {
        r->done_seen = true;
        return 0;
    }
    /* a token chunk needs no tree: its syntax checked and choices[0] found in one pass (chunk.h);
     * the chunks that carry more (usage, timings, an error) are parsed whole */
    struct ostel_chunk ch;
    if (ostel_chunk_scan(data, len, &ch) != 0) {
        set_error(r, "malformed JSON in the stream%s", "");
        return 1;
    }
    if (!ch.full && !(ch.token && ch.text_escaped && x->g->tok_csv)) {
        if (ch.token)
            add_token(x, now, ch.text, ch.text_len);
        return 0;
    }
    cJSON *j = cJSON_ParseWithLength(data, len);
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        set_error(r, "malformed JSON in the stream%s", "");
        return 1;
    }
    const cJSON *err = cJSON_GetObjectItem(j, "error");
    if (err) {
        const cJSON *m = cJSON_IsObject(err) ? cJSON_GetObjectItem(err, "message") : err;
        set_error(r, "server error: %.120s", cJSON_IsString(m) ? m->valuestring : "(no message)");
        cJSON_Delete(j);
        return 1;
    }
    const cJSON *choices = cJSON_GetObjectItem(j, "choices");
    const cJSON *c0 = cJSON_IsArray(choices) ? cJSON_GetArrayItem(choices, 0) : NULL;
    if (cJSON_IsObject(c0)) {
        const cJSON *fr = cJSON_GetObjectItem(c0, "finish_reason");
        const cJSON *text = cJSON_GetObjectItem(c0, "text");
        bool final = fr && !cJSON_IsNull(fr);
        /* a token chunk: text, not the closing chunk (which carries finish_reason and no text) */
        if (cJSON_IsString(text) && (!final || text->valuestring[0]))
            add_token(x, now, text->valuestring, strlen(text->valuestring));
    }
    const cJSON *u = cJSON_GetObjectItem(j, "usage");
    if (cJSON_IsObject(u)) {
        double pt = json_num(u, "prompt_tokens"), ct = json_num(u, "completion_tokens");
        if (isfinite(pt) && pt >= 0 && pt < 1e9)
            r->usage_prompt = (int)pt;
        if (isfinite(ct) && ct >= 0 && ct < 1e9)
            r->usage_completion = (int)ct;
    }
    const cJSON *t = cJSON_GetObjectItem(j, "timings");
    if (cJSON_IsObject(t)) {
        r->cache_n = json_num(t, "cache_n");
        r->prompt_n = json_num(t, "prompt_n");
        r->prompt_ms = json_num(t, "prompt_ms");
        r->predicted_n = json_num(t, "predicted_n");
        r->predicted_ms = json_num(t, "predicted_ms");
    }
    cJSON_Delete(j);
    return 0;
}

static size_t on_write(char *p, size_t size, size_t n, void *arg)
{
    struct xfer *x = arg;
    struct req *r = x->r;
    size_t len = size * n;
    /* the arrival: when the wait that found this socket ready returned, not when its turn came
     * (docs/serve.md, "When a token arrives") */
    r->last_ns = x->g->wake_ns >= 0 ? x->g->wake_ns : ostel_mono_ns();
    if (!r->http_status)
        curl_easy_getinfo(x->e, CURLINFO_RESPONSE_CODE, &r->http_status);
    if (r->http_status != 200) {
        ostel_buf_append(&x->errbody, p, len); /* capped */
        return len;
    }
    int rc = ostel_sse_feed(&x->sse, p, len, on_event, x);
    if (rc < 0)
        set_error(r, "SSE event larger than %s", "1 MiB");
    return rc == 0 ? len : 0; /* 0 aborts the transfer (CURLE_WRITE_ERROR) */
}

/* ---- prompts ---- */

#define PREFIX_TOKENS 4 /* the unique prefix of a prompt, in tokens */

/* Words that tokenize to many distinct ordinary tokens: every two-letter word in lower case and
 * capitalised, and the numbers 0 to 999 — the alphabet the unique prefixes are written in. */
static void pool_text(struct ostel_buf *b)
{
    ostel_buf_puts(b, builtin_text);
    for (char x = 'a'; x <= 'z'; x++)
        for (char y = 'a'; y <= 'z'; y++)
            ostel_buf_printf(b, " %c%c %c%c", x, y, x - 'a' + 'A', y);
    for (int i = 0; i < 1000; i++)
        ostel_buf_printf(b, " %d", i);
}

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* A seed of this run alone (the clocks and the pid), so that two runs against one server never
 * send the same prompts even with the same --seed. */
static uint64_t run_nonce(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t s = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
    s ^= (uint64_t)ostel_mono_ns() << 17;
    s ^= (uint64_t)getpid() << 40;
    return rng_next(&s) >> 24; /* 40 bits: exact in JSON */
}

static int prepare_prompts(struct engine *g, char *err, size_t err_size)
{
    const struct ostel_serve_params *p = g->p;
    struct ostel_buf text;
    ostel_buf_init(&text, 64u << 20);
    if (p->prompt_file) {
        if (ostel_file_read_all(p->prompt_file, 64u << 20, &text) != 0) {
            snprintf(err, err_size, "cannot read the prompt file '%s'", p->prompt_file);
            ostel_buf_free(&text);
            return OSTEL_ERR;
        }
    } else {
        ostel_buf_puts(&text, builtin_text);
    }
    int rc = ostel_serve_tokenize(p->url, text.data ? text.data : "", &g->corpus, &g->ncorpus, err,
                                  err_size);
    ostel_buf_free(&text);
    if (rc != 0)
        return OSTEL_ERR;
    if (g->ncorpus == 0) {
        snprintf(err, err_size, "the prompt text has no tokens");
        return OSTEL_ERR;
    }
    if (p->reuse_prompts)
        return OSTEL_OK;
    /* the prefix alphabet: the distinct tokens of pool_text(), in id order */
    ostel_buf_init(&text, 0);
    pool_text(&text);
    rc = ostel_serve_tokenize(p->url, text.data, &g->pool_ids, &g->npool_ids, err, err_size);
    ostel_buf_free(&text);
    if (rc != 0)
        return OSTEL_ERR;
    if (g->npool_ids)
        qsort(g->pool_ids, g->npool_ids, sizeof(*g->pool_ids), cmp_i32);
    size_t k = 0;
    for (size_t i = 0; i < g->npool_ids; i++)
        if (k == 0 || g->pool_ids[i] != g->pool_ids[k - 1])
            g->pool_ids[k++] = g->pool_ids[i];
    g->npool_ids = k;
    if (k < 2) {
        snprintf(err, err_size,
                 "/tokenize gave %zu distinct tokens for a varied text: cannot make "
                 "prompts unique (--reuse-prompts sends one prompt)",
                 k);
        return OSTEL_ERR;
    }
    g->nonce = p->prompt_nonce_set ? p->prompt_nonce : run_nonce();
    return OSTEL_OK;
}

/*
 * The prompt of request id: exactly n tokens. Unless reuse_prompts, its first min(n, 4) tokens
 * are the number nonce + id written in base P with the P distinct tokens of pool_text() as
 * digits, the fastest-changing digit first: the first token differs from that of the P − 1
 * requests before and after it, and the prefix from every other request's of the run up to P^4
 * requests (P is 786 on the tests' tiny llama vocabulary), so none of the P − 1 prompts before
 * it shares more than the server's BOS token with it, and no earlier one of the run more than
 * one token besides. The nonce is drawn per run, so another run's prompts differ too. The rest
 * is the corpus from an offset.
 */
static void put_id(struct ostel_buf *b, int32_t v)
{
    char d[12], *e = d + sizeof(d), *q = e;
    uint32_t u = v < 0 ? 0u - (uint32_t)v : (uint32_t)v;
    do
        *--q = (char)('0' + u % 10);
    while (u /= 10);
    if (v < 0)
        *--q = '-';
    ostel_buf_append(b, q, (size_t)(e - q));
}

/* Writes the prompt as a JSON array of token ids into b (reset first): by hand, because cJSON
 * prints a number with a sprintf and an sscanf back — 0.3 ms of the loop's time for a 512-token
 * prompt, while other streams' tokens wait to be read. */
static void build_prompt(const struct engine *g, uint64_t id, int n, struct ostel_buf *b)
{
    size_t k = 0;
    uint64_t off = g->p->reuse_prompts ? 0 : id * 7919u;
    ostel_buf_reset(b);
    ostel_buf_putc(b, '[');
    if (!g->p->reuse_prompts) {
        uint64_t x = g->nonce + id, base = g->npool_ids;
        for (; k < PREFIX_TOKENS && k < (size_t)n; k++, x /= base) {
            if (k)
                ostel_buf_putc(b, ',');
            put_id(b, g->pool_ids[x % base]);
        }
    }
    for (; k < (size_t)n; k++) {
        if (k)
            ostel_buf_putc(b, ',');
        put_id(b, g->corpus[(off + k) % g->ncorpus]);
    }
    ostel_buf_putc(b, ']');
}

/* ---- transfers ---- */

static struct xfer *xfer_get(struct engine *g)
{
    struct xfer *x;
    if (g->npool) {
        x = g->pool[--g->npool];
        curl_easy_reset(x->e);
    } else {
        x = ostel_xcalloc(1, sizeof(*x));
        x->e = curl_easy_init();
        OSTEL_ASSERT(x->e);
        x->g = g;
    }
    ostel_sse_init(&x->sse, SSE_EVENT_MAX);
    ostel_buf_init(&x->errbody, ERRBODY_MAX);
    return x;
}

static void xfer_put(struct engine *g, struct xfer *x)
{
    ostel_sse_free(&x->sse);
    ostel_buf_free(&x->errbody);
    free(x->body);
    x->body = NULL;
    x->r = NULL;
    if (g->npool == g->cappool) {
        g->cappool = g->cappool ? g->cappool * 2 : 64;
        g->pool = ostel_xrealloc(g->pool, g->cappool * sizeof(*g->pool));
    }
    g->pool[g->npool++] = x;
}

static struct req *req_new(struct engine *g, int level, bool warmup, int64_t sched)
{
    struct req *r = ostel_xcalloc(1, sizeof(*r));
    r->level = level;
    r->warmup = warmup;
    r->id = g->next_id++;
    r->sched_ns = sched;
    r->send_ns = r->first_ns = r->last_ns = r->end_ns = -1;
    r->usage_prompt = r->usage_completion = -1;
    r->cache_n = r->prompt_n = r->prompt_ms = r->predicted_n = r->predicted_ms = NAN;
    r->prompt_asked = draw_len(&g->rng, g->p->prompt_tokens, g->p->prompt_sd, g->p->prompt_max);
    r->output_asked = draw_len(&g->rng, g->p->output_tokens, g->p->output_sd, g->p->output_max);
    if (g->tok_csv)
        ostel_buf_init(&r->tok_text, 0);
    if (g->nreqs == g->capreqs) {
        g->capreqs = g->capreqs ? g->capreqs * 2 : 256;
        g->reqs = ostel_xrealloc(g->reqs, g->capreqs * sizeof(*g->reqs));
    }
    g->reqs[g->nreqs++] = r;
    return r;
}

static void start_request(struct engine *g, int level, bool warmup, int64_t sched)
{
    struct req *r = req_new(g, level, warmup, sched);
    struct xfer *x = xfer_get(g);
    x->r = r;
    cJSON *body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "model", "ostel");
    build_prompt(g, r->id, r->prompt_asked, &g->prompt_json);
    cJSON_AddRawToObject(body, "prompt", g->prompt_json.data);
    cJSON_AddNumberToObject(body, "max_tokens", r->output_asked);
    cJSON_AddBoolToObject(body, "stream", 1);
    cJSON_AddBoolToObject(body, "ignore_eos", 1);
    cJSON_AddNumberToObject(body, "temperature", 0);
    cJSON *so = cJSON_AddObjectToObject(body, "stream_options");
    cJSON_AddBoolToObject(so, "include_usage", 1);
    x->body = cJSON_PrintUnformatted(body);
    cJSON_Delete(body);
    if (g->logit_bias) { /* made once per run: the body's closing brace becomes the bias list */
        size_t n = strlen(x->body);
        char *b = ostel_xasprintf("%.*s%s", (int)(n - 1), x->body, g->logit_bias);
        free(x->body);
        x->body = b;
    }

    CURL *e = x->e;
    curl_easy_setopt(e, CURLOPT_URL, g->completions_url);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, g->hdrs);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, x->body);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(e, CURLOPT_PRIVATE, x);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    /* curl's read buffer: 16 KiB comes from the heap; 512 KiB was an mmap and a munmap per
     * transfer (TLB shootdowns across ostel's threads). An event larger than one read is
     * gathered by the SSE framer, so the size bounds no event. */
    curl_easy_setopt(e, CURLOPT_BUFFERSIZE, 16L * 1024);
    if (g->p->timeout_s > 0)
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)(g->p->timeout_s * 1000));
    r->send_ns = ostel_mono_ns();
    curl_multi_add_handle(g->multi, e);
    g->inflight++;
    if (g->nactive == g->capactive) {
        g->capactive = g->capactive ? g->capactive * 2 : 64;
        g->active = ostel_xrealloc(g->active, g->capactive * sizeof(*g->active));
    }
    g->active[g->nactive++] = x;
}

/* r's tokens.csv rows (rundir_requests.h: ostel_tokens_append_row), in one fwrite. */
static void write_tokens(struct engine *g, const struct req *r)
{
    struct ostel_buf *b = &g->tok_row;
    ostel_buf_reset(b);
    const char *text = r->tok_text.data, *text_end = text + r->tok_text.len;
    for (size_t i = 0; i < r->ntok && text < text_end; i++) {
        uint64_t arrival_ns = (uint64_t)(r->tok[i] < 0 ? 0 : r->tok[i]);
        text += ostel_tokens_append_row(b, r->id, i, arrival_ns, text);
        text++; /* past the NUL that ends this token's text */
    }
    errno = 0;
    if (b->len && fwrite(b->data, 1, b->len, g->tok_csv) != b->len)
        note_write_errno(g, errno ? errno : EIO, "tokens.csv");
    flush_checked(g, g->tok_csv, "tokens.csv");
}

static void finish_request(struct engine *g, struct xfer *x, CURLcode result, const char *forced)
{
    struct req *r = x->r;
    int64_t now = ostel_mono_ns();
    r->end_ns = r->last_ns >= 0 ? r->last_ns : now;
    if (!r->http_status)
        curl_easy_getinfo(x->e, CURLINFO_RESPONSE_CODE, &r->http_status);
    if (forced) {
        set_error(r, "%s", forced);
    } else if (r->error[0]) {
        /* set while streaming */
    } else if (result == CURLE_OPERATION_TIMEDOUT) {
        set_error(r, "timeout%s", "");
    } else if (result != CURLE_OK) {
        set_error(r, "%s", curl_easy_strerror(result));
    } else if (r->http_status != 200) {
        /* llama-server answers {"error":{"code","message","type"}}: its message, else the body */
        const char *body = x->errbody.data ? x->errbody.data : "";
        cJSON *j = cJSON_ParseWithLength(body, x->errbody.len);
        const cJSON *e = cJSON_GetObjectItem(j, "error");
        const cJSON *m = cJSON_IsObject(e) ? cJSON_GetObjectItem(e, "message") : e;
        set_error(r, "HTTP %ld: %.120s", r->http_status, cJSON_IsString(m) ? m->valuestring : body);
        cJSON_Delete(j);
    } else if (!r->done_seen) {
        set_error(r, "truncated stream (no [DONE])%s", "");
    }
    r->ok = !r->error[0];
    if (!r->ok)
        r->end_ns = now;
    g->level_finished++;
    g->level_failed += !r->ok;
    bool transport = result == CURLE_COULDNT_CONNECT || result == CURLE_RECV_ERROR ||
                     result == CURLE_SEND_ERROR || result == CURLE_GOT_NOTHING;
    g->transport_failed += !forced && transport;
    curl_multi_remove_handle(g->multi, x->e);
    g->inflight--;
    for (size_t i = 0; i < g->nactive; i++)
        if (g->active[i] == x) {
            g->active[i] = g->active[--g->nactive];
            break;
        }
    ostel_buf_reset(&g->req_row);
    format_req_row(g, r, &g->req_row);
    req_append(g, g->req_row.data, g->req_row.len);
    if (g->tok_csv) {
        if (!g->write_errno) /* nothing is written after a failure */
            write_tokens(g, r);
        ostel_buf_free(&r->tok_text);
    }
    xfer_put(g, x);
}

/* ---- /metrics scrapes ---- */

struct scrape_ctx {
    struct engine *g;
    double ts;
};

static void on_sample(void *ctx, struct ostel_str name, double value)
{
    struct scrape_ctx *s = ctx;
    struct ostel_server_metrics_row row = {s->ts, s->g->level_name, name, value};
    size_t cap = OSTEL_SERVER_METRICS_ROW_MAX(name.n, strlen(s->g->level_name));
    char *line = ostel_xmalloc(cap);
    fwrite(line, 1, ostel_server_metrics_format_row(&row, line, cap), s->g->met_csv);
    free(line);
}

static size_t on_scrape_write(char *p, size_t size, size_t n, void *arg)
{
    struct ostel_buf *b = arg;
    ostel_buf_append(b, p, size * n);
    return size * n;
}

static void scrape_maybe(struct engine *g, int64_t now)
{
    if (!g->metrics_url || g->scraping || now < g->next_scrape_ns)
        return;
    g->next_scrape_ns = now + (int64_t)g->p->scrape_interval_ns;
    if (!g->scrape) {
        g->scrape = curl_easy_init();
        OSTEL_ASSERT(g->scrape);
    }
    ostel_buf_reset(&g->scrape_buf);
    curl_easy_setopt(g->scrape, CURLOPT_URL, g->metrics_url);
    curl_easy_setopt(g->scrape, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(g->scrape, CURLOPT_WRITEFUNCTION, on_scrape_write);
    curl_easy_setopt(g->scrape, CURLOPT_WRITEDATA, &g->scrape_buf);
    curl_easy_setopt(g->scrape, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(g->scrape, CURLOPT_PRIVATE, NULL);
    curl_multi_add_handle(g->multi, g->scrape);
    g->scraping = true;
}

static void scrape_done(struct engine *g, CURLcode result)
{
    long status = 0;
    curl_easy_getinfo(g->scrape, CURLINFO_RESPONSE_CODE, &status);
    curl_multi_remove_handle(g->multi, g->scrape);
    g->scraping = false;
    if (result != CURLE_OK || status != 200 || g->scrape_buf.overflow || g->write_errno)
        return;
    struct scrape_ctx s = {g, mono_to_real(g, ostel_mono_ns())};
    ostel_serve_prom_parse(g->scrape_buf.data ? g->scrape_buf.data : "", g->scrape_buf.len,
                           on_sample, &s);
    flush_checked(g, g->met_csv, "server_metrics.csv");
}

/* ---- the event loop ---- */

/*
 * libcurl's socket interface: curl says which sockets to watch (on_socket) and when its next
 * timeout is due (on_timer); the platform's poller (epoll on Linux) waits, then curl is told
 * exactly which socket is ready. curl_multi_poll + curl_multi_perform walk every transfer and
 * poll() every socket on each wake-up — with 1000 streams that walk, not the bytes, was the
 * client's cost.
 */
static int on_socket(CURL *e, curl_socket_t fd, int what, void *userp, void *socketp)
{
    struct engine *g = userp;
    (void)e;
    (void)socketp;
    if (what == CURL_POLL_REMOVE)
        ostel_poller_remove(g->poller, fd);
    else
        ostel_poller_set(g->poller, fd, (what & CURL_POLL_IN) != 0, (what & CURL_POLL_OUT) != 0);
    return 0;
}

static int on_timer(CURLM *m, long timeout_ms, void *userp)
{
    struct engine *g = userp;
    (void)m;
    g->timer_ns = timeout_ms < 0 ? -1 : ostel_mono_ns() + (int64_t)timeout_ms * 1000000;
    return 0;
}

static void pump(struct engine *g, int timeout_ms)
{
    int running = 0;
    int64_t now = ostel_mono_ns();
    if (g->timer_ns >= 0) {
        int64_t d = (g->timer_ns - now + 999999) / 1000000;
        if (d < timeout_ms)
            timeout_ms = d < 0 ? 0 : (int)d;
    }
    struct ostel_poller_event *ev = g->ev;
    int n = ostel_poller_wait(g->poller, timeout_ms, ev, OSTEL_POLLER_MAX);
    g->wake_ns = n > 0 ? ostel_mono_ns() : -1;
    for (int i = 0; i < n; i++) {
        int flags = (ev[i].in ? CURL_CSELECT_IN : 0) | (ev[i].out ? CURL_CSELECT_OUT : 0) |
                    (ev[i].err ? CURL_CSELECT_ERR : 0);
        curl_multi_socket_action(g->multi, ev[i].fd, flags, &running);
    }
    g->wake_ns = -1;
    if (g->timer_ns >= 0 && ostel_mono_ns() >= g->timer_ns) {
        g->timer_ns = -1;
        curl_multi_socket_action(g->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    }
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(g->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        if (m->easy_handle == g->scrape) {
            scrape_done(g, m->data.result);
            continue;
        }
        struct xfer *x = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
        if (x)
            finish_request(g, x, m->data.result, NULL);
    }
}

/* Ends every request still in flight (Ctrl-C): recorded as failed "interrupted". */
static void abort_inflight(struct engine *g, const char *why)
{
    while (g->nactive)
        finish_request(g, g->active[g->nactive - 1], CURLE_OK, why);
}

struct level_run {
    const char *name;
    bool open;    /* open loop (rate) */
    double value; /* concurrency or rate */
    int64_t start_ns, end_ns;
    const char *stopped; /* NULL, "saturated", "errors", "interrupted" */
};

static bool stop_requested(const struct engine *g)
{
    return g->stop && atomic_load(g->stop);
}

/* A level's loop state (run_level). */
struct level_loop {
    int total, issued; /* requests to issue (warm-up ones first) and issued so far */
    int64_t measure_start, dur_ns, next_arrival; /* monotonic ns; measure_start -1 before */
    double rate;                                 /* open loop: arrivals per second */
    int conc;                                    /* closed loop: requests in flight */
    double *backlog; /* saturation: the in-flight count once a second (owned) */
    size_t nback, capback;
    int64_t next_back;
    bool issuing, waited_verdict;
    bool behind;         /* requests due were left for the next turn (ISSUE_BATCH) */
    int64_t unfilled_ns; /* closed loop: since when a free slot has waited for the cap, or -1 */
    int64_t idle_ns;     /* when the level went idle before waiting for the server's exit, or -1 */
};

/* The most requests started in one turn of the level's loop: the streams already running are read
 * between batches, so a level that opens with a thousand requests does not keep its first
 * streams' tokens unread (and their arrival late) while it sets up the last connections. A batch's
 * connects hold the reads up: on a 16-CPU machine at 1000 streams the largest ITL error was 1.50 ms
 * (median of 66 rounds) with 16, 0.85 with 8 and 0.76 with 4 (54 rounds each), the fill no slower
 * (docs/serve.md). */
#define ISSUE_BATCH 4

/* Whether the level ends now: an output file could not be written (what is measured can no longer
 * be kept: stop, and fail the run), or the stop flag is up; every request in flight is aborted. */
static bool level_aborted(struct engine *g, struct level_run *lv)
{
    if (g->write_errno) {
        lv->stopped = "write_error";
        abort_inflight(g, "not recorded: an output file could not be written");
        return true;
    }
    if (stop_requested(g)) {
        /* 2: the server ostel started has exited (runner.h) */
        bool died = atomic_load(g->stop) == 2;
        g->interrupted = !died;
        g->server_exited = died;
        lv->stopped = died ? "server_exited" : "interrupted";
        abort_inflight(g, died ? "the server exited" : "interrupted");
        return true;
    }
    return false;
}

/* Starts the requests due at now: a closed loop's up to its concurrency, an open loop's at each
 * arrival passed; issuing ends with the duration or the request count. */
static void level_issue(struct engine *g, int li, const struct level_run *lv, struct level_loop *st,
                        int64_t now)
{
    const struct ostel_serve_params *p = g->p;
    if (st->issuing) {
        if (st->dur_ns > 0)
            st->issuing = st->measure_start < 0 || now < st->measure_start + st->dur_ns;
        else
            st->issuing = st->issued < st->total;
    }
    int batch = 0;
    st->behind = false;
    if (st->issuing && !lv->open) {
        /* a slot that waited for the cap was free since unfilled_ns: its request was due then */
        int64_t sched = st->unfilled_ns >= 0 ? st->unfilled_ns : now;
        while (g->inflight < st->conc && st->issuing) {
            if (batch++ == ISSUE_BATCH) {
                st->behind = true;
                break;
            }
            bool wu = st->issued < p->warmup;
            if (!wu && st->measure_start < 0)
                st->measure_start = sched;
            start_request(g, li, wu, sched);
            st->issued++;
            if (st->dur_ns == 0 && st->issued >= st->total)
                st->issuing = false;
        }
        st->unfilled_ns = st->behind ? sched : -1;
    } else if (st->issuing) {
        while (st->next_arrival <= now && st->issuing) {
            if (batch++ == ISSUE_BATCH) {
                st->behind = true;
                break;
            }
            bool wu = st->issued < p->warmup;
            if (!wu && st->measure_start < 0)
                st->measure_start = st->next_arrival;
            if (st->dur_ns > 0 && st->measure_start >= 0 &&
                st->next_arrival >= st->measure_start + st->dur_ns) {
                st->issuing = false;
                break;
            }
            start_request(g, li, wu, st->next_arrival);
            st->issued++;
            double gap = p->poisson ? -log(rng_unit(&g->rng)) / st->rate : 1.0 / st->rate;
            st->next_arrival += (int64_t)(gap * 1e9);
            if (st->dur_ns == 0 && st->issued >= st->total)
                st->issuing = false;
        }
    }
}

/* The level is idle (nothing in flight, nothing more to issue). Failures in transport may be the
 * server ostel started dying: the runner sees its exit within its 100 ms poll; the first time,
 * this waits for that (2 s at most) so the level says why, and returns true (look again);
 * false: the level is over. */
static bool level_wait_verdict(struct engine *g, struct level_loop *st)
{
    if (!(g->p->server_managed && g->transport_failed && !st->waited_verdict && g->stop))
        return false;
    st->waited_verdict = true;
    st->idle_ns = ostel_mono_ns(); /* the level's end: the wait is not part of it */
    int64_t until = ostel_mono_ns() + 2000000000ll;
    while (!stop_requested(g) && ostel_mono_ns() < until)
        pump(g, 50);
    return true;
}

/* Early stops: errors beyond the bound; an open loop's backlog growing without bound. */
static void level_early_stops(struct engine *g, struct level_run *lv, struct level_loop *st,
                              int64_t now)
{
    const struct ostel_serve_params *p = g->p;
    size_t fin = g->level_finished, bad = g->level_failed;
    if (st->issuing && fin >= 8 && (double)bad / (double)fin > p->max_error_rate) {
        lv->stopped = "errors";
        st->issuing = false;
    }
    if (now >= st->next_back) {
        st->next_back += 1000000000ll;
        if (st->nback == st->capback) {
            st->capback = st->capback ? st->capback * 2 : 64;
            st->backlog = ostel_xrealloc(st->backlog, st->capback * sizeof(*st->backlog));
        }
        st->backlog[st->nback++] = g->inflight;
        if (st->issuing && lv->open && p->stop_on_saturation &&
            ostel_serve_saturated(st->backlog, st->nback)) {
            lv->stopped = "saturated";
            st->issuing = false;
        }
    }
}

static void run_level(struct engine *g, int li, struct level_run *lv)
{
    const struct ostel_serve_params *p = g->p;
    g->level_name = lv->name;
    int64_t now = ostel_mono_ns();
    lv->start_ns = now;
    struct level_loop st = {.total = p->warmup + p->requests,
                            .measure_start = -1,
                            .dur_ns = (int64_t)(p->duration_s * 1e9),
                            .next_arrival = now,
                            .rate = lv->value,
                            .conc = (int)lv->value,
                            .next_back = now + 1000000000ll,
                            .issuing = true,
                            .unfilled_ns = -1,
                            .idle_ns = -1};
    g->level_finished = g->level_failed = g->transport_failed = 0;
    for (;;) {
        now = ostel_mono_ns();
        if (level_aborted(g, lv))
            break;
        level_issue(g, li, lv, &st, now);
        if (!st.issuing && g->inflight == 0) {
            if (level_wait_verdict(g, &st))
                continue;
            break;
        }
        scrape_maybe(g, now);
        level_early_stops(g, lv, &st, now);
        int wait_ms = 50;
        if (st.behind) {
            wait_ms = 0; /* more are due: read what is ready, then issue the next batch */
        } else if (st.issuing && lv->open) {
            int64_t d = (st.next_arrival - now) / 1000000;
            wait_ms = d < 0 ? 0 : d < 50 ? (int)d : 50;
        }
        pump(g, wait_ms);
    }
    free(st.backlog);
    lv->end_ns = st.idle_ns >= 0 ? st.idle_ns : ostel_mono_ns();
}

/* ---- per-level results ---- */

static cJSON *dist_json(double *x, size_t n)
{
    struct ostel_serve_dist d;
    ostel_serve_dist_compute(x, n, &d);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "n", (double)d.n);
    cJSON_AddItemToObject(o, "mean", num_or_null(d.mean));
    cJSON_AddItemToObject(o, "sd", num_or_null(d.sd));
    cJSON_AddItemToObject(o, "p50", num_or_null(d.p50));
    cJSON_AddItemToObject(o, "p90", num_or_null(d.p90));
    cJSON_AddItemToObject(o, "p95", num_or_null(d.p95));
    cJSON_AddItemToObject(o, "p99", num_or_null(d.p99));
    cJSON_AddItemToObject(o, "p99_9", num_or_null(d.p999));
    cJSON_AddItemToObject(o, "max", num_or_null(d.max));
    return o;
}

struct level_stats {
    double throughput; /* ok requests/s; NAN when none */
};

/* A level's measured requests (level_json): one value per completed request in each series. */
struct level_samples {
    double *ttft, *ttft_s, *itl, *tpot, *e2e, *e2e_s, *queue, *srv, *cache; /* k each; owned */
    double *pooled; /* every inter-token gap of the completed requests: kp (owned) */
    size_t k, kp;
    size_t n, ok, failed, good, below, mismatch;
    double out_tok, in_tok;
    int64_t t_first, t_last; /* first scheduled, last ended (monotonic ns); -1 when none */
    cJSON *reasons;          /* failures by reason */
};

/* Sized for level li's measured requests. */
static void level_samples_init(const struct engine *g, int li, struct level_samples *s)
{
    memset(s, 0, sizeof(*s));
    size_t npool = 0;
    for (size_t i = 0; i < g->nreqs; i++) {
        const struct req *r = g->reqs[i];
        s->n += r->level == li && !r->warmup;
        if (r->level == li && !r->warmup && r->ok && r->ntok > 1)
            npool += r->ntok - 1;
    }
    size_t cap = s->n ? s->n : 1;
    double **series[] = {&s->ttft,  &s->ttft_s, &s->itl, &s->tpot, &s->e2e,
                         &s->e2e_s, &s->queue,  &s->srv, &s->cache};
    for (size_t i = 0; i < sizeof(series) / sizeof(series[0]); i++)
        *series[i] = ostel_xmalloc(cap * sizeof(double));
    s->pooled = ostel_xmalloc((npool ? npool : 1) * sizeof(double));
    s->t_first = s->t_last = -1;
    s->reasons = cJSON_CreateObject();
}

static void level_samples_free(struct level_samples *s)
{
    double *series[] = {s->ttft,  s->ttft_s, s->itl, s->tpot,  s->e2e,
                        s->e2e_s, s->queue,  s->srv, s->cache, s->pooled};
    for (size_t i = 0; i < sizeof(series) / sizeof(series[0]); i++)
        free(series[i]);
}

/* A failed request, counted under its reason's first words (an HTTP status, a curl error). */
static void level_add_failed(struct level_samples *s, const struct req *r)
{
    s->failed++;
    char key[48];
    snprintf(key, sizeof(key), "%.40s", r->error);
    char *colon = strchr(key, ':');
    if (colon && strncmp(key, "HTTP", 4) != 0)
        *colon = '\0';
    cJSON *c = cJSON_GetObjectItem(s->reasons, key);
    if (c)
        cJSON_SetNumberValue(c, c->valuedouble + 1);
    else
        cJSON_AddNumberToObject(s->reasons, key, 1);
}

/* A completed request's figures, one more value in each series. */
static void level_add_ok(struct level_samples *s, const struct req *r,
                         const struct ostel_serve_slo *slo)
{
    size_t k = s->k;
    s->ok++;
    s->ttft[k] = ms_between(r->sched_ns, r->first_ns);
    s->ttft_s[k] = ms_between(r->send_ns, r->first_ns);
    s->itl[k] = req_itl_mean_ms(r);
    s->tpot[k] = req_tpot_ms(r);
    s->e2e[k] = ms_between(r->sched_ns, r->end_ns);
    s->e2e_s[k] = ms_between(r->send_ns, r->end_ns);
    s->queue[k] = ms_between(r->sched_ns, r->send_ns);
    s->srv[k] = isfinite(r->prompt_ms) ? s->ttft_s[k] - r->prompt_ms : NAN;
    s->cache[k] = r->cache_n;
    if (isfinite(s->srv[k]) && s->srv[k] < 0)
        s->below++;
    if (r->usage_completion >= 0 && r->usage_completion != r->chunks)
        s->mismatch++;
    for (size_t t = 1; t < r->ntok; t++)
        s->pooled[s->kp++] = ms_between(r->tok[t - 1], r->tok[t]);
    s->out_tok += r->usage_completion >= 0 ? r->usage_completion : r->chunks;
    s->in_tok += r->usage_prompt >= 0 ? r->usage_prompt : r->prompt_asked;
    s->good += ostel_serve_slo_met(slo, s->ttft[k], s->itl[k], s->e2e[k]);
    s->k++;
}

/* The level's distributions, after its counts in o. */
static void level_dists_json(cJSON *o, const struct level_samples *s)
{
    size_t k = s->k;
    cJSON_AddItemToObject(o, "ttft_ms", dist_json(s->ttft, k));
    cJSON_AddItemToObject(o, "ttft_from_send_ms", dist_json(s->ttft_s, k));
    cJSON_AddItemToObject(o, "itl_ms", dist_json(s->itl, k));
    cJSON_AddItemToObject(o, "itl_pooled_ms", dist_json(s->pooled, s->kp));
    cJSON_AddItemToObject(o, "tpot_ms", dist_json(s->tpot, k));
    cJSON_AddItemToObject(o, "e2e_ms", dist_json(s->e2e, k));
    cJSON_AddItemToObject(o, "e2e_from_send_ms", dist_json(s->e2e_s, k));
    cJSON_AddItemToObject(o, "client_queue_ms", dist_json(s->queue, k));
    cJSON_AddItemToObject(o, "ttft_minus_server_prompt_ms", dist_json(s->srv, k));
    cJSON_AddNumberToObject(o, "ttft_below_server_prompt", (double)s->below);
    cJSON_AddNumberToObject(o, "usage_chunk_mismatches", (double)s->mismatch);
    cJSON_AddItemToObject(o, "server_cache_n", dist_json(s->cache, k));
}

static cJSON *level_json(struct engine *g, int li, const struct level_run *lv,
                         struct level_stats *ls)
{
    const struct ostel_serve_params *p = g->p;
    struct level_samples s;
    level_samples_init(g, li, &s);
    const struct ostel_serve_slo slo = {p->slo_ttft_ms, p->slo_itl_ms, p->slo_e2e_ms};
    for (size_t i = 0; i < g->nreqs; i++) {
        const struct req *r = g->reqs[i];
        if (r->level != li || r->warmup)
            continue;
        if (s.t_first < 0 || r->sched_ns < s.t_first)
            s.t_first = r->sched_ns;
        if (r->end_ns > s.t_last)
            s.t_last = r->end_ns;
        if (!r->ok)
            level_add_failed(&s, r);
        else
            level_add_ok(&s, r, &slo);
    }
    double dur =
        s.t_first >= 0 && s.t_last > s.t_first ? (double)(s.t_last - s.t_first) / 1e9 : NAN;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", lv->name);
    cJSON_AddStringToObject(o, "kind", lv->open ? "rate" : "concurrency");
    cJSON_AddNumberToObject(o, "value", lv->value);
    if (lv->open)
        cJSON_AddStringToObject(o, "arrivals", p->poisson ? "poisson" : "constant");
    cJSON_AddNumberToObject(o, "start_ts", round(mono_to_real(g, lv->start_ns) * 1000) / 1000);
    cJSON_AddNumberToObject(o, "end_ts", round(mono_to_real(g, lv->end_ns) * 1000) / 1000);
    cJSON_AddNumberToObject(o, "requests", (double)s.n);
    cJSON_AddNumberToObject(o, "completed", (double)s.ok);
    cJSON_AddNumberToObject(o, "failed", (double)s.failed);
    cJSON_AddItemToObject(o, "failed_reasons", s.reasons);
    cJSON_AddItemToObject(o, "stopped_early",
                          lv->stopped ? cJSON_CreateString(lv->stopped) : cJSON_CreateNull());
    cJSON_AddItemToObject(o, "duration_s", num_or_null(dur));
    ls->throughput = dur > 0 ? (double)s.ok / dur : NAN;
    cJSON_AddItemToObject(o, "request_throughput", num_or_null(ls->throughput));
    cJSON_AddItemToObject(o, "output_tokens_per_s", num_or_null(dur > 0 ? s.out_tok / dur : NAN));
    cJSON_AddItemToObject(o, "total_tokens_per_s",
                          num_or_null(dur > 0 ? (s.out_tok + s.in_tok) / dur : NAN));
    cJSON_AddItemToObject(o, "goodput", num_or_null(dur > 0 ? (double)s.good / dur : NAN));
    cJSON_AddNumberToObject(o, "good_requests", (double)s.good);
    level_dists_json(o, &s);
    level_samples_free(&s);
    return o;
}

#endif /* OSTEL_HAVE_CURL */

struct ostel_serve_params ostel_serve_default_params(void)
{
    struct ostel_serve_params p;
    memset(&p, 0, sizeof(p));
    p.mode = OSTEL_SERVE_CONCURRENCY;
    p.sweep_points = 5;
    p.sweep_concurrency = 16;
    p.poisson = true;
    p.seed = 42;
    p.requests = 32;
    p.warmup = 2;
    p.prompt_tokens = 512;
    p.output_tokens = 256;
    p.timeout_s = 600;
    p.slo_ttft_ms = 500;
    p.slo_itl_ms = 50;
    p.slo_e2e_ms = 10000;
    p.max_error_rate = 0.5;
    p.stop_on_saturation = true;
    p.scrape_interval_ns = 1000000000ull;
    return p;
}

void ostel_serve_outcome_free(struct ostel_serve_outcome *o)
{
    cJSON_Delete(o->json);
    for (size_t i = 0; i < o->n_levels; i++)
        free(o->level_names[i]);
    free(o->level_names);
    free(o->level_start_ts);
    free(o->level_end_ts);
    memset(o, 0, sizeof(*o));
}

#ifdef OSTEL_HAVE_CURL

static void fmt_level(char *out, size_t n, bool open, double v)
{
    if (open)
        snprintf(out, n, "r%g", v);
    else
        snprintf(out, n, "c%g", v);
}

/* Sets up the engine: clocks, URLs, the logit bias that bans tokens, curl's headers. */
static void engine_init(struct engine *g, const struct ostel_serve_params *p,
                        const _Atomic int *stop)
{
    memset(g, 0, sizeof(*g));
    g->req_fd = -1;
    g->wake_ns = -1;
    g->p = p;
    g->stop = stop;
    g->rng = p->seed;
    g->t0_mono_ns = ostel_mono_ns();
    struct timespec rt;
    clock_gettime(CLOCK_REALTIME, &rt);
    g->t0_real = (double)rt.tv_sec + (double)rt.tv_nsec / 1e9;
    g->completions_url = ostel_xasprintf("%s/v1/completions", p->url);
    if (p->n_banned_tokens) {
        /* llama-server's logit_bias takes [id, false] as a ban (-INFINITY): server-schema.cpp */
        struct ostel_buf lb;
        ostel_buf_init(&lb, 0);
        ostel_buf_puts(&lb, ",\"logit_bias\":[");
        for (size_t i = 0; i < p->n_banned_tokens; i++)
            ostel_buf_printf(&lb, "%s[%d,false]", i ? "," : "", (int)p->banned_tokens[i]);
        ostel_buf_puts(&lb, "]}");
        g->logit_bias = ostel_buf_detach(&lb);
    }
    if (p->scrape_interval_ns)
        g->metrics_url = ostel_xasprintf("%s/metrics", p->url);
    ostel_buf_init(&g->scrape_buf, 16u << 20);
    g->hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    g->level_name = "";
}

/* Opens requests.csv, server_metrics.csv and (save_tokens) tokens.csv with their headers;
 * OSTEL_ERR with out->error set when one cannot be written. */
static int open_outputs(struct engine *g, struct ostel_serve_outcome *out)
{
    const struct ostel_serve_params *p = g->p;
    char *rp = ostel_xasprintf("%s/requests.csv", p->dir);
    char *mp = ostel_xasprintf("%s/server_metrics.csv", p->dir);
    ostel_buf_init(&g->req_row, 0);
    ostel_buf_init(&g->tok_row, 0);
    ostel_buf_init(&g->prompt_json, 0);
    g->req_fd = open(rp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    g->met_csv = fopen(mp, "w");
    int rc = OSTEL_ERR;
    if (g->req_fd < 0 || !g->met_csv) {
        snprintf(out->error, sizeof(out->error), "cannot write in '%s': %s", p->dir,
                 strerror(errno));
        goto done;
    }
    char hdr[512];
    req_append(g, hdr, ostel_requests_format_header(hdr, sizeof(hdr)));
    fwrite(hdr, 1, ostel_server_metrics_format_header(hdr, sizeof(hdr)), g->met_csv);
    flush_checked(g, g->met_csv, "server_metrics.csv");
    if (p->save_tokens) {
        char *tp = ostel_xasprintf("%s/tokens.csv", p->dir);
        g->tok_csv = fopen(tp, "w");
        free(tp);
        if (!g->tok_csv) {
            snprintf(out->error, sizeof(out->error), "cannot write tokens.csv in '%s'", p->dir);
            goto done;
        }
        fwrite(hdr, 1, ostel_tokens_format_header(hdr, sizeof(hdr)), g->tok_csv);
        flush_checked(g, g->tok_csv, "tokens.csv");
    }
    if (g->write_errno) {
        snprintf(out->error, sizeof(out->error), "%s", g->write_error);
        goto done;
    }
    rc = OSTEL_OK;
done:
    free(rp);
    free(mp);
    return rc;
}

/* The prompts, the socket poller and curl's multi handle; OSTEL_ERR with out->error set. */
static int start_engine(struct engine *g, struct ostel_serve_outcome *out)
{
    if (prepare_prompts(g, out->error, sizeof(out->error)) != 0)
        return OSTEL_ERR;
    g->poller = ostel_poller_new();
    if (!g->poller) {
        snprintf(out->error, sizeof(out->error), "cannot watch sockets");
        return OSTEL_ERR;
    }
    g->ev = ostel_xcalloc(OSTEL_POLLER_MAX, sizeof(*g->ev));
    g->multi = curl_multi_init();
    curl_multi_setopt(g->multi, CURLMOPT_MAXCONNECTS, 8192L);
    g->timer_ns = -1;
    curl_multi_setopt(g->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(g->multi, CURLMOPT_SOCKETDATA, g);
    curl_multi_setopt(g->multi, CURLMOPT_TIMERFUNCTION, on_timer);
    curl_multi_setopt(g->multi, CURLMOPT_TIMERDATA, g);
    return OSTEL_OK;
}

/* The outcome's JSON up to its "levels" array (returned, empty), and room for nlev levels. */
static cJSON *outcome_json(const struct engine *g, struct ostel_serve_outcome *out, size_t nlev)
{
    const struct ostel_serve_params *p = g->p;
    out->level_names = ostel_xcalloc(nlev, sizeof(char *));
    out->level_start_ts = ostel_xcalloc(nlev, sizeof(double));
    out->level_end_ts = ostel_xcalloc(nlev, sizeof(double));
    cJSON *json = cJSON_CreateObject();
    cJSON_AddStringToObject(json, "url", p->url);
    cJSON_AddStringToObject(json, "mode",
                            p->mode == OSTEL_SERVE_CONCURRENCY ? "concurrency"
                            : p->mode == OSTEL_SERVE_RATE      ? "rate"
                                                               : "sweep");
    cJSON_AddNumberToObject(json, "prompt_tokens", p->prompt_tokens);
    cJSON_AddNumberToObject(json, "prompt_tokens_sd", p->prompt_sd);
    cJSON_AddItemToObject(json, "prompt_tokens_max",
                          p->prompt_max > 0 ? cJSON_CreateNumber(p->prompt_max)
                                            : cJSON_CreateNull());
    cJSON_AddNumberToObject(json, "output_tokens", p->output_tokens);
    cJSON_AddNumberToObject(json, "output_tokens_sd", p->output_sd);
    cJSON_AddItemToObject(json, "output_tokens_max",
                          p->output_max > 0 ? cJSON_CreateNumber(p->output_max)
                                            : cJSON_CreateNull());
    cJSON_AddBoolToObject(json, "unique_prompts", !p->reuse_prompts);
    cJSON_AddBoolToObject(json, "utf8_only", p->utf8_only);
    cJSON_AddNumberToObject(json, "banned_tokens", (double)p->n_banned_tokens);
    if (!p->reuse_prompts) {
        cJSON_AddNumberToObject(json, "prompt_nonce", (double)g->nonce);
        cJSON_AddNumberToObject(json, "prompt_prefix_alphabet", (double)g->npool_ids);
    }
    cJSON *slo = cJSON_AddObjectToObject(json, "slo");
    cJSON_AddItemToObject(slo, "ttft_ms", num_or_null(p->slo_ttft_ms));
    cJSON_AddItemToObject(slo, "itl_ms", num_or_null(p->slo_itl_ms));
    cJSON_AddItemToObject(slo, "e2e_ms", num_or_null(p->slo_e2e_ms));
    out->json = json;
    return cJSON_AddArrayToObject(json, "levels");
}

/* Level li's load: given, or (sweep) 1, then sweep_concurrency, then rates between the two
 * throughputs r_lo and r_hi; false when the sweep has nothing left between them. */
static bool level_value(const struct ostel_serve_params *p, size_t li, size_t nlev, double r_lo,
                        double r_hi, struct level_run *lv)
{
    if (p->mode == OSTEL_SERVE_SWEEP) {
        if (li == 0) {
            lv->value = 1;
        } else if (li == 1) {
            lv->value = p->sweep_concurrency;
        } else {
            if (!(r_lo > 0) || !(r_hi > r_lo))
                return false; /* nothing between the two: the server did not scale */
            lv->open = true;
            lv->value = r_lo + (r_hi - r_lo) * (double)(li - 1) / (double)(nlev - 1);
        }
    } else {
        lv->open = p->mode == OSTEL_SERVE_RATE;
        lv->value = p->levels[li];
    }
    return true;
}

/* The line on stderr that sums up a level. */
static void print_level(const char *name, const cJSON *lj, const struct level_stats *ls)
{
    cJSON *t = cJSON_GetObjectItem(lj, "ttft_ms"), *e = cJSON_GetObjectItem(lj, "e2e_ms");
    double p50 = cJSON_GetObjectItem(t, "p50")->valuedouble;
    fprintf(stderr,
            "ostel serve: level %s: %d ok, %d failed, %.3g req/s, %.4g output tok/s, "
            "TTFT p50 %.4g ms, E2E p99 %.4g ms\n",
            name, cJSON_GetObjectItem(lj, "completed")->valueint,
            cJSON_GetObjectItem(lj, "failed")->valueint, ls->throughput,
            cJSON_GetObjectItem(lj, "output_tokens_per_s")->valuedouble,
            cJSON_IsNull(cJSON_GetObjectItem(t, "p50")) ? NAN : p50,
            cJSON_IsNull(cJSON_GetObjectItem(e, "p99"))
                ? NAN
                : cJSON_GetObjectItem(e, "p99")->valuedouble);
}

/* Runs the levels in turn until they are done, interrupted, the server exits or a write fails. */
static void run_levels(struct engine *g, struct ostel_serve_outcome *out, cJSON *levels,
                       size_t nlev)
{
    const struct ostel_serve_params *p = g->p;
    double r_lo = NAN, r_hi = NAN;
    for (size_t li = 0; li < nlev && !g->interrupted && !g->server_exited && !g->write_errno;
         li++) {
        struct level_run lv = {0};
        if (!level_value(p, li, nlev, r_lo, r_hi, &lv))
            break;
        char name[32];
        fmt_level(name, sizeof(name), lv.open, lv.value);
        out->level_names[li] = ostel_xstrdup(name);
        lv.name = out->level_names[li];
        out->n_levels = li + 1;
        if (!p->quiet)
            fprintf(stderr, "ostel serve: level %s (%s %g)\n", name,
                    lv.open ? "rate" : "concurrency", lv.value);
        run_level(g, (int)li, &lv);
        out->level_start_ts[li] = mono_to_real(g, lv.start_ns);
        out->level_end_ts[li] = mono_to_real(g, lv.end_ns);
        struct level_stats ls;
        cJSON *lj = level_json(g, (int)li, &lv, &ls);
        cJSON_AddItemToArray(levels, lj);
        if (li == 0)
            r_lo = ls.throughput;
        if (li == 1)
            r_hi = ls.throughput;
        if (!p->quiet)
            print_level(name, lj, &ls);
    }
}

/* Frees the engine and closes its files; a failure to close what was written fails a load
 * that went well. Returns rc, or OSTEL_ERR with out->error set. */
static int engine_finish(struct engine *g, struct ostel_serve_outcome *out, int rc)
{
    if (g->scrape) {
        if (g->scraping)
            curl_multi_remove_handle(g->multi, g->scrape);
        curl_easy_cleanup(g->scrape);
    }
    for (size_t i = 0; i < g->npool; i++) {
        curl_easy_cleanup(g->pool[i]->e);
        free(g->pool[i]);
    }
    free(g->pool);
    free(g->active);
    ostel_poller_free(g->poller);
    free(g->ev);
    if (g->multi)
        curl_multi_cleanup(g->multi);
    for (size_t i = 0; i < g->nreqs; i++) {
        if (g->reqs[i]->tok_text.data)
            ostel_buf_free(&g->reqs[i]->tok_text);
        free(g->reqs[i]->tok);
        free(g->reqs[i]);
    }
    free(g->reqs);
    if (g->req_fd >= 0) {
        if (fsync(g->req_fd) != 0 && errno != EINVAL)
            note_write_errno(g, errno, "requests.csv");
        if (close(g->req_fd) != 0)
            note_write_errno(g, errno, "requests.csv");
    }
    ostel_buf_free(&g->req_row);
    ostel_buf_free(&g->prompt_json);
    ostel_buf_free(&g->tok_row);
    if (g->met_csv)
        close_checked(g, g->met_csv, "server_metrics.csv");
    if (g->tok_csv)
        close_checked(g, g->tok_csv, "tokens.csv");
    if (rc == OSTEL_OK && g->write_errno) {
        snprintf(out->error, sizeof(out->error), "%s", g->write_error);
        rc = OSTEL_ERR;
    }
    free(g->corpus);
    free(g->pool_ids);
    free(g->completions_url);
    free(g->logit_bias);
    free(g->metrics_url);
    ostel_buf_free(&g->scrape_buf);
    curl_slist_free_all(g->hdrs);
    return rc;
}

/* The descriptors a run may hold at once: its largest closed-loop level's streams and
 * SERVE_OTHER_FDS more (the output files, the scrape, the server's pipes), and at least
 * SERVE_FD_ROOM, for open loops, whose streams in flight the server's pace decides. */
#define SERVE_FD_ROOM 4096
#define SERVE_OTHER_FDS 64
static int streams_room(const struct ostel_serve_params *p)
{
    double most = 0;
    if (p->mode == OSTEL_SERVE_CONCURRENCY)
        for (size_t i = 0; i < p->n_levels; i++)
            most = p->levels[i] > most ? p->levels[i] : most;
    if (p->mode == OSTEL_SERVE_SWEEP && p->sweep_concurrency > most)
        most = p->sweep_concurrency;
    most += SERVE_OTHER_FDS;
    return most < SERVE_FD_ROOM ? SERVE_FD_ROOM : most < INT_MAX ? (int)most : INT_MAX;
}

int ostel_serve_run(const struct ostel_serve_params *p, const _Atomic int *stop,
                    struct ostel_serve_outcome *out)
{
    memset(out, 0, sizeof(*out));
    static bool curl_ready; /* set once, before any thread of ours uses curl */
    if (!curl_ready) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        curl_ready = true;
    }
    /* every stream a socket, opened mid-level: make room for them all now (platform.h) */
    ostel_platform_fd_room(streams_room(p));
    struct engine g;
    engine_init(&g, p, stop);

    int rc = OSTEL_ERR;
    if (open_outputs(&g, out) != OSTEL_OK || start_engine(&g, out) != OSTEL_OK)
        goto done;

    /* the levels: given, or a sweep decided as it goes */
    size_t nlev = p->mode == OSTEL_SERVE_SWEEP ? (size_t)p->sweep_points : p->n_levels;
    cJSON *levels = outcome_json(&g, out, nlev);
    run_levels(&g, out, levels, nlev);
    /* a scrape still running is dropped */
    cJSON_AddBoolToObject(out->json, "interrupted", g.interrupted);
    cJSON_AddBoolToObject(out->json, "server_exited", g.server_exited);
    out->interrupted = g.interrupted;
    rc = OSTEL_OK;
    if (g.write_errno) {
        snprintf(out->error, sizeof(out->error), "%s", g.write_error);
        rc = OSTEL_ERR;
    }

done:
    rc = engine_finish(&g, out, rc);
    out->failed = rc != OSTEL_OK;
    return rc;
}

#else /* built without libcurl (the macOS cross-build): ostel serve says so */

int ostel_serve_run(const struct ostel_serve_params *p, const _Atomic int *stop,
                    struct ostel_serve_outcome *out)
{
    memset(out, 0, sizeof(*out));
    return ostel_error("this ostel was built without libcurl: ostel serve needs it (Debian: "
                       "libcurl4-openssl-dev, Homebrew: curl)");
}

#endif /* OSTEL_HAVE_CURL */

/* One level's sample rows, summed while they are labelled (ostel_serve_label_metrics). */
struct level_acc {
    double rss_peak, rss_sum, cpu_sum;
    size_t n_rss, n_cpu, n_all;
};

/* row's level: the name of the last level whose span holds its ts ("" for none; row NULL: none),
 * its values counted in every level that holds it. */
static const char *label_row(const struct ostel_serve_outcome *o,
                             const struct ostel_metrics_row *row, struct level_acc *acc)
{
    double ts = row ? ostel_metrics_get(row, OSTEL_COL_TS) : NAN;
    const char *name = "";
    for (size_t i = 0; i < o->n_levels; i++) {
        if (!(ts >= o->level_start_ts[i] && ts <= o->level_end_ts[i]))
            continue;
        struct level_acc *a = &acc[i];
        name = o->level_names[i];
        a->n_all++;
        double rss = ostel_metrics_get(row, OSTEL_COL_RSS_MB),
               cpu = ostel_metrics_get(row, OSTEL_COL_CPU_PCT);
        if (isfinite(rss)) {
            a->rss_peak = a->n_rss == 0 || rss > a->rss_peak ? rss : a->rss_peak;
            a->rss_sum += rss;
            a->n_rss++;
        }
        if (isfinite(cpu)) {
            a->cpu_sum += cpu;
            a->n_cpu++;
        }
    }
    return name;
}

/* metrics.csv with its level column, from the rows the runner (or the sampler) wrote it from:
 * their header and rows formatted again, the very bytes of the file, each line ending in its
 * level. */
static void label_from_rows(const struct ostel_metrics_table *rows,
                            const struct ostel_serve_outcome *o, struct level_acc *acc,
                            struct ostel_buf *outb)
{
    char line[512];
    size_t n = ostel_metrics_format_header(line, sizeof(line));
    ostel_buf_append(outb, line, n ? n - 1 : 0);
    ostel_buf_puts(outb, "," OSTEL_METRICS_LEVEL_COL "\n");
    for (size_t k = 0; k < rows->n; k++) {
        n = ostel_metrics_format_row(&rows->rows[k], line, sizeof(line));
        ostel_buf_append(outb, line, n ? n - 1 : 0);
        ostel_buf_printf(outb, ",%s\n", label_row(o, &rows->rows[k], acc));
    }
}

/* The same from metrics.csv read back (text, in), each of its lines kept as it is: the rows typed
 * by metrics.csv's one reader (rundir_metrics.h), one per non-empty line after the header; a file
 * it refuses gets its level column with every cell empty. */
static void label_from_text(const struct ostel_buf *in, const struct ostel_serve_outcome *o,
                            struct level_acc *acc, struct ostel_buf *outb)
{
    const char *text = in->data ? in->data : "";
    struct ostel_metrics_table t;
    char perr[256];
    if (ostel_metrics_parse(text, in->len, &t, perr, sizeof(perr)) != 0)
        t.n = 0;
    struct ostel_str rest = ostel_str_make(text, in->len), line;
    bool header = true;
    size_t k = 0;
    while (ostel_str_next_line(&rest, &line)) {
        ostel_buf_append(outb, line.p, line.n);
        if (header) {
            ostel_buf_puts(outb, "," OSTEL_METRICS_LEVEL_COL "\n");
            header = false;
            continue;
        }
        const struct ostel_metrics_row *row = line.n > 0 && k < t.n ? &t.rows[k++] : NULL;
        ostel_buf_printf(outb, ",%s\n", label_row(o, row, acc));
    }
    ostel_metrics_table_free(&t);
}

/* Each level's telemetry from its rows, into its object of o->json's levels. */
static void level_telemetry(struct ostel_serve_outcome *o, const struct level_acc *acc)
{
    cJSON *levels = o->json ? cJSON_GetObjectItem(o->json, "levels") : NULL;
    for (size_t i = 0; i < o->n_levels && levels; i++) {
        cJSON *l = cJSON_GetArrayItem(levels, (int)i);
        if (!l)
            break;
        const struct level_acc *a = &acc[i];
        cJSON *t = cJSON_CreateObject();
        cJSON_AddNumberToObject(t, "samples", (double)a->n_all);
        cJSON_AddItemToObject(t, "rss_peak_mib", num_or_null(a->n_rss ? a->rss_peak : NAN));
        cJSON_AddItemToObject(t, "rss_mean_mib",
                              num_or_null(a->n_rss ? a->rss_sum / (double)a->n_rss : NAN));
        cJSON_AddItemToObject(t, "cpu_mean_pct",
                              num_or_null(a->n_cpu ? a->cpu_sum / (double)a->n_cpu : NAN));
        cJSON_DeleteItemFromObject(l, "telemetry");
        cJSON_AddItemToObject(l, "telemetry", t);
    }
}

int ostel_serve_label_metrics(const char *dir, const struct ostel_metrics_table *rows,
                              struct ostel_serve_outcome *o)
{
    char *path = ostel_xasprintf("%s/metrics.csv", dir);
    struct ostel_buf in, outb;
    ostel_buf_init(&in, (size_t)1 << 31);
    ostel_buf_init(&outb, 0);
    struct level_acc *acc = ostel_xcalloc(o->n_levels ? o->n_levels : 1, sizeof(*acc));
    int rc = 0;
    if (rows) {
        label_from_rows(rows, o, acc, &outb);
        rc = ostel_file_write_atomic_errno(path, outb.data ? outb.data : "", outb.len);
    } else if (ostel_file_read_all(path, (size_t)1 << 31, &in) == 0) {
        label_from_text(&in, o, acc, &outb);
        rc = ostel_file_write_atomic_errno(path, outb.data ? outb.data : "", outb.len);
    } /* else nothing to label (ostel_file_read_all said why) */
    level_telemetry(o, acc);
    ostel_serve_level_telemetry_extra(dir, o); /* the GPU and the server's gauges */
    free(acc);
    ostel_buf_free(&in);
    ostel_buf_free(&outb);
    free(path);
    return rc;
}

int ostel_serve_resolve_utf8(int mode, const char *path, struct ostel_serve_params *p,
                             int32_t **owned, struct ostel_gguf_run_facts *facts, char **warn)
{
    if (facts)
        memset(facts, 0, sizeof(*facts));
    if (mode == 0 || !path)
        return 0;
    struct ostel_gguf g;
    char err[256] = "";
    int rc = 0;
    if (ostel_gguf_read_file(&g, path, err, sizeof(err)) != 0) {
        if (mode == 1)
            rc = ostel_error("serve: --utf8-only on: cannot read '%s': %s", path, err);
        ostel_gguf_free(&g);
        return rc;
    }
    if (facts)
        ostel_gguf_run_facts_from(facts, &g, path);
    if (mode == -1 && !ostel_synth_is_synth_name(ostel_gguf_get_str(&g, "general.name"))) {
        ostel_gguf_free(&g);
        return 0;
    }
    size_t n = 0;
    err[0] = '\0';
    if (ostel_vocab_non_utf8_tokens(&g, owned, &n, err, sizeof(err)) == 0 &&
        n > OSTEL_SERVE_MAX_BANNED_TOKENS) { /* a body of megabytes per request: no vocabulary ostel
                                                knows */
        snprintf(err, sizeof(err), "%zu tokens are not UTF-8 on their own, too many to ban", n);
        free(*owned);
        *owned = NULL;
    }
    if (err[0]) {
        if (mode == 1)
            rc = ostel_error("serve: --utf8-only on: '%s': %s", path, err);
        else if (warn)
            *warn =
                ostel_xasprintf("serve: --utf8-only auto: '%s': %s; no token is banned", path, err);
        else
            ostel_warn("serve: --utf8-only auto: '%s': %s; no token is banned", path, err);
    } else {
        p->utf8_only = true;
        p->banned_tokens = *owned;
        p->n_banned_tokens = n;
        if (!p->quiet && mode == -1)
            fprintf(stderr,
                    "ostel serve: an ostel synth model: its %zu tokens that are not UTF-8 on their "
                    "own are banned (--utf8-only off keeps them)\n",
                    n);
    }
    ostel_gguf_free(&g);
    return rc;
}

bool ostel_serve_args_set_verbosity(char *const *args, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const char *a = args[i];
        if (!strcmp(a, "-lv") || !strcmp(a, "--verbosity") || !strcmp(a, "--log-verbosity") ||
            !strncmp(a, "--verbosity=", 12) || !strncmp(a, "--log-verbosity=", 16) ||
            !strcmp(a, "-v") || !strcmp(a, "--verbose") || !strcmp(a, "--log-verbose"))
            return true;
    }
    return false;
}
