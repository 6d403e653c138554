// The .krt format (kerasrt convert) end to end.
//
// Round trip: every conformance fixture (tests/models/fixtures/manifest.json) converted to a .krt
// predicts bit for bit what its source file predicts, and within the conformance rule of
// TensorFlow's recorded outputs; lazy and eager preparation agree; models with unknown dims
// convert with and without packs; stateful models carry and reset their states.
//
// Corruption: truncations, bit flips in every checked part of the container, and index sections
// that are valid JSON with wrong values (rewritten with correct checksums, so that the index
// checks themselves run) must end in Error(InvalidFile) -- never a crash, never a silent load.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <random>
#include <sstream>

#include "base/npy.h"
#include "keras/json.h"
#include "kerasrt/model.h"
#include "krt/krt_file.h"

namespace kerasrt {
namespace {

namespace fs = std::filesystem;

const std::string kFixtures = KERASRT_FIXTURES_DIR;

// One scratch directory per test process (CTest runs the tests as separate processes in
// parallel), removed when the process's tests end.
class ScratchDir : public testing::Environment {
 public:
  static const fs::path& path() {
    static const fs::path p = [] {
      fs::path d = fs::temp_directory_path() / ("kerasrt_krt_test_" + std::to_string(::getpid()));
      fs::create_directories(d);
      return d;
    }();
    return p;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(path(), ec);
  }
};
testing::Environment* const scratch_env = testing::AddGlobalTestEnvironment(new ScratchDir);

std::string scratch(const std::string& name) {
  return (ScratchDir::path() / name).string();
}

std::vector<std::byte> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> c((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::byte> out(c.size());
  std::memcpy(out.data(), c.data(), c.size());
  return out;
}

void write_bytes(const std::string& path, std::span<const std::byte> bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << path;
}

// ---- Fixture runs (the conformance cases) --------------------------------------------------

const keras::Json& manifest() {
  static const keras::Json m = [] {
    std::ifstream in(kFixtures + "/manifest.json");
    std::stringstream text;
    text << in.rdbuf();
    return keras::Json::parse(text.str(), "manifest.json");
  }();
  return m;
}

struct FixtureRun {
  std::string case_name, writer, file, architecture;
  const keras::Json* case_json = nullptr;

  std::string dir() const { return kFixtures + "/" + case_name; }
  // The path Model::load/convert_model take and the weights option that goes with it.
  std::string model_path() const {
    return dir() + "/" + (architecture.empty() ? file : architecture);
  }
  std::string weights_path() const { return architecture.empty() ? "" : dir() + "/" + file; }
};

void PrintTo(const FixtureRun& r, std::ostream* os) {
  *os << r.case_name << "/" << r.file;
}

std::vector<FixtureRun> fixture_runs() {
  std::vector<FixtureRun> runs;
  for (const keras::Json& c : manifest().find("cases")->items()) {
    for (const auto& [writer, entry] : c.find("writers")->members()) {
      const keras::Json* ok = entry.find("ok");
      if (ok == nullptr || !ok->as_bool()) continue;
      const keras::Json* arch = entry.find("architecture");
      for (const keras::Json& f : entry.find("files")->items()) {
        runs.push_back(FixtureRun{c.find("name")->as_string(), writer, f.as_string(),
                                  arch ? arch->as_string() : "", &c});
      }
    }
  }
  return runs;
}

// tests/models/known_unsupported.txt: "<case>/<file> <words of the Unsupported error>".
bool known_unsupported(const FixtureRun& run) {
  std::ifstream in(kFixtures + "/../known_unsupported.txt");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(run.case_name + "/" + run.file + " ", 0) == 0) return true;
  }
  return false;
}

struct InputSet {
  std::string id;
  std::vector<Array> inputs;
  std::vector<std::string> expected_files;  // TF's outputs for this run's writer
};

std::vector<InputSet> input_sets(const FixtureRun& run) {
  std::vector<InputSet> sets;
  for (const keras::Json& s : run.case_json->find("sets")->items()) {
    InputSet set{s.find("id")->as_string(), {}, {}};
    for (const keras::Json& in : s.find("inputs")->items()) {
      NpyArray a = read_npy(run.dir() + "/" + in.find("file")->as_string());
      set.inputs.emplace_back(a.shape, a.data);
    }
    for (const keras::Json& out : s.find("outputs")->find(run.writer)->items()) {
      set.expected_files.push_back(run.dir() + "/" + out.find("file")->as_string());
    }
    sets.push_back(std::move(set));
  }
  return sets;
}

// ---- Comparisons ---------------------------------------------------------------------------

void expect_identical(const std::vector<Array>& got, const std::vector<Array>& want,
                      const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_EQ(got[i].shape, want[i].shape) << what << " output " << i;
    ASSERT_EQ(got[i].data.size(), want[i].data.size()) << what << " output " << i;
    // Bytes, not values: NaN must be the same NaN, -0 the same -0.
    EXPECT_EQ(std::memcmp(got[i].data.data(), want[i].data.data(), got[i].data.size() * 4), 0)
        << what << " output " << i << " differs from the source model's";
  }
}

// The conformance rule: |got - tf| <= 1e-4 * max(1, |tf|) for every element.
void expect_matches_tf(const Array& got, const std::string& npy_file, const std::string& what) {
  NpyArray tf = read_npy(npy_file);
  ASSERT_EQ(got.shape, tf.shape) << what;
  for (size_t k = 0; k < tf.data.size(); ++k) {
    const double bound = 1e-4 * std::max(1.0, std::fabs(double{tf.data[k]}));
    if (!(std::fabs(double{got.data[k]} - tf.data[k]) <= bound)) {
      ADD_FAILURE() << what << ": element " << k << " is " << got.data[k] << ", TensorFlow says "
                    << tf.data[k];
      return;
    }
  }
}

ErrorCode load_error(const std::string& path, const LoadOptions& options = {}) {
  try {
    Model::load(path, options);
  } catch (const Error& e) {
    return e.code();
  }
  ADD_FAILURE() << path << " loaded";
  return ErrorCode::Internal;
}

bool has_unknown_dims(const Model& m) {
  for (const TensorInfo& in : m.inputs()) {
    for (size_t d = 1; d < in.shape.size(); ++d) {
      if (in.shape[d] < 0) return true;
    }
  }
  return false;
}

void expect_same_description(const Model& a, const Model& b) {
  ASSERT_EQ(a.inputs().size(), b.inputs().size());
  for (size_t i = 0; i < a.inputs().size(); ++i) {
    EXPECT_EQ(a.inputs()[i].name, b.inputs()[i].name);
    EXPECT_EQ(a.inputs()[i].shape, b.inputs()[i].shape);
    EXPECT_EQ(a.inputs()[i].dtype, b.inputs()[i].dtype);
  }
  ASSERT_EQ(a.outputs().size(), b.outputs().size());
  for (size_t i = 0; i < a.outputs().size(); ++i) {
    EXPECT_EQ(a.outputs()[i].name, b.outputs()[i].name);
    EXPECT_EQ(a.outputs()[i].shape, b.outputs()[i].shape);
  }
  ASSERT_EQ(a.layers().size(), b.layers().size());
  for (size_t i = 0; i < a.layers().size(); ++i) {
    EXPECT_EQ(a.layers()[i].name, b.layers()[i].name);
    EXPECT_EQ(a.layers()[i].output_shapes, b.layers()[i].output_shapes);
  }
  EXPECT_EQ(a.params(), b.params());
  EXPECT_EQ(a.keras_version(), b.keras_version());
  EXPECT_EQ(a.format(), b.format());
}

// ---- Round trip ----------------------------------------------------------------------------

class KrtRoundTrip : public testing::TestWithParam<FixtureRun> {};

TEST(KrtFixtures, ManifestListsRuns) {
  EXPECT_GT(fixture_runs().size(), 20u);
}

// Converts, then checks every input set of the case through the .krt (lazy and eager) against
// the source model (bit-identical) and TensorFlow (the conformance rule).
TEST_P(KrtRoundTrip, PredictsLikeTheSourceAndTensorFlow) {
  const FixtureRun& run = GetParam();
  ConvertOptions convert_options;
  convert_options.weights_path = run.weights_path();
  const std::string krt = scratch("model.krt");
  if (known_unsupported(run)) {
    try {
      convert_model(run.model_path(), krt, convert_options);
      FAIL() << "converts: remove it from known_unsupported.txt";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::Unsupported) << e.what();
    }
    return;
  }
  LoadOptions source_options;
  source_options.weights_path = run.weights_path();
  Model source = Model::load(run.model_path(), source_options);
  const bool unknown_dims = has_unknown_dims(source);

  ConvertResult converted = convert_model(run.model_path(), krt, convert_options);
  EXPECT_EQ(converted.file_bytes, fs::file_size(krt));
  if (unknown_dims) {
    // Nothing to pack for: the kernels pack at the first call, as from the source file.
    EXPECT_TRUE(converted.packed_for.empty());
    EXPECT_EQ(converted.packed_bytes, 0u);
  } else {
    // Packed for the declared shapes with batch 1; the sets with batch 3 check that another
    // batch still predicts right (those kernels pack again from the Keras-layout weights).
    ASSERT_EQ(converted.packed_for.size(), source.inputs().size());
    for (size_t i = 0; i < source.inputs().size(); ++i) {
      std::vector<int64_t> want = source.inputs()[i].shape;
      if (want[0] < 0) want[0] = 1;
      EXPECT_EQ(converted.packed_for[i], want);
    }
  }

  Model lazy = Model::load(krt);
  LoadOptions eager_options;
  eager_options.prepare = LoadOptions::Prepare::Eager;
  eager_options.verify_checksums = true;
  Model eager = Model::load(krt, eager_options);
  expect_same_description(source, lazy);

  const std::vector<InputSet> sets = input_sets(run);
  for (const InputSet& set : sets) {
    const std::vector<Array> want = source.predict(set.inputs);
    const std::vector<Array> got = lazy.predict(set.inputs);
    expect_identical(got, want, "set " + set.id + " (lazy)");
    expect_identical(eager.predict(set.inputs), want, "set " + set.id + " (eager)");
    ASSERT_EQ(got.size(), set.expected_files.size());
    for (size_t j = 0; j < got.size(); ++j) {
      expect_matches_tf(got[j], set.expected_files[j],
                        "set " + set.id + " output " + std::to_string(j));
    }
  }

  if (unknown_dims) {
    // Packed for the first set's shapes (--shape): those calls use the packs, the others (other
    // sizes of the unknown dims) pack again; all agree with the source.
    ConvertOptions shaped = convert_options;
    for (const Array& a : sets[0].inputs) shaped.input_shapes.push_back(a.shape);
    ConvertResult r = convert_model(run.model_path(), krt, shaped);
    EXPECT_EQ(r.packed_for, shaped.input_shapes);
    Model packed = Model::load(krt);
    for (const InputSet& set : sets) {
      expect_identical(packed.predict(set.inputs), source.predict(set.inputs),
                       "set " + set.id + " (packed for " + sets[0].id + ")");
    }
  }
}

std::string run_name(const testing::TestParamInfo<FixtureRun>& info) {
  std::string s = info.param.case_name + "_" + info.param.file;
  for (char& c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return s;
}

INSTANTIATE_TEST_SUITE_P(Fixtures, KrtRoundTrip, testing::ValuesIn(fixture_runs()), run_name);

// Stateful RNNs (tests/models/stateful, tools/fixtures/gen_stateful.py): three calls, the third
// after reset_states(), give the source's outputs and TensorFlow's.
class KrtStateful : public testing::TestWithParam<std::string> {};

TEST_P(KrtStateful, CarriesStatesAcrossCallsUntilReset) {
  const std::string dir = kFixtures + "/../stateful/";
  const std::string writer = GetParam();
  const std::string krt = scratch("stateful.krt");
  convert_model(dir + writer + ".h5", krt);
  Model source = Model::load(dir + writer + ".h5");
  Model model = Model::load(krt);
  NpyArray in = read_npy(dir + "in.npy");
  const std::vector<Array> x{Array(in.shape, in.data)};
  for (int call = 1; call <= 3; ++call) {
    if (call == 3) {
      source.reset_states();
      model.reset_states();
    }
    const std::vector<Array> got = model.predict(x);
    expect_identical(got, source.predict(x), "call " + std::to_string(call));
    expect_matches_tf(got[0], dir + "out_" + writer + "_" + std::to_string(call) + ".npy",
                      "call " + std::to_string(call));
  }
}

INSTANTIATE_TEST_SUITE_P(Writers, KrtStateful, testing::Values("k3", "k2"));

// ---- Corruption ----------------------------------------------------------------------------

// A converted model with packs for two convolutions and a dense layer, and six weight arrays.
constexpr const char* kCorruptCase = "seq_conv";

// The container read independently of src/krt (the layout documented in krt_file.h), so that
// the tests can damage exactly one part.
struct Image {
  struct Section {
    std::string name;
    uint64_t offset = 0, size = 0;
  };
  std::vector<std::byte> bytes;
  uint64_t table = 0;
  std::vector<Section> sections;

  static constexpr size_t kEntryBytes = 48;

  explicit Image(std::vector<std::byte> b) : bytes(std::move(b)) {
    table = u64(16);
    const uint32_t count = u32(12);
    for (uint32_t i = 0; i < count; ++i) {
      const size_t e = table + i * kEntryBytes;
      Section s;
      s.name.assign(reinterpret_cast<const char*>(bytes.data() + e),
                    strnlen(reinterpret_cast<const char*>(bytes.data() + e), 24));
      s.offset = u64(e + 24);
      s.size = u64(e + 32);
      sections.push_back(s);
    }
  }
  uint64_t u64(size_t at) const {
    uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(bytes[at + i]);
    return v;
  }
  uint32_t u32(size_t at) const { return static_cast<uint32_t>(u64(at) & 0xffffffffu); }
  const Section& section(const std::string& name) const {
    for (const Section& s : sections) {
      if (s.name == name) return s;
    }
    throw std::runtime_error("no section " + name);
  }
  std::string text(const std::string& name) const {
    const Section& s = section(name);
    return std::string(reinterpret_cast<const char*>(bytes.data() + s.offset), s.size);
  }
  // Writes the same sections to `path` through krt::Writer (so every checksum is right), with
  // section `name` replaced by `content`.
  void rewrite(const std::string& path, const std::string& name, const std::string& content) const {
    krt::Writer w(path);
    for (const Section& s : sections) {
      w.begin_section(s.name);
      if (s.name == name) {
        w.append(std::as_bytes(std::span(content)));
      } else {
        w.append(std::span(bytes).subspan(s.offset, s.size));
      }
    }
    w.finish();
  }
};

class KrtCorruption : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    good_ = new std::string(scratch("good.krt"));
    convert_model(kFixtures + "/" + kCorruptCase + "/k3.h5", *good_);
    image_ = new Image(read_bytes(*good_));
  }
  static void TearDownTestSuite() {
    delete image_;
    delete good_;
  }

  static std::vector<Array> inputs() {
    NpyArray a = read_npy(kFixtures + "/" + kCorruptCase + "/in_b1_0.npy");
    return {Array(a.shape, a.data)};
  }
  // Writes the good file with byte `at` xor `mask`.
  static std::string flipped(size_t at, uint8_t mask) {
    std::vector<std::byte> b = image_->bytes;
    b[at] ^= std::byte{mask};
    const std::string path = scratch("flipped.krt");
    write_bytes(path, b);
    return path;
  }
  // Every single-bit flip in [begin, end) must fail the load with `code`.
  static void expect_flips_refused(size_t begin, size_t end, ErrorCode code, const char* part) {
    for (size_t at = begin; at < end; ++at) {
      for (int bit = 0; bit < 8; ++bit) {
        const std::string path = flipped(at, static_cast<uint8_t>(1u << bit));
        try {
          Model::load(path);
          ADD_FAILURE() << part << ": bit " << bit << " of byte " << at - begin
                        << " flipped, loads";
        } catch (const Error& e) {
          EXPECT_EQ(e.code(), code) << part << " byte " << at << " bit " << bit << ": " << e.what();
        }
      }
    }
  }

  static std::string* good_;
  static Image* image_;
};

std::string* KrtCorruption::good_ = nullptr;
Image* KrtCorruption::image_ = nullptr;

TEST_F(KrtCorruption, TheGoodFileLoadsAndVerifies) {
  LoadOptions options;
  options.verify_checksums = true;
  options.prepare = LoadOptions::Prepare::Eager;
  Model m = Model::load(*good_, options);
  EXPECT_EQ(m.predict(inputs()).size(), 1u);
  for (const char* name : {"config", "weights", "packs", "index"}) {
    EXPECT_NO_THROW(image_->section(name)) << name;
    EXPECT_EQ(image_->section(name).offset % krt::kSectionAlignment, 0u) << name;
  }
}

// Cut at every section boundary (and one byte either side) and at 200 random points.
TEST_F(KrtCorruption, TruncatedFilesAreRefused) {
  const size_t size = image_->bytes.size();
  std::vector<size_t> cuts = {8, 9, 63, 64, 65, image_->table, image_->table + 1, size - 1};
  for (const Image::Section& s : image_->sections) {
    for (uint64_t at : {s.offset, s.offset + s.size}) {
      cuts.insert(cuts.end(), {at - 1, at, at + 1});
    }
  }
  for (size_t i = 0; i < image_->sections.size(); ++i) {
    cuts.push_back(image_->table + i * Image::kEntryBytes);
  }
  std::mt19937 rng(20261125);
  for (int i = 0; i < 200; ++i)
    cuts.push_back(std::uniform_int_distribution<size_t>(8, size - 1)(rng));
  const std::string path = scratch("truncated.krt");
  for (size_t cut : cuts) {
    ASSERT_LT(cut, size);
    write_bytes(path, std::span(image_->bytes).first(cut));
    EXPECT_EQ(load_error(path), ErrorCode::InvalidFile) << "cut at " << cut;
  }
  // Shorter than the magic: not recognised as a .krt at all, still a clean refusal.
  for (size_t cut : {0, 1, 7}) {
    write_bytes(path, std::span(image_->bytes).first(cut));
    EXPECT_EQ(load_error(path), ErrorCode::InvalidFile) << "cut at " << cut;
  }
}

TEST_F(KrtCorruption, HeaderFlipsAreRefused) {
  // Bytes 0-7 are the magic: a damaged one is not a .krt any more and is refused by the format
  // detection instead; the rest is covered by the header checksum.
  for (size_t at = 0; at < 8; ++at) {
    EXPECT_EQ(load_error(flipped(at, 0x01)), ErrorCode::InvalidFile) << "magic byte " << at;
  }
  expect_flips_refused(8, 64, ErrorCode::InvalidFile, "header");
}

TEST_F(KrtCorruption, AnotherFormatVersionIsUnsupported) {
  std::vector<std::byte> b = image_->bytes;
  b[8] = std::byte{2};  // format version 2, header checksum made right again
  const uint32_t crc = krt::crc32(std::span(b).first(60));
  for (int i = 0; i < 4; ++i) b[60 + i] = static_cast<std::byte>(crc >> (8 * i));
  const std::string path = scratch("v2.krt");
  write_bytes(path, b);
  try {
    Model::load(path);
    FAIL() << "loads";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::Unsupported) << e.what();
    EXPECT_NE(std::string(e.what()).find("version 2"), std::string::npos) << e.what();
  }
}

TEST_F(KrtCorruption, SectionTableFlipsAreRefused) {
  expect_flips_refused(image_->table, image_->bytes.size(), ErrorCode::InvalidFile,
                       "section table");
}

TEST_F(KrtCorruption, IndexAndConfigFlipsAreRefused) {
  for (const char* name : {"index", "config"}) {
    const Image::Section& s = image_->section(name);
    for (uint64_t at = s.offset; at < s.offset + s.size; at += 7) {
      try {
        Model::load(flipped(at, 0x10));
        ADD_FAILURE() << name << " byte " << at - s.offset << " flipped, loads";
      } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::InvalidFile) << name << ": " << e.what();
        EXPECT_NE(std::string(e.what()).find(std::string("section '") + name + "'"),
                  std::string::npos)
            << e.what();
      }
    }
  }
}

// The packs: a damaged pack loads (packs are not read at load) and is refused, by name, when a
// kernel first asks for it; with verify_checksums or eager preparation already at load.
TEST_F(KrtCorruption, APackFlipIsRefusedAtFirstUse) {
  const keras::Json index = keras::Json::parse(image_->text("index"), "index");
  const keras::Json& packs = *index.find("runtime")->find("packs");
  ASSERT_GT(packs.size(), 0u);
  const uint64_t base = image_->section("packs").offset;
  for (const keras::Json& p : packs.items()) {
    const std::string key = p.find("key")->as_string();
    const auto offset = static_cast<uint64_t>(p.find("offset")->as_number());
    const auto bytes = static_cast<uint64_t>(p.find("bytes")->as_number());
    for (uint64_t at : {offset, offset + bytes / 2, offset + bytes - 1}) {
      const std::string path = flipped(base + at, 0x80);
      Model m = Model::load(path);
      try {
        m.predict(inputs());
        ADD_FAILURE() << "pack " << key << " byte " << at - offset << " flipped, predicts";
      } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::InvalidFile) << e.what();
        EXPECT_NE(std::string(e.what()).find("pack '" + key + "'"), std::string::npos) << e.what();
      }
      LoadOptions verify;
      verify.verify_checksums = true;
      EXPECT_EQ(load_error(path, verify), ErrorCode::InvalidFile) << key;
      LoadOptions eager;
      eager.prepare = LoadOptions::Prepare::Eager;
      EXPECT_EQ(load_error(path, eager), ErrorCode::InvalidFile) << key;
    }
  }
}

// The Keras-layout weights: checked only with verify_checksums. Without it a damaged value is
// used as it is, by design: verifying would read every weight at load, which is what the format
// avoids (the header, table, index and config are always verified, packs at first use).
TEST_F(KrtCorruption, AWeightFlipIsRefusedWithVerifyChecksums) {
  const keras::Json index = keras::Json::parse(image_->text("index"), "index");
  const uint64_t base = image_->section("weights").offset;
  int arrays = 0;
  for (const keras::Json& call : index.find("keras")->find("calls")->items()) {
    for (const keras::Json& a : call.find("arrays")->items()) {
      ++arrays;
      const std::string name = a.find("name")->as_string();
      const auto offset = static_cast<uint64_t>(a.find("offset")->as_number());
      const std::string path = flipped(base + offset, 0x01);
      LoadOptions verify;
      verify.verify_checksums = true;
      try {
        Model::load(path, verify);
        ADD_FAILURE() << "array " << name << " flipped, loads with verify_checksums";
      } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::InvalidFile) << e.what();
        EXPECT_NE(std::string(e.what()).find("array '" + name + "'"), std::string::npos)
            << e.what();
      }
      EXPECT_NO_THROW(Model::load(path).predict(inputs())) << name;
    }
  }
  EXPECT_EQ(arrays, 6);
}

TEST_F(KrtCorruption, ConvertingAKrtAgainIsRefused) {
  try {
    convert_model(*good_, scratch("again.krt"));
    FAIL() << "converts";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::InvalidArgument) << e.what();
  }
  EXPECT_FALSE(fs::exists(scratch("again.krt")));
  LoadOptions options;
  options.weights_path = kFixtures + "/" + kCorruptCase + "/k3.h5";
  EXPECT_EQ(load_error(*good_, options), ErrorCode::InvalidArgument);
}

// ---- Index checks --------------------------------------------------------------------------

// One edit of the index text: the value of the first `key` after `anchor` becomes `value`
// (`anchor` empty: the first `key` at all). Values are scalars or bracketed arrays.
struct IndexEdit {
  const char* name;
  const char* anchor;
  const char* key;
  const char* value;
  // InvalidModel where the index is consistent in itself but a weight's shape is not what its
  // layer takes: the model builder refuses it naming the layer, as it would from any format.
  ErrorCode code = ErrorCode::InvalidFile;
};

void PrintTo(const IndexEdit& e, std::ostream* os) {
  *os << e.name;
}

std::string edit_index(const std::string& index, const IndexEdit& e) {
  size_t at = index.find(e.anchor);
  if (at == std::string::npos) throw std::runtime_error(std::string("no ") + e.anchor);
  at = index.find("\"" + std::string(e.key) + "\":", at);
  if (at == std::string::npos) throw std::runtime_error(std::string("no ") + e.key);
  at += std::strlen(e.key) + 3;
  size_t end = at;
  if (index[at] == '[' || index[at] == '{') {
    int depth = 0;
    do {
      if (index[end] == '[' || index[end] == '{') ++depth;
      if (index[end] == ']' || index[end] == '}') --depth;
      ++end;
    } while (depth > 0);
  } else {
    end = index.find_first_of(",}]", at);
  }
  return index.substr(0, at) + e.value + index.substr(end);
}

constexpr const char* kArray = "\"arrays\":[{";  // the first weight array (conv2d/kernel, 4-d)
constexpr const char* kBias = "conv2d/bias";     // a 1-d array after it
constexpr const char* kPack = "\"packs\":[{";    // the first pack (conv2d's kernel, 4-d)
constexpr const char* kDesc = "\"desc\":{";      // its layout

const IndexEdit kIndexEdits[] = {
    // The Keras part: types, sizes, ranges.
    {"keras_not_object", "", "keras", "[]"},
    {"format_number", "", "format", "3"},
    {"major_4", "", "major", "4"},
    {"major_negative", "", "major", "-3"},
    {"major_fraction", "", "major", "3.5"},
    {"major_string", "", "major", "\"3\""},
    {"weighted_layers_not_array", "", "weighted_layers", "\"conv2d\""},
    {"weighted_layers_numbers", "", "weighted_layers", "[1,2]"},
    {"calls_object", "", "calls", "{}"},
    {"calls_of_numbers", "", "calls", "[1]"},
    {"path_string", "", "path", "\"conv2d\""},
    {"arrays_null", "", "arrays", "null"},
    {"array_name_number", kArray, "name", "7"},
    {"array_offset_negative", kArray, "offset", "-64"},
    // 2^64 is valid JSON that the JSON reader (simdjson) cannot hold: refused as a damaged index.
    {"array_offset_huge", kArray, "offset", "18446744073709551616", ErrorCode::InvalidFile},
    {"array_offset_2_53_plus", kArray, "offset", "9007199254740993"},
    {"array_offset_1e300", kArray, "offset", "1e300"},
    {"array_offset_outside", kArray, "offset", "1048576"},
    {"array_offset_misaligned", kArray, "offset", "2"},
    {"array_offset_string", kArray, "offset", "\"0\""},
    {"array_end_outside", kBias, "offset", "2000"},
    {"array_crc_negative", kArray, "crc", "-1"},
    {"array_stored_bytes_fraction", kArray, "stored_bytes", "0.5"},
    {"array_shape_negative", kArray, "shape", "[-1,3,3,4]"},
    {"array_shape_fraction", kArray, "shape", "[3,3,3,4.5]"},
    {"array_shape_strings", kArray, "shape", "[\"3\",3,3,4]"},
    {"array_shape_larger", kArray, "shape", "[3,3,3,400]"},
    {"array_shape_overflows", kArray, "shape", "[1000000000000,1000000000000,1000000000000]"},
    {"array_shape_wraps", kArray, "shape", "[2147483648,2147483648]"},
    {"array_shape_wraps_4_bytes", kArray, "shape", "[4611686018427387904]"},
    {"array_shape_other_rank", kArray, "shape", "[108,4]", ErrorCode::InvalidModel},
    {"array_shape_transposed", kArray, "shape", "[3,3,4,3]", ErrorCode::InvalidModel},
    {"array_shape_smaller", kArray, "shape", "[3,3,3,2]", ErrorCode::InvalidModel},
    {"bias_shape_rank2", kBias, "shape", "[2,2]", ErrorCode::InvalidModel},
    {"bias_shape_empty", kBias, "shape", "[]", ErrorCode::InvalidModel},
    // The runtime part.
    {"runtime_missing", "", "runtime", "null"},
    {"isa_string", "", "isa", "\"avx\""},
    {"isa_negative", "", "isa", "-1"},
    {"plan_inputs_numbers", "", "plan_inputs", "[1,8,8,3]"},
    {"plan_inputs_negative", "", "plan_inputs", "[[-1,8,8,3]]"},
    {"packs_object", "", "packs", "{}"},
    {"pack_key_number", kPack, "key", "1"},
    {"pack_offset_negative", kPack, "offset", "-64"},
    {"pack_offset_huge", kPack, "offset", "1e19"},
    {"pack_offset_outside", kPack, "offset", "1048576"},
    {"pack_offset_misaligned", kPack, "offset", "32"},
    {"pack_bytes_not_desc_size", kPack, "bytes", "4"},
    {"pack_bytes_huge", kPack, "bytes", "1125899906842624"},
    {"pack_crc_too_large", kPack, "crc", "4294967296"},
    {"pack_desc_array", kPack, "desc", "[]"},
    {"desc_ndims_0", kDesc, "ndims", "0"},
    {"desc_ndims_13", kDesc, "ndims", "13"},
    {"desc_ndims_negative", kDesc, "ndims", "-4"},
    {"desc_ndims_fraction", kDesc, "ndims", "4.5"},
    {"desc_ndims_not_rank", kDesc, "ndims", "3"},
    {"desc_dims_short", kDesc, "dims", "[4,3,3]"},
    {"desc_dims_long", kDesc, "dims", "[4,3,3,3,3,3,3,3,3,3,3,3,3]"},
    {"desc_dims_zero", kDesc, "dims", "[0,3,3,3]"},
    {"desc_dims_huge", kDesc, "dims", "[4,3,3,1099511627777]"},
    {"desc_padded_dims_negative", kDesc, "padded_dims", "[-16,3,3,3]"},
    {"desc_padded_offsets_short", kDesc, "padded_offsets", "[0]"},
    {"desc_offset0_negative", kDesc, "offset0", "-1"},
    {"desc_strides_negative", kDesc, "strides", "[-1,1,1,1]"},
    {"desc_strides_huge", kDesc, "strides", "[4,3,3,1099511627777]"},
    {"desc_strides_grown", kDesc, "strides", "[4320,160,1440,480]"},
    {"desc_inner_idxs_out_of_range", kDesc, "inner_idxs", "[4]"},
    {"desc_inner_idxs_negative", kDesc, "inner_idxs", "[-1]"},
    {"desc_inner_idxs_unpaired", kDesc, "inner_idxs", "[0,1]"},
    {"desc_inner_blks_zero", kDesc, "inner_blks", "[0]"},
    {"desc_inner_blks_huge", kDesc, "inner_blks", "[65537]"},
    {"desc_inner_blks_13", kDesc, "inner_blks", "[1,1,1,1,1,1,1,1,1,1,1,1,1]"},
};

class KrtIndex : public KrtCorruption, public testing::WithParamInterface<IndexEdit> {};

// Every edit is refused as a damaged file: at load, or -- where the index is consistent but the
// values disagree with the model (a pack layout no kernel asks for is simply not used; a weight
// shape the layer does not take) -- by the builder or at the first call, never a crash.
TEST_P(KrtIndex, ValidJsonWithWrongValuesIsRefused) {
  const IndexEdit& edit = GetParam();
  const std::string index = edit_index(image_->text("index"), edit);
  const std::string path = scratch("index.krt");
  image_->rewrite(path, "index", index);
  try {
    Model m = Model::load(path);
    m.predict(inputs());
    FAIL() << "predicts with index " << index;
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), edit.code) << e.what();
  }
}

std::string edit_name(const testing::TestParamInfo<IndexEdit>& info) {
  return info.param.name;
}

INSTANTIATE_TEST_SUITE_P(Edits, KrtIndex, testing::ValuesIn(kIndexEdits), edit_name);

// The rewrite itself is faithful: the same sections through krt::Writer give the same bytes.
TEST_F(KrtCorruption, RewriteReproducesTheFile) {
  const std::string path = scratch("same.krt");
  image_->rewrite(path, "", "");
  EXPECT_EQ(read_bytes(path), image_->bytes);
}

}  // namespace
}  // namespace kerasrt
