// Reference conv2d, conv_transpose2d and dense: direct loops over every output and every tap, summed in double.
#include "compiler/reference/Kernels.h"

#include "kiln/Dialect/NN/ShapeRules.h"

namespace kiln::reference {

HostTensor conv2d(const HostTensor &input, const HostTensor &filter, const HostTensor *bias,
                  llvm::ArrayRef<int64_t> strides, llvm::ArrayRef<int64_t> padding,
                  llvm::ArrayRef<int64_t> dilations, int64_t groups) {
  const int64_t N = input.shape[0], C = input.shape[1], H = input.shape[2], W = input.shape[3];
  const int64_t F = filter.shape[0], CG = filter.shape[1], KH = filter.shape[2], KW = filter.shape[3];
  const int64_t OH = nn::windowOutputSize(H, KH, strides[0], padding[0], padding[2], dilations[0]);
  const int64_t OW = nn::windowOutputSize(W, KW, strides[1], padding[1], padding[3], dilations[1]);
  const int64_t FG = F / groups; // filters per group
  HostTensor out({N, F, OH, OW});
  for (int64_t n = 0; n < N; ++n)
    for (int64_t f = 0; f < F; ++f) {
      const int64_t firstChannel = (f / FG) * CG;
      for (int64_t oh = 0; oh < OH; ++oh)
        for (int64_t ow = 0; ow < OW; ++ow) {
          double acc = bias ? bias->data[f] : 0.0;
          for (int64_t c = 0; c < CG; ++c)
            for (int64_t kh = 0; kh < KH; ++kh)
              for (int64_t kw = 0; kw < KW; ++kw) {
                const int64_t ih = oh * strides[0] - padding[0] + kh * dilations[0];
                const int64_t iw = ow * strides[1] - padding[1] + kw * dilations[1];
                if (ih < 0 || ih >= H || iw < 0 || iw >= W)
                  continue; // zero padding
                const double x = input.data[((n * C + firstChannel + c) * H + ih) * W + iw];
                const double w = filter.data[((f * CG + c) * KH + kh) * KW + kw];
                acc += x * w;
              }
          out.data[((n * F + f) * OH + oh) * OW + ow] = static_cast<float>(acc);
        }
    }
  return out;
}

HostTensor convTranspose2d(const HostTensor &input, const HostTensor &filter, const HostTensor *bias,
                           llvm::ArrayRef<int64_t> strides, llvm::ArrayRef<int64_t> padding,
                           llvm::ArrayRef<int64_t> outputPadding, llvm::ArrayRef<int64_t> dilations, int64_t groups) {
  const int64_t N = input.shape[0], C = input.shape[1], H = input.shape[2], W = input.shape[3];
  const int64_t FG = filter.shape[1], KH = filter.shape[2], KW = filter.shape[3];
  const int64_t CG = C / groups, F = FG * groups;
  const int64_t OH = (H - 1) * strides[0] - padding[0] - padding[2] + dilations[0] * (KH - 1) + outputPadding[0] + 1;
  const int64_t OW = (W - 1) * strides[1] - padding[1] - padding[3] + dilations[1] * (KW - 1) + outputPadding[1] + 1;
  std::vector<double> acc(static_cast<size_t>(N * F * OH * OW), 0.0);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t f = 0; f < F; ++f)
      for (int64_t i = 0; i < OH * OW; ++i)
        acc[(n * F + f) * OH * OW + i] = bias ? bias->data[f] : 0.0;
  // Input cell (ih, iw) of channel c adds x * w[c, f, kh, kw] to output (ih*s - pad + kh*d, ...).
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c) {
      const int64_t firstFilter = (c / CG) * FG;
      for (int64_t ih = 0; ih < H; ++ih)
        for (int64_t iw = 0; iw < W; ++iw) {
          const double x = input.data[((n * C + c) * H + ih) * W + iw];
          for (int64_t f = 0; f < FG; ++f)
            for (int64_t kh = 0; kh < KH; ++kh)
              for (int64_t kw = 0; kw < KW; ++kw) {
                const int64_t oh = ih * strides[0] - padding[0] + kh * dilations[0];
                const int64_t ow = iw * strides[1] - padding[1] + kw * dilations[1];
                if (oh < 0 || oh >= OH || ow < 0 || ow >= OW)
                  continue; // removed by padding
                const double w = filter.data[((c * FG + f) * KH + kh) * KW + kw];
                acc[((n * F + firstFilter + f) * OH + oh) * OW + ow] += x * w;
              }
        }
    }
  HostTensor out({N, F, OH, OW});
  for (size_t i = 0; i < acc.size(); ++i)
    out.data[i] = static_cast<float>(acc[i]);
  return out;
}

HostTensor dense(const HostTensor &input, const HostTensor &weight, const HostTensor *bias) {
  const int64_t N = input.shape[0], K = input.shape[1], M = weight.shape[0];
  HostTensor out({N, M});
  for (int64_t n = 0; n < N; ++n)
    for (int64_t m = 0; m < M; ++m) {
      double acc = bias ? bias->data[m] : 0.0;
      for (int64_t k = 0; k < K; ++k)
        acc += double(input.data[n * K + k]) * double(weight.data[m * K + k]);
      out.data[n * M + m] = static_cast<float>(acc);
    }
  return out;
}

} // namespace kiln::reference
