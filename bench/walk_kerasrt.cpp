// One metadata walk with kerasrt's reader: open (mmap), visit every group and dataset, read every
// attribute value, get every dataset's zero-copy view. No data is read. Usage: FILE
#include <cstdlib>
#include <string>

#include "hdf5/hdf5.h"
#include "walk_common.h"

namespace {

using namespace kerasrt::hdf5;
using kerasrt::bench::WalkCounts;

void read_attributes(const Object& o, WalkCounts& c) {
  for (const Attribute& a : o.attributes()) {
    ++c.attributes;
    switch (a.dtype().cls) {
      case TypeClass::String:
        c.attribute_elements += a.read_strings().size();
        break;
      case TypeClass::Integer:
      case TypeClass::Float:
        c.attribute_elements += a.read_doubles().size();
        break;
      default:
        c.attribute_elements += a.space().num_elements();
        break;
    }
  }
}

uint64_t g_view_bytes = 0;

void walk_group(const Group& g, WalkCounts& c) {
  ++c.groups;
  read_attributes(g, c);
  for (const Link& link : g.links()) {
    if (link.kind != LinkKind::Hard) continue;
    Object o = g.open(link.name);
    if (o.kind() == ObjectKind::Group) {
      Group sub;
      static_cast<Object&>(sub) = o;  // no second open of the same header
      walk_group(sub, c);
    } else if (o.kind() == ObjectKind::Dataset) {
      Dataset d;
      static_cast<Object&>(d) = o;
      ++c.datasets;
      read_attributes(d, c);
      (void)d.dtype();
      (void)d.space();
      if (auto view = d.contiguous_bytes()) g_view_bytes += view->size();
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s FILE\n", argv[0]);
    return 2;
  }
  long anon_before = kerasrt::bench::proc_status_kb("RssAnon");
  double t0 = kerasrt::bench::cpu_ms();
  WalkCounts c;
  long anon_end = 0, file_end = 0;
  try {
    File file = File::open(argv[1]);
    walk_group(file.root(), c);
    anon_end = kerasrt::bench::proc_status_kb("RssAnon");
    file_end = kerasrt::bench::proc_status_kb("RssFile");
  } catch (const kerasrt::Error& e) {
    std::fprintf(stderr, "%s: %s\n", argv[1], e.what());
    return 1;
  }
  double t1 = kerasrt::bench::cpu_ms();
  kerasrt::bench::report(t1 - t0, anon_before, anon_end, file_end, c);
  return 0;
}
