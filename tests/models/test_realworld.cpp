// The real-world corpus (../shared/corpus/realworld, third-party files from Keras 1.1 to 3.14):
// every whole-model HDF5 file whose layers are all supported loads and predicts finite values on
// random input of the right shape; every other one fails with Error(Unsupported) naming each
// unsupported layer class at once. Which files are which follows from the layer registry, so
// the test tracks support as it grows.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <cmath>
#include <fstream>
#include <random>
#include <set>
#include <sstream>

#include "keras/json.h"
#include "keras/model_builder.h"
#include "keras/registry.h"
#include "kerasrt/model.h"

namespace kerasrt {
namespace {

std::string corpus_dir() {
  return std::string(KERASRT_SHARED_DIR) + "/corpus/realworld";
}

bool corpus_present() {
  struct stat st {};
  return ::stat((corpus_dir() + "/manifest.json").c_str(), &st) == 0;
}

struct CorpusFile {
  std::string file;
  std::vector<std::string> layer_classes;
};

std::vector<CorpusFile> whole_model_files() {
  std::vector<CorpusFile> out;
  if (!corpus_present()) return out;
  std::ifstream in(corpus_dir() + "/manifest.json");
  std::stringstream text;
  text << in.rdbuf();
  static const keras::Json manifest = keras::Json::parse(text.str(), "manifest.json");
  for (const keras::Json& row : manifest.items()) {
    const keras::Json* container = row.find("container");
    const keras::Json* kind = row.find("kind");
    if (!container || !kind || !container->is_string() || !kind->is_string()) continue;
    if (container->as_string() != "hdf5" || kind->as_string() != "whole model") continue;
    CorpusFile f{row.find("file")->as_string(), {}};
    for (const keras::Json& c : row.find("layer_classes")->items()) {
      f.layer_classes.push_back(c.as_string());
    }
    out.push_back(std::move(f));
  }
  return out;
}

void PrintTo(const CorpusFile& f, std::ostream* os) {
  *os << f.file;
}

TEST(RealWorldCorpus, IsPresent) {
  if (!corpus_present()) GTEST_SKIP() << "shared corpus not found at " << corpus_dir();
  EXPECT_GT(whole_model_files().size(), 20u);
}

class RealWorld : public testing::TestWithParam<CorpusFile> {};

TEST_P(RealWorld, RunsOrNamesEveryUnsupportedLayer) {
  const CorpusFile& f = GetParam();
  std::vector<std::string> unsupported;
  for (const std::string& c : f.layer_classes) {
    if (c != "InputLayer" && !keras::is_model_class(c) && keras::find_binder(c) == nullptr) {
      unsupported.push_back(c);
    }
  }
  std::string path = corpus_dir() + "/" + f.file;
  if (!unsupported.empty()) {
    try {
      Model::load(path);
      FAIL() << "loaded although it uses unsupported layers";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::Unsupported) << e.what();
      for (const std::string& c : unsupported) {
        std::string msg = e.what();
        bool named = msg.find("(" + c + ")") != std::string::npos ||
                     msg.find("(" + c + ", inside") != std::string::npos;
        EXPECT_TRUE(named) << "the error does not name " << c << ": " << e.what();
      }
    }
    return;
  }
  Model model = Model::load(path);
  std::mt19937 rng(42);
  std::vector<Array> inputs;
  for (const TensorInfo& in : model.inputs()) {
    Array a;
    for (size_t d = 0; d < in.shape.size(); ++d)
      a.shape.push_back(in.shape[d] >= 0 ? in.shape[d] : d == 0 ? 2 : 32);
    a.data.resize(static_cast<size_t>(a.size()));
    bool integer = in.dtype.find("int") != std::string::npos;
    std::normal_distribution<float> normal(0.f, 1.f);
    std::uniform_int_distribution<int> index(0, 9);
    for (float& v : a.data) v = integer ? static_cast<float>(index(rng)) : normal(rng);
    inputs.push_back(std::move(a));
  }
  std::vector<Array> outputs = model.predict(inputs);
  ASSERT_EQ(outputs.size(), model.outputs().size());
  for (size_t k = 0; k < outputs.size(); ++k) {
    ASSERT_GT(outputs[k].data.size(), 0u);
    for (float v : outputs[k].data) ASSERT_TRUE(std::isfinite(v)) << "output " << k;
  }
}

std::string file_test_name(const testing::TestParamInfo<CorpusFile>& info) {
  std::string s = info.param.file;
  for (char& c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return s;
}

INSTANTIATE_TEST_SUITE_P(Corpus, RealWorld, testing::ValuesIn(whole_model_files()), file_test_name);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(RealWorld);

}  // namespace
}  // namespace kerasrt
