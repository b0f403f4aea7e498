/*
 * rundir_files: the names of the files ostel writes in a run directory (docs/run-directory.md), and
 * the one way to remove such a directory: only when every file in it is one of those.
 *
 * A run directory's artifacts: llama_output.log, metrics.csv, config.txt, summary.json,
 * gpu_metrics.csv and the runner's write probe .ostel-write-test, each also in its atomic-write
 * temporary form NAME.tmp.* (ostel_file_write_atomic's, left by a killed writer). A caller adds the
 * names only it writes (the study's scenario_metrics.csv, scenario.log, scenario.json), which are
 * then accepted in their temporary forms too.
 */
#ifndef OSTEL_RUNDIR_FILES_H
#define OSTEL_RUNDIR_FILES_H

#include <stdbool.h>

/* True when name (a directory entry, no '/') is an artifact, one of extra (NULL, or a NULL-ended
 * list of names), or the temporary form of either. */
bool ostel_rundir_is_ours(const char *name, const char *const *extra);

/*
 * Removes the run directory dir that ostel wrote: its files, then dir itself. Refuses, removing
 * nothing, when dir holds anything that is not ostel's (ostel_rundir_is_ours) — "'DIR' holds
 * 'NAME', which ostel did not write: move it away". A dir that does not exist is OSTEL_OK. Returns
 * OSTEL_OK, or OSTEL_ERR after printing one line.
 */
int ostel_rundir_remove(const char *dir, const char *const *extra);

#endif
