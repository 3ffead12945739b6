/* Fake backend that calls a function nobody defines, so linking its library must fail. */
struct halide_buffer_t;
extern int kiln_test_symbol_that_does_not_exist(void);

int fake_unresolved(void *user_context, struct halide_buffer_t *in_0, struct halide_buffer_t *out_0) {
  (void)user_context;
  (void)in_0;
  (void)out_0;
  return kiln_test_symbol_that_does_not_exist();
}
