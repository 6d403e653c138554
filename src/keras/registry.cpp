#include "keras/registry.h"

#include <algorithm>
#include <vector>

namespace kerasrt::keras {

namespace {

std::vector<LayerEntry> build_table() {
  std::vector<LayerEntry> table;
  for (auto family : {core_layers(), activation_layers(), conv_layers(), pooling_layers(),
                      normalization_layers(), merge_layers(), image_layers(), recurrent_layers(),
                      attention_layers(), conv_lstm_layers()}) {
    table.insert(table.end(), family.begin(), family.end());
  }
  std::sort(table.begin(), table.end(),
            [](const LayerEntry& a, const LayerEntry& b) { return a.class_name < b.class_name; });
  return table;
}

}  // namespace

const LayerEntry* find_layer(std::string_view class_name) {
  static const std::vector<LayerEntry> table = build_table();
  auto it = std::lower_bound(
      table.begin(), table.end(), class_name,
      [](const LayerEntry& e, std::string_view name) { return e.class_name < name; });
  if (it == table.end() || it->class_name != class_name) return nullptr;
  return &*it;
}

BindFn find_binder(std::string_view class_name) {
  const LayerEntry* e = find_layer(class_name);
  return e == nullptr ? nullptr : e->bind;
}

}  // namespace kerasrt::keras
