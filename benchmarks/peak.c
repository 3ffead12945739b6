/* Measures this CPU's fp32 FMA peak: each thread runs independent chains of 512-bit FMAs
 * (enough chains to cover FMA latency on two ports) and reports GFLOP/s.
 * Usage: peak [threads]   (prints one line: "peak_gflops <threads> <value>") */
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

enum { CHAINS = 16, ITERATIONS = 50 * 1000 * 1000 };

static double seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

static void *fma_chains(void *out) {
  __m512 acc[CHAINS];
  const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
  for (int i = 0; i < CHAINS; ++i)
    acc[i] = _mm512_set1_ps((float)i);
  for (long it = 0; it < ITERATIONS; ++it) {
#pragma GCC unroll 16
    for (int i = 0; i < CHAINS; ++i)
      acc[i] = _mm512_fmadd_ps(acc[i], a, b);
  }
  float sum = 0.0f;
  for (int i = 0; i < CHAINS; ++i)
    sum += _mm512_reduce_add_ps(acc[i]);
  *(float *)out = sum; /* keeps the work alive */
  return NULL;
}

int main(int argc, char **argv) {
  int threads = argc > 1 ? atoi(argv[1]) : 1;
  if (threads < 1 || threads > 64)
    return 2;
  pthread_t tid[64];
  float sink[64];
  double start = seconds();
  for (int t = 0; t < threads; ++t)
    pthread_create(&tid[t], NULL, fma_chains, &sink[t]);
  for (int t = 0; t < threads; ++t)
    pthread_join(tid[t], NULL);
  double elapsed = seconds() - start;
  double flops = 2.0 * 16 * CHAINS * (double)ITERATIONS * threads;
  printf("peak_gflops %d %.1f\n", threads, flops / elapsed * 1e-9);
  return sink[0] == 12345.0f; /* never true; reads the sink */
}
