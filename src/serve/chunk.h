/*
 * chunk: what a streamed completion chunk's JSON says about one token, read without building a
 * tree. Almost every SSE event of a stream is a token chunk, and all the client needs of one is
 * that it is a well-formed JSON object, whether choices[0] carries text (and is not the closing
 * chunk), and, with --save-tokens, that text. The scan checks the whole event's syntax (RFC 8259,
 * so malformed JSON is still caught) and finds those members in one pass with no allocation.
 * Whatever the scan cannot judge alone — an "error", "usage" or "timings" member, a key with an
 * escape where member names matter, a surrogate \u escape, nesting deeper than 32 or a number
 * longer than 63 bytes — it leaves to the full cJSON parse (`full`), so the answer is the one
 * cJSON_Parse + cJSON_GetObjectItem give (first member of a name wins, names compared without
 * regard to ASCII case). Pure, never prints; fuzzed against cJSON (tests/fuzz/fuzz_sse.c).
 */
#ifndef OSTEL_CHUNK_H
#define OSTEL_CHUNK_H

#include "util/util.h"

struct ostel_chunk {
    bool full;         /* parse it with cJSON instead; the other fields are not set */
    bool token;        /* choices[0].text is a string, and the chunk is not a closing one
                        * (finish_reason present and not null) with empty text */
    const char *text;  /* choices[0].text's bytes between its quotes, escapes undecoded;
                        * borrowed from the data; NULL when not a string */
    size_t text_len;   /* bytes at text */
    bool text_escaped; /* text holds a backslash (decode it with cJSON) */
};

/* Scans one event's data. Returns 0 for a JSON object (or full set), OSTEL_ERR when data is not
 * well-formed JSON or not an object. */
int ostel_chunk_scan(const char *data, size_t len, struct ostel_chunk *c);

#endif
