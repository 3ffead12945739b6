/* kiln/glue.h - runtime helpers for the glue code that Kiln generates around a backend.
 *
 * Not part of a model's public API: applications include `<model>.h` (which embeds
 * kiln/runtime.h) and never this file. Kiln copies this text into each generated
 * `<model>_glue.c`; the functions live in libkiln_runtime.a, whose objects Kiln links into
 * every model library (hidden there: a model's .so exports only `<model>_*`).
 *
 * Guarantees: nothing here prints or aborts; only the block cache allocates; all accept NULL
 * where noted.
 */
#ifndef KILN_GLUE_H
#define KILN_GLUE_H

#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>

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

/* ---- Backend allocations --------------------------------------------------------------- */

/* Heap blocks a context keeps between runs. A backend allocates its large intermediate
 * buffers on every run; taking them from the C heap each time maps fresh pages and faults
 * them in again, which costs as much as a convolution on some machines. A context instead
 * keeps up to KILN_BLOCK_CACHE_SLOTS freed blocks and hands them out again. Thread-safe (a
 * run's parallel tasks may allocate). Blocks are aligned to KILN_BLOCK_ALIGNMENT bytes. */
#define KILN_BLOCK_CACHE_SLOTS 64
#define KILN_BLOCK_ALIGNMENT 128

typedef struct kiln_block_cache {
  pthread_mutex_t lock;
  int count;
  void *blocks[KILN_BLOCK_CACHE_SLOTS];
} kiln_block_cache;

/* Every model context starts with these two members, in this order: the backend's
 * user_context points to the first, and kiln_backend_blocks finds the second from it. */
typedef struct kiln_backend_layout {
  kiln_message error;
  kiln_block_cache blocks;
} kiln_backend_layout;

/* Prepares an empty cache (returns KILN_OK, or KILN_ERROR_OUT_OF_MEMORY). */
int kiln_block_cache_init(kiln_block_cache *cache);

/* Frees every kept block and the cache's lock (no-op for NULL). */
void kiln_block_cache_destroy(kiln_block_cache *cache);

/* The cache of the context whose user_context is `user_context`, or NULL for NULL. */
kiln_block_cache *kiln_backend_blocks(void *user_context);

/* A block of at least `size` bytes: a kept one that fits (no more than twice the size), else
 * a new one; NULL when out of memory. A NULL `cache` always allocates. */
void *kiln_block_take(kiln_block_cache *cache, size_t size);

/* Returns a block from kiln_block_take (NULL is ignored): kept when there is room, else freed.
 * A NULL `cache` frees it. */
void kiln_block_give(kiln_block_cache *cache, void *block);

#ifdef __cplusplus
}
#endif

#endif /* KILN_GLUE_H */
