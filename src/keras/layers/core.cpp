// Binders of the core layer family.
#include "keras/registry.h"

namespace kerasrt::keras {

std::span<const LayerEntry> core_layers() { return {}; }

}  // namespace kerasrt::keras
