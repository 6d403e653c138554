// .npy reader/writer: files NumPy wrote (make_npy_cases.py, run by CTest before this test),
// round trips, and malformed or hostile headers.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

#include "base/npy.h"
#include "kerasrt/error.h"

#ifndef KERASRT_NPY_CASES_DIR
#error "KERASRT_NPY_CASES_DIR must name the folder make_npy_cases.py writes"
#endif
#ifndef KERASRT_PYTHON
#error "KERASRT_PYTHON must name a Python with numpy"
#endif

namespace kerasrt {
namespace {

const std::string kCases = KERASRT_NPY_CASES_DIR;

struct CaseLine {
  std::string file, pattern;
  std::vector<int64_t> shape;
};

std::vector<CaseLine> read_cases() {
  std::ifstream in(kCases + "/cases.txt");
  std::vector<CaseLine> out;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    CaseLine c;
    size_t ndim = 0;
    ls >> c.file >> c.pattern >> ndim;
    for (size_t i = 0; i < ndim; ++i) {
      int64_t d = 0;
      ls >> d;
      c.shape.push_back(d);
    }
    if (!c.file.empty()) out.push_back(c);
  }
  return out;
}

float expected(const std::string& pattern, size_t i) {
  if (pattern == "float")
    return static_cast<float>(i % 7) - 3.0f + 0.25f * static_cast<float>(i % 4);
  if (pattern == "signed") return static_cast<float>(static_cast<int>(i % 11) - 5);
  if (pattern == "unsigned") return static_cast<float>(i % 13);
  if (pattern == "bool") return i % 3 == 0 ? 1.0f : 0.0f;
  ADD_FAILURE() << "unknown pattern " << pattern;
  return 0.0f;
}

std::vector<std::byte> bytes_of(const std::string& s) {
  std::vector<std::byte> b(s.size());
  if (!s.empty()) std::memcpy(b.data(), s.data(), s.size());
  return b;
}

// A v1 file with the given header text (padded like NumPy) followed by `data`.
std::string v1(const std::string& header, const std::string& data = "") {
  std::string h = header;
  size_t total = 10 + h.size() + 1;
  h.append((64 - total % 64) % 64, ' ');
  h += '\n';
  std::string out = "\x93NUMPY";
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(h.size() & 0xff);
  out += static_cast<char>(h.size() >> 8);
  return out + h + data;
}

std::string f4_data(size_t n) {
  return std::string(n * 4, '\0');
}

ErrorCode parse_error(const std::string& file) {
  try {
    parse_npy(bytes_of(file), "test");
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("test: .npy:"), std::string::npos) << e.what();
    return e.code();
  }
  ADD_FAILURE() << "parsed without an error";
  return ErrorCode::Internal;
}

TEST(Npy, ReadsEveryFileNumpyWrote) {
  auto cases = read_cases();
  ASSERT_GE(cases.size(), 40u) << "cases.txt missing or short in " << kCases;
  size_t checked = 0;
  for (const auto& c : cases) {
    if (c.pattern != "float" && c.pattern != "signed" && c.pattern != "unsigned" &&
        c.pattern != "bool") {
      continue;
    }
    SCOPED_TRACE(c.file);
    NpyArray a = read_npy(kCases + "/" + c.file);
    EXPECT_EQ(a.shape, c.shape);
    size_t n = 1;
    for (int64_t d : c.shape) n *= static_cast<size_t>(d);
    ASSERT_EQ(a.data.size(), n);
    for (size_t i = 0; i < n; ++i) {
      ASSERT_EQ(a.data[i], expected(c.pattern, i)) << "element " << i;
    }
    ++checked;
  }
  EXPECT_GE(checked, 30u);
}

TEST(Npy, Float16SpecialValues) {
  NpyArray a = read_npy(kCases + "/f16special.npy");
  ASSERT_EQ(a.data.size(), 10u);
  EXPECT_EQ(a.data[0], 0.0f);
  EXPECT_FALSE(std::signbit(a.data[0]));
  EXPECT_EQ(a.data[1], 0.0f);
  EXPECT_TRUE(std::signbit(a.data[1]));
  EXPECT_EQ(a.data[2], 1.0f);
  EXPECT_EQ(a.data[3], 65504.0f);
  EXPECT_EQ(a.data[4], std::ldexp(1.0f, -24));  // smallest subnormal
  EXPECT_EQ(a.data[5], std::ldexp(1.0f, -14));  // smallest normal
  EXPECT_EQ(a.data[6], std::numeric_limits<float>::infinity());
  EXPECT_EQ(a.data[7], -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(a.data[8]));
  EXPECT_EQ(a.data[9], -2.5f);
}

TEST(Npy, IntegerExtremes) {
  NpyArray i8 = read_npy(kCases + "/extremes_i8.npy");  // big-endian int64
  ASSERT_EQ(i8.data.size(), 4u);
  EXPECT_EQ(i8.data[0], static_cast<float>(std::numeric_limits<int64_t>::min()));
  EXPECT_EQ(i8.data[1], static_cast<float>(std::numeric_limits<int64_t>::max()));
  EXPECT_EQ(i8.data[2], -1.0f);
  EXPECT_EQ(i8.data[3], 0.0f);
  NpyArray u8 = read_npy(kCases + "/extremes_u8.npy");
  ASSERT_EQ(u8.data.size(), 4u);
  EXPECT_EQ(u8.data[0], static_cast<float>(std::numeric_limits<uint64_t>::max()));
  EXPECT_EQ(u8.data[2], 16777216.0f);
  EXPECT_EQ(u8.data[3], 16777216.0f);  // 2^24 + 1 rounds to even
  NpyArray i1 = read_npy(kCases + "/extremes_i1.npy");
  EXPECT_EQ(i1.data, (std::vector<float>{-128.0f, 127.0f, -1.0f, 0.0f}));
}

TEST(Npy, RejectsFortranOrderClearly) {
  try {
    read_npy(kCases + "/fortran.npy");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::Unsupported);
    EXPECT_NE(std::string(e.what()).find("Fortran"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("fortran.npy"), std::string::npos) << e.what();
  }
}

TEST(Npy, RejectsUnsupportedDtypes) {
  for (const char* f : {"structured", "complex", "unicode", "datetime"}) {
    SCOPED_TRACE(f);
    try {
      read_npy(kCases + "/" + f + ".npy");
      ADD_FAILURE() << "no error";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::Unsupported) << e.what();
    }
  }
}

TEST(Npy, MissingFileIsIoError) {
  try {
    read_npy(kCases + "/does-not-exist.npy");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::Io);
  }
}

TEST(Npy, RoundTrip) {
  std::vector<std::vector<int64_t>> shapes = {{}, {0}, {5}, {2, 3}, {1, 2, 3, 4}, {0, 7}};
  for (const auto& shape : shapes) {
    size_t n = 1;
    for (int64_t d : shape) n *= static_cast<size_t>(d);
    std::vector<float> v(n);
    for (size_t i = 0; i < n; ++i) v[i] = static_cast<float>(i) * 0.5f - 1.0f;
    auto bytes = encode_npy(v, shape);
    EXPECT_EQ((bytes.size() - n * 4) % 64, 0u) << "data not 64-byte aligned";
    NpyArray a = parse_npy(bytes);
    EXPECT_EQ(a.shape, shape);
    EXPECT_EQ(a.data, v);
  }
  std::vector<float> special = {std::numeric_limits<float>::infinity(), -0.0f,
                                std::numeric_limits<float>::denorm_min(), 3.4e38f};
  std::vector<int64_t> shape = {4};
  NpyArray a = parse_npy(encode_npy(special, shape));
  EXPECT_EQ(std::memcmp(a.data.data(), special.data(), 16), 0);
}

TEST(Npy, WriteRejectsBadArguments) {
  std::vector<float> v(6);
  std::vector<int64_t> wrong = {4};
  std::vector<int64_t> neg = {-1, -6};
  EXPECT_THROW(encode_npy(v, wrong), Error);
  EXPECT_THROW(encode_npy(v, neg), Error);
  std::vector<int64_t> ok = {6};
  EXPECT_THROW(write_npy("/nonexistent-dir/x.npy", v, ok), Error);
}

TEST(Npy, WrittenFileLoadsInNumpy) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("kerasrt_npy_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::string path = (dir / "w.npy").string();
  std::vector<float> v = {0.0f, 0.5f, 1.0f, 1.5f, 2.0f, 2.5f};
  std::vector<int64_t> shape = {2, 3};
  write_npy(path, v, shape);
  std::string cmd = std::string("\"") + KERASRT_PYTHON +
                    "\" -c \"import sys, numpy as np; a = np.load(sys.argv[1]); "
                    "assert a.dtype == np.float32 and a.shape == (2, 3), (a.dtype, a.shape); "
                    "assert (a.ravel() == np.arange(6) * 0.5).all(), a\" \"" +
                    path + "\"";
  EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
  fs::remove_all(dir);
}

TEST(Npy, AcceptsHeaderVariants) {
  // Double quotes, no trailing comma, Python 2 long suffix, other key order, '=' byte order.
  std::string h = R"({"shape": (2L, 1L), "fortran_order": False, "descr": "=f4"})";
  NpyArray a = parse_npy(bytes_of(v1(h, f4_data(2))));
  EXPECT_EQ(a.shape, (std::vector<int64_t>{2, 1}));
  // Version 2.0 and 3.0 use a 4-byte header length.
  std::string hdr = "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }\n";
  for (char ver : {'\x02', '\x03'}) {
    std::string f = "\x93NUMPY";
    f += ver;
    f += '\x00';
    uint32_t len = static_cast<uint32_t>(hdr.size());
    for (int k = 0; k < 4; ++k) f += static_cast<char>((len >> (8 * k)) & 0xff);
    f += hdr + f4_data(1);
    EXPECT_EQ(parse_npy(bytes_of(f)).data.size(), 1u);
  }
}

TEST(Npy, RejectsHostileHeaders) {
  const std::string good = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
  ASSERT_NO_THROW(parse_npy(bytes_of(v1(good, f4_data(6)))));
  struct Bad {
    const char* why;
    std::string file;
    ErrorCode code;
  };
  const std::string bad_version =
      std::string("\x93NUMPY\x04\x00\x10\x00", 10) + std::string(16, ' ');
  const std::string long_len = std::string("\x93NUMPY\x01\x00", 8) + "\xff\xff" + "{'descr'";
  const std::string long_len2 = std::string("\x93NUMPY\x02\x00", 8) + "\xff\xff\xff\xff" + "{}";
  std::string many_dims = "{'descr': '<f4', 'fortran_order': False, 'shape': (";
  for (int i = 0; i < 65; ++i) many_dims += "1,";
  many_dims += "), }";
  std::string with_nul = v1(good, f4_data(6));
  with_nul[20] = '\0';  // inside the header text
  std::vector<Bad> bad = {
      {"empty", "", ErrorCode::InvalidFile},
      {"short magic", "\x93NUM", ErrorCode::InvalidFile},
      {"wrong magic", std::string("\x93NUMPX\x01\x00\x00\x00", 10), ErrorCode::InvalidFile},
      {"version 4", bad_version, ErrorCode::Unsupported},
      {"no length", std::string("\x93NUMPY\x01\x00", 8), ErrorCode::InvalidFile},
      {"header past end v1", long_len, ErrorCode::InvalidFile},
      {"header past end v2", long_len2, ErrorCode::InvalidFile},
      {"not a dict", v1("['descr', '<f4']"), ErrorCode::InvalidFile},
      {"empty dict", v1("{}"), ErrorCode::InvalidFile},
      {"unterminated dict", v1("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)"),
       ErrorCode::InvalidFile},
      {"unterminated string", v1("{'descr: <f4"), ErrorCode::InvalidFile},
      {"missing shape", v1("{'descr': '<f4', 'fortran_order': False}"), ErrorCode::InvalidFile},
      {"unknown key", v1("{'descr': '<f4', 'fortran_order': False, 'shape': (), 'x': 1}"),
       ErrorCode::InvalidFile},
      {"duplicate key", v1("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': ()}"),
       ErrorCode::InvalidFile},
      {"text after dict", v1(good + " x"), ErrorCode::InvalidFile},
      {"negative dim", v1("{'descr': '<f4', 'fortran_order': False, 'shape': (-2, 3), }"),
       ErrorCode::InvalidFile},
      {"dim overflow",
       v1("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }"),
       ErrorCode::InvalidFile},
      {"count overflow",
       v1("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 16), }"),
       ErrorCode::InvalidFile},
      {"huge shape, tiny data",
       v1("{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000000,), }", f4_data(2)),
       ErrorCode::InvalidFile},
      {"65 dims", v1(many_dims), ErrorCode::InvalidFile},
      {"nested tuple", v1("{'descr': '<f4', 'fortran_order': False, 'shape': ((2,), 3), }"),
       ErrorCode::InvalidFile},
      {"float dim", v1("{'descr': '<f4', 'fortran_order': False, 'shape': (2.5,), }"),
       ErrorCode::InvalidFile},
      {"bad bool", v1("{'descr': '<f4', 'fortran_order': 0, 'shape': (), }"),
       ErrorCode::InvalidFile},
      {"fortran", v1("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", f4_data(6)),
       ErrorCode::Unsupported},
      {"object dtype", v1("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", "12345678"),
       ErrorCode::Unsupported},
      {"f3", v1("{'descr': '<f3', 'fortran_order': False, 'shape': (1,), }", "123"),
       ErrorCode::Unsupported},
      {"b2", v1("{'descr': '<b2', 'fortran_order': False, 'shape': (1,), }", "12"),
       ErrorCode::Unsupported},
      {"f16 (quad)", v1("{'descr': '<f16', 'fortran_order': False, 'shape': (1,), }"),
       ErrorCode::Unsupported},
      {"|f4", v1("{'descr': '|f4', 'fortran_order': False, 'shape': (1,), }", f4_data(1)),
       ErrorCode::InvalidFile},
      {"structured list", v1("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }"),
       ErrorCode::Unsupported},
      {"escape", v1("{'descr': '<f\\x34', 'fortran_order': False, 'shape': (1,), }"),
       ErrorCode::Unsupported},
      {"truncated data", v1(good, f4_data(5)), ErrorCode::InvalidFile},
      {"trailing data", v1(good, f4_data(7)), ErrorCode::InvalidFile},
      {"nul in header", with_nul, ErrorCode::InvalidFile},
  };
  for (const auto& b : bad) {
    SCOPED_TRACE(b.why);
    EXPECT_EQ(parse_error(b.file), b.code);
  }
}

TEST(Npy, EveryTruncationIsAnError) {
  std::vector<float> v = {1, 2, 3, 4, 5, 6};
  std::vector<int64_t> shape = {2, 3};
  auto full = encode_npy(v, shape);
  for (size_t n = 0; n < full.size(); ++n) {
    std::span<const std::byte> part(full.data(), n);
    EXPECT_THROW(parse_npy(part), Error) << "length " << n;
  }
}

TEST(Npy, ByteMutationsNeverCrash) {
  // Every single-byte change of the magic, length and header either parses or raises Error;
  // run under ASan/UBSan this also checks no read strays outside the buffer.
  std::vector<float> v = {1, 2, 3, 4, 5, 6};
  std::vector<int64_t> shape = {2, 3};
  const auto full = encode_npy(v, shape);
  const size_t header_end = full.size() - v.size() * 4;
  for (size_t pos = 0; pos < header_end; ++pos) {
    for (int val : {0x00, 0x01, 0x09, 0x22, 0x27, 0x28, 0x29, 0x2c, 0x2d, 0x30, 0x39, 0x3a, 0x4c,
                    0x7b, 0x7d, 0x7f, 0x80, 0xff}) {
      auto m = full;
      m[pos] = static_cast<std::byte>(val);
      try {
        NpyArray a = parse_npy(m);
        size_t n = 1;
        for (int64_t d : a.shape) n *= static_cast<size_t>(d);
        EXPECT_EQ(a.data.size(), n);
      } catch (const Error&) {
      }
    }
  }
}

}  // namespace
}  // namespace kerasrt
