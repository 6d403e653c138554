// Binders of the conv layer family.
#include "keras/registry.h"

namespace kerasrt::keras {

std::span<const LayerEntry> conv_layers() { return {}; }

}  // namespace kerasrt::keras
