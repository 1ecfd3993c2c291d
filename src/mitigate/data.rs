//! The I/O of mitigation: one streaming pass over the input into per-group score
//! distributions (split for `--holdout`), the cell sums of reweighing, and the audit of
//! predictions with per-group thresholds applied (`fairaudit run --thresholds`).
//!
//! Determinism: batches may arrive from several threads (Parquet row groups or ranges); sums
//! continue row by row through the batches of one stream (a CSV file, a row group or range),
//! and streams are merged in file order, so sums depend neither on scheduling nor on the
//! batch size. Random draws (the holdout split, randomised decisions) come from a seeded hash
//! of (seed, the row's 1-based data row number) and nothing else: the same file, seed and
//! fairaudit version give the same split and the same decisions, whatever the batch size, the
//! Parquet row-group layout or the thread count (issue 10). With `--skip-invalid`, a kept row keeps
//! its data row number (skipped rows are not
//! renumbered away), so skipping rows does not move the draws of the others.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;

use super::reweigh::CellSums;
use super::{curve, GroupData, Mitigation};
use crate::aggregate::{Aggregate, AggregateOptions, OrderedMerge};
use crate::audit::{JOIN, MISSING};
use crate::error::{Error, Result};
use crate::input::{self, Batch, Columns, RowNumbers, Source};
use crate::report::{AuditReport, ThresholdsApplied};
use crate::spec::Audit;

/// SplitMix64: a well-mixed 64-bit hash of `x`.
fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// A uniform number in [0, 1) for data row `row` (1-based) under `seed` (`stream` separates
/// independent uses of one seed).
pub fn uniform(seed: u64, stream: u64, row: u64) -> f64 {
    let h = splitmix64(seed ^ splitmix64(stream ^ splitmix64(row)));
    (h >> 11) as f64 / (1u64 << 53) as f64
}

const SPLIT_STREAM: u64 = 1;
const DECISION_STREAM: u64 = 2;

/// The group label of every row of `batch` for the protected columns at `positions`
/// (values joined by `" & "`, missing as `(missing)`), as one label per distinct code tuple.
fn row_groups(batch: &Batch, positions: &[usize]) -> Vec<String> {
    let mut cache: BTreeMap<Vec<u32>, String> = BTreeMap::new();
    (0..batch.len())
        .map(|r| {
            let codes: Vec<u32> = positions
                .iter()
                .map(|&p| batch.protected[p].codes[r])
                .collect();
            cache
                .entry(codes)
                .or_insert_with_key(|codes| {
                    codes
                        .iter()
                        .zip(positions)
                        .map(|(&c, &p)| {
                            batch.protected[p].levels[c as usize]
                                .as_deref()
                                .unwrap_or(MISSING)
                                .to_string()
                        })
                        .collect::<Vec<_>>()
                        .join(JOIN)
                })
                .clone()
        })
        .collect()
}

/// Read `source` once into per-group data for the groups formed by all of
/// `columns.protected`. With `holdout = Some((fraction, seed))`, each row goes to the
/// held-out part with probability `fraction` (seeded), else to the fitting part.
pub fn read_groups(
    source: &Source,
    columns: &Columns,
    holdout: Option<(f64, u64)>,
) -> Result<(GroupData, Option<GroupData>)> {
    read_groups_batched(source, columns, holdout, input::DEFAULT_BATCH_ROWS)
}

/// [`read_groups`] reading batches of at most `batch_rows` rows (the result does not depend
/// on it; tests vary it).
pub fn read_groups_batched(
    source: &Source,
    columns: &Columns,
    holdout: Option<(f64, u64)>,
    batch_rows: usize,
) -> Result<(GroupData, Option<GroupData>)> {
    let positions: Vec<usize> = (0..columns.protected.len()).collect();
    let partials: Mutex<BTreeMap<u64, [GroupData; 2]>> = Mutex::default();
    let sink = |seq: u64, batch: Batch, numbers: RowNumbers| -> Result<()> {
        let score = batch.score.as_ref().ok_or_else(|| Error::Schema {
            path: source.path.clone(),
            msg: "mitigation needs a score column (--score)".into(),
        })?;
        let groups = row_groups(&batch, &positions);
        let row_numbers = numbers.kept(batch.len());
        // Sums continue row by row through the batches of a stream (which arrive in order
        // from one thread), so they do not depend on the batch size; streams (Parquet row
        // groups or ranges) are merged in file order below.
        let (stream, _) = input::split_batch_seq(seq);
        let mut parts: [GroupData; 2] = partials
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&stream)
            .unwrap_or_default();
        for (r, g) in groups.iter().enumerate() {
            let part = match holdout {
                Some((fraction, seed)) => {
                    usize::from(uniform(seed, SPLIT_STREAM, row_numbers[r]) < fraction)
                }
                None => 0,
            };
            let w = batch.weight.as_ref().map_or(1.0, |w| w[r]);
            let data = &mut parts[part];
            data.rows += 1;
            data.distributions
                .entry(g.clone())
                .or_default()
                .push(score[r], batch.label[r], w);
            data.before
                .entry(g.clone())
                .or_default()
                .add(batch.label[r], batch.prediction[r], w);
        }
        partials
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(stream, parts);
        Ok(())
    };
    let rows = input::read_positioned(source, columns, batch_rows, &sink, &|_| {})?;
    if rows == 0 {
        return Err(Error::Schema {
            path: source.path.clone(),
            msg: "no data rows (the file has a header only)".into(),
        });
    }
    let mut merged: [GroupData; 2] = Default::default();
    for parts in partials
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_values()
    {
        for (into, from) in merged.iter_mut().zip(parts) {
            into.rows += from.rows;
            for (g, d) in from.distributions {
                into.distributions.entry(g).or_default().merge(&d);
            }
            for (g, c) in from.before {
                into.before.entry(g).or_default().merge(&c);
            }
        }
    }
    let [fit, held] = merged;
    if holdout.is_some() && (fit.rows == 0 || held.rows == 0) {
        return Err(Error::spec(
            "--holdout",
            format!(
                "the split left {} rows to fit and {} to hold out; both must be non-empty",
                fit.rows, held.rows
            ),
        ));
    }
    Ok((fit, holdout.map(|_| held)))
}

/// What reweighing reads.
#[derive(Debug, Clone, Default)]
pub struct CellData {
    /// Rows and Σ weight per (group, label).
    pub sums: CellSums,
    /// Per row in file order (only when asked): (index into `names`, label, weight).
    pub rows: Vec<(u32, bool, f64)>,
    /// Group names of `rows`.
    pub names: Vec<String>,
}

/// Read `source` once into Σ weight per (group, label) for reweighing; with `per_row`, also
/// every row's group and label in file order (for per-row weights).
pub fn read_cells(source: &Source, columns: &Columns, per_row: bool) -> Result<CellData> {
    let positions: Vec<usize> = (0..columns.protected.len()).collect();
    type Partial = (CellSums, Vec<(String, bool, f64)>);
    let partials: Mutex<BTreeMap<u64, Partial>> = Mutex::default();
    let sink = |seq: u64, batch: Batch| -> Result<()> {
        let groups = row_groups(&batch, &positions);
        // Per stream, row by row (see the module docs).
        let (stream, _) = input::split_batch_seq(seq);
        let (mut sums, mut rows) = partials
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&stream)
            .unwrap_or_default();
        for (r, g) in groups.into_iter().enumerate() {
            let w = batch.weight.as_ref().map_or(1.0, |w| w[r]);
            let cell = sums.entry((g.clone(), batch.label[r])).or_default();
            cell.0 += 1;
            cell.1 += w;
            if per_row {
                rows.push((g, batch.label[r], w));
            }
        }
        partials
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(stream, (sums, rows));
        Ok(())
    };
    let n = input::read(source, columns, &sink)?;
    if n == 0 {
        return Err(Error::Schema {
            path: source.path.clone(),
            msg: "no data rows (the file has a header only)".into(),
        });
    }
    let mut sums = CellSums::new();
    let mut names: Vec<String> = Vec::new();
    let mut index: BTreeMap<String, u32> = BTreeMap::new();
    let mut rows = Vec::new();
    for (part, part_rows) in partials
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_values()
    {
        for (key, (n, w)) in part {
            let cell = sums.entry(key).or_default();
            cell.0 += n;
            cell.1 += w;
        }
        for (g, y, w) in part_rows {
            let i = *index.entry(g.clone()).or_insert_with(|| {
                names.push(g);
                names.len() as u32 - 1
            });
            rows.push((i, y, w));
        }
    }
    Ok(CellData { sums, rows, names })
}

/// Read a thresholds file written by `fairaudit mitigate`.
pub fn load_thresholds(path: &Path) -> Result<Mitigation> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let m: Mitigation = serde_json::from_str(&text).map_err(|e| {
        Error::spec(
            path.display().to_string(),
            format!("not a thresholds file of `fairaudit mitigate`: {e}"),
        )
    })?;
    if m.format_version != super::FORMAT_VERSION {
        return Err(Error::spec(
            path.display().to_string(),
            format!(
                "thresholds format version {} is not supported (expected {})",
                m.format_version,
                super::FORMAT_VERSION
            ),
        ));
    }
    Ok(m)
}

/// Run `audit` with the decision of every row taken from the rule of its group in
/// `thresholds` (positive when `score ≥ t`; randomised rules draw from a seeded hash of the
/// row's data row number, see the module docs). A row whose group has no rule is an input
/// error naming the file, the row's data row number and the column(s).
pub fn run_with_thresholds(
    audit: &Audit,
    thresholds: &Mitigation,
    file: &Path,
) -> Result<AuditReport> {
    run_with_thresholds_batched(audit, thresholds, file, input::DEFAULT_BATCH_ROWS)
}

/// [`run_with_thresholds`] reading batches of at most `batch_rows` rows (the result does not
/// depend on it; tests vary it).
pub fn run_with_thresholds_batched(
    audit: &Audit,
    thresholds: &Mitigation,
    file: &Path,
    batch_rows: usize,
) -> Result<AuditReport> {
    let columns = &audit.columns;
    let sha256_file = std::fs::read(file)
        .map(|bytes| crate::provenance::sha256_bytes(&bytes))
        .map_err(|e| Error::io(file, e))?;
    let spec_err = |msg: String| Error::spec(file.display().to_string(), msg);
    if columns.score.is_none() {
        return Err(spec_err(
            "--thresholds needs the score column (--score)".into(),
        ));
    }
    if columns.prediction.is_some() {
        return Err(spec_err(
            "--thresholds replaces the decision; do not also give a prediction column".into(),
        ));
    }
    let positions: Vec<usize> = thresholds
        .columns
        .iter()
        .map(|c| {
            columns
                .protected
                .iter()
                .position(|p| p == c)
                .ok_or_else(|| {
                    spec_err(format!(
                    "the thresholds are per group of '{}', but '{c}' is not a protected column \
                     of this audit (add it to --protected)",
                    thresholds.attribute
                ))
                })
        })
        .collect::<Result<_>>()?;
    let rules: BTreeMap<&str, &curve::Rule> = thresholds
        .thresholds
        .iter()
        .map(|t| (t.group.as_str(), &t.rule))
        .collect();
    let options = AggregateOptions { bins: audit.bins };
    let merge = OrderedMerge::default();
    let sink = |seq: u64, mut batch: Batch, numbers: RowNumbers| -> Result<()> {
        let groups = row_groups(&batch, &positions);
        let row_numbers = numbers.kept(batch.len());
        let score = batch.score.take().unwrap_or_default();
        for (r, g) in groups.iter().enumerate() {
            let Some(rule) = rules.get(g.as_str()) else {
                return Err(Error::Input {
                    path: audit.source.path.clone(),
                    row: row_numbers[r],
                    column: thresholds.columns.join(", "),
                    msg: format!(
                        "group '{g}' has no threshold in {} (its groups: {})",
                        file.display(),
                        rules.keys().cloned().collect::<Vec<_>>().join(", ")
                    ),
                });
            };
            let p = curve::positive_probability(rule, score[r]);
            batch.prediction[r] = if p >= 1.0 {
                true
            } else if p <= 0.0 {
                false
            } else {
                uniform(thresholds.seed, DECISION_STREAM, row_numbers[r]) < p
            };
        }
        batch.score = Some(score);
        merge.fold(seq, batch, options);
        if merge.largest_stream() > audit.max_groups {
            return Err(Error::Schema {
                path: audit.source.path.clone(),
                msg: format!(
                    "the protected columns form more than {} groups; raise --max-groups",
                    audit.max_groups
                ),
            });
        }
        Ok(())
    };
    let end = |stream: u64| merge.end_stream(stream);
    let rows_read = input::read_positioned(&audit.source, columns, batch_rows, &sink, &end)?;
    let (table, skipped) = merge.finish();
    let aggregate = Aggregate {
        table,
        rows_read,
        skipped,
    };
    if aggregate.table.cells.values().all(|c| c.rows == 0) {
        return Err(Error::Schema {
            path: audit.source.path.clone(),
            msg: "no valid rows".into(),
        });
    }
    let sha256 = crate::provenance::sha256_of(&audit.source)?;
    let baseline = audit
        .baseline
        .as_deref()
        .map(crate::baseline::Baseline::load)
        .transpose()?;
    let mut report = crate::audit::build_report(audit, &aggregate, sha256, baseline.as_ref())?;
    report.provenance.git = crate::provenance::run_git_info();
    // The audit record says where the decisions came from; `verify` re-runs it from the
    // path in `provenance.options.thresholds` and checks the file's hash.
    if let Some(options) = report.provenance.options.as_object_mut() {
        options.insert(
            "thresholds".into(),
            serde_json::Value::String(file.display().to_string()),
        );
    }
    report.provenance.thresholds = Some(ThresholdsApplied {
        file: file.display().to_string(),
        sha256: sha256_file,
        attribute: thresholds.attribute.clone(),
        columns: thresholds.columns.clone(),
        score: thresholds.score.clone(),
        objective: thresholds.objective,
        tolerance: thresholds.tolerance,
        randomised: thresholds.randomised,
        seed: thresholds.seed,
        rules: thresholds.thresholds.clone(),
    });
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniform_is_in_unit_interval_and_seeded() {
        let xs: Vec<f64> = (1..=1000).map(|r| uniform(7, 1, r)).collect();
        assert!(xs.iter().all(|&x| (0.0..1.0).contains(&x)));
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        assert!((mean - 0.5).abs() < 0.05, "mean {mean}");
        assert_eq!(uniform(7, 1, 5), uniform(7, 1, 5));
        assert_ne!(uniform(7, 1, 5), uniform(8, 1, 5));
        assert_ne!(uniform(7, 1, 5), uniform(7, 2, 5));
    }
}
