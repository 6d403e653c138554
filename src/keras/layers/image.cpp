// Binders of the image layer family.
#include "keras/registry.h"

namespace kerasrt::keras {

std::span<const LayerEntry> image_layers() { return {}; }

}  // namespace kerasrt::keras
