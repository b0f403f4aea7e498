/*
 * opt_doc: the man page and the bash and zsh completions, written from the same option tables that
 * print --help (curl's and git's habit), so they are never written twice by hand. The hidden
 * `ostel --dump-options=man|bash|zsh` writes the whole file: main.c the head and the tail, each
 * command's parser (opt.c, on its hidden --dump-options=FMT) its own part. The build runs it
 * (cmake/gen_doc.cmake) and `cmake --install` installs the results.
 */
#ifndef OSTEL_OPT_DOC_H
#define OSTEL_OPT_DOC_H

#include "util/opt.h"

enum ostel_opt_doc {
    OSTEL_OPT_DOC_MAN,
    OSTEL_OPT_DOC_BASH,
    OSTEL_OPT_DOC_ZSH,
};

/* "man", "bash", "zsh" -> *out; false for any other name. */
bool ostel_opt_doc_parse_format(const char *name, enum ostel_opt_doc *out);

/* One entry of a command list: the top-level commands, or a command's subcommands. */
struct ostel_opt_doc_entry {
    const char *name;
    const char *summary;
};

/* The file's head: what comes before the first command (title, synopsis, the command list). */
void ostel_opt_doc_write_head(FILE *f, enum ostel_opt_doc fmt, const char *version,
                              const char *summary, const struct ostel_opt_doc_entry *cmds,
                              size_t ncmds);
/* One command's part, from its table (cmd->name may be "db import": a subcommand). */
void ostel_opt_doc_write_command(FILE *f, enum ostel_opt_doc fmt,
                                 const struct ostel_command_help *cmd,
                                 const struct ostel_option *opts, size_t nopts);
/* A command that only dispatches to subcommands (`ostel db`): their names and summaries. */
void ostel_opt_doc_write_group(FILE *f, enum ostel_opt_doc fmt, const char *name,
                               const char *summary, const struct ostel_opt_doc_entry *subs,
                               size_t nsubs);
/* The file's tail. */
void ostel_opt_doc_write_tail(FILE *f, enum ostel_opt_doc fmt,
                              const struct ostel_opt_doc_entry *cmds, size_t ncmds);

#endif
