#!/usr/bin/env bash
# Remake the golden recording and what memstudy report prints of it (as root, once the
# build is done: sudo tests/unit/data/golden/regen.sh build). The unit tier's test_golden
# reads golden.rec back with --symfs symfs/ and compares with the expected files: a change
# to the recording format, or to what the report prints, shows there. Regenerate only when
# that change is meant, and look at the diff.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:?usage: regen.sh BUILD_DIR}" && pwd)
bin=/tmp/memstudy-golden/golden # the path the recording names; copied under symfs/
mkdir -p "$(dirname "$bin")" "$here/symfs$(dirname "$bin")"
gcc -O0 -g -fno-omit-frame-pointer -o "$bin" "$here/golden.c"
cp "$bin" "$here/symfs$bin"
rm -f "$here/golden.rec"
"$build/memstudy" record -o "$here/golden.rec" --no-calibrate -- "$bin"
report() { "$build/memstudy" report --symfs "$here/symfs" "$@" "$here/golden.rec"; }
report -o "$here/report.txt"
report --json "$here/report.json" -o /dev/null
report --leaks -o "$here/leaks.txt"
report --folded "$here/folded.txt" --weight bytes 2>/dev/null
report --timeline "$here/timeline.csv" 2>/dev/null && rm -f "$here/timeline.png"
report --perfetto "$here/perfetto.json" 2>/dev/null
report --mtrace "$here/mtrace.log" 2>/dev/null
report --pprof "$here/pprof.pb.gz" 2>/dev/null
python3 "$here/../../../fuzz/make_record_corpus.py" # the recording fuzzer's inputs
echo "regenerated: $(ls "$here")"
