// Binders of the activation layer family.
#include "keras/registry.h"

namespace kerasrt::keras {

std::span<const LayerEntry> activation_layers() { return {}; }

}  // namespace kerasrt::keras
