#!/bin/sh
# tests/consumer/run.sh - installs the build tree into a fresh prefix and
# builds outside programs against it the ways a user would (CTest
# install.consumer). Environment, set by tests/CMakeLists.txt:
#   CMAKE      the cmake program          BUILD_DIR  the eryxon build tree
#   WORK_DIR   scratch (emptied first)    LIBDIR     CMAKE_INSTALL_LIBDIR
#   GENERATOR, CC, CXX, BUILD_TYPE        the build's generator, compilers,
#   CFLAGS, CXXFLAGS, LDFLAGS             build type and flags (the
#                                         sanitizer presets' instrumentation)
#   VERSION    the project version        READELF    readelf
# Steps:
#  1. cmake --install gives headers, both libraries, the CMake package
#     (config + version file) and eryxon.pc;
#  2. the version file: find_package(eryxon 0.1) is accepted, 9.0 and (0.x
#     minor versions are not compatible) 0.0 are refused;
#  3. find_package(eryxon CONFIG REQUIRED) with CMAKE_PREFIX_PATH: a C++
#     program on eryxon::eryxon_static (C++ API + C ABI) and a C program on
#     eryxon::eryxon (liberyxon.so), both run;
#  4. pkg-config: a C program on liberyxon.so (run with LD_LIBRARY_PATH);
#  5. pkg-config --static: every shared library liberyxon.so needs is in
#     Libs.private, and the C program links liberyxon.a and runs without
#     liberyxon.so.
set -eu
: "${CMAKE:?}" "${BUILD_DIR:?}" "${WORK_DIR:?}" "${LIBDIR:?}" "${VERSION:?}"
here=$(cd "$(dirname "$0")" && pwd)
readelf_tool=${READELF:-readelf}
rm -rf "$WORK_DIR"
mkdir -p "$WORK_DIR"
prefix="$WORK_DIR/prefix"
step() { echo "== $*"; }
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
needed() { "$readelf_tool" -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\].*/\1/p'; }

step "1. cmake --install $BUILD_DIR --prefix $prefix"
"$CMAKE" --install "$BUILD_DIR" --prefix "$prefix" >"$WORK_DIR/install.log" ||
  { cat "$WORK_DIR/install.log" >&2; fail "cmake --install"; }
for f in include/eryxon/eryxon.h include/eryxon/eryxon.hpp include/eryxon/version.h \
  include/eryxon/export.h "$LIBDIR/liberyxon.a" "$LIBDIR/liberyxon.so" \
  "$LIBDIR/cmake/eryxon/eryxonConfig.cmake" "$LIBDIR/cmake/eryxon/eryxonConfigVersion.cmake" \
  "$LIBDIR/cmake/eryxon/eryxonTargets.cmake" "$LIBDIR/pkgconfig/eryxon.pc"; do
  [ -e "$prefix/$f" ] || fail "not installed: $f"
done
soname=$("$readelf_tool" -d "$prefix/$LIBDIR/liberyxon.so" | sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p')
[ -e "$prefix/$LIBDIR/$soname" ] || fail "no $soname (the soname) installed"

configure() {  # configure SOURCE BINARY [ARGS...]
  src=$1
  bin=$2
  shift 2
  "$CMAKE" -S "$src" -B "$bin" -G "$GENERATOR" -DCMAKE_PREFIX_PATH="$prefix" \
    -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}" \
    -DCMAKE_C_COMPILER="$CC" -DCMAKE_CXX_COMPILER="$CXX" \
    -DCMAKE_C_FLAGS="${CFLAGS:-}" -DCMAKE_CXX_FLAGS="${CXXFLAGS:-}" \
    -DCMAKE_EXE_LINKER_FLAGS="${LDFLAGS:-}" "$@"
}

step "2. the package version file"
for want in 0.1 "$VERSION"; do
  configure "$here/version" "$WORK_DIR/version-$want" -DERYXON_WANT="$want" \
    >"$WORK_DIR/version-$want.log" 2>&1 ||
    { cat "$WORK_DIR/version-$want.log" >&2; fail "find_package(eryxon $want) refused"; }
done
for want in 9.0 0.0; do
  if configure "$here/version" "$WORK_DIR/version-$want" -DERYXON_WANT="$want" \
    >"$WORK_DIR/version-$want.log" 2>&1; then
    fail "find_package(eryxon $want CONFIG REQUIRED) accepted version $VERSION"
  fi
  grep -q 'version' "$WORK_DIR/version-$want.log" ||
    { cat "$WORK_DIR/version-$want.log" >&2; fail "find_package(eryxon $want) failed for another reason"; }
  echo "find_package(eryxon $want) refused, as it should be"
done

step "3. find_package(eryxon): C++ on eryxon::eryxon_static, C on eryxon::eryxon"
configure "$here" "$WORK_DIR/cmake" >"$WORK_DIR/cmake.log" 2>&1 ||
  { cat "$WORK_DIR/cmake.log" >&2; fail "configuring the CMake consumer"; }
"$CMAKE" --build "$WORK_DIR/cmake" -j 2 >"$WORK_DIR/cmake-build.log" 2>&1 ||
  { cat "$WORK_DIR/cmake-build.log" >&2; fail "building the CMake consumer"; }
needed "$WORK_DIR/cmake/consumer_cxx" | grep -q '^liberyxon' &&
  fail "consumer_cxx needs liberyxon.so; it should hold liberyxon.a"
needed "$WORK_DIR/cmake/consumer_c" | grep -qx "$soname" ||
  fail "consumer_c does not need $soname"
"$WORK_DIR/cmake/consumer_cxx"
"$WORK_DIR/cmake/consumer_c"  # finds liberyxon.so through CMake's build RPATH

export PKG_CONFIG_PATH="$prefix/$LIBDIR/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
step "4. pkg-config eryxon: C on liberyxon.so"
[ "$(pkg-config --modversion eryxon)" = "$VERSION" ] || fail "pkg-config --modversion eryxon"
cflags=$(pkg-config --cflags eryxon)
libs=$(pkg-config --libs eryxon)
echo "cflags: $cflags"
echo "libs:   $libs"
# Relocatable: the paths lead into this prefix although the build was
# configured for another one.
[ "$(cd "$(pkg-config --variable=includedir eryxon)" && pwd -P)" = "$(cd "$prefix/include" && pwd -P)" ] ||
  fail "eryxon.pc includedir is not $prefix/include"
# shellcheck disable=SC2086 # word splitting of the flags is intended
"$CC" ${CFLAGS:-} -std=c99 -Wall -Wextra -pedantic -Werror $cflags "$here/consumer.c" \
  -o "$WORK_DIR/c_shared" $libs ${LDFLAGS:-}
needed "$WORK_DIR/c_shared" | grep -qx "$soname" || fail "c_shared does not need $soname"
LD_LIBRARY_PATH="$prefix/$LIBDIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$WORK_DIR/c_shared"

step "5. pkg-config --static eryxon: C on liberyxon.a"
static_libs=$(pkg-config --static --libs eryxon)
echo "libs:   $static_libs"
# Every library liberyxon.so was linked with, except the C runtime and the
# sanitizer runtimes the compiler adds by itself, must be in Libs.private.
for lib in $(needed "$prefix/$LIBDIR/liberyxon.so"); do
  case "$lib" in
    libc.so.* | ld-linux*.so.* | libgcc_s.so.* | libasan.so.* | libubsan.so.* | libtsan.so.*) continue ;;
  esac
  name=${lib#lib}
  name=${name%%.so*}
  case " $static_libs " in
    *" -l$name "*) ;;
    *) fail "liberyxon.so needs $lib but pkg-config --static --libs eryxon lacks -l$name" ;;
  esac
done
link=$(echo "$static_libs" | sed 's/-leryxon/-Wl,-Bstatic -leryxon -Wl,-Bdynamic/')
# shellcheck disable=SC2086
"$CC" ${CFLAGS:-} -std=c99 -Wall -Wextra -pedantic -Werror $(pkg-config --cflags --static eryxon) \
  "$here/consumer.c" -o "$WORK_DIR/c_static" $link ${LDFLAGS:-}
needed "$WORK_DIR/c_static" | grep -q '^liberyxon' && fail "c_static needs liberyxon.so"
env -u LD_LIBRARY_PATH "$WORK_DIR/c_static"

echo "ok: installed, found by CMake (0.1 accepted, 9.0 and 0.0 refused) and pkg-config, linked shared and static"
