#!/usr/bin/env bash
# Runs the test suites of third-party npm packages once plain and once with the package's own
# source instrumented by `causeway instrument`, and checks that the two runs print the same thing
# (docs/instrumentation.md, "Third-party test suites").
#
#   scripts/third-party-suites.sh [scratch-dir]
#
# The packages and the modules their tests need are installed in the scratch folder (default
# $TMPDIR/causeway-third-party), never in the project. Needs the npm registry the first time.
set -euo pipefail
# The suites table holds globs for tape and causeway, never for the shell.
set -f

repo="$(cd "$(dirname "$0")/.." && pwd)"
export PATH="$("$repo/scripts/node24.sh"):$PATH"
scratch="${1:-${TMPDIR:-/tmp}/causeway-third-party}"
probes="$repo/packages/instrumentation/src/probes.ts"
causeway=(node "$repo/packages/cli/bin/causeway.js")
mkdir -p "$scratch"

# name@version | tape glob | modules the tests require | instrument options (what is not source)
suites=(
  "qs@6.17.1|test/**/*.js|tape@5 mock-property safer-buffer iconv-lite has-proto for-each es-value-fixtures has-symbols has-property-descriptors has-override-mistake has-bigints object-inspect|--exclude test/** --exclude dist/** --exclude *.config.mjs"
  "deep-equal@2.2.3|test/**/*.js|tape@5 available-typed-arrays for-each has-proto has-symbols has-typed-arrays object.getownpropertydescriptors semver@6|--exclude test/** --exclude example/**"
  "minimist@1.2.8|test/*.js|tape@5|--exclude test/** --exclude example/**"
)

# Prints "tests pass fail" from a TAP stream's closing lines.
counts() {
  node -e '
    const tap = require("fs").readFileSync(process.argv[1], "utf8");
    const n = (name) => Number((tap.match(new RegExp("^# " + name + "\\s+(\\d+)", "m")) ?? [0, 0])[1]);
    console.log(n("tests"), n("pass"), n("fail"));' "$1"
}

status=0
summary=()
for suite in "${suites[@]}"; do
  IFS='|' read -r spec glob deps options <<<"$suite"
  name="${spec%@*}"
  version="${spec##*@}"
  dir="$scratch/$name-$version"
  if [ ! -f "$dir/.installed" ]; then
    rm -rf "$dir"
    mkdir -p "$dir"
    (cd "$scratch" && npm pack --silent "$spec" >/dev/null)
    tar xzf "$scratch/$name-$version.tgz" -C "$dir" --strip-components=1
    # The published package.json lists its whole development toolchain (linters, bundlers,
    # coverage): drop it, install the runtime dependencies and only what the tests require.
    node -e '
      const fs = require("fs"), file = process.argv[1];
      const manifest = JSON.parse(fs.readFileSync(file, "utf8"));
      delete manifest.devDependencies;
      fs.writeFileSync(file, JSON.stringify(manifest, null, 2));' "$dir/package.json"
    # shellcheck disable=SC2086 # the list is words on purpose
    (cd "$dir" && npm install --silent --no-save --ignore-scripts --no-audit --no-fund --no-package-lock $deps)
    touch "$dir/.installed"
  fi
  # Sources are instrumented in place, so plain runs start from a fresh copy of the package.
  rm -rf "$dir.run"
  cp -a "$dir" "$dir.run"
  tape=(node node_modules/tape/bin/tape "$glob")
  (cd "$dir.run" && "${tape[@]}" >"$scratch/$name.plain.tap" 2>"$scratch/$name.plain.err") || true
  # shellcheck disable=SC2086
  "${causeway[@]}" instrument "$dir.run" --out-dir "$dir.run" --runtime "$probes" --quiet $options
  (cd "$dir.run" && CAUSEWAY_TRACE_FILE="$scratch/$name.cwtrace" CAUSEWAY_RING_RECORDS=1048576 \
    "${tape[@]}" >"$scratch/$name.instrumented.tap" 2>"$scratch/$name.instrumented.err") || true
  read -r tests pass fail < <(counts "$scratch/$name.plain.tap")
  records=$(sed -n 's/^causeway: trace .*written to .* (\([0-9]*\) records.*/\1/p' "$scratch/$name.instrumented.err")
  if [ "$tests" -gt 0 ] && [ -n "$records" ] && [ "$records" -gt 0 ] &&
    cmp -s "$scratch/$name.plain.tap" "$scratch/$name.instrumented.tap"; then
    summary+=("$name $version: $tests tests ($pass pass, $fail fail) plain; instrumented: identical output, $records records")
  else
    status=1
    summary+=("$name $version: DIFFERENT (plain $tests tests, $pass pass, $fail fail; trace records: ${records:-none})")
    diff "$scratch/$name.plain.tap" "$scratch/$name.instrumented.tap" | head -20 || true
  fi
done
printf '%s\n' "${summary[@]}"
exit "$status"
