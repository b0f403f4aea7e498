/*
 * fileio: whole-file reads with a size cap, atomic writes (temporary file, fsync, rename), mkdir
 * -p. Every function prints its own error through ostel_error() and returns OSTEL_ERR on failure.
 */
#ifndef OSTEL_FILEIO_H
#define OSTEL_FILEIO_H

#include "util/util.h"

/* Reads all of `path` into `out` (initialised by the caller); fails when the file exceeds max
 * bytes. */
int ostel_file_read_all(const char *path, size_t max, struct ostel_buf *out);
/* Writes data to path atomically: readers see the old file or the whole new one, never a part. */
int ostel_file_write_atomic(const char *path, const void *data, size_t len);
/* The same, printing nothing: 0, or the errno of the step that failed (ENOSPC, EFBIG, EIO…); the
 * temporary file is removed on every error path. */
int ostel_file_write_atomic_errno(const char *path, const void *data, size_t len);
/*
 * A file written in pieces and put in place atomically: a temporary file beside path, written as
 * the pieces come, then fsync'd and renamed over path by ostel_file_stream_commit. Until then path
 * is untouched (an existing file stays whole); ostel_file_stream_abort removes the temporary file.
 * Every function prints nothing and returns 0 or an errno value.
 */
struct ostel_file_stream {
    char *tmp; /* the temporary file's path (owned), NULL once committed or aborted */
    int fd;
};
/* Opens the temporary file for path; on failure nothing is left to abort. */
int ostel_file_stream_open(struct ostel_file_stream *f, const char *path);
/* Appends data; an ostel_buf_sink_fn, so an ostel_buf can stream into the file (ctx is f). */
int ostel_file_stream_write(void *f, const void *data, size_t len);
/* Makes the file 0644, fsyncs it and renames it to path; on failure removes it. Ends f either way.
 */
int ostel_file_stream_commit(struct ostel_file_stream *f, const char *path);
/* Closes and removes the temporary file; path is untouched. Ends f (a second call does nothing). */
void ostel_file_stream_abort(struct ostel_file_stream *f);
/* Writes all of data to fd, again after EINTR and short writes, printing nothing: 0, or the errno
 * of the write that failed (EIO for one that wrote nothing without saying why). */
int ostel_fd_write_all_errno(int fd, const void *data, size_t len);
/* "errno's text writing FILE", its first letter lower-cased ("no space left on device writing
 * metrics.csv"): the line a run's status failed carries; cut to n bytes. */
void ostel_write_error_text(char *out, size_t n, int e, const char *file);
/* Creates a directory and its parents (mode 0755); an existing directory is fine. */
int ostel_mkdir_p(const char *path);
/*
 * The program `name` as a shell would find it: a name with a '/' is taken as it is, others are
 * looked up in PATH. Returns a new string (the caller frees it) when it is an executable regular
 * file, else NULL. Prints nothing.
 */
char *ostel_find_executable(const char *name);
/*
 * Where path's last component is, trailing slashes left out: *len is path's length without them,
 * *base the offset of the component ("runs/a/" → len 6, base 5: "a"; "/" → len 1, base 1: none).
 */
void ostel_path_split_base(const char *path, size_t *len, size_t *base);
/* True when path exists and is a regular file / a directory. */
bool ostel_is_file(const char *path);
bool ostel_is_dir(const char *path);

#endif
