/* Per-context cache of a backend's heap blocks, reused from run to run (see kiln/glue.h). */
#include "kiln/glue.h"
#include "kiln/runtime.h"

#include <stdint.h>
#include <stdlib.h>

/* Stored in the KILN_BLOCK_ALIGNMENT bytes just before each block. */
typedef struct block_header {
  void *raw;   /* what malloc returned */
  size_t size; /* usable bytes after the header */
} block_header;

static block_header *header_of(void *block) {
  return (block_header *)((char *)block - sizeof(block_header));
}

int kiln_block_cache_init(kiln_block_cache *cache) {
  cache->count = 0;
  return pthread_mutex_init(&cache->lock, NULL) == 0 ? KILN_OK : KILN_ERROR_OUT_OF_MEMORY;
}

void kiln_block_cache_destroy(kiln_block_cache *cache) {
  int i;
  if (cache == NULL)
    return;
  for (i = 0; i < cache->count; ++i)
    free(header_of(cache->blocks[i])->raw);
  cache->count = 0;
  pthread_mutex_destroy(&cache->lock);
}

kiln_block_cache *kiln_backend_blocks(void *user_context) {
  if (user_context == NULL)
    return NULL;
  return (kiln_block_cache *)((char *)user_context + offsetof(kiln_backend_layout, blocks));
}

/* The index of the smallest kept block of size..2*size bytes, or -1. Called under the lock. */
static int best_fit(const kiln_block_cache *cache, size_t size) {
  int i, best = -1;
  for (i = 0; i < cache->count; ++i) {
    size_t have = header_of(cache->blocks[i])->size;
    if (have >= size && have / 2 <= size && (best < 0 || have < header_of(cache->blocks[best])->size))
      best = i;
  }
  return best;
}

void *kiln_block_take(kiln_block_cache *cache, size_t size) {
  void *raw;
  char *block;
  if (cache != NULL) {
    int found;
    pthread_mutex_lock(&cache->lock);
    found = best_fit(cache, size);
    if (found >= 0) {
      block = cache->blocks[found];
      cache->blocks[found] = cache->blocks[--cache->count];
      pthread_mutex_unlock(&cache->lock);
      return block;
    }
    pthread_mutex_unlock(&cache->lock);
  }
  if (size > SIZE_MAX - 2 * KILN_BLOCK_ALIGNMENT)
    return NULL;
  raw = malloc(size + 2 * KILN_BLOCK_ALIGNMENT);
  if (raw == NULL)
    return NULL;
  block = (char *)(((uintptr_t)raw + 2 * KILN_BLOCK_ALIGNMENT - 1) / KILN_BLOCK_ALIGNMENT * KILN_BLOCK_ALIGNMENT);
  header_of(block)->raw = raw;
  header_of(block)->size = size;
  return block;
}

void kiln_block_give(kiln_block_cache *cache, void *block) {
  if (block == NULL)
    return;
  if (cache != NULL) {
    pthread_mutex_lock(&cache->lock);
    if (cache->count < KILN_BLOCK_CACHE_SLOTS) {
      cache->blocks[cache->count++] = block;
      pthread_mutex_unlock(&cache->lock);
      return;
    }
    pthread_mutex_unlock(&cache->lock);
  }
  free(header_of(block)->raw);
}
