/*
 * serve_http: the blocking requests around a load (health, tokenize) with libcurl's easy interface
 * (see serve.h). Only the given URL is contacted.
 */
#include "serve/serve_internal.h"

#include <cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef OSTEL_HAVE_CURL
#include <curl/curl.h>

static size_t collect(char *p, size_t size, size_t n, void *arg)
{
    struct ostel_buf *b = arg;
    ostel_buf_append(b, p, size * n);
    return b->overflow ? 0 : size * n;
}

int ostel_serve_http(const char *url, const char *body, double timeout_s, struct ostel_buf *out,
                     long *status, char *err, size_t err_size)
{
    *status = 0;
    CURL *e = curl_easy_init();
    if (!e) {
        snprintf(err, err_size, "curl_easy_init failed");
        return OSTEL_ERR;
    }
    struct curl_slist *h = NULL;
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)(timeout_s * 1000));
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)(timeout_s * 1000));
    if (body) {
        h = curl_slist_append(h, "Content-Type: application/json");
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
    }
    CURLcode rc = curl_easy_perform(e);
    if (rc == CURLE_OK)
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, status);
    else
        snprintf(err, err_size, "%s: %s", url, curl_easy_strerror(rc));
    curl_slist_free_all(h);
    curl_easy_cleanup(e);
    return rc == CURLE_OK ? OSTEL_OK : OSTEL_ERR;
}

int ostel_serve_wait_health(const char *url, double timeout_s, const _Atomic int *stop,
                            bool (*alive)(void *arg), void *arg, char *err, size_t err_size)
{
    char *hu = ostel_xasprintf("%s/health", url);
    double t0 = ostel_mono_s();
    int rc = OSTEL_ERR;
    long status = 0;
    char last[200] = "no answer";
    for (;;) {
        if (stop && atomic_load(stop)) {
            snprintf(err, err_size,
                     atomic_load(stop) == 2 ? "the server exited before it was ready"
                                            : "interrupted while waiting for the server");
            break;
        }
        if (alive && !alive(arg)) {
            snprintf(err, err_size, "the server exited before it was ready");
            break;
        }
        struct ostel_buf b;
        ostel_buf_init(&b, 1 << 16);
        char e2[200];
        if (ostel_serve_http(hu, NULL, 2.0, &b, &status, e2, sizeof(e2)) == 0) {
            if (status == 200) {
                ostel_buf_free(&b);
                rc = OSTEL_OK;
                break;
            }
            snprintf(last, sizeof(last), "HTTP %ld", status);
        } else {
            snprintf(last, sizeof(last), "%s", e2);
        }
        ostel_buf_free(&b);
        if (ostel_mono_s() - t0 > timeout_s) {
            snprintf(err, err_size, "%s/health not ready after %.0f s (%s)", url, timeout_s, last);
            break;
        }
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    free(hu);
    return rc;
}

int ostel_serve_tokenize(const char *url, const char *text, int32_t **ids, size_t *n, char *err,
                         size_t err_size)
{
    *ids = NULL;
    *n = 0;
    char *tu = ostel_xasprintf("%s/tokenize", url);
    cJSON *req = cJSON_CreateObject();
    cJSON_AddStringToObject(req, "content", text);
    cJSON_AddBoolToObject(req, "add_special", 0);
    char *body = cJSON_PrintUnformatted(req);
    cJSON_Delete(req);
    struct ostel_buf b;
    ostel_buf_init(&b, 256u << 20);
    long status = 0;
    int rc = ostel_serve_http(tu, body, 120.0, &b, &status, err, err_size);
    free(body);
    free(tu);
    if (rc == 0 && status != 200) {
        snprintf(err, err_size, "/tokenize answered HTTP %ld", status);
        rc = OSTEL_ERR;
    }
    cJSON *j = rc == 0 ? cJSON_ParseWithLength(b.data, b.len) : NULL;
    cJSON *tok = j ? cJSON_GetObjectItem(j, "tokens") : NULL;
    if (rc == 0 && !cJSON_IsArray(tok)) {
        snprintf(err, err_size, "/tokenize answered no token list");
        rc = OSTEL_ERR;
    }
    if (rc == 0) {
        size_t k = (size_t)cJSON_GetArraySize(tok);
        *ids = ostel_xmalloc((k ? k : 1) * sizeof(**ids));
        cJSON *t;
        cJSON_ArrayForEach(t, tok)
        {
            /* with_pieces answers objects {id, piece} */
            cJSON *v = cJSON_IsObject(t) ? cJSON_GetObjectItem(t, "id") : t;
            if (cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble < 1e9)
                (*ids)[(*n)++] = (int32_t)v->valuedouble;
        }
    }
    cJSON_Delete(j);
    ostel_buf_free(&b);
    return rc;
}

#else /* built without libcurl: every request fails with the reason */

#define NO_CURL "this ostel was built without libcurl"

int ostel_serve_http(const char *url, const char *body, double timeout_s, struct ostel_buf *out,
                     long *status, char *err, size_t err_size)
{
    *status = 0;
    snprintf(err, err_size, NO_CURL);
    return OSTEL_ERR;
}

int ostel_serve_wait_health(const char *url, double timeout_s, const _Atomic int *stop,
                            bool (*alive)(void *arg), void *arg, char *err, size_t err_size)
{
    snprintf(err, err_size, NO_CURL);
    return OSTEL_ERR;
}

int ostel_serve_tokenize(const char *url, const char *text, int32_t **ids, size_t *n, char *err,
                         size_t err_size)
{
    *ids = NULL;
    *n = 0;
    snprintf(err, err_size, NO_CURL);
    return OSTEL_ERR;
}

#endif
