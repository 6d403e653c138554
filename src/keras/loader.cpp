#include "keras/loader.h"

#include <cstring>

#include "base/mapped_file.h"
#include "hdf5/hdf5.h"
#include "krt/krt_file.h"
#include "zip/zip.h"

namespace kerasrt::keras {

namespace {

std::string string_attribute(const hdf5::Object& o, const std::string& name) {
  auto a = o.attribute(name);
  if (!a || a->dtype().cls != hdf5::TypeClass::String || a->space().num_elements() != 1) return {};
  return a->read_string();
}

Dialect dialect_from_version(std::string version, std::string backend) {
  Dialect d;
  d.keras_version = std::move(version);
  d.backend = std::move(backend);
  // Keras 1.x did not always write keras_version; every Keras 2+ writer does.
  d.major = d.keras_version.empty() ? 1 : d.keras_version[0] - '0';
  if (d.major < 1 || d.major > 3) {
    throw Error(ErrorCode::Unsupported, "keras_version '" + d.keras_version + "' is not supported");
  }
  return d;
}

Dialect read_dialect(const hdf5::Group& root, const hdf5::Group& weights) {
  std::string version = string_attribute(root, "keras_version");
  if (version.empty()) version = string_attribute(weights, "keras_version");
  std::string backend = string_attribute(root, "backend");
  if (backend.empty()) backend = string_attribute(weights, "backend");
  if (backend.empty()) backend = string_attribute(root, "keras_backend");
  return dialect_from_version(version, backend);
}

bool looks_like_json(std::span<const std::byte> bytes) {
  for (std::byte b : bytes) {
    char c = static_cast<char>(b);
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
    return c == '{' || c == '"';
  }
  return false;
}

std::string_view as_text(std::span<const std::byte> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

// Keras 3 model configs put the version in metadata.json; a to_json() architecture carries
// "keras_version" at its top level.
std::string json_string(const Json& j, std::string_view key) {
  const Json* m = j.find(key);
  return m && m->is_string() ? m->as_string() : "";
}

// A weights file for an architecture JSON: legacy save_weights() (layer_names at the root, or a
// whole-model file's model_weights) or the Keras-v3 layout (a "layers" group).
std::unique_ptr<WeightSource> open_weights(const hdf5::File& file, const Json& model,
                                           const std::string& name, Dialect* dialect) {
  hdf5::Group root = file.root();
  if (root.has_attribute("layer_names") || root.has_attribute("layer_names0")) {
    if (dialect->keras_version.empty()) *dialect = read_dialect(root, root);
    return make_legacy_h5_weights(root, name);
  }
  if (root.contains("model_weights")) {
    hdf5::Group g = root.open_group("model_weights");
    if (dialect->keras_version.empty()) *dialect = read_dialect(root, g);
    return make_legacy_h5_weights(g, name);
  }
  if (root.contains("layers") || root.contains("_layer_checkpoint_dependencies")) {
    if (dialect->keras_version.empty()) *dialect = dialect_from_version("3", "");
    return make_keras3_weights(root, model, name);
  }
  throw Error(ErrorCode::InvalidFile,
              name + ": not a Keras weights file (no layer_names, model_weights or layers)");
}

// Builds the graph (every format ends here), recording what was read of the weights when asked.
void build(KerasModel& result, std::string config_text, Json config, const WeightSource& weights,
           const std::string& path, const KerasLoadOptions& options) {
  result.config_text = std::move(config_text);
  if (!options.record_weights) {
    result.model = build_model(config, weights, result.dialect, path);
  } else {
    auto record = std::make_shared<WeightRecord>();
    auto recording = make_recording_weights(weights, record.get());
    result.model = build_model(config, *recording, result.dialect, path);
    result.weights_read = std::move(record);
  }
  result.config = std::make_shared<const Json>(std::move(config));
}

KerasModel load_h5(const std::string& path, const KerasLoadOptions& options) {
  const std::string& weights_path = options.weights_path;
  auto file = std::make_shared<hdf5::File>(hdf5::File::open(path));
  hdf5::Group root = file->root();
  auto config_attr = root.attribute("model_config");
  if (!config_attr) {
    if (root.has_attribute("layer_names") || root.contains("layers")) {
      throw Error(ErrorCode::InvalidArgument,
                  path +
                      ": a weights-only file: it holds no architecture; pass the model's JSON "
                      "architecture as the model and this file as its weights (--weights)");
    }
    throw Error(ErrorCode::InvalidFile,
                path + ": an HDF5 file but not a Keras model (no 'model_config' attribute)");
  }
  if (!weights_path.empty()) {
    throw Error(ErrorCode::InvalidArgument,
                path + ": a whole-model file already holds its weights; drop --weights");
  }
  if (config_attr->dtype().cls != hdf5::TypeClass::String) {
    throw Error(ErrorCode::InvalidFile, path + ": attribute 'model_config' is not a string");
  }
  std::string config_text = config_attr->read_string();
  Json config = Json::parse(config_text, path + ": model_config");
  if (!root.contains("model_weights")) {
    throw Error(ErrorCode::InvalidModel,
                path + ": no 'model_weights' group (the model was saved without weights?)");
  }
  hdf5::Group weights_group = root.open_group("model_weights");
  KerasModel result;
  result.dialect = read_dialect(root, weights_group);
  result.format = "keras-h5";
  auto weights = make_legacy_h5_weights(weights_group, path);
  build(result, std::move(config_text), std::move(config), *weights, path, options);
  result.storage = file;
  return result;
}

KerasModel load_zip(std::shared_ptr<const MappedFile> mapped, const KerasLoadOptions& options) {
  const std::string& path = mapped->path();
  if (!options.weights_path.empty()) {
    throw Error(ErrorCode::InvalidArgument,
                path + ": a .keras archive already holds its weights; drop --weights");
  }
  auto archive = std::make_shared<zip::Archive>(mapped);
  auto member = [&](const char* name) -> const zip::Member& {
    const zip::Member* m = archive->find(name);
    if (m == nullptr) {
      if (std::string(name) == "model.weights.h5" && archive->find("model.weights.npz")) {
        throw Error(ErrorCode::Unsupported,
                    path +
                        ": weights saved as model.weights.npz (pickled NumPy arrays); kerasrt "
                        "reads the default HDF5 weights: save with weights_format=\"h5\"");
      }
      throw Error(ErrorCode::InvalidFile,
                  path + ": not a Keras archive (no member '" + std::string(name) + "')");
    }
    return *m;
  };
  std::vector<std::byte> scratch;
  std::string config_text(as_text(archive->read(member("config.json"), scratch)));
  Json config = Json::parse(config_text, path + ": config.json");
  std::string version = "3";
  if (const zip::Member* meta = archive->find("metadata.json")) {
    Json metadata = Json::parse(as_text(archive->read(*meta, scratch)), path + ": metadata.json");
    if (std::string v = json_string(metadata, "keras_version"); !v.empty()) version = v;
  }
  // The weights are read in place when stored (the usual case), else from an inflated copy.
  auto storage = std::make_shared<std::vector<std::byte>>();
  std::span<const std::byte> h5 = archive->read(member("model.weights.h5"), *storage);
  std::shared_ptr<const void> keep = storage->empty() ? std::shared_ptr<const void>(archive)
                                                      : std::shared_ptr<const void>(storage);
  auto file =
      std::make_shared<hdf5::File>(hdf5::File::from_bytes(h5, keep, path + ":model.weights.h5"));
  KerasModel result;
  result.dialect = dialect_from_version(version, "");
  result.format = "keras-zip";
  auto weights = make_keras3_weights(file->root(), config, path);
  build(result, std::move(config_text), std::move(config), *weights, path, options);
  result.storage = file;
  return result;
}

KerasModel load_json(std::shared_ptr<const MappedFile> mapped, const KerasLoadOptions& options) {
  const std::string& path = mapped->path();
  const std::string& weights_path = options.weights_path;
  std::string config_text(as_text(mapped->bytes()));
  Json config = Json::parse(config_text, path);
  // Some users json.dump() the string that model.to_json() returned: JSON inside a JSON string.
  if (config.is_string()) {
    config_text = config.as_string();
    config = Json::parse(config_text, path);
  }
  if (config.is_object() && config.find("weight_map") && !config.find("class_name")) {
    throw Error(ErrorCode::InvalidArgument,
                path +
                    ": a sharded-weights index, not an architecture; pass the model's JSON "
                    "architecture as the model and this file as its weights (--weights)");
  }
  if (weights_path.empty()) {
    throw Error(ErrorCode::InvalidArgument,
                path +
                    ": an architecture JSON holds no weights; give the weights file too "
                    "(--weights W.h5)");
  }
  KerasModel result;
  result.dialect =
      dialect_from_version(json_string(config, "keras_version"), json_string(config, "backend"));
  if (json_string(config, "keras_version").empty()) result.dialect.keras_version.clear();
  // x.weights.json: the index of Keras 3 sharded weights (save_weights(max_shard_size=...)).
  if (auto index_file = MappedFile::open(weights_path); looks_like_json(index_file->bytes())) {
    Json index = Json::parse(as_text(index_file->bytes()), weights_path);
    if (result.dialect.keras_version.empty()) result.dialect = dialect_from_version("3", "");
    auto weights = make_keras3_sharded_weights(index, config, weights_path);
    result.format = "json+sharded-h5";
    build(result, std::move(config_text), std::move(config), *weights, path, options);
    return result;  // the shards' handles keep their files mapped
  }
  auto file = std::make_shared<hdf5::File>(hdf5::File::open(weights_path));
  auto weights = open_weights(*file, config, weights_path, &result.dialect);
  result.format = "json+h5";
  build(result, std::move(config_text), std::move(config), *weights, path, options);
  result.storage = file;
  return result;
}

KerasModel load_krt(std::shared_ptr<const MappedFile> mapped, const KerasLoadOptions& options) {
  if (!options.weights_path.empty()) {
    throw Error(ErrorCode::InvalidArgument,
                mapped->path() + ": a .krt file already holds its weights; drop --weights");
  }
  auto file = std::make_shared<const krt::File>(std::move(mapped));
  std::shared_ptr<const Json> index;
  try {
    index = std::make_shared<const Json>(
        Json::parse(as_text(file->section("index")), file->path() + ": .krt index"));
  } catch (const Error& e) {
    // kerasrt wrote this JSON: text it cannot read means a damaged file, not a bad model.
    if (e.code() != ErrorCode::InvalidModel) throw;
    throw Error(ErrorCode::InvalidFile,
                std::string(e.what()) + " (corrupt .krt file: convert the model again)");
  }
  return load_krt_keras(std::move(file), std::move(index), options.verify_checksums);
}

}  // namespace

KerasModel load_keras_model(const std::string& path, const KerasLoadOptions& options) {
  auto mapped = MappedFile::open(path);
  auto bytes = mapped->bytes();
  if (bytes.empty()) throw Error(ErrorCode::InvalidFile, path + ": the file is empty");
  if (krt::looks_like_krt(bytes)) return load_krt(mapped, options);
  if (zip::looks_like_zip(bytes)) return load_zip(mapped, options);
  if (looks_like_json(bytes)) return load_json(mapped, options);
  return load_h5(path, options);
}

}  // namespace kerasrt::keras
