// The nn dialect: CNN layers on static-shape f32 tensors in NCHW logical layout.
#ifndef KILN_NN_DIALECT_TD
#define KILN_NN_DIALECT_TD

include "mlir/IR/OpBase.td"

def NN_Dialect : Dialect {
  let name = "nn";
  let cppNamespace = "::kiln::nn";
  let summary = "Convolutional network layers for the Kiln compiler";
  let description = [{
    Ops on ranked, statically shaped `f32` tensors. Images are NCHW, dense
    inputs are [N, K]. Parameters (weights, biases, batch-norm statistics) are
    named `nn.param` values whose data lives next to the module, keyed by name.
    Every op infers its result type; a mismatching declared type is an error.
  }];
}

class NN_Op<string mnemonic, list<Trait> traits = []> : Op<NN_Dialect, mnemonic, traits>;

def NN_Tensor : RankedTensorOf<[F32]>;
def NN_Image : 4DTensorOf<[F32]>;

#endif // KILN_NN_DIALECT_TD
