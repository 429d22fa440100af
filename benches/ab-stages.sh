#!/bin/bash
# A/B of two (or more) zd2gc binaries from the CLI on one export, alternating them run by run:
# extract, map (first run), map (unchanged re-run), validate; wall, CPU (user+sys), peak RSS; then the
# state on disk. Usage: benches/ab-stages.sh EXPORT_DIR MAPPINGS_DIR RUNS BIN_A BIN_B ...
# (the export and mappings `cargo bench --bench stages` leaves under target/bench-data and
# target/bench-stages/whole/mappings). Needs GNU time (/usr/bin/time) and bc.
set -euo pipefail
work=$(mktemp -d)
export_dir=$1; mappings=$2; runs=$3; shift 3
for r in $(seq 1 "$runs"); do
  for bin in "$@"; do
    d=$work/run; rm -rf "$d"
    "$bin" --quiet init "$d" >/dev/null
    cp "$mappings"/*.csv "$d/mappings/"
    for st in extract map map validate; do
      sync
      extra=(); [ "$st" = extract ] && extra=("$export_dir")
      /usr/bin/time -f "%e %U %S %M" -o "$work/time" "$bin" --dir "$d" --quiet --no-progress --json "$st" "${extra[@]}" >/dev/null 2>"$work/stderr" || { rc=$?; [ "$st" = validate ] && [ $rc -le 1 ] || { echo "FAIL $bin $st rc=$rc"; tail -5 "$work/stderr"; exit 1; }; }
      read w u s m < <(tail -1 "$work/time")
      printf "%s %s %-8s wall %6.2f cpu %6.2f rss %5d MB\n" "$r" "$bin" "$st" "$w" "$(echo "$u + $s" | bc)" "$((m/1024))"
    done
    echo "$r $bin state MB: $(du -cm "$d"/zd2gc.db* "$d"/snapshot*.db* 2>/dev/null | tail -1 | cut -f1)"
  done
done
rm -rf "$work"
