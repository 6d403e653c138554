// Binders of the attention layer family.
#include "keras/registry.h"

namespace kerasrt::keras {

std::span<const LayerEntry> attention_layers() { return {}; }

}  // namespace kerasrt::keras
