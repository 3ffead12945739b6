// Tests of .npy reading/writing and of the --input/--output bindings built on it.
#include "EmitTestUtil.h"

#include "compiler/runner/LoadedModel.h"
#include "compiler/support/Npy.h"

#include <cstring>
#include <fstream>

namespace kiln::test {
namespace {

/// An .npy file with the given header dict (padded like numpy) and raw data bytes.
std::string npyBytes(const std::string &dict, const std::string &data, int version = 1) {
  std::string header = dict;
  size_t prefix = version == 1 ? 10 : 12;
  header.append((64 - (prefix + header.size() + 1) % 64) % 64, ' ');
  header += '\n';
  std::string bytes = std::string("\x93NUMPY", 6) + char(version) + '\0';
  uint32_t len = static_cast<uint32_t>(header.size());
  for (size_t i = 0; i < (version == 1 ? 2u : 4u); ++i)
    bytes += char((len >> (8 * i)) & 0xff);
  return bytes + header + data;
}

template <typename T> std::string raw(const std::vector<T> &values) {
  return std::string(reinterpret_cast<const char *>(values.data()), values.size() * sizeof(T));
}

std::string writeFile(const std::string &name, const std::string &bytes) {
  fs::path path = scratchDir() / name;
  std::ofstream(path, std::ios::binary) << bytes;
  return path.string();
}

TEST(Npy, RoundTrip) {
  HostTensor t({2, 3});
  for (int i = 0; i < 6; ++i)
    t.data[i] = i * 0.5f - 1;
  std::string path = (scratchDir() / "round.npy").string(), error;
  ASSERT_TRUE(writeNpy(path, t, error)) << error;
  HostTensor back;
  ASSERT_TRUE(readNpy(path, back, error)) << error;
  EXPECT_EQ(back.shape, t.shape);
  EXPECT_EQ(back.data, t.data);
  EXPECT_EQ(fs::file_size(path) % 64, (6 * 4) % 64) << "header padded to 64 bytes like numpy";

  HostTensor scalar(std::vector<int64_t>{});
  scalar.data = {42};
  ASSERT_TRUE(writeNpy(path, scalar, error)) << error;
  ASSERT_TRUE(readNpy(path, back, error)) << error;
  EXPECT_TRUE(back.shape.empty());
  EXPECT_EQ(back.data, std::vector<float>{42});
  for (const auto &entry : fs::directory_iterator(scratchDir()))
    EXPECT_EQ(entry.path().filename().string().find(".tmp."), std::string::npos) << "temporary file left behind";
}

TEST(Npy, ReadsVersions2And3) {
  std::string error;
  HostTensor t;
  for (int version : {2, 3}) {
    std::string path = writeFile("v" + std::to_string(version) + ".npy",
                                 npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }",
                                          raw(std::vector<float>{1, 2, 3}), version));
    ASSERT_TRUE(readNpy(path, t, error)) << error;
    EXPECT_EQ(t.shape, std::vector<int64_t>{3});
    EXPECT_EQ(t.data, (std::vector<float>{1, 2, 3}));
  }
}

TEST(Npy, ReadsIntegerLabels) {
  std::string error;
  std::vector<int64_t> shape, data;
  std::string i32 = writeFile("labels32.npy", npyBytes("{'descr': '<i4', 'fortran_order': False, 'shape': (3,), }",
                                                       raw(std::vector<int32_t>{7, -1, 3})));
  ASSERT_TRUE(readNpyInt64(i32, shape, data, error)) << error;
  EXPECT_EQ(data, (std::vector<int64_t>{7, -1, 3}));
  std::string i64 = writeFile("labels64.npy", npyBytes("{'descr': '<i8', 'fortran_order': False, 'shape': (1, 2), }",
                                                       raw(std::vector<int64_t>{1LL << 40, 5})));
  ASSERT_TRUE(readNpyInt64(i64, shape, data, error)) << error;
  EXPECT_EQ(shape, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(data, (std::vector<int64_t>{1LL << 40, 5}));
  std::string f32 = writeFile("floats.npy", npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }",
                                                     raw(std::vector<float>{1})));
  EXPECT_FALSE(readNpyInt64(f32, shape, data, error));
  EXPECT_NE(error.find("int32 ('<i4') or int64 ('<i8')"), std::string::npos) << error;
}

TEST(Npy, ErrorsSayWhatIsWrongAndHowToFixIt) {
  std::string error;
  HostTensor t;
  std::string f64 = writeFile("f64.npy", npyBytes("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }",
                                                  raw(std::vector<double>{1, 2})));
  EXPECT_FALSE(readNpy(f64, t, error));
  EXPECT_NE(error.find("'<f8'"), std::string::npos) << error;
  EXPECT_NE(error.find("astype(numpy.float32)"), std::string::npos) << error;
  EXPECT_NE(error.find("f64.npy"), std::string::npos) << error;

  std::string truncated = writeFile("short.npy", npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }",
                                                          raw(std::vector<float>{1, 2})));
  EXPECT_FALSE(readNpy(truncated, t, error));
  EXPECT_NE(error.find("truncated"), std::string::npos) << error;
  EXPECT_NE(error.find("needs 16 data bytes, the file has 8"), std::string::npos) << error;

  std::string fortran = writeFile("fortran.npy", npyBytes("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }",
                                                          raw(std::vector<float>{1, 2, 3, 4})));
  EXPECT_FALSE(readNpy(fortran, t, error));
  EXPECT_NE(error.find("Fortran-order"), std::string::npos) << error;
  EXPECT_NE(error.find("ascontiguousarray"), std::string::npos) << error;

  std::string bigEndian = writeFile("be.npy", npyBytes("{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }",
                                                       raw(std::vector<float>{1})));
  EXPECT_FALSE(readNpy(bigEndian, t, error));
  EXPECT_NE(error.find("'>f4'"), std::string::npos) << error;

  EXPECT_FALSE(readNpy(writeFile("text.npy", "hello, world"), t, error));
  EXPECT_NE(error.find("magic"), std::string::npos) << error;
  EXPECT_FALSE(readNpy(writeFile("cut.npy", npyBytes("{'descr': '<f4'", "").substr(0, 20)), t, error));
  EXPECT_NE(error.find("truncated inside its header"), std::string::npos) << error;
  EXPECT_FALSE(readNpy(writeFile("bad.npy", npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (a,), }", "")),
                       t, error));
  EXPECT_NE(error.find("malformed header"), std::string::npos) << error;
  EXPECT_FALSE(readNpy((scratchDir() / "missing.npy").string(), t, error));
  EXPECT_NE(error.find("cannot open"), std::string::npos) << error;
}

std::string saveTensor(const std::string &name, std::vector<int64_t> shape, float value) {
  HostTensor t(std::move(shape));
  std::fill(t.data.begin(), t.data.end(), value);
  std::string path = (scratchDir() / name).string(), error;
  EXPECT_TRUE(writeNpy(path, t, error)) << error;
  return path;
}

TEST(Bindings, NamedAndUnnamedInputs) {
  std::vector<TensorSpec> specs = {{"a", {2}}, {"b", {3}}};
  std::string a = saveTensor("a.npy", {2}, 1), b = saveTensor("b.npy", {3}, 2), error;
  std::vector<HostTensor> in;
  ASSERT_TRUE(loadInputs({"b=" + b, "a=" + a}, specs, in, error)) << error;
  EXPECT_EQ(in[0].data, (std::vector<float>{1, 1}));
  EXPECT_EQ(in[1].data, (std::vector<float>{2, 2, 2}));
  ASSERT_TRUE(loadInputs({a, b}, specs, in, error)) << error; // model order
  EXPECT_EQ(in[1].shape, std::vector<int64_t>{3});
  ASSERT_TRUE(loadInputs({"b=" + b, a}, specs, in, error)) << error; // the one left over
  EXPECT_EQ(in[0].shape, std::vector<int64_t>{2});
}

TEST(Bindings, InputErrorsNameTensorFileAndShapes) {
  std::vector<TensorSpec> specs = {{"a", {2}}, {"b", {3}}};
  std::string a = saveTensor("a.npy", {2}, 1), wrong = saveTensor("wrong.npy", {1, 3}, 0), error;
  std::vector<HostTensor> in;
  EXPECT_FALSE(loadInputs({"a=" + a, "b=" + wrong}, specs, in, error));
  EXPECT_NE(error.find("input 'b'"), std::string::npos) << error;
  EXPECT_NE(error.find("wrong.npy"), std::string::npos) << error;
  EXPECT_NE(error.find("[1, 3] but the model expects [3]"), std::string::npos) << error;
  EXPECT_NE(error.find("reshape"), std::string::npos) << error;

  EXPECT_FALSE(loadInputs({"c=" + a}, specs, in, error));
  EXPECT_NE(error.find("no input named 'c'"), std::string::npos) << error;
  EXPECT_NE(error.find("'a', 'b'"), std::string::npos) << error;
  EXPECT_FALSE(loadInputs({a}, specs, in, error));
  EXPECT_NE(error.find("name them"), std::string::npos) << error;
  EXPECT_FALSE(loadInputs({"a=" + a, "a=" + a}, specs, in, error));
  EXPECT_NE(error.find("bound twice"), std::string::npos) << error;
  EXPECT_FALSE(loadInputs({"a=" + a}, specs, in, error));
  EXPECT_NE(error.find("input 'b' has no file"), std::string::npos) << error;
}

TEST(Bindings, WriteOutputs) {
  std::vector<TensorSpec> specs = {{"sum", {2}}, {"diff", {2}}};
  HostTensor s({2}), d({2});
  s.data = {1, 2};
  d.data = {3, 4};
  std::string path = (scratchDir() / "diff_out.npy").string(), error;
  ASSERT_TRUE(writeOutputs({"diff=" + path}, specs, {s, d}, error)) << error;
  HostTensor back;
  ASSERT_TRUE(readNpy(path, back, error)) << error;
  EXPECT_EQ(back.data, (std::vector<float>{3, 4}));
  EXPECT_FALSE(writeOutputs({path}, specs, {s, d}, error)) << "one unnamed file for two outputs is ambiguous";
}

} // namespace
} // namespace kiln::test
