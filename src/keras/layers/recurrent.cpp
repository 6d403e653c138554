// Binders of the recurrent layer family.
#include "keras/registry.h"

namespace kerasrt::keras {

std::span<const LayerEntry> recurrent_layers() { return {}; }

}  // namespace kerasrt::keras
