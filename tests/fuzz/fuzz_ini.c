/*
 * fuzz_ini: feeds arbitrary bytes to the study file's INI parser (util/ini.c) and every pair it
 * yields to the study's key setter, as `ostel study FILE` does. Neither may crash, hang or read
 * outside the buffer. Corpus: tests/fuzz/corpus/ini/ (the example study, hostile variants).
 */
#include "run/study.h"
#include "util/ini.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int on_pair(void *user, const char *section, const char *key, const char *value, int line,
                   char *err, size_t err_size)
{
    (void)section;
    (void)line;
    if (strlen(key) > OSTEL_INI_MAX_LINE || strlen(value) > OSTEL_INI_MAX_LINE)
        abort();
    /* refusals are fine: the parser must stop cleanly on them */
    return ostel_study_spec_set(user, key, value, err, err_size) != 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size ? size : 1); /* exact size: ASan sees any over-read */
    if (!buf)
        return 0;
    if (size)
        memcpy(buf, data, size);
    struct ostel_study_spec s;
    ostel_study_spec_init(&s);
    char err[256];
    int line = ostel_ini_parse(buf, size, on_pair, &s, err, sizeof(err));
    if (line < 0 || (line > 0 && !memchr(err, '\0', sizeof(err))))
        abort();
    ostel_study_spec_free(&s);
    free(buf);
    return 0;
}
