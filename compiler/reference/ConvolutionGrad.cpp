// Reference backward rules of conv2d and dense: the filter, input and weight gradients and the
// per-channel bias gradient, as direct sums in double.
#include "compiler/reference/TrainingKernels.h"

#include <vector>

namespace kiln::reference {

HostTensor conv2dGradFilter(const HostTensor &input, const HostTensor &gradOutput, llvm::ArrayRef<int64_t> window,
                            llvm::ArrayRef<int64_t> strides, llvm::ArrayRef<int64_t> padding,
                            llvm::ArrayRef<int64_t> dilations, int64_t groups) {
  const int64_t N = input.shape[0], C = input.shape[1], H = input.shape[2], W = input.shape[3];
  const int64_t F = gradOutput.shape[1], OH = gradOutput.shape[2], OW = gradOutput.shape[3];
  const int64_t KH = window[0], KW = window[1], CG = C / groups, FG = F / groups;
  HostTensor out({F, CG, KH, KW});
  for (int64_t f = 0; f < F; ++f) {
    const int64_t firstChannel = (f / FG) * CG;
    for (int64_t c = 0; c < CG; ++c)
      for (int64_t kh = 0; kh < KH; ++kh)
        for (int64_t kw = 0; kw < KW; ++kw) {
          double acc = 0.0;
          for (int64_t n = 0; n < N; ++n)
            for (int64_t oh = 0; oh < OH; ++oh)
              for (int64_t ow = 0; ow < OW; ++ow) {
                const int64_t ih = oh * strides[0] - padding[0] + kh * dilations[0];
                const int64_t iw = ow * strides[1] - padding[1] + kw * dilations[1];
                if (ih < 0 || ih >= H || iw < 0 || iw >= W)
                  continue; // zero padding
                const double x = input.data[((n * C + firstChannel + c) * H + ih) * W + iw];
                const double dy = gradOutput.data[((n * F + f) * OH + oh) * OW + ow];
                acc += x * dy;
              }
          out.data[((f * CG + c) * KH + kh) * KW + kw] = static_cast<float>(acc);
        }
  }
  return out;
}

HostTensor denseGradInput(const HostTensor &gradOutput, const HostTensor &weight) {
  const int64_t N = gradOutput.shape[0], M = gradOutput.shape[1], K = weight.shape[1];
  HostTensor out({N, K});
  for (int64_t n = 0; n < N; ++n)
    for (int64_t k = 0; k < K; ++k) {
      double acc = 0.0;
      for (int64_t m = 0; m < M; ++m)
        acc += double(gradOutput.data[n * M + m]) * double(weight.data[m * K + k]);
      out.data[n * K + k] = static_cast<float>(acc);
    }
  return out;
}

HostTensor denseGradWeight(const HostTensor &input, const HostTensor &gradOutput) {
  const int64_t N = input.shape[0], K = input.shape[1], M = gradOutput.shape[1];
  HostTensor out({M, K});
  for (int64_t m = 0; m < M; ++m)
    for (int64_t k = 0; k < K; ++k) {
      double acc = 0.0;
      for (int64_t n = 0; n < N; ++n)
        acc += double(gradOutput.data[n * M + m]) * double(input.data[n * K + k]);
      out.data[m * K + k] = static_cast<float>(acc);
    }
  return out;
}

HostTensor biasGrad(const HostTensor &gradOutput) {
  const int64_t N = gradOutput.shape[0], C = gradOutput.shape[1];
  const int64_t inner = gradOutput.size() / (N * C);
  std::vector<double> acc(static_cast<size_t>(C), 0.0);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t i = 0; i < inner; ++i)
        acc[c] += gradOutput.data[(n * C + c) * inner + i];
  HostTensor out({C});
  for (int64_t c = 0; c < C; ++c)
    out.data[c] = static_cast<float>(acc[c]);
  return out;
}

} // namespace kiln::reference
