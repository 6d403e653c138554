// The Keras side of a .krt file (src/krt/krt_file.h): the architecture JSON as the source file
// had it (section "config"), and every weight array the model builder read, as float32 in the
// stored Keras layout (section "weights", 64-byte aligned, used in place). The builder runs on a
// .krt exactly as on the source file: the same questions to a WeightSource get the same answers,
// recorded at conversion, so that one code path binds every format.
//
// Index (the "keras" object of the .krt index section):
//   {"format", "keras_version", "backend", "major", "weighted_layers": [names],
//    "calls": [{"path": [names], "classes": [names], "leaves": [names],
//               "arrays": [{"name", "role", "shape": [dims], "stored_bytes", "offset", "crc"}]}]}
#include <map>
#include <unordered_map>

#include "base/json_writer.h"
#include "keras/krt_index.h"
#include "keras/loader.h"
#include "keras/weight_source.h"
#include "krt/krt_file.h"

namespace kerasrt::keras {

namespace {

class RecordingWeights final : public WeightSource {
 public:
  RecordingWeights(const WeightSource& inner, WeightRecord* record)
      : inner_(inner), record_(record) {
    record_->weighted_layer_names = inner_.weighted_layer_names();
  }

  std::vector<StoredWeight> weights_for(const LayerPath& path,
                                        const std::vector<std::string>& sibling_leaves,
                                        const Dialect& dialect) const override {
    std::vector<StoredWeight> out = inner_.weights_for(path, sibling_leaves, dialect);
    for (const WeightRecord::Call& c : record_->calls) {
      if (c.path.names == path.names && c.path.classes == path.classes &&
          c.sibling_leaves == sibling_leaves) {
        return out;
      }
    }
    record_->calls.push_back(WeightRecord::Call{path, sibling_leaves, out});
    return out;
  }

  std::vector<std::string> weighted_layer_names() const override {
    return record_->weighted_layer_names;
  }

 private:
  const WeightSource& inner_;
  WeightRecord* record_;
};

void append_string_array(std::string& out, const std::vector<std::string>& items) {
  out += '[';
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += ',';
    append_json_string(out, items[i]);
  }
  out += ']';
}

uint64_t unsigned_member(const krt::File& file, const Json& j, std::string_view key) {
  const Json& m = krt_member(file, j, key, Json::Type::Number);
  if (!m.is_integer() || m.as_number() < 0 || m.as_number() > 9007199254740992.0) {
    krt_bad_index(file, "'" + std::string(key) + "' is not a size");
  }
  return static_cast<uint64_t>(m.as_number());
}

std::vector<std::string> string_list(const krt::File& file, const Json& j, std::string_view key) {
  std::vector<std::string> out;
  for (const Json& item : krt_member(file, j, key, Json::Type::Array).items()) {
    if (!item.is_string()) krt_bad_index(file, "'" + std::string(key) + "' holds a non-string");
    out.push_back(item.as_string());
  }
  return out;
}

class KrtWeights final : public WeightSource {
 public:
  KrtWeights(std::shared_ptr<const krt::File> file, const Json& index, bool verify)
      : file_(std::move(file)), verify_(verify) {
    weighted_ = string_list(*file_, index, "weighted_layers");
    for (const Json& call : krt_member(*file_, index, "calls", Json::Type::Array).items()) {
      Call c;
      c.names = string_list(*file_, call, "path");
      c.classes = string_list(*file_, call, "classes");
      c.leaves = string_list(*file_, call, "leaves");
      for (const Json& a : krt_member(*file_, call, "arrays", Json::Type::Array).items()) {
        Array arr;
        arr.name = krt_member(*file_, a, "name", Json::Type::String).as_string();
        arr.role = krt_member(*file_, a, "role", Json::Type::String).as_string();
        for (const Json& d : krt_member(*file_, a, "shape", Json::Type::Array).items()) {
          if (!d.is_integer() || d.as_number() < 0 || d.as_number() > 1e12) {
            krt_bad_index(*file_, "array '" + arr.name + "' has a bad shape");
          }
          arr.shape.push_back(static_cast<int64_t>(d.as_number()));
        }
        arr.stored_bytes = unsigned_member(*file_, a, "stored_bytes");
        const uint64_t offset = unsigned_member(*file_, a, "offset");
        if (offset % alignof(float) != 0)
          krt_bad_index(*file_, "array '" + arr.name + "' misaligned");
        // The byte size, bounded by the section as it is multiplied: dims of up to 1e12 each would
        // overflow shape_numel, or wrap numel * 4 to a size that fits.
        const uint64_t limit = file_->section_unverified("weights").size();
        uint64_t bytes = sizeof(float);
        for (int64_t d : arr.shape) {
          if (d != 0 && bytes > limit / static_cast<uint64_t>(d)) {
            krt_bad_index(*file_, "array '" + arr.name + "' is larger than its section");
          }
          bytes *= static_cast<uint64_t>(d);
        }
        arr.bytes = file_->range("weights", offset, bytes, "array '" + arr.name + "'");
        const uint64_t crc = unsigned_member(*file_, a, "crc");
        if (crc > UINT32_MAX) krt_bad_index(*file_, "array '" + arr.name + "' has a bad checksum");
        arr.crc = static_cast<uint32_t>(crc);
        c.arrays.push_back(std::move(arr));
      }
      std::string key = call_key(c.names, c.classes, c.leaves);
      calls_.emplace(std::move(key), std::move(c));
    }
  }

  std::vector<StoredWeight> weights_for(const LayerPath& path,
                                        const std::vector<std::string>& sibling_leaves,
                                        const Dialect&) const override {
    auto it = calls_.find(call_key(path.names, path.classes, sibling_leaves));
    if (it != calls_.end()) {
      const Call& c = it->second;
      std::vector<StoredWeight> out;
      for (const Array& a : c.arrays) {
        StoredWeight w;
        w.name = a.name;
        w.role = a.role;
        w.shape = a.shape;
        w.stored_bytes = a.stored_bytes;
        w.load = [file = file_, a, verify = verify_]() {
          if (verify) file->verify_crc(a.bytes, a.crc, "array '" + a.name + "'");
          return Tensor::view(a.shape, reinterpret_cast<const float*>(a.bytes.data()), file);
        };
        out.push_back(std::move(w));
      }
      return out;
    }
    return {};
  }

  std::vector<std::string> weighted_layer_names() const override { return weighted_; }

 private:
  struct Array {
    std::string name, role;
    Shape shape;
    uint64_t stored_bytes = 0;
    std::span<const std::byte> bytes;
    uint32_t crc = 0;
  };
  struct Call {
    std::vector<std::string> names, classes, leaves;
    std::vector<Array> arrays;
  };
  std::shared_ptr<const krt::File> file_;
  bool verify_;
  // A call's path, classes and leaves joined with separators no Keras name holds.
  static std::string call_key(const std::vector<std::string>& names,
                              const std::vector<std::string>& classes,
                              const std::vector<std::string>& leaves) {
    std::string key;
    for (const auto* list : {&names, &classes, &leaves}) {
      for (const std::string& n : *list) key += n + '\x1f';
      key += '\x1e';
    }
    return key;
  }

  std::vector<std::string> weighted_;
  std::unordered_map<std::string, Call> calls_;
};

}  // namespace

void krt_bad_index(const krt::File& file, const std::string& what) {
  throw Error(ErrorCode::InvalidFile,
              file.path() + ": corrupt .krt index: " + what + " (convert the model again)");
}

const Json& krt_member(const krt::File& file, const Json& j, std::string_view key,
                       Json::Type type) {
  const Json* m = j.is_object() ? j.find(key) : nullptr;
  if (m == nullptr || m->type() != type) krt_bad_index(file, "'" + std::string(key) + "' missing");
  return *m;
}

std::unique_ptr<WeightSource> make_recording_weights(const WeightSource& inner,
                                                     WeightRecord* record) {
  return std::make_unique<RecordingWeights>(inner, record);
}

std::string write_krt_keras(const KerasModel& model, krt::Writer& writer) {
  if (!model.weights_read) {
    throw Error(ErrorCode::Internal, "the model was not loaded for conversion (no weight record)");
  }
  writer.begin_section("config");
  writer.append(std::as_bytes(std::span(model.config_text)));

  std::string out = "{\"format\":";
  append_json_string(out, model.format);
  out += ",\"keras_version\":";
  append_json_string(out, model.dialect.keras_version);
  out += ",\"backend\":";
  append_json_string(out, model.dialect.backend);
  out += ",\"major\":";
  append_int(out, model.dialect.major);
  out += ",\"weighted_layers\":";
  append_string_array(out, model.weights_read->weighted_layer_names);
  out += ",\"calls\":[";
  writer.begin_section("weights");
  // The same array reached by two calls (a layer's own call and the summary's) is written once.
  std::map<std::string, std::pair<uint64_t, uint32_t>> written;
  bool first_call = true;
  for (const WeightRecord::Call& c : model.weights_read->calls) {
    out += first_call ? "{\"path\":" : ",{\"path\":";
    first_call = false;
    append_string_array(out, c.path.names);
    out += ",\"classes\":";
    append_string_array(out, c.path.classes);
    out += ",\"leaves\":";
    append_string_array(out, c.sibling_leaves);
    out += ",\"arrays\":[";
    for (size_t i = 0; i < c.weights.size(); ++i) {
      const StoredWeight& w = c.weights[i];
      std::string id;
      for (const std::string& n : c.path.names) id += n + "/";
      id += "|" + w.name;
      auto it = written.find(id);
      if (it == written.end()) {
        Tensor t = w.load();
        auto bytes = std::as_bytes(t.values());
        const uint64_t at = writer.append(bytes, 64);
        it = written.emplace(id, std::make_pair(at, krt::crc32(bytes))).first;
      }
      out += i ? ",{\"name\":" : "{\"name\":";
      append_json_string(out, w.name);
      out += ",\"role\":";
      append_json_string(out, w.role);
      out += ",\"shape\":[";
      for (size_t d = 0; d < w.shape.size(); ++d) {
        if (d) out += ',';
        append_int(out, w.shape[d]);
      }
      out += "],\"stored_bytes\":";
      append_uint(out, w.stored_bytes);
      out += ",\"offset\":";
      append_uint(out, it->second.first);
      out += ",\"crc\":";
      append_uint(out, it->second.second);
      out += '}';
    }
    out += "]}";
  }
  out += "]}";
  return out;
}

KerasModel load_krt_keras(std::shared_ptr<const krt::File> file, std::shared_ptr<const Json> index,
                          bool verify) {
  const Json& k = krt_member(*file, *index, "keras", Json::Type::Object);
  KerasModel result;
  result.format = krt_member(*file, k, "format", Json::Type::String).as_string();
  result.dialect.keras_version =
      krt_member(*file, k, "keras_version", Json::Type::String).as_string();
  result.dialect.backend = krt_member(*file, k, "backend", Json::Type::String).as_string();
  const uint64_t major = unsigned_member(*file, k, "major");
  if (major < 1 || major > 3) krt_bad_index(*file, "Keras major version " + std::to_string(major));
  result.dialect.major = static_cast<int>(major);
  std::span<const std::byte> text = file->section("config");
  result.config_text.assign(reinterpret_cast<const char*>(text.data()), text.size());
  Json config = Json::parse(result.config_text, file->path() + ": config");
  KrtWeights weights(file, k, verify);
  result.model = build_model(config, weights, result.dialect, file->path());
  result.config = std::make_shared<const Json>(std::move(config));
  result.storage = file;
  result.krt = std::move(file);
  result.krt_index = std::move(index);
  return result;
}

}  // namespace kerasrt::keras
