//! Aggregation throughput: rows of validated batches → per-cell statistics, 1e3 … 1e7 rows.
//!
//! The data (label, decision, a 4-decimal score, three attributes with 2, 5 and 4 levels) is
//! built outside the timed closure in batches of the readers' size; the timed part is what the
//! engine does per batch ([`aggregate_batch`]) plus the ordered merge.
//! Run: `cargo bench --bench aggregate`.

use std::collections::BTreeMap;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use fairaudit::aggregate::{aggregate_batch, AggregateOptions, CellTable};
use fairaudit::input::{Batch, Categorical, DEFAULT_BATCH_ROWS};

/// A fixed-seed generator (SplitMix64), so every run measures the same data.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

fn categorical(levels: usize, rng: &mut SplitMix, rows: usize) -> Categorical {
    Categorical {
        levels: (0..levels).map(|l| Some(format!("level{l}"))).collect(),
        codes: (0..rows)
            .map(|_| (rng.next() % levels as u64) as u32)
            .collect(),
    }
}

fn batches(total: usize) -> Vec<Batch> {
    let mut rng = SplitMix(42);
    let mut out = Vec::new();
    let mut left = total;
    while left > 0 {
        let n = left.min(DEFAULT_BATCH_ROWS);
        let score: Vec<f64> = (0..n)
            .map(|_| (rng.next() % 10_001) as f64 / 10_000.0)
            .collect();
        out.push(Batch {
            label: (0..n).map(|_| rng.next() % 2 == 0).collect(),
            prediction: score.iter().map(|s| *s >= 0.5).collect(),
            score: Some(score),
            weight: None,
            protected: vec![
                categorical(2, &mut rng, n),
                categorical(5, &mut rng, n),
                categorical(4, &mut rng, n),
            ],
            skipped: BTreeMap::new(),
            outcomes: None,
        });
        left -= n;
    }
    out
}

fn aggregate(c: &mut Criterion) {
    let mut group = c.benchmark_group("aggregate");
    group.sample_size(10);
    for rows in [1_000usize, 10_000, 100_000, 1_000_000, 10_000_000] {
        let data = batches(rows);
        group.throughput(Throughput::Elements(rows as u64));
        group.bench_with_input(BenchmarkId::from_parameter(rows), &data, |b, data| {
            b.iter(|| {
                let mut table = CellTable::default();
                for batch in data {
                    table.merge(aggregate_batch(batch, AggregateOptions { bins: 10 }));
                }
                table
            })
        });
    }
    group.finish();
}

criterion_group!(benches, aggregate);
criterion_main!(benches);
