// The runtime through the public API on the bundled example (a Keras 3 CNN with TF's outputs
// recorded next to it), plus the arena planner on its own.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <thread>

#include "base/npy.h"
#include "kerasrt/model.h"
#include "runtime/plan.h"

namespace kerasrt {
namespace {

const std::string kExample = std::string(KERASRT_EXAMPLES_DIR) + "/shapes_cnn.h5";

Array example_input() {
  NpyArray a = read_npy(std::string(KERASRT_EXAMPLES_DIR) + "/shapes_input.npy");
  return Array(a.shape, a.data);
}

void expect_close(const std::vector<float>& got, const std::vector<float>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_LE(std::fabs(got[i] - want[i]), 1e-4 * std::max(1.f, std::fabs(want[i]))) << i;
  }
}

TEST(Model, DescribesInputsOutputsAndLayers) {
  Model m = Model::load(kExample);
  ASSERT_EQ(m.inputs().size(), 1u);
  EXPECT_EQ(m.inputs()[0].name, "image");
  EXPECT_EQ(m.inputs()[0].shape, (std::vector<int64_t>{-1, 28, 28, 1}));
  ASSERT_EQ(m.outputs().size(), 1u);
  EXPECT_EQ(m.outputs()[0].name, "shape_class");
  EXPECT_EQ(m.outputs()[0].shape, (std::vector<int64_t>{-1, 3}));
  ASSERT_EQ(m.layers().size(), 5u);
  EXPECT_EQ(m.layers()[0].class_name, "Conv2D");
  EXPECT_EQ(m.layers()[0].params, 3 * 3 * 1 * 8 + 8);
  EXPECT_EQ(m.params(), 1299);
  EXPECT_EQ(m.weight_bytes(), 1299u * 4);
  EXPECT_EQ(m.keras_version().substr(0, 2), "3.");
}

TEST(Model, MatchesTensorFlowOnTheExample) {
  Model m = Model::load(kExample);
  std::vector<Array> out = m.predict({example_input()});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].shape, (std::vector<int64_t>{3, 3}));
  NpyArray want = read_npy(std::string(KERASRT_EXAMPLES_DIR) + "/shapes_expected.npy");
  expect_close(out[0].data, want.data);
}

TEST(Model, BatchRowsAreIndependentOfBatchSize) {
  Model m = Model::load(kExample);
  Array three = example_input();
  std::vector<float> batch3 = m.predict({three})[0].data;
  for (int64_t row = 0; row < 3; ++row) {
    Array one({1, 28, 28, 1}, std::vector<float>(three.data.begin() + row * 784,
                                                 three.data.begin() + (row + 1) * 784));
    std::vector<float> got = m.predict({one})[0].data;
    expect_close(got, std::vector<float>(batch3.begin() + row * 3, batch3.begin() + row * 3 + 3));
  }
}

TEST(Model, ManyThreadsShareOneModel) {
  Model m = Model::load(kExample);
  Array in = example_input();
  std::vector<float> want = m.predict({in})[0].data;
  std::vector<std::thread> threads;
  std::vector<int> mismatches(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        // Alternate batch sizes so that two plans are in use at once.
        if ((i + t) % 2 == 0) {
          if (m.predict({in})[0].data != want) ++mismatches[t];
        } else {
          Array one({1, 28, 28, 1}, std::vector<float>(in.data.begin(), in.data.begin() + 784));
          std::vector<float> got = m.predict({one})[0].data;
          for (int k = 0; k < 3; ++k) {
            if (std::fabs(got[k] - want[k]) > 1e-5f) ++mismatches[t];
          }
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < 4; ++t) EXPECT_EQ(mismatches[t], 0) << "thread " << t;
}

TEST(Model, RejectsWrongInputs) {
  Model m = Model::load(kExample);
  auto expect_invalid = [&](const std::vector<Array>& inputs, const std::string& words) {
    try {
      m.predict(inputs);
      ADD_FAILURE() << "accepted " << words;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::InvalidArgument);
      EXPECT_NE(std::string(e.what()).find(words), std::string::npos) << e.what();
    }
  };
  expect_invalid({}, "takes 1 input");
  expect_invalid({Array({1, 28, 28}, std::vector<float>(784))}, "expected shape (None, 28, 28, 1)");
  expect_invalid({Array({1, 27, 28, 1}, std::vector<float>(756))}, "got (1, 27, 28, 1)");
  expect_invalid({Array({2, 28, 28, 1}, std::vector<float>(784))}, "needs 1568 values");
}

// The planner must never give two buffers that are alive at the same step overlapping memory.
TEST(ArenaPlanner, LiveBuffersNeverOverlap) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<runtime::Interval> intervals;
    int n = 1 + static_cast<int>(rng() % 40);
    for (int i = 0; i < n; ++i) {
      int first = static_cast<int>(rng() % 30) - 1;
      int last = first + static_cast<int>(rng() % 10);
      intervals.push_back({static_cast<size_t>(rng() % 5000), first, last});
    }
    size_t arena = 0;
    std::vector<size_t> off = runtime::place_buffers(intervals, &arena);
    for (int i = 0; i < n; ++i) {
      EXPECT_EQ(off[i] % 64, 0u);
      EXPECT_LE(off[i] + intervals[i].bytes, arena);
      for (int j = i + 1; j < n; ++j) {
        const auto& a = intervals[i];
        const auto& b = intervals[j];
        bool same_time = a.first <= b.last && b.first <= a.last;
        bool same_memory = off[i] < off[j] + b.bytes && off[j] < off[i] + a.bytes;
        EXPECT_FALSE(same_time && same_memory && a.bytes && b.bytes)
            << "trial " << trial << " buffers " << i << " and " << j;
      }
    }
  }
}

}  // namespace
}  // namespace kerasrt
