# The Wasmtime C API, at the version pinned in scripts/versions.sh.
#
# WASMTIME_ROOT is a directory with include/wasmtime.h and lib/libwasmtime.so:
# either what scripts/setup.sh unpacked into its cache (the default), or an
# official release tarball (wasmtime-v<version>-x86_64-linux-c-api), extracted,
# given with -DWASMTIME_ROOT=... or the DISCOBLOCKS_WASMTIME_ROOT environment
# variable. The library is copied next to the binaries (build/lib) so that the
# build does not depend on the cache staying where it is.
file(STRINGS ${CMAKE_SOURCE_DIR}/scripts/versions.sh _wasmtime_version_line
     REGEX "^WASMTIME_VERSION=")
string(REPLACE "WASMTIME_VERSION=" "" DISCOBLOCKS_WASMTIME_VERSION "${_wasmtime_version_line}")

if(DEFINED ENV{DISCOBLOCKS_WASMTIME_ROOT} AND NOT "$ENV{DISCOBLOCKS_WASMTIME_ROOT}" STREQUAL "")
  set(_wasmtime_default_root "$ENV{DISCOBLOCKS_WASMTIME_ROOT}")
elseif(DEFINED ENV{DISCOBLOCKS_CACHE} AND NOT "$ENV{DISCOBLOCKS_CACHE}" STREQUAL "")
  set(_wasmtime_default_root "$ENV{DISCOBLOCKS_CACHE}/wasmtime-${DISCOBLOCKS_WASMTIME_VERSION}")
else()
  set(_wasmtime_default_root "$ENV{HOME}/.cache/discoblocks/wasmtime-${DISCOBLOCKS_WASMTIME_VERSION}")
endif()
set(WASMTIME_ROOT "${_wasmtime_default_root}" CACHE PATH "Wasmtime C API (include/ and lib/)")

if(NOT EXISTS "${WASMTIME_ROOT}/include/wasmtime.h" OR NOT EXISTS "${WASMTIME_ROOT}/lib/libwasmtime.so")
  message(FATAL_ERROR "No Wasmtime C API at WASMTIME_ROOT=${WASMTIME_ROOT}: run scripts/setup.sh, "
                      "or point WASMTIME_ROOT at an extracted official c-api release")
endif()
file(STRINGS "${WASMTIME_ROOT}/include/wasmtime.h" _wasmtime_header_version
     REGEX "#define WASMTIME_VERSION \"")
string(REGEX REPLACE ".*\"(.*)\".*" "\\1" _wasmtime_header_version "${_wasmtime_header_version}")
if(NOT _wasmtime_header_version STREQUAL DISCOBLOCKS_WASMTIME_VERSION)
  message(FATAL_ERROR "Wasmtime at ${WASMTIME_ROOT} is ${_wasmtime_header_version}; "
                      "this build pins ${DISCOBLOCKS_WASMTIME_VERSION}")
endif()
message(STATUS "Wasmtime ${_wasmtime_header_version} from ${WASMTIME_ROOT}")

file(MAKE_DIRECTORY ${CMAKE_BINARY_DIR}/lib)
configure_file("${WASMTIME_ROOT}/lib/libwasmtime.so" "${CMAKE_BINARY_DIR}/lib/libwasmtime.so" COPYONLY)

add_library(wasmtime SHARED IMPORTED GLOBAL)
set_target_properties(wasmtime PROPERTIES
  IMPORTED_LOCATION "${CMAKE_BINARY_DIR}/lib/libwasmtime.so"
  # The wheel's library has no SONAME; link it by name, found through the rpath.
  IMPORTED_NO_SONAME TRUE
  INTERFACE_SYSTEM_INCLUDE_DIRECTORIES "${WASMTIME_ROOT}/include"
  INTERFACE_INCLUDE_DIRECTORIES "${WASMTIME_ROOT}/include")
set(CMAKE_BUILD_RPATH "$ORIGIN/../lib")
set(CMAKE_INSTALL_RPATH "$ORIGIN/../lib")
