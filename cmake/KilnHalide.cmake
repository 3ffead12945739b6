# Imports Debian's libHalide14 as target Halide::Halide without Halide's CMake package,
# whose LLVM 14 dependency clashes with the LLVM 22 targets that MLIR defines.
find_library(KILN_HALIDE_LIBRARY NAMES Halide14 Halide REQUIRED)
find_path(KILN_HALIDE_INCLUDE_DIR Halide.h PATH_SUFFIXES halide14 REQUIRED)
add_library(Halide::Halide SHARED IMPORTED GLOBAL)
set_target_properties(Halide::Halide PROPERTIES
  IMPORTED_LOCATION "${KILN_HALIDE_LIBRARY}"
  INTERFACE_INCLUDE_DIRECTORIES "${KILN_HALIDE_INCLUDE_DIR}"
  INTERFACE_COMPILE_DEFINITIONS "HALIDE_ENABLE_RTTI;HALIDE_WITH_EXCEPTIONS")
# The directory of Halide's autoscheduler plugins (libautoschedule_*.so), which Kiln loads at run time.
find_library(KILN_HALIDE_ADAMS2019 NAMES autoschedule_adams2019 PATH_SUFFIXES halide14 REQUIRED)
get_filename_component(KILN_HALIDE_PLUGIN_DIR "${KILN_HALIDE_ADAMS2019}" DIRECTORY)
