/*
 * llama_cmd: building llama.cpp's argv for a measured run (see llama_cmd.h).
 */
#include "run/llama_cmd.h"

#include "run/child.h"

#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The fixed default prompt: a plain English paragraph of about 120 tokens. */
static const char default_prompt[] =
    "The history of computing is a story of machines that grew smaller while their memories grew "
    "larger. Early computers filled rooms and held a few thousand words; today a laptop holds "
    "billions of bytes and runs language models that once needed a data centre. Explain, in plain "
    "words and with concrete examples, how memory capacity, memory bandwidth and the size of a "
    "model's weights decide how fast a language model can answer on a personal computer, and what "
    "a user can change to make it answer faster.";

struct argv_builder {
    char **v;
    size_t n, cap;
};

static void push(struct argv_builder *b, const char *s)
{
    if (b->n + 2 > b->cap) {
        b->cap = b->cap ? b->cap * 2 : 32;
        b->v = ostel_xrealloc(b->v, b->cap * sizeof(char *));
    }
    b->v[b->n++] = ostel_xstrdup(s);
    b->v[b->n] = NULL;
}

static void push_num(struct argv_builder *b, long long v)
{
    char tmp[32];
    snprintf(tmp, sizeof(tmp), "%lld", v);
    push(b, tmp);
}

char **ostel_run_llama_cmd_argv(const struct ostel_run_llama_cmd *c)
{
    struct argv_builder b = {0};
    bool cli = strcmp(c->tool, "llama-cli") == 0;
    push(&b, c->tool_path);
    push(&b, "-m");
    push(&b, c->model);
    push(&b, "-c");
    push_num(&b, c->ctx);
    push(&b, "-n");
    push_num(&b, c->gen);
    if (c->prompt_file) {
        push(&b, "-f");
        push(&b, c->prompt_file);
    } else {
        push(&b, "-p");
        push(&b, c->prompt ? c->prompt : default_prompt);
    }
    if (cli) {
        push(&b, "-st");
        push(&b, "--simple-io");
    } else {
        push(&b, "-no-cnv");
    }
    push(&b, "--perf");
    push(&b, "--ignore-eos");
    push(&b, "-lv");
    push(&b, "4");
    push(&b, "-s");
    push_num(&b, c->seed);
    for (size_t i = 0; c->extra && c->extra[i]; i++)
        push(&b, c->extra[i]);
    return b.v;
}

void ostel_run_llama_cmd_argv_free(char **argv)
{
    for (size_t i = 0; argv && argv[i]; i++)
        free(argv[i]);
    free(argv);
}

char *ostel_run_llama_tool_version(const char *tool_path)
{
    char *argv[] = {(char *)tool_path, "--version", NULL};
    struct ostel_child c;
    if (ostel_child_spawn(argv, &c) != 0)
        return NULL;
    struct ostel_buf out;
    ostel_buf_init(&out, 1 << 16);
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        struct pollfd pf = {c.out_fd, POLLIN, 0};
        poll(&pf, 1, 100);
        char chunk[4096];
        ssize_t r = read(c.out_fd, chunk, sizeof(chunk));
        if (r > 0) {
            ostel_buf_append(&out, chunk, (size_t)r);
            continue;
        }
        if (r == 0)
            break;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - start.tv_sec >= 5) {
            ostel_child_signal_group(&c, SIGKILL);
            break;
        }
    }
    int st;
    ostel_child_reap(&c, &st);
    ostel_child_close(&c);
    char *result = NULL;
    struct ostel_str rest = ostel_str_make(out.data, out.len), line;
    while (ostel_str_next_line(&rest, &line)) {
        line = ostel_str_trim(line);
        if (ostel_str_starts_with(line, "version:")) {
            result = ostel_xstrndup(line.p, line.n < 200 ? line.n : 200);
            break;
        }
    }
    ostel_buf_free(&out);
    return result;
}
