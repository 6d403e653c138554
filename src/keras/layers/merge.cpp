// Binders of the merge layer family.
#include "keras/registry.h"

namespace kerasrt::keras {

std::span<const LayerEntry> merge_layers() { return {}; }

}  // namespace kerasrt::keras
