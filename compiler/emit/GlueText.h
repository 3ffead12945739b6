// Text helpers shared by the generators of a model's header and C glue (LibraryEmitter.cpp for
// inference, TrainingGlue.cpp for training): C literals and comments, shapes, tensor tables and
// the code that calls a backend function in either BackendAbi. Internal to compiler/emit.
#ifndef KILN_EMIT_GLUETEXT_H
#define KILN_EMIT_GLUETEXT_H

#include "compiler/emit/LibraryEmitter.h"

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

namespace kiln::glue {

/// `s` in upper case (ASCII).
std::string upper(const std::string &s);

/// `s` as a C string literal (quotes, backslashes and non-printable bytes escaped).
std::string cString(const std::string &s);

/// `s` made safe inside a /* */ comment and on one line.
std::string commentText(const std::string &s);

/// The dimensions of `shape` joined by `sep`: "2, 3, 4".
std::string joinShape(const std::vector<int64_t> &shape, const char *sep);

/// The product of `shape` (1 for rank 0).
int64_t elementCount(const std::vector<int64_t> &shape);

/// "\"x\": float32[1][3][32][32]" for comments.
std::string describe(const TensorSpec &t);

/// `static const kiln_tensor_info <var>[] = {...};` listing `list` (one dummy entry when empty,
/// since C has no empty arrays).
void writeTensorInfoArray(std::ostream &g, const std::vector<TensorSpec> &list, const std::string &var);

/// Statements that fail with KILN_ERROR_INVALID_ARGUMENT when the caller's `inputs` array, or one
/// of its `numInputs` pointers, is NULL (messages start with `function`). Needs `int i` and `ctx`.
void writeInputChecks(std::ostream &g, const std::string &function, size_t numInputs);

/// One argument of a backend call: C expressions for the float pointer and for the address of
/// its kiln_tensor_info; `written` for the backend's outputs.
struct BackendArgument {
  std::string data, info;
  bool written = false;
};

/// One call of a backend function: its symbol and arguments.
struct BackendCall {
  std::string function;
  std::vector<BackendArgument> arguments;
};

/// The calls that compute `function` on `arguments`: that call alone, or one per part of `parts`,
/// whose temporaries live at ctx->temporaries + <table>_offsets[k], described by <table>[k]
/// (writeTemporaryTables).
std::vector<BackendCall> backendCalls(const std::string &function, const std::vector<BackendArgument> &arguments,
                                      const FunctionParts &parts, const std::string &table);

/// The floats the temporaries of `parts` take (each starting 64-byte aligned).
int64_t temporaryFloats(const FunctionParts &parts);

/// The tables `<table>` (kiln_tensor_info of each temporary of `parts`) and `<table>_offsets`
/// (where each starts, in floats); returns temporaryFloats(parts).
int64_t writeTemporaryTables(std::ostream &g, const FunctionParts &parts, const std::string &table);

/// `extern int <fn>(void *user_context, ...);` for `arguments` in `abi`.
void writeBackendDeclaration(std::ostream &g, BackendAbi abi, const std::string &fn,
                             const std::vector<BackendArgument> &arguments);

/// Statements that call `fn(&ctx->error, arguments...)` and, when it returns non-zero, return
/// KILN_ERROR_BACKEND with a message starting with `function` and carrying the backend's text.
/// For HalideBuffers, each argument is first described into `<buffers>[k]` / `<dims>[k]` and
/// Halide's thread count is set from the context; for BarePointers, OpenMP's thread count is set
/// for the call and then restored. Needs `int result` and `ctx`.
void writeBackendCall(std::ostream &g, BackendAbi abi, const std::string &fn, const std::string &function,
                      const std::vector<BackendArgument> &arguments, const std::string &buffers,
                      const std::string &dims);

} // namespace kiln::glue

#endif
