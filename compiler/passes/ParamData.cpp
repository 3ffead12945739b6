// The data of an nn.param in the weight store, checked against its declared type (ParamData.h).
#include "compiler/passes/ParamData.h"

namespace kiln {

const HostTensor *paramData(const WeightStore &weights, nn::ParamOp param, mlir::Operation *user,
                            llvm::StringRef pass) {
  auto it = weights.find(param.getName().str());
  if (it == weights.end()) {
    user->emitError() << pass << ": parameter '" << param.getName() << "' has no data; bind the weights first";
    return nullptr;
  }
  if (it->second.size() != param.getType().getNumElements()) {
    user->emitError() << pass << ": parameter '" << param.getName() << "' has " << it->second.size()
                      << " values but its type " << param.getType() << " needs " << param.getType().getNumElements();
    return nullptr;
  }
  return &it->second;
}

} // namespace kiln
