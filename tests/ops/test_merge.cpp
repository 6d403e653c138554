// Merge ops (Add ... Minimum with broadcasting, Concatenate, Dot): kernels vs the reference, and
// the merge binders end to end.
#include <gtest/gtest.h>

#include "core_test_util.h"
#include "ops/merge.h"

namespace kerasrt::ops {
namespace {

using kerasrt::testing::bind_layer;
using kerasrt::testing::near;
using kerasrt::testing::random_values;
using kerasrt::testing::run_graph;
using kerasrt::testing::run_op;
using kerasrt::testing::str;

const MergeMode kModes[] = {MergeMode::Add,     MergeMode::Subtract, MergeMode::Multiply,
                            MergeMode::Average, MergeMode::Maximum,  MergeMode::Minimum};

std::vector<std::vector<float>> inputs_for(const std::vector<Shape>& shapes, uint32_t seed) {
  std::vector<std::vector<float>> v;
  for (const Shape& s : shapes) {
    v.push_back(random_values(static_cast<size_t>(shape_numel(s)), seed++));
  }
  return v;
}

TEST(Merge, MatchesReferenceWithBroadcasting) {
  const std::vector<std::vector<Shape>> cases = {
      {{1, 1}, {1, 1}},
      {{3, 7}, {3, 7}},
      {{2, 5, 17}, {2, 5, 17}},
      {{2, 5, 17}, {2, 1, 17}},
      {{2, 5, 17}, {2, 17}},         // rank equalisation: (2, 17) -> (2, 1, 17)
      {{2, 4, 5, 3}, {2, 1, 1, 3}},  // squeeze-excite style channel scaling
      {{2, 4, 1, 3}, {2, 1, 5, 1}},  // both sides broadcast
      {{2, 5, 17}, {2, 5, 17}, {2, 5, 17}},
      {{2, 5, 17}, {2, 1, 17}, {2, 5, 1}},
      {{4, 64, 64, 8}, {4, 64, 64, 8}},  // large: parallel path
      {{2, 3}, {1, 3}},                  // batch broadcast (numpy rules)
  };
  for (const auto& shapes : cases) {
    for (MergeMode mode : kModes) {
      if (mode == MergeMode::Subtract && shapes.size() != 2) continue;
      MergeOp op(mode);
      std::vector<Shape> out_shapes;
      auto x = inputs_for(shapes, 5);
      auto got = run_op(op, shapes, x, &out_shapes);
      std::vector<const float*> ptrs;
      for (auto& v : x) ptrs.push_back(v.data());
      std::vector<float> want(static_cast<size_t>(shape_numel(out_shapes[0])));
      reference::merge(mode, shapes, ptrs, out_shapes[0], want);
      std::string desc = merge_mode_name(mode);
      for (const Shape& s : shapes) desc.append(" ").append(str(s));
      EXPECT_TRUE(near(got[0], want)) << desc;
    }
  }
}

TEST(Merge, ShapeInference) {
  MergeOp add(MergeMode::Add);
  std::vector<Shape> a = {{-1, 5, 3}, {-1, 3}};
  EXPECT_EQ(add.infer_shapes(a)[0], (Shape{-1, 5, 3}));
  std::vector<Shape> b = {{-1, 5, 3}, {-1, 4, 3}};
  EXPECT_THROW(add.infer_shapes(b), Error);
  MergeOp sub(MergeMode::Subtract);
  std::vector<Shape> three = {{1, 2}, {1, 2}, {1, 2}};
  EXPECT_THROW(sub.infer_shapes(three), Error);
}

TEST(Concat, MatchesReference) {
  struct Case {
    std::vector<Shape> shapes;
    int64_t axis;
  };
  const std::vector<Case> cases = {
      {{{2, 3}, {2, 5}}, -1},
      {{{2, 3, 4}, {2, 5, 4}, {2, 1, 4}}, 1},
      {{{2, 3, 4}, {2, 3, 7}}, 2},
      {{{1, 4, 4, 3}, {1, 4, 4, 5}}, -1},
      {{{2, 3}, {4, 3}}, 0},
      {{{3, 64, 64, 16}, {3, 64, 64, 8}}, 3},
      {{{2, 3}}, -1},
  };
  for (const Case& c : cases) {
    ConcatOp op(c.axis);
    std::vector<Shape> out_shapes;
    auto x = inputs_for(c.shapes, 9);
    auto got = run_op(op, c.shapes, x, &out_shapes);
    std::vector<const float*> ptrs;
    for (auto& v : x) ptrs.push_back(v.data());
    std::vector<float> want(static_cast<size_t>(shape_numel(out_shapes[0])));
    reference::concat(c.axis, c.shapes, ptrs, want);
    EXPECT_TRUE(near(got[0], want)) << "axis " << c.axis << " first " << str(c.shapes[0]);
  }
  ConcatOp op(-1);
  std::vector<Shape> unknown = {{-1, 3, 4}, {-1, 3, -1}};
  EXPECT_EQ(op.infer_shapes(unknown)[0], (Shape{-1, 3, -1}));
  std::vector<Shape> bad = {{-1, 3, 4}, {-1, 2, 4}};
  EXPECT_THROW(op.infer_shapes(bad), Error);
}

TEST(Dot, MatchesReference) {
  struct Case {
    Shape x, y;
    int64_t a0, a1;
    Shape out;
  };
  const std::vector<Case> cases = {
      {{4, 7}, {4, 7}, 1, 1, {4, 1}},
      {{4, 7}, {4, 7}, -1, -1, {4, 1}},
      {{2, 5, 3}, {2, 5, 4}, 1, 1, {2, 3, 4}},
      {{2, 5, 3}, {2, 4, 3}, 2, 2, {2, 5, 4}},
      {{2, 5, 3}, {2, 3, 4}, 2, 1, {2, 5, 4}},
      {{2, 3, 5}, {2, 4, 3}, 1, 2, {2, 5, 4}},
      {{2, 3}, {2, 5, 3}, 1, 2, {2, 5}},
      {{2, 5, 3}, {2, 3}, 2, 1, {2, 5}},
      {{2, 3, 4, 5}, {2, 5, 6}, 3, 1, {2, 3, 4, 6}},
      {{2, 3, 4, 5}, {2, 6, 5}, 3, 2, {2, 3, 4, 6}},
      {{2, 5, 4, 3}, {2, 5, 6}, 1, 1, {2, 4, 3, 6}},
      {{2, 3, 4, 5}, {2, 6, 4, 7}, 2, 2, {2, 3, 5, 6, 7}},  // middle axes: loop path
      {{1, 64, 48}, {1, 80, 48}, 2, 2, {1, 64, 80}},
  };
  for (const Case& c : cases) {
    for (bool normalize : {false, true}) {
      DotAttrs a;
      a.axes[0] = c.a0;
      a.axes[1] = c.a1;
      a.normalize = normalize;
      DotOp op(a);
      std::vector<Shape> out_shapes;
      auto x = inputs_for({c.x, c.y}, 13);
      auto got = run_op(op, {c.x, c.y}, x, &out_shapes);
      EXPECT_EQ(out_shapes[0], c.out) << str(c.x) << " . " << str(c.y);
      std::vector<float> want(static_cast<size_t>(shape_numel(c.out)));
      reference::dot(a, c.x, x[0], c.y, x[1], want);
      EXPECT_TRUE(near(got[0], want, 2e-5f)) << str(c.x) << " . " << str(c.y) << " axes " << c.a0
                                             << "," << c.a1 << " normalize " << normalize;
    }
  }
}

TEST(Dot, ShapeErrors) {
  DotAttrs a;
  a.axes[0] = 1;
  a.axes[1] = 1;
  std::vector<Shape> bad = {{2, 3}, {2, 4}};
  EXPECT_THROW(DotOp(a).infer_shapes(bad), Error);
  a.axes[0] = 0;
  std::vector<Shape> batch = {{2, 3}, {2, 3}};
  EXPECT_THROW(DotOp(a).infer_shapes(batch), Error);
}

// ---------------------------------------------------------------------------------------------
// Binders

TEST(MergeBinders, AddConcatenateDotMerge) {
  std::vector<Shape> shapes = {{2, 5}, {2, 5}};
  auto x = inputs_for(shapes, 31);
  std::vector<const float*> ptrs = {x[0].data(), x[1].data()};

  auto run = [&](const std::string& cls, const std::string& cfg, int major) {
    auto b = bind_layer(cls, cfg, major, {{-1, 5}, {-1, 5}});
    return run_graph(b->g, shapes, x, b->outputs)[0];
  };
  std::vector<float> want(10);
  reference::merge(MergeMode::Add, shapes, ptrs, {2, 5}, want);
  EXPECT_TRUE(near(run("Add", "{}", 2), want));
  EXPECT_TRUE(near(run("Merge", R"({"mode": "sum"})", 1), want));
  reference::merge(MergeMode::Average, shapes, ptrs, {2, 5}, want);
  EXPECT_TRUE(near(run("Average", "{}", 3), want));
  EXPECT_TRUE(near(run("Merge", R"({"mode": "ave"})", 1), want));
  reference::merge(MergeMode::Subtract, shapes, ptrs, {2, 5}, want);
  EXPECT_TRUE(near(run("Subtract", "{}", 2), want));

  std::vector<float> cat(20);
  reference::concat(-1, shapes, ptrs, cat);
  EXPECT_TRUE(near(run("Concatenate", R"({"axis": -1})", 2), cat));
  EXPECT_TRUE(near(run("Merge", R"({"mode": "concat", "concat_axis": -1})", 1), cat));

  DotAttrs a;
  a.axes[0] = 1;
  a.axes[1] = 1;
  std::vector<float> dot(2);
  reference::dot(a, {2, 5}, x[0], {2, 5}, x[1], dot);
  EXPECT_TRUE(near(run("Dot", R"({"axes": 1, "normalize": false})", 2), dot));
  EXPECT_TRUE(near(run("Dot", R"({"axes": [-1, -1]})", 3), dot));
  EXPECT_TRUE(near(run("Merge", R"({"mode": "dot", "dot_axes": [1, 1]})", 1), dot));
  a.normalize = true;
  reference::dot(a, {2, 5}, x[0], {2, 5}, x[1], dot);
  EXPECT_TRUE(near(run("Dot", R"({"axes": 1, "normalize": true})", 3), dot));

  EXPECT_THROW(run("Merge", R"({"mode": "cos"})", 1), Error);
  EXPECT_THROW(bind_layer("Subtract", "{}", 2, {{-1, 5}, {-1, 5}, {-1, 5}}), Error);
}

}  // namespace
}  // namespace kerasrt::ops
