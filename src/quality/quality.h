/*
 * quality: what a quantization does to a model's output, measured with llama-perplexity's
 * KL-divergence mode beside ostel's speed and memory figures (docs/quality.md).
 *
 * One mechanism for `ostel quality` and `ostel study --quality`: a probe (the text's token count),
 * one base pass writing the reference model's logits (--kl-divergence-base FILE), then one KLD pass
 * per other model (--kl-divergence-base FILE --kl-divergence). Every pass is an ordinary run under
 * the runner (its own run directory: llama_output.log, metrics.csv, config.txt, summary.json); the
 * figures are the log parser's (summary.json "llama.perplexity"), never recomputed here. The pass's
 * role and settings are added to summary.json as "quality". The base logits are keyed by the base
 * model's identity, the text's hash and the settings, reused across models and re-runs, and removed
 * at the end unless kept.
 */
#ifndef OSTEL_QUALITY_H
#define OSTEL_QUALITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ostel_store;

/* llama-perplexity's logits file header (perplexity.cpp, perplexity() and kl_divergence()). */
struct ostel_quality_logits_header {
    uint32_t n_ctx;
    int32_t n_vocab, n_chunk;
};

/*
 * Bytes of the file `llama-perplexity --kl-divergence-base` writes for n_chunk chunks of n_ctx
 * tokens: "_logits_", n_ctx, n_vocab, n_chunk (4 bytes each), the n_chunk * n_ctx tokens (int32),
 * then for each chunk n_ctx - 1 - n_ctx/2 scored tokens of 2*((n_vocab+1)/2) + 4 uint16.
 * 0 on overflow.
 */
uint64_t ostel_quality_logits_bytes(uint64_t n_vocab, uint64_t n_ctx, uint64_t n_chunk);
/* Tokens scored in n_chunk chunks: n_chunk * (n_ctx - 1 - n_ctx/2). */
uint64_t ostel_quality_scored_tokens(uint64_t n_ctx, uint64_t n_chunk);
/* Chunks llama-perplexity evaluates for a text of `tokens` tokens: tokens / n_ctx, at most
 * max_chunks when > 0; 0 when the text is shorter than 2 * n_ctx (llama-perplexity refuses it). */
uint64_t ostel_quality_chunks(uint64_t tokens, uint64_t n_ctx, long long max_chunks);

/*
 * Seconds left in a pass of `total` chunks, `done` of which llama-perplexity has printed. Times are
 * seconds since the pass started: chunk_s when the latest chunk was printed, now_s now, work_s when
 * the work began (the model loaded: the "over N chunks" line, or the probe's load time; 0 when not
 * known, which counts the load as work). llama-perplexity evaluates n_batch / n_ctx chunks at a
 * time and prints them together, so the rate is the time to the latest chunk over the chunks
 * done (never the time between two chunks of a burst), and the estimate counts down from then:
 * (chunk_s - work_s) / done * total - (now_s - work_s), at least 0. NAN before the first chunk.
 * Pure.
 */
double ostel_quality_eta_s(double work_s, double chunk_s, double now_s, uint64_t done,
                           uint64_t total);

/*
 * Parses the first bytes of a logits file (data, len >= 20) whose size is file_bytes, and checks
 * that it is complete: the magic, sane counts and file_bytes equal to what they imply. Pure.
 * Returns 0, or OSTEL_ERR with the reason in err ("truncated: 1000 of 4116 bytes").
 */
int ostel_quality_logits_header_parse(const void *data, size_t len, uint64_t file_bytes,
                                      struct ostel_quality_logits_header *h, char *err,
                                      size_t err_size);

/* What ostel_quality_execute() does. Every pointer is borrowed. */
struct ostel_quality_spec {
    const char *const *models; /* GGUF paths (the base may be among them) */
    const char *const *tags;   /* one label per model, or NULL: the file name less .gguf */
    size_t n_models;
    const char *base; /* the reference model; NULL: the highest-precision one of models */
    const char *text; /* the evaluation text (required; never downloaded) */
    long long ctx;    /* -c (default 512) */
    long long batch;  /* -b, or 0 for llama-perplexity's default */
    long long ubatch; /* -ub, or 0 */
    long long chunks; /* --chunks bound, or 0 for the whole text */
    bool keep_logits; /* keep the base logits file at the end */
    const char *dir;  /* where the pass directories and the logits go (created) */
    const char *llama_bin;
    uint64_t interval_ns;
    uint64_t timeout_ns;       /* per pass, 0 = none */
    uint64_t free_bytes;       /* pretend this much free space (tests), 0 = ask the file system */
    struct ostel_store *store; /* store each finished pass here (a study), or NULL */
    int64_t study_id;
    bool quiet;
    bool table;        /* print the quality table (Markdown) on stdout at the end */
    bool progress_bar; /* redraw one line on a terminal */
    const char *ostel_cmdline;
};

/*
 * Runs the passes that are not already done in spec->dir, then prints the quality table (unless
 * quiet). Returns 0 when every pass gave its figures, 1 after printing why one could not (refused,
 * failed), 2 for a missing model, text or tool, or 128+signal when interrupted (run again to
 * resume).
 */
int ostel_quality_execute(const struct ostel_quality_spec *spec);

#endif
