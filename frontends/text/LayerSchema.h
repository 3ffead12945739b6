// The layer types of the Kiln text format: for each, how many inputs it takes and which attributes
// it accepts (and requires). Also the "did you mean" lookup used by the importer's diagnostics.
#ifndef KILN_FRONTENDS_TEXT_LAYERSCHEMA_H
#define KILN_FRONTENDS_TEXT_LAYERSCHEMA_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"

#include <optional>
#include <string>

namespace kiln::text {

struct LayerSchema {
  llvm::StringRef type;
  unsigned minInputs;
  unsigned maxInputs; // ~0u: any number
  llvm::ArrayRef<llvm::StringRef> attrs;
  llvm::ArrayRef<llvm::StringRef> required;
};

/// Every layer type, in documentation order.
llvm::ArrayRef<LayerSchema> allLayerSchemas();

/// The schema of `type`, or null when no layer has that type.
const LayerSchema *lookupLayerSchema(llvm::StringRef type);

/// "conv2d, max_pool2d, ..." (for notes listing the choices).
std::string joinNames(llvm::ArrayRef<llvm::StringRef> names);

/// The closest of `candidates` to `word` (a known alias such as `linear` -> `dense`, or a small
/// edit distance), if any is close enough to be worth suggesting.
std::optional<llvm::StringRef> closestName(llvm::StringRef word, llvm::ArrayRef<llvm::StringRef> candidates);

} // namespace kiln::text

#endif
