// Binders of the pooling layer family.
#include "keras/registry.h"

namespace kerasrt::keras {

std::span<const LayerEntry> pooling_layers() { return {}; }

}  // namespace kerasrt::keras
