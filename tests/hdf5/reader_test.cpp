// Reads back the files make_files.py writes and checks exact values, for the default libver
// (superblock 0, v1 headers, symbol tables), libver='latest' (superblock 3, v2 headers, dense links
// and attributes) and a file behind a 512-byte user block.
#include <cmath>
#include <cstring>
#include <thread>

#include "test_util.h"

namespace kerasrt::hdf5 {
namespace {

using test::test_file;

class ReaderTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    KERASRT_REQUIRE_FILES();
    file_ = std::make_unique<File>(File::open(test_file(GetParam())));
  }
  bool latest() const { return GetParam() == "latest.h5"; }
  Group root() const { return file_->root(); }
  Attribute attr(const std::string& name) const {
    auto a = root().attribute(name);
    EXPECT_TRUE(a.has_value()) << name;
    if (!a) throw std::runtime_error("missing attribute " + name);
    return *a;
  }
  std::unique_ptr<File> file_;
};

std::vector<float> iota_f(size_t n, float start = 0) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = start + static_cast<float>(i);
  return v;
}

TEST_P(ReaderTest, Superblock) {
  EXPECT_EQ(file_->superblock_version(), latest() ? 3 : 0);
  EXPECT_EQ(file_->name(), test_file(GetParam()));
}

TEST_P(ReaderTest, RootAttributeNamesInByteOrder) {
  std::vector<std::string> names;
  for (const auto& a : root().attributes()) names.push_back(a.name());
  std::vector<std::string> want = {
      "backend",        "be_f64",         "be_i32",       "bool",          "bools",
      "compound",       "empty_f64",      "enum",         "f16",           "fixed_nullpad",
      "fixed_nullterm", "fixed_spacepad", "int64_scalar", "keras_version", "null_space",
      "opaque",         "uint8s",         "utf8",         "vlen_list"};
  if (latest()) want.insert(want.begin() + 3, "big");
  EXPECT_EQ(names, want);
  EXPECT_TRUE(root().has_attribute("utf8"));
  EXPECT_FALSE(root().has_attribute("utf"));
  EXPECT_FALSE(root().has_attribute(""));
}

TEST_P(ReaderTest, StringAttributes) {
  Attribute kv = attr("keras_version");
  EXPECT_EQ(kv.dtype().cls, TypeClass::String);
  EXPECT_TRUE(kv.dtype().vlen);
  EXPECT_TRUE(kv.dtype().utf8);
  EXPECT_EQ(kv.space().kind, SpaceKind::Scalar);
  EXPECT_EQ(kv.read_string(), "2.15.0");

  Attribute be = attr("backend");
  EXPECT_FALSE(be.dtype().vlen);
  EXPECT_EQ(be.dtype().size, 10u);
  EXPECT_EQ(be.dtype().pad, StringPad::NullPad);
  EXPECT_EQ(be.read_string(), "tensorflow");

  EXPECT_EQ(attr("utf8").read_string(), "h\xc3\xa9llo w\xc3\xb6rld \xe2\x9c\x93");
  EXPECT_EQ(attr("vlen_list").read_strings(),
            (std::vector<std::string>{"dense", "dense_1", "", std::string(100, 'x')}));
  EXPECT_FALSE(attr("vlen_list").dtype().utf8);
  EXPECT_EQ(attr("fixed_nullpad").read_strings(), (std::vector<std::string>{"ab", "abcd", ""}));
  Attribute nt = attr("fixed_nullterm");
  EXPECT_EQ(nt.dtype().pad, StringPad::NullTerm);
  EXPECT_EQ(nt.read_strings(), (std::vector<std::string>{"abc", "de"}));
  Attribute sp = attr("fixed_spacepad");
  EXPECT_EQ(sp.dtype().pad, StringPad::SpacePad);
  EXPECT_EQ(sp.read_strings(), (std::vector<std::string>{"ab", "abcdef"}));
  EXPECT_THROW(attr("int64_scalar").read_strings(), kerasrt::Error);
  EXPECT_THROW(attr("vlen_list").read_string(), kerasrt::Error);
}

TEST_P(ReaderTest, NumericAttributes) {
  Attribute e = attr("empty_f64");
  EXPECT_EQ(e.dtype().numpy_name(), "float64");
  EXPECT_EQ(e.space().kind, SpaceKind::Simple);
  EXPECT_EQ(e.space().dims, std::vector<uint64_t>{0});
  EXPECT_TRUE(e.read_doubles().empty());

  EXPECT_EQ(attr("int64_scalar").read_ints(), std::vector<int64_t>{-5});
  EXPECT_EQ(attr("int64_scalar").dtype().numpy_name(), "int64");
  EXPECT_EQ(attr("uint8s").read_ints(), (std::vector<int64_t>{0, 255}));
  EXPECT_EQ(attr("uint8s").dtype().numpy_name(), "uint8");
  Attribute bi = attr("be_i32");
  EXPECT_TRUE(bi.dtype().big_endian);
  EXPECT_EQ(bi.read_ints(), (std::vector<int64_t>{-2, 70000}));
  EXPECT_EQ(attr("f16").read_doubles(), (std::vector<double>{1.5, -2.0, 65504.0}));
  EXPECT_EQ(attr("f16").dtype().numpy_name(), "float16");
  EXPECT_EQ(attr("be_f64").read_doubles(), (std::vector<double>{1e300, -0.5}));
  EXPECT_THROW(attr("be_f64").read_ints(), kerasrt::Error);  // 1e300 is no int64
  EXPECT_THROW(attr("f16").read_ints(), kerasrt::Error);     // 1.5 is not an integer
}

TEST_P(ReaderTest, OtherTypeAttributes) {
  Attribute b = attr("bool");
  EXPECT_TRUE(b.dtype().is_bool());
  EXPECT_EQ(b.dtype().numpy_name(), "bool");
  EXPECT_EQ(b.read_ints(), std::vector<int64_t>{1});
  EXPECT_EQ(attr("bools").read_doubles(), (std::vector<double>{1, 0, 1}));

  Attribute o = attr("opaque");
  EXPECT_EQ(o.dtype().cls, TypeClass::Opaque);
  ASSERT_EQ(o.raw().size(), 2u);
  EXPECT_EQ(o.raw()[0], std::byte{1});
  EXPECT_EQ(o.raw()[1], std::byte{2});
  EXPECT_THROW(o.read_doubles(), kerasrt::Error);

  Attribute c = attr("compound");
  EXPECT_EQ(c.dtype().cls, TypeClass::Compound);
  EXPECT_EQ(c.dtype().size, 8u);
  EXPECT_EQ(c.raw().size(), 8u);

  Attribute en = attr("enum");
  EXPECT_EQ(en.dtype().cls, TypeClass::Enum);
  EXPECT_FALSE(en.dtype().is_bool());
  EXPECT_EQ(en.dtype().numpy_name(), "enum");
  ASSERT_EQ(en.dtype().enum_members.size(), 3u);
  bool blue = false;
  for (const auto& m : en.dtype().enum_members) blue |= m.first == "BLUE" && m.second == 42;
  EXPECT_TRUE(blue);
  EXPECT_EQ(en.read_ints(), (std::vector<int64_t>{0, 42}));

  Attribute n = attr("null_space");
  EXPECT_EQ(n.space().kind, SpaceKind::Null);
  EXPECT_EQ(n.space().num_elements(), 0u);
  EXPECT_TRUE(n.read_doubles().empty());
}

TEST_P(ReaderTest, HugeDenseAttribute) {
  if (!latest()) {
    // h5py can only write a > 64 KB attribute with libver='latest' (dense attribute storage);
    // make_files.py leaves it out of the other files.
    EXPECT_FALSE(root().has_attribute("big"));
    return;
  }
  Attribute big = attr("big");
  auto v = big.read_doubles();
  ASSERT_EQ(v.size(), 20000u);
  for (size_t i = 0; i < v.size(); ++i) ASSERT_EQ(v[i], static_cast<double>(i));
  // The copy shares the assembled bytes.
  Attribute copy = big;
  big = attr("bool");
  EXPECT_EQ(copy.read_doubles().back(), 19999.0);
}

TEST_P(ReaderTest, Links) {
  Group r = root();
  EXPECT_EQ(r.path(), "/");
  EXPECT_EQ(r.child_names(), (std::vector<std::string>{"data", "ext", "few", "many",
                                                       "model_weights", "ordered", "soft"}));
  for (const Link& l : r.links()) {
    if (l.name == "soft") {
      EXPECT_EQ(l.kind, LinkKind::Soft);
      EXPECT_EQ(l.soft_target, "/model_weights");
    } else if (l.name == "ext") {
      EXPECT_EQ(l.kind, LinkKind::External);
      EXPECT_EQ(l.soft_target, "other.h5:/x");
    } else {
      EXPECT_EQ(l.kind, LinkKind::Hard);
    }
  }
  EXPECT_TRUE(r.contains("soft"));
  try {
    r.open("soft");
    FAIL() << "soft link followed";
  } catch (const kerasrt::Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::Unsupported);
  }
  EXPECT_THROW(r.open("ext"), kerasrt::Error);
  EXPECT_FALSE(r.try_open("nope").has_value());
  EXPECT_FALSE(r.try_open("model_weights/nope/deeper").has_value());
  try {
    r.open("model_weights/nope");
    FAIL();
  } catch (const kerasrt::Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::InvalidFile);
    EXPECT_NE(std::string(e.what()).find("/model_weights"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("nope"), std::string::npos) << e.what();
  }
  EXPECT_THROW(r.open_group("data/f32"), kerasrt::Error);
  EXPECT_THROW(r.open_dataset("data"), kerasrt::Error);
  EXPECT_THROW(r.open("data/f32/x"), kerasrt::Error);
}

TEST_P(ReaderTest, ManyChildren) {
  Group many = root().open_group("many");
  auto names = many.child_names();
  ASSERT_EQ(names.size(), 300u);
  for (int i = 0; i < 300; ++i) {
    char want[8];
    std::snprintf(want, sizeof want, "g%03d", i);
    ASSERT_EQ(names[i], want);
    Object o = many.open(want);
    ASSERT_EQ(o.kind(), ObjectKind::Group);
    ASSERT_EQ(o.path(), std::string("/many/") + want);
  }
  EXPECT_FALSE(many.contains("g300"));
  EXPECT_FALSE(many.contains("g"));
  EXPECT_FALSE(many.contains(""));
  EXPECT_EQ(root().open_group("/many/g150/").path(), "/many/g150");

  auto few = root().open_group("few").child_names();
  EXPECT_EQ(few.size(), 9u);
  auto ordered = root().open_group("ordered").child_names();
  ASSERT_EQ(ordered.size(), 10u);
  EXPECT_EQ(ordered.front(), "z00");  // name order, not creation order
  EXPECT_EQ(ordered.back(), "z09");
  EXPECT_TRUE(root().open_group("ordered").contains("z05"));
}

TEST_P(ReaderTest, KerasWeights) {
  Group mw = root().open_group("model_weights");
  EXPECT_EQ(mw.attribute("layer_names")->read_strings(), std::vector<std::string>{"dense"});
  Dataset k = mw.open_dataset("dense/dense/kernel:0");
  EXPECT_EQ(k.path(), "/model_weights/dense/dense/kernel:0");
  EXPECT_EQ(k.kind(), ObjectKind::Dataset);
  EXPECT_EQ(k.space().dims, (std::vector<uint64_t>{3, 4}));
  EXPECT_EQ(k.layout(), LayoutClass::Contiguous);
  EXPECT_FALSE(k.filtered());
  auto view = k.contiguous_bytes();
  ASSERT_TRUE(view.has_value());
  ASSERT_EQ(view->size(), 48u);
  auto fb = file_->bytes();
  EXPECT_TRUE(view->data() >= fb.data() && view->data() + 48 <= fb.data() + fb.size());
  std::vector<float> f(12);
  std::memcpy(f.data(), view->data(), 48);
  EXPECT_EQ(f, iota_f(12));
  EXPECT_EQ(k.read_float32(), iota_f(12));
  EXPECT_EQ(mw.open_dataset("dense/dense/bias:0").read_float32(), std::vector<float>(4, 0.0f));
}

TEST_P(ReaderTest, FloatDatasets) {
  Group d = root().open_group("data");
  Dataset f32 = d.open_dataset("f32");
  EXPECT_EQ(f32.dtype().numpy_name(), "float32");
  EXPECT_EQ(f32.stored_bytes(), 48u);
  EXPECT_EQ(f32.read_float32(), iota_f(12));
  EXPECT_EQ(d.open_dataset("f16").read_float32(),
            (std::vector<float>{0.5f, -1.0f, 2.0f, 65504.0f, std::ldexp(1.0f, -24)}));
  Dataset f64 = d.open_dataset("f64be");
  EXPECT_TRUE(f64.dtype().big_endian);
  EXPECT_EQ(f64.read_float32(), (std::vector<float>{1.25f, -2.5f, 1e10f, 0.0f}));
  EXPECT_EQ(d.open_dataset("f32be").read_float32(), (std::vector<float>{3.5f, -4.25f}));
  // A second hard link to the same dataset.
  EXPECT_EQ(d.open("kernel").address(), f32.address());
  std::vector<float> wrong(3);
  EXPECT_THROW(f32.read_float32(wrong), kerasrt::Error);
}

TEST_P(ReaderTest, IntegerDatasets) {
  Group d = root().open_group("data");
  struct Case {
    const char* name;
    const char* numpy;
    bool big;
    std::vector<float> want;
  };
  const std::vector<Case> cases = {
      {"i1", "int8", false, {-128, 0, 1, 127}},
      {"i2", "int16", false, {-32768, 0, 1, 32767}},
      {"i4", "int32", false, {-2147483648.0f, 0, 1, 2147483647.0f}},
      {"i8", "int64", false, {-9223372036854775808.0f, 0, 1, 9223372036854775807.0f}},
      {"u1", "uint8", false, {0, 0, 1, 255}},
      {"u2", "uint16", false, {0, 0, 1, 65535}},
      {"u4", "uint32", false, {0, 0, 1, 4294967295.0f}},
      {"u8", "uint64", false, {0, 0, 1, 18446744073709551615.0f}},
      {"be_i2", "int16", true, {-32768, 0, 1, 32767}},
      {"be_u4", "uint32", true, {0, 0, 1, 4294967295.0f}},
      {"be_i8", "int64", true, {-9223372036854775808.0f, 0, 1, 9223372036854775807.0f}},
  };
  for (const Case& c : cases) {
    Dataset ds = d.open_dataset(c.name);
    EXPECT_EQ(ds.dtype().numpy_name(), c.numpy) << c.name;
    EXPECT_EQ(ds.dtype().big_endian, c.big) << c.name;
    EXPECT_EQ(ds.read_float32(), c.want) << c.name;
  }
  Dataset b = d.open_dataset("bool");
  EXPECT_EQ(b.dtype().numpy_name(), "bool");
  EXPECT_EQ(b.read_float32(), (std::vector<float>{1, 0, 0, 1}));
  Dataset s = d.open_dataset("scalar");
  EXPECT_EQ(s.space().kind, SpaceKind::Scalar);
  auto raw = s.read_raw();
  ASSERT_EQ(raw.size(), 8u);
  int64_t v;
  std::memcpy(&v, raw.data(), 8);
  EXPECT_EQ(v, 42);
}

TEST_P(ReaderTest, SpecialLayouts) {
  Group d = root().open_group("data");
  Dataset e = d.open_dataset("empty");
  EXPECT_EQ(e.space().dims, (std::vector<uint64_t>{0, 4}));
  ASSERT_TRUE(e.contiguous_bytes().has_value());
  EXPECT_TRUE(e.contiguous_bytes()->empty());
  EXPECT_TRUE(e.read_float32().empty());

  Dataset u = d.open_dataset("unwritten");
  ASSERT_TRUE(u.contiguous_bytes().has_value());
  EXPECT_TRUE(u.contiguous_bytes()->empty());
  EXPECT_EQ(u.read_float32(), std::vector<float>(10, 0.0f));

  Dataset c = d.open_dataset("compact");
  EXPECT_EQ(c.layout(), LayoutClass::Compact);
  ASSERT_TRUE(c.contiguous_bytes().has_value());
  EXPECT_EQ(c.contiguous_bytes()->size(), 12u);
  EXPECT_EQ(c.read_float32(), (std::vector<float>{1, 2, 3}));
}

TEST_P(ReaderTest, NonZeroFillValues) {
  Group d = root().open_group("data");
  // Chunked, fillvalue 7.5, only chunk (0, 0) written.
  Dataset p = d.open_dataset("partial_fill");
  std::vector<float> want(36, 7.5f);
  want[0] = 0, want[1] = 1, want[6] = 2, want[7] = 3;
  EXPECT_EQ(p.read_float32(), want);
  // Contiguous, never written, fillvalue -3 (int16): no view, reads give the fill value.
  Dataset u = d.open_dataset("unwritten_fill");
  EXPECT_FALSE(u.contiguous_bytes().has_value());
  EXPECT_EQ(u.read_float32(), std::vector<float>(5, -3.0f));
  auto raw = u.read_raw();
  ASSERT_EQ(raw.size(), 10u);
  for (size_t i = 0; i < raw.size(); i += 2) {
    EXPECT_EQ(raw[i], std::byte{0xfd});
    EXPECT_EQ(raw[i + 1], std::byte{0xff});
  }
}

TEST_P(ReaderTest, ChunkedDatasets) {
  Group d = root().open_group("data");
  Dataset g = d.open_dataset("gzip");
  EXPECT_EQ(g.layout(), LayoutClass::Chunked);
  EXPECT_TRUE(g.filtered());
  EXPECT_FALSE(g.contiguous_bytes().has_value());
  EXPECT_EQ(g.read_float32(), iota_f(1000));
}

TEST_P(ReaderTest, ChunkedUnfiltered) {
  Group d = root().open_group("data");
  Dataset c = d.open_dataset("chunked");
  EXPECT_EQ(c.layout(), LayoutClass::Chunked);
  EXPECT_FALSE(c.filtered());
  EXPECT_EQ(c.read_float32(), iota_f(30));
}

TEST_P(ReaderTest, StringAndOtherDatasets) {
  Group d = root().open_group("data");
  EXPECT_EQ(d.open_dataset("vlen_str").read_strings(), (std::vector<std::string>{"alpha", "",
                                                                                 "\xc3\xbc"
                                                                                 "ber"}));
  EXPECT_EQ(d.open_dataset("fixed_str").read_strings(), (std::vector<std::string>{"abc", "de"}));
  Dataset o = d.open_dataset("opaque");
  EXPECT_EQ(o.dtype().cls, TypeClass::Opaque);
  auto raw = o.read_raw();
  ASSERT_EQ(raw.size(), 4u);
  EXPECT_EQ(raw[3], std::byte{4});
  EXPECT_THROW(o.read_float32(), kerasrt::Error);
  EXPECT_THROW(o.read_strings(), kerasrt::Error);
  Dataset c = d.open_dataset("compound");
  EXPECT_EQ(c.dtype().numpy_name(), "compound");
  EXPECT_EQ(c.stored_bytes(), 16u);
  Dataset a = d.open_dataset("array");
  EXPECT_EQ(a.dtype().cls, TypeClass::Array);
  EXPECT_EQ(a.dtype().size, 12u);
  EXPECT_EQ(a.space().dims, std::vector<uint64_t>{2});
}

TEST_P(ReaderTest, ConcurrentWalksAgree) {
  test::Walker one;
  one.walk_bytes(file_->bytes());
  ASSERT_GT(one.items, 1000u);
  std::vector<uint64_t> counts(4);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < counts.size(); ++t) {
    threads.emplace_back([&, t] {
      test::Walker w;
      Group r = file_->root();  // shares the File across threads
      w.visited.insert(r.address());
      w.group(r, 0);
      counts[t] = w.items;
    });
  }
  for (auto& t : threads) t.join();
  for (uint64_t c : counts) EXPECT_EQ(c, one.items);
}

INSTANTIATE_TEST_SUITE_P(Files, ReaderTest,
                         ::testing::Values("default.h5", "latest.h5", "userblock.h5"),
                         [](const auto& info) {
                           std::string n = info.param;
                           return n.substr(0, n.find('.'));
                         });

}  // namespace
}  // namespace kerasrt::hdf5
