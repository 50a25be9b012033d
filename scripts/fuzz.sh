#!/usr/bin/env bash
# Builds the libFuzzer target for key parsing/validation with clang
# (ASan + UBSan + libFuzzer) against the dev build and runs it for a bounded
# time. Usage: scripts/fuzz.sh [seconds, default 20]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-20}"
[ -f build/dev/liberyxon.a ] || scripts/build.sh dev
out=build/fuzz
mkdir -p "$out/corpus"
# Seeds: a well-formed key shape of each family and the legacy shape.
printf 'mcp_live_AbCdEfGh0123456789abcdefghijABCDEFGHIJ012345' > "$out/corpus/seed-mcp"
printf 'ery_test_0123456789abcdef0123456789abcdef' > "$out/corpus/seed-legacy-rest"
# keys.cpp is compiled with clang and instrumented; the rest of the library
# comes from the dev build's static archive (same libstdc++ ABI).
clang++ -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -Iinclude -Ibuild/dev/include -Isrc \
  fuzz/fuzz_keys.cpp src/keys/keys.cpp build/dev/liberyxon.a \
  $(pkg-config --libs libsodium) -lsqlite3 -lfmt -ldate-tz -lcrypt -lpthread \
  -o "$out/fuzz_keys"
"$out/fuzz_keys" -max_total_time="$seconds" -max_len=128 -print_final_stats=1 "$out/corpus" 2>&1 | tail -n 15
