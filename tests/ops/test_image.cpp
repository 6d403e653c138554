// Copyright 2025 The kerasrt Authors
// SPDX-License-Identifier: Apache-2.0
//
// Image family: pad/crop, repeat and resize kernels against the naive references (random shapes,
// every padding sign, ranks 3-5, NHWC and NCHW, upsampling, downsampling, non-integer ratios,
// same size, 1-pixel images, legacy and half-pixel centers, 1 and 2 threads), small cases with
// values tf.image.resize gives, the aspect-ratio fits, and the binders from Keras configs.
#include <gtest/gtest.h>

#include <random>

#include "kerasrt/error.h"
#include "norm_image_harness.h"
#include "ops/image.h"

namespace kerasrt::ops {
namespace {

using normimg_test::close;
using normimg_test::FakeLayerContext;
using normimg_test::random_values;
using normimg_test::runner;

using Pads = std::vector<std::array<int64_t, 2>>;

std::string pads_str(const Pads& p) {
  std::string s;
  for (const auto& a : p) {
    s += "(";
    s += std::to_string(a[0]);
    s += ",";
    s += std::to_string(a[1]);
    s += ")";
  }
  return s;
}

Shape padded(const Shape& in, const Pads& p) {
  Shape out = in;
  for (size_t a = 0; a < in.size(); ++a) out[a] += p[a][0] + p[a][1];
  return out;
}

TEST(PadCrop, MatchesReference) {
  std::mt19937 rng(21);
  struct Case {
    Shape in;
    Pads pads;
  };
  std::vector<Case> cases = {
      {{1, 1, 1}, {{0, 0}, {1, 1}, {0, 0}}},
      {{2, 7, 3}, {{0, 0}, {2, 0}, {0, 0}}},
      {{2, 7, 3}, {{0, 0}, {-2, -1}, {0, 0}}},
      {{2, 7, 3}, {{0, 0}, {0, 0}, {0, 0}}},
      {{1, 5, 6, 3}, {{0, 0}, {1, 2}, {3, 0}, {0, 0}}},
      {{2, 5, 6, 3}, {{0, 0}, {-1, -2}, {-3, 0}, {0, 0}}},
      {{2, 5, 6, 3}, {{0, 0}, {-1, 2}, {3, -2}, {0, 0}}},  // pad and crop mixed
      {{2, 3, 5, 6}, {{0, 0}, {0, 0}, {1, 1}, {2, 2}}},    // channels_first
      {{2, 3, 5, 6, 4}, {{0, 0}, {1, 1}, {0, 2}, {-1, -1}, {0, 0}}},
      {{2, 4, 3, 5, 6}, {{0, 0}, {0, 0}, {1, 0}, {0, 1}, {1, 1}}},
      {{4, 64, 64, 17}, {{0, 0}, {3, 3}, {3, 3}, {0, 0}}},  // parallel path
      {{4, 17, 64, 64}, {{0, 0}, {0, 0}, {-5, -3}, {-2, -7}}},
  };
  for (const Case& c : cases) {
    for (float fill : {0.0f, -1.5f}) {
      for (int threads : {1, 2}) {
        PadCropOp op(PadCropAttrs{c.pads, fill});
        auto x = random_values(rng, shape_numel(c.in));
        Shape out;
        auto got = runner().run(op, c.in, x, &out, threads);
        EXPECT_EQ(out, padded(c.in, c.pads));
        std::vector<float> want(static_cast<size_t>(shape_numel(out)));
        reference::pad_crop(c.in, c.pads, fill, x, want);
        EXPECT_TRUE(close(got, want, 0.0f)) << "input " << shape_to_string(c.in) << " pads "
                                            << pads_str(c.pads) << " threads " << threads;
      }
    }
  }
}

TEST(PadCrop, Shapes) {
  PadCropOp op(PadCropAttrs{{{0, 0}, {-2, -3}, {1, 1}}, 0.0f});
  EXPECT_EQ(op.kind(), "PadCrop");
  Shape unknown{-1, -1, 4};
  EXPECT_EQ(op.infer_shapes(std::span<const Shape>(&unknown, 1)).at(0), (Shape{-1, -1, 6}));
  Shape too_small{-1, 5, 4};
  try {
    op.infer_shapes(std::span<const Shape>(&too_small, 1));
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::InvalidModel);
  }
  Shape wrong_rank{-1, 5};
  EXPECT_THROW(op.infer_shapes(std::span<const Shape>(&wrong_rank, 1)), Error);
}

TEST(Repeat, MatchesReference) {
  std::mt19937 rng(22);
  struct Case {
    Shape in;
    std::vector<int64_t> rep;
  };
  std::vector<Case> cases = {
      {{1, 1, 1}, {1, 2, 1}},
      {{2, 5, 3}, {1, 3, 1}},
      {{2, 5, 4, 3}, {1, 2, 2, 1}},
      {{1, 5, 4, 1}, {1, 3, 2, 1}},
      {{2, 3, 5, 4}, {1, 1, 2, 3}},
      {{2, 3, 4, 5, 2}, {1, 2, 1, 3, 1}},
      {{2, 2, 3, 4, 5}, {1, 1, 2, 2, 2}},
      {{2, 5, 4, 3}, {1, 1, 1, 1}},
      {{4, 32, 32, 16}, {1, 2, 2, 1}},
      {{4, 16, 32, 32}, {1, 1, 2, 2}},
  };
  for (const Case& c : cases) {
    for (int threads : {1, 2}) {
      RepeatOp op(RepeatAttrs{c.rep});
      auto x = random_values(rng, shape_numel(c.in));
      Shape out;
      auto got = runner().run(op, c.in, x, &out, threads);
      std::vector<float> want(static_cast<size_t>(shape_numel(out)));
      reference::repeat(c.in, c.rep, x, want);
      EXPECT_TRUE(close(got, want, 0.0f))
          << "input " << shape_to_string(c.in) << " repeats " << normimg_test::str(c.rep);
    }
  }
}

// NCHW <-> NHWC for the channels_first checks against the NHWC reference.
std::vector<float> to_nhwc(const std::vector<float>& x, const Shape& nchw) {
  const int64_t n = nchw[0], c = nchw[1], h = nchw[2], w = nchw[3];
  std::vector<float> y(x.size());
  for (int64_t b = 0; b < n; ++b)
    for (int64_t k = 0; k < c; ++k)
      for (int64_t i = 0; i < h; ++i)
        for (int64_t j = 0; j < w; ++j)
          y[static_cast<size_t>(((b * h + i) * w + j) * c + k)] =
              x[static_cast<size_t>(((b * c + k) * h + i) * w + j)];
  return y;
}

std::vector<float> to_nchw(const std::vector<float>& x, const Shape& nhwc) {
  const int64_t n = nhwc[0], h = nhwc[1], w = nhwc[2], c = nhwc[3];
  std::vector<float> y(x.size());
  for (int64_t b = 0; b < n; ++b)
    for (int64_t i = 0; i < h; ++i)
      for (int64_t j = 0; j < w; ++j)
        for (int64_t k = 0; k < c; ++k)
          y[static_cast<size_t>(((b * c + k) * h + i) * w + j)] =
              x[static_cast<size_t>(((b * h + i) * w + j) * c + k)];
  return y;
}

const char* method_name(ResizeMethod m) {
  return m == ResizeMethod::Nearest    ? "nearest"
         : m == ResizeMethod::Bilinear ? "bilinear"
                                       : "bicubic";
}

TEST(Resize, MatchesReference) {
  std::mt19937 rng(23);
  struct Case {
    Shape in;  // NHWC
    int64_t oh, ow;
  };
  std::vector<Case> cases = {
      {{1, 1, 1, 1}, 1, 1},      {{1, 1, 1, 3}, 4, 5},   {{2, 2, 2, 1}, 4, 4},
      {{2, 5, 7, 3}, 10, 14},    {{2, 5, 7, 3}, 3, 4},   {{1, 9, 6, 5}, 7, 11},
      {{2, 8, 8, 2}, 8, 8},      {{1, 17, 13, 4}, 1, 1}, {{1, 6, 9, 19}, 13, 2},
      {{2, 64, 48, 16}, 97, 71},
  };
  for (const Case& c : cases) {
    for (ResizeMethod m : {ResizeMethod::Nearest, ResizeMethod::Bilinear, ResizeMethod::Bicubic}) {
      for (bool hp : {true, false}) {
        for (bool cf : {false, true}) {
          ResizeAttrs a;
          a.height = c.oh;
          a.width = c.ow;
          a.method = m;
          a.half_pixel_centers = hp;
          a.channels_first = cf;
          ResizeOp op(a);
          auto x = random_values(rng, shape_numel(c.in));
          Shape nhwc_out{c.in[0], c.oh, c.ow, c.in[3]};
          std::vector<float> want(static_cast<size_t>(shape_numel(nhwc_out)));
          reference::resize_nhwc(c.in, c.oh, c.ow, m, hp, x, want);
          Shape in = c.in, out;
          std::vector<float> got;
          if (cf) {
            in = {c.in[0], c.in[3], c.in[1], c.in[2]};
            got = to_nhwc(runner().run(op, in, to_nchw(x, c.in), &out, 2),
                          {c.in[0], c.in[3], c.oh, c.ow});
            EXPECT_EQ(out, (Shape{c.in[0], c.in[3], c.oh, c.ow}));
          } else {
            got = runner().run(op, in, x, &out, 2);
            EXPECT_EQ(out, nhwc_out);
          }
          EXPECT_TRUE(close(got, want, 1e-5f))
              << "input " << shape_to_string(c.in) << " -> " << c.oh << "x" << c.ow << " "
              << method_name(m) << " half_pixel " << hp << " channels_first " << cf;
        }
      }
    }
  }
}

// Values tf.image.resize (TF 2.x) returns for a 2x2 image [[1, 2], [3, 4]].
TEST(Resize, KnownTensorFlowValues) {
  Shape in{1, 2, 2, 1}, out;
  std::vector<float> x{1, 2, 3, 4};
  auto resize = [&](ResizeMethod m, int64_t h, int64_t w, bool hp) {
    ResizeAttrs a;
    a.height = h;
    a.width = w;
    a.method = m;
    a.half_pixel_centers = hp;
    return runner().run(ResizeOp(a), in, x, &out);
  };
  EXPECT_TRUE(
      close(resize(ResizeMethod::Bilinear, 4, 4, true),
            {1, 1.25, 1.75, 2, 1.5, 1.75, 2.25, 2.5, 2.5, 2.75, 3.25, 3.5, 3, 3.25, 3.75, 4}));
  // TF1 resize_bilinear (align_corners=False): legacy coordinates x * in / out.
  EXPECT_TRUE(close(resize(ResizeMethod::Bilinear, 4, 4, false),
                    {1, 1.5, 2, 2, 2, 2.5, 3, 3, 3, 3.5, 4, 4, 3, 3.5, 4, 4}));
  EXPECT_TRUE(close(resize(ResizeMethod::Nearest, 3, 3, true), {1, 2, 2, 3, 4, 4, 3, 4, 4}));
  EXPECT_TRUE(close(resize(ResizeMethod::Nearest, 3, 3, false), {1, 1, 2, 1, 1, 2, 3, 3, 4}));
  EXPECT_TRUE(close(resize(ResizeMethod::Bilinear, 1, 1, true), {2.5}));
}

TEST(Resize, Fits) {
  std::mt19937 rng(24);
  struct Case {
    Shape in;  // NHWC
    int64_t oh, ow;
    ResizeFit fit;
  };
  std::vector<Case> cases = {
      {{2, 10, 6, 3}, 4, 4, ResizeFit::CropToAspect},
      {{2, 6, 10, 3}, 5, 3, ResizeFit::CropToAspect},
      {{1, 7, 7, 2}, 3, 5, ResizeFit::CropToAspect},
      {{2, 10, 6, 3}, 4, 4, ResizeFit::PadToAspect},
      {{2, 6, 10, 3}, 5, 3, ResizeFit::PadToAspect},
      {{1, 7, 7, 2}, 3, 5, ResizeFit::PadToAspect},
      {{2, 10, 8, 3}, 4, 5, ResizeFit::CenterCrop},
      {{2, 9, 8, 3}, 4, 4, ResizeFit::CenterCrop},
      {{2, 4, 8, 3}, 6, 6, ResizeFit::CenterCrop},
      {{1, 3, 3, 1}, 5, 7, ResizeFit::CenterCrop},
  };
  for (const Case& c : cases) {
    ResizeAttrs a;
    a.height = c.oh;
    a.width = c.ow;
    a.method = ResizeMethod::Bilinear;
    a.fit = c.fit;
    a.fill_value = 0.5f;
    ResizeOp op(a);
    auto x = random_values(rng, shape_numel(c.in));
    Shape out;
    auto got = runner().run(op, c.in, x, &out);
    // The window, applied with the pad/crop reference, then the resize reference.
    ResizeWindow w = resize_window(a, c.in[1], c.in[2], c.oh, c.ow);
    Pads pads{{0, 0}, {-w.y0, 0}, {-w.x0, 0}, {0, 0}};
    pads[1][1] = w.h - c.in[1] + w.y0;
    pads[2][1] = w.w - c.in[2] + w.x0;
    Shape win_shape{c.in[0], w.h, w.w, c.in[3]};
    std::vector<float> win(static_cast<size_t>(shape_numel(win_shape)));
    reference::pad_crop(c.in, pads, 0.5f, x, win);
    std::vector<float> want(static_cast<size_t>(c.in[0] * c.oh * c.ow * c.in[3]));
    if (w.resize) {
      reference::resize_nhwc(win_shape, c.oh, c.ow, ResizeMethod::Bilinear, true, win, want);
    } else {
      want = win;
    }
    EXPECT_TRUE(close(got, want, 1e-5f)) << "input " << shape_to_string(c.in) << " -> " << c.oh
                                         << "x" << c.ow << " fit " << int(c.fit);
  }
  // The windows themselves (keras/src/backend/tensorflow/image.py, center_crop.py).
  ResizeAttrs a;
  a.fit = ResizeFit::CropToAspect;
  ResizeWindow w = resize_window(a, 10, 6, 4, 4);
  EXPECT_EQ(w.y0, 2);
  EXPECT_EQ(w.h, 6);
  EXPECT_EQ(w.w, 6);
  a.fit = ResizeFit::PadToAspect;
  w = resize_window(a, 7, 7, 3, 5);  // pad_width = int(7 * 5 / 3) = 11, start 2 on both sides
  EXPECT_EQ(w.x0, -2);
  EXPECT_EQ(w.w, 11);
  EXPECT_EQ(w.h, 7);
  a.fit = ResizeFit::CenterCrop;
  w = resize_window(a, 9, 8, 4, 4);
  EXPECT_FALSE(w.resize);
  EXPECT_EQ(w.y0, 2);
  EXPECT_EQ(w.x0, 2);
}

// -- binders ------------------------------------------------------------------------------------

struct BinderCase {
  std::string cls, config;
  Shape in;                          // concrete input
  std::vector<ptrdiff_t> none_dims;  // dims left unknown at bind time
};

std::vector<float> bind_and_run(const std::string& cls, const std::string& config, const Shape& in,
                                const std::vector<float>& x, Shape* out,
                                keras::Dialect dialect = {3, "3.3.3", "tensorflow"}) {
  Shape build = in;
  build[0] = -1;
  FakeLayerContext ctx(cls, config, {build}, {}, dialect);
  ctx.bind();
  return ctx.run(in, x, out);
}

TEST(ImageBinders, ZeroPaddingAndCropping) {
  std::mt19937 rng(25);
  struct Case {
    std::string cls, config;
    Shape in;
    Pads pads;
    keras::Dialect dialect;
  };
  keras::Dialect k3{3, "3.3.3", "tensorflow"}, k2{2, "2.15.0", "tensorflow"},
      k1{1, "1.2.2", "theano"};
  std::vector<Case> cases = {
      {"ZeroPadding1D", R"({"padding": 2})", {2, 5, 3}, {{0, 0}, {2, 2}, {0, 0}}, k3},
      {"ZeroPadding1D", R"({"padding": [1, 3]})", {2, 5, 3}, {{0, 0}, {1, 3}, {0, 0}}, k2},
      {"ZeroPadding1D", R"({})", {2, 5, 3}, {{0, 0}, {1, 1}, {0, 0}}, k3},
      {"ZeroPadding2D", R"({"padding": 1})", {2, 4, 5, 3}, {{0, 0}, {1, 1}, {1, 1}, {0, 0}}, k3},
      {"ZeroPadding2D",
       R"({"padding": [1, 2]})",
       {2, 4, 5, 3},
       {{0, 0}, {1, 1}, {2, 2}, {0, 0}},
       k2},
      {"ZeroPadding2D",
       R"({"padding": [[1, 0], [0, 2]], "data_format": "channels_last"})",
       {2, 4, 5, 3},
       {{0, 0}, {1, 0}, {0, 2}, {0, 0}},
       k3},
      {"ZeroPadding2D",
       R"({"padding": [[1, 0], [0, 2]], "data_format": "channels_first"})",
       {2, 3, 4, 5},
       {{0, 0}, {0, 0}, {1, 0}, {0, 2}},
       k2},
      {"ZeroPadding2D",
       R"({"padding": [1, 2, 3, 4], "dim_ordering": "th"})",
       {2, 3, 4, 5},
       {{0, 0}, {0, 0}, {1, 2}, {3, 4}},
       k1},
      {"ZeroPadding2D",
       R"({"padding": {"top_pad": 1, "bottom_pad": 0, "left_pad": 2,
                                        "right_pad": 1}, "dim_ordering": "tf"})",
       {2, 4, 5, 3},
       {{0, 0}, {1, 0}, {2, 1}, {0, 0}},
       k1},
      {"ZeroPadding3D",
       R"({"padding": [1, 0, 2]})",
       {2, 3, 4, 5, 2},
       {{0, 0}, {1, 1}, {0, 0}, {2, 2}, {0, 0}},
       k3},
      {"ZeroPadding3D",
       R"({"padding": [[1, 0], [0, 1], [2, 0]], "data_format": "channels_first"})",
       {1, 2, 3, 4, 5},
       {{0, 0}, {0, 0}, {1, 0}, {0, 1}, {2, 0}},
       k2},
      {"Cropping1D", R"({"cropping": [1, 2]})", {2, 6, 3}, {{0, 0}, {-1, -2}, {0, 0}}, k3},
      {"Cropping1D", R"({})", {2, 6, 3}, {{0, 0}, {-1, -1}, {0, 0}}, k3},
      {"Cropping2D",
       R"({"cropping": [[1, 0], [2, 1]]})",
       {2, 5, 6, 3},
       {{0, 0}, {-1, 0}, {-2, -1}, {0, 0}},
       k3},
      {"Cropping2D",
       R"({"cropping": 1, "data_format": "channels_first"})",
       {2, 3, 5, 6},
       {{0, 0}, {0, 0}, {-1, -1}, {-1, -1}},
       k2},
      {"Cropping2D",
       R"({"cropping": [2, 1]})",
       {2, 5, 6, 3},
       {{0, 0}, {-2, -2}, {-1, -1}, {0, 0}},
       k2},
      {"Cropping3D", R"({})", {1, 4, 5, 6, 2}, {{0, 0}, {-1, -1}, {-1, -1}, {-1, -1}, {0, 0}}, k3},
      {"Cropping3D",
       R"({"cropping": [[0, 1], [1, 0], [2, 2]]})",
       {1, 4, 5, 6, 2},
       {{0, 0}, {0, -1}, {-1, 0}, {-2, -2}, {0, 0}},
       k3},
  };
  for (const Case& c : cases) {
    auto x = random_values(rng, shape_numel(c.in));
    Shape out;
    auto got = bind_and_run(c.cls, c.config, c.in, x, &out, c.dialect);
    EXPECT_EQ(out, padded(c.in, c.pads)) << c.cls << " " << c.config;
    std::vector<float> want(static_cast<size_t>(shape_numel(padded(c.in, c.pads))));
    reference::pad_crop(c.in, c.pads, 0.0f, x, want);
    EXPECT_TRUE(close(got, want, 0.0f)) << c.cls << " " << c.config;
  }
  // Cropping everything away is an error naming the layer.
  FakeLayerContext ctx("Cropping1D", R"({"cropping": [3, 3]})", {{-1, 6, 3}});
  try {
    ctx.bind();
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::InvalidModel);
    EXPECT_NE(std::string(e.what()).find("layer"), std::string::npos) << e.what();
  }
}

TEST(ImageBinders, UpSampling) {
  std::mt19937 rng(26);
  struct Case {
    std::string cls, config;
    Shape in;
    std::vector<int64_t> rep;
  };
  std::vector<Case> cases = {
      {"UpSampling1D", R"({"size": 3})", {2, 4, 3}, {1, 3, 1}},
      {"UpSampling1D", R"({"length": 2})", {2, 4, 3}, {1, 2, 1}},
      {"UpSampling2D",
       R"({"size": [2, 3], "interpolation": "nearest"})",
       {2, 4, 5, 3},
       {1, 2, 3, 1}},
      {"UpSampling2D",
       R"({"size": 2, "data_format": "channels_first"})",
       {2, 3, 4, 5},
       {1, 1, 2, 2}},
      {"UpSampling3D", R"({"size": [2, 1, 3]})", {1, 2, 3, 4, 2}, {1, 2, 1, 3, 1}},
      {"UpSampling3D",
       R"({"size": 2, "data_format": "channels_first"})",
       {1, 2, 3, 4, 2},
       {1, 1, 2, 2, 2}},
  };
  for (const Case& c : cases) {
    auto x = random_values(rng, shape_numel(c.in));
    Shape out;
    auto got = bind_and_run(c.cls, c.config, c.in, x, &out);
    std::vector<float> want(got.size());
    reference::repeat(c.in, c.rep, x, want);
    EXPECT_TRUE(close(got, want, 0.0f)) << c.cls << " " << c.config;
  }
  // Bilinear: tf.image.resize with half-pixel centers (tf.keras, Keras 3), TF1 legacy coordinates
  // for standalone Keras 2.2.
  Shape in{2, 3, 4, 2};
  auto x = random_values(rng, shape_numel(in));
  for (auto [dialect, hp] : {std::pair{keras::Dialect{3, "3.3.3", "tensorflow"}, true},
                             std::pair{keras::Dialect{2, "2.6.0", "tensorflow"}, true},
                             std::pair{keras::Dialect{2, "2.2.4-tf", "tensorflow"}, true},
                             std::pair{keras::Dialect{2, "2.2.5", "tensorflow"}, false}}) {
    Shape out;
    auto got = bind_and_run("UpSampling2D", R"({"size": [2, 3], "interpolation": "bilinear"})", in,
                            x, &out, dialect);
    std::vector<float> want(static_cast<size_t>(2 * 6 * 12 * 2));
    reference::resize_nhwc(in, 6, 12, ResizeMethod::Bilinear, hp, x, want);
    EXPECT_EQ(out, (Shape{2, 6, 12, 2}));
    EXPECT_TRUE(close(got, want)) << dialect.keras_version;
  }
  FakeLayerContext bad("UpSampling2D", R"({"size": 2, "interpolation": "lanczos3"})",
                       {{-1, 3, 4, 2}});
  try {
    bad.bind();
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::Unsupported);
  }
}

TEST(ImageBinders, ResizingAndCenterCrop) {
  std::mt19937 rng(27);
  Shape in{2, 9, 7, 3};
  auto x = random_values(rng, shape_numel(in));
  Shape out;
  {
    auto got = bind_and_run("Resizing",
                            R"({"height": 5, "width": 11, "interpolation": "bilinear",
                                "crop_to_aspect_ratio": false})",
                            in, x, &out);
    std::vector<float> want(static_cast<size_t>(2 * 5 * 11 * 3));
    reference::resize_nhwc(in, 5, 11, ResizeMethod::Bilinear, true, x, want);
    EXPECT_EQ(out, (Shape{2, 5, 11, 3}));
    EXPECT_TRUE(close(got, want));
  }
  {
    auto got = bind_and_run("Resizing", R"({"height": 4, "width": 4, "interpolation": "nearest"})",
                            in, x, &out);
    std::vector<float> want(static_cast<size_t>(2 * 4 * 4 * 3));
    reference::resize_nhwc(in, 4, 4, ResizeMethod::Nearest, true, x, want);
    EXPECT_TRUE(close(got, want));
  }
  {
    // channels_first (Keras 3 data_format).
    Shape cf{2, 3, 9, 7};
    auto got = bind_and_run("Resizing",
                            R"({"height": 4, "width": 6, "interpolation": "bicubic",
                                "data_format": "channels_first"})",
                            cf, to_nchw(x, in), &out);
    std::vector<float> want(static_cast<size_t>(2 * 4 * 6 * 3));
    reference::resize_nhwc(in, 4, 6, ResizeMethod::Bicubic, true, x, want);
    EXPECT_EQ(out, (Shape{2, 3, 4, 6}));
    EXPECT_TRUE(close(to_nhwc(got, out), want));
  }
  {
    // CenterCrop smaller than the input: a plain crop.
    auto got = bind_and_run("CenterCrop", R"({"height": 4, "width": 5})", in, x, &out);
    std::vector<float> want(static_cast<size_t>(2 * 4 * 5 * 3));
    reference::pad_crop(in, Pads{{0, 0}, {-2, -3}, {-1, -1}, {0, 0}}, 0.0f, x, want);
    EXPECT_TRUE(close(got, want, 0.0f));
  }
  for (const char* bad : {R"({"height": 4, "width": 4, "interpolation": "area"})",
                          R"({"height": 4, "width": 4, "antialias": true})",
                          R"({"height": 4, "width": 4, "pad_to_aspect_ratio": true,
                              "fill_mode": "reflect"})"}) {
    FakeLayerContext ctx("Resizing", bad, {{-1, 9, 7, 3}});
    try {
      ctx.bind();
      FAIL() << bad;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::Unsupported) << bad;
    }
  }
}

}  // namespace
}  // namespace kerasrt::ops
