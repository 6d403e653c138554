// Binders of the normalization layer family.
#include "keras/registry.h"

namespace kerasrt::keras {

std::span<const LayerEntry> normalization_layers() { return {}; }

}  // namespace kerasrt::keras
