/* The one way the project writes an output file. Bytes go to a new temporary file in the
 * target's folder; commit syncs it and renames it over the target, so a reader (or a crash)
 * sees the old file or the whole new one, never a mix.
 *
 *     silkie_outfile *f;
 *     SK_CHECK(silkie_outfile_open(path, &f));
 *     silkie_status st = silkie_outfile_write(f, head, head_len);
 *     if (st == SILKIE_OK) st = silkie_outfile_write(f, body, body_len);
 *     return silkie_outfile_commit(f);        (consumes f; returns the first failure)
 *
 * Rules:
 * - The target must be missing or a regular file, checked with lstat() at open and again just
 *   before the rename. A symbolic link, FIFO, device, directory or socket there is refused
 *   (SILKIE_ERR_IO naming the path and what it is) and left alone: `--dump /dev/null` never
 *   turns a device node into a file, and a link is never followed.
 * - The temporary file is ".<name>.<random>.tmp" beside the target, created exclusively
 *   (O_CREAT | O_EXCL | O_NOFOLLOW) with mode 0666 less the umask, or with the replaced
 *   file's permission bits.
 * - Writes are buffered; each write(2) is retried over short counts and EINTR. Commit flushes,
 *   fsyncs, renames, then syncs the folder (best effort).
 * - On any failure the temporary file is removed and the target is untouched. Every message
 *   names the target path.
 * - SILKIE_FAULT=short|enospc|eio:N (fault.h) counts this writer's write(2) attempts.
 *
 * An outfile belongs to one thread at a time. */
#ifndef SILKIE_BASE_OUTFILE_H
#define SILKIE_BASE_OUTFILE_H

#include <stddef.h>
#include <stdint.h>

#include "silkie/silkie.h"

typedef struct silkie_outfile silkie_outfile;

/* Checks the target and creates the temporary file. SILKIE_ERR_INVALID_ARGUMENT for an empty
 * path, SILKIE_ERR_IO for a refused target or a folder that cannot take the temporary file,
 * SILKIE_ERR_OUT_OF_MEMORY. *out is NULL on failure. */
silkie_status silkie_outfile_open(const char *path, silkie_outfile **out);

/* Appends n bytes. After a failure (SILKIE_ERR_IO with strerror) every later write returns
 * the same status and message; commit then removes the temporary file. */
silkie_status silkie_outfile_write(silkie_outfile *f, const void *data, size_t n);

/* Formatted text (printf); the same failure rules as silkie_outfile_write. */
silkie_status silkie_outfile_printf(silkie_outfile *f, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Flushes, syncs and renames over the target, and frees f (also on failure, when the
 * temporary file is removed and the target is left as it was). */
silkie_status silkie_outfile_commit(silkie_outfile *f);

/* Drops the temporary file and frees f; the target is untouched. NULL is fine. */
void silkie_outfile_abort(silkie_outfile *f);

/* The target path given to open (borrowed; valid until commit or abort). */
const char *silkie_outfile_path(const silkie_outfile *f);

/* Whole-buffer helpers: open, write, commit. parts[i] holds sizes[i] bytes. */
silkie_status silkie_outfile_write_all(const char *path, const void *data, size_t n);
silkie_status silkie_outfile_write_parts(const char *path, const void *const *parts,
                                         const size_t *sizes, uint32_t n_parts);

/* "a symbolic link", "a FIFO", "a character device", "a block device", "a directory",
 * "a socket", "a regular file" or "an unknown kind of file" for a stat st_mode. Static
 * storage. Callers that check other kinds of targets (a checkpoint folder) word messages alike. */
const char *silkie_file_kind(uint32_t st_mode);

/* A fresh, unpredictable name for a temporary entry beside path: "<dir>/.<name>.<16 hex>.tmp"
 * (the name shortened to fit NAME_MAX). Heap string (silkie_free); NULL when out of memory. */
char *silkie_outfile_temp_name(const char *path);

#endif
