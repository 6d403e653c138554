// Conformance: every fixture model (tests/models/fixtures, written by real Keras through
// tools/fixtures/gen_models.py) predicts what TensorFlow predicted for the same input.
//
// Tolerance rule, for every output element: |kerasrt - tf| <= 1e-4 * max(1, |tf|).
// It is the same for every case; a case that needs a looser bound is a bug to fix, not a reason
// to loosen the rule.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <map>
#include <sstream>

#include "base/npy.h"
#include "keras/json.h"
#include "kerasrt/model.h"

namespace kerasrt {
namespace {

constexpr double kRelativeTolerance = 1e-4;

struct FixtureRun {
  std::string case_name;
  std::string writer;  // "k3" or "k2"
  std::string file;    // "k3.h5", ...
  // An architecture JSON ("k3.json") when `file` is a weights-only file to load with it
  // (tools/fixtures/gen_extra.py: the writer entry's "architecture").
  std::string architecture;
  std::string dir;
  const keras::Json* case_json = nullptr;
};

std::string fixtures_dir() {
  return KERASRT_FIXTURES_DIR;
}

const keras::Json& manifest() {
  static const keras::Json m = [] {
    std::ifstream in(fixtures_dir() + "/manifest.json");
    if (!in) return keras::Json::make_null();  // ManifestListsRunnableModels fails on this
    std::stringstream text;
    text << in.rdbuf();
    return keras::Json::parse(text.str(), "manifest.json");
  }();
  return m;
}

std::vector<FixtureRun> all_runs() {
  std::vector<FixtureRun> runs;
  const keras::Json* cases = manifest().find("cases");
  if (cases == nullptr) return runs;
  for (const keras::Json& c : cases->items()) {
    const std::string& name = c.find("name")->as_string();
    const keras::Json* writers = c.find("writers");
    if (writers == nullptr) continue;
    for (const auto& [tag, entry] : writers->members()) {
      const keras::Json* ok = entry.find("ok");
      if (ok == nullptr || !ok->as_bool()) continue;
      const keras::Json* arch = entry.find("architecture");
      for (const keras::Json& f : entry.find("files")->items()) {
        const std::string& file = f.as_string();
        runs.push_back(FixtureRun{name, tag, file, arch ? arch->as_string() : "",
                                  fixtures_dir() + "/" + name, &c});
      }
    }
  }
  return runs;
}

// The fixtures must be there: an empty list would make every other test here vanish silently.
TEST(ConformanceFixtures, ManifestListsRunnableModels) {
  EXPECT_GT(all_runs().size(), 20u);
}

void PrintTo(const FixtureRun& r, std::ostream* os) {
  *os << r.case_name << "/" << r.file;
}

class Conformance : public testing::TestWithParam<FixtureRun> {};

Model load_run(const FixtureRun& run) {
  if (run.architecture.empty()) return Model::load(run.dir + "/" + run.file);
  LoadOptions options;
  options.weights_path = run.dir + "/" + run.file;
  return Model::load(run.dir + "/" + run.architecture, options);
}

// known_unsupported.txt: "<case>/<file> <words of the expected Unsupported error>".
const std::map<std::string, std::string>& known_unsupported() {
  static const std::map<std::string, std::string> known = [] {
    std::map<std::string, std::string> m;
    std::ifstream in(std::string(KERASRT_FIXTURES_DIR) + "/../known_unsupported.txt");
    for (std::string line; std::getline(in, line);) {
      if (line.empty() || line[0] == '#') continue;
      size_t space = line.find(' ');
      m[line.substr(0, space)] = space == std::string::npos ? "" : line.substr(space + 1);
    }
    return m;
  }();
  return known;
}

TEST_P(Conformance, MatchesTensorFlow) {
  const FixtureRun& run = GetParam();
  auto known = known_unsupported().find(run.case_name + "/" + run.file);
  if (known != known_unsupported().end()) {
    try {
      load_run(run);
      FAIL() << "loads now: remove it from tests/models/known_unsupported.txt";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::Unsupported) << e.what();
      EXPECT_NE(std::string(e.what()).find(known->second), std::string::npos) << e.what();
    }
    return;
  }
  Model model = load_run(run);
  for (const keras::Json& set : run.case_json->find("sets")->items()) {
    const std::string& set_id = set.find("id")->as_string();
    std::vector<Array> inputs;
    for (const keras::Json& in : set.find("inputs")->items()) {
      NpyArray a = read_npy(run.dir + "/" + in.find("file")->as_string());
      inputs.emplace_back(a.shape, a.data);
    }
    const keras::Json* expected = set.find("outputs")->find(run.writer);
    ASSERT_NE(expected, nullptr);
    std::vector<Array> got = model.predict(inputs);
    ASSERT_EQ(got.size(), expected->size()) << "set " << set_id;
    for (size_t j = 0; j < got.size(); ++j) {
      NpyArray want = read_npy(run.dir + "/" + (*expected)[j].find("file")->as_string());
      ASSERT_EQ(got[j].shape, want.shape) << "set " << set_id << " output " << j;
      double worst = 0;
      size_t worst_at = 0;
      for (size_t k = 0; k < want.data.size(); ++k) {
        double a = got[j].data[k];
        double b = want.data[k];
        double excess = std::fabs(a - b) / std::max(1.0, std::fabs(b));
        if (!(excess <= worst)) {  // also catches NaN
          worst = std::isnan(excess) ? INFINITY : excess;
          worst_at = k;
        }
      }
      EXPECT_LE(worst, kRelativeTolerance)
          << "set " << set_id << " output " << j << ": element " << worst_at << " is "
          << got[j].data[worst_at] << ", TensorFlow says " << want.data[worst_at];
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

INSTANTIATE_TEST_SUITE_P(Fixtures, Conformance, testing::ValuesIn(all_runs()), run_name);

}  // namespace
}  // namespace kerasrt
