// The nn dialect class (generated from NNDialect.td).
#ifndef KILN_DIALECT_NN_NNDIALECT_H
#define KILN_DIALECT_NN_NNDIALECT_H

#include "mlir/IR/Dialect.h"

#include "kiln/Dialect/NN/NNDialect.h.inc"

#endif
