// Keras 3 sharded weights (model.save_weights("x.weights.json", max_shard_size=...)): load errors
// on damaged copies of the json_weights_sharded fixture (its conformance against TF is in
// test_conformance.cpp).
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "kerasrt/model.h"

namespace kerasrt {
namespace {

namespace fs = std::filesystem;

// A fresh copy of the fixture folder (architecture k3.json, index k3.weights.json, shards
// k3_0000N.weights.h5) that a test may damage.
class ShardedWeights : public testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        fs::temp_directory_path() / ("kerasrt_sharded_" + std::to_string(::getpid()) + "_" +
                                     testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    for (const auto& e :
         fs::directory_iterator(fs::path(KERASRT_FIXTURES_DIR) / "json_weights_sharded")) {
      fs::copy_file(e.path(), dir_ / e.path().filename());
    }
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  std::string read(const std::string& name) const {
    std::ifstream in(path(name));
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  void write(const std::string& name, const std::string& text) const {
    std::ofstream(path(name)) << text;
  }

  // Loads k3.json with `weights` and returns the error; fails the test when loading succeeds.
  Error load_error(const std::string& model, const std::string& weights) const {
    LoadOptions options;
    options.weights_path = weights.empty() ? "" : path(weights);
    try {
      Model::load(path(model), options);
    } catch (const Error& e) {
      return e;
    }
    ADD_FAILURE() << model << " with " << weights << " loaded without an error";
    return Error(ErrorCode::Internal, "");
  }

  fs::path dir_;
};

TEST_F(ShardedWeights, Loads) {
  LoadOptions options;
  options.weights_path = path("k3.weights.json");
  Model model = Model::load(path("k3.json"), options);
  EXPECT_EQ(model.format(), "json+sharded-h5");
}

TEST_F(ShardedWeights, MissingShardIsNamed) {
  fs::remove(path("k3_00001.weights.h5"));
  Error e = load_error("k3.json", "k3.weights.json");
  EXPECT_EQ(e.code(), ErrorCode::Io) << e.what();
  std::string msg = e.what();
  EXPECT_NE(msg.find(path("k3.weights.json")), std::string::npos) << msg;
  EXPECT_NE(msg.find("shard 'k3_00001.weights.h5'"), std::string::npos) << msg;
}

TEST_F(ShardedWeights, IndexGivenAsTheModel) {
  Error e = load_error("k3.weights.json", "");
  EXPECT_EQ(e.code(), ErrorCode::InvalidArgument) << e.what();
  EXPECT_NE(std::string(e.what()).find("sharded-weights index"), std::string::npos) << e.what();
}

TEST_F(ShardedWeights, JsonWithoutWeightMap) {
  write("k3.weights.json", R"({"metadata": {"total_size": 0}})");
  Error e = load_error("k3.json", "k3.weights.json");
  EXPECT_EQ(e.code(), ErrorCode::InvalidFile) << e.what();
  EXPECT_NE(std::string(e.what()).find("weight_map"), std::string::npos) << e.what();
}

TEST_F(ShardedWeights, ShardNameWithAPathIsRefused) {
  write("k3.weights.json", R"({"weight_map": {"/layers/dense/vars": "../k3_00002.weights.h5"}})");
  Error e = load_error("k3.json", "k3.weights.json");
  EXPECT_EQ(e.code(), ErrorCode::InvalidFile) << e.what();
  EXPECT_NE(std::string(e.what()).find("expected a shard file name"), std::string::npos)
      << e.what();
}

TEST_F(ShardedWeights, VariableInTwoShards) {
  // A copy of a shard listed as well: every variable it holds is then stored twice.
  fs::copy_file(path("k3_00001.weights.h5"), path("copy.weights.h5"));
  std::string index = read("k3.weights.json");
  const std::string key = "\"weight_map\": {";
  ASSERT_NE(index.find(key), std::string::npos) << index;
  index.insert(index.find(key) + key.size(), R"("/extra/vars": "copy.weights.h5", )");
  write("k3.weights.json", index);
  Error e = load_error("k3.json", "k3.weights.json");
  EXPECT_EQ(e.code(), ErrorCode::InvalidFile) << e.what();
  EXPECT_NE(std::string(e.what()).find("more than one shard"), std::string::npos) << e.what();
}

}  // namespace
}  // namespace kerasrt
