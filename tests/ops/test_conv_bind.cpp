// Binders of the conv and pooling families (src/keras/layers/{conv,pooling}.cpp) through a minimal
// LayerContext: config spellings of Keras 1/2/3, weight roles and re-layouts (Keras 1 'th'
// kernels, Theano flip, transposed-conv order), the nodes created, and the errors.
#include <gtest/gtest.h>

#include "keras/model_builder.h"
#include "keras/weight_source.h"
#include "ops/conv.h"
#include "ops/pooling.h"

namespace kerasrt::keras {
namespace {

// Weights by layer name, as a file would store them.
class FakeWeights final : public WeightSource {
 public:
  explicit FakeWeights(std::vector<StoredWeight> w) : weights_(std::move(w)) {}
  std::vector<StoredWeight> weights_for(const LayerPath& path, const std::vector<std::string>&,
                                        const Dialect&) const override {
    return path.names.back() == "layer" ? weights_ : std::vector<StoredWeight>{};
  }
  std::vector<std::string> weighted_layer_names() const override {
    return weights_.empty() ? std::vector<std::string>{} : std::vector<std::string>{"layer"};
  }

 private:
  std::vector<StoredWeight> weights_;
};

// Builds a Sequential model of one layer named "layer" (class `cls`, config members `config`)
// on an input of shape `input` through the real model builder and registry.
class FakeContext {
 public:
  FakeContext(std::string cls, const std::string& config, std::vector<Shape> inputs,
              std::vector<StoredWeight> weights, Dialect dialect = {})
      : weights_(std::move(weights)) {
    std::string shape = "[";
    for (size_t i = 0; i < inputs.at(0).size(); ++i) {
      int64_t d = inputs[0][i];
      shape += (i ? ", " : "") + (d < 0 ? std::string("null") : std::to_string(d));
    }
    shape += "]";
    std::string layer_cfg = R"({"name": "layer")";
    const size_t brace = config.find('{');
    std::string members = config.substr(brace + 1);
    layer_cfg += members.find_first_not_of(" \n}") == std::string::npos ? "}" : ", " + members;
    text_ = R"({"class_name": "Sequential", "config": {"name": "m", "layers": [)"
            R"({"class_name": "InputLayer", "config": {"name": "in", "dtype": "float32", )"
            R"("batch_input_shape": )" +
            shape + R"(}}, {"class_name": ")" + cls + R"(", "config": )" + layer_cfg + "}]}}";
    dialect_ = std::move(dialect);
  }

  void bind() {
    model_ = build_model(Json::parse(text_, "test"), weights_, dialect_, "test.h5");
    nodes_.clear();
    for (const graph::Node& n : model_.graph.nodes) {
      if (n.name.rfind("layer", 0) == 0) nodes_.push_back(&n);
    }
  }
  const std::vector<const graph::Node*>& nodes() const { return nodes_; }
  // The builder leaves the batch unknown whatever the InputLayer says.
  Shape output_shape() const {
    return model_.graph.values.at(static_cast<size_t>(model_.graph.outputs.at(0))).shape;
  }
  template <class T>
  const T& op(size_t node) const {
    const T* p = dynamic_cast<const T*>(nodes_.at(node)->op.get());
    if (p == nullptr) throw std::runtime_error("unexpected op kind");
    return *p;
  }

 private:
  std::string text_;
  FakeWeights weights_;
  Dialect dialect_;
  BuiltModel model_;
  std::vector<const graph::Node*> nodes_;
};

// A stored weight whose values are 0, 1, 2, ... (so re-layouts can be checked element-wise).
StoredWeight iota_weight(std::string name, std::string role, Shape shape) {
  StoredWeight w;
  w.name = std::move(name);
  w.role = std::move(role);
  w.shape = shape;
  w.load = [shape]() {
    Tensor t(shape);
    for (int64_t i = 0; i < t.numel(); ++i) t.mutable_data()[i] = static_cast<float>(i);
    return t;
  };
  return w;
}

std::string error_of(FakeContext& ctx) {
  try {
    ctx.bind();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(ConvBind, Conv2DKeras2) {
  FakeContext ctx(
      "Conv2D",
      R"({"name": "c", "filters": 6, "kernel_size": [3, 2], "strides": [2, 1],
                      "padding": "same", "data_format": "channels_last", "dilation_rate": [1, 1],
                      "groups": 2, "activation": "linear", "use_bias": true,
                      "kernel_initializer": {"class_name": "GlorotUniform", "config": {}}})",
      {{kUnknownDim, 9, 8, 4}},
      {iota_weight("c/kernel:0", "kernel", {3, 2, 2, 6}), iota_weight("c/bias:0", "bias", {6})});
  ctx.bind();
  ASSERT_EQ(ctx.nodes().size(), 1u);
  const auto& op = ctx.op<ops::ConvOp>(0);
  EXPECT_EQ(op.kind(), "Conv2D");
  EXPECT_EQ(op.attrs().kernel_size, (std::vector<int64_t>{3, 2}));
  EXPECT_EQ(op.attrs().strides, (std::vector<int64_t>{2, 1}));
  EXPECT_EQ(op.attrs().padding, ops::ConvPadding::Same);
  EXPECT_EQ(op.attrs().groups, 2);
  EXPECT_EQ(ctx.output_shape(), (Shape{kUnknownDim, 5, 8, 6}));
  EXPECT_EQ(op.bias().shape(), (Shape{6}));
}

TEST(ConvBind, Conv1DCausalKeras3AndErrors) {
  const char* cfg = R"({"name": "c", "filters": 2, "kernel_size": [3], "strides": 1,
                        "padding": "causal", "dilation_rate": [2], "use_bias": false,
                        "activation": null, "data_format": "channels_last"})";
  FakeContext ctx("Conv1D", cfg, {{1, 10, 3}}, {iota_weight("kernel", "kernel", {3, 3, 2})});
  ctx.bind();
  EXPECT_EQ(ctx.op<ops::ConvOp>(0).attrs().padding, ops::ConvPadding::Causal);
  EXPECT_TRUE(ctx.op<ops::ConvOp>(0).bias().empty());
  EXPECT_EQ(ctx.output_shape(), (Shape{kUnknownDim, 10, 2}));

  // Wrong kernel shape: the message names the weight and both shapes.
  FakeContext bad("Conv1D", cfg, {{1, 10, 3}}, {iota_weight("kernel", "kernel", {3, 2, 3})});
  std::string e = error_of(bad);
  EXPECT_NE(e.find("layer 'layer' (Conv1D)"), std::string::npos) << e;
  EXPECT_NE(e.find("kernel"), std::string::npos) << e;
  EXPECT_NE(e.find("(3, 3, 2)"), std::string::npos) << e;
  // A bias stored although use_bias is false: not silently ignored.
  FakeContext extra("Conv1D", cfg, {{1, 10, 3}},
                    {iota_weight("kernel", "kernel", {3, 3, 2}), iota_weight("bias", "bias", {2})});
  EXPECT_NE(error_of(extra).find("not used"), std::string::npos);
  // Causal is Conv1D only.
  FakeContext causal2d("Conv2D", R"({"filters": 1, "kernel_size": 1, "padding": "causal"})",
                       {{1, 4, 4, 1}}, {iota_weight("k", "kernel", {1, 1, 1, 1})});
  EXPECT_NE(error_of(causal2d).find("causal"), std::string::npos);
}

TEST(ConvBind, Keras1Convolution2DTheanoOrdering) {
  // Keras 1 'th': W (f, in, r, c) -> (r, c, in, f).
  Dialect k1{1, "1.2.2", "tensorflow"};
  FakeContext ctx("Convolution2D",
                  R"({"name": "c", "nb_filter": 4, "nb_row": 3, "nb_col": 2, "border_mode": "same",
                      "subsample": [1, 1], "dim_ordering": "th", "bias": true,
                      "activation": "linear"})",
                  {{kUnknownDim, 3, 8, 8}},
                  {iota_weight("c_W:0", "W", {4, 3, 3, 2}), iota_weight("c_b:0", "b", {4})}, k1);
  ctx.bind();
  const auto& op = ctx.op<ops::ConvOp>(0);
  EXPECT_TRUE(op.attrs().channels_first);
  ASSERT_EQ(op.kernel().shape(), (Shape{3, 2, 3, 4}));
  // kernel[r][c][i][f] == W[f][i][r][c] = ((f*3 + i)*3 + r)*2 + c
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 2; ++c)
      for (int i = 0; i < 3; ++i)
        for (int f = 0; f < 4; ++f) {
          EXPECT_EQ(op.kernel().data()[((r * 2 + c) * 3 + i) * 4 + f],
                    static_cast<float>(((f * 3 + i) * 3 + r) * 2 + c));
        }
  EXPECT_EQ(ctx.output_shape(), (Shape{kUnknownDim, 4, 8, 8}));
}

TEST(ConvBind, TheanoFlip) {
  // Theano backend (names without ":0" in a Keras 1 file): spatial axes reversed.
  Dialect th{1, "1.2.2", ""};
  FakeContext ctx("Convolution2D",
                  R"({"nb_filter": 1, "nb_row": 2, "nb_col": 3, "dim_ordering": "tf",
                      "bias": false})",
                  {{1, 5, 5, 1}}, {iota_weight("c_W", "W", {2, 3, 1, 1})}, th);
  ctx.bind();
  const auto& k = ctx.op<ops::ConvOp>(0).kernel();
  EXPECT_EQ(std::vector<float>(k.data(), k.data() + 6), (std::vector<float>{5, 4, 3, 2, 1, 0}));
  // The same file from the TF backend (":0" names) is not flipped.
  FakeContext tf("Convolution2D", R"({"nb_filter": 1, "nb_row": 2, "nb_col": 3, "bias": false})",
                 {{1, 5, 5, 1}}, {iota_weight("c_W:0", "W", {2, 3, 1, 1})}, th);
  tf.bind();
  EXPECT_EQ(tf.op<ops::ConvOp>(0).kernel().data()[0], 0.0f);
  // Keras 2 file with backend "theano".
  Dialect k2th{2, "2.1.0", "theano"};
  FakeContext k2("Conv1D", R"({"filters": 1, "kernel_size": [3], "use_bias": false})", {{1, 5, 1}},
                 {iota_weight("c/kernel", "kernel", {3, 1, 1})}, k2th);
  k2.bind();
  const auto& k2k = k2.op<ops::ConvOp>(0).kernel();
  EXPECT_EQ(std::vector<float>(k2k.data(), k2k.data() + 3), (std::vector<float>{2, 1, 0}));
}

TEST(ConvBind, Keras1Convolution1DLayouts) {
  Dialect k1{1, "1.2.2", "tensorflow"};
  const char* cfg = R"({"nb_filter": 2, "filter_length": 3, "subsample_length": 1,
                        "border_mode": "valid", "bias": false})";
  // Keras 1.1+: (k, 1, in, f).
  FakeContext a("Convolution1D", cfg, {{1, 7, 4}}, {iota_weight("W:0", "W", {3, 1, 4, 2})}, k1);
  a.bind();
  EXPECT_EQ(a.op<ops::ConvOp>(0).kernel().shape(), (Shape{3, 4, 2}));
  EXPECT_EQ(a.op<ops::ConvOp>(0).kernel().data()[5], 5.0f);
  // Keras <= 1.0: (f, in, k, 1).
  FakeContext b("Convolution1D", cfg, {{1, 7, 4}}, {iota_weight("W:0", "W", {2, 4, 3, 1})}, k1);
  b.bind();
  const Tensor& k = b.op<ops::ConvOp>(0).kernel();
  ASSERT_EQ(k.shape(), (Shape{3, 4, 2}));
  EXPECT_EQ(k.data()[(1 * 4 + 2) * 2 + 1], static_cast<float>((1 * 4 + 2) * 3 + 1));  // W[1][2][1]
  EXPECT_EQ(b.output_shape(), (Shape{kUnknownDim, 5, 2}));
}

TEST(ConvBind, AtrousConvolution2D) {
  Dialect k1{1, "1.2.2", "tensorflow"};
  FakeContext ctx("AtrousConvolution2D",
                  R"({"nb_filter": 2, "nb_row": 3, "nb_col": 3, "atrous_rate": [2, 2],
                      "border_mode": "valid", "dim_ordering": "tf", "bias": true})",
                  {{1, 9, 9, 1}},
                  {iota_weight("W:0", "W", {3, 3, 1, 2}), iota_weight("b:0", "b", {2})}, k1);
  ctx.bind();
  EXPECT_EQ(ctx.op<ops::ConvOp>(0).attrs().dilation, (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(ctx.output_shape(), (Shape{kUnknownDim, 5, 5, 2}));
}

TEST(ConvBind, Depthwise) {
  const char* cfg = R"({"kernel_size": [3, 3], "strides": [2, 2], "padding": "valid",
                        "depth_multiplier": 2, "data_format": "channels_last",
                        "dilation_rate": [1, 1], "activation": "linear", "use_bias": true})";
  // Keras 2 role `depthwise_kernel`, Keras 3 role `kernel`.
  for (const char* role : {"depthwise_kernel", "kernel"}) {
    FakeContext ctx("DepthwiseConv2D", cfg, {{2, 7, 7, 3}},
                    {iota_weight(role, role, {3, 3, 3, 2}), iota_weight("bias", "bias", {6})});
    ctx.bind();
    const auto& op = ctx.op<ops::ConvOp>(0);
    EXPECT_EQ(op.attrs().groups, 3);
    EXPECT_EQ(op.attrs().filters, 6);
    EXPECT_EQ(op.kernel().shape(), (Shape{3, 3, 1, 6}));
    EXPECT_EQ(ctx.output_shape(), (Shape{kUnknownDim, 3, 3, 6}));
  }
  FakeContext d1("DepthwiseConv1D",
                 R"({"kernel_size": 3, "padding": "same", "depth_multiplier": 1,
                     "use_bias": false})",
                 {{2, 7, 5}}, {iota_weight("k", "kernel", {3, 5, 1})});
  d1.bind();
  EXPECT_EQ(d1.output_shape(), (Shape{kUnknownDim, 7, 5}));
}

TEST(ConvBind, SeparableTwoNodes) {
  FakeContext ctx(
      "SeparableConv2D",
      R"({"filters": 5, "kernel_size": [3, 3], "strides": [1, 1], "padding": "same",
                      "depth_multiplier": 2, "data_format": "channels_first",
                      "dilation_rate": [1, 1], "use_bias": true, "activation": "linear"})",
      {{1, 3, 6, 6}},
      {iota_weight("dk", "depthwise_kernel", {3, 3, 3, 2}),
       iota_weight("pk", "pointwise_kernel", {1, 1, 6, 5}), iota_weight("b", "bias", {5})});
  ctx.bind();
  ASSERT_EQ(ctx.nodes().size(), 2u);
  EXPECT_EQ(ctx.nodes()[0]->name, "layer/depthwise");
  EXPECT_EQ(ctx.op<ops::ConvOp>(0).attrs().groups, 3);
  EXPECT_TRUE(ctx.op<ops::ConvOp>(0).bias().empty());
  EXPECT_EQ(ctx.op<ops::ConvOp>(1).kernel().shape(), (Shape{1, 1, 6, 5}));
  EXPECT_EQ(ctx.output_shape(), (Shape{kUnknownDim, 5, 6, 6}));
}

TEST(ConvBind, Transpose) {
  FakeContext ctx("Conv2DTranspose",
                  R"({"filters": 4, "kernel_size": [3, 3], "strides": [2, 2], "padding": "valid",
                      "output_padding": [1, 0], "data_format": "channels_last",
                      "dilation_rate": [1, 1], "use_bias": true, "activation": "linear"})",
                  {{kUnknownDim, 5, 6, 3}},
                  {iota_weight("k", "kernel", {3, 3, 4, 3}), iota_weight("b", "bias", {4})});
  ctx.bind();
  EXPECT_TRUE(ctx.op<ops::ConvOp>(0).attrs().transpose);
  EXPECT_EQ(ctx.output_shape(), (Shape{kUnknownDim, 12, 13, 4}));
  // The conv-order kernel (k, k, in, out) is rejected: trap 9.
  FakeContext bad("Conv3DTranspose",
                  R"({"filters": 4, "kernel_size": 2, "strides": 2, "padding": "same"})",
                  {{1, 3, 3, 3, 3}},
                  {iota_weight("k", "kernel", {2, 2, 2, 3, 4}), iota_weight("b", "bias", {4})});
  EXPECT_NE(error_of(bad).find("(2, 2, 2, 4, 3)"), std::string::npos);
}

TEST(ConvBind, Keras1Deconvolution2D) {
  Dialect k1{1, "1.2.2", "tensorflow"};
  // tf ordering stored (r, c, in, f); output_shape asks for one row less than Keras 2's default.
  FakeContext ctx("Deconvolution2D",
                  R"({"nb_filter": 2, "nb_row": 3, "nb_col": 3, "output_shape": [null, 9, 10, 2],
                      "border_mode": "same", "subsample": [2, 2], "dim_ordering": "tf",
                      "bias": true})",
                  {{1, 5, 5, 3}},
                  {iota_weight("W:0", "W", {3, 3, 3, 2}), iota_weight("b:0", "b", {2})}, k1);
  ctx.bind();
  const auto& op = ctx.op<ops::ConvOp>(0);
  EXPECT_EQ(ctx.output_shape(), (Shape{kUnknownDim, 9, 10, 2}));
  ASSERT_EQ(op.kernel().shape(), (Shape{3, 3, 2, 3}));
  EXPECT_EQ(op.kernel().data()[1], 2.0f);  // kernel[0][0][0][1] = W[0][0][1][0]
}

TEST(PoolBind, Configs) {
  Dialect k1{1, "1.2.2", "tensorflow"};
  FakeContext a("MaxPooling1D", R"({"pool_length": 3, "stride": null, "border_mode": "valid"})",
                {{1, 10, 4}}, {}, k1);
  a.bind();
  EXPECT_EQ(a.op<ops::PoolOp>(0).attrs().strides, (std::vector<int64_t>{3}));
  EXPECT_EQ(a.output_shape(), (Shape{kUnknownDim, 3, 4}));

  FakeContext b("AveragePooling2D",
                R"({"pool_size": [2, 2], "strides": null, "padding": "same",
                    "data_format": "channels_first"})",
                {{1, 3, 5, 5}}, {});
  b.bind();
  EXPECT_EQ(b.op<ops::PoolOp>(0).attrs().mode, ops::PoolMode::Average);
  EXPECT_EQ(b.output_shape(), (Shape{kUnknownDim, 3, 3, 3}));

  FakeContext c("MaxPooling3D", R"({"pool_size": 2, "strides": [1, 2, 2], "padding": "valid"})",
                {{1, 4, 4, 4, 2}}, {});
  c.bind();
  EXPECT_EQ(c.output_shape(), (Shape{kUnknownDim, 3, 2, 2, 2}));

  FakeContext d("GlobalAveragePooling2D", R"({"data_format": "channels_first", "keepdims": true})",
                {{kUnknownDim, 3, 5, 5}}, {});
  d.bind();
  EXPECT_EQ(d.output_shape(), (Shape{kUnknownDim, 3, 1, 1}));

  FakeContext e("GlobalMaxPooling1D", R"({})", {{2, kUnknownDim, 7}}, {});
  e.bind();
  EXPECT_EQ(e.output_shape(), (Shape{kUnknownDim, 7}));

  FakeContext f("MaxPooling2D", R"({"pool_size": [2, 2], "padding": "full"})", {{1, 4, 4, 1}}, {});
  EXPECT_NE(error_of(f).find("full"), std::string::npos);
  FakeContext g("MaxPooling2D", R"({"pool_size": [2, 2]})", {{1, 4, 4}}, {});
  EXPECT_NE(error_of(g).find("rank 4"), std::string::npos);
}

}  // namespace
}  // namespace kerasrt::keras
