# The fuzz entry functions as a library, shared by the libFuzzer executables (fuzz/CMakeLists.txt)
# and by the CTest replay of the corpus and regressions (tests/fuzz_regressions/).
if(NOT TARGET kerasrt_fuzz_entries)
  add_library(kerasrt_fuzz_entries STATIC
    ${CMAKE_CURRENT_LIST_DIR}/fuzz_walk.cpp
    ${CMAKE_CURRENT_LIST_DIR}/fuzz_hdf5_file.cpp
    ${CMAKE_CURRENT_LIST_DIR}/fuzz_hdf5_region.cpp
    ${CMAKE_CURRENT_LIST_DIR}/fuzz_hdf5_filters.cpp
    ${CMAKE_CURRENT_LIST_DIR}/fuzz_krt.cpp
  )
  target_include_directories(kerasrt_fuzz_entries PUBLIC ${CMAKE_CURRENT_LIST_DIR})
  # kerasrt_runtime for the krt target (Model::load); the hdf5 targets link only what they use.
  target_link_libraries(kerasrt_fuzz_entries PUBLIC kerasrt_hdf5 kerasrt_runtime)
endif()
# Every fuzz target; its entry function is kerasrt_fuzz_<name>, its seeds fuzz/corpus/<name>/,
# its crash regressions fuzz/regressions/<name>/.
set(KERASRT_FUZZ_TARGETS hdf5_file hdf5_region hdf5_filters krt)
