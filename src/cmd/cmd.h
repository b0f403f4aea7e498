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

#endif
