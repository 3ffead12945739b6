/* Fake two-input, two-output backend for emit tests over float32[4] tensors:
 * out_0 = in_0 + in_1, out_1 = in_0 - in_1. */
#include <HalideRuntime.h>

int fake_pair(void *user_context, struct halide_buffer_t *in_0, struct halide_buffer_t *in_1,
              struct halide_buffer_t *out_0, struct halide_buffer_t *out_1) {
  const float *a = (const float *)in_0->host, *b = (const float *)in_1->host;
  float *sum = (float *)out_0->host, *diff = (float *)out_1->host;
  int i;
  if (in_0->dimensions != 1 || in_0->dim[0].extent != 4 || out_1->dim[0].extent != 4) {
    halide_error(user_context, "fake_pair: unexpected buffer layout\n");
    return -1;
  }
  for (i = 0; i < 4; ++i) {
    sum[i] = a[i] + b[i];
    diff[i] = a[i] - b[i];
  }
  return 0;
}
