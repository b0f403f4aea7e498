/*
 * chunk: a streamed completion chunk read in one pass (see chunk.h). A recursive descent over the
 * bytes that checks the syntax and, at the two places names matter (the top object and
 * choices[0]), compares member names.
 */
#include "serve/chunk.h"

#include <string.h>

#define MAX_DEPTH 32
#define MAX_NUMBER 63 /* cJSON reads a number through a 64-byte buffer */

enum { OK = 0, BAD = -1, FULL = 1 };

enum role { R_NONE, R_TOP, R_CHOICES, R_CHOICE0 };

struct scan {
    const char *p, *end;
    struct ostel_chunk *c;
    bool text_seen, fr_seen, final;
};

static void skip_ws(struct scan *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
        s->p++;
}

static int hex4(const char *p)
{
    int v = 0;
    for (int i = 0; i < 4; i++) {
        char h = p[i];
        int d = h >= '0' && h <= '9'   ? h - '0'
                : h >= 'a' && h <= 'f' ? h - 'a' + 10
                : h >= 'A' && h <= 'F' ? h - 'A' + 10
                                       : -1;
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    return v;
}

/* The bytes a string's plain run stops at: the quote, the backslash and control bytes. */
static const bool special[256] = {
    [0] = 1,  [1] = 1,  [2] = 1,  [3] = 1,  [4] = 1,  [5] = 1,   [6] = 1,    [7] = 1,  [8] = 1,
    [9] = 1,  [10] = 1, [11] = 1, [12] = 1, [13] = 1, [14] = 1,  [15] = 1,   [16] = 1, [17] = 1,
    [18] = 1, [19] = 1, [20] = 1, [21] = 1, [22] = 1, [23] = 1,  [24] = 1,   [25] = 1, [26] = 1,
    [27] = 1, [28] = 1, [29] = 1, [30] = 1, [31] = 1, ['"'] = 1, ['\\'] = 1,
};

/* A string at s->p (its opening quote); *body, *n: the bytes between the quotes. */
static int scan_string(struct scan *s, const char **body, size_t *n, bool *escaped)
{
    const char *p = s->p + 1;
    *escaped = false;
    int rc = OK;
    for (;;) {
        while (p < s->end && !special[(unsigned char)*p])
            p++; /* the run of plain bytes: one table look-up each */
        if (p >= s->end)
            return BAD;
        unsigned char ch = (unsigned char)*p;
        if (ch == '"')
            break;
        if (ch < 0x20)
            return BAD;
        *escaped = true;
        if (p + 1 >= s->end)
            return BAD;
        char e = p[1];
        if (e == 'u') {
            if (s->end - p < 6)
                return BAD;
            int v = hex4(p + 2);
            if (v < 0)
                return BAD;
            if (v >= 0xD800 && v <= 0xDFFF)
                rc = FULL; /* surrogates: cJSON's own rules decide */
            p += 6;
        } else if (e && strchr("\"\\/bfnrt", e)) {
            p += 2;
        } else {
            return BAD;
        }
    }
    *body = s->p + 1;
    *n = (size_t)(p - (s->p + 1));
    s->p = p + 1;
    return rc;
}

static int scan_number(struct scan *s)
{
    const char *p = s->p, *e = s->end;
    if (p < e && *p == '-')
        p++;
    if (p >= e)
        return BAD;
    if (*p == '0') {
        p++;
    } else if (*p >= '1' && *p <= '9') {
        while (p < e && *p >= '0' && *p <= '9')
            p++;
    } else {
        return BAD;
    }
    if (p < e && *p == '.') {
        p++;
        if (p >= e || *p < '0' || *p > '9')
            return BAD;
        while (p < e && *p >= '0' && *p <= '9')
            p++;
    }
    if (p < e && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < e && (*p == '+' || *p == '-'))
            p++;
        if (p >= e || *p < '0' || *p > '9')
            return BAD;
        while (p < e && *p >= '0' && *p <= '9')
            p++;
    }
    bool longer = p - s->p > MAX_NUMBER;
    s->p = p;
    return longer ? FULL : OK;
}

static int scan_literal(struct scan *s, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0)
        return BAD;
    s->p += n;
    return OK;
}

/* Name (n bytes, no escape) equals lower-case key, ASCII case ignored (cJSON_GetObjectItem). */
static bool name_is(const char *name, size_t n, const char *key)
{
    size_t k = strlen(key);
    if (n != k)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = name[i];
        if (ch >= 'A' && ch <= 'Z')
            ch = (char)(ch - 'A' + 'a');
        if (ch != key[i])
            return false;
    }
    return true;
}

static int scan_value(struct scan *s, int depth, enum role role);

/* After an object's member or an array's element: the closer (OK, *done) or a comma and the blanks
 * after it (OK, more to come); anything else is BAD. */
static int after_item(struct scan *s, char closer, bool *done)
{
    skip_ws(s);
    *done = false;
    if (s->p >= s->end)
        return BAD;
    if (*s->p == closer) {
        s->p++;
        *done = true;
        return OK;
    }
    if (*s->p != ',')
        return BAD;
    s->p++;
    skip_ws(s);
    return OK;
}

static int scan_object(struct scan *s, int depth, enum role role)
{
    s->p++; /* { */
    skip_ws(s);
    if (s->p < s->end && *s->p == '}') {
        s->p++;
        return OK;
    }
    bool choices_seen = false, done;
    for (;;) {
        if (s->p >= s->end || *s->p != '"')
            return BAD;
        const char *name;
        size_t n;
        bool esc;
        int r = scan_string(s, &name, &n, &esc);
        if (r != OK)
            return r;
        enum role sub = R_NONE;
        if (role == R_TOP || role == R_CHOICE0) {
            if (esc)
                return FULL; /* an escaped name might spell one that matters */
            if (role == R_TOP) {
                if (name_is(name, n, "error") || name_is(name, n, "usage") ||
                    name_is(name, n, "timings"))
                    return FULL;
                if (!choices_seen && name_is(name, n, "choices")) {
                    choices_seen = true;
                    sub = R_CHOICES;
                }
            }
        }
        skip_ws(s);
        if (s->p >= s->end || *s->p != ':')
            return BAD;
        s->p++;
        skip_ws(s);
        if (role == R_CHOICE0 && s->p < s->end) {
            if (!s->text_seen && name_is(name, n, "text")) {
                s->text_seen = true;
                if (*s->p == '"') {
                    const char *t;
                    size_t tn;
                    bool tesc;
                    r = scan_string(s, &t, &tn, &tesc);
                    if (r != OK)
                        return r;
                    s->c->text = t;
                    s->c->text_len = tn;
                    s->c->text_escaped = tesc;
                    goto next;
                }
            } else if (!s->fr_seen && name_is(name, n, "finish_reason")) {
                s->fr_seen = true;
                s->final = !(s->end - s->p >= 4 && memcmp(s->p, "null", 4) == 0);
            }
        }
        r = scan_value(s, depth + 1, sub);
        if (r != OK)
            return r; /* FULL stops the scan: cJSON decides */
    next:
        r = after_item(s, '}', &done);
        if (r != OK || done)
            return r;
    }
}

static int scan_array(struct scan *s, int depth, enum role role)
{
    s->p++; /* [ */
    skip_ws(s);
    if (s->p < s->end && *s->p == ']') {
        s->p++;
        return OK;
    }
    bool done;
    for (bool first = true;; first = false) {
        int r = scan_value(s, depth + 1, role == R_CHOICES && first ? R_CHOICE0 : R_NONE);
        if (r == OK)
            r = after_item(s, ']', &done);
        if (r != OK || done)
            return r;
    }
}

static int scan_value(struct scan *s, int depth, enum role role)
{
    if (depth > MAX_DEPTH)
        return FULL;
    if (s->p >= s->end)
        return BAD;
    const char *name;
    size_t n;
    bool esc;
    switch (*s->p) {
    case '{':
        return scan_object(s, depth, role == R_CHOICE0 || role == R_TOP ? role : R_NONE);
    case '[':
        return scan_array(s, depth, role == R_CHOICES ? role : R_NONE);
    case '"':
        return scan_string(s, &name, &n, &esc);
    case 't':
        return scan_literal(s, "true");
    case 'f':
        return scan_literal(s, "false");
    case 'n':
        return scan_literal(s, "null");
    default:
        return scan_number(s);
    }
}

int ostel_chunk_scan(const char *data, size_t len, struct ostel_chunk *c)
{
    memset(c, 0, sizeof(*c));
    struct scan s = {.p = data, .end = data + len, .c = c};
    skip_ws(&s);
    if (s.p >= s.end || *s.p != '{')
        return OSTEL_ERR;
    int rc = scan_object(&s, 0, R_TOP);
    if (rc == FULL) {
        memset(c, 0, sizeof(*c));
        c->full = true;
        return OSTEL_OK;
    }
    skip_ws(&s);
    if (rc == BAD || s.p != s.end) {
        memset(c, 0, sizeof(*c));
        return OSTEL_ERR;
    }
    /* the closing chunk carries finish_reason and (llama-server) empty text: no token */
    c->token = c->text && (!s.final || c->text_len > 0);
    if (c->token && c->text_escaped && c->text_len >= 6 && memcmp(c->text, "\\u0000", 6) == 0)
        c->token = !s.final; /* decoded, it starts with NUL: cJSON's valuestring[0] is 0 */
    return OSTEL_OK;
}
