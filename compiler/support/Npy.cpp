// NumPy .npy reading and writing (see Npy.h). The header is a Python dict literal such as
// {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } which is parsed strictly here.
#include "compiler/support/Npy.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

namespace kiln {
namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicSize = 6;
constexpr uint32_t kMaxHeaderSize = 1u << 20; // numpy itself refuses headers above 10 KB by default

std::string shapeString(const std::vector<int64_t> &shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + (shape.size() == 1 ? ",)" : ")");
}

/// The parsed header of an .npy file.
struct NpyHeader {
  std::string descr;
  bool fortranOrder = false;
  std::vector<int64_t> shape;
  size_t dataOffset = 0;
};

/// A strict parser for the dict literal numpy writes.
class DictParser {
public:
  explicit DictParser(const std::string &text) : text(text) {}

  bool parse(NpyHeader &header, std::string &error) {
    bool haveDescr = false, haveOrder = false, haveShape = false;
    if (!expect('{', error))
      return false;
    while (true) {
      skipSpace();
      if (peek() == '}') {
        ++pos;
        break;
      }
      std::string key;
      if (!parseString(key, error) || !expect(':', error))
        return false;
      if (key == "descr") {
        if (!parseString(header.descr, error))
          return false;
        haveDescr = true;
      } else if (key == "fortran_order") {
        if (!parseBool(header.fortranOrder, error))
          return false;
        haveOrder = true;
      } else if (key == "shape") {
        if (!parseShape(header.shape, error))
          return false;
        haveShape = true;
      } else {
        error = "unexpected key '" + key + "' in the header";
        return false;
      }
      skipSpace();
      if (peek() == ',') {
        ++pos;
        continue;
      }
      if (!expect('}', error))
        return false;
      break;
    }
    if (!haveDescr || !haveOrder || !haveShape) {
      error = "the header lacks one of 'descr', 'fortran_order', 'shape'";
      return false;
    }
    return true;
  }

private:
  const std::string &text;
  size_t pos = 0;

  char peek() const { return pos < text.size() ? text[pos] : '\0'; }
  void skipSpace() {
    while (pos < text.size() && (text[pos] == ' ' || text[pos] == '\t'))
      ++pos;
  }
  bool expect(char c, std::string &error) {
    skipSpace();
    if (peek() != c) {
      error = std::string("malformed header: expected '") + c + "' at offset " + std::to_string(pos);
      return false;
    }
    ++pos;
    return true;
  }
  bool parseString(std::string &out, std::string &error) {
    skipSpace();
    char quote = peek();
    if (quote != '\'' && quote != '"') {
      error = "malformed header: expected a quoted string at offset " + std::to_string(pos);
      return false;
    }
    size_t end = text.find(quote, pos + 1);
    if (end == std::string::npos) {
      error = "malformed header: unterminated string";
      return false;
    }
    out = text.substr(pos + 1, end - pos - 1);
    pos = end + 1;
    return true;
  }
  bool parseBool(bool &out, std::string &error) {
    skipSpace();
    if (text.compare(pos, 4, "True") == 0) {
      out = true;
      pos += 4;
      return true;
    }
    if (text.compare(pos, 5, "False") == 0) {
      out = false;
      pos += 5;
      return true;
    }
    error = "malformed header: 'fortran_order' must be True or False";
    return false;
  }
  bool parseShape(std::vector<int64_t> &shape, std::string &error) {
    if (!expect('(', error))
      return false;
    shape.clear();
    while (true) {
      skipSpace();
      if (peek() == ')') {
        ++pos;
        return true;
      }
      size_t start = pos;
      int64_t value = 0;
      while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
        int digit = text[pos++] - '0';
        if (value > (std::numeric_limits<int64_t>::max() - digit) / 10) {
          error = "malformed header: a dimension of 'shape' is too large";
          return false;
        }
        value = value * 10 + digit;
      }
      if (pos == start) {
        error = "malformed header: 'shape' must be a tuple of non-negative integers";
        return false;
      }
      shape.push_back(value);
      skipSpace();
      if (peek() == ',')
        ++pos;
      else if (peek() != ')') {
        error = "malformed header: expected ',' or ')' in 'shape'";
        return false;
      }
    }
  }
};

bool readFile(const std::string &path, std::string &bytes, std::string &error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = "cannot open '" + path + "': " + std::strerror(errno);
    return false;
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) {
    error = "cannot read '" + path + "'";
    return false;
  }
  bytes = buffer.str();
  return true;
}

/// Reads the file and parses its header; `elementSize` is derived from the dtype by the caller.
bool readHeader(const std::string &path, const std::string &bytes, NpyHeader &header,
                std::string &error) {
  const std::string where = "'" + path + "' is not a readable .npy file: ";
  if (bytes.size() < kMagicSize + 4 || bytes.compare(0, kMagicSize, kMagic, kMagicSize) != 0) {
    error = where + "it does not start with the .npy magic string (save it with numpy.save)";
    return false;
  }
  unsigned major = static_cast<unsigned char>(bytes[6]);
  size_t headerLength = 0, lengthSize = 0;
  auto byteAt = [&](size_t i) { return static_cast<uint32_t>(static_cast<unsigned char>(bytes[i])); };
  if (major == 1) {
    lengthSize = 2;
    headerLength = byteAt(8) | byteAt(9) << 8;
  } else if (major == 2 || major == 3) {
    lengthSize = 4;
    if (bytes.size() < 12) {
      error = where + "the file is truncated inside its header";
      return false;
    }
    headerLength = byteAt(8) | byteAt(9) << 8 | byteAt(10) << 16 | byteAt(11) << 24;
  } else {
    error = where + "format version " + std::to_string(major) + " is not supported (1, 2 or 3 are)";
    return false;
  }
  if (headerLength > kMaxHeaderSize) {
    error = where + "its header claims " + std::to_string(headerLength) + " bytes";
    return false;
  }
  size_t start = 8 + lengthSize;
  if (bytes.size() < start + headerLength) {
    error = where + "the file is truncated inside its header";
    return false;
  }
  std::string dict = bytes.substr(start, headerLength);
  while (!dict.empty() && (dict.back() == '\n' || dict.back() == ' '))
    dict.pop_back();
  std::string parseError;
  if (!DictParser(dict).parse(header, parseError)) {
    error = where + parseError;
    return false;
  }
  if (header.fortranOrder) {
    error = "'" + path + "' holds a Fortran-order (column-major) array; Kiln reads C order only: "
            "save numpy.ascontiguousarray(a) instead";
    return false;
  }
  header.dataOffset = start + headerLength;
  return true;
}

/// Checks that the data section holds exactly count * elementSize bytes.
bool checkDataSize(const std::string &path, const std::string &bytes, const NpyHeader &header,
                   size_t elementSize, int64_t &count, std::string &error) {
  count = 1;
  for (int64_t d : header.shape) {
    if (d != 0 && count > std::numeric_limits<int64_t>::max() / 8 / d) {
      error = "'" + path + "' has shape " + shapeString(header.shape) + ", which is too large";
      return false;
    }
    count *= d;
  }
  size_t expected = static_cast<size_t>(count) * elementSize;
  size_t actual = bytes.size() - header.dataOffset;
  if (actual != expected) {
    error = "'" + path + "' is " + (actual < expected ? "truncated" : "longer than its header says") +
            ": shape " + shapeString(header.shape) + " of '" + header.descr + "' needs " +
            std::to_string(expected) + " data bytes, the file has " + std::to_string(actual);
    return false;
  }
  return true;
}

std::string dtypeHint(const std::string &descr) {
  return "it holds dtype '" + descr + "'";
}

} // namespace

bool readNpy(const std::string &path, HostTensor &tensor, std::string &error) {
  std::string bytes;
  NpyHeader header;
  if (!readFile(path, bytes, error) || !readHeader(path, bytes, header, error))
    return false;
  if (header.descr != "<f4") {
    error = "'" + path + "': " + dtypeHint(header.descr) + " but float32 ('<f4') is needed; save "
            "a.astype(numpy.float32) instead";
    return false;
  }
  int64_t count = 0;
  if (!checkDataSize(path, bytes, header, 4, count, error))
    return false;
  tensor.shape = header.shape;
  tensor.data.resize(static_cast<size_t>(count));
  if (count)
    std::memcpy(tensor.data.data(), bytes.data() + header.dataOffset, static_cast<size_t>(count) * 4);
  return true;
}

bool readNpyInt64(const std::string &path, std::vector<int64_t> &shape, std::vector<int64_t> &data,
                  std::string &error) {
  std::string bytes;
  NpyHeader header;
  if (!readFile(path, bytes, error) || !readHeader(path, bytes, header, error))
    return false;
  size_t elementSize = header.descr == "<i4" ? 4 : header.descr == "<i8" ? 8 : 0;
  if (elementSize == 0) {
    error = "'" + path + "': " + dtypeHint(header.descr) + " but int32 ('<i4') or int64 ('<i8') is "
            "needed; save a.astype(numpy.int64) instead";
    return false;
  }
  int64_t count = 0;
  if (!checkDataSize(path, bytes, header, elementSize, count, error))
    return false;
  shape = header.shape;
  data.resize(static_cast<size_t>(count));
  const char *p = bytes.data() + header.dataOffset;
  for (int64_t i = 0; i < count; ++i) {
    if (elementSize == 4) {
      int32_t v;
      std::memcpy(&v, p + i * 4, 4);
      data[i] = v;
    } else {
      std::memcpy(&data[i], p + i * 8, 8);
    }
  }
  return true;
}

bool writeNpy(const std::string &path, const HostTensor &tensor, std::string &error) {
  if (HostTensor::numElements(tensor.shape) != tensor.size()) {
    error = "cannot write '" + path + "': shape " + shapeString(tensor.shape) + " needs " +
            std::to_string(HostTensor::numElements(tensor.shape)) + " elements but the tensor has " +
            std::to_string(tensor.size());
    return false;
  }
  std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': " + shapeString(tensor.shape) + ", }";
  size_t total = kMagicSize + 4 + dict.size() + 1;
  dict.append((64 - total % 64) % 64, ' ');
  dict += '\n';
  if (dict.size() > 0xffff) {
    error = "cannot write '" + path + "': the shape has too many dimensions for an .npy header";
    return false;
  }
  std::string bytes(kMagic, kMagicSize);
  bytes += '\x01';
  bytes += '\x00';
  bytes += static_cast<char>(dict.size() & 0xff);
  bytes += static_cast<char>(dict.size() >> 8);
  bytes += dict;
  bytes.append(reinterpret_cast<const char *>(tensor.data.data()), tensor.data.size() * 4);

  std::string tmp = path + ".tmp.XXXXXX";
  std::vector<char> tmpName(tmp.begin(), tmp.end());
  tmpName.push_back('\0');
  int fd = ::mkstemp(tmpName.data());
  if (fd < 0) {
    error = "cannot write '" + path + "': cannot create a temporary file next to it: " + std::strerror(errno);
    return false;
  }
  size_t written = 0;
  while (written < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      error = "cannot write '" + path + "': " + std::strerror(errno);
      ::close(fd);
      ::unlink(tmpName.data());
      return false;
    }
    written += static_cast<size_t>(n);
  }
  ::fchmod(fd, 0644);
  if (::close(fd) != 0 || std::rename(tmpName.data(), path.c_str()) != 0) {
    error = "cannot write '" + path + "': " + std::strerror(errno);
    ::unlink(tmpName.data());
    return false;
  }
  return true;
}

} // namespace kiln
