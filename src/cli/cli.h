// The `kerasrt` command's subcommands. Each one is a function taking the arguments that follow its
// name; main.cpp holds the table that maps names to these functions (add a subcommand there and
// declare its entry point here).
//
// Contract for a subcommand: write results to stdout; report every failure by throwing
// kerasrt::Error (usage mistakes as ErrorCode::InvalidArgument) and let main() turn it into the
// single line "kerasrt: error: <message>" on stderr and a category-specific exit code.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "kerasrt/error.h"

namespace kerasrt::cli {

// A mistake on the command line: main() adds the subcommand's usage line to its message.
class UsageError : public Error {
 public:
  explicit UsageError(const std::string& what) : Error(ErrorCode::InvalidArgument, what) {}
};

using Args = std::vector<std::string_view>;

// kerasrt h5ls FILE [--json] [--max-data-bytes N]
int h5ls_main(const Args& args);

// kerasrt info MODEL [--weights W.h5] [--json] [--verify]
int info_main(const Args& args);

// kerasrt predict MODEL [--weights W.h5] -i [NAME=]IN.npy [-i ...] [-o OUTDIR]
int predict_main(const Args& args);

// kerasrt convert MODEL OUT.krt [--weights W.h5] [--shape D0,D1,... ...] [--threads N]
int convert_main(const Args& args);

// kerasrt bench MODEL [--weights W.h5] [--threads N] [--batch B] [--runs R] [--dim D] [--eager]
//               [--json]
int bench_main(const Args& args);

}  // namespace kerasrt::cli
