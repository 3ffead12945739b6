/* Thread-count choice for model contexts (see kiln/glue.h): environment, CPU count, bounds. */
#define _POSIX_C_SOURCE 200809L
#include "kiln/glue.h"
#include "kiln/runtime.h"

#include <stdlib.h>
#include <unistd.h>

int kiln_threads_default(void) {
  const char *env = getenv("KILN_NUM_THREADS");
  long cpus;
  if (env != NULL && *env != '\0') {
    char *end = NULL;
    long value = strtol(env, &end, 10);
    if (end != NULL && *end == '\0' && value >= 1 && value <= KILN_MAX_THREADS)
      return (int)value;
  }
  cpus = sysconf(_SC_NPROCESSORS_ONLN);
  if (cpus < 1)
    return 1;
  return cpus > KILN_MAX_THREADS ? KILN_MAX_THREADS : (int)cpus;
}

int kiln_threads_check(int requested, kiln_message *message) {
  if (requested < 0 || requested > KILN_MAX_THREADS)
    return kiln_message_fail(message, KILN_ERROR_INVALID_ARGUMENT,
                             "thread count %d is out of range: pass 0 (one per CPU, or "
                             "KILN_NUM_THREADS) or a number from 1 to %d",
                             requested, KILN_MAX_THREADS);
  return KILN_OK;
}

int kiln_threads_resolve(int requested) {
  return requested > 0 && requested <= KILN_MAX_THREADS ? requested : kiln_threads_default();
}
