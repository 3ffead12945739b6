// Bounded, checked access to an ONNX protobuf: reading the file, converting tensors and reading
// node attributes. libonnx is not a validator, so every size and type is checked here before use;
// each failure returns failure with a sentence in `error` (no location: the caller adds it).
#ifndef KILN_FRONTENDS_ONNX_ONNXMODEL_H
#define KILN_FRONTENDS_ONNX_ONNXMODEL_H

#include "kiln/Dialect/NN/HostTensor.h"

#include "mlir/Support/LLVM.h"

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace kiln::onnxfe {

/// Largest model file read (protobuf cannot parse 2 GiB or more anyway).
constexpr uint64_t kMaxModelBytes = (uint64_t(1) << 31) - 1;
/// Largest tensor (elements) accepted anywhere: initializers, inputs, intermediate values.
constexpr int64_t kMaxElements = int64_t(1) << 31;

/// Reads and parses `path`: a regular file of at most kMaxModelBytes that parses as a ModelProto
/// with an IR version and a graph. Does not run the ONNX checker.
mlir::LogicalResult readModelFile(const std::string &path, onnx::ModelProto &model, std::string &error);

/// True when `tensor` keeps its data outside the model file.
bool hasExternalData(const onnx::TensorProto &tensor);

/// The dims of `tensor` after checking that each is >= 0 and the element count <= kMaxElements.
mlir::FailureOr<std::vector<int64_t>> tensorDims(const onnx::TensorProto &tensor, std::string &error);

/// A FLOAT or DOUBLE tensor as float32 (raw_data or typed fields, sizes checked).
mlir::FailureOr<HostTensor> toFloatTensor(const onnx::TensorProto &tensor, std::string &error);

/// An INT64, INT32 or BOOL tensor's values (e.g. a Reshape shape), sizes checked.
mlir::FailureOr<std::vector<int64_t>> toInt64Values(const onnx::TensorProto &tensor, std::string &error);

/// The ONNX name of a TensorProto data type ("FLOAT16", ...).
std::string dataTypeName(int32_t type);

/// Typed attribute lookup on one node; a present attribute of the wrong type is an error.
class NodeAttrs {
public:
  explicit NodeAttrs(const onnx::NodeProto &node) : node(node) {}

  const onnx::AttributeProto *find(llvm::StringRef name) const;
  mlir::FailureOr<int64_t> getInt(llvm::StringRef name, int64_t dflt, std::string &error) const;
  mlir::FailureOr<float> getFloat(llvm::StringRef name, float dflt, std::string &error) const;
  mlir::FailureOr<std::string> getString(llvm::StringRef name, llvm::StringRef dflt, std::string &error) const;
  /// The list, or nullopt when absent.
  mlir::FailureOr<std::optional<std::vector<int64_t>>> getInts(llvm::StringRef name, std::string &error) const;

private:
  const onnx::NodeProto &node;
};

} // namespace kiln::onnxfe

#endif
