// Bounded, checked access to an ONNX protobuf (see OnnxModel.h).
#include "frontends/onnx/OnnxModel.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"

#include <cstring>

using namespace mlir;

namespace kiln::onnxfe {

LogicalResult readModelFile(const std::string &path, onnx::ModelProto &model, std::string &error) {
  llvm::sys::fs::file_status status;
  if (std::error_code ec = llvm::sys::fs::status(path, status)) {
    error = "cannot read '" + path + "': " + ec.message();
    return failure();
  }
  // Devices and pipes (e.g. /dev/zero) have no size to bound the read with.
  if (status.type() != llvm::sys::fs::file_type::regular_file) {
    error = "'" + path + "' is not a regular file";
    return failure();
  }
  if (status.getSize() > kMaxModelBytes) {
    error = "'" + path + "' is " + std::to_string(status.getSize()) +
            " bytes; Kiln reads ONNX models of less than 2 GiB (larger models need external data, "
            "which is not supported)";
    return failure();
  }
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false, /*RequiresNullTerminator=*/false);
  if (!buffer) {
    error = "cannot read '" + path + "': " + buffer.getError().message();
    return failure();
  }
  llvm::StringRef bytes = (*buffer)->getBuffer();
  const char *notOnnx = " is not an ONNX model";
  if (!model.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    error = "'" + path + "'" + notOnnx + " (it does not parse as an ONNX protobuf: truncated, or another format)";
    return failure();
  }
  // Protobuf parses many byte strings as a message of unknown fields; a model has these two.
  if (model.ir_version() <= 0 || !model.has_graph()) {
    error = "'" + path + "'" + notOnnx + " (it has no " + (model.ir_version() <= 0 ? "IR version" : "graph") +
            "; truncated, or another format)";
    return failure();
  }
  return success();
}

bool hasExternalData(const onnx::TensorProto &tensor) {
  return tensor.data_location() == onnx::TensorProto::EXTERNAL || tensor.external_data_size() > 0;
}

FailureOr<std::vector<int64_t>> tensorDims(const onnx::TensorProto &tensor, std::string &error) {
  std::vector<int64_t> dims(tensor.dims().begin(), tensor.dims().end());
  int64_t count = 1;
  for (int64_t d : dims) {
    if (d < 0) {
      error = "tensor '" + tensor.name() + "' has a negative dimension " + std::to_string(d);
      return failure();
    }
    if (d && count > kMaxElements / d) {
      error = "tensor '" + tensor.name() + "' has more than 2^31 elements";
      return failure();
    }
    count *= d;
  }
  return dims;
}

std::string dataTypeName(int32_t type) {
  if (onnx::TensorProto::DataType_IsValid(type))
    return onnx::TensorProto::DataType_Name(static_cast<onnx::TensorProto::DataType>(type));
  return "type " + std::to_string(type);
}

/// Copies `count` little-endian values of type T from raw_data or from the typed field.
template <typename T, typename Field>
static LogicalResult readValues(const onnx::TensorProto &tensor, const Field &typed, int64_t count,
                                std::vector<T> &out, std::string &error) {
  if (hasExternalData(tensor)) {
    error = "external data not supported: tensor '" + tensor.name() + "' is stored outside the model file";
    return failure();
  }
  out.resize(static_cast<size_t>(count));
  if (tensor.has_raw_data()) {
    if (tensor.raw_data().size() != static_cast<size_t>(count) * sizeof(T)) {
      error = "tensor '" + tensor.name() + "' has " + std::to_string(tensor.raw_data().size()) +
              " bytes of data, expected " + std::to_string(count * sizeof(T));
      return failure();
    }
    if (count)
      std::memcpy(out.data(), tensor.raw_data().data(), tensor.raw_data().size());
    return success();
  }
  if (typed.size() != count) {
    error = "tensor '" + tensor.name() + "' has " + std::to_string(typed.size()) + " values, expected " +
            std::to_string(count);
    return failure();
  }
  for (int64_t i = 0; i < count; ++i)
    out[i] = static_cast<T>(typed.Get(static_cast<int>(i)));
  return success();
}

FailureOr<HostTensor> toFloatTensor(const onnx::TensorProto &tensor, std::string &error) {
  auto dims = tensorDims(tensor, error);
  if (failed(dims))
    return failure();
  HostTensor result(*dims);
  int64_t count = result.size();
  if (tensor.data_type() == onnx::TensorProto::FLOAT) {
    if (failed(readValues<float>(tensor, tensor.float_data(), count, result.data, error)))
      return failure();
    return result;
  }
  if (tensor.data_type() == onnx::TensorProto::DOUBLE) {
    std::vector<double> values;
    if (failed(readValues<double>(tensor, tensor.double_data(), count, values, error)))
      return failure();
    for (int64_t i = 0; i < count; ++i)
      result.data[i] = static_cast<float>(values[i]);
    return result;
  }
  error = "tensor '" + tensor.name() + "' is " + dataTypeName(tensor.data_type()) +
          "; Kiln takes FLOAT (or DOUBLE) weights (export the model in float32)";
  return failure();
}

FailureOr<std::vector<int64_t>> toInt64Values(const onnx::TensorProto &tensor, std::string &error) {
  auto dims = tensorDims(tensor, error);
  if (failed(dims))
    return failure();
  int64_t count = HostTensor::numElements(*dims);
  std::vector<int64_t> values;
  if (tensor.data_type() == onnx::TensorProto::INT64) {
    if (failed(readValues<int64_t>(tensor, tensor.int64_data(), count, values, error)))
      return failure();
    return values;
  }
  if (tensor.data_type() == onnx::TensorProto::INT32) {
    std::vector<int32_t> narrow;
    if (failed(readValues<int32_t>(tensor, tensor.int32_data(), count, narrow, error)))
      return failure();
    return std::vector<int64_t>(narrow.begin(), narrow.end());
  }
  if (tensor.data_type() == onnx::TensorProto::BOOL) {
    std::vector<uint8_t> flags;
    if (failed(readValues<uint8_t>(tensor, tensor.int32_data(), count, flags, error)))
      return failure();
    return std::vector<int64_t>(flags.begin(), flags.end());
  }
  error = "tensor '" + tensor.name() + "' is " + dataTypeName(tensor.data_type()) + ", expected INT64";
  return failure();
}

const onnx::AttributeProto *NodeAttrs::find(llvm::StringRef name) const {
  for (const onnx::AttributeProto &attr : node.attribute())
    if (attr.name() == name)
      return &attr;
  return nullptr;
}

static LogicalResult wrongType(const onnx::AttributeProto &attr, const char *expected, std::string &error) {
  error = "attribute '" + attr.name() + "' must be " + expected;
  return failure();
}

FailureOr<int64_t> NodeAttrs::getInt(llvm::StringRef name, int64_t dflt, std::string &error) const {
  const onnx::AttributeProto *attr = find(name);
  if (!attr)
    return dflt;
  if (attr->type() != onnx::AttributeProto::INT)
    return wrongType(*attr, "an integer", error);
  return attr->i();
}

FailureOr<float> NodeAttrs::getFloat(llvm::StringRef name, float dflt, std::string &error) const {
  const onnx::AttributeProto *attr = find(name);
  if (!attr)
    return dflt;
  if (attr->type() != onnx::AttributeProto::FLOAT)
    return wrongType(*attr, "a float", error);
  return attr->f();
}

FailureOr<std::string> NodeAttrs::getString(llvm::StringRef name, llvm::StringRef dflt, std::string &error) const {
  const onnx::AttributeProto *attr = find(name);
  if (!attr)
    return dflt.str();
  if (attr->type() != onnx::AttributeProto::STRING)
    return wrongType(*attr, "a string", error);
  return attr->s();
}

FailureOr<std::optional<std::vector<int64_t>>> NodeAttrs::getInts(llvm::StringRef name, std::string &error) const {
  const onnx::AttributeProto *attr = find(name);
  if (!attr)
    return std::optional<std::vector<int64_t>>();
  if (attr->type() != onnx::AttributeProto::INTS)
    return wrongType(*attr, "a list of integers", error);
  return std::optional<std::vector<int64_t>>(std::vector<int64_t>(attr->ints().begin(), attr->ints().end()));
}

} // namespace kiln::onnxfe
