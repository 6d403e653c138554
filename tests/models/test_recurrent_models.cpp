// Recurrent models from the real-world corpus with reference values: the DL4J fixture
// k1-lstm-theano-model.h5 (Keras 1.2.2 LSTM stored as 12 per-gate arrays, hard_sigmoid gates)
// ships its inputs and Keras's predictions in k1-lstm-theano-inputs-outputs.h5.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <cmath>

#include "hdf5/hdf5.h"
#include "kerasrt/model.h"

namespace kerasrt {
namespace {

std::string corpus_file(const std::string& name) {
  return std::string(KERASRT_SHARED_DIR) + "/corpus/realworld/" + name;
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

TEST(RecurrentCorpus, KerasOneLstmMatchesStoredPredictions) {
  const std::string model_path = corpus_file("k1-lstm-theano-model.h5");
  const std::string io_path = corpus_file("k1-lstm-theano-inputs-outputs.h5");
  if (!exists(model_path) || !exists(io_path)) GTEST_SKIP() << "corpus not found";
  hdf5::File io = hdf5::File::open(io_path);
  hdf5::Dataset in = io.root().open_dataset("inputs/lstm_input_1");
  hdf5::Dataset want = io.root().open_dataset("predictions/dense_1");
  std::vector<int64_t> shape;
  for (uint64_t d : in.space().dims) shape.push_back(static_cast<int64_t>(d));
  Model model = Model::load(model_path);
  std::vector<Array> out = model.predict({Array(shape, in.read_float32())});
  std::vector<float> expected = want.read_float32();
  ASSERT_EQ(out.size(), 1u);
  ASSERT_EQ(out[0].data.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    // Keras computed these with Theano in float32; the project's tolerance applies.
    EXPECT_NEAR(out[0].data[i], expected[i], 1e-4 * std::max(1.0f, std::fabs(expected[i])))
        << "sample " << i;
  }
}

}  // namespace
}  // namespace kerasrt
