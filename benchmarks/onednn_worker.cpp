// oneDNN side of the benchmark: one forward convolution, timed on request (JSON lines).
// Usage: onednn_worker N C H W F K STRIDE PAD   (threads: OMP_NUM_THREADS, as oneDNN uses OpenMP)
// Reads lines {"repeat": R}; answers {"times_ms": [...]} per line. Layouts are format_tag::any,
// so oneDNN picks its fastest blocked layout; the reorders into it happen once, outside the timing,
// which is the strongest oneDNN baseline for a single layer.
#include <dnnl.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

using dnnl::memory;

int main(int argc, char **argv) {
  if (argc != 9) {
    std::fprintf(stderr, "usage: %s N C H W F K STRIDE PAD\n", argv[0]);
    return 2;
  }
  long v[8];
  for (int i = 0; i < 8; ++i) {
    char *end = nullptr;
    v[i] = std::strtol(argv[i + 1], &end, 10);
    if (*end != '\0' || v[i] < (i == 7 ? 0 : 1)) {
      std::fprintf(stderr, "onednn_worker: argument %d ('%s') must be a %s integer\n", i + 1, argv[i + 1],
                   i == 7 ? "non-negative" : "positive");
      return 2;
    }
  }
  const long N = v[0], C = v[1], H = v[2], W = v[3], F = v[4], K = v[5], S = v[6], P = v[7];
  const long OH = (H + 2 * P - K) / S + 1, OW = (W + 2 * P - K) / S + 1;

  dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  dnnl::stream stream(engine);
  auto any = [](memory::dims dims) { return memory::desc(dims, memory::data_type::f32, memory::format_tag::any); };
  dnnl::convolution_forward::desc desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct,
                                       any({N, C, H, W}), any({F, C, K, K}), any({F}), any({N, F, OH, OW}), {S, S},
                                       {P, P}, {P, P});
  dnnl::convolution_forward::primitive_desc pd(desc, engine);
  memory src(pd.src_desc(), engine), weights(pd.weights_desc(), engine), bias(pd.bias_desc(), engine),
      dst(pd.dst_desc(), engine);
  for (memory *m : {&src, &weights, &bias}) {
    float *data = static_cast<float *>(m->get_data_handle());
    for (size_t i = 0; i < m->get_desc().get_size() / sizeof(float); ++i)
      data[i] = static_cast<float>((i * 2654435761u) % 1000) * 1e-3f - 0.5f;
  }
  dnnl::convolution_forward conv(pd);
  auto run = [&] {
    conv.execute(stream, {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_BIAS, bias}, {DNNL_ARG_DST, dst}});
    stream.wait();
  };
  for (int i = 0; i < 3; ++i)
    run();

  std::string line;
  while (std::getline(std::cin, line)) {
    const long repeat = std::strtol(line.c_str() + line.find(':') + 1, nullptr, 10);
    std::string reply = "{\"times_ms\": [";
    for (long i = 0; i < repeat; ++i) {
      auto start = std::chrono::steady_clock::now();
      run();
      std::chrono::duration<double, std::milli> ms = std::chrono::steady_clock::now() - start;
      reply += (i ? ", " : "") + std::to_string(ms.count());
    }
    std::cout << reply << "]}" << std::endl;
  }
  return 0;
}
