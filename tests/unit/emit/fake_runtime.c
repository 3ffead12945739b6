/* Stand-in for Halide's standalone runtime in emit tests: the symbols the glue relies on, weak
 * like Halide's. The default error and print handlers abort, so a test fails loudly if the
 * glue's overrides are not the ones linked in. */
#include <stdlib.h>

static int fake_threads = 0;

__attribute__((weak)) void halide_error(void *user_context, const char *message) {
  (void)user_context;
  (void)message;
  abort();
}

__attribute__((weak)) void halide_print(void *user_context, const char *message) {
  (void)user_context;
  (void)message;
  abort();
}

__attribute__((weak)) int halide_set_num_threads(int n) {
  int old = fake_threads;
  fake_threads = n;
  return old;
}

__attribute__((weak)) int fake_runtime_threads(void) { return fake_threads; }
