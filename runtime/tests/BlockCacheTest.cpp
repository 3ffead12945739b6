// Tests of the block cache behind the generated libraries' Halide allocations (kiln/glue.h).
#include "kiln/glue.h"
#include "kiln/runtime.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <set>
#include <thread>
#include <vector>

namespace {

bool aligned(void *block) { return reinterpret_cast<uintptr_t>(block) % KILN_BLOCK_ALIGNMENT == 0; }

struct Cache {
  kiln_block_cache cache;
  Cache() { EXPECT_EQ(kiln_block_cache_init(&cache), KILN_OK); }
  ~Cache() { kiln_block_cache_destroy(&cache); }
};

TEST(BlockCache, GivenBlockIsTakenAgainForTheSameSize) {
  Cache c;
  void *a = kiln_block_take(&c.cache, 1000);
  ASSERT_NE(a, nullptr);
  EXPECT_TRUE(aligned(a));
  std::memset(a, 1, 1000);
  kiln_block_give(&c.cache, a);
  EXPECT_EQ(c.cache.count, 1);
  EXPECT_EQ(kiln_block_take(&c.cache, 1000), a);
  EXPECT_EQ(c.cache.count, 0);
  kiln_block_give(&c.cache, a);
}

TEST(BlockCache, TakesTheSmallestFitAndNothingOverTwiceTheSize) {
  Cache c;
  void *big = kiln_block_take(&c.cache, 4096), *mid = kiln_block_take(&c.cache, 1500);
  kiln_block_give(&c.cache, big);
  kiln_block_give(&c.cache, mid);
  EXPECT_EQ(kiln_block_take(&c.cache, 1400), mid);       // both fit: the smaller one
  void *small = kiln_block_take(&c.cache, 1000);          // 4096 is more than twice 1000: new block
  EXPECT_NE(small, big);
  EXPECT_EQ(kiln_block_take(&c.cache, 3000), big);
  for (void *b : {mid, small, big})
    kiln_block_give(&c.cache, b);
}

TEST(BlockCache, FullCacheFreesWhatItCannotKeep) {
  Cache c;
  std::vector<void *> blocks;
  for (int i = 0; i < KILN_BLOCK_CACHE_SLOTS + 5; ++i)
    blocks.push_back(kiln_block_take(&c.cache, 64 + i));
  for (void *b : blocks)
    kiln_block_give(&c.cache, b);
  EXPECT_EQ(c.cache.count, KILN_BLOCK_CACHE_SLOTS);
}

TEST(BlockCache, NullCacheAllocatesAndFrees) {
  void *a = kiln_block_take(nullptr, 77);
  ASSERT_NE(a, nullptr);
  EXPECT_TRUE(aligned(a));
  kiln_block_give(nullptr, a);
  kiln_block_give(nullptr, nullptr);
  EXPECT_EQ(kiln_block_take(nullptr, SIZE_MAX), nullptr);
  EXPECT_EQ(kiln_backend_blocks(nullptr), nullptr);
}

TEST(BlockCache, FoundFromTheBackendUserContext) {
  kiln_backend_layout context = {};
  ASSERT_EQ(kiln_block_cache_init(&context.blocks), KILN_OK);
  EXPECT_EQ(kiln_backend_blocks(&context.error), &context.blocks);
  kiln_block_cache_destroy(&context.blocks);
}

TEST(BlockCache, ThreadsTakeDistinctBlocks) {
  Cache c;
  std::vector<std::thread> threads;
  std::vector<std::vector<void *>> taken(4);
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int round = 0; round < 200; ++round) {
        void *b = kiln_block_take(&c.cache, 256);
        taken[t].push_back(b);
        if (round % 2)
          kiln_block_give(&c.cache, b);
      }
    });
  for (std::thread &t : threads)
    t.join();
  std::set<void *> held;  // blocks taken on even rounds are still held: all distinct
  for (auto &blocks : taken)
    for (size_t i = 0; i < blocks.size(); i += 2)
      EXPECT_TRUE(held.insert(blocks[i]).second);
  for (void *b : held)
    kiln_block_give(&c.cache, b);
}

} // namespace
