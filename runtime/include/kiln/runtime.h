/* kiln/runtime.h - the types every Kiln-compiled model library shares.
 *
 * Expects: a C11 (or C++) compiler; needs only <stdint.h> and <stddef.h>.
 * Guarantees: everything here is prefixed `kiln_`/`KILN_`, nothing aborts or prints, and the
 * functions are `static inline`, so this header works without linking anything. Kiln copies
 * this text into every generated `<model>.h` under the include guard KILN_RUNTIME_H, so the
 * headers of several models can be included in one file.
 *
 * ## Overview
 *
 * `kiln compile net.kiln -o out/` writes three files for a model called `net`:
 *
 *   out/net.h       the API of the model (this header's types plus net_create, net_infer, ...)
 *   out/libnet.so   the model as a shared library (exports only `net_*` symbols)
 *   out/libnet.a    the same as a static library (link with -lpthread -ldl -lm)
 *
 * Every function of a model returns a `kiln_status`. KILN_OK (0) is success; anything else is
 * an error, and `net_last_error(ctx)` holds a sentence saying what went wrong and what would
 * fix it. `kiln_status_string(status)` names the status itself.
 *
 * ## A worked example
 *
 *     #include "net.h"
 *     #include <stdio.h>
 *
 *     int main(void) {
 *       static float input[NET_INPUT_SIZE];    // the caller owns the input ...
 *       static float output[NET_OUTPUT_SIZE];  // ... and the output memory
 *       net_ctx *ctx = NULL;
 *       kiln_status st = net_create(&ctx);
 *       if (st != KILN_OK) {
 *         fprintf(stderr, "net_create: %s\n", kiln_status_string(st));
 *         return 1;
 *       }
 *       st = net_infer(ctx, input, output);
 *       if (st != KILN_OK)
 *         fprintf(stderr, "net_infer: %s: %s\n", kiln_status_string(st), net_last_error(ctx));
 *       net_destroy(ctx);
 *       return st == KILN_OK ? 0 : 1;
 *     }
 *
 * ## Ownership and NULL
 *
 * - Tensors are dense float32 arrays in C (row-major) order. The caller allocates them, keeps
 *   them alive during the call, and frees them; the library never keeps a pointer to them
 *   after the call returns.
 * - A NULL context, tensor array or tensor pointer is never dereferenced: the call returns
 *   KILN_ERROR_INVALID_ARGUMENT (with a message in the context when there is one).
 * - A `kiln_model_info` and the strings it points to are static data owned by the library:
 *   valid until the library is unloaded, never freed by the caller.
 * - Strings returned by `kiln_status_string` are static; those returned by `<model>_last_error`
 *   belong to the context and stay valid until the next call on it or its destruction.
 */
#ifndef KILN_RUNTIME_H
#define KILN_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The largest tensor rank a Kiln model can have at its interface. */
#define KILN_MAX_RANK 8

/* What a Kiln call reports. New codes are only ever appended. */
typedef enum kiln_status {
  KILN_OK = 0,                      /* success */
  KILN_ERROR_INVALID_ARGUMENT = 1,  /* a NULL pointer or a value out of range was passed */
  KILN_ERROR_SHAPE_MISMATCH = 2,    /* a tensor does not have the shape the model expects */
  KILN_ERROR_OUT_OF_MEMORY = 3,     /* an allocation failed */
  KILN_ERROR_BACKEND = 4,           /* the compiled code reported an error (see last_error) */
  KILN_ERROR_IO = 5,                /* a file could not be read or written */
  KILN_ERROR_UNSUPPORTED = 6        /* the request is valid but this build cannot do it */
} kiln_status;

/* A short, static, English name for `status`, e.g. "invalid argument". Never NULL: an unknown
 * value gives "unknown kiln_status". */
static inline const char *kiln_status_string(kiln_status status) {
  switch (status) {
  case KILN_OK: return "ok";
  case KILN_ERROR_INVALID_ARGUMENT: return "invalid argument";
  case KILN_ERROR_SHAPE_MISMATCH: return "shape mismatch";
  case KILN_ERROR_OUT_OF_MEMORY: return "out of memory";
  case KILN_ERROR_BACKEND: return "backend error";
  case KILN_ERROR_IO: return "i/o error";
  case KILN_ERROR_UNSUPPORTED: return "unsupported";
  }
  return "unknown kiln_status";
}

/* One input or output of a model: its name (as in the source network; static, never NULL),
 * rank (0..KILN_MAX_RANK) and shape (shape[0..rank-1], outermost first; the rest are 0). */
typedef struct kiln_tensor_info {
  const char *name;
  int rank;
  int64_t shape[KILN_MAX_RANK];
} kiln_tensor_info;

/* The number of float elements of a tensor: the product of its shape (1 for rank 0).
 * Returns -1 for NULL or a rank outside 0..KILN_MAX_RANK. */
static inline int64_t kiln_tensor_info_element_count(const kiln_tensor_info *info) {
  int64_t count = 1;
  int i;
  if (info == NULL || info->rank < 0 || info->rank > KILN_MAX_RANK)
    return -1;
  for (i = 0; i < info->rank; ++i)
    count *= info->shape[i];
  return count;
}

/* The interface of a compiled model, from `<model>_model_info()`. Tools that load a model
 * with dlopen use it to size buffers; `inputs` and `outputs` are in the order that
 * `<model>_run` takes them. All of it is static data owned by the library. */
typedef struct kiln_model_info {
  const char *name;                /* the model name, the prefix of its functions */
  int num_inputs;
  const kiln_tensor_info *inputs;  /* num_inputs entries */
  int num_outputs;
  const kiln_tensor_info *outputs; /* num_outputs entries */
} kiln_model_info;

/* The training part of a library compiled with `--train`, from `<model>_training_info()`
 * (libraries without training do not have that function). Static data owned by the library. */
typedef struct kiln_training_info {
  int num_params;
  const kiln_tensor_info *params;  /* every parameter, by the name <model>_get_param takes and
                                      checkpoints use (PyTorch state_dict keys) */
  int num_state;
  const kiln_tensor_info *state;   /* the optimizer's slots, by checkpoint name
                                      "optimizer.<param>.<slot>"; none for sgd */
  kiln_tensor_info labels;         /* what <model>_train_step takes as labels */
  const char *optimizer;           /* e.g. "sgd", "adam" */
  float initial_learning_rate;     /* the learning rate of a new context */
} kiln_training_info;

#ifdef __cplusplus
}
#endif

#endif /* KILN_RUNTIME_H */
