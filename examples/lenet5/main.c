/* LeNet-5 demo: links the library that `kiln compile examples/lenet5/lenet5.kiln -o DIR` made,
 * classifies a drawn digit and prints the class scores. It checks its own results (softmax sums
 * to one, runs are repeatable, bad arguments come back as status codes), so it doubles as a test. */
#include "lenet5.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* A 32x32 image of a "7": a bar on top and a diagonal stroke. */
static void draw_seven(float *image) {
  memset(image, 0, sizeof(float) * 32 * 32);
  for (int x = 6; x < 26; ++x)
    image[6 * 32 + x] = image[7 * 32 + x] = 1.0f;
  for (int y = 8; y < 27; ++y) {
    int x = 25 - (y - 8) * 12 / 19;
    image[y * 32 + x] = image[y * 32 + x - 1] = 1.0f;
  }
}

static int fail(const char *what, kiln_status status, const lenet5_ctx *ctx) {
  fprintf(stderr, "lenet5_demo: %s: %s (%s)\n", what, kiln_status_string(status), ctx ? lenet5_last_error(ctx) : "");
  return 1;
}

int main(void) {
  float image[32 * 32], scores[10], again[10];
  lenet5_ctx *ctx = NULL;
  kiln_status status = lenet5_create(&ctx);
  if (status != KILN_OK)
    return fail("create", status, NULL);
  draw_seven(image);
  if ((status = lenet5_infer(ctx, image, scores)) != KILN_OK)
    return fail("infer", status, ctx);
  if ((status = lenet5_infer(ctx, image, again)) != KILN_OK)
    return fail("infer", status, ctx);
  if (memcmp(scores, again, sizeof scores) != 0) {
    fprintf(stderr, "lenet5_demo: two runs on the same image differ\n");
    return 1;
  }
  /* Bad arguments come back as a status, with a message, and never abort the program. */
  if (lenet5_infer(ctx, NULL, scores) != KILN_ERROR_INVALID_ARGUMENT || !*lenet5_last_error(ctx)) {
    fprintf(stderr, "lenet5_demo: a NULL input was not rejected\n");
    return 1;
  }

  float max = scores[0], sum = 0.0f;
  int best = 0;
  for (int i = 1; i < 10; ++i)
    if (scores[i] > max)
      max = scores[i], best = i;
  for (int i = 0; i < 10; ++i)
    sum += expf(scores[i] - max);
  float total = 0.0f;
  printf("class  score     probability\n");
  for (int i = 0; i < 10; ++i) {
    float p = expf(scores[i] - max) / sum;
    total += p;
    printf("%5d  %8.4f  %6.4f%s\n", i, scores[i], p, i == best ? "  <- best" : "");
  }
  lenet5_destroy(ctx);
  if (fabsf(total - 1.0f) > 1e-4f) {
    fprintf(stderr, "lenet5_demo: probabilities sum to %f\n", total);
    return 1;
  }
  return 0;
}
