// The data of an nn.param in the weight store, for the passes that rewrite parameters.
#ifndef KILN_PASSES_PARAMDATA_H
#define KILN_PASSES_PARAMDATA_H

#include "compiler/weights/WeightStore.h"
#include "kiln/Dialect/NN/NNOps.h"

namespace kiln {

/// The data of `param` in `weights`, checked against its declared type; null after emitting an
/// error at `user` that names `pass`, the parameter and the fix.
const HostTensor *paramData(const WeightStore &weights, nn::ParamOp param, mlir::Operation *user,
                            llvm::StringRef pass);

} // namespace kiln

#endif
