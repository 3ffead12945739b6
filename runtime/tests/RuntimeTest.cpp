// Tests of the runtime library: status names, tensor element counts, message buffers, threads.
#include "kiln/glue.h"
#include "kiln/runtime.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

extern "C" int kiln_test_header_is_c(void);

namespace {

TEST(Status, EveryCodeHasAName) {
  EXPECT_STREQ(kiln_status_string(KILN_OK), "ok");
  EXPECT_STREQ(kiln_status_string(KILN_ERROR_INVALID_ARGUMENT), "invalid argument");
  EXPECT_STREQ(kiln_status_string(KILN_ERROR_SHAPE_MISMATCH), "shape mismatch");
  EXPECT_STREQ(kiln_status_string(KILN_ERROR_OUT_OF_MEMORY), "out of memory");
  EXPECT_STREQ(kiln_status_string(KILN_ERROR_BACKEND), "backend error");
  EXPECT_STREQ(kiln_status_string(KILN_ERROR_IO), "i/o error");
  EXPECT_STREQ(kiln_status_string(KILN_ERROR_UNSUPPORTED), "unsupported");
  EXPECT_STREQ(kiln_status_string(static_cast<kiln_status>(99)), "unknown kiln_status");
}

TEST(TensorInfo, ElementCount) {
  kiln_tensor_info info = {"x", 4, {1, 3, 32, 32}};
  EXPECT_EQ(kiln_tensor_info_element_count(&info), 3 * 32 * 32);
  kiln_tensor_info scalar = {"s", 0, {}};
  EXPECT_EQ(kiln_tensor_info_element_count(&scalar), 1);
  kiln_tensor_info bad = {"b", KILN_MAX_RANK + 1, {}};
  EXPECT_EQ(kiln_tensor_info_element_count(&bad), -1);
  EXPECT_EQ(kiln_tensor_info_element_count(nullptr), -1);
  EXPECT_EQ(kiln_test_header_is_c(), 12);
}

TEST(Message, FailFormatsAndReturnsStatus) {
  kiln_message m = {};
  EXPECT_EQ(kiln_message_fail(&m, KILN_ERROR_IO, "cannot open '%s'", "a.npy"), KILN_ERROR_IO);
  EXPECT_STREQ(m.text, "cannot open 'a.npy'");
  kiln_message_clear(&m);
  EXPECT_STREQ(m.text, "");
  EXPECT_EQ(kiln_message_fail(nullptr, KILN_ERROR_BACKEND, "x"), KILN_ERROR_BACKEND);
  kiln_message_clear(nullptr);
}

TEST(Message, AppendJoinsAndStripsNewlines) {
  kiln_message m = {};
  kiln_message_append(&m, "Error: first\n");
  kiln_message_append(&m, "second\r\n");
  kiln_message_append(&m, "\n");
  kiln_message_append(&m, nullptr);
  kiln_message_append(nullptr, "ignored");
  EXPECT_STREQ(m.text, "Error: first; second");
}

TEST(Message, LongTextIsCutWithEllipsis) {
  kiln_message m = {};
  std::string big(3 * KILN_MESSAGE_CAPACITY, 'a');
  kiln_message_fail(&m, KILN_ERROR_IO, "%s", big.c_str());
  EXPECT_EQ(std::string(m.text).size(), size_t(KILN_MESSAGE_CAPACITY - 1));
  EXPECT_EQ(std::string(m.text).substr(KILN_MESSAGE_CAPACITY - 4), "...");

  kiln_message n = {};
  kiln_message_append(&n, "start");
  kiln_message_append(&n, big.c_str());
  EXPECT_EQ(std::string(n.text).size(), size_t(KILN_MESSAGE_CAPACITY - 1));
  EXPECT_EQ(std::string(n.text).substr(0, 7), "start; ");
  EXPECT_EQ(std::string(n.text).substr(KILN_MESSAGE_CAPACITY - 4), "...");
  kiln_message_append(&n, "more"); // full: stays cut, no overflow
  EXPECT_EQ(std::string(n.text).size(), size_t(KILN_MESSAGE_CAPACITY - 1));
}

TEST(Threads, CheckBounds) {
  kiln_message m = {};
  EXPECT_EQ(kiln_threads_check(0, &m), KILN_OK);
  EXPECT_EQ(kiln_threads_check(KILN_MAX_THREADS, &m), KILN_OK);
  EXPECT_EQ(kiln_threads_check(-1, &m), KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(m.text).find("-1"), std::string::npos) << m.text;
  EXPECT_EQ(kiln_threads_check(KILN_MAX_THREADS + 1, nullptr), KILN_ERROR_INVALID_ARGUMENT);
}

TEST(Threads, DefaultFollowsEnvironment) {
  ::setenv("KILN_NUM_THREADS", "3", 1);
  EXPECT_EQ(kiln_threads_default(), 3);
  EXPECT_EQ(kiln_threads_resolve(0), 3);
  EXPECT_EQ(kiln_threads_resolve(5), 5);
  ::setenv("KILN_NUM_THREADS", "banana", 1);
  int cpus = kiln_threads_default();
  EXPECT_GE(cpus, 1);
  EXPECT_LE(cpus, KILN_MAX_THREADS);
  ::setenv("KILN_NUM_THREADS", "100000", 1);
  EXPECT_EQ(kiln_threads_default(), cpus);
  ::unsetenv("KILN_NUM_THREADS");
  EXPECT_EQ(kiln_threads_default(), cpus);
}

} // namespace
