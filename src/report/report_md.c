/*
 * report_md: the Markdown report, written to paste into a GitHub issue: the tables of
 * report_table.c (with the memory prediction against measurement and the memory sweep over
 * contexts), then the interpretation, the warnings and the tail of each failed run's log. Text
 * from runs (tags, paths, log lines) is escaped so it shows as written and cannot break a table or
 * inject markup.
 */
#include "report/report.h"

#include <stdlib.h>
#include <string.h>

static bool is_alnum(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/*
 * CommonMark lets any ASCII punctuation be backslash-escaped. Escaped here: what can open markup
 * anywhere (\ ` * [ ] | ~), "_" unless inside a word, "<" before what could start a tag or
 * autolink,
 * "&" before what could be an entity. The rest stays readable in the raw text.
 */
static void md_escape(struct ostel_buf *out, const char *s)
{
    if (!s)
        return;
    for (size_t i = 0; s[i]; i++) {
        char c = s[i], next = s[i + 1], prev = i ? s[i - 1] : ' ';
        bool esc = strchr("\\`*[]|~", c) != NULL;
        if (c == '_')
            esc = !(is_alnum(prev) && is_alnum(next));
        else if (c == '<')
            esc = (is_alnum(next) && !(next >= '0' && next <= '9')) || next == '/' || next == '!' ||
                  next == '?';
        else if (c == '&')
            esc = is_alnum(next) || next == '#';
        if (esc)
            ostel_buf_putc(out, '\\');
        ostel_buf_putc(out, c);
    }
}

static void md_table(struct ostel_buf *out, const struct ostel_report_table *t)
{
    ostel_buf_printf(out, "## %s\n\n", t->title);
    if (t->caption) {
        md_escape(out, t->caption);
        ostel_buf_puts(out, "\n\n");
    }
    ostel_buf_puts(out, "|");
    for (size_t c = 0; c < t->ncols; c++) {
        ostel_buf_putc(out, ' ');
        md_escape(out, t->head[c]);
        ostel_buf_puts(out, " |");
    }
    ostel_buf_puts(out, "\n|");
    for (size_t c = 0; c < t->ncols; c++)
        ostel_buf_puts(out, t->numeric[c] ? " --: |" : " --- |");
    ostel_buf_putc(out, '\n');
    for (size_t row = 0; row < t->nrows; row++) {
        ostel_buf_puts(out, "|");
        for (size_t c = 0; c < t->ncols; c++) {
            const struct ostel_report_cell *cell = &t->cells[row * t->ncols + c];
            ostel_buf_putc(out, ' ');
            bool bold = cell->bold && cell->text && *cell->text;
            if (bold)
                ostel_buf_puts(out, "**");
            md_escape(out, cell->text);
            if (bold)
                ostel_buf_puts(out, "**");
            ostel_buf_puts(out, " |");
        }
        ostel_buf_putc(out, '\n');
    }
    ostel_buf_putc(out, '\n');
}

/* A fence longer than any run of backticks in s, so a log line cannot close it. */
static size_t fence_len(const char *s)
{
    size_t best = 0, run = 0;
    for (; *s; s++) {
        run = *s == '`' ? run + 1 : 0;
        if (run > best)
            best = run;
    }
    return best < 3 ? 3 : best + 1;
}

/* The title and the line that counts the runs (failed ones too), groups and the baseline. */
static void md_heading(const struct ostel_report *r, size_t failed, struct ostel_buf *out)
{
    const struct ostel_report_set *set = r->set;
    ostel_buf_puts(out, "# ostel report\n\n");
    ostel_buf_printf(out, "%zu run%s in %zu group%s", set->n, set->n == 1 ? "" : "s", r->ngroups,
                     r->ngroups == 1 ? "" : "s");
    if (failed)
        ostel_buf_printf(out, " (%zu failed)", failed);
    if (r->ngroups > 1) {
        ostel_buf_puts(out, "; baseline: **");
        md_escape(out, r->groups[r->baseline].label);
        ostel_buf_puts(out, "**");
    }
    ostel_buf_puts(out, ".\n\n");
}

/* After the memory table: each group's interpretation, where some group has one. */
static void md_memory_plan(const struct ostel_report *r, struct ostel_buf *out)
{
    bool any = false;
    for (size_t gi = 0; gi < r->ngroups; gi++)
        any |= r->groups[gi].interpretation != NULL;
    if (!any)
        return;
    ostel_buf_puts(out, "### Which memory number to plan with\n\n");
    for (size_t gi = 0; gi < r->ngroups; gi++) {
        const struct ostel_report_group *g = &r->groups[gi];
        if (!g->interpretation)
            continue;
        ostel_buf_puts(out, "- **");
        md_escape(out, g->label);
        ostel_buf_puts(out, "**: ");
        md_escape(out, g->interpretation);
        ostel_buf_putc(out, '\n');
    }
    ostel_buf_putc(out, '\n');
}

/* Every table but the runs', each with what follows it: quality's lines, why there is no context
 * sweep, the memory plan. */
static void md_tables(const struct ostel_report *r, const struct ostel_report_tables *ts,
                      struct ostel_buf *out)
{
    for (size_t i = 0; i < ts->n; i++) {
        if (strcmp(ts->t[i].id, "runs") == 0)
            continue;
        md_table(out, &ts->t[i]);
        if (strcmp(ts->t[i].id, "quality") == 0)
            ostel_report_quality_md_lines(r, out);
        if (strcmp(ts->t[i].id, "prediction") == 0 && !ostel_report_has_sweep(r)) {
            char *why = ostel_report_sweep_notes(r);
            if (why) {
                md_escape(out, why);
                ostel_buf_puts(out, "\n\n");
                free(why);
            }
        }
        if (strcmp(ts->t[i].id, "memory") == 0)
            md_memory_plan(r, out);
    }
}

/* ## Warnings: every group's notes, where there are any. */
static void md_warnings(const struct ostel_report *r, struct ostel_buf *out)
{
    bool any_note = false;
    for (size_t gi = 0; gi < r->ngroups; gi++)
        any_note |= r->groups[gi].nnotes > 0;
    if (!any_note)
        return;
    ostel_buf_puts(out, "## Warnings\n\n");
    for (size_t gi = 0; gi < r->ngroups; gi++) {
        const struct ostel_report_group *g = &r->groups[gi];
        for (size_t k = 0; k < g->nnotes; k++) {
            ostel_buf_puts(out, "- **");
            md_escape(out, g->label);
            ostel_buf_puts(out, "**: ");
            md_escape(out, g->notes[k].text);
            ostel_buf_puts(out, ".\n");
        }
    }
    ostel_buf_putc(out, '\n');
}

/* One failed run of group g: why it ended, and the end of its log in a fence it cannot close. */
static void md_failed_run(const struct ostel_report_group *g, const struct ostel_report_run *run,
                          struct ostel_buf *out)
{
    ostel_buf_puts(out, "### ");
    md_escape(out, run->name);
    ostel_buf_puts(out, " (");
    md_escape(out, g->label);
    ostel_buf_puts(out, "): ");
    md_escape(out, *run->status ? run->status : "no status");
    if (run->oom_killed)
        ostel_buf_puts(out, ", killed by the OOM killer");
    else if (*run->signal) {
        ostel_buf_puts(out, ", ");
        md_escape(out, run->signal);
    } else if (run->exit_code > 0)
        ostel_buf_printf(out, ", exit code %lld", run->exit_code);
    ostel_buf_puts(out, "\n\n");
    if (run->log_tail && *run->log_tail) {
        size_t n = fence_len(run->log_tail);
        ostel_buf_puts(out, "Last lines of its llama_output.log:\n\n");
        for (size_t k = 0; k < n; k++)
            ostel_buf_putc(out, '`');
        ostel_buf_puts(out, "text\n");
        ostel_buf_puts(out, run->log_tail);
        ostel_buf_putc(out, '\n');
        for (size_t k = 0; k < n; k++)
            ostel_buf_putc(out, '`');
        ostel_buf_puts(out, "\n\n");
    } else {
        ostel_buf_puts(out, "Its log is empty or missing.\n\n");
    }
}

/* ## Failed runs, group by group. */
static void md_failed_runs(const struct ostel_report *r, struct ostel_buf *out)
{
    ostel_buf_puts(out, "## Failed runs\n\n");
    for (size_t gi = 0; gi < r->ngroups; gi++) {
        const struct ostel_report_group *g = &r->groups[gi];
        for (size_t i = 0; i < g->n; i++) {
            const struct ostel_report_run *run = &r->set->runs[g->runs[i]];
            if (!run->ok)
                md_failed_run(g, run, out);
        }
    }
}

void ostel_report_md_write(const struct ostel_report *r, struct ostel_buf *out)
{
    const struct ostel_report_set *set = r->set;
    size_t failed = 0;
    for (size_t i = 0; i < set->n; i++)
        failed += !set->runs[i].ok;
    md_heading(r, failed, out);

    struct ostel_report_tables ts;
    ostel_report_tables_build(r, &ts);
    md_tables(r, &ts, out);
    md_warnings(r, out);
    if (failed)
        md_failed_runs(r, out);

    for (size_t i = 0; i < ts.n; i++)
        if (strcmp(ts.t[i].id, "runs") == 0) {
            ostel_buf_puts(out, "<details><summary>All runs</summary>\n\n");
            md_table(out, &ts.t[i]);
            ostel_buf_puts(out, "</details>\n");
        }
    ostel_report_tables_free(&ts);
}
