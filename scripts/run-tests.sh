#!/usr/bin/env bash
# Runs every test file under node's test runner with a private TMPDIR that is removed afterwards,
# so the temporary folders the tests make (results, fixtures, browser profiles) never outlive the run.
set -uo pipefail
cd "$(dirname "$0")/.."
TMPDIR="$(mktemp -d "${TMPDIR:-/tmp}/napilab-tests-XXXXXX")"
export TMPDIR
trap 'rm -rf "$TMPDIR"' EXIT
# shellcheck disable=SC2046 # one argument per test file
node --import tsx --test --test-concurrency=1 $(find test -name '*.test.ts' | sort)
