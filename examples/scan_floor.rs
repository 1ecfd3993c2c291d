//! The scan floor of issue 8: decode the columns an audit reads and sum them, nothing else.
//!
//! Reads `label`, `score` and the protected columns of a Parquet file (strings as dictionary
//! keys, never one string per row), row groups (cut into ranges when there are few) in
//! parallel on rayon's pool exactly as `fairaudit run` does, and sums them. A full audit is
//! compared with this time in `scripts/bench-peers` and BENCHMARKS.md.
//!
//! ```sh
//! cargo build --release --example scan_floor
//! target/release/examples/scan_floor FILE.parquet [label score attr1,attr2,...]
//! ```

use std::fs::File;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int32Type, Int64Type};
use arrow_array::{Array, ArrayRef};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder, RowSelection,
    RowSelector,
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
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(path) = args.first() else {
        eprintln!("usage: scan_floor FILE.parquet [LABEL SCORE ATTR,ATTR,...]");
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
    let ranges: Vec<(usize, usize, usize, usize)> = (0..groups)
        .flat_map(|g| {
            let rows = metadata.metadata().row_group(g).num_rows() as usize;
            let parts = (rows >> 17).clamp(1, per_group);
            (0..parts).map(move |p| (g, rows, rows * p / parts, rows * (p + 1) / parts))
        })
        .collect();
    let sums = ranges
        .into_par_iter()
        .map(|(g, rows, from, to)| {
            let file = File::open(path).expect("open");
            let mut builder =
                ParquetRecordBatchReaderBuilder::new_with_metadata(file, metadata.clone())
                    .with_projection(mask.clone())
                    .with_row_groups(vec![g])
                    .with_batch_size(64 * 1024);
            if to - from < rows {
                builder = builder.with_row_selection(RowSelection::from(vec![
                    RowSelector::skip(from),
                    RowSelector::select(to - from),
                    RowSelector::skip(rows - to),
                ]));
            }
            let reader = builder.build().expect("reader");
            let mut sums = Sums::default();
            for batch in reader {
                let batch = batch.expect("decode");
                let schema = batch.schema();
                let col = |name: &str| batch.column(schema.index_of(name).expect("column"));
                sums.rows += batch.num_rows() as u64;
                sums.label += number(col(label));
                sums.score += number(col(score));
                for a in &attrs {
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
