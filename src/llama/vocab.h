/*
 * vocab: facts about a GGUF's tokenizer that llama.cpp's detokenizer decides — today, which tokens
 * come out as bytes that are not valid UTF-8 on their own.
 *
 * Why: llama-server (the pinned build) parses every streamed partial answer with its chat output
 * parser (common/chat.cpp common_chat_peg_parse, also for /v1/completions), which fails on invalid
 * UTF-8 (common/peg-parser.cpp, utf8_parse_result::INVALID); the server then ends the request with
 * "The model produced output that does not match the expected Content-only format". A real model
 * seldom emits a lone byte-fallback token; a random-weight one (`ostel synth`) does, the more the
 * longer its answer. `ostel serve --utf8-only` bans these tokens with llama-server's logit_bias
 * (docs/serve.md).
 *
 * Pure: reads a parsed header (gguf.h), never prints, every length checked against the stored
 * value.
 */
#ifndef OSTEL_VOCAB_H
#define OSTEL_VOCAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ostel_gguf;

/* Whether s[0..n) is valid UTF-8 (RFC 3629: no overlong forms, no surrogates, at most U+10FFFF;
 * stricter than the server's parser, as strict as nlohmann::json's dump). */
bool ostel_vocab_utf8_valid(const uint8_t *s, size_t n);

/*
 * The ids of g's tokens whose text, as llama.cpp's token_to_piece emits it (special tokens
 * rendered), is not valid UTF-8 on its own:
 *   - tokenizer.ggml.model "gpt2" (byte-level BPE): a normal token's characters mapped back to
 *     bytes through GPT-2's bytes_to_unicode table (llama_decode_text; a character outside the
 *     table comes out as an ASCII "[UNK_BYTE_0x…]" text);
 *   - "llama" (SentencePiece): a normal token's text as stored ("▁" is a space);
 *   - both: a byte token (token_type 6, "<0xNN>") is the byte NN, invalid from 0x80 (a malformed
 *     one counts as invalid); control, user-defined and unknown tokens are their stored text;
 *     unused and undefined ones print nothing.
 * A string of tokens each valid on its own is valid, so a server that never samples these ids
 * never emits invalid UTF-8.
 *
 * *ids is set to a malloc'd array of *n ids in ascending order, which the caller frees (NULL and 0
 * when there are none, and after a failure). Returns 0, or OSTEL_ERR with one lowercase line in
 * err: no token array, a token_type array llama.cpp would refuse (not int32, shorter than the
 * tokens), more tokens than a llama_token can number, or a tokenizer model other than "gpt2" and
 * "llama". g is borrowed.
 */
int ostel_vocab_non_utf8_tokens(const struct ostel_gguf *g, int32_t **ids, size_t *n, char *err,
                                size_t err_size);

#endif
