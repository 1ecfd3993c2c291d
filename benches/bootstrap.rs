//! Bootstrap cost: 1000 replicates of every disparity and summary, on the cell statistics of
//! 1e6 and 1e7 rows.
//!
//! The bootstrap resamples per-cell confusion counts (`fairaudit::stats::bootstrap`) and, for
//! the score metrics, per-cell score strata (`fairaudit::stats::score_bootstrap`), so only the
//! cell statistics matter: they are built outside the timed closure (three attributes with 2,
//! 5 and 4 levels, 40 cells, rows spread unevenly over them; scores on the 10⁻⁴ grid, 10,001
//! distinct values, as `fairaudit synth` makes them). The timed part is `replicate_values` for
//! every disparity and summary slot of the attributes and their three-way intersection:
//! `rates` without the score metrics, `rates+scores` with them. Its cost depends on the number
//! of cells and strata, not of rows. Run: `cargo bench --bench bootstrap`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use fairaudit::aggregate::{CellTable, Confusion, GroupStats};
use fairaudit::metrics::calibration::Binning;
use fairaudit::metrics::disparity::Disparity;
use fairaudit::stats::bootstrap::{evaluate_with, replicate_values, AttributeDesign, Slot};
use fairaudit::stats::score_bootstrap::{Draw, ScoreDesign};

const REPLICATES: u32 = 1000;

fn cells(rows: u64) -> CellTable {
    let mut table = CellTable::default();
    let levels = [2usize, 5, 4];
    let n_cells: usize = levels.iter().product();
    // Uneven sizes: cell i gets a share proportional to (i % 7) + 1.
    let shares: Vec<u64> = (0..n_cells as u64).map(|i| i % 7 + 1).collect();
    let total_share: u64 = shares.iter().sum();
    for (i, share) in shares.iter().enumerate() {
        let key = vec![
            Some(format!("a{}", i % 2)),
            Some(format!("b{}", (i / 2) % 5)),
            Some(format!("c{}", i / 10)),
        ];
        let n = rows * share / total_share;
        let tp = n * (20 + i as u64 % 9) / 100;
        let fp = n * (5 + i as u64 % 4) / 100;
        let fn_ = n * (10 + i as u64 % 5) / 100;
        let counts = Confusion {
            tp,
            fp,
            tn: n - tp - fp - fn_,
            fn_,
        };
        let mut stats = GroupStats::with_bins(10);
        let cells = [
            (true, true, counts.tp),
            (false, true, counts.fp),
            (false, false, counts.tn),
            (true, false, counts.fn_),
        ];
        let mut j = i as u64;
        for (label, decision, count) in cells {
            for _ in 0..count {
                j += 1;
                let score = ((j * 7919) % 10_001) as f64 / 10_000.0;
                stats.push(label, decision, Some(score), 1.0);
            }
        }
        table.cells.insert(key, stats);
    }
    table
}

fn design(table: &CellTable) -> Vec<AttributeDesign> {
    [vec![0], vec![1], vec![2], vec![0, 1, 2]]
        .into_iter()
        .map(|positions| {
            let groups = table.roll_up(&positions);
            let reference = groups
                .iter()
                .max_by_key(|(_, g)| g.rows)
                .map(|(k, _)| k.clone());
            AttributeDesign {
                positions,
                reference,
                compared: groups.keys().cloned().collect(),
            }
        })
        .collect()
}

/// Every disparity and summary of the observed outcome.
fn slots(table: &CellTable, design: &[AttributeDesign], scores: Option<&ScoreDesign>) -> Vec<Slot> {
    let unresampled: Option<Draw> = scores.map(|sd| sd.observed());
    let observed = evaluate_with(table, design, scores.zip(unresampled.as_ref()));
    let mut out = Vec::new();
    for (attribute, a) in observed.attributes.iter().enumerate() {
        for (group, (_, disparities)) in a.groups.iter().enumerate() {
            for (key, d) in disparities {
                let parts: &[Option<&'static str>] = match d {
                    Disparity::Pair(_) => &[Some("ratio"), Some("difference")],
                    Disparity::Single(_) => &[None],
                };
                for part in parts {
                    out.push(Slot::Disparity {
                        attribute,
                        group,
                        key: key.clone(),
                        part: *part,
                    });
                }
            }
        }
        for key in a.summary.keys() {
            out.push(Slot::Summary {
                attribute,
                key: key.clone(),
            });
        }
    }
    out
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("bootstrap");
    group.sample_size(10);
    for rows in [1_000_000u64, 10_000_000] {
        let table = cells(rows);
        let design = design(&table);
        let scores = ScoreDesign::new(&table, &design, Binning::Uniform);
        for (name, scores) in [("rates", None), ("rates+scores", scores.as_ref())] {
            let slots = slots(&table, &design, scores);
            group.bench_with_input(
                BenchmarkId::new(format!("{REPLICATES}_replicates_{name}"), rows),
                &rows,
                |b, _| b.iter(|| replicate_values(&table, &design, scores, &slots, REPLICATES, 1)),
            );
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
