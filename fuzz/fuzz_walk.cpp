#include "fuzz_walk.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <vector>

#include "hdf5/hdf5.h"
#include "kerasrt/error.h"

namespace kerasrt::fuzz {
namespace {

using namespace kerasrt::hdf5;

#define FUZZ_CHECK(cond)                                                                          \
  do {                                                                                            \
    if (!(cond)) {                                                                                \
      std::fprintf(stderr, "fuzz: API contract broken: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
      std::abort();                                                                               \
    }                                                                                             \
  } while (0)

constexpr int kMaxDepth = 24;
constexpr int kMaxVisits = 4000;
constexpr uint64_t kMaxReadBytes = 4u << 20;        // read_raw / read_float32 per dataset
constexpr uint64_t kMaxTotalReadBytes = 32u << 20;  // per input

struct Walker {
  std::span<const std::byte> file_bytes;
  std::set<uint64_t> visited;
  int visits = 0;
  uint64_t read_bytes = 0;
  volatile unsigned sink = 0;  // keeps the reads of views from being optimised away

  void touch(std::span<const std::byte> s) {
    unsigned acc = 0;
    for (std::byte b : s) acc += static_cast<unsigned>(b);
    sink = sink + acc;
  }
  void touch(const std::string& s) { sink = sink + static_cast<unsigned>(s.size()); }

  bool inside_file(std::span<const std::byte> view) const {
    if (view.empty()) return true;
    auto begin = reinterpret_cast<uintptr_t>(file_bytes.data());
    auto p = reinterpret_cast<uintptr_t>(view.data());
    return p >= begin && view.size() <= file_bytes.size() &&
           p - begin <= file_bytes.size() - view.size();
  }

  void attribute(const Attribute& a) {
    touch(a.name());
    touch(a.raw());
    (void)a.space().num_elements();
    const Datatype& t = a.dtype();
    touch(t.numpy_name());
    (void)t.is_bool();
    switch (t.cls) {
      case TypeClass::String: {
        for (const auto& s : a.read_strings()) touch(s);
        if (a.space().kind != SpaceKind::Null && a.space().num_elements() == 1) {
          touch(a.read_string());
        }
        break;
      }
      case TypeClass::Integer:
      case TypeClass::Float:
      case TypeClass::Enum: {
        auto d = a.read_doubles();
        auto i = a.read_ints();
        FUZZ_CHECK(d.size() == i.size());
        sink = sink + static_cast<unsigned>(d.size());
        break;
      }
      default:
        break;
    }
  }

  void attributes(const Object& o) {
    try {
      for (const Attribute& a : o.attributes()) {
        try {
          attribute(a);
          if (!a.name().empty()) (void)o.has_attribute(a.name());
        } catch (const kerasrt::Error&) {
        }
      }
    } catch (const kerasrt::Error&) {
    }
    try {
      (void)o.attribute("keras_version");
    } catch (const kerasrt::Error&) {
    }
  }

  void dataset(const Dataset& d) {
    const Datatype& t = d.dtype();
    touch(t.numpy_name());
    (void)d.space().num_elements();
    (void)d.layout();
    (void)d.filtered();
    uint64_t stored = d.stored_bytes();
    if (auto view = d.contiguous_bytes()) {
      FUZZ_CHECK(inside_file(*view));
      FUZZ_CHECK(view->empty() || view->size() == stored);
      touch(*view);
    }
    if (stored <= kMaxReadBytes && read_bytes + stored <= kMaxTotalReadBytes) {
      read_bytes += stored;
      try {
        std::vector<std::byte> raw = d.read_raw();
        FUZZ_CHECK(raw.size() == stored);
        touch(raw);
      } catch (const kerasrt::Error&) {
      }
      uint64_t n = d.num_elements();
      bool numeric = t.cls == TypeClass::Integer || t.cls == TypeClass::Float ||
                     (t.cls == TypeClass::Enum && t.is_bool());
      if (numeric && n * 4 <= kMaxReadBytes) {
        try {
          std::vector<float> f = d.read_float32();
          FUZZ_CHECK(f.size() == n);
          sink = sink + static_cast<unsigned>(f.size());
        } catch (const kerasrt::Error&) {
        }
      }
      if (t.cls == TypeClass::String) {
        try {
          for (const auto& s : d.read_strings()) touch(s);
        } catch (const kerasrt::Error&) {
        }
      }
    }
  }

  void group(const Group& g, int depth) {
    attributes(g);
    if (depth >= kMaxDepth) return;
    std::vector<Link> links;
    try {
      links = g.links();
      (void)g.child_names();
    } catch (const kerasrt::Error&) {
      return;
    }
    for (const Link& link : links) {
      if (++visits > kMaxVisits) return;
      touch(link.name);
      touch(link.soft_target);
      try {
        (void)g.contains(link.name);
        if (link.kind != LinkKind::Hard) {
          (void)g.try_open(link.name);  // must refuse with Error(Unsupported)
          continue;
        }
        Object o = g.open(link.name);
        // A corrupt group may hold a name twice, an empty name or one with '/' (open() reads those
        // as a path); otherwise open() must land on the listed object.
        if (!link.name.empty() && link.name.find('/') == std::string::npos && link.name != "." &&
            std::count_if(links.begin(), links.end(),
                          [&](const Link& l) { return l.name == link.name; }) == 1) {
          FUZZ_CHECK(o.address() == link.address);
        }
        if (!visited.insert(o.address()).second) continue;
        touch(o.path());
        if (o.kind() == ObjectKind::Group) {
          group(g.open_group(link.name), depth + 1);
        } else if (o.kind() == ObjectKind::Dataset) {
          Dataset d = g.open_dataset(link.name);
          attributes(d);
          dataset(d);
        } else {
          attributes(o);
        }
      } catch (const kerasrt::Error&) {
      }
    }
    try {
      (void)g.try_open("model_weights/dense_0/dense_0/kernel:0");
      (void)g.try_open("does/not/exist");
    } catch (const kerasrt::Error&) {
    }
  }
};

}  // namespace

void walk_hdf5_bytes(std::span<const std::byte> bytes, const std::string& name) {
  try {
    File file = File::from_bytes(bytes, nullptr, name);
    Walker w;
    w.file_bytes = file.bytes();
    FUZZ_CHECK(w.file_bytes.data() == bytes.data() && w.file_bytes.size() == bytes.size());
    (void)file.superblock_version();
    (void)file.name();
    Group root = file.root();
    w.visited.insert(root.address());
    w.group(root, 0);
  } catch (const kerasrt::Error&) {
  }
}

}  // namespace kerasrt::fuzz
