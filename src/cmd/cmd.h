/*
 * cmd: one function per subcommand, ostel_cmd_<name>() in cmd_<name>.c. A command receives argv
 * with argv[0] set to its own name and returns the process exit code (OSTEL_EXIT_OK, _FAIL or
 * _USAGE).
 */
#ifndef OSTEL_CMD_H
#define OSTEL_CMD_H

int ostel_cmd_db(int argc, char **argv);
int ostel_cmd_fit(int argc, char **argv);
int ostel_cmd_hog(int argc, char **argv);
int ostel_cmd_inspect(int argc, char **argv);
int ostel_cmd_parse(int argc, char **argv);
int ostel_cmd_quality(int argc, char **argv);
int ostel_cmd_report(int argc, char **argv);
int ostel_cmd_run(int argc, char **argv);
int ostel_cmd_serve(int argc, char **argv);
int ostel_cmd_study(int argc, char **argv);
int ostel_cmd_synth(int argc, char **argv);

struct ostel_report;
/* Writes a built report in format fmt ("md", "csv", "json", "html") to path atomically, or to
 * stdout when path is NULL, the text going out a megabyte at a time as it is made (cmd_report.c;
 * `ostel report` and a study's reports). Prints its error; returns OSTEL_OK or OSTEL_ERR. */
int ostel_cmd_report_write(const struct ostel_report *report, const char *fmt, const char *path);

#endif
