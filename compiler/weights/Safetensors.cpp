// safetensors I/O for WeightStore: reads F32 tensors with every size and offset checked against
// the file (a corrupt file gives an error, never a crash); writes atomically via `<path>.tmp`.
#include "compiler/weights/WeightStore.h"

#include <nlohmann/json.hpp>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>

using namespace mlir;

namespace kiln {
namespace {

constexpr uint64_t kMaxHeaderBytes = 100u << 20; // the safetensors format's own limit

std::string shapeText(const std::vector<int64_t> &shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

uint64_t readLE64(const unsigned char *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i)
    v = (v << 8) | p[i];
  return v;
}

float readLEFloat(const unsigned char *p) {
  uint32_t bits = uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

void appendLEFloat(std::string &out, float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof bits);
  for (int i = 0; i < 4; ++i)
    out.push_back(static_cast<char>((bits >> (8 * i)) & 0xff));
}

/// Parses one header entry into `tensor`, checking it against the data section of `dataSize` bytes.
LogicalResult parseEntry(const std::string &name, const nlohmann::json &entry, const unsigned char *data,
                         uint64_t dataSize, HostTensor &tensor, std::string &why) {
  auto fail = [&](const std::string &what) {
    why = "tensor '" + name + "': " + what;
    return failure();
  };
  if (!entry.is_object())
    return fail("header entry is not a JSON object");
  auto dtype = entry.find("dtype");
  auto shape = entry.find("shape");
  auto offsets = entry.find("data_offsets");
  if (dtype == entry.end() || !dtype->is_string())
    return fail("missing or non-string \"dtype\"");
  if (shape == entry.end() || !shape->is_array())
    return fail("missing or non-array \"shape\"");
  if (offsets == entry.end() || !offsets->is_array() || offsets->size() != 2 ||
      !(*offsets)[0].is_number_unsigned() || !(*offsets)[1].is_number_unsigned())
    return fail("\"data_offsets\" must be two non-negative integers [begin, end]");
  if (dtype->get<std::string>() != "F32")
    return fail("dtype " + dtype->get<std::string>() + " is not supported (Kiln reads F32 only; "
                "convert with tensor.float() before saving)");

  // Element count, bounded by what the data section could hold so it cannot overflow.
  uint64_t elements = 1;
  const uint64_t maxElements = dataSize / 4;
  for (const nlohmann::json &dim : *shape) {
    if (!dim.is_number_unsigned())
      return fail("shape entries must be non-negative integers");
    uint64_t d = dim.get<uint64_t>();
    if (d > uint64_t(std::numeric_limits<int64_t>::max()))
      return fail("shape dimension too large");
    tensor.shape.push_back(static_cast<int64_t>(d));
    if (d != 0 && elements != 0 && elements > maxElements / d)
      elements = maxElements + 1; // larger than the data; reported below
    else
      elements *= d;
  }
  uint64_t begin = (*offsets)[0].get<uint64_t>(), end = (*offsets)[1].get<uint64_t>();
  if (begin > end || end > dataSize)
    return fail("data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) +
                "] lie outside the data section of " + std::to_string(dataSize) + " bytes");
  if (elements > maxElements || end - begin != elements * 4)
    return fail("shape " + shapeText(tensor.shape) + " needs " +
                (elements > maxElements ? std::string("more bytes than the file holds")
                                        : std::to_string(elements * 4) + " bytes") +
                " but data_offsets span " + std::to_string(end - begin));
  tensor.data.resize(elements);
  for (uint64_t i = 0; i < elements; ++i)
    tensor.data[i] = readLEFloat(data + begin + 4 * i);
  return success();
}

} // namespace

LogicalResult readSafetensors(const std::string &path, WeightStore &store, std::string &error) {
  auto fail = [&](const std::string &what) {
    error = path + ": " + what;
    return failure();
  };
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    return fail("not a regular file (or it does not exist)");
  uint64_t fileSize = std::filesystem::file_size(path, ec);
  if (ec)
    return fail("cannot get file size: " + ec.message());
  if (fileSize < 8)
    return fail("truncated: " + std::to_string(fileSize) + " bytes, shorter than the 8-byte header length");

  std::ifstream in(path, std::ios::binary);
  std::string bytes(fileSize, '\0');
  if (!in || !in.read(bytes.data(), static_cast<std::streamsize>(fileSize)))
    return fail("cannot read the file");
  const auto *raw = reinterpret_cast<const unsigned char *>(bytes.data());

  uint64_t headerSize = readLE64(raw);
  if (headerSize > fileSize - 8)
    return fail("header length " + std::to_string(headerSize) + " exceeds the " + std::to_string(fileSize - 8) +
                " bytes that follow it (truncated or not a safetensors file)");
  if (headerSize > kMaxHeaderBytes)
    return fail("header length " + std::to_string(headerSize) + " exceeds the 100 MB limit");

  nlohmann::json header = nlohmann::json::parse(bytes.begin() + 8, bytes.begin() + 8 + headerSize,
                                                /*cb=*/nullptr, /*allow_exceptions=*/false);
  if (header.is_discarded())
    return fail("header is not valid JSON");
  if (!header.is_object())
    return fail("header is not a JSON object");

  const unsigned char *data = raw + 8 + headerSize;
  uint64_t dataSize = fileSize - 8 - headerSize;
  WeightStore result;
  for (auto it = header.begin(); it != header.end(); ++it) {
    if (it.key() == "__metadata__")
      continue;
    std::string why;
    HostTensor tensor;
    if (failed(parseEntry(it.key(), it.value(), data, dataSize, tensor, why)))
      return fail(why);
    result.emplace(it.key(), std::move(tensor));
  }
  for (auto &[name, tensor] : result)
    store[name] = std::move(tensor);
  return success();
}

LogicalResult writeSafetensors(const std::string &path, const WeightStore &store, std::string &error) {
  nlohmann::json header = nlohmann::json::object();
  uint64_t offset = 0;
  for (const auto &[name, tensor] : store) { // std::map: names sorted
    if (name == "__metadata__" || name.empty()) {
      error = "cannot write a tensor named '" + name + "' to " + path;
      return failure();
    }
    if (tensor.size() != HostTensor::numElements(tensor.shape)) {
      error = "tensor '" + name + "' has " + std::to_string(tensor.size()) + " values but shape " +
              shapeText(tensor.shape);
      return failure();
    }
    uint64_t bytes = uint64_t(tensor.size()) * 4;
    header[name] = {{"dtype", "F32"}, {"shape", tensor.shape}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string headerText = header.dump();
  headerText.append((8 - headerText.size() % 8) % 8, ' '); // keeps the data 8-byte aligned

  std::string out;
  uint64_t headerSize = headerText.size();
  for (int i = 0; i < 8; ++i)
    out.push_back(static_cast<char>((headerSize >> (8 * i)) & 0xff));
  out += headerText;
  out.reserve(out.size() + offset);
  for (const auto &entry : store)
    for (float f : entry.second.data)
      appendLEFloat(out, f);

  const std::string tmp = path + ".tmp";
  {
    std::ofstream file(tmp, std::ios::binary | std::ios::trunc);
    if (!file || !file.write(out.data(), static_cast<std::streamsize>(out.size())) || !file.flush()) {
      std::error_code ignored;
      std::filesystem::remove(tmp, ignored);
      error = "cannot write " + tmp;
      return failure();
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::filesystem::remove(tmp, ec);
    error = "cannot rename " + tmp + " to " + path;
    return failure();
  }
  return success();
}

} // namespace kiln
