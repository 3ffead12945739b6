// Registration of the nn dialect and its ops.
#include "kiln/Dialect/NN/NNDialect.h"
#include "kiln/Dialect/NN/NNOps.h"

#include "kiln/Dialect/NN/NNDialect.cpp.inc"

void kiln::nn::NNDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "kiln/Dialect/NN/NNOps.cpp.inc"
      >();
}
