// One metadata walk with libhdf5: H5Fopen, recursive H5Literate (name order) + H5Oopen,
// H5Aiterate2 reading every attribute (vlen strings included), and per dataset its type, space
// and H5Dget_offset (the zero-copy equivalent). No data is read. Usage: FILE [--evict]
// (--evict: H5Pset_evict_on_close on the file access property list).
#include <hdf5.h>

#include <cstring>
#include <vector>

#include "walk_common.h"

namespace {

using kerasrt::bench::WalkCounts;

bool g_failed = false;

herr_t attribute_cb(hid_t loc, const char* name, const H5A_info_t*, void* op) {
  auto& c = *static_cast<WalkCounts*>(op);
  hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
  if (a < 0) return g_failed = true, -1;
  hid_t type = H5Aget_type(a);
  hid_t space = H5Aget_space(a);
  hssize_t n = H5Sget_simple_extent_npoints(space);
  H5T_class_t cls = H5Tget_class(type);
  herr_t rc = 0;
  if (cls == H5T_STRING && H5Tis_variable_str(type) > 0) {
    std::vector<char*> buf(static_cast<size_t>(n));
    hid_t mem = H5Tcopy(H5T_C_S1);
    H5Tset_size(mem, H5T_VARIABLE);
    H5Tset_cset(mem, H5Tget_cset(type));
    rc = H5Aread(a, mem, buf.data());
    if (rc >= 0) {
#if H5_VERSION_GE(1, 12, 0)
      H5Treclaim(mem, space, H5P_DEFAULT, buf.data());
#else
      H5Dvlen_reclaim(mem, space, H5P_DEFAULT, buf.data());
#endif
    }
    H5Tclose(mem);
  } else if (cls == H5T_INTEGER || cls == H5T_FLOAT) {
    std::vector<double> buf(static_cast<size_t>(n));
    if (n > 0) rc = H5Aread(a, H5T_NATIVE_DOUBLE, buf.data());
  } else {
    std::vector<unsigned char> buf(static_cast<size_t>(n) * H5Tget_size(type));
    if (n > 0) rc = H5Aread(a, type, buf.data());
  }
  if (rc < 0) g_failed = true;
  ++c.attributes;
  c.attribute_elements += static_cast<uint64_t>(n);
  H5Sclose(space);
  H5Tclose(type);
  H5Aclose(a);
  return rc < 0 ? -1 : 0;
}

void read_attributes(hid_t obj, WalkCounts& c) {
  hsize_t idx = 0;
  if (H5Aiterate2(obj, H5_INDEX_NAME, H5_ITER_INC, &idx, attribute_cb, &c) < 0) g_failed = true;
}

void walk_group(hid_t g, WalkCounts& c);

#if H5_VERSION_GE(1, 12, 0)
herr_t link_cb(hid_t g, const char* name, const H5L_info2_t* info, void* op) {
#else
herr_t link_cb(hid_t g, const char* name, const H5L_info_t* info, void* op) {
#endif
  auto& c = *static_cast<WalkCounts*>(op);
  if (info->type != H5L_TYPE_HARD) return 0;
  hid_t o = H5Oopen(g, name, H5P_DEFAULT);
  if (o < 0) return g_failed = true, -1;
  H5I_type_t t = H5Iget_type(o);
  if (t == H5I_GROUP) {
    walk_group(o, c);
  } else if (t == H5I_DATASET) {
    ++c.datasets;
    read_attributes(o, c);
    hid_t type = H5Dget_type(o);
    hid_t space = H5Dget_space(o);
    volatile haddr_t offset = H5Dget_offset(o);
    (void)offset;
    H5Sclose(space);
    H5Tclose(type);
  }
  H5Oclose(o);
  return 0;
}

void walk_group(hid_t g, WalkCounts& c) {
  ++c.groups;
  read_attributes(g, c);
  hsize_t idx = 0;
#if H5_VERSION_GE(1, 12, 0)
  if (H5Literate2(g, H5_INDEX_NAME, H5_ITER_INC, &idx, link_cb, &c) < 0) g_failed = true;
#else
  if (H5Literate(g, H5_INDEX_NAME, H5_ITER_INC, &idx, link_cb, &c) < 0) g_failed = true;
#endif
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3 || (argc == 3 && std::strcmp(argv[2], "--evict") != 0)) {
    std::fprintf(stderr, "usage: %s FILE [--evict]\n", argv[0]);
    return 2;
  }
  bool evict = argc == 3;
  H5open();  // library initialisation is not part of the walk
  long anon_before = kerasrt::bench::proc_status_kb("RssAnon");
  double t0 = kerasrt::bench::cpu_ms();
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  if (evict) H5Pset_evict_on_close(fapl, 1);
  hid_t f = H5Fopen(argv[1], H5F_ACC_RDONLY, fapl);
  if (f < 0) return 1;
  WalkCounts c;
  hid_t root = H5Gopen2(f, "/", H5P_DEFAULT);
  walk_group(root, c);
  H5Gclose(root);
  long anon_end = kerasrt::bench::proc_status_kb("RssAnon");
  long file_end = kerasrt::bench::proc_status_kb("RssFile");
  H5Fclose(f);
  H5Pclose(fapl);
  double t1 = kerasrt::bench::cpu_ms();
  if (g_failed) {
    std::fprintf(stderr, "%s: libhdf5 reported an error during the walk\n", argv[1]);
    return 1;
  }
  kerasrt::bench::report(t1 - t0, anon_before, anon_end, file_end, c);
  return 0;
}
