// The keras.applications zoo: every application model of the pinned Keras 3 (and a few tf-keras
// ones), random weights, written by tools/fixtures/gen_zoo.py into a cache folder (too large to
// commit). Each model file predicts what TensorFlow predicted for the stored batch of 2.
//
// Tolerance rule, for every output element: |kerasrt - tf| <= 1e-4 * max(1, |tf|), the rule of
// tests/models/test_conformance.cpp. The same for every model: a model that needs more is a bug.
//
// The zoo folder: $KERASRT_ZOO_DIR, else ${KERASRT_CACHE:-$HOME/.cache/kerasrt}/zoo/<keras>, with
// <keras> the version pinned in tools/fixtures/requirements.txt. Without it the tests skip, except
// in CI (CI=true), where a missing zoo is a failure. Each model test writes one row of the error
// table into KERASRT_ZOO_RESULTS_DIR; ZooTable.Print (ctest: zoo_table, run after them) prints it.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <map>
#include <set>
#include <sstream>

#include "base/npy.h"
#include "keras/json.h"
#include "kerasrt/model.h"

namespace kerasrt {
namespace {

namespace fs = std::filesystem;

constexpr double kRelativeTolerance = 1e-4;

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? std::string() : std::string(v);
}

bool in_ci() {
  std::string ci = env("CI");
  return !ci.empty() && ci != "0" && ci != "false";
}

std::string zoo_dir() {
  if (!env("KERASRT_ZOO_DIR").empty()) return env("KERASRT_ZOO_DIR");
  std::string cache = env("KERASRT_CACHE");
  if (cache.empty()) cache = env("HOME") + "/.cache/kerasrt";
  return cache + "/zoo/" KERASRT_ZOO_KERAS_VERSION;
}

std::string manifest_path() {
  return zoo_dir() + "/manifest.json";
}

const keras::Json& manifest() {
  static const keras::Json m = [] {
    std::ifstream in(manifest_path());
    if (!in) return keras::Json::make_null();
    std::stringstream text;
    text << in.rdbuf();
    return keras::Json::parse(text.str(), manifest_path());
  }();
  return m;
}

std::string missing_message() {
  return "no zoo at " + manifest_path() +
         ". Generate it: VENV_PY=$(tools/fixtures/setup-venv.sh | tail -1); "
         "$VENV_PY tools/fixtures/gen_zoo.py (or set KERASRT_ZOO_DIR)";
}

struct ZooRun {
  std::string case_name;
  std::string writer;  // "k3" or "k2"
  std::string file;    // "k3.h5", "k3.keras", "k2.h5"
  std::string dir;
  std::string input_size;
  const keras::Json* case_json = nullptr;
};

void PrintTo(const ZooRun& r, std::ostream* os) {
  *os << r.case_name << "/" << r.file;
}

std::vector<ZooRun> all_runs() {
  std::vector<ZooRun> runs;
  const keras::Json* cases = manifest().find("cases");
  if (cases == nullptr) return runs;
  for (const keras::Json& c : cases->items()) {
    const std::string& name = c.find("name")->as_string();
    std::string size;
    if (const keras::Json* hw = c.find("input_size"); hw != nullptr && hw->size() == 2) {
      size = std::to_string(static_cast<int>((*hw)[0].as_number())) + "x" +
             std::to_string(static_cast<int>((*hw)[1].as_number()));
    }
    for (const auto& [tag, entry] : c.find("writers")->members()) {
      const keras::Json* ok = entry.find("ok");
      if (ok == nullptr || !ok->as_bool()) continue;
      for (const keras::Json& f : entry.find("files")->items()) {
        runs.push_back(ZooRun{name, tag, f.as_string(), zoo_dir() + "/" + name, size, &c});
      }
    }
  }
  return runs;
}

// One row of the table, written by each model test, read by ZooTable.Print.
struct Row {
  std::string case_name, file, input_size, status;
  double max_abs = NAN, max_rel = NAN, load_s = NAN, predict_s = NAN;
  double tf_f64 = NAN;  // TF's own float32 error on the case (tf_f32_vs_f64_max_rel)
};

std::string results_dir() {
  return KERASRT_ZOO_RESULTS_DIR;
}

void write_row(const Row& r) {
  fs::create_directories(results_dir());
  std::ofstream out(results_dir() + "/" + r.case_name + "__" + r.file + ".tsv");
  out << std::setprecision(6) << r.case_name << '\t' << r.file << '\t' << r.input_size << '\t'
      << r.max_abs << '\t' << r.max_rel << '\t' << r.load_s << '\t' << r.predict_s << '\t'
      << r.status << '\t' << r.tf_f64 << '\n';
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// The zoo must be there in CI, and hold every application Keras has (gen_zoo.py enumerates
// keras.applications and lists what it could not build, with the reason, under "excluded").
TEST(ZooCache, ManifestListsEveryApplication) {
  if (manifest().is_null()) {
    if (in_ci()) FAIL() << "CI=true and " << missing_message();
    GTEST_SKIP() << missing_message();
  }
  std::set<std::string> ok;
  for (const keras::Json& c : manifest().find("cases")->items()) {
    const keras::Json* k3 = c.find("writers")->find("k3");
    if (k3 != nullptr && k3->find("ok")->as_bool())
      ok.insert(c.find("name")->as_string());
    else
      ADD_FAILURE() << c.find("name")->as_string() << ": " << k3->find("error")->as_string();
  }
  // Left out on purpose, with the reason: "excluded" (cannot be built or saved) and
  // "not_generated" (scaled-up siblings of a model in the zoo; gen_zoo.py --all makes them).
  const keras::Json* excluded = manifest().find("excluded");
  const keras::Json* not_generated = manifest().find("not_generated");
  for (const keras::Json& app : manifest().find("applications_enumerated")->items()) {
    const std::string& name = app.as_string();
    bool left_out = (excluded != nullptr && excluded->find(name) != nullptr) ||
                    (not_generated != nullptr && not_generated->find(name) != nullptr);
    EXPECT_TRUE(ok.count(name) || left_out) << name << " is missing from the zoo";
  }
  EXPECT_GE(all_runs().size(), 40u);
}

class ZooModel : public testing::TestWithParam<ZooRun> {};
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(ZooModel);

TEST_P(ZooModel, MatchesTensorFlow) {
  const ZooRun& run = GetParam();
  Row row{run.case_name, run.file, run.input_size, "ERROR"};
  // How far TF's float32 output is from the same model in float64 (gen_zoo.py float64_error):
  // a model where this is not well below the tolerance is ill-conditioned, not a kerasrt bug.
  const keras::Json* f64 = run.case_json->find("tf_f32_vs_f64_max_rel");
  if (f64 != nullptr && f64->is_number()) row.tf_f64 = f64->as_number();
  auto t0 = std::chrono::steady_clock::now();
  try {
    Model model = Model::load(run.dir + "/" + run.file);
    row.load_s = seconds_since(t0);
    const keras::Json& set = (*run.case_json->find("sets"))[0];
    std::vector<Array> inputs;
    for (const keras::Json& in : set.find("inputs")->items()) {
      NpyArray a = read_npy(run.dir + "/" + in.find("file")->as_string());
      inputs.emplace_back(a.shape, a.data);
    }
    const keras::Json* expected = set.find("outputs")->find(run.writer);
    ASSERT_NE(expected, nullptr);
    t0 = std::chrono::steady_clock::now();
    std::vector<Array> got = model.predict(inputs);
    row.predict_s = seconds_since(t0);
    ASSERT_EQ(got.size(), expected->size());
    double max_abs = 0, max_rel = 0;
    for (size_t j = 0; j < got.size(); ++j) {
      NpyArray want = read_npy(run.dir + "/" + (*expected)[j].find("file")->as_string());
      ASSERT_EQ(got[j].shape, want.shape) << "output " << j;
      size_t worst_at = 0;
      double worst = 0;
      for (size_t k = 0; k < want.data.size(); ++k) {
        double a = got[j].data[k];
        double b = want.data[k];
        double diff = std::fabs(a - b);
        double excess = diff / std::max(1.0, std::fabs(b));
        if (std::isnan(diff)) diff = excess = INFINITY;
        max_abs = std::max(max_abs, diff);
        if (excess > worst || k == 0) {
          worst = excess;
          worst_at = k;
        }
      }
      max_rel = std::max(max_rel, worst);
      EXPECT_LE(worst, kRelativeTolerance)
          << "output " << j << ": element " << worst_at << " is " << got[j].data[worst_at]
          << ", TensorFlow says " << want.data[worst_at]
          << " (TF float32 vs float64 on this case: " << row.tf_f64 << ")";
    }
    row.max_abs = max_abs;
    row.max_rel = max_rel;
    row.status = max_rel <= kRelativeTolerance ? "ok" : "FAIL";
  } catch (const std::exception& e) {
    row.status = std::string("ERROR: ") + e.what();
    std::replace(row.status.begin(), row.status.end(), '\n', ' ');
    std::replace(row.status.begin(), row.status.end(), '\t', ' ');
    write_row(row);
    FAIL() << e.what();
  }
  write_row(row);
}

std::string run_name(const testing::TestParamInfo<ZooRun>& info) {
  std::string s = info.param.case_name + "_" + info.param.file;
  for (char& c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return s;
}

INSTANTIATE_TEST_SUITE_P(Zoo, ZooModel, testing::ValuesIn(all_runs()), run_name);

// Prints the model x format table of the rows the model tests wrote (ctest runs it after them).
TEST(ZooTable, Print) {
  if (!fs::is_directory(results_dir())) GTEST_SKIP() << "no results in " << results_dir();
  std::map<std::string, std::map<std::string, std::vector<std::string>>> rows;
  std::map<std::string, std::string> sizes, tf_f64;
  for (const auto& entry : fs::directory_iterator(results_dir())) {
    std::ifstream in(entry.path());
    std::string line;
    std::getline(in, line);
    std::vector<std::string> f;
    std::stringstream ss(line);
    for (std::string cell; std::getline(ss, cell, '\t');) f.push_back(cell);
    if (f.size() < 9) continue;
    sizes[f[0]] = f[2];
    tf_f64[f[0]] = f[8];
    rows[f[0]][f[1]] = f;
  }
  const std::vector<std::string> files = {"k3.h5", "k3.keras", "k2.h5"};
  std::ostringstream t;
  t << "zoo: " << rows.size() << " models, " << zoo_dir() << "\n";
  t << "rule: |kerasrt - tf| <= 1e-4 * max(1, |tf|) per element; rel = max |a-b|/max(1,|b|); "
       "tf/f64: the same rel between TF's float32 output and the model in float64\n";
  t << "| model | input | tf/f64 rel | k3.h5 abs | k3.h5 rel | k3.keras abs | k3.keras rel | "
       "k2.h5 abs | k2.h5 rel | status |\n|---|---|---|---|---|---|---|---|---|---|\n";
  int failed = 0;
  for (const auto& [name, by_file] : rows) {
    t << "| " << name << " | " << sizes[name] << " | " << tf_f64[name] << " |";
    std::string status;
    for (const std::string& file : files) {
      auto it = by_file.find(file);
      if (it == by_file.end()) {
        t << " - | - |";
        continue;
      }
      const std::vector<std::string>& f = it->second;
      t << " " << f[3] << " | " << f[4] << " |";
      if (f[7] != "ok") {
        ++failed;
        status += (status.empty() ? "" : "; ") + file + ": " + f[7].substr(0, 160);
      }
    }
    t << " " << (status.empty() ? "ok" : status) << " |\n";
  }
  t << failed << " model files fail\n";
  std::cout << t.str();
  std::ofstream(results_dir() + "/../zoo-table.md") << t.str();
}

}  // namespace
}  // namespace kerasrt
