// Tests that safetensors files round-trip and that every kind of corrupt file gives an error
// naming the file and the fault instead of crashing.
#include "compiler/weights/WeightStore.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>

using namespace kiln;

namespace {

std::string tempPath(const std::string &name) {
  return (std::filesystem::path(::testing::TempDir()) / ("kiln_st_" + name + ".safetensors")).string();
}

/// Writes a file: 8-byte little-endian `headerLength`, then `header`, then `data`.
std::string writeRaw(const std::string &name, const std::string &header, const std::string &data,
                     uint64_t headerLength) {
  std::string path = tempPath(name);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  for (int i = 0; i < 8; ++i)
    out.put(static_cast<char>((headerLength >> (8 * i)) & 0xff));
  out << header << data;
  return path;
}

std::string writeRaw(const std::string &name, const std::string &header, const std::string &data) {
  return writeRaw(name, header, data, header.size());
}

std::string floats(std::initializer_list<float> values) {
  std::string bytes;
  for (float f : values) {
    char b[4];
    std::memcpy(b, &f, 4); // the test machine is little-endian, like the format
    bytes.append(b, 4);
  }
  return bytes;
}

/// Expects reading `path` to fail with a message containing the path and `fragment`.
void expectReadError(const std::string &path, const std::string &fragment) {
  WeightStore store;
  std::string error;
  EXPECT_TRUE(mlir::failed(readSafetensors(path, store, error))) << path;
  EXPECT_NE(error.find(path), std::string::npos) << error;
  EXPECT_NE(error.find(fragment), std::string::npos) << "expected '" << fragment << "' in: " << error;
}

TEST(Safetensors, RoundTripKeepsNamesShapesAndBits) {
  WeightStore store;
  store["conv1.weight"] = HostTensor({2, 1, 1, 3});
  store["conv1.weight"].data = {1.5f, -0.0f, std::numeric_limits<float>::infinity(), 1e-42f, -3.25f, 7.0f};
  store["fc.bias"] = HostTensor({3});
  store["fc.bias"].data = {0.1f, 0.2f, 0.3f};
  store["empty"] = HostTensor({0, 4});
  store["scalar"] = HostTensor(std::vector<int64_t>{});
  store["scalar"].data = {42.0f};

  std::string path = tempPath("roundtrip"), error;
  ASSERT_TRUE(mlir::succeeded(writeSafetensors(path, store, error))) << error;
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  WeightStore back;
  ASSERT_TRUE(mlir::succeeded(readSafetensors(path, back, error))) << error;
  ASSERT_EQ(back.size(), store.size());
  for (const auto &[name, tensor] : store) {
    ASSERT_TRUE(back.count(name)) << name;
    EXPECT_EQ(back[name].shape, tensor.shape) << name;
    ASSERT_EQ(back[name].data.size(), tensor.data.size()) << name;
    EXPECT_EQ(0, std::memcmp(back[name].data.data(), tensor.data.data(), tensor.data.size() * 4)) << name;
  }
}

TEST(Safetensors, WrittenHeaderIsAlignedAndOverwritesAtomically) {
  WeightStore store;
  store["a"] = HostTensor({1});
  store["a"].data = {2.0f};
  std::string path = tempPath("aligned"), error;
  ASSERT_TRUE(mlir::succeeded(writeSafetensors(path, store, error))) << error;
  store["a"].data = {3.0f};
  ASSERT_TRUE(mlir::succeeded(writeSafetensors(path, store, error))) << error; // replaces the old file
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  uint64_t headerLength = 0;
  for (int i = 7; i >= 0; --i)
    headerLength = (headerLength << 8) | static_cast<unsigned char>(bytes[i]);
  EXPECT_EQ(headerLength % 8, 0u);
  EXPECT_EQ(bytes.size(), 8 + headerLength + 4);
  EXPECT_EQ(bytes.substr(8 + headerLength), floats({3.0f}));
}

TEST(Safetensors, ReadsHandWrittenFileWithMetadata) {
  std::string header = R"({"__metadata__":{"format":"pt"},)"
                       R"("b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]},)"
                       R"("a":{"dtype":"F32","shape":[1,2],"data_offsets":[0,8]}})";
  std::string path = writeRaw("handwritten", header, floats({1, 2, 3, 4}));
  WeightStore store;
  std::string error;
  ASSERT_TRUE(mlir::succeeded(readSafetensors(path, store, error))) << error;
  ASSERT_EQ(store.size(), 2u);
  EXPECT_EQ(store["a"].shape, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(store["a"].data, (std::vector<float>{1, 2}));
  EXPECT_EQ(store["b"].data, (std::vector<float>{3, 4}));
}

TEST(Safetensors, MissingFile) { expectReadError(tempPath("does_not_exist"), "not a regular file"); }

TEST(Safetensors, ShorterThanHeaderLength) {
  std::string path = tempPath("tiny");
  std::ofstream(path, std::ios::binary) << "abc";
  expectReadError(path, "truncated");
}

TEST(Safetensors, HeaderLengthBeyondFile) {
  expectReadError(writeRaw("hdr_big", "{}", "", 1000), "header length 1000");
  expectReadError(writeRaw("hdr_huge", "{}", "", ~uint64_t(0)), "header length");
}

TEST(Safetensors, TruncatedData) {
  std::string header = R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})";
  expectReadError(writeRaw("trunc_data", header, floats({1, 2})), "outside the data section");
}

TEST(Safetensors, BadJson) {
  expectReadError(writeRaw("bad_json", "{\"a\": [1, 2", ""), "not valid JSON");
  expectReadError(writeRaw("not_object", "[1, 2]", ""), "not a JSON object");
  expectReadError(writeRaw("entry_not_object", R"({"a": 3})", ""), "tensor 'a'");
}

TEST(Safetensors, MalformedEntries) {
  std::string data = floats({1, 2});
  expectReadError(writeRaw("no_dtype", R"({"a":{"shape":[2],"data_offsets":[0,8]}})", data), "dtype");
  expectReadError(writeRaw("shape_str", R"({"a":{"dtype":"F32","shape":"2","data_offsets":[0,8]}})", data),
                  "shape");
  expectReadError(writeRaw("neg_dim", R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", data),
                  "non-negative");
  expectReadError(writeRaw("float_dim", R"({"a":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}})", data),
                  "non-negative");
  expectReadError(writeRaw("one_offset", R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0]}})", data),
                  "data_offsets");
  expectReadError(writeRaw("neg_offset", R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[-8,0]}})", data),
                  "data_offsets");
}

TEST(Safetensors, OffsetsOutOfRange) {
  std::string data = floats({1, 2});
  expectReadError(writeRaw("off_end", R"({"a":{"dtype":"F32","shape":[25],"data_offsets":[0,100]}})", data),
                  "outside the data section of 8 bytes");
  expectReadError(writeRaw("off_rev", R"({"a":{"dtype":"F32","shape":[0],"data_offsets":[8,4]}})", data),
                  "outside the data section");
  expectReadError(
      writeRaw("off_huge",
               R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[18446744073709551612,18446744073709551615]}})",
               data),
      "outside the data section");
}

TEST(Safetensors, WrongDtypeNamesTensorAndDtype) {
  std::string header = R"({"w":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}})";
  expectReadError(writeRaw("f16", header, floats({1})), "tensor 'w': dtype F16 is not supported");
}

TEST(Safetensors, ShapeDisagreesWithOffsets) {
  std::string data = floats({1, 2, 3});
  expectReadError(writeRaw("mismatch", R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", data),
                  "shape [3] needs 12 bytes but data_offsets span 8");
  // Dimensions whose product overflows 64 bits must not wrap around to a small size.
  expectReadError(
      writeRaw("overflow", R"({"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]}})", data),
      "more bytes than the file holds");
}

TEST(Safetensors, WriteErrors) {
  WeightStore store;
  store["bad"] = HostTensor({3});
  store["bad"].data.pop_back();
  std::string error;
  EXPECT_TRUE(mlir::failed(writeSafetensors(tempPath("bad_write"), store, error)));
  EXPECT_NE(error.find("'bad'"), std::string::npos) << error;

  store["bad"] = HostTensor({3});
  std::string path = tempPath("no_such_dir") + "/x.safetensors";
  EXPECT_TRUE(mlir::failed(writeSafetensors(path, store, error)));
  EXPECT_NE(error.find("cannot write"), std::string::npos) << error;
}

} // namespace
