// Load errors: each broken input gives a kerasrt::Error of the right category whose message names
// the file and what is wrong (tests/models/make_error_files.py writes the broken files).
#include <gtest/gtest.h>

#include "kerasrt/model.h"

namespace kerasrt {
namespace {

std::string dir() {
  return KERASRT_ERROR_FILES_DIR;
}

// Loads `path` and returns the error; fails the test when loading succeeds.
Error load_error(const std::string& path) {
  try {
    Model::load(path);
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << path << " loaded without an error";
  return Error(ErrorCode::Internal, "");
}

void expect_error(const std::string& path, ErrorCode code, std::vector<std::string> words) {
  Error e = load_error(path);
  EXPECT_EQ(e.code(), code) << error_code_name(e.code()) << ": " << e.what();
  std::string msg = e.what();
  EXPECT_NE(msg.find(path), std::string::npos) << "message does not name the file: " << msg;
  for (const std::string& w : words) {
    EXPECT_NE(msg.find(w), std::string::npos) << "message lacks '" << w << "': " << msg;
  }
}

TEST(LoadErrors, MissingFile) {
  expect_error(dir() + "/no_such_file.h5", ErrorCode::Io, {});
}
TEST(LoadErrors, Directory) {
  expect_error(dir(), ErrorCode::Io, {"directory"});
}
TEST(LoadErrors, EmptyFile) {
  expect_error(dir() + "/empty.h5", ErrorCode::InvalidFile, {"empty"});
}
TEST(LoadErrors, NotHdf5) {
  expect_error(dir() + "/text.h5", ErrorCode::InvalidFile, {"HDF5"});
}
TEST(LoadErrors, Truncated) {
  expect_error(dir() + "/truncated.h5", ErrorCode::InvalidFile, {});
}
TEST(LoadErrors, HdfButNotKeras) {
  expect_error(dir() + "/not_keras.h5", ErrorCode::InvalidFile, {"model_config"});
}
TEST(LoadErrors, MissingWeight) {
  expect_error(dir() + "/missing_weight.h5", ErrorCode::InvalidModel,
               {"'conv2'", "Conv2D", "kernel", "missing"});
}
TEST(LoadErrors, WrongWeightShape) {
  expect_error(dir() + "/wrong_shape.h5", ErrorCode::InvalidModel,
               {"'conv2'", "kernel", "(3, 3, 8, 16)", "(3, 3, 8, 4)"});
}
TEST(LoadErrors, UnusedStoredWeight) {
  expect_error(dir() + "/extra_weight.h5", ErrorCode::InvalidModel, {"'shape_class'", "extra"});
}
TEST(LoadErrors, EveryUnsupportedLayerListed) {
  expect_error(dir() + "/unsupported.h5", ErrorCode::Unsupported,
               {"'conv2' (FancyConv)", "'gap' (MyPooling)"});
}
TEST(LoadErrors, LambdaExplainsThatCodeIsNeverRun) {
  expect_error(dir() + "/lambda.h5", ErrorCode::Unsupported,
               {"'gap' (Lambda)", "never executes", "built-in"});
}

}  // namespace
}  // namespace kerasrt
