#!/usr/bin/env bash
# A fairness gate for any CI system: audit the candidate model's predictions, compare them
# with the released model's report, keep the reports as artefacts, fail the job on exit 1.
#
#   examples/ci.sh SPEC BASELINE_JSON OUT_DIR
#
# SPEC is an audit spec (audits/*.toml); BASELINE_JSON the JSON report of the model in
# production (keep it with the release, e.g. as a release asset); OUT_DIR receives
# report.json, report.md, report.html and junit.xml. Exit code: 0 pass, 1 the gate failed,
# 2 a usage or input error. Set FAIRAUDIT to the binary's path (default: fairaudit on PATH).
set -uo pipefail
spec=${1:?usage: ci.sh SPEC BASELINE_JSON OUT_DIR}
baseline=${2:?usage: ci.sh SPEC BASELINE_JSON OUT_DIR}
out=${3:?usage: ci.sh SPEC BASELINE_JSON OUT_DIR}
fairaudit=${FAIRAUDIT:-fairaudit}
mkdir -p "$out"

"$fairaudit" run "$spec" \
  --baseline "$baseline" \
  --policy "demographic_parity_ratio >= 0.8" \
  --policy "demographic_parity_ratio change >= -0.02" \
  --policy "equal_opportunity_difference change <= 0.02" \
  --json "$out/report.json" --markdown "$out/report.md" \
  --html "$out/report.html" --junit "$out/junit.xml"
status=$?

# Where the CI system shows a job summary (GitHub Actions), post the Markdown there.
if [ -n "${GITHUB_STEP_SUMMARY:-}" ] && [ -f "$out/report.md" ]; then
  cat "$out/report.md" >> "$GITHUB_STEP_SUMMARY"
fi
case $status in
  0) echo "fairness gate: pass" ;;
  1) echo "fairness gate: FAIL (see $out/report.md)" ;;
  *) echo "fairness gate: error (exit $status)" ;;
esac
exit $status
