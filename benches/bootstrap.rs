//! Bootstrap cost: 1000 replicates of every disparity and summary, on the cell statistics of
//! 1e6 and 1e7 rows.
//!
//! The bootstrap resamples per-cell confusion counts (`fairaudit::stats::bootstrap`), so only
//! the cell statistics matter: they are built directly (three attributes with 2, 5 and 4
//! levels, 40 cells, rows spread unevenly over them), outside the timed closure. The timed part
//! is `replicate_values` for every rate-based disparity and summary slot of the attributes and
//! their three-way intersection. Its cost depends on the number of cells, not of rows.
//! Run: `cargo bench --bench bootstrap`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use fairaudit::aggregate::{CellTable, Confusion, GroupStats};
use fairaudit::metrics::disparity::Disparity;
use fairaudit::stats::bootstrap::{evaluate, replicate_values, AttributeDesign, Slot};

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
        let as_f64 = Confusion {
            tp: counts.tp as f64,
            fp: counts.fp as f64,
            tn: counts.tn as f64,
            fn_: counts.fn_ as f64,
        };
        let stats = GroupStats {
            rows: n,
            counts,
            weighted: as_f64.into(),
            weighted_sq: as_f64.into(),
            ..GroupStats::default()
        };
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
fn slots(table: &CellTable, design: &[AttributeDesign]) -> Vec<Slot> {
    let observed = evaluate(table, design);
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
        let slots = slots(&table, &design);
        group.bench_with_input(
            BenchmarkId::new(format!("{REPLICATES}_replicates"), rows),
            &rows,
            |b, _| b.iter(|| replicate_values(&table, &design, &slots, REPLICATES, 1)),
        );
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
