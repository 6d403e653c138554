// kerasrt info / predict / convert: the model-level subcommands.
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "base/json_writer.h"
#include "base/npy.h"
#include "cli/cli.h"
#include "kerasrt/model.h"

namespace kerasrt::cli {

namespace {

double ms_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += shape[i] < 0 ? "None" : std::to_string(shape[i]);
  }
  if (shape.size() == 1) s += ",";
  return s + ")";
}

void append_shape_json(std::string& out, const std::vector<int64_t>& shape) {
  out += '[';
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) out += ", ";
    if (shape[i] < 0) {
      out += "null";
    } else {
      append_int(out, shape[i]);
    }
  }
  out += ']';
}

void append_tensor_infos(std::string& out, const std::vector<TensorInfo>& infos) {
  out += '[';
  for (size_t i = 0; i < infos.size(); ++i) {
    if (i) out += ", ";
    out += "{\"name\": ";
    append_json_string(out, infos[i].name);
    out += ", \"shape\": ";
    append_shape_json(out, infos[i].shape);
    out += ", \"dtype\": ";
    append_json_string(out, infos[i].dtype);
    out += '}';
  }
  out += ']';
}

std::string human_bytes(uint64_t bytes) {
  char buf[32];
  if (bytes >= (1u << 20)) {
    std::snprintf(buf, sizeof buf, "%.2f MB", static_cast<double>(bytes) / (1 << 20));
  } else if (bytes >= 1024) {
    std::snprintf(buf, sizeof buf, "%.2f KB", static_cast<double>(bytes) / 1024);
  } else {
    std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(bytes));
  }
  return buf;
}

void print_summary(const Model& model, const std::string& path, double load_ms) {
  std::printf("Model: %s (%s, Keras %s)\n", path.c_str(), model.format().c_str(),
              model.keras_version().empty() ? "unknown" : model.keras_version().c_str());
  std::string rule(78, '_');
  std::printf("%s\n%-36s %-28s %12s\n%s\n", rule.c_str(), "Layer (type)", "Output Shape", "Param #",
              std::string(78, '=').c_str());
  for (const LayerInfo& l : model.layers()) {
    std::string name = l.name + " (" + l.class_name + ")";
    std::string shape;
    for (size_t i = 0; i < l.output_shapes.size(); ++i) {
      shape += (i ? ", " : "") + shape_text(l.output_shapes[i]);
    }
    std::printf("%-36s %-28s %12lld\n", name.c_str(), shape.c_str(),
                static_cast<long long>(l.params));
  }
  std::printf("%s\n", std::string(78, '=').c_str());
  std::printf("Total params: %lld (%s)\n", static_cast<long long>(model.params()),
              human_bytes(model.weight_bytes()).c_str());
  for (const TensorInfo& t : model.inputs()) {
    std::printf("Input:  %s %s %s\n", t.name.c_str(), shape_text(t.shape).c_str(), t.dtype.c_str());
  }
  for (const TensorInfo& t : model.outputs()) {
    std::printf("Output: %s %s %s\n", t.name.c_str(), shape_text(t.shape).c_str(), t.dtype.c_str());
  }
  std::printf("Loaded in %.1f ms\n", load_ms);
}

std::string info_json(const Model& model) {
  std::string out = "{\"keras_version\": ";
  append_json_string(out, model.keras_version());
  out += ", \"format\": ";
  append_json_string(out, model.format());
  out += ", \"inputs\": ";
  append_tensor_infos(out, model.inputs());
  out += ", \"outputs\": ";
  append_tensor_infos(out, model.outputs());
  out += ", \"layers\": [";
  for (size_t i = 0; i < model.layers().size(); ++i) {
    const LayerInfo& l = model.layers()[i];
    if (i) out += ", ";
    out += "{\"name\": ";
    append_json_string(out, l.name);
    out += ", \"class\": ";
    append_json_string(out, l.class_name);
    out += ", \"output_shape\": ";
    // One output: its shape; several (e.g. an RNN with return_state): a list of shapes.
    if (l.output_shapes.size() == 1) {
      append_shape_json(out, l.output_shapes[0]);
    } else {
      out += '[';
      for (size_t k = 0; k < l.output_shapes.size(); ++k) {
        if (k) out += ", ";
        append_shape_json(out, l.output_shapes[k]);
      }
      out += ']';
    }
    out += ", \"params\": ";
    append_int(out, l.params);
    out += '}';
  }
  out += "], \"params\": ";
  append_int(out, model.params());
  out += ", \"weight_bytes\": ";
  append_uint(out, model.weight_bytes());
  out += "}\n";
  return out;
}

[[noreturn]] void usage_error(const std::string& what) {
  throw UsageError(what);
}

void make_directory(const std::string& dir) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) throw Error(ErrorCode::Io, dir + ": exists and is not a directory");
    return;
  }
  if (::mkdir(dir.c_str(), 0777) != 0)
    throw Error(ErrorCode::Io, dir + ": cannot create directory");
}

}  // namespace

int info_main(const Args& args) {
  std::string path;
  bool json = false;
  LoadOptions options;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string_view a = args[i];
    if (a == "--json") {
      json = true;
    } else if (a == "--verify") {
      options.verify_checksums = true;
    } else if (a == "--weights") {
      if (i + 1 >= args.size()) usage_error("--weights needs a file");
      options.weights_path = args[++i];
    } else if (!a.empty() && a[0] == '-') {
      usage_error("unknown option '" + std::string(a) + "'");
    } else if (path.empty()) {
      path = a;
    } else {
      usage_error("more than one model file given");
    }
  }
  if (path.empty()) usage_error("no model file given");
  auto start = std::chrono::steady_clock::now();
  Model model = Model::load(path, options);
  double load_ms = ms_since(start);
  if (json) {
    std::fputs(info_json(model).c_str(), stdout);
  } else {
    print_summary(model, path, load_ms);
  }
  return 0;
}

int predict_main(const Args& args) {
  std::string path;
  std::string out_dir;
  std::vector<std::pair<std::string, std::string>> inputs;  // (name or "", file)
  LoadOptions options;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string_view a = args[i];
    if (a == "--weights") {
      if (i + 1 >= args.size()) usage_error("--weights needs a file");
      options.weights_path = args[++i];
    } else if (a == "-i" || a == "-o") {
      if (i + 1 >= args.size()) usage_error(std::string(a) + " needs a value");
      std::string value(args[++i]);
      if (a == "-o") {
        out_dir = value;
      } else {
        size_t eq = value.find('=');
        if (eq != std::string::npos && eq > 0 && value.find('/') > eq) {
          inputs.emplace_back(value.substr(0, eq), value.substr(eq + 1));
        } else {
          inputs.emplace_back("", value);
        }
      }
    } else if (!a.empty() && a[0] == '-') {
      usage_error("unknown option '" + std::string(a) + "'");
    } else if (path.empty()) {
      path = a;
    } else {
      usage_error("more than one model file given");
    }
  }
  if (path.empty()) usage_error("no model file given");
  if (inputs.empty()) usage_error("no input given (-i IN.npy)");

  Model model = Model::load(path, options);
  const std::vector<TensorInfo>& wanted = model.inputs();
  std::vector<Array> arrays(wanted.size());
  std::vector<bool> given(wanted.size(), false);
  size_t positional = 0;
  for (const auto& [name, file] : inputs) {
    size_t slot = wanted.size();
    if (name.empty()) {
      while (positional < wanted.size() && given[positional]) ++positional;
      slot = positional;
    } else {
      for (size_t k = 0; k < wanted.size(); ++k) {
        if (wanted[k].name == name) slot = k;
      }
      if (slot == wanted.size()) {
        std::string names;
        for (const TensorInfo& t : wanted) names += (names.empty() ? "" : ", ") + t.name;
        usage_error("the model has no input named '" + name + "' (inputs: " + names + ")");
      }
    }
    if (slot >= wanted.size()) {
      usage_error("more inputs given than the model takes (" + std::to_string(wanted.size()) + ")");
    }
    if (given[slot]) usage_error("input '" + wanted[slot].name + "' given twice");
    NpyArray npy = read_npy(file);
    arrays[slot] = Array(std::move(npy.shape), std::move(npy.data));
    given[slot] = true;
  }
  for (size_t k = 0; k < wanted.size(); ++k) {
    if (!given[k]) usage_error("input '" + wanted[k].name + "' not given");
  }
  auto start = std::chrono::steady_clock::now();
  std::vector<Array> outputs = model.predict(arrays);
  double predict_ms = ms_since(start);
  if (!out_dir.empty()) {
    make_directory(out_dir);
    for (size_t k = 0; k < outputs.size(); ++k) {
      write_npy(out_dir + "/" + std::to_string(k) + ".npy", outputs[k].data, outputs[k].shape);
    }
    return 0;
  }
  // Without -o: print the outputs (the first values of large ones) for a person to read.
  // One line per sample (the first values of each when they are many).
  for (size_t k = 0; k < outputs.size(); ++k) {
    const Array& out = outputs[k];
    std::printf("output %zu '%s' %s:\n", k, model.outputs()[k].name.c_str(),
                shape_text(out.shape).c_str());
    const size_t rows = out.shape.empty() ? 1 : static_cast<size_t>(out.shape[0]);
    const size_t per_row = rows ? out.data.size() / rows : 0;
    for (size_t r = 0; r < std::min<size_t>(rows, 16); ++r) {
      std::printf("  [%zu]", r);
      const size_t shown = std::min<size_t>(per_row, 12);
      for (size_t i = 0; i < shown; ++i) {
        std::printf(" %.6g", static_cast<double>(out.data[r * per_row + i]));
      }
      std::printf("%s\n", shown < per_row ? " ..." : "");
    }
    if (rows > 16) std::printf("  ... %zu more\n", rows - 16);
  }
  std::printf("predicted in %.1f ms\n", predict_ms);
  return 0;
}

// "1,224,224,3" -> {1, 224, 224, 3}
std::vector<int64_t> parse_shape(std::string_view text) {
  std::vector<int64_t> shape;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(',', start);
    if (end == std::string_view::npos) end = text.size();
    std::string part(text.substr(start, end - start));
    char* rest = nullptr;
    errno = 0;
    long long v = std::strtoll(part.c_str(), &rest, 10);
    if (part.empty() || *rest != '\0' || errno != 0 || v < 1) {
      usage_error("--shape wants positive sizes separated by commas, got '" + std::string(text) +
                  "'");
    }
    shape.push_back(v);
    start = end + 1;
  }
  return shape;
}

int convert_main(const Args& args) {
  std::string path;
  std::string out;
  ConvertOptions options;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string_view a = args[i];
    if (a == "--weights" || a == "--shape" || a == "--threads") {
      if (i + 1 >= args.size()) usage_error(std::string(a) + " needs a value");
      std::string_view v = args[++i];
      if (a == "--weights") {
        options.weights_path = v;
      } else if (a == "--shape") {
        options.input_shapes.push_back(parse_shape(v));
      } else {
        options.num_threads = static_cast<int>(parse_shape(v).at(0));
      }
    } else if (!a.empty() && a[0] == '-') {
      usage_error("unknown option '" + std::string(a) + "'");
    } else if (path.empty()) {
      path = a;
    } else if (out.empty()) {
      out = a;
    } else {
      usage_error("more than two files given");
    }
  }
  if (out.empty()) usage_error("give the model file and the .krt file to write");
  auto start = std::chrono::steady_clock::now();
  ConvertResult r = convert_model(path, out, options);
  std::printf("wrote %s: %.1f MB (Keras-layout weights %.1f MB, pre-packed %.1f MB", out.c_str(),
              static_cast<double>(r.file_bytes) / 1e6, static_cast<double>(r.weight_bytes) / 1e6,
              static_cast<double>(r.packed_bytes) / 1e6);
  if (r.packed_for.empty()) {
    std::printf(": the model has unknown input dims; give --shape to pre-pack)");
  } else {
    std::printf(" for input");
    for (const auto& s : r.packed_for) std::printf(" %s", shape_text(s).c_str());
    std::printf(")");
  }
  std::printf(" in %.0f ms\n", ms_since(start));
  return 0;
}

}  // namespace kerasrt::cli
