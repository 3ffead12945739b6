// The ONNX op table: every op type Kiln reads and the importer that builds it. The list of
// supported ops (errors, docs/onnx.md, the conformance runner) comes from this table.
#include "frontends/onnx/Importer.h"

namespace kiln::onnxfe {

const llvm::StringMap<Importer::OpEntry> &Importer::opTable() {
  using I = Importer;
  static const llvm::StringMap<OpEntry> table = [] {
    llvm::StringMap<OpEntry> t;
    auto add = [&](std::initializer_list<StringRef> types, NodeImporter build, int64_t since = 1) {
      for (StringRef type : types)
        t[type] = OpEntry{build, since};
    };
    // Constants, and shape subgraphs evaluated at import (ShapeFolding.cpp).
    add({"Constant"}, &I::importConstant);
    add({"Identity"}, &I::importIdentity);
    add({"Dropout"}, &I::importDropout);
    add({"Cast"}, &I::importCast);
    add({"Shape", "Size", "Range", "ConstantOfShape", "Equal", "Greater", "Less", "GreaterOrEqual", "LessOrEqual",
         "Not", "And", "Or"},
        &I::importFoldOnly);
    add({"Where"}, &I::importWhere);
    // Convolutions and pools (ImportLinear.cpp, ImportPooling.cpp).
    add({"Conv"}, &I::importConv);
    add({"ConvTranspose"}, &I::importConvTranspose);
    add({"MaxPool", "AveragePool"}, &I::importPool);
    add({"GlobalAveragePool", "GlobalMaxPool"}, &I::importGlobalPool);
    add({"Gemm"}, &I::importGemm);
    add({"MatMul"}, &I::importMatMul);
    add({"Einsum"}, &I::importEinsum);
    // Normalisation (ImportNormalization.cpp).
    add({"BatchNormalization"}, &I::importBatchNorm);
    add({"LayerNormalization"}, &I::importLayerNorm);
    add({"InstanceNormalization"}, &I::importInstanceNorm);
    add({"LpNormalization"}, &I::importLpNorm);
    add({"LRN"}, &I::importLRN);
    add({"Softmax", "LogSoftmax"}, &I::importSoftmax);
    // Elementwise (ImportElementwise.cpp).
    add({"Relu", "Sigmoid", "Tanh", "LeakyRelu", "HardSigmoid", "HardSwish"}, &I::importActivation);
    add({"Exp", "Log", "Sqrt", "Reciprocal", "Neg", "Abs", "Erf", "Floor", "Ceil", "Round", "Sign", "Elu", "Selu",
         "Celu", "Softplus", "Softsign", "Mish", "ThresholdedRelu", "Gelu"},
        &I::importUnary);
    add({"Add", "Sub", "Mul", "Div", "Max", "Min", "Sum", "Mean"}, &I::importElementwise);
    add({"Pow"}, &I::importPow);
    add({"PRelu"}, &I::importPRelu);
    add({"Clip"}, &I::importClip);
    // Reductions (ImportReductions.cpp).
    add({"ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2", "ReduceLogSum",
         "ReduceLogSumExp", "ReduceSumSquare"},
        &I::importReduce);
    add({"ArgMax", "ArgMin"}, &I::importArgReduce);
    // Data movement (ImportDataMovement.cpp, ImportSlicing.cpp, ImportResizePad.cpp).
    add({"Reshape"}, &I::importReshape);
    add({"Flatten"}, &I::importFlatten);
    add({"Squeeze", "Unsqueeze"}, &I::importSqueeze);
    add({"Transpose"}, &I::importTranspose);
    add({"Concat"}, &I::importConcat);
    add({"Split"}, &I::importSplit);
    add({"Slice"}, &I::importSlice);
    add({"Gather"}, &I::importGather);
    add({"Expand"}, &I::importExpand);
    add({"Tile"}, &I::importTile, 6); // Tile-1 took `tiles` and `axis` inputs
    add({"DepthToSpace", "SpaceToDepth"}, &I::importDepthToSpace);
    add({"Resize"}, &I::importResize);
    add({"Upsample"}, &I::importResize, 7); // Upsample-1 had width/height_scale attributes
    add({"Pad"}, &I::importPad);
    return t;
  }();
  return table;
}

} // namespace kiln::onnxfe
