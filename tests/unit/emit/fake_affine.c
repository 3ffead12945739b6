/* Fake backend for emit tests: out_0 = in_0 * 2 + 1 over a float32[2][3][4] tensor, with the
 * Halide calling convention. It checks the buffer layout the glue builds (Halide dimension 0 is
 * the last tensor dimension) and has two trigger values in in_0[0]:
 *   -1000: reports "poisoned input" through halide_error and returns -27;
 *   -2000: writes the thread count last given to halide_set_num_threads into out_0[0]. */
#include <HalideRuntime.h>

extern int fake_runtime_threads(void);

static int layout_ok(const struct halide_buffer_t *b) {
  static const int extents[3] = {4, 3, 2}, strides[3] = {1, 4, 12};
  int d;
  if (b->host == 0 || b->dimensions != 3 || b->type.code != halide_type_float || b->type.bits != 32 ||
      b->type.lanes != 1)
    return 0;
  for (d = 0; d < 3; ++d)
    if (b->dim[d].min != 0 || b->dim[d].extent != extents[d] || b->dim[d].stride != strides[d])
      return 0;
  return 1;
}

int fake_affine(void *user_context, struct halide_buffer_t *in_0, struct halide_buffer_t *out_0) {
  const float *in = (const float *)in_0->host;
  float *out = (float *)out_0->host;
  int i;
  if (!layout_ok(in_0) || !layout_ok(out_0)) {
    halide_error(user_context, "fake_affine: unexpected buffer layout\n");
    return -1;
  }
  if (in[0] == -1000.0f) {
    halide_error(user_context, "Error: poisoned input\n");
    return -27;
  }
  for (i = 0; i < 24; ++i)
    out[i] = in[i] * 2.0f + 1.0f;
  if (in[0] == -2000.0f)
    out[0] = (float)fake_runtime_threads();
  return 0;
}
