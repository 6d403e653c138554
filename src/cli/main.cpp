// kerasrt: the command-line front end. Dispatches to subcommands through one table, and is the one
// place where errors become process exit codes.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <new>
#include <string>
#include <string_view>

#include "cli/cli.h"
#include "kerasrt/error.h"

namespace kerasrt::cli {
namespace {

// Keep in step with project(VERSION) in the top-level CMakeLists.txt.
constexpr std::string_view kVersion = "0.1.0";

struct Command {
  std::string_view name;
  std::string_view usage;    // what follows the name on the usage line
  std::string_view summary;  // one line for `kerasrt --help`
  int (*run)(const Args& args);
};

// One entry per subcommand, in the order `kerasrt --help` lists them.
constexpr Command kCommands[] = {
    {"h5ls", "FILE [--json] [--max-data-bytes N]",
     "list every HDF5 object (path, kind, dtype, shape, attributes; --json adds values and "
     "sha256 of the data)",
     h5ls_main},
    {"info", "MODEL [--weights W.h5] [--json] [--verify]",
     "summarise a Keras model (.h5, .keras, .krt, or architecture .json with --weights): layers, "
     "output shapes, params, inputs, outputs, load time; --verify checks every .krt checksum",
     info_main},
    {"predict", "MODEL [--weights W.h5] -i [NAME=]IN.npy [-i ...] [-o OUTDIR]",
     "run the model on .npy inputs (model-input order, or by name); with -o write OUTDIR/0.npy, "
     "1.npy, ... one float32 file per output, without -o print them",
     predict_main},
    {"convert", "MODEL OUT.krt [--weights W.h5] [--shape D0,D1,...]... [--threads N]",
     "write the model as a .krt: kerasrt's packed format, loaded in place with weights already "
     "in the kernels' layouts (packed for --shape, default the input shapes with batch 1)",
     convert_main},
    {"bench",
     "MODEL [--weights W.h5] [--threads N] [--batch B] [--runs R] [--dim D] [--eager] [--json]",
     "time loading, the first prediction and steady-state latency (p50/p90/p99) and throughput "
     "at batch 1 and B; --dim sets unknown non-batch dims of the inputs (default 32); --eager "
     "compiles for the input shapes at batch 1 during load",
     bench_main},
};

// Exit codes by error category, so scripts can tell a bad file from a bad command line.
enum ExitCode : int {
  kExitOther = 1,
  kExitUsage = 2,
  kExitIo = 3,
  kExitInvalidFile = 4,
  kExitUnsupported = 5,
  kExitInvalidModel = 6,
  kExitResourceExhausted = 7,
};

int exit_code_for(ErrorCode code) {
  switch (code) {
    case ErrorCode::InvalidArgument:
      return kExitUsage;
    case ErrorCode::Io:
      return kExitIo;
    case ErrorCode::InvalidFile:
      return kExitInvalidFile;
    case ErrorCode::Unsupported:
      return kExitUnsupported;
    case ErrorCode::InvalidModel:
      return kExitInvalidModel;
    case ErrorCode::ResourceExhausted:
      return kExitResourceExhausted;
    case ErrorCode::Internal:
      return kExitOther;
  }
  return kExitOther;
}

void print_usage(std::FILE* out) {
  std::fprintf(out, "usage: kerasrt COMMAND [ARGS...]\n       kerasrt --help | --version\n\n");
  std::fprintf(out, "commands:\n");
  for (const Command& c : kCommands) {
    std::fprintf(out, "  kerasrt %.*s %.*s\n      %.*s\n", int(c.name.size()), c.name.data(),
                 int(c.usage.size()), c.usage.data(), int(c.summary.size()), c.summary.data());
  }
  std::fprintf(out,
               "\nexit codes: 0 ok, 1 other error, 2 usage, 3 I/O, 4 invalid file, "
               "5 unsupported, 6 invalid model, 7 resource limit\n");
}

// The error line must stay one line whatever the message holds (messages quote names read from
// files), so control characters are replaced.
void print_error(std::string_view message) {
  std::string line = "kerasrt: error: ";
  for (char ch : message) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7f) {
      char esc[8];
      std::snprintf(esc, sizeof esc, "\\x%02x", c);
      line += esc;
    } else {
      line += ch;
    }
  }
  line += '\n';
  std::fflush(stdout);
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

const Command* find_command(std::string_view name) {
  for (const Command& c : kCommands) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

int run(int argc, char** argv) {
  if (argc < 2) {
    // Errors are one line on stderr, always; the usage text is one --help away.
    throw Error(ErrorCode::InvalidArgument, "no command given (see kerasrt --help)");
  }
  std::string_view first = argv[1];
  if (first == "--help" || first == "-h" || first == "help") {
    print_usage(stdout);
    return 0;
  }
  if (first == "--version") {
    std::printf("kerasrt %.*s\n", int(kVersion.size()), kVersion.data());
    return 0;
  }
  const Command* command = find_command(first);
  if (command == nullptr) {
    throw Error(ErrorCode::InvalidArgument,
                "unknown command '" + std::string(first) + "' (see kerasrt --help)");
  }
  Args args(argv + 2, argv + argc);
  for (std::string_view a : args) {
    if (a == "--help" || a == "-h") {
      std::printf("usage: kerasrt %.*s %.*s\n  %.*s\n", int(command->name.size()),
                  command->name.data(), int(command->usage.size()), command->usage.data(),
                  int(command->summary.size()), command->summary.data());
      return 0;
    }
  }
  try {
    return command->run(args);
  } catch (const UsageError& e) {
    // Usage mistakes carry the subcommand's usage line so that the one error line is actionable.
    throw Error(ErrorCode::InvalidArgument, std::string(e.what()) + " (usage: kerasrt " +
                                                std::string(command->name) + " " +
                                                std::string(command->usage) + ")");
  }
}

}  // namespace
}  // namespace kerasrt::cli

int main(int argc, char** argv) {
  using namespace kerasrt;
  try {
    int rc = cli::run(argc, argv);
    if (std::fflush(stdout) != 0 || std::ferror(stdout)) {
      throw Error(ErrorCode::Io, std::string("writing to stdout failed: ") + std::strerror(errno));
    }
    return rc;
  } catch (const Error& e) {
    cli::print_error(e.what());
    return cli::exit_code_for(e.code());
  } catch (const std::bad_alloc&) {
    cli::print_error("out of memory");
    return cli::kExitResourceExhausted;
  } catch (const std::exception& e) {
    cli::print_error(e.what());
    return cli::kExitOther;
  } catch (...) {
    cli::print_error("unknown exception");
    return cli::kExitOther;
  }
}
