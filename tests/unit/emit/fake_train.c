/* Fake training backend for the emit tests and `kiln train` tests: the model "trainee",
 *   x float32[2][3] -> y[n][j] = x[n][j] * w[j] + b[0]      (parameters w float32[3], b float32[1])
 * and its training step with the mean squared error against targets t[2][3] and momentum:
 *   loss = mean((y - t)^2);  g = d loss / d (w, b);  v' = 0.9 v + g;  p' = p - (lr / step) * v'
 * (the division by the 1-based step number makes the step count matter). Targets are the labels
 * themselves, or with -DFAKE_TRAIN_CLASS_LABELS the one-hot vectors of class labels float32[2].
 * The step writes garbage into the new parameters and fails with -27 when x[0] is -1000.
 * Halide ABI (halide_buffer_t, layout checked) by default, bare pointers with
 * -DFAKE_TRAIN_BARE_POINTERS. Entry points: fake_train (inference) and fake_train_step. */
#ifndef FAKE_TRAIN_BARE_POINTERS
#include <HalideRuntime.h>
#endif

static void predict(const float *x, const float *w, const float *b, float *y) {
  int n, j;
  for (n = 0; n < 2; ++n)
    for (j = 0; j < 3; ++j)
      y[n * 3 + j] = x[n * 3 + j] * w[j] + b[0];
}

static float target(const float *labels, int n, int j) {
#ifdef FAKE_TRAIN_CLASS_LABELS
  return (int)labels[n] == j ? 1.0f : 0.0f;
#else
  return labels[n * 3 + j];
#endif
}

static int step(const float *x, const float *labels, const float *hyper, const float *w, const float *b,
                const float *vw, const float *vb, float *loss, float *new_w, float *new_b, float *new_vw,
                float *new_vb) {
  float y[6], gw[3] = {0, 0, 0}, gb = 0, sum = 0, rate = hyper[0] / hyper[1];
  int n, j;
  if (x[0] == -1000.0f) {
    new_w[0] = new_b[0] = 12345.0f;
    return -27;
  }
  predict(x, w, b, y);
  for (n = 0; n < 2; ++n)
    for (j = 0; j < 3; ++j) {
      float d = y[n * 3 + j] - target(labels, n, j);
      sum += d * d;
      gw[j] += 2.0f * d * x[n * 3 + j] / 6.0f;
      gb += 2.0f * d / 6.0f;
    }
  loss[0] = sum / 6.0f;
  for (j = 0; j < 3; ++j) {
    new_vw[j] = 0.9f * vw[j] + gw[j];
    new_w[j] = w[j] - rate * new_vw[j];
  }
  new_vb[0] = 0.9f * vb[0] + gb;
  new_b[0] = b[0] - rate * new_vb[0];
  return 0;
}

#ifdef FAKE_TRAIN_BARE_POINTERS

int fake_train(void *user_context, const float *x, const float *w, const float *b, float *y) {
  (void)user_context;
  predict(x, w, b, y);
  return 0;
}

int fake_train_step(void *user_context, const float *x, const float *labels, const float *hyper, const float *w,
                    const float *b, const float *vw, const float *vb, float *loss, float *new_w, float *new_b,
                    float *new_vw, float *new_vb) {
  (void)user_context;
  return step(x, labels, hyper, w, b, vw, vb, loss, new_w, new_b, new_vw, new_vb);
}

#else

typedef struct halide_buffer_t buffer;

/* Whether `b` is a dense float32 buffer of the given extents (Halide order: innermost first). */
static int dense(const buffer *b, int rank, int e0, int e1) {
  if (b->dimensions != rank || b->type.code != halide_type_float || b->type.bits != 32 || b->dim[0].stride != 1 ||
      b->dim[0].extent != e0)
    return 0;
  return rank == 1 || (b->dim[1].extent == e1 && b->dim[1].stride == e0);
}

#define HOST(b) ((float *)(b)->host)

int fake_train(void *user_context, buffer *x, buffer *w, buffer *b, buffer *y) {
  if (!dense(x, 2, 3, 2) || !dense(w, 1, 3, 0) || !dense(b, 1, 1, 0) || !dense(y, 2, 3, 2)) {
    halide_error(user_context, "fake_train: unexpected buffer layout\n");
    return -1;
  }
  predict(HOST(x), HOST(w), HOST(b), HOST(y));
  return 0;
}

int fake_train_step(void *user_context, buffer *x, buffer *labels, buffer *hyper, buffer *w, buffer *b, buffer *vw,
                    buffer *vb, buffer *loss, buffer *new_w, buffer *new_b, buffer *new_vw, buffer *new_vb) {
  int result;
#ifdef FAKE_TRAIN_CLASS_LABELS
  int labels_ok = dense(labels, 1, 2, 0);
#else
  int labels_ok = dense(labels, 2, 3, 2);
#endif
  if (!dense(x, 2, 3, 2) || !labels_ok || !dense(hyper, 1, 2, 0) || !dense(w, 1, 3, 0) || !dense(b, 1, 1, 0) ||
      !dense(vw, 1, 3, 0) || !dense(vb, 1, 1, 0) || !dense(loss, 1, 1, 0) || !dense(new_w, 1, 3, 0) ||
      !dense(new_b, 1, 1, 0) || !dense(new_vw, 1, 3, 0) || !dense(new_vb, 1, 1, 0)) {
    halide_error(user_context, "fake_train_step: unexpected buffer layout\n");
    return -1;
  }
  result = step(HOST(x), HOST(labels), HOST(hyper), HOST(w), HOST(b), HOST(vw), HOST(vb), HOST(loss), HOST(new_w),
                HOST(new_b), HOST(new_vw), HOST(new_vb));
  if (result != 0)
    halide_error(user_context, "fake_train_step: poisoned input\n");
  return result;
}

#endif
