/* kiln/glue.h - runtime helpers for the glue code that Kiln generates around a backend.
 *
 * Not part of a model's public API: applications include `<model>.h` (which embeds
 * kiln/runtime.h) and never this file. Kiln copies this text into each generated
 * `<model>_glue.c`; the functions live in libkiln_runtime.a, whose objects Kiln links into
 * every model library (hidden there: a model's .so exports only `<model>_*`).
 *
 * Guarantees: no function here allocates, prints or aborts; all accept NULL where noted.
 */
#ifndef KILN_GLUE_H
#define KILN_GLUE_H

#include <stdarg.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Error messages -------------------------------------------------------------------- */

/* Room for one message, terminator included. Longer messages are cut and end in "...". */
#define KILN_MESSAGE_CAPACITY 1024

/* A fixed-size error message owned by a model context. Zero-initialised means "no error".
 * The generated glue passes a pointer to one as the backend's `user_context`, so Halide's
 * error callback can store its text there. */
typedef struct kiln_message {
  char text[KILN_MESSAGE_CAPACITY];
} kiln_message;

/* Empties `message` (no-op for NULL). */
void kiln_message_clear(kiln_message *message);

/* Replaces the text with printf-style `format`; returns `status` so glue can write
 * `return kiln_message_fail(&ctx->error, KILN_ERROR_INVALID_ARGUMENT, "...", ...);`.
 * With a NULL `message` only the status is returned. */
int kiln_message_fail(kiln_message *message, int status, const char *format, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Appends `text` (a NULL `text` or `message` is ignored), separated from earlier text by
 * "; " and without the trailing newlines Halide puts on its messages. */
void kiln_message_append(kiln_message *message, const char *text);

/* ---- Threads --------------------------------------------------------------------------- */

/* The most threads a context may ask for (Halide's thread pool has the same bound). */
#define KILN_MAX_THREADS 256

/* The thread count used when a context has not chosen one: the KILN_NUM_THREADS environment
 * variable when it holds a number in 1..KILN_MAX_THREADS, else the number of online CPUs
 * (at least 1, at most KILN_MAX_THREADS). */
int kiln_threads_default(void);

/* Checks a requested thread count: 0 (use kiln_threads_default) or 1..KILN_MAX_THREADS.
 * Returns KILN_OK, or KILN_ERROR_INVALID_ARGUMENT with a message in `message`. */
int kiln_threads_check(int requested, kiln_message *message);

/* The count to hand to the backend for a context that asked for `requested` (already checked). */
int kiln_threads_resolve(int requested);

#ifdef __cplusplus
}
#endif

#endif /* KILN_GLUE_H */
