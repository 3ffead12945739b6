/* kiln/checkpoint.h - safetensors checkpoints of named float32 tensors, for training glue.
 *
 * Expects: a C11 compiler and kiln/runtime.h + kiln/glue.h (for kiln_tensor_info and
 * kiln_message). The functions live in libkiln_runtime.a; Kiln copies this text into the glue of
 * every training library, whose `<model>_save` / `<model>_load` call them.
 * Guarantees: nothing prints or aborts; every failure returns a status and leaves a sentence in
 * `message` that names the file and, for a mismatch, the tensor with what was expected and found.
 * The functions allocate only while they run (the parsed header) and free it before returning.
 *
 * ## The file format (safetensors, readable by PyTorch's `safetensors` package)
 *
 *   8 bytes      N, the length of the header, unsigned little-endian
 *   N bytes      a JSON object, padded with spaces to a multiple of 8:
 *                  {"<name>": {"dtype": "F32", "shape": [d0, d1, ...], "data_offsets": [b, e]}, ...,
 *                   "__metadata__": {"<key>": "<value>", ...}}
 *   the data     each tensor's float32 values, little-endian, C order, in bytes [b, e) of this part
 *
 * ## Atomicity
 *
 * kiln_checkpoint_write writes `<path>.tmp`, flushes it to disk (fflush + fsync), then renames it
 * over `<path>`: a crash at any moment leaves either the previous checkpoint or the new one,
 * never a mix. On failure the `.tmp` file is removed and `<path>` is untouched.
 */
#ifndef KILN_CHECKPOINT_H
#define KILN_CHECKPOINT_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One tensor of a checkpoint: `info` gives its name, rank and shape (static data of the glue);
 * `data` holds kiln_tensor_info_element_count(info) floats. kiln_checkpoint_write reads `data`;
 * kiln_checkpoint_read fills it. */
typedef struct kiln_checkpoint_tensor {
  const kiln_tensor_info *info;
  float *data;
} kiln_checkpoint_tensor;

/* Room for one metadata value, terminator included. Longer values are rejected. */
#define KILN_CHECKPOINT_VALUE_CAPACITY 128

/* One `__metadata__` entry, a string-to-string pair.
 *  - write: `key` and `value` are written (both escaped as JSON strings).
 *  - read:  `key` is looked up; when the file has it, `value` receives its text and `found` is 1,
 *           else `found` is 0 and `value` is "". When `expected` is not NULL, a file whose value
 *           differs from it is rejected (a file without the key is accepted). */
typedef struct kiln_checkpoint_metadata {
  const char *key;
  char value[KILN_CHECKPOINT_VALUE_CAPACITY];
  const char *expected;
  int found;
} kiln_checkpoint_metadata;

/* Writes `num_tensors` tensors (in that order) and `num_metadata` metadata pairs to `path`,
 * atomically (see above). Returns KILN_OK; KILN_ERROR_INVALID_ARGUMENT for a NULL path, tensor,
 * name or data pointer, or a duplicate name; KILN_ERROR_IO when the file cannot be written
 * (message: the path and the system's reason); KILN_ERROR_OUT_OF_MEMORY;
 * KILN_ERROR_UNSUPPORTED on a big-endian host. */
int kiln_checkpoint_write(const char *path, const kiln_checkpoint_tensor *tensors, int num_tensors,
                          const kiln_checkpoint_metadata *metadata, int num_metadata, kiln_message *message);

/* Reads `path` into `tensors`: the file must hold exactly these tensors (by name, in any order),
 * each with dtype F32 and the shape of its `info`; then fills each `data` and the `metadata`
 * entries (keys the file has but `metadata` does not ask for are ignored). Checks everything
 * before it writes any `data`, except that a read error in the data part (a file changed while
 * being read) can leave `data` partly written. Returns KILN_OK; KILN_ERROR_IO when the file
 * cannot be opened or read, is truncated or is not a safetensors file; KILN_ERROR_SHAPE_MISMATCH
 * when a tensor is missing, unexpected, of another shape or dtype, or a metadata value differs
 * from `expected`; KILN_ERROR_INVALID_ARGUMENT and KILN_ERROR_OUT_OF_MEMORY as above. */
int kiln_checkpoint_read(const char *path, const kiln_checkpoint_tensor *tensors, int num_tensors,
                         kiln_checkpoint_metadata *metadata, int num_metadata, kiln_message *message);

#ifdef __cplusplus
}
#endif

#endif /* KILN_CHECKPOINT_H */
