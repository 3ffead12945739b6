/* Two model headers in one file and two model archives in one program. */
#include "affine.h"
#include "pair.h"

#include <stdio.h>

int main(void) {
  float x[AFFINE_INPUT_SIZE] = {1.0f}, y[AFFINE_OUTPUT_SIZE];
  float a[PAIR_INPUT_0_SIZE] = {1, 2, 3, 4}, b[PAIR_INPUT_1_SIZE] = {4, 3, 2, 1};
  float sum[PAIR_OUTPUT_0_SIZE], diff[PAIR_OUTPUT_1_SIZE];
  const float *inputs[] = {a, b};
  float *outputs[] = {sum, diff};
  affine_ctx *actx = NULL;
  pair_ctx *pctx = NULL;
  int ok;
  if (affine_create(&actx) != KILN_OK || pair_create(&pctx) != KILN_OK)
    return 2;
  ok = affine_infer(actx, x, y) == KILN_OK && y[0] == 3.0f && y[1] == 1.0f &&
       pair_run(pctx, inputs, outputs) == KILN_OK && sum[0] == 5.0f && diff[3] == 3.0f;
  x[0] = -1000.0f;
  ok = ok && affine_infer(actx, x, y) == KILN_ERROR_BACKEND;
  printf("%s %s\n", ok ? "ok" : "FAILED", affine_last_error(actx));
  affine_destroy(actx);
  pair_destroy(pctx);
  return ok ? 0 : 1;
}
