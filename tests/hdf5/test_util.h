// Shared helpers of the HDF5 reader tests.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <vector>

#include "hdf5/hdf5.h"

namespace kerasrt::hdf5::test {

// Folder with the files make_files.py wrote (set by CTest), or "" when run by hand without it.
inline std::string files_dir() {
  const char* d = std::getenv("KERASRT_HDF5_TEST_FILES");
  return d ? d : "";
}

inline std::string test_file(const std::string& name) {
  return files_dir() + "/" + name;
}

inline std::vector<std::byte> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> c((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::byte> b(c.size());
  for (size_t i = 0; i < c.size(); ++i) b[i] = static_cast<std::byte>(c[i]);
  return b;
}

#define KERASRT_REQUIRE_FILES()                                              \
  do {                                                                       \
    if (::kerasrt::hdf5::test::files_dir().empty()) {                        \
      GTEST_SKIP() << "KERASRT_HDF5_TEST_FILES not set (run through CTest)"; \
    }                                                                        \
  } while (0)

// Visits everything reachable, catching kerasrt::Error per object (as a loader would). Any other
// exception escapes and fails the test. Returns a count of things visited, to compare runs.
struct Walker {
  std::set<uint64_t> visited;
  int budget = 2000;
  uint64_t items = 0;

  void attributes(const Object& o) {
    try {
      for (const Attribute& a : o.attributes()) {
        ++items;
        try {
          switch (a.dtype().cls) {
            case TypeClass::String:
              items += a.read_strings().size();
              break;
            case TypeClass::Integer:
            case TypeClass::Float:
            case TypeClass::Enum:
              items += a.read_doubles().size();
              items += a.read_ints().size();
              break;
            default:
              break;
          }
          (void)o.attribute(a.name());
        } catch (const kerasrt::Error&) {
        }
      }
    } catch (const kerasrt::Error&) {
    }
  }

  void dataset(const Dataset& d) {
    (void)d.contiguous_bytes();
    if (d.stored_bytes() > (1u << 20)) return;
    try {
      items += d.read_raw().size();
    } catch (const kerasrt::Error&) {
    }
    try {
      const Datatype& t = d.dtype();
      if (t.cls == TypeClass::String) {
        items += d.read_strings().size();
      } else if (t.cls == TypeClass::Float || t.cls == TypeClass::Integer || t.is_bool()) {
        items += d.read_float32().size();
      }
    } catch (const kerasrt::Error&) {
    }
  }

  void group(const Group& g, int depth) {
    attributes(g);
    if (depth > 16) return;
    std::vector<Link> links;
    try {
      links = g.links();
    } catch (const kerasrt::Error&) {
      return;
    }
    for (const Link& l : links) {
      if (--budget < 0) return;
      ++items;
      try {
        if (l.kind != LinkKind::Hard) {
          (void)g.try_open(l.name);
          continue;
        }
        Object o = g.open(l.name);
        if (!visited.insert(o.address()).second) continue;
        if (o.kind() == ObjectKind::Group) {
          group(g.open_group(l.name), depth + 1);
        } else if (o.kind() == ObjectKind::Dataset) {
          Dataset d = g.open_dataset(l.name);
          attributes(d);
          dataset(d);
        }
      } catch (const kerasrt::Error&) {
      }
    }
  }

  // Opens and walks; returns false when the file itself was refused.
  bool walk_bytes(std::span<const std::byte> bytes) {
    try {
      File f = File::from_bytes(bytes, nullptr, "mem.h5");
      Group root = f.root();
      visited.insert(root.address());
      group(root, 0);
      return true;
    } catch (const kerasrt::Error&) {
      return false;
    }
  }
};

}  // namespace kerasrt::hdf5::test
