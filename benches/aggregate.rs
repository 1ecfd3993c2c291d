//! Aggregation throughput: rows of validated batches → per-cell statistics, 1e3 … 1e7 rows.
//!
//! The data (label, decision, a 4-decimal score, three attributes with 2, 5 and 4 levels) is
//! built outside the timed closure in batches of the readers' size. `fold` times the engine's
//! path (batches folded in order into 1M-row streams, as Parquet row groups are, on one
//! thread); `per_batch` the path of batches that arrive out of order ([`aggregate_batch`] per
//! batch, then merged).
//! Run: `cargo bench --bench aggregate`.

use std::collections::BTreeMap;

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use fairaudit::aggregate::{aggregate_batch, AggregateOptions, CellTable, OrderedMerge};
use fairaudit::input::{batch_seq, Batch, Categorical, DEFAULT_BATCH_ROWS};

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

/// Batches per stream: a stream of 8 batches of 128K rows is a 1M-row Parquet row group.
const BATCHES_PER_STREAM: usize = 8;

fn aggregate(c: &mut Criterion) {
    let options = AggregateOptions { bins: 10 };
    // The engine's path: batches folded in order into their stream (row group), streams
    // merged in order as they end, the table settled at the end (one thread here).
    let mut group = c.benchmark_group("fold");
    group.sample_size(10);
    for rows in [1_000usize, 10_000, 100_000, 1_000_000, 10_000_000] {
        let data = batches(rows);
        group.throughput(Throughput::Elements(rows as u64));
        group.bench_with_input(BenchmarkId::from_parameter(rows), &data, |b, data| {
            b.iter_batched(
                || data.clone(),
                |data| {
                    let merge = OrderedMerge::default();
                    for (i, batch) in data.into_iter().enumerate() {
                        let stream = (i / BATCHES_PER_STREAM) as u64;
                        let index = (i % BATCHES_PER_STREAM) as u64;
                        merge.fold(batch_seq(stream, index), batch, options);
                        if index + 1 == BATCHES_PER_STREAM as u64 {
                            merge.end_stream(stream);
                        }
                    }
                    merge.finish()
                },
                BatchSize::LargeInput,
            )
        });
    }
    group.finish();
    // The path of batches that arrive out of order: a table per batch, merged.
    let mut group = c.benchmark_group("per_batch");
    group.sample_size(10);
    for rows in [1_000usize, 100_000, 10_000_000] {
        let data = batches(rows);
        group.throughput(Throughput::Elements(rows as u64));
        group.bench_with_input(BenchmarkId::from_parameter(rows), &data, |b, data| {
            b.iter(|| {
                let mut table = CellTable::default();
                for batch in data {
                    table.merge(aggregate_batch(batch, options));
                }
                table
            })
        });
    }
    group.finish();
}

criterion_group!(benches, aggregate);
criterion_main!(benches);
