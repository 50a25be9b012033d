#!/bin/sh
# tests/check_exports.sh - ABI hygiene of the shared library (CTest
# abi.exported_symbols). Usage: check_exports.sh LIBRARY HEADER VERSION
#
# LIBRARY is the built liberyxon.so, HEADER include/eryxon/eryxon.h, VERSION
# the project version (MAJOR.MINOR.PATCH). Checks, with binutils (NM and
# READELF may name other tools):
#  1. every defined dynamic symbol starts with "eryxon_": no C++ API, no
#     template instantiation of libstdc++ or nlohmann::json, no
#     sanitizer or linker bookkeeping symbol (liberyxon.so is the C ABI);
#  2. the exported eryxon_ symbols are exactly the ERYXON_EXPORT functions
#     of the header: none missing, none undeclared;
#  3. the soname follows the version policy: liberyxon.so.MAJOR.MINOR before
#     1.0, liberyxon.so.MAJOR from then on.
set -eu
export LC_ALL=C  # sort and comm agree on one collation
lib=$1
header=$2
version=$3
nm_tool=${NM:-nm}
readelf_tool=${READELF:-readelf}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
status=0

# nm -D --defined-only prints "ADDRESS TYPE NAME" (NAME@VERSION for
# versioned symbols; liberyxon has no version nodes, so a version shows up
# as a difference).
"$nm_tool" -D --defined-only "$lib" | awk 'NF >= 3 { print $3 }' | sort -u >"$tmp/exported"
if [ ! -s "$tmp/exported" ]; then
  echo "FAIL: $nm_tool -D --defined-only $lib listed no symbols" >&2
  exit 1
fi

grep -v '^eryxon_' "$tmp/exported" >"$tmp/foreign" || true
if [ -s "$tmp/foreign" ]; then
  echo "FAIL: $(wc -l <"$tmp/foreign") exported symbols do not start with eryxon_ (first 20):" >&2
  head -n 20 "$tmp/foreign" >&2
  status=1
fi

grep 'ERYXON_EXPORT' "$header" | grep -o 'eryxon_[a-z0-9_]*(' | tr -d '(' | sort -u >"$tmp/declared"
grep '^eryxon_' "$tmp/exported" >"$tmp/exported_c" || true
missing=$(comm -23 "$tmp/declared" "$tmp/exported_c")
extra=$(comm -13 "$tmp/declared" "$tmp/exported_c")
if [ -n "$missing" ]; then
  echo "FAIL: declared in $header but not exported:" >&2
  echo "$missing" >&2
  status=1
fi
if [ -n "$extra" ]; then
  echo "FAIL: exported but not declared (ERYXON_EXPORT) in $header:" >&2
  echo "$extra" >&2
  status=1
fi

major=${version%%.*}
rest=${version#*.}
minor=${rest%%.*}
if [ "$major" = 0 ]; then want="liberyxon.so.$major.$minor"; else want="liberyxon.so.$major"; fi
soname=$("$readelf_tool" -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p')
if [ "$soname" != "$want" ]; then
  echo "FAIL: soname is \"$soname\", the version policy wants \"$want\"" >&2
  status=1
fi

if [ "$status" = 0 ]; then
  echo "ok: $(wc -l <"$tmp/exported") symbols, all eryxon_ and all declared in eryxon.h; soname $soname"
fi
exit "$status"
