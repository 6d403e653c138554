#include "keras/loader.h"

#include <cstring>

#include "base/mapped_file.h"
#include "hdf5/hdf5.h"

namespace kerasrt::keras {

namespace {

std::string string_attribute(const hdf5::Object& o, const std::string& name) {
  auto a = o.attribute(name);
  if (!a || a->dtype().cls != hdf5::TypeClass::String || a->space().num_elements() != 1) return {};
  return a->read_string();
}

Dialect read_dialect(const hdf5::Group& root, const hdf5::Group& weights) {
  Dialect d;
  d.keras_version = string_attribute(root, "keras_version");
  if (d.keras_version.empty()) d.keras_version = string_attribute(weights, "keras_version");
  d.backend = string_attribute(root, "backend");
  if (d.backend.empty()) d.backend = string_attribute(weights, "backend");
  if (d.backend.empty()) d.backend = string_attribute(root, "keras_backend");
  // Keras 1.x did not always write keras_version; every Keras 2+ writer does.
  d.major = d.keras_version.empty() ? 1 : d.keras_version[0] - '0';
  if (d.major < 1 || d.major > 3) {
    throw Error(ErrorCode::Unsupported, "keras_version '" + d.keras_version + "' is not supported");
  }
  return d;
}

bool starts_with(std::span<const std::byte> bytes, const char* magic, size_t n) {
  return bytes.size() >= n && std::memcmp(bytes.data(), magic, n) == 0;
}

}  // namespace

KerasModel load_keras_model(const std::string& path) {
  hdf5::File file = [&] {
    try {
      return hdf5::File::open(path);
    } catch (const Error& e) {
      if (e.code() != ErrorCode::InvalidFile) throw;
      // Say what the file is when it is not HDF5 at all.
      auto mapped = MappedFile::open(path);
      auto bytes = mapped->bytes();
      if (bytes.empty()) throw Error(ErrorCode::InvalidFile, path + ": the file is empty");
      if (starts_with(bytes, "PK\x03\x04", 4)) {
        throw Error(ErrorCode::Unsupported,
                    path + ": a zip archive (.keras) — this build reads HDF5 (.h5) Keras files");
      }
      throw;
    }
  }();
  hdf5::Group root = file.root();
  auto config_attr = root.attribute("model_config");
  if (!config_attr) {
    if (root.has_attribute("layer_names")) {
      throw Error(ErrorCode::Unsupported,
                  path + ": a weights-only file (save_weights): it holds no architecture; load "
                         "it together with the model's JSON architecture");
    }
    throw Error(ErrorCode::InvalidFile,
                path + ": an HDF5 file but not a Keras model (no 'model_config' attribute)");
  }
  if (config_attr->dtype().cls != hdf5::TypeClass::String) {
    throw Error(ErrorCode::InvalidFile, path + ": attribute 'model_config' is not a string");
  }
  Json config = Json::parse(config_attr->read_string(), path + ": model_config");
  if (!root.contains("model_weights")) {
    throw Error(ErrorCode::InvalidModel,
                path + ": no 'model_weights' group (the model was saved without weights?)");
  }
  hdf5::Group weights_group = root.open_group("model_weights");
  KerasModel result;
  result.dialect = read_dialect(root, weights_group);
  result.format = "keras-h5";
  auto weights = make_legacy_h5_weights(weights_group, path);
  result.model = build_model(config, *weights, result.dialect, path);
  return result;
}

}  // namespace kerasrt::keras
