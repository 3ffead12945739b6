/* An application of the generated affine.h + libaffine.a: checks results, NULL handling,
 * backend errors, threads and model info. Prints the first failed check and exits non-zero. */
#include "affine.h"

#include <stdio.h>
#include <string.h>

#define CHECK(cond)                                                                      \
  do {                                                                                   \
    if (!(cond)) {                                                                       \
      printf("check failed at line %d: %s (last error: %s)\n", __LINE__, #cond,        \
             affine_last_error(ctx));                                                    \
      return 1;                                                                          \
    }                                                                                    \
  } while (0)

int main(void) {
  float in[AFFINE_INPUT_SIZE], out[AFFINE_OUTPUT_SIZE];
  int64_t shape[] = AFFINE_INPUT_SHAPE;
  const kiln_model_info *info = affine_model_info();
  affine_ctx *ctx = NULL;
  int i;

  CHECK(affine_create(NULL) == KILN_ERROR_INVALID_ARGUMENT);
  CHECK(affine_create(&ctx) == KILN_OK && ctx != NULL);
  CHECK(AFFINE_INPUT_RANK == 3 && shape[0] == 2 && shape[1] == 3 && shape[2] == 4);
  CHECK(info->num_inputs == 1 && info->num_outputs == 1 && strcmp(info->name, "affine") == 0);
  CHECK(strcmp(info->inputs[0].name, "x") == 0 && kiln_tensor_info_element_count(&info->inputs[0]) == 24);

  for (i = 0; i < AFFINE_INPUT_SIZE; ++i)
    in[i] = (float)i;
  CHECK(affine_infer(ctx, in, out) == KILN_OK);
  for (i = 0; i < AFFINE_OUTPUT_SIZE; ++i)
    CHECK(out[i] == 2.0f * (float)i + 1.0f);
  CHECK(strcmp(affine_last_error(ctx), "") == 0);

  CHECK(affine_infer(ctx, NULL, out) == KILN_ERROR_INVALID_ARGUMENT);
  CHECK(strstr(affine_last_error(ctx), "input is NULL") != NULL);
  CHECK(affine_run(ctx, NULL, NULL) == KILN_ERROR_INVALID_ARGUMENT);
  CHECK(affine_infer(NULL, in, out) == KILN_ERROR_INVALID_ARGUMENT);
  CHECK(strstr(affine_last_error(NULL), "NULL") != NULL);

  in[0] = -1000.0f;
  CHECK(affine_infer(ctx, in, out) == KILN_ERROR_BACKEND);
  CHECK(strstr(affine_last_error(ctx), "Halide error code -27") != NULL);
  CHECK(strstr(affine_last_error(ctx), "poisoned input") != NULL);

  CHECK(affine_set_threads(ctx, -1) == KILN_ERROR_INVALID_ARGUMENT);
  CHECK(affine_set_threads(ctx, 3) == KILN_OK);
  in[0] = -2000.0f;
  CHECK(affine_infer(ctx, in, out) == KILN_OK);
  CHECK(out[0] == 3.0f);

  affine_destroy(ctx);
  affine_destroy(NULL);
  printf("ok\n");
  return 0;
}
