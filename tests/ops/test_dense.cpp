// Dense and Embedding: kernels vs the reference, and their binders end to end.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <thread>

#include "core_test_util.h"
#include "ops/dense.h"
#include "ops/elementwise.h"
#include "ops/embedding.h"

namespace kerasrt::ops {
namespace {

using kerasrt::testing::bind_layer;
using kerasrt::testing::near;
using kerasrt::testing::random_tensor;
using kerasrt::testing::random_values;
using kerasrt::testing::run_graph;
using kerasrt::testing::run_op;
using kerasrt::testing::str;

TEST(Dense, MatchesReference) {
  const std::vector<Shape> leading = {{1}, {3}, {2, 5}, {2, 3, 4}, {17}};
  for (int64_t in : {1, 5, 16, 67}) {
    for (int64_t units : {1, 7, 33, 128}) {
      for (bool bias : {true, false}) {
        for (const Shape& lead : leading) {
          Shape s = lead;
          s.push_back(in);
          Tensor k = random_tensor({in, units}, 1);
          Tensor b = bias ? random_tensor({units}, 2) : Tensor();
          std::vector<float> x = random_values(static_cast<size_t>(shape_numel(s)), 3);
          int64_t rows = shape_numel(s) / in;
          std::vector<float> want(static_cast<size_t>(rows * units));
          reference::dense(rows, x, k, b, want);
          DenseOp op(k, b);
          std::vector<Shape> out_shapes;
          auto got = run_op(op, {s}, {x}, &out_shapes);
          Shape expect_shape = lead;
          expect_shape.push_back(units);
          EXPECT_EQ(out_shapes[0], expect_shape);
          EXPECT_TRUE(near(got[0], want, 1e-5f))
              << "input " << str(s) << " units " << units << " bias " << bias;
        }
      }
    }
  }
}

TEST(Dense, ShapeErrorsAndUnknownDims) {
  DenseOp op(random_tensor({4, 3}, 1), Tensor());
  std::vector<Shape> unknown = {{-1, -1, 4}};
  EXPECT_EQ(op.infer_shapes(unknown)[0], (Shape{-1, -1, 3}));
  std::vector<Shape> bad = {{2, 5}};
  EXPECT_THROW(op.infer_shapes(bad), Error);
  EXPECT_THROW(DenseOp(random_tensor({4, 3}, 1), random_tensor({4}, 2)), Error);
}

TEST(Dense, ConcurrentRunsOnOneKernel) {
  Tensor k = random_tensor({64, 32}, 1), b = random_tensor({32}, 2);
  DenseOp op(k, b);
  Shape s = {8, 64};
  std::vector<Shape> shapes = {s};
  auto outs = op.infer_shapes(shapes);
  PrepareContext pc{&kerasrt::testing::engine().engine, 1};
  auto kernel = op.prepare(shapes, outs, pc);
  auto worker = [&](uint32_t seed, bool* ok) {
    dnnl::stream stream(kerasrt::testing::engine().engine);
    kerasrt::testing::Scratch scratch(kernel->scratch_bytes());
    RunContext rc{&kerasrt::testing::engine().engine, &stream, scratch.p};
    *ok = true;
    for (int it = 0; it < 50; ++it) {
      std::vector<float> x = random_values(8 * 64, seed + static_cast<uint32_t>(it));
      std::vector<float> y(8 * 32), want(8 * 32);
      const float* in[] = {x.data()};
      float* out[] = {y.data()};
      kernel->run(rc, in, out);
      reference::dense(8, x, k, b, want);
      if (!near(y, want)) *ok = false;
    }
  };
  bool ok1 = false, ok2 = false;
  std::thread t1(worker, 100, &ok1), t2(worker, 200, &ok2);
  t1.join();
  t2.join();
  EXPECT_TRUE(ok1);
  EXPECT_TRUE(ok2);
}

TEST(Embedding, MatchesReferenceIncludingInvalidIndices) {
  Tensor table = random_tensor({10, 6}, 4);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> x = {0, 1, 9, 3.7f, -0.5f, -1, -10, -11, 10, 1e10f, nan, inf, -inf, 2.999f};
  for (bool wrap : {false, true}) {
    EmbeddingAttrs a{wrap};
    std::vector<float> want(x.size() * 6);
    reference::embedding(table, a, x, want);
    EmbeddingOp op(table, a);
    std::vector<Shape> out_shapes;
    auto got = run_op(op, {{2, 7}}, {x}, &out_shapes);
    EXPECT_EQ(out_shapes[0], (Shape{2, 7, 6}));
    EXPECT_TRUE(near(got[0], want)) << "wrap " << wrap;
  }
  // Spot-check the rules themselves.
  EXPECT_EQ(embedding_row(3.7f, 10, false), 3);
  EXPECT_EQ(embedding_row(-0.5f, 10, false), 0);  // truncation toward zero
  EXPECT_EQ(embedding_row(-1, 10, false), -1);
  EXPECT_EQ(embedding_row(-1, 10, true), 9);
  EXPECT_EQ(embedding_row(-10, 10, true), 0);
  EXPECT_EQ(embedding_row(-11, 10, true), -1);
  EXPECT_EQ(embedding_row(10, 10, true), -1);
  EXPECT_EQ(embedding_row(nan, 10, true), -1);
}

TEST(Embedding, LargeAnyRank) {
  Tensor table = random_tensor({1000, 64}, 5);
  Shape s = {4, 3, 50};
  std::vector<float> x(static_cast<size_t>(shape_numel(s)));
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>((i * 37) % 1000);
  std::vector<float> want(x.size() * 64);
  reference::embedding(table, {}, x, want);
  EXPECT_TRUE(near(run_op(EmbeddingOp(table, {}), {s}, {x})[0], want));
}

// ---------------------------------------------------------------------------------------------
// Binders

TEST(DenseBinder, Keras2WithActivation) {
  Tensor k = random_tensor({5, 3}, 1), b = random_tensor({3}, 2);
  auto bound = bind_layer("Dense", R"({"name": "d", "units": 3, "activation": "relu",
                                       "use_bias": true, "kernel_initializer": {"class_name":
                                       "GlorotUniform", "config": {"seed": null}}})",
                          2, {{-1, 5}}, {{"kernel", k}, {"bias", b}});
  EXPECT_EQ(bound->nodes, 2u);  // Dense + activation
  std::vector<float> x = random_values(10, 3);
  std::vector<float> want(6);
  reference::dense(2, x, k, b, want);
  for (float& v : want) v = std::max(v, 0.0f);
  EXPECT_TRUE(near(run_graph(bound->g, {{2, 5}}, {x}, bound->outputs)[0], want));
}

TEST(DenseBinder, Keras1NamesAndRank3) {
  Tensor k = random_tensor({4, 6}, 1), b = random_tensor({6}, 2);
  auto bound = bind_layer("Dense", R"({"output_dim": 6, "bias": true, "activation": "tanh"})", 1,
                          {{-1, 7, 4}}, {{"dense_1_W", k}, {"dense_1_b", b}});
  std::vector<float> x = random_values(2 * 7 * 4, 3);
  std::vector<float> want(2 * 7 * 6);
  reference::dense(14, x, k, b, want);
  for (float& v : want) v = std::tanh(v);
  EXPECT_TRUE(near(run_graph(bound->g, {{2, 7, 4}}, {x}, bound->outputs)[0], want));
}

TEST(DenseBinder, NoBiasAndWeightErrors) {
  Tensor k = random_tensor({5, 3}, 1);
  auto bound =
      bind_layer("Dense", R"({"units": 3, "use_bias": false})", 3, {{-1, 5}}, {{"kernel", k}});
  std::vector<float> x = random_values(5, 3);
  std::vector<float> want(3);
  reference::dense(1, x, k, Tensor(), want);
  EXPECT_TRUE(near(run_graph(bound->g, {{1, 5}}, {x}, bound->outputs)[0], want));
  // Wrong kernel shape: the error names the weight.
  try {
    bind_layer("Dense", R"({"units": 3})", 2, {{-1, 5}},
               {{"kernel", random_tensor({4, 3}, 1)}, {"bias", random_tensor({3}, 1)}});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("kernel"), std::string::npos) << e.what();
  }
  // Missing bias.
  EXPECT_THROW(bind_layer("Dense", R"({"units": 3})", 2, {{-1, 5}}, {{"kernel", k}}), Error);
  // Unused extra weight.
  EXPECT_THROW(bind_layer("Dense", R"({"units": 3, "use_bias": false})", 2, {{-1, 5}},
                          {{"kernel", k}, {"bias", random_tensor({3}, 1)}}),
               Error);
  // Quantized kernel.
  try {
    bind_layer("Dense", R"({"units": 3, "use_bias": false})", 3, {{-1, 5}},
               {{"kernel", k}, {"kernel_scale", random_tensor({3}, 1)}});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::Unsupported);
  }
}

TEST(EmbeddingBinder, Keras2And3) {
  Tensor table = random_tensor({8, 4}, 1);
  std::vector<float> x = {0, 7, -1, 3, 8, 2};
  for (int major : {1, 2, 3}) {
    std::string role = major == 1 ? "embedding_1_W" : "embeddings";
    auto bound = bind_layer("Embedding", R"({"input_dim": 8, "output_dim": 4, "mask_zero": true})",
                            major, {{-1, 6}}, {{role, table}});
    std::vector<Shape> shapes;
    auto got = run_graph(bound->g, {{1, 6}}, {x}, bound->outputs, &shapes)[0];
    EXPECT_EQ(shapes[0], (Shape{1, 6, 4}));
    std::vector<float> want(24);
    reference::embedding(table, {major >= 3}, x, want);
    EXPECT_TRUE(near(got, want)) << "keras " << major;
    // mask_zero: a (batch, time) mask of x != 0.
    ASSERT_EQ(bound->masks.size(), 1u);
    auto mask = run_graph(bound->g, {{1, 6}}, {x}, {bound->masks.at(0)})[0];
    EXPECT_TRUE(near(mask, {0, 1, 1, 1, 1, 1}));
  }
}

}  // namespace
}  // namespace kerasrt::ops
