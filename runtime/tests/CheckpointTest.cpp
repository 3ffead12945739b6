// Tests of safetensors checkpoints (kiln/checkpoint.h): round trip, the file layout, every
// mismatch message, atomic writes (no .tmp left, the old file kept) and damaged files.
#include "kiln/runtime.h"
#include "kiln/glue.h"
#include "kiln/checkpoint.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;

fs::path scratch() {
  static fs::path dir = [] {
    std::string pattern = (fs::temp_directory_path() / "kiln-checkpoint-test-XXXXXX").string();
    return fs::path(::mkdtemp(pattern.data()));
  }();
  return dir;
}

std::string readBytes(const fs::path &path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void writeBytes(const fs::path &path, const std::string &bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

/// A safetensors file with `header` (JSON text) and `data` bytes.
std::string safetensors(const std::string &header, const std::string &data) {
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i)
    bytes[i] = static_cast<char>((uint64_t(header.size()) >> (8 * i)) & 0xff);
  return bytes + header + data;
}

/// Two tensors of a small model: "c1.weight" [2, 3] and "c1.bias" [2].
struct SmallModel {
  kiln_tensor_info weightInfo = {"c1.weight", 2, {2, 3}};
  kiln_tensor_info biasInfo = {"c1.bias", 1, {2}};
  std::vector<float> weight = {1.5f, -2.0f, 3.25f, 0.0f, 1e-7f, -1e30f};
  std::vector<float> bias = {0.5f, -0.5f};
  std::vector<kiln_checkpoint_tensor> tensors() {
    return {{&weightInfo, weight.data()}, {&biasInfo, bias.data()}};
  }
};

kiln_checkpoint_metadata entry(const char *key, const char *value = "", const char *expected = nullptr) {
  kiln_checkpoint_metadata m = {};
  m.key = key;
  std::snprintf(m.value, sizeof m.value, "%s", value);
  m.expected = expected;
  return m;
}

TEST(Checkpoint, RoundTripKeepsTensorsAndMetadata) {
  fs::path path = scratch() / "round.safetensors";
  SmallModel model;
  kiln_checkpoint_metadata written[] = {entry("kiln.step", "42"), entry("kiln.optimizer", "adam")};
  kiln_message m = {};
  auto tensors = model.tensors();
  ASSERT_EQ(kiln_checkpoint_write(path.c_str(), tensors.data(), 2, written, 2, &m), KILN_OK) << m.text;
  EXPECT_FALSE(fs::exists(path.string() + ".tmp"));

  SmallModel loaded;
  std::fill(loaded.weight.begin(), loaded.weight.end(), 0.0f);
  std::fill(loaded.bias.begin(), loaded.bias.end(), 0.0f);
  kiln_checkpoint_metadata read[] = {entry("kiln.optimizer", "", "adam"), entry("kiln.missing"),
                                     entry("kiln.step")};
  auto into = loaded.tensors();
  ASSERT_EQ(kiln_checkpoint_read(path.c_str(), into.data(), 2, read, 3, &m), KILN_OK) << m.text;
  EXPECT_EQ(loaded.weight, model.weight);
  EXPECT_EQ(loaded.bias, model.bias);
  EXPECT_STREQ(read[0].value, "adam");
  EXPECT_EQ(read[0].found, 1);
  EXPECT_EQ(read[1].found, 0);
  EXPECT_STREQ(read[1].value, "");
  EXPECT_STREQ(read[2].value, "42");
}

TEST(Checkpoint, FileIsSafetensorsWithAPaddedHeader) {
  fs::path path = scratch() / "layout.safetensors";
  SmallModel model;
  kiln_checkpoint_metadata written[] = {entry("kiln.lr", "0.01")};
  kiln_message m = {};
  auto tensors = model.tensors();
  ASSERT_EQ(kiln_checkpoint_write(path.c_str(), tensors.data(), 2, written, 1, &m), KILN_OK) << m.text;
  std::string bytes = readBytes(path);
  uint64_t length = 0;
  for (int i = 7; i >= 0; --i)
    length = length << 8 | static_cast<unsigned char>(bytes[i]);
  ASSERT_EQ(length % 8, 0u);
  ASSERT_EQ(bytes.size(), 8 + length + 8 * 4);
  std::string header = bytes.substr(8, length);
  EXPECT_EQ(header.rfind("{\"c1.weight\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
                         "\"c1.bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[24,32]},"
                         "\"__metadata__\":{\"kiln.lr\":\"0.01\"}}",
                         0),
            0u)
      << header;
  float first;
  std::memcpy(&first, bytes.data() + 8 + length, 4);
  EXPECT_EQ(first, 1.5f);
}

TEST(Checkpoint, ReadsOtherWritersSpellings) {
  // Keys in another order, spaces, escapes, metadata the model does not ask for.
  fs::path path = scratch() / "foreign.safetensors";
  float values[2] = {7.0f, 8.0f};
  std::string data(reinterpret_cast<const char *>(values), sizeof values);
  writeBytes(path, safetensors("{ \"__metadata__\" : {\"format\": \"pt\", \"kiln.step\": \"3\"},\n"
                               "  \"b\\u0069as\\\"\\\\\" : { \"data_offsets\" : [0, 8], \"shape\": [2], "
                               "\"dtype\": \"F32\" } }   ",
                               data));
  kiln_tensor_info info = {"bias\"\\", 1, {2}};
  float out[2] = {};
  kiln_checkpoint_tensor tensor = {&info, out};
  kiln_checkpoint_metadata read[] = {entry("kiln.step")};
  kiln_message m = {};
  ASSERT_EQ(kiln_checkpoint_read(path.c_str(), &tensor, 1, read, 1, &m), KILN_OK) << m.text;
  EXPECT_EQ(out[0], 7.0f);
  EXPECT_EQ(out[1], 8.0f);
  EXPECT_STREQ(read[0].value, "3");
}

TEST(Checkpoint, OddNamesRoundTrip) {
  fs::path path = scratch() / "odd.safetensors";
  kiln_tensor_info info = {"a\"b\\c\nd\x01", 0, {}};
  float value = 4.0f, out = 0.0f;
  kiln_checkpoint_tensor tensor = {&info, &value}, into = {&info, &out};
  kiln_message m = {};
  ASSERT_EQ(kiln_checkpoint_write(path.c_str(), &tensor, 1, nullptr, 0, &m), KILN_OK) << m.text;
  ASSERT_EQ(kiln_checkpoint_read(path.c_str(), &into, 1, nullptr, 0, &m), KILN_OK) << m.text;
  EXPECT_EQ(out, 4.0f);
}

class CheckpointMismatch : public ::testing::Test {
protected:
  void SetUp() override {
    auto tensors = saved.tensors();
    kiln_checkpoint_metadata written[] = {entry("kiln.optimizer", "adam")};
    ASSERT_EQ(kiln_checkpoint_write(path.c_str(), tensors.data(), 2, written, 1, &m), KILN_OK) << m.text;
  }
  fs::path path = scratch() / "saved.safetensors";
  SmallModel saved;
  kiln_message m = {};
};

TEST_F(CheckpointMismatch, WrongShapeNamesTheTensorAndBothShapes) {
  SmallModel other;
  other.weightInfo = {"c1.weight", 4, {2, 1, 5, 5}};
  other.weight.resize(50);
  auto tensors = other.tensors();
  EXPECT_EQ(kiln_checkpoint_read(path.c_str(), tensors.data(), 2, nullptr, 0, &m), KILN_ERROR_SHAPE_MISMATCH);
  EXPECT_EQ(std::string(m.text), "checkpoint '" + path.string() +
                                     "': tensor 'c1.weight' has shape [2, 3], the model expects [2, 1, 5, 5]");
  EXPECT_EQ(other.bias, std::vector<float>({0.5f, -0.5f})) << "nothing is written before everything is checked";
}

TEST_F(CheckpointMismatch, MissingTensorIsNamed) {
  SmallModel other;
  kiln_tensor_info extraInfo = {"c2.bias", 1, {3}};
  std::vector<float> extra(3);
  auto tensors = other.tensors();
  tensors.push_back({&extraInfo, extra.data()});
  EXPECT_EQ(kiln_checkpoint_read(path.c_str(), tensors.data(), 3, nullptr, 0, &m), KILN_ERROR_SHAPE_MISMATCH);
  EXPECT_NE(std::string(m.text).find("lacks tensor 'c2.bias' (shape [3])"), std::string::npos) << m.text;
}

TEST_F(CheckpointMismatch, UnexpectedTensorIsNamed) {
  SmallModel other;
  auto tensors = other.tensors();
  EXPECT_EQ(kiln_checkpoint_read(path.c_str(), tensors.data(), 1, nullptr, 0, &m), KILN_ERROR_SHAPE_MISMATCH);
  EXPECT_NE(std::string(m.text).find("tensor 'c1.bias' is not one of this model's 1 tensors"), std::string::npos)
      << m.text;
}

TEST_F(CheckpointMismatch, DifferentMetadataIsRejected) {
  SmallModel other;
  auto tensors = other.tensors();
  kiln_checkpoint_metadata read[] = {entry("kiln.optimizer", "", "sgd")};
  EXPECT_EQ(kiln_checkpoint_read(path.c_str(), tensors.data(), 2, read, 1, &m), KILN_ERROR_SHAPE_MISMATCH);
  EXPECT_NE(std::string(m.text).find("has kiln.optimizer \"adam\", this model needs \"sgd\""), std::string::npos)
      << m.text;
}

TEST(Checkpoint, WrongDtypeIsNamed) {
  fs::path path = scratch() / "f16.safetensors";
  writeBytes(path, safetensors("{\"w\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]}}", "abcd"));
  kiln_tensor_info info = {"w", 1, {2}};
  float out[2];
  kiln_checkpoint_tensor tensor = {&info, out};
  kiln_message m = {};
  EXPECT_EQ(kiln_checkpoint_read(path.c_str(), &tensor, 1, nullptr, 0, &m), KILN_ERROR_SHAPE_MISMATCH);
  EXPECT_NE(std::string(m.text).find("tensor 'w' has dtype F16, the model expects F32"), std::string::npos) << m.text;
}

TEST(Checkpoint, TruncatedFilesAreReportedAtEveryLength) {
  fs::path path = scratch() / "whole.safetensors", cut = scratch() / "cut.safetensors";
  SmallModel model;
  kiln_message m = {};
  auto tensors = model.tensors();
  ASSERT_EQ(kiln_checkpoint_write(path.c_str(), tensors.data(), 2, nullptr, 0, &m), KILN_OK) << m.text;
  std::string bytes = readBytes(path);
  for (size_t length = 0; length < bytes.size(); ++length) {
    writeBytes(cut, bytes.substr(0, length));
    EXPECT_EQ(kiln_checkpoint_read(cut.c_str(), tensors.data(), 2, nullptr, 0, &m), KILN_ERROR_IO) << length;
    EXPECT_NE(std::string(m.text).find("truncated"), std::string::npos) << length << ": " << m.text;
  }
}

TEST(Checkpoint, MalformedHeadersAreNotSafetensors) {
  fs::path path = scratch() / "bad.safetensors";
  kiln_tensor_info info = {"w", 1, {1}};
  float out[1];
  kiln_checkpoint_tensor tensor = {&info, out};
  kiln_message m = {};
  for (const char *header : {"{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},}",
                             "{\"w\":{\"dtype\":\"F32\",\"shape\":[1.0],\"data_offsets\":[0,4]}}",
                             "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"x\":1}}",
                             "{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}", "{\"w\":{}} x", "[1]", "{\"w\\q\":1}"}) {
    writeBytes(path, safetensors(header, "abcd"));
    EXPECT_EQ(kiln_checkpoint_read(path.c_str(), &tensor, 1, nullptr, 0, &m), KILN_ERROR_IO) << header;
    EXPECT_NE(std::string(m.text).find("is not a safetensors file"), std::string::npos) << header << ": " << m.text;
  }
  writeBytes(path, std::string("\xff\xff\xff\xff\xff\xff\xff\xff{}", 10));
  EXPECT_EQ(kiln_checkpoint_read(path.c_str(), &tensor, 1, nullptr, 0, &m), KILN_ERROR_IO);
  EXPECT_NE(std::string(m.text).find("header length"), std::string::npos) << m.text;
  EXPECT_EQ(kiln_checkpoint_read((scratch() / "none").c_str(), &tensor, 1, nullptr, 0, &m), KILN_ERROR_IO);
  EXPECT_NE(std::string(m.text).find("cannot open checkpoint"), std::string::npos) << m.text;
}

TEST(Checkpoint, FailedWriteRemovesTheTmpFileAndKeepsTheOldOne) {
  SmallModel model;
  kiln_message m = {};
  auto tensors = model.tensors();
  // The target is a directory: the .tmp is written, the rename fails.
  fs::path dir = scratch() / "is-a-directory";
  fs::create_directories(dir / "inside");
  EXPECT_EQ(kiln_checkpoint_write(dir.c_str(), tensors.data(), 2, nullptr, 0, &m), KILN_ERROR_IO);
  EXPECT_NE(std::string(m.text).find("cannot write checkpoint '" + dir.string() + "'"), std::string::npos) << m.text;
  EXPECT_FALSE(fs::exists(dir.string() + ".tmp"));
  EXPECT_TRUE(fs::is_directory(dir / "inside"));
  // A missing directory.
  fs::path missing = scratch() / "no-such-dir" / "x.safetensors";
  EXPECT_EQ(kiln_checkpoint_write(missing.c_str(), tensors.data(), 2, nullptr, 0, &m), KILN_ERROR_IO);
  EXPECT_NE(std::string(m.text).find("x.safetensors.tmp"), std::string::npos) << m.text;
  // A failed write of an existing checkpoint leaves it as it was.
  fs::path path = scratch() / "kept.safetensors";
  ASSERT_EQ(kiln_checkpoint_write(path.c_str(), tensors.data(), 2, nullptr, 0, &m), KILN_OK) << m.text;
  std::string before = readBytes(path);
  auto duplicate = tensors;
  duplicate[1].info = duplicate[0].info;
  EXPECT_EQ(kiln_checkpoint_write(path.c_str(), duplicate.data(), 2, nullptr, 0, &m), KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(m.text).find("'c1.weight' is used twice"), std::string::npos) << m.text;
  EXPECT_EQ(readBytes(path), before);
  EXPECT_FALSE(fs::exists(path.string() + ".tmp"));
}

TEST(Checkpoint, NullArgumentsAreRejected) {
  kiln_message m = {};
  EXPECT_EQ(kiln_checkpoint_write(nullptr, nullptr, 0, nullptr, 0, &m), KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(kiln_checkpoint_read("x", nullptr, 1, nullptr, 0, &m), KILN_ERROR_INVALID_ARGUMENT);
  kiln_tensor_info info = {"w", 1, {1}};
  kiln_checkpoint_tensor noData = {&info, nullptr};
  EXPECT_EQ(kiln_checkpoint_write("x", &noData, 1, nullptr, 0, nullptr), KILN_ERROR_INVALID_ARGUMENT);
}

} // namespace
