// Phases 1-3 of an inference compile in one call (see InferenceModel.h).
#include "compiler/driver/InferenceModel.h"

#include "compiler/driver/GraphPasses.h"
#include "compiler/driver/ModelLoader.h"

#include "llvm/Support/raw_ostream.h"

using namespace mlir;

namespace kiln {

FailureOr<InferenceModel> loadInferenceModel(const std::string &modelPath, MLIRContext &context,
                                             std::optional<int64_t> batch, const std::string &weightsPath,
                                             uint64_t seed) {
  InferenceModel model;
  WeightStore embedded;
  model.module = loadModel(modelPath, context, batch, &embedded);
  if (!model.module || failed(runGraphPasses(*model.module)))
    return failure();
  std::string error;
  if (failed(bindModelWeights(*model.module, weightsPath, embedded, seed, model.weights, error))) {
    llvm::errs() << "kiln: error: " << error << "\n";
    return failure();
  }
  if (failed(runWeightPasses(*model.module, model.weights)))
    return failure();
  return model;
}

} // namespace kiln
