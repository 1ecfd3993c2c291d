//! The scan floor of issue 8: decode the columns an audit reads and sum them, nothing else.
//!
//! Reads `label`, `score` and the protected columns of a Parquet file (strings as dictionary
//! keys, never one string per row), row groups (cut into ranges when there are few) in
//! parallel on rayon's pool exactly as `fairaudit run` does, and sums them. A full audit is
//! compared with this time in `scripts/bench-peers` and BENCHMARKS.md.
//!
//! ```sh
//! cargo build --release --example scan_floor
//! target/release/examples/scan_floor [--hash] [--histogram] FILE.parquet [label score attr1,attr2,...]
//! ```
//!
//! Two options add, one at a time, the least work an audit cannot skip, to show how much of
//! the time beyond the floor is set by the contract rather than by the implementation:
//! `--hash` also computes the file's SHA-256 (CONTRACT.md's `input.sha256`) on another thread
//! while the columns are scanned, as `fairaudit run` does; `--histogram` also counts every row
//! into its cell's exact score histogram (one count per cell, score on the 10⁻⁴ grid and
//! label: the statistic AUC and calibration need) instead of summing the columns, in two
//! tight passes per batch (code every row, then increment) as `fairaudit run` counts its rows,
//! but without checking or copying the columns first (it expects `fairaudit synth`'s layout:
//! an int64 label, a float64 score, string attributes of at most 16 values).

use std::collections::HashMap;
use std::fs::File;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int32Type, Int64Type};
use arrow_array::{Array, ArrayRef};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReader,
    ParquetRecordBatchReaderBuilder, RowSelection, RowSelector,
};
use parquet::arrow::ProjectionMask;
use rayon::prelude::*;

/// Sums of one range of rows.
#[derive(Default, Clone, Copy)]
struct Sums {
    rows: u64,
    label: f64,
    score: f64,
    keys: u64,
}

impl Sums {
    fn add(mut self, o: Sums) -> Sums {
        self.rows += o.rows;
        self.label += o.label;
        self.score += o.score;
        self.keys += o.keys;
        self
    }
}

fn main() {
    let (flags, args): (Vec<String>, Vec<String>) =
        std::env::args().skip(1).partition(|a| a.starts_with("--"));
    let (hash, histogram) = (
        flags.contains(&"--hash".into()),
        flags.contains(&"--histogram".into()),
    );
    // A mistyped option must not time the plain floor under another name.
    let unknown = (flags.iter()).find(|f| !matches!(f.as_str(), "--hash" | "--histogram"));
    if let Some(flag) = unknown {
        eprintln!("scan_floor: unknown option {flag} (--hash and --histogram exist)");
        std::process::exit(2);
    }
    let Some(path) = args.first() else {
        eprintln!(
            "usage: scan_floor [--hash] [--histogram] FILE.parquet [LABEL SCORE ATTR,ATTR,...]"
        );
        std::process::exit(2);
    };
    let label = args.get(1).map_or("label", String::as_str);
    let score = args.get(2).map_or("score", String::as_str);
    let attrs: Vec<&str> = args
        .get(3)
        .map_or("sex,race,age_group", String::as_str)
        .split(',')
        .collect();

    let file = File::open(path).expect("open");
    let metadata = ArrowReaderMetadata::load(&file, ArrowReaderOptions::new()).expect("footer");
    // Ask for the string columns as dictionaries, so pages keep their dictionary encoding.
    let fields: Vec<Field> = metadata
        .schema()
        .fields()
        .iter()
        .map(|f| {
            if attrs.contains(&f.name().as_str()) && f.data_type() == &DataType::Utf8 {
                Field::new(
                    f.name(),
                    DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)),
                    f.is_nullable(),
                )
            } else {
                f.as_ref().clone()
            }
        })
        .collect();
    let options = ArrowReaderOptions::new().with_schema(Arc::new(Schema::new(fields)));
    let metadata = ArrowReaderMetadata::try_new(metadata.metadata().clone(), options)
        .expect("dictionary schema");
    let wanted: Vec<usize> = [label, score]
        .iter()
        .chain(attrs.iter())
        .map(|name| {
            metadata
                .schema()
                .index_of(name)
                .unwrap_or_else(|_| panic!("no column {name}"))
        })
        .collect();
    let mask = ProjectionMask::roots(metadata.parquet_schema(), wanted.iter().copied());
    // The ranges `fairaudit run` reads (keep in step with `CUT` in src/input/parquet.rs): up
    // to ⌈8 / row groups⌉ ranges per row group, each of at least 2¹⁷ rows, read by row
    // selection.
    let groups = metadata.metadata().num_row_groups();
    let per_group = 8usize.div_ceil(groups.max(1));
    let ranges: Vec<Range> = (0..groups)
        .flat_map(|g| {
            let rows = metadata.metadata().row_group(g).num_rows() as usize;
            let parts = (rows >> 17).clamp(1, per_group);
            (0..parts).map(move |p| (g, rows, rows * p / parts, rows * (p + 1) / parts))
        })
        .collect();
    let hasher = hash.then(|| {
        std::thread::spawn({
            let path = path.clone();
            // The audit's own function, so the hash costs what it costs in `fairaudit run`.
            move || {
                let source = fairaudit::input::Source::from_path(path, b',');
                let hash = fairaudit::provenance::sha256_of(&source).expect("hash");
                hash.expect("a file, not standard input")
            }
        })
    });
    if histogram {
        let (off_grid, cells) = ranges
            .into_par_iter()
            .map(|range| {
                let mut histograms = Histograms::default();
                for batch in reader(path, &metadata, &mask, range) {
                    let batch = batch.expect("decode");
                    let schema = batch.schema();
                    let col = |name: &str| batch.column(schema.index_of(name).expect("column"));
                    let protected: Vec<&ArrayRef> = attrs.iter().map(|a| col(a)).collect();
                    histograms.count(col(label), col(score), &protected);
                }
                (histograms.off_grid, histograms.by_key())
            })
            .reduce(Default::default, |(a, x), (b, y)| (a + b, merge(x, y)));
        let count = |label: usize| -> u64 {
            (cells.values())
                .flat_map(|counts| counts.iter().skip(label).step_by(2))
                .map(|&c| u64::from(c))
                .sum()
        };
        let (negatives, positives) = (count(0), count(1));
        println!(
            "rows {} label_sum {positives} cells {} off_grid {off_grid}",
            negatives + positives + off_grid,
            cells.len()
        );
    } else {
        scan_sums(path, &metadata, &mask, ranges, (label, score, &attrs));
    }
    if let Some(hasher) = hasher {
        println!("sha256 {}", hasher.join().expect("hash thread"));
    }
}

/// A range of rows `(row group, its rows, first, end)`.
type Range = (usize, usize, usize, usize);

/// The reader of one range's record batches (a file handle of its own).
fn reader(
    path: &str,
    metadata: &ArrowReaderMetadata,
    mask: &ProjectionMask,
    (group, rows, from, to): Range,
) -> ParquetRecordBatchReader {
    let file = File::open(path).expect("open");
    let mut builder = ParquetRecordBatchReaderBuilder::new_with_metadata(file, metadata.clone())
        .with_projection(mask.clone())
        .with_row_groups(vec![group])
        .with_batch_size(64 * 1024);
    if to - from < rows {
        builder = builder.with_row_selection(RowSelection::from(vec![
            RowSelector::skip(from),
            RowSelector::select(to - from),
            RowSelector::skip(rows - to),
        ]));
    }
    builder.build().expect("reader")
}

/// Decode the columns of every range and print their sums.
fn scan_sums(
    path: &str,
    metadata: &ArrowReaderMetadata,
    mask: &ProjectionMask,
    ranges: Vec<Range>,
    (label, score, attrs): (&str, &str, &[&str]),
) {
    let sums = ranges
        .into_par_iter()
        .map(|range| {
            let mut sums = Sums::default();
            for batch in reader(path, metadata, mask, range) {
                let batch = batch.expect("decode");
                let schema = batch.schema();
                let col = |name: &str| batch.column(schema.index_of(name).expect("column"));
                sums.rows += batch.num_rows() as u64;
                sums.label += number(col(label));
                sums.score += number(col(score));
                for a in attrs {
                    sums.keys += keys(col(a));
                }
            }
            sums
        })
        .reduce(Sums::default, Sums::add);
    println!(
        "rows {} label_sum {} score_sum {} key_sum {}",
        sums.rows, sums.label, sums.score, sums.keys
    );
}

/// Sum of a numeric column.
fn number(array: &ArrayRef) -> f64 {
    match array.data_type() {
        DataType::Float64 => array.as_primitive::<Float64Type>().values().iter().sum(),
        DataType::Int64 => array
            .as_primitive::<Int64Type>()
            .values()
            .iter()
            .map(|&v| v as f64)
            .sum(),
        other => panic!("unsupported numeric type {other}"),
    }
}

/// Sum of the dictionary keys of a string column.
fn keys(array: &ArrayRef) -> u64 {
    let dict = array.as_dictionary::<Int32Type>();
    let _ = dict.values().len();
    dict.keys().values().iter().map(|&k| k as u64).sum()
}

/// Grid slots per cell: scores k/10⁴, k = 0..=10⁴.
const SLOTS: usize = 10_001;

/// Exact score histograms of one range's cells: `counts[(cell · SLOTS + slot) · 2 + label]`,
/// cells numbered in order of first appearance; rows off the grid only counted.
#[derive(Default)]
struct Histograms {
    /// Each column's level numbers by value.
    levels: Vec<HashMap<String, u32>>,
    /// Cell number by mixed-radix code of the level numbers (16 levels per column at most).
    cell_of_code: Vec<u32>,
    /// Each cell's level values.
    keys: Vec<Vec<String>>,
    counts: Vec<u32>,
    off_grid: u64,
}

impl Histograms {
    /// Count every row of a batch: a pass that codes each row (cell, grid slot, label) into
    /// its index in `counts`, which vectorises, and a pass of increments, as `fairaudit run`
    /// counts its rows (src/aggregate/dense.rs), without checking or copying the columns first.
    fn count(&mut self, label: &ArrayRef, score: &ArrayRef, protected: &[&ArrayRef]) {
        assert!(protected.len() <= 3, "at most three protected columns");
        self.levels.resize_with(protected.len(), HashMap::new);
        if self.cell_of_code.is_empty() {
            self.cell_of_code = vec![u32::MAX; 1 << 12];
        }
        let n = label.len();
        let zeros = vec![0i32; if protected.len() < 3 { n } else { 0 }];
        // Each column's dictionary keys and, per key, its level number shifted into place.
        let mut keys: Vec<&[i32]> = Vec::new();
        let mut shifted: Vec<Vec<u32>> = Vec::new();
        for (c, array) in protected.iter().enumerate() {
            let dict = array.as_dictionary::<Int32Type>();
            let values = dict.values().as_string::<i32>();
            let levels = &mut self.levels[c];
            shifted.push(
                values
                    .iter()
                    .map(|v| {
                        let next = levels.len() as u32;
                        let level = *levels.entry(v.unwrap_or("").to_string()).or_insert(next);
                        assert!(level < 16, "at most 16 levels per column");
                        level << (4 * c)
                    })
                    .collect(),
            );
            let keys_of = dict.keys().values();
            let largest = keys_of.iter().fold(0u32, |m, &k| m.max(k as u32));
            assert!(
                n == 0 || (largest as usize) < values.len(),
                "key out of range"
            );
            keys.push(keys_of);
        }
        while keys.len() < 3 {
            keys.push(&zeros);
            shifted.push(vec![0]);
        }
        // A cell for every combination of the batch's dictionary values.
        for &a in &shifted[0] {
            for &b in &shifted[1] {
                for &c in &shifted[2] {
                    let code = (a | b | c) as usize;
                    if self.cell_of_code[code] == u32::MAX {
                        self.cell_of_code[code] = self.keys.len() as u32;
                        self.keys.push(self.key_of(code as u32));
                        self.counts.resize(self.counts.len() + 2 * SLOTS, 0);
                    }
                }
            }
        }
        let label = label.as_primitive::<Int64Type>().values();
        let score = score.as_primitive::<Float64Type>().values();
        let mut index = vec![0u32; n];
        let columns = Columns {
            keys: [keys[0], keys[1], keys[2]],
            shifted: [&shifted[0], &shifted[1], &shifted[2]],
            cell_of_code: &self.cell_of_code,
            label,
            score,
        };
        self.off_grid += index_rows(&columns, &mut index) as u64;
        for &i in &index {
            if let Some(count) = self.counts.get_mut(i as usize) {
                *count += 1;
            }
        }
    }

    /// The level values of a mixed-radix code.
    fn key_of(&self, code: u32) -> Vec<String> {
        (self.levels.iter().enumerate())
            .map(|(c, levels)| {
                let level = (code >> (4 * c)) & 15;
                let (value, _) = levels.iter().find(|(_, &l)| l == level).expect("level");
                value.clone()
            })
            .collect()
    }

    /// The histograms of the cells with rows, by cell key.
    fn by_key(self) -> HashMap<Vec<String>, Vec<u32>> {
        (self.keys.into_iter().enumerate())
            .map(|(cell, key)| (key, self.counts[cell * 2 * SLOTS..][..2 * SLOTS].to_vec()))
            .filter(|(_, counts)| counts.iter().any(|&c| c > 0))
            .collect()
    }
}

/// One batch's columns as [`index_rows`] reads them.
struct Columns<'a> {
    keys: [&'a [i32]; 3],
    shifted: [&'a [u32]; 3],
    cell_of_code: &'a [u32],
    label: &'a [i64],
    score: &'a [f64],
}

/// Each row's index into [`Histograms::counts`] (`u32::MAX` for a score off the grid); the
/// number of rows off the grid. Compiled for AVX2 where the CPU has it.
fn index_rows(columns: &Columns, index: &mut [u32]) -> usize {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2.
        return unsafe { index_rows_avx2(columns, index) };
    }
    index_rows_in(columns, index)
}

/// [`index_rows`] for AVX2.
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn index_rows_avx2(columns: &Columns, index: &mut [u32]) -> usize {
    index_rows_in(columns, index)
}

/// The loop of [`index_rows`]: branch-free, so that it vectorises.
#[inline(always)]
fn index_rows_in(columns: &Columns, index: &mut [u32]) -> usize {
    let Columns {
        keys: [k0, k1, k2],
        shifted: [t0, t1, t2],
        cell_of_code,
        label,
        score,
    } = *columns;
    let n = index.len();
    let (k0, k1, k2, label, score) = (&k0[..n], &k1[..n], &k2[..n], &label[..n], &score[..n]);
    let mut off_grid = 0;
    for i in 0..n {
        let code = t0[k0[i] as usize] | t1[k1[i] as usize] | t2[k2[i] as usize];
        let cell = cell_of_code[code as usize & 0xfff];
        let s = score[i];
        let k = (s * 1e4 + 0.5) as u32;
        let on_grid = k <= 10_000 && f64::from(k) / 1e4 == s;
        off_grid += usize::from(!on_grid);
        let at = (cell * SLOTS as u32 + k.min(10_000)) * 2 + u32::from(label[i] == 1);
        index[i] = if on_grid { at } else { u32::MAX };
    }
    off_grid
}

/// Histograms of two ranges added cell by cell.
fn merge(
    mut a: HashMap<Vec<String>, Vec<u32>>,
    b: HashMap<Vec<String>, Vec<u32>>,
) -> HashMap<Vec<String>, Vec<u32>> {
    for (key, counts) in b {
        let mine = a.entry(key).or_insert_with(|| vec![0; 2 * SLOTS]);
        mine.iter_mut().zip(counts).for_each(|(m, c)| *m += c);
    }
    a
}
