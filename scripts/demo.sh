#!/usr/bin/env bash
# The demo: builds eryxon, makes a fresh demo shop database, mints an MCP key
# and lets the official MCP TypeScript SDK client drive `eryxon mcp serve`
# over stdio through a short scenario. Ends with the claude_desktop_config.json
# block that connects an agent to the same database.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh dev >/dev/null
bin="$PWD/build/dev/bin/eryxon"
dir="$PWD/build/demo"
mkdir -p "$dir"
db="$dir/shop.db"
rm -f "$db" "$db-wal" "$db-shm" "$db.pepper"
"$bin" init --db "$db" 2>/dev/null
tenant=$("$bin" seed-demo --db "$db")
key=$("$bin" key create --db "$db" --tenant "$tenant" --name demo-agent --tools '*' 2>/dev/null)
echo "Demo shop database: $db (tenant $tenant)"
node clients/ts/demo.mjs --bin "$bin" --db "$db" --key "$key"
