//! Parquet reader: decodes only the needed columns, row groups (or ranges of their rows) in
//! parallel.
//!
//! The rows are read in ranges, each of one row group (a file of few row groups has them cut
//! into several, read by row selection: [`CUT`]), each by its own rayon task, which opens its
//! own file handle (handles cloned with `File::try_clone` share one file position, so they
//! cannot be read from concurrently). The footer is parsed once and shared.
//!
//! Sequence numbers are `range_index << 32 | batch_index_within_range`, strictly increasing
//! in file order (a range would need more than 2³² batches to break this), and a stream is a
//! range. When rows of several ranges are invalid, the error of the earliest range wins, which
//! is the error with the smallest row number; ranges after a failed one stop early.
//!
//! Value rules are those of [`super::values`], applied to typed columns: labels and
//! predictions may be booleans, integers, floats or strings; scores and weights numbers or
//! strings; a null is a missing value, hence invalid. Protected columns are strings
//! (plain, or dictionary-encoded, which is never expanded to one string per row), or integers,
//! floats and booleans formatted as text; a null is the missing value `None`.

use std::collections::HashMap;
use std::fmt::{Display, Write as _};
use std::fs::File;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, Int8Type, UInt16Type, UInt32Type,
    UInt64Type, UInt8Type,
};
use arrow_array::{new_empty_array, Array, ArrowNativeTypeOp, ArrowPrimitiveType, RecordBatch};
use arrow_buffer::ArrowNativeType;
use arrow_schema::{DataType, Schema};
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder, RowSelection,
    RowSelector,
};
use parquet::arrow::ProjectionMask;
use parquet::file::metadata::ParquetMetaData;
use rayon::prelude::*;

use super::values::{self, Field, Invalid};
use super::{
    missing_column, Batch, Categorical, Columns, InvalidRows, Outcomes, PositionedSink, RowNumbers,
    Sink, Source, Task,
};
use crate::error::{Error, Result};

/// One conversion result per row.
type Values<T> = Vec<Result<T, Invalid>>;

/// The column names and up to `rows` values of each as text, for `fairaudit init`. Columns of
/// a type fairaudit cannot read as text have no values.
pub fn sample(source: &Source, rows: usize) -> Result<super::Sample> {
    let path = source.path.as_path();
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| schema(path, format!("not a readable Parquet file: {e}")))?
        .with_batch_size(rows.max(1))
        .build()
        .map_err(|e| schema(path, e.to_string()))?;
    let fields: Vec<String> = arrow_array::RecordBatchReader::schema(&reader)
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    match reader.into_iter().next() {
        Some(batch) => Ok(batch_as_text(
            &batch.map_err(|e| schema(path, e.to_string()))?,
        )),
        None => Ok(super::Sample {
            columns: fields.into_iter().map(|name| (name, Vec::new())).collect(),
        }),
    }
}

/// The columns `wanted` (by name; those the file lacks are left out) of the Parquet file
/// `source`, as record batches of `batch_rows` rows read on this thread, strings as
/// dictionaries where the reader can; with the names of all the file's columns (for
/// messages). For tables read row by row, such as a partials table.
pub fn record_batches<'a>(
    source: &'a Source,
    batch_rows: usize,
    wanted: &[String],
) -> Result<(Vec<String>, impl Iterator<Item = Result<RecordBatch>> + 'a)> {
    let path = source.path.as_path();
    let (file, metadata) = open(source)?;
    let names: Vec<String> = (metadata.schema().fields().iter())
        .map(|f| f.name().clone())
        .collect();
    let roots = (names.iter().enumerate()).filter(|(_, n)| wanted.contains(n));
    let mask = ProjectionMask::roots(metadata.parquet_schema(), roots.map(|(i, _)| i));
    let metadata = strings_as_dictionaries(metadata, |_| true);
    let reader = ParquetRecordBatchReaderBuilder::new_with_metadata(file, metadata)
        .with_projection(mask)
        .with_batch_size(batch_rows.max(1))
        .build()
        .map_err(|e| schema(path, format!("not a readable Parquet file: {e}")))?;
    let batches = reader.map(move |batch| batch.map_err(|e| schema(path, e.to_string())));
    Ok((names, batches))
}

/// The file of `source` and its footer.
fn open(source: &Source) -> Result<(File, ArrowReaderMetadata)> {
    let path = source.path.as_path();
    if source.is_stdin() {
        return Err(schema(path, "Parquet cannot be read from standard input"));
    }
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let metadata = ArrowReaderMetadata::load(&file, ArrowReaderOptions::new())
        .map_err(|e| schema(path, format!("not a readable Parquet file: {e}")))?;
    Ok((file, metadata))
}

/// Every column of an Arrow record batch as text (`None` = null; a column of a type that
/// cannot be read as text has no values).
fn batch_as_text(batch: &arrow_array::RecordBatch) -> super::Sample {
    let columns = (batch.schema().fields().iter().enumerate())
        .map(|(i, field)| {
            let values = categorical(batch.column(i).as_ref())
                .map(|c| {
                    c.codes
                        .iter()
                        .map(|&k| c.levels[k as usize].clone())
                        .collect()
                })
                .unwrap_or_default();
            (field.name().clone(), values)
        })
        .collect();
    super::Sample { columns }
}

/// Read a Parquet file, handing one batch per decoded record batch to `sink`.
///
/// The sink is called from several threads; see the module documentation for the sequence
/// numbers. A file without rows returns `Ok(0)` without calling `sink`. Returns the number of
/// data rows read, kept and skipped.
pub fn read(source: &Source, columns: &Columns, sink: &Sink<'_>) -> Result<u64> {
    read_streams(source, columns, sink, &|_| {})
}

/// [`read`], calling `end(i)` after the last batch of range `i` (the i-th stream: a row group,
/// or part of one, see [`CUT`]) went to `sink`.
pub fn read_streams(
    source: &Source,
    columns: &Columns,
    sink: &Sink<'_>,
    end: &(dyn Fn(u64) + Sync),
) -> Result<u64> {
    read_positioned(
        source,
        columns,
        super::DEFAULT_BATCH_ROWS,
        &|seq, batch, _| sink(seq, batch),
        end,
    )
}

/// [`read_streams`] with a chosen number of rows per decoded batch (0 is treated as 1),
/// handing each batch's [`RowNumbers`] on as well.
pub fn read_positioned(
    source: &Source,
    columns: &Columns,
    batch_rows: usize,
    sink: &PositionedSink<'_>,
    end: &(dyn Fn(u64) + Sync),
) -> Result<u64> {
    read_ranges(source, columns, batch_rows, CUT, sink, end)
}

/// [`read_positioned`] with the row groups cut into ranges by `cut` (tests choose small ones).
fn read_ranges(
    source: &Source,
    columns: &Columns,
    batch_rows: usize,
    cut: Cut,
    sink: &PositionedSink<'_>,
    end: &(dyn Fn(u64) + Sync),
) -> Result<u64> {
    let path = source.path.as_path();
    let (_, metadata) = open(source)?;
    let plan = Plan::new(path, columns, metadata.schema())?;
    let protected: Vec<usize> = plan.protected.iter().map(|c| plan.roots[c.index]).collect();
    let metadata = strings_as_dictionaries(metadata, |i| protected.contains(&i));
    let starts = row_group_starts(path, metadata.metadata())?;
    let ranges = ranges(&starts, cut);
    let job = Job {
        path,
        columns,
        mask: ProjectionMask::roots(metadata.parquet_schema(), plan.roots.iter().copied()),
        plan,
        metadata,
        batch_rows: batch_rows.clamp(1, u32::MAX as usize),
        first_failed: AtomicUsize::new(usize::MAX),
    };
    // Ranges are started in file order (one shared counter, one worker per thread), so a
    // consumer that merges them in order holds only about one per thread (issue 8).
    let next = AtomicUsize::new(0);
    let workers = rayon::current_num_threads().clamp(1, ranges.len().max(1));
    let mut results: Vec<(usize, Result<()>)> = (0..workers)
        .into_par_iter()
        .flat_map_iter(|_| {
            let mut done = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(range) = ranges.get(i) else {
                    break done;
                };
                let result = job.run_range(i, range, sink);
                if result.is_ok() {
                    end(i as u64);
                }
                done.push((i, result));
            }
        })
        .collect();
    // The first error in file order is the one with the smallest row.
    results.sort_by_key(|(i, _)| *i);
    results
        .into_iter()
        .map(|(_, r)| r)
        .collect::<Result<Vec<()>>>()?;
    Ok(starts[starts.len() - 1])
}

/// How a file's row groups are cut into ranges of rows, each read by one task (issue 8): a file
/// of fewer row groups than threads would leave threads idle (a 1M-row file is often one row
/// group). The cut depends on the file alone, never on the number of threads, so that the
/// streams, and thus the order in which sums are merged, are the same on every machine.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Cut {
    /// Ranges a file is cut into at least, when its row groups are large enough (at most
    /// ⌈min_ranges / row groups⌉ per row group).
    pub min_ranges: usize,
    /// Fewest rows of a range cut from a row group.
    pub min_rows: u64,
}

/// The cut of every read: up to ⌈8 / row groups⌉ ranges per row group, each of at least
/// 131,072 rows (so a file of 8 row groups or more is read a row group per task, as it is laid
/// out). Memory per stream in flight is bounded as before; a file of few row groups now has
/// as many streams in flight as a file of many (about one per thread).
pub(crate) const CUT: Cut = Cut {
    min_ranges: 8,
    min_rows: 1 << 17,
};

/// Rows of one row group that one task reads.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Range {
    /// The row group.
    group: usize,
    /// 0-based file row of the range's first row.
    first_row: u64,
    /// Rows of the row group before the range, and in it.
    skip: u64,
    rows: u64,
}

/// The ranges of the row groups starting at rows `starts` (the last entry: all rows): each
/// row group cut into `ceil(cut.min_ranges / groups)` equal ranges, fewer where a range would
/// have fewer than `cut.min_rows` rows, at least one (so an empty group is still read).
fn ranges(starts: &[u64], cut: Cut) -> Vec<Range> {
    let groups = starts.len().saturating_sub(1);
    let per_group = cut.min_ranges.div_ceil(groups.max(1)).max(1) as u64;
    (starts.windows(2).enumerate())
        .flat_map(|(group, w)| {
            let (first, rows) = (w[0], w[1] - w[0]);
            let parts = (rows / cut.min_rows.max(1)).clamp(1, per_group);
            // In u128: rows · parts cannot overflow.
            let bound = move |p: u64| (u128::from(rows) * u128::from(p) / u128::from(parts)) as u64;
            (0..parts).map(move |p| {
                let (from, to) = (bound(p), bound(p + 1));
                Range {
                    group,
                    first_row: first + from,
                    skip: from,
                    rows: to - from,
                }
            })
        })
        .collect()
}

/// Decode the plain string columns `wanted(i)` (by schema index) as dictionaries: Parquet
/// stores them dictionary-encoded, and asking for a dictionary keeps the keys instead of
/// building one string per row (issue 8). Returns `metadata` unchanged when the reader cannot
/// do so.
fn strings_as_dictionaries(
    metadata: ArrowReaderMetadata,
    wanted: impl Fn(usize) -> bool,
) -> ArrowReaderMetadata {
    let schema = metadata.schema();
    let mut changed = false;
    let fields: Vec<arrow_schema::FieldRef> = (schema.fields().iter().enumerate())
        .map(|(i, f)| match f.data_type() {
            DataType::Utf8 | DataType::LargeUtf8 if wanted(i) => {
                changed = true;
                let dict = DataType::Dictionary(
                    Box::new(DataType::Int32),
                    Box::new(f.data_type().clone()),
                );
                std::sync::Arc::new(f.as_ref().clone().with_data_type(dict))
            }
            _ => f.clone(),
        })
        .collect();
    if !changed {
        return metadata;
    }
    let hinted = Schema::new_with_metadata(fields, schema.metadata().clone());
    let options = ArrowReaderOptions::new().with_schema(std::sync::Arc::new(hinted));
    ArrowReaderMetadata::try_new(metadata.metadata().clone(), options).unwrap_or(metadata)
}

/// Shorthand for an [`Error::Schema`].
fn schema(path: &Path, msg: impl Into<String>) -> Error {
    Error::Schema {
        path: path.to_path_buf(),
        msg: msg.into(),
    }
}

/// The first row (0-based) of every row group, followed by the total row count.
fn row_group_starts(path: &Path, metadata: &ParquetMetaData) -> Result<Vec<u64>> {
    let mut starts = vec![0u64];
    let mut next = 0u64;
    for group in metadata.row_groups() {
        let rows = u64::try_from(group.num_rows())
            .map_err(|_| schema(path, "corrupt metadata: negative row count"))?;
        next = (next.checked_add(rows))
            .ok_or_else(|| schema(path, "corrupt metadata: too many rows"))?;
        starts.push(next);
    }
    Ok(starts)
}

/// A needed column: its name and its position among the decoded (projected) columns.
#[derive(Debug)]
struct Col {
    name: String,
    index: usize,
}

/// Which file columns to decode and where each role finds its column.
#[derive(Debug)]
struct Plan {
    /// Indices of the decoded columns in the file schema, ascending.
    roots: Vec<usize>,
    label: Col,
    prediction: Option<Col>,
    score: Option<Col>,
    weight: Option<Col>,
    protected: Vec<Col>,
    /// Multiclass: the score column of each class of [`Columns::class_scores`].
    class_scores: Vec<Col>,
}

/// What a column of some role may hold, for type checks and their messages.
#[derive(Clone, Copy)]
enum Role {
    Binary,
    Number,
    Protected,
}

impl Role {
    /// Whether a column of this type can be read in this role.
    fn accepts(self, data_type: &DataType) -> bool {
        let empty = new_empty_array(data_type);
        match self {
            Role::Binary => binary_values(empty.as_ref(), None).is_some(),
            Role::Number => {
                number_values(empty.as_ref(), values::parse_score, values::check_score).is_some()
            }
            Role::Protected => categorical(empty.as_ref()).is_some(),
        }
    }

    fn expected(self) -> &'static str {
        match self {
            Role::Binary => "a boolean, integer, float or string column",
            Role::Number => "an integer, float or string column",
            Role::Protected => "a string, integer, float or boolean column",
        }
    }
}

impl Plan {
    /// Find and type-check every needed column in the file schema.
    fn new(path: &Path, columns: &Columns, file_schema: &Schema) -> Result<Plan> {
        let names: Vec<String> = file_schema
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        let find = |name: &str, role: Role| -> Result<(String, usize)> {
            let mut hits = names.iter().enumerate().filter(|(_, n)| *n == name);
            let index = match (hits.next(), hits.count()) {
                (None, _) => return Err(missing_column(path, name, &names)),
                (Some((i, _)), 0) => i,
                (Some(_), more) => {
                    let msg = format!("column '{name}' appears {} times in the file", more + 1);
                    return Err(schema(path, msg));
                }
            };
            let data_type = file_schema.field(index).data_type();
            if !role.accepts(data_type) {
                let msg = format!(
                    "column '{name}' has type {data_type}; expected {}",
                    role.expected()
                );
                return Err(schema(path, msg));
            }
            Ok((name.to_string(), index))
        };
        let find_opt =
            |name: &Option<String>, role| name.as_deref().map(|n| find(n, role)).transpose();
        let outcome_role = match columns.task {
            Task::Binary => Role::Binary,
            Task::Multiclass => Role::Protected,
            Task::Regression => Role::Number,
        };
        let label = find(&columns.label, outcome_role)?;
        let prediction = find_opt(&columns.prediction, outcome_role)?;
        let score = find_opt(&columns.score, Role::Number)?;
        let weight = find_opt(&columns.weight, Role::Number)?;
        let protected = columns
            .protected
            .iter()
            .map(|n| find(n, Role::Protected))
            .collect::<Result<Vec<_>>>()?;
        let class_scores = (columns.class_scores.iter())
            .map(|(_, n)| find(n, Role::Number))
            .collect::<Result<Vec<_>>>()?;

        let mut roots: Vec<usize> = [&label]
            .into_iter()
            .chain(prediction.iter())
            .chain(score.iter())
            .chain(weight.iter())
            .chain(protected.iter())
            .chain(class_scores.iter())
            .map(|(_, i)| *i)
            .collect();
        roots.sort_unstable();
        roots.dedup();
        // Decoded columns come in file order, so a column's position is its rank in `roots`.
        let col = |(name, i): (String, usize)| Col {
            name,
            index: roots.partition_point(|&r| r < i),
        };
        Ok(Plan {
            label: col(label),
            prediction: prediction.map(col),
            score: score.map(col),
            weight: weight.map(col),
            protected: protected.into_iter().map(col).collect(),
            class_scores: class_scores.into_iter().map(col).collect(),
            roots,
        })
    }
}

/// Everything the range tasks share.
struct Job<'a> {
    path: &'a Path,
    columns: &'a Columns,
    plan: Plan,
    metadata: ArrowReaderMetadata,
    mask: ProjectionMask,
    batch_rows: usize,
    /// Index of the earliest range that failed so far (`usize::MAX`: none).
    first_failed: AtomicUsize,
}

impl Job<'_> {
    /// Read range `i` of the file, recording a failure.
    fn run_range(&self, i: usize, range: &Range, sink: &PositionedSink<'_>) -> Result<()> {
        let result = self.read_range(i, range, sink);
        if result.is_err() {
            self.first_failed.fetch_min(i, Ordering::SeqCst);
        }
        result
    }

    fn read_range(&self, i: usize, range: &Range, sink: &PositionedSink<'_>) -> Result<()> {
        let group = range.group;
        let corrupt = |e: &dyn Display| schema(self.path, format!("row group {group}: {e}"));
        // Its own handle: see the module documentation.
        let file = File::open(self.path).map_err(|e| Error::io(self.path, e))?;
        let group_rows = self.metadata.metadata().row_group(group).num_rows() as u64;
        let mut builder =
            ParquetRecordBatchReaderBuilder::new_with_metadata(file, self.metadata.clone())
                .with_projection(self.mask.clone())
                .with_row_groups(vec![group])
                .with_batch_size(self.batch_rows);
        if range.rows < group_rows {
            let count = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
            builder = builder.with_row_selection(RowSelection::from(vec![
                RowSelector::skip(count(range.skip)),
                RowSelector::select(count(range.rows)),
                RowSelector::skip(count(group_rows - range.skip - range.rows)),
            ]));
        }
        let reader = builder.build().map_err(|e| corrupt(&e))?;
        let mut first_row = range.first_row;
        for (b, record_batch) in reader.enumerate() {
            if self.first_failed.load(Ordering::SeqCst) < i {
                return Ok(()); // An earlier range failed; its error is reported.
            }
            let record_batch = record_batch.map_err(|e| corrupt(&e))?;
            let (batch, skipped) = self.convert(&record_batch, first_row)?;
            let numbers = RowNumbers {
                first: first_row + 1,
                skipped,
            };
            first_row += record_batch.num_rows() as u64;
            sink(((i as u64) << 32) | b as u64, batch, numbers)?;
        }
        Ok(())
    }

    /// Validate a decoded record batch whose first row is `first_row` (0-based); also the
    /// offsets of the rows skipped.
    fn convert(&self, record_batch: &RecordBatch, first_row: u64) -> Result<(Batch, Vec<u32>)> {
        if let Some(batch) = self.convert_whole(record_batch)? {
            return Ok((batch, Vec::new()));
        }
        let fields = Fields::new(self, record_batch)?;
        let n = record_batch.num_rows();
        let mut batch = Batch {
            label: Vec::with_capacity(n),
            prediction: Vec::with_capacity(n),
            score: fields.score.as_ref().map(|_| Vec::with_capacity(n)),
            weight: fields.weight.as_ref().map(|_| Vec::with_capacity(n)),
            ..Batch::default()
        };
        let mut keep = Vec::with_capacity(n);
        let (mut label_values, mut prediction_values) = (Vec::new(), Vec::new());
        let mut scores: Vec<Vec<f64>> = vec![Vec::new(); fields.class_scores.len()];
        for i in 0..n {
            match fields.row(i, self.columns.threshold) {
                Ok(row) => {
                    row.push_to(&mut batch);
                    keep.push(true);
                    if let FieldOutcome::Values(l, p) = &fields.outcome {
                        label_values.push(l[i].clone().unwrap_or(f64::NAN));
                        prediction_values.push(p[i].clone().unwrap_or(f64::NAN));
                    }
                    for (v, s) in scores.iter_mut().zip(&fields.class_scores) {
                        v.push(s[i].clone().unwrap_or(f64::NAN));
                    }
                }
                Err((field, Invalid(msg))) => {
                    let row = first_row + i as u64 + 1;
                    self.reject(field, msg, row, &mut batch)?;
                    keep.push(false);
                }
            }
        }
        batch.protected = self
            .plan
            .protected
            .iter()
            .map(|c| self.protected(c, record_batch, &keep))
            .collect::<Result<_>>()?;
        batch.outcomes = match fields.outcome {
            FieldOutcome::Binary => None,
            FieldOutcome::Classes(label, prediction) => Some(Outcomes::Classes {
                label: kept_classes(label, &keep),
                prediction: kept_classes(prediction, &keep),
                scores,
            }),
            FieldOutcome::Values(..) => Some(Outcomes::Values {
                label: label_values,
                prediction: prediction_values,
            }),
        };
        let skipped = (keep.iter().enumerate())
            .filter(|(_, &k)| !k)
            .map(|(i, _)| i as u32)
            .collect();
        Ok((batch, skipped))
    }

    /// [`convert`](Self::convert) of the common shape, a column at a time instead of row by
    /// row (issue 8): a binary task without weights, class scores or `--positive-label`, a
    /// label (and prediction) of 0/1 integers or booleans and a float64 score, none null.
    /// `None` when the batch has another shape or any invalid value: the row-by-row path then
    /// names the row, or skips it.
    fn convert_whole(&self, record_batch: &RecordBatch) -> Result<Option<Batch>> {
        let (plan, columns) = (&self.plan, self.columns);
        if columns.task != Task::Binary
            || columns.positive_label.is_some()
            || plan.weight.is_some()
            || !plan.class_scores.is_empty()
        {
            return Ok(None);
        }
        let Some(label) = valid_binary(self.column(record_batch, &plan.label)?) else {
            return Ok(None);
        };
        let prediction = match &plan.prediction {
            Some(col) => match valid_binary(self.column(record_batch, col)?) {
                Some(p) => Some(p),
                None => return Ok(None),
            },
            None => None,
        };
        let score = match &plan.score {
            Some(col) => match valid_scores(self.column(record_batch, col)?) {
                Some(s) => Some(s),
                None => return Ok(None),
            },
            None => None,
        };
        let prediction = match (prediction, &score) {
            (Some(p), _) => p,
            (None, Some(s)) => (s.iter())
                .map(|&s| values::decision(None, Some(s), columns.threshold))
                .collect(),
            (None, None) => return Ok(None),
        };
        let protected = (plan.protected.iter())
            .map(|c| self.protected(c, record_batch, &[]))
            .collect::<Result<_>>()?;
        Ok(Some(Batch {
            label,
            prediction,
            score,
            protected,
            ..Batch::default()
        }))
    }

    /// An invalid row: an error, or a count under its reason.
    fn reject(&self, field: Field, msg: String, row: u64, batch: &mut Batch) -> Result<()> {
        match self.columns.invalid_rows {
            InvalidRows::Error => Err(Error::Input {
                path: self.path.to_path_buf(),
                row,
                column: self.column_name(field).to_string(),
                msg,
            }),
            InvalidRows::Skip => {
                *batch
                    .skipped
                    .entry(field.skip_reason().to_string())
                    .or_insert(0) += 1;
                Ok(())
            }
        }
    }

    fn column_name(&self, field: Field) -> &str {
        let col = match field {
            Field::Label => Some(&self.plan.label),
            Field::Prediction => self.plan.prediction.as_ref(),
            Field::Score => self.plan.score.as_ref(),
            Field::Weight => self.plan.weight.as_ref(),
            Field::ClassScore(k) => self.plan.class_scores.get(usize::from(k)),
        };
        col.map_or("", |c| &c.name)
    }

    /// A decoded column.
    fn column<'b>(&self, record_batch: &'b RecordBatch, col: &Col) -> Result<&'b dyn Array> {
        record_batch
            .columns()
            .get(col.index)
            .map(|a| a.as_ref())
            .ok_or_else(|| schema(self.path, format!("column '{}' was not decoded", col.name)))
    }

    /// An error for a column whose decoded type cannot be read.
    fn unsupported(&self, col: &Col, array: &dyn Array) -> Error {
        let msg = format!(
            "column '{}' has unsupported type {}",
            col.name,
            array.data_type()
        );
        schema(self.path, msg)
    }

    /// The protected column `col` as a categorical of the kept rows.
    fn protected(
        &self,
        col: &Col,
        record_batch: &RecordBatch,
        keep: &[bool],
    ) -> Result<Categorical> {
        let array = self.column(record_batch, col)?;
        let mut categorical = categorical(array).ok_or_else(|| self.unsupported(col, array))?;
        if keep.contains(&false) {
            categorical.codes = categorical
                .codes
                .iter()
                .zip(keep)
                .filter(|(_, &k)| k)
                .map(|(&c, _)| c)
                .collect();
        }
        Ok(categorical)
    }
}

/// A categorical of the kept rows with trimmed class texts (as the CSV reader reads them).
fn kept_classes(mut c: Categorical, keep: &[bool]) -> Categorical {
    if keep.contains(&false) {
        c.codes = (c.codes.iter().zip(keep))
            .filter(|(_, &k)| k)
            .map(|(&code, _)| code)
            .collect();
    }
    for level in c.levels.iter_mut().flatten() {
        if level.trim().len() != level.len() {
            *level = level.trim().to_string();
        }
    }
    c
}

/// Label, prediction, score and weight of one record batch, converted row by row.
struct Fields {
    /// Binary values; for multiclass and regression, only their validity (values `false`).
    label: Values<bool>,
    prediction: Option<Values<bool>>,
    score: Option<Values<f64>>,
    weight: Option<Values<f64>>,
    outcome: FieldOutcome,
    /// Multiclass: the score of each class of [`Columns::class_scores`].
    class_scores: Vec<Values<f64>>,
}

/// The non-binary label and prediction of a record batch (issue 11).
enum FieldOutcome {
    Binary,
    Classes(Categorical, Categorical),
    Values(Values<f64>, Values<f64>),
}

/// Per row: the class text is valid (non-empty) and, with `favorable` classes, whether it is
/// one of them; `false` without favorable classes.
fn class_values(c: &Categorical, favorable: &[String]) -> Values<bool> {
    let per_level: Vec<Result<bool, Invalid>> = (c.levels.iter())
        .map(|level| {
            let t = values::parse_class(level.as_deref().unwrap_or_default())?;
            Ok(favorable.iter().any(|f| f == t))
        })
        .collect();
    c.codes
        .iter()
        .map(|&k| per_level[k as usize].clone())
        .collect()
}

fn validity(v: &Values<f64>) -> Values<bool> {
    v.iter().map(|r| r.clone().map(|_| false)).collect()
}

/// The validated values of one row.
struct Row {
    label: bool,
    decision: bool,
    score: Option<f64>,
    weight: Option<f64>,
}

impl Row {
    fn push_to(self, batch: &mut Batch) {
        batch.label.push(self.label);
        batch.prediction.push(self.decision);
        if let (Some(v), Some(s)) = (batch.score.as_mut(), self.score) {
            v.push(s);
        }
        if let (Some(v), Some(w)) = (batch.weight.as_mut(), self.weight) {
            v.push(w);
        }
    }
}

impl Fields {
    fn new(job: &Job<'_>, record_batch: &RecordBatch) -> Result<Fields> {
        let positive = job.columns.positive_label.as_deref();
        let binary = |col: &Col| -> Result<Values<bool>> {
            let array = job.column(record_batch, col)?;
            binary_values(array, positive).ok_or_else(|| job.unsupported(col, array))
        };
        let number = |col: &Col, parse, check| -> Result<Values<f64>> {
            let array = job.column(record_batch, col)?;
            number_values(array, parse, check).ok_or_else(|| job.unsupported(col, array))
        };
        let plan = &job.plan;
        let classes = |col: &Col| -> Result<Categorical> {
            let array = job.column(record_batch, col)?;
            categorical(array).ok_or_else(|| job.unsupported(col, array))
        };
        let favorable = &job.columns.favorable;
        let (label, prediction, outcome) = match job.columns.task {
            Task::Binary => (
                binary(&plan.label)?,
                plan.prediction.as_ref().map(binary).transpose()?,
                FieldOutcome::Binary,
            ),
            Task::Multiclass => {
                let l = classes(&plan.label)?;
                let p = plan.prediction.as_ref().map(classes).transpose()?;
                let (lv, pv) = (
                    class_values(&l, favorable),
                    p.as_ref().map(|p| class_values(p, favorable)),
                );
                match (favorable.is_empty(), p) {
                    (true, Some(p)) => (lv, pv, FieldOutcome::Classes(l, p)),
                    _ => (lv, pv, FieldOutcome::Binary),
                }
            }
            Task::Regression => {
                let l = number(&plan.label, values::parse_number, values::check_number)?;
                let p = (plan.prediction.as_ref())
                    .map(|c| number(c, values::parse_number, values::check_number))
                    .transpose()?
                    .unwrap_or_default();
                let (lv, pv) = (validity(&l), Some(validity(&p)));
                (lv, pv, FieldOutcome::Values(l, p))
            }
        };
        let class_scores = (plan.class_scores.iter())
            .map(|c| number(c, values::parse_score, values::check_score))
            .collect::<Result<Vec<_>>>()?;
        let score = if job.columns.sums_class_scores() {
            Some(summed_scores(&class_scores, label.len()))
        } else {
            (plan.score.as_ref())
                .map(|c| number(c, values::parse_score, values::check_score))
                .transpose()?
        };
        Ok(Fields {
            label,
            prediction,
            outcome,
            class_scores,
            score,
            weight: (plan.weight.as_ref())
                .map(|c| number(c, values::parse_weight, values::check_weight))
                .transpose()?,
        })
    }

    /// Row `i`, or the first invalid field in the order label, prediction, score, weight.
    fn row(&self, i: usize, threshold: f64) -> Result<Row, (Field, Invalid)> {
        let label = pick(&self.label, i, Field::Label)?;
        let prediction = (self.prediction.as_ref())
            .map(|v| pick(v, i, Field::Prediction))
            .transpose()?;
        // With class score columns, a score is the favorable classes' sum, checked after them
        // (as the CSV reader does) and reported at the last of their columns.
        let summed = !self.class_scores.is_empty();
        let score = (self.score.as_ref().filter(|_| !summed))
            .map(|v| pick(v, i, Field::Score))
            .transpose()?;
        let weight = (self.weight.as_ref())
            .map(|v| pick(v, i, Field::Weight))
            .transpose()?;
        for (k, v) in self.class_scores.iter().enumerate() {
            pick(v, i, Field::ClassScore(k as u16))?;
        }
        let last = Field::ClassScore(self.class_scores.len().saturating_sub(1) as u16);
        let score = match (summed, self.score.as_ref()) {
            (true, Some(v)) => Some(pick(v, i, last)?),
            _ => score,
        };
        Ok(Row {
            label,
            decision: values::decision(prediction, score, threshold),
            score,
            weight,
        })
    }
}

/// Per row, the sum of the favorable classes' scores ([`values::favorable_score`]); a row
/// with an invalid class score keeps that error.
fn summed_scores(class_scores: &[Values<f64>], rows: usize) -> Values<f64> {
    (0..rows)
        .map(|i| {
            let scores = (class_scores.iter())
                .map(|v| v.get(i).cloned().unwrap_or(Err(Invalid("missing".into()))))
                .collect::<Result<Vec<f64>, Invalid>>()?;
            values::favorable_score(&scores)
        })
        .collect()
}

/// Value `i` of a converted column.
fn pick<T: Copy>(
    values: &[Result<T, Invalid>],
    i: usize,
    field: Field,
) -> Result<T, (Field, Invalid)> {
    match values.get(i) {
        Some(Ok(v)) => Ok(*v),
        Some(Err(e)) => Err((field, e.clone())),
        None => Err((
            field,
            Invalid("value missing from the decoded batch".into()),
        )),
    }
}

/// `$f::<K>(args…)` with `K` the Arrow integer type of `$data_type` (also a dictionary's
/// key types); `None` for any other type.
macro_rules! with_integer_type {
    ($data_type:expr, $f:ident($($arg:expr),*)) => {
        match $data_type {
            DataType::Int8 => $f::<Int8Type>($($arg),*),
            DataType::Int16 => $f::<Int16Type>($($arg),*),
            DataType::Int32 => $f::<Int32Type>($($arg),*),
            DataType::Int64 => $f::<Int64Type>($($arg),*),
            DataType::UInt8 => $f::<UInt8Type>($($arg),*),
            DataType::UInt16 => $f::<UInt16Type>($($arg),*),
            DataType::UInt32 => $f::<UInt32Type>($($arg),*),
            DataType::UInt64 => $f::<UInt64Type>($($arg),*),
            _ => None,
        }
    };
}

/// A label or prediction column of 0/1 integers or booleans without nulls, as booleans;
/// `None` for any other type, a null, or another value.
fn valid_binary(array: &dyn Array) -> Option<Vec<bool>> {
    /// Converted and checked in one pass without early exit, which vectorises (issue 8; a
    /// match and push per value took 6% of an audit).
    fn ints<P: ArrowPrimitiveType>(array: &dyn Array) -> Option<Vec<bool>> {
        let values = array.as_primitive_opt::<P>()?.values();
        let (zero, one) = (P::Native::ZERO, P::Native::ONE);
        let mut binary = true;
        let converted = (values.iter())
            .map(|&v| {
                binary &= (v == zero) | (v == one);
                v == one
            })
            .collect();
        binary.then_some(converted)
    }
    if array.null_count() > 0 {
        return None;
    }
    match array.data_type() {
        DataType::Boolean => Some(array.as_boolean_opt()?.values().iter().collect()),
        integer => with_integer_type!(integer, ints(array)),
    }
}

/// A float64 score column without nulls, every value in [0, 1] (as [`values::check_score`]
/// accepts); `None` otherwise.
fn valid_scores(array: &dyn Array) -> Option<Vec<f64>> {
    let values = array.as_primitive_opt::<Float64Type>()?;
    if values.null_count() > 0 {
        return None;
    }
    // Copied and checked in one pass without early exit (issue 8).
    let mut valid = true;
    let copied = (values.values().iter())
        .map(|&s| {
            valid &= (0.0..=1.0).contains(&s);
            s
        })
        .collect();
    valid.then_some(copied)
}

/// Labels or predictions of any supported type; `None` for an unsupported type.
///
/// A null is treated like an empty text value (missing, hence invalid).
fn binary_values(array: &dyn Array, positive: Option<&str>) -> Option<Values<bool>> {
    let null = values::parse_binary("", positive);
    let int = |v: i64| values::binary_from_i64(v, positive);
    let float = |v: f64| values::binary_from_f64(v, positive);
    Some(match array.data_type() {
        DataType::Boolean => (array.as_boolean_opt()?.iter())
            .map(|v| match v {
                Some(b) => values::parse_binary(if b { "true" } else { "false" }, positive),
                None => null.clone(),
            })
            .collect(),
        DataType::Int8 => primitive::<Int8Type, _>(array, &null, |v| int(v.into()))?,
        DataType::Int16 => primitive::<Int16Type, _>(array, &null, |v| int(v.into()))?,
        DataType::Int32 => primitive::<Int32Type, _>(array, &null, |v| int(v.into()))?,
        DataType::Int64 => primitive::<Int64Type, _>(array, &null, int)?,
        DataType::UInt8 => primitive::<UInt8Type, _>(array, &null, |v| int(v.into()))?,
        DataType::UInt16 => primitive::<UInt16Type, _>(array, &null, |v| int(v.into()))?,
        DataType::UInt32 => primitive::<UInt32Type, _>(array, &null, |v| int(v.into()))?,
        DataType::UInt64 => primitive::<UInt64Type, _>(array, &null, |v| match i64::try_from(v) {
            Ok(v) => int(v),
            Err(_) => values::parse_binary(&v.to_string(), positive),
        })?,
        DataType::Float32 => primitive::<Float32Type, _>(array, &null, |v| float(widen(v)))?,
        DataType::Float64 => primitive::<Float64Type, _>(array, &null, float)?,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => strings(array)?
            .map(|v| v.map_or_else(|| null.clone(), |s| values::parse_binary(s, positive)))
            .collect(),
        DataType::Dictionary(_, _) => {
            via_dictionary(array, &null, |values| binary_values(values, positive))?
        }
        _ => return None,
    })
}

/// Scores or weights (`parse` for text, `check` for numbers); `None` for an unsupported type.
///
/// A null is treated like an empty text value (missing, hence invalid).
fn number_values(
    array: &dyn Array,
    parse: fn(&str) -> Result<f64, Invalid>,
    check: fn(f64) -> Result<f64, Invalid>,
) -> Option<Values<f64>> {
    let null = parse("");
    Some(match array.data_type() {
        DataType::Float32 => primitive::<Float32Type, _>(array, &null, |v| check(widen(v)))?,
        DataType::Float64 => primitive::<Float64Type, _>(array, &null, check)?,
        DataType::Int8 => primitive::<Int8Type, _>(array, &null, |v| check(v.into()))?,
        DataType::Int16 => primitive::<Int16Type, _>(array, &null, |v| check(v.into()))?,
        DataType::Int32 => primitive::<Int32Type, _>(array, &null, |v| check(v.into()))?,
        DataType::Int64 => primitive::<Int64Type, _>(array, &null, |v| check(v as f64))?,
        DataType::UInt8 => primitive::<UInt8Type, _>(array, &null, |v| check(v.into()))?,
        DataType::UInt16 => primitive::<UInt16Type, _>(array, &null, |v| check(v.into()))?,
        DataType::UInt32 => primitive::<UInt32Type, _>(array, &null, |v| check(v.into()))?,
        DataType::UInt64 => primitive::<UInt64Type, _>(array, &null, |v| check(v as f64))?,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => strings(array)?
            .map(|v| v.map_or_else(|| null.clone(), parse))
            .collect(),
        DataType::Dictionary(_, _) => {
            via_dictionary(array, &null, |values| number_values(values, parse, check))?
        }
        _ => return None,
    })
}

/// A float32 as the f64 of its shortest decimal form, so that `0.7f32` means 0.7 exactly as
/// the text "0.7" does in CSV (widening directly would give 0.699999988…).
fn widen(v: f32) -> f64 {
    v.to_string().parse().unwrap_or(f64::from(v))
}

/// Convert a primitive column value by value; nulls become `null`.
fn primitive<P: ArrowPrimitiveType, T: Clone>(
    array: &dyn Array,
    null: &Result<T, Invalid>,
    f: impl Fn(P::Native) -> Result<T, Invalid>,
) -> Option<Values<T>> {
    let array = array.as_primitive_opt::<P>()?;
    Some(
        array
            .iter()
            .map(|v| v.map_or_else(|| null.clone(), &f))
            .collect(),
    )
}

/// Convert a dictionary column by converting its (few) values once and mapping the keys.
fn via_dictionary<T: Clone>(
    array: &dyn Array,
    null: &Result<T, Invalid>,
    convert: impl Fn(&dyn Array) -> Option<Values<T>>,
) -> Option<Values<T>> {
    let dict = array.as_any_dictionary_opt()?;
    let per_value = convert(dict.values().as_ref())?;
    let keys = dictionary_keys(dict.keys())?;
    Some(
        keys.into_iter()
            .map(|k| k.and_then(|k| per_value.get(k)).unwrap_or(null).clone())
            .collect(),
    )
}

/// The keys of a dictionary as indices; `None` for a null (or negative) key.
fn dictionary_keys(keys: &dyn Array) -> Option<Vec<Option<usize>>> {
    fn of<K: ArrowPrimitiveType>(keys: &dyn Array) -> Option<Vec<Option<usize>>>
    where
        K::Native: TryInto<usize>,
    {
        let keys = keys.as_primitive_opt::<K>()?;
        Some(
            keys.iter()
                .map(|k| k.and_then(|k| k.try_into().ok()))
                .collect(),
        )
    }
    with_integer_type!(keys.data_type(), of(keys))
}

/// The values of a string column (`Utf8`, `LargeUtf8`, `Utf8View`), nulls as `None`.
fn strings(array: &dyn Array) -> Option<Box<dyn Iterator<Item = Option<&str>> + '_>> {
    match array.data_type() {
        DataType::Utf8 => Some(Box::new(array.as_string_opt::<i32>()?.iter())),
        DataType::LargeUtf8 => Some(Box::new(array.as_string_opt::<i64>()?.iter())),
        DataType::Utf8View => Some(Box::new(array.as_string_view_opt()?.iter())),
        _ => None,
    }
}

/// A protected column as a categorical of all its rows; `None` for an unsupported type.
pub(crate) fn categorical(array: &dyn Array) -> Option<Categorical> {
    if let Some(dict) = array.as_any_dictionary_opt() {
        return dictionary_categorical(dict);
    }
    if let Some(values) = strings(array) {
        let mut interner = Interner::default();
        values.for_each(|v| interner.push(v));
        return Some(interner.categorical);
    }
    match array.data_type() {
        DataType::Boolean => Some(formatted(array.as_boolean_opt()?.iter())),
        DataType::Int8 => formatted_primitive::<Int8Type>(array),
        DataType::Int16 => formatted_primitive::<Int16Type>(array),
        DataType::Int32 => formatted_primitive::<Int32Type>(array),
        DataType::Int64 => formatted_primitive::<Int64Type>(array),
        DataType::UInt8 => formatted_primitive::<UInt8Type>(array),
        DataType::UInt16 => formatted_primitive::<UInt16Type>(array),
        DataType::UInt32 => formatted_primitive::<UInt32Type>(array),
        DataType::UInt64 => formatted_primitive::<UInt64Type>(array),
        DataType::Float32 => formatted_primitive::<Float32Type>(array),
        DataType::Float64 => formatted_primitive::<Float64Type>(array),
        _ => None,
    }
}

/// A dictionary column as a categorical without one string per row: the dictionary values
/// become the levels (via their own categorical, which merges repeated values) and each key
/// becomes the code of its value; null keys get one extra `None` level.
fn dictionary_categorical(dict: &dyn arrow_array::AnyDictionaryArray) -> Option<Categorical> {
    let Categorical {
        mut levels,
        codes: value_codes,
    } = categorical(dict.values().as_ref())?;
    if let Some(codes) = valid_dictionary_codes(dict.keys(), &value_codes) {
        return Some(Categorical { levels, codes });
    }
    let keys = dictionary_keys(dict.keys())?;
    let mut missing = levels.iter().position(Option::is_none).map(|p| p as u32);
    let mut codes = Vec::with_capacity(keys.len());
    for key in keys {
        let code = match key.and_then(|k| value_codes.get(k)) {
            Some(&code) => code,
            None => *missing.get_or_insert_with(|| {
                levels.push(None);
                (levels.len() - 1) as u32
            }),
        };
        codes.push(code);
    }
    Some(Categorical { levels, codes })
}

/// The codes of dictionary keys without nulls, each a valid index into the dictionary
/// (whose values have codes `value_codes`); `None` otherwise (issue 8: no `Option` per row).
fn valid_dictionary_codes(keys: &dyn Array, value_codes: &[u32]) -> Option<Vec<u32>> {
    /// Checked by the largest key first (a negative key becomes a huge number), so that no
    /// loop has a failure path and each is tight (issue 8): keys of up to 32 bits are compared
    /// as `u32`, in a loop the compiler vectorises (a negative key is then at least 2³¹, past
    /// any dictionary). When every dictionary value is its own level, in order (the usual
    /// dictionary), the codes are the keys themselves, copied; otherwise they are looked up.
    fn of<K: ArrowPrimitiveType>(keys: &dyn Array, value_codes: &[u32]) -> Option<Vec<u32>> {
        let keys = keys.as_primitive_opt::<K>()?.values();
        let largest = if std::mem::size_of::<K::Native>() <= 4 {
            (keys.iter()).fold(0, |m: u32, k| m.max(k.as_usize() as u32)) as usize
        } else {
            (keys.iter()).fold(0, |m: usize, k| m.max(k.as_usize()))
        };
        if !keys.is_empty() && largest >= value_codes.len() {
            return None;
        }
        let identity = (value_codes.iter().enumerate()).all(|(i, &code)| code as usize == i);
        Some(match identity {
            true => keys.iter().map(|k| k.as_usize() as u32).collect(),
            false => keys.iter().map(|k| value_codes[k.as_usize()]).collect(),
        })
    }
    if keys.null_count() > 0 {
        return None;
    }
    with_integer_type!(keys.data_type(), of(keys, value_codes))
}

/// A primitive column formatted as text.
fn formatted_primitive<P: ArrowPrimitiveType>(array: &dyn Array) -> Option<Categorical>
where
    P::Native: Display,
{
    Some(formatted(array.as_primitive_opt::<P>()?.iter()))
}

/// Values formatted as text (`true`, `42`, `0.5`), nulls as `None`.
fn formatted<T: Display>(values: impl Iterator<Item = Option<T>>) -> Categorical {
    let mut interner = Interner::default();
    let mut text = String::new();
    for value in values {
        match value {
            Some(v) => {
                text.clear();
                let _ = write!(text, "{v}"); // Writing to a String cannot fail.
                interner.push(Some(&text));
            }
            None => interner.push(None),
        }
    }
    interner.categorical
}

/// Builds a categorical from text values, levels in first-seen order.
#[derive(Default)]
struct Interner {
    codes: HashMap<String, u32>,
    missing: Option<u32>,
    categorical: Categorical,
}

impl Interner {
    /// Append the code of `value` (`None`: missing).
    fn push(&mut self, value: Option<&str>) {
        let code = match value {
            Some(v) => match self.codes.get(v) {
                Some(&code) => code,
                None => {
                    let code = self.add_level(Some(v.to_string()));
                    self.codes.insert(v.to_string(), code);
                    code
                }
            },
            None => match self.missing {
                Some(code) => code,
                None => {
                    let code = self.add_level(None);
                    self.missing = Some(code);
                    code
                }
            },
        };
        self.categorical.codes.push(code);
    }

    /// Levels never outnumber the rows of a batch, which are capped at `u32::MAX`.
    fn add_level(&mut self, level: Option<String>) -> u32 {
        self.categorical.levels.push(level);
        (self.categorical.levels.len() - 1) as u32
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::{Arc, Mutex};

    use arrow_array::{
        ArrayRef, BooleanArray, Date32Array, DictionaryArray, Float32Array, Float64Array,
        Int32Array, Int64Array, Int8Array, StringArray, StringViewArray, UInt32Array,
    };
    use parquet::arrow::ArrowWriter;
    use parquet::file::properties::WriterProperties;

    use super::*;
    use crate::input::test_util::{collect, columns};

    #[test]
    fn dictionary_codes_check_every_key_against_the_dictionary() {
        let identity = [0, 1, 2];
        let codes = valid_dictionary_codes;
        assert_eq!(
            codes(&Int32Array::from(vec![2, 0, 1, 1]), &identity),
            Some(vec![2, 0, 1, 1])
        );
        assert_eq!(
            codes(&Int8Array::from(vec![2, 0]), &[1, 0, 0]),
            Some(vec![0, 1])
        );
        assert_eq!(
            codes(&Int32Array::from(Vec::<i32>::new()), &identity),
            Some(vec![])
        );
        // Negative, past the end, and past the end only in the high bits of a 64-bit key.
        assert_eq!(codes(&Int32Array::from(vec![0, -1]), &identity), None);
        assert_eq!(codes(&Int32Array::from(vec![i32::MIN]), &identity), None);
        assert_eq!(codes(&Int8Array::from(vec![1, -1]), &identity), None);
        assert_eq!(codes(&Int64Array::from(vec![-1]), &identity), None);
        assert_eq!(codes(&Int8Array::from(vec![3]), &identity), None);
        assert_eq!(codes(&UInt32Array::from(vec![1 << 31]), &identity), None);
        assert_eq!(
            codes(&Int64Array::from(vec![1, (1 << 32) + 1]), &identity),
            None
        );
        assert_eq!(
            codes(&Int32Array::from(vec![Some(0), None]), &identity),
            None
        );
    }

    /// Write `columns` as a Parquet file with row groups of `group_rows` rows.
    fn write(dir: &tempfile::TempDir, columns: Vec<(&str, ArrayRef)>, group_rows: usize) -> Source {
        let path = dir.path().join("t.parquet");
        let batch = RecordBatch::try_from_iter(columns).expect("record batch");
        let props = WriterProperties::builder()
            .set_max_row_group_row_count(Some(group_rows))
            .build();
        let file = File::create(&path).expect("create");
        let mut writer = ArrowWriter::try_new(file, batch.schema(), Some(props)).expect("writer");
        writer.write(&batch).expect("write");
        writer.close().expect("close");
        Source::from_path(path, b',')
    }

    /// label Int8, score Float32, prediction Boolean, race Dictionary(Int32, Utf8),
    /// sex nullable Utf8, age Int32, in row groups of 2 rows (3 groups).
    fn sample(dir: &tempfile::TempDir, labels: Vec<Option<i8>>) -> Source {
        let race: DictionaryArray<Int32Type> =
            vec![Some("A"), Some("B"), None, Some("A"), Some("C")]
                .into_iter()
                .collect();
        write(
            dir,
            vec![
                ("label", Arc::new(Int8Array::from(labels)) as ArrayRef),
                (
                    "score",
                    Arc::new(Float32Array::from(vec![0.7, 0.2, 0.5, 0.1, 0.9])),
                ),
                (
                    "prediction",
                    Arc::new(BooleanArray::from(vec![true, false, true, false, true])),
                ),
                ("race", Arc::new(race)),
                (
                    "sex",
                    Arc::new(StringArray::from(vec![
                        Some("M"),
                        None,
                        Some("F"),
                        Some("F"),
                        Some(""),
                    ])),
                ),
                ("age", Arc::new(Int32Array::from(vec![30, 40, 30, 50, 60]))),
            ],
            2,
        )
    }

    /// Read everything with `batch_rows` rows per decoded batch; batches in sequence order.
    fn read_all(
        src: &Source,
        cols: &Columns,
        batch_rows: usize,
    ) -> Result<(Vec<(u64, Batch)>, u64)> {
        collect(|sink| read_positioned(src, cols, batch_rows, &|seq, b, _| sink(seq, b), &|_| {}))
    }

    /// The values of a categorical, row by row.
    fn decode(c: &Categorical) -> Vec<Option<String>> {
        c.codes
            .iter()
            .map(|&k| c.levels[k as usize].clone())
            .collect()
    }

    /// Concatenated values of protected column `k` over all batches.
    fn protected(batches: &[(u64, Batch)], k: usize) -> Vec<Option<String>> {
        batches
            .iter()
            .flat_map(|(_, b)| decode(&b.protected[k]))
            .collect()
    }

    #[test]
    fn reads_row_groups_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let src = sample(&dir, vec![Some(1), Some(0), Some(1), Some(0), Some(1)]);
        // The dictionary column really comes back dictionary-encoded.
        let meta =
            ArrowReaderMetadata::load(&File::open(&src.path).unwrap(), Default::default()).unwrap();
        assert!(matches!(
            meta.schema().field(3).data_type(),
            DataType::Dictionary(_, _)
        ));

        let (batches, rows) = read_all(&src, &columns(&["race", "sex", "age"]), 1024).unwrap();
        assert_eq!(rows, 5);
        // One batch per row group: seq = group << 32.
        let seqs: Vec<u64> = batches.iter().map(|(s, _)| *s).collect();
        assert_eq!(seqs, vec![0, 1 << 32, 2 << 32]);
        let labels: Vec<bool> = batches.iter().flat_map(|(_, b)| b.label.clone()).collect();
        assert_eq!(labels, vec![true, false, true, false, true]);
        // float32 scores widened through their decimal form: 0.7f32 is 0.7.
        let scores: Vec<f64> = batches
            .iter()
            .flat_map(|(_, b)| b.score.clone().unwrap())
            .collect();
        assert_eq!(scores, vec![0.7, 0.2, 0.5, 0.1, 0.9]);
        let s = |v: &str| Some(v.to_string());
        assert_eq!(
            protected(&batches, 0),
            vec![s("A"), s("B"), None, s("A"), s("C")]
        );
        // A null is None; an empty string is a value.
        assert_eq!(
            protected(&batches, 1),
            vec![s("M"), None, s("F"), s("F"), s("")]
        );
        // Integers are formatted as text.
        assert_eq!(
            protected(&batches, 2),
            vec![s("30"), s("40"), s("30"), s("50"), s("60")]
        );
    }

    #[test]
    fn several_batches_per_row_group() {
        let dir = tempfile::tempdir().unwrap();
        let src = sample(&dir, vec![Some(1), Some(0), Some(1), Some(0), Some(1)]);
        let (batches, _) = read_all(&src, &columns(&[]), 1).unwrap();
        let seqs: Vec<u64> = batches.iter().map(|(s, _)| *s).collect();
        assert_eq!(seqs, vec![0, 1, 1 << 32, (1 << 32) + 1, 2 << 32]);
    }

    #[test]
    fn decision_from_score() {
        let dir = tempfile::tempdir().unwrap();
        let src = sample(&dir, vec![Some(1), Some(0), Some(1), Some(0), Some(1)]);
        let cols = Columns {
            prediction: None,
            ..columns(&[])
        };
        let (batches, _) = read_all(&src, &cols, 1024).unwrap();
        let decisions: Vec<bool> = batches
            .iter()
            .flat_map(|(_, b)| b.prediction.clone())
            .collect();
        assert_eq!(decisions, vec![true, false, true, false, true]);
    }

    /// The common shape: int64 0/1 label, float64 score, a dictionary and a plain string
    /// column (issue 8's whole-column path).
    fn common_shape(dir: &tempfile::TempDir, score: Vec<f64>, label: Vec<i64>) -> Source {
        let n = score.len();
        let race: DictionaryArray<Int32Type> =
            (0..n).map(|i| Some(["A", "B", "C"][i % 3])).collect();
        let sex = StringArray::from_iter_values((0..n).map(|i| ["F", "M"][i % 2]));
        write(
            dir,
            vec![
                ("label", Arc::new(Int64Array::from(label)) as ArrayRef),
                ("score", Arc::new(Float64Array::from(score))),
                ("race", Arc::new(race)),
                ("sex", Arc::new(sex)),
            ],
            4,
        )
    }

    /// Ten rows of [`common_shape`] (row groups of 4, 4 and 2 rows), every third label
    /// positive, scores i/9, and the columns that read them (no prediction column).
    fn ten_rows(dir: &tempfile::TempDir) -> (Source, Columns) {
        let n = 10;
        let src = common_shape(
            dir,
            (0..n).map(|i| i as f64 / 9.0).collect(),
            (0..n).map(|i| i64::from(i % 3 == 0)).collect(),
        );
        let cols = Columns {
            prediction: None,
            ..columns(&["race", "sex"])
        };
        (src, cols)
    }

    #[test]
    fn row_groups_are_cut_into_ranges_that_cover_every_row_once_in_order() {
        let covers = |ranges: &[Range], rows: u64| {
            let ends_meet =
                (ranges.windows(2)).all(|w| w[1].first_row == w[0].first_row + w[0].rows);
            ends_meet
                && ranges[0].first_row == 0
                && ranges.iter().map(|r| r.rows).sum::<u64>() == rows
        };
        assert!(ranges(&[0], CUT).is_empty());
        // One row group of a million rows: 7 ranges of at least 2¹⁷ rows.
        let one = ranges(&[0, 1_000_000], CUT);
        assert_eq!(one.len(), 7);
        assert!(covers(&one, 1_000_000));
        assert!(one
            .iter()
            .all(|r| r.group == 0 && r.skip == r.first_row && r.rows >= 1 << 17));
        // Eight row groups or more: one range each, whatever their size.
        let starts: Vec<u64> = (0..=10).map(|g| g * 1_048_576).collect();
        let ten = ranges(&starts, CUT);
        assert_eq!(
            ten.iter().map(|r| r.group).collect::<Vec<_>>(),
            (0..10).collect::<Vec<_>>()
        );
        assert!(covers(&ten, 10 * 1_048_576));
        // A small group stays whole, an empty one is still read; the third is cut in two.
        let three = ranges(&[0, 100, 100, 300_000], CUT);
        assert_eq!(
            three.iter().map(|r| (r.group, r.rows)).collect::<Vec<_>>(),
            [(0, 100), (1, 0), (2, 149_950), (2, 149_950)]
        );
        assert!(covers(&three, 300_000));
        assert_eq!((three[3].skip, three[3].first_row), (149_950, 150_050));
    }

    /// Every batch of a read with the row groups cut by `cut`, with its row numbers, in order.
    fn read_cut(
        src: &Source,
        cols: &Columns,
        batch_rows: usize,
        cut: Cut,
    ) -> Result<Vec<(u64, Batch, RowNumbers)>> {
        let out = Mutex::new(Vec::new());
        let sink = |seq: u64, batch: Batch, numbers: RowNumbers| -> Result<()> {
            out.lock().expect("lock").push((seq, batch, numbers));
            Ok(())
        };
        read_ranges(src, cols, batch_rows, cut, &sink, &|_| {})?;
        let mut batches = out.into_inner().expect("lock");
        batches.sort_by_key(|(seq, _, _)| *seq);
        Ok(batches)
    }

    #[test]
    fn row_groups_read_in_ranges_give_the_rows_and_row_numbers_of_whole_groups() {
        let dir = tempfile::tempdir().unwrap();
        // Row groups of 4, 4 and 2 rows; cut, the groups become ranges of 1, 1, 2 and 1, 1 rows.
        let (src, cols) = ten_rows(&dir);
        let small = Cut {
            min_ranges: 8,
            min_rows: 1,
        };
        // Whole groups in batches of 3 rows; ranges in batches of 1, so that a range of 2 rows
        // has two batches.
        let (whole, cut) = (
            read_cut(&src, &cols, 3, CUT).unwrap(),
            read_cut(&src, &cols, 1, small).unwrap(),
        );
        assert_eq!((whole.len(), cut.len()), (5, 10));
        assert!(cut.iter().any(|(seq, _, _)| seq & 0xFFFF_FFFF == 1));
        let rows =
            |batches: &[(u64, Batch, RowNumbers)]| -> Vec<(u64, bool, f64, Vec<Option<String>>)> {
                (batches.iter())
                    .flat_map(|(_, b, numbers)| {
                        let keys: Vec<Vec<Option<String>>> = (0..b.len())
                            .map(|r| b.protected.iter().map(|c| decode(c)[r].clone()).collect())
                            .collect();
                        (numbers.kept(b.len()).into_iter())
                            .zip(b.label.clone())
                            .zip(b.score.clone().unwrap())
                            .zip(keys)
                            .map(|(((row, y), s), k)| (row, y, s, k))
                    })
                    .collect()
            };
        assert_eq!(rows(&cut), rows(&whole));
        assert_eq!(
            rows(&cut).iter().map(|r| r.0).collect::<Vec<_>>(),
            (1..=10).collect::<Vec<_>>()
        );
        // Invalid scores in rows 7 and 10: the earliest is named, cut or not.
        let bad = tempfile::tempdir().unwrap();
        let mut scores: Vec<f64> = (0..10).map(|i| i as f64 / 9.0).collect();
        (scores[6], scores[9]) = (2.0, -1.0);
        let src = common_shape(&bad, scores, vec![0; 10]);
        let error = |cut| read_cut(&src, &cols, 1, cut).unwrap_err().to_string();
        assert_eq!(error(small), error(CUT));
        assert!(error(small).contains("row 7"), "{}", error(small));
    }

    #[test]
    fn whole_columns_give_the_batches_of_the_row_by_row_path() {
        let dir = tempfile::tempdir().unwrap();
        let (src, cols) = ten_rows(&dir);
        let (whole, rows) = read_all(&src, &cols, 3).unwrap();
        // A positive label sends every batch down the row-by-row path.
        let by_row = Columns {
            positive_label: Some("1".into()),
            ..cols.clone()
        };
        let (row_by_row, rows_too) = read_all(&src, &by_row, 3).unwrap();
        assert_eq!((rows, rows_too), (10, 10));
        assert_eq!(whole, row_by_row);
        assert_eq!(
            whole.len(),
            5,
            "row groups of 4, 4 and 2 rows in batches of 3"
        );
    }

    #[test]
    fn invalid_values_of_the_common_shape_are_reported_or_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let cols = Columns {
            prediction: None,
            ..columns(&["race"])
        };
        for (score, label, message) in [
            (1.5, 1, "row 3, column 'score': score 1.5 is outside [0, 1]"),
            (f64::NAN, 1, "row 3, column 'score': score is NaN"),
            (0.5, 2, "row 3, column 'label': 2 is not binary"),
        ] {
            let mut scores = vec![0.25; 6];
            let mut labels = vec![0i64; 6];
            (scores[2], labels[2]) = (score, label);
            let src = common_shape(&dir, scores, labels);
            let err = read_all(&src, &cols, 1024).unwrap_err();
            assert!(err.to_string().contains(message), "{err}");
            let skip = Columns {
                invalid_rows: InvalidRows::Skip,
                ..cols.clone()
            };
            let (batches, rows) = read_all(&src, &skip, 1024).unwrap();
            assert_eq!(rows, 6);
            let kept: usize = batches.iter().map(|(_, b)| b.len()).sum();
            let skipped: u64 = (batches.iter()).flat_map(|(_, b)| b.skipped.values()).sum();
            assert_eq!((kept, skipped), (5, 1));
        }
    }

    #[test]
    fn earliest_invalid_row_is_reported() {
        // Invalid labels in row 2 (group 0), row 4 (group 1) and row 5 (group 2).
        let dir = tempfile::tempdir().unwrap();
        let src = sample(&dir, vec![Some(1), Some(2), Some(1), None, Some(7)]);
        let err = read_all(&src, &columns(&[]), 1024).unwrap_err();
        assert_eq!(err.row(), Some(2));
        let msg = err.to_string();
        assert!(
            msg.contains("row 2, column 'label': 2 is not binary"),
            "{msg}"
        );
    }

    #[test]
    fn null_label_is_missing() {
        let dir = tempfile::tempdir().unwrap();
        let src = sample(&dir, vec![Some(1), Some(0), Some(1), None, Some(0)]);
        let msg = read_all(&src, &columns(&[]), 1024).unwrap_err().to_string();
        assert!(
            msg.contains("row 4, column 'label': missing value"),
            "{msg}"
        );
    }

    #[test]
    fn skip_mode_counts_reasons_and_drops_codes() {
        let dir = tempfile::tempdir().unwrap();
        let src = sample(&dir, vec![Some(1), Some(2), Some(1), None, Some(0)]);
        let cols = Columns {
            invalid_rows: InvalidRows::Skip,
            ..columns(&["race"])
        };
        let (batches, rows) = read_all(&src, &cols, 1024).unwrap();
        assert_eq!(rows, 5);
        let mut skipped = BTreeMap::new();
        for (_, b) in &batches {
            for (k, v) in &b.skipped {
                *skipped.entry(k.clone()).or_insert(0u64) += v;
            }
        }
        assert_eq!(skipped, BTreeMap::from([("invalid_label".to_string(), 2)]));
        let s = |v: &str| Some(v.to_string());
        // Rows 2 and 4 are gone from the protected codes too.
        assert_eq!(protected(&batches, 0), vec![s("A"), None, s("C")]);
    }

    #[test]
    fn string_labels_views_and_weights() {
        // Labels as text with a positive label, a Utf8View protected column, float64 weights.
        let dir = tempfile::tempdir().unwrap();
        let src = write(
            &dir,
            vec![
                (
                    "y",
                    Arc::new(StringArray::from(vec![">50K", "<=50K", ">50K"])) as ArrayRef,
                ),
                ("p", Arc::new(Int32Array::from(vec![1, 0, 0]))),
                ("w", Arc::new(Float64Array::from(vec![1.0, 2.5, 0.0]))),
                (
                    "g",
                    Arc::new(StringViewArray::from(vec![Some("x"), None, Some("x")])),
                ),
            ],
            10,
        );
        let cols = Columns {
            label: "y".into(),
            score: None,
            prediction: Some("p".into()),
            weight: Some("w".into()),
            positive_label: Some(">50K".into()),
            ..columns(&["g"])
        };
        let (batches, _) = read_all(&src, &cols, 1024).unwrap();
        let b = &batches[0].1;
        assert_eq!(b.label, vec![true, false, true]);
        // With a positive label ">50K", integer predictions are never positive.
        assert_eq!(b.prediction, vec![false, false, false]);
        assert_eq!(b.weight, Some(vec![1.0, 2.5, 0.0]));
        assert_eq!(
            decode(&b.protected[0]),
            vec![Some("x".into()), None, Some("x".into())]
        );
    }

    #[test]
    fn multiclass_and_regression_outcomes() {
        // Classes as strings and integers (" B" is trimmed as in CSV); a null label in row 3.
        let dir = tempfile::tempdir().unwrap();
        let src = write(
            &dir,
            vec![
                (
                    "y",
                    Arc::new(StringArray::from(vec![
                        Some("A"),
                        Some(" B"),
                        None,
                        Some("C"),
                    ])) as ArrayRef,
                ),
                ("p", Arc::new(Int32Array::from(vec![1, 2, 2, 3]))),
                ("v", Arc::new(Float32Array::from(vec![0.7, -1.5, 2.0, 3.0]))),
                ("g", Arc::new(StringArray::from(vec!["x", "y", "x", "y"]))),
            ],
            10,
        );
        let multiclass = Columns {
            label: "y".into(),
            score: None,
            prediction: Some("p".into()),
            task: Task::Multiclass,
            invalid_rows: InvalidRows::Skip,
            ..columns(&["g"])
        };
        let (batches, _) = read_all(&src, &multiclass, 1024).unwrap();
        let b = &batches[0].1;
        assert_eq!(b.skipped.get("invalid_label"), Some(&1));
        let Some(Outcomes::Classes {
            label, prediction, ..
        }) = &b.outcomes
        else {
            panic!("no classes: {:?}", b.outcomes)
        };
        assert_eq!(decode(label), ["A", "B", "C"].map(|s| Some(s.to_string())));
        assert_eq!(
            decode(prediction),
            ["1", "2", "3"].map(|s| Some(s.to_string()))
        );
        assert_eq!(decode(&b.protected[0]).len(), 3);
        let scored = Columns {
            class_scores: vec![("1".into(), "v".into())],
            ..multiclass.clone()
        };
        let (batches, _) = read_all(&src, &scored, 1024).unwrap();
        // Row 2's score −1.5 and row 4's 3.0 are invalid; row 3's label is null.
        let b = &batches[0].1;
        assert_eq!(b.skipped.get("invalid_score"), Some(&2));
        assert_eq!(b.skipped.get("invalid_label"), Some(&1));
        let Some(Outcomes::Classes { scores, .. }) = &b.outcomes else {
            panic!("no classes")
        };
        assert_eq!(scores, &vec![vec![0.7]]);
        // Favorable classes collapse to binary labels and decisions.
        let favorable = Columns {
            favorable: vec!["B".into(), "2".into()],
            ..multiclass.clone()
        };
        let (batches, _) = read_all(&src, &favorable, 1024).unwrap();
        let b = &batches[0].1;
        assert!(b.outcomes.is_none());
        assert_eq!(b.label, vec![false, true, false]);
        assert_eq!(b.prediction, vec![false, true, false]);
        // Regression: numbers of any type; float32 as its shortest decimal.
        let regression = Columns {
            label: "v".into(),
            prediction: Some("p".into()),
            task: Task::Regression,
            ..multiclass.clone()
        };
        let (batches, _) = read_all(&src, &regression, 1024).unwrap();
        let Some(Outcomes::Values { label, prediction }) = &batches[0].1.outcomes else {
            panic!("no values")
        };
        assert_eq!(label, &vec![0.7, -1.5, 2.0, 3.0]);
        assert_eq!(prediction, &vec![1.0, 2.0, 2.0, 3.0]);
    }

    #[test]
    fn missing_column_lists_file_columns() {
        let dir = tempfile::tempdir().unwrap();
        let src = sample(&dir, vec![Some(1); 5]);
        let msg = read_all(&src, &columns(&["rcae"]), 1024)
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("no column named 'rcae' (did you mean 'race'?)"),
            "{msg}"
        );
        assert!(
            msg.contains("label, score, prediction, race, sex, age"),
            "{msg}"
        );
    }

    #[test]
    fn whole_column_conversions_accept_exactly_the_valid_columns() {
        let ints = |v: Vec<Option<i64>>| Int64Array::from(v);
        assert_eq!(
            valid_binary(&ints(vec![Some(0), Some(1), Some(1)])),
            Some(vec![false, true, true])
        );
        assert_eq!(valid_binary(&ints(vec![Some(0), Some(2)])), None);
        assert_eq!(valid_binary(&ints(vec![Some(1), Some(-1)])), None);
        assert_eq!(valid_binary(&ints(vec![Some(1), None])), None);
        assert_eq!(
            valid_binary(&BooleanArray::from(vec![true, false])),
            Some(vec![true, false])
        );

        let keys = Int8Array::from(vec![0, 2, 1, 2]);
        // Distinct dictionary values: the codes are the keys.
        assert_eq!(
            valid_dictionary_codes(&keys, &[0, 1, 2]),
            Some(vec![0, 2, 1, 2])
        );
        // A repeated dictionary value: both of its keys get its one code.
        assert_eq!(
            valid_dictionary_codes(&keys, &[0, 1, 0]),
            Some(vec![0, 0, 1, 0])
        );
        // A key past the dictionary, a negative key, a null: the row-by-row path.
        assert_eq!(valid_dictionary_codes(&keys, &[0, 1]), None);
        assert_eq!(
            valid_dictionary_codes(&Int8Array::from(vec![0, -1]), &[0, 1]),
            None
        );
        assert_eq!(
            valid_dictionary_codes(&Int8Array::from(vec![Some(0), None]), &[0, 1]),
            None
        );
        assert_eq!(
            valid_dictionary_codes(&Int8Array::from(Vec::<i8>::new()), &[]),
            Some(vec![])
        );
    }

    #[test]
    fn unsupported_type_is_a_schema_error() {
        let dir = tempfile::tempdir().unwrap();
        let src = write(
            &dir,
            vec![
                ("label", Arc::new(Int8Array::from(vec![1])) as ArrayRef),
                ("score", Arc::new(Float64Array::from(vec![0.5]))),
                ("prediction", Arc::new(Int8Array::from(vec![1]))),
                ("d", Arc::new(Date32Array::from(vec![1]))),
            ],
            10,
        );
        let err = read_all(&src, &columns(&["d"]), 1024).unwrap_err();
        assert!(matches!(err, Error::Schema { .. }));
        let msg = err.to_string();
        assert!(msg.contains("column 'd' has type Date32"), "{msg}");
    }

    #[test]
    fn truncated_or_foreign_file_is_a_schema_error() {
        let dir = tempfile::tempdir().unwrap();
        let src = sample(&dir, vec![Some(1); 5]);
        let bytes = std::fs::read(&src.path).unwrap();
        std::fs::write(&src.path, &bytes[..bytes.len() / 2]).unwrap();
        let err = read_all(&src, &columns(&[]), 1024).unwrap_err();
        assert!(matches!(err, Error::Schema { .. }), "{err}");
        std::fs::write(&src.path, b"label,score\n1,0.5\n").unwrap();
        let err = read_all(&src, &columns(&[]), 1024).unwrap_err();
        assert!(
            err.to_string().contains("not a readable Parquet file"),
            "{err}"
        );
    }

    #[test]
    fn corrupt_pages_are_a_schema_error() {
        // Overwrite the middle of the data pages, keeping the footer intact.
        let dir = tempfile::tempdir().unwrap();
        let src = sample(&dir, vec![Some(1); 5]);
        let mut bytes = std::fs::read(&src.path).unwrap();
        for b in &mut bytes[8..200] {
            *b = 0xFF;
        }
        std::fs::write(&src.path, &bytes).unwrap();
        // Garbage may still decode into (wrong) values; it must never panic.
        if let Err(err) = read_all(&src, &columns(&["race", "sex"]), 1024) {
            assert!(
                matches!(err, Error::Schema { .. } | Error::Input { .. }),
                "{err}"
            );
        }
    }

    /// The rows of a file as (label, prediction, score, race, sex, age_cat).
    type Row = (
        bool,
        bool,
        f64,
        Option<String>,
        Option<String>,
        Option<String>,
    );

    fn rows_of(batches: &[(u64, Batch)]) -> Vec<Row> {
        let mut rows = Vec::new();
        for (_, b) in batches {
            let [race, sex, age] = [0, 1, 2].map(|k| decode(&b.protected[k]));
            let score = b.score.as_ref().expect("score");
            for i in 0..b.len() {
                rows.push((
                    b.label[i],
                    b.prediction[i],
                    score[i],
                    race[i].clone(),
                    sex[i].clone(),
                    age[i].clone(),
                ));
            }
        }
        rows
    }

    #[test]
    fn csv_and_parquet_agree_on_compas() {
        let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data");
        let (csv_path, pq_path) = (data.join("compas.csv"), data.join("compas.parquet"));
        assert!(
            csv_path.exists() && pq_path.exists(),
            "test data missing: ../shared/data (expected {} and {})",
            csv_path.display(),
            pq_path.display()
        );
        let cols = columns(&["race", "sex", "age_cat"]);

        let out = Mutex::new(Vec::new());
        let sink = |seq: u64, batch: Batch| -> Result<()> {
            out.lock().expect("lock").push((seq, batch));
            Ok(())
        };
        // Small CSV batches so that both readers produce several batches.
        let csv_rows =
            super::super::csv::read(&Source::from_path(&csv_path, b','), &cols, 1000, &sink)
                .unwrap();
        let mut csv_batches = std::mem::take(&mut *out.lock().unwrap());
        csv_batches.sort_by_key(|(seq, _)| *seq);

        let (pq_batches, pq_rows) =
            read_all(&Source::from_path(&pq_path, b','), &cols, 1000).unwrap();
        assert_eq!((csv_rows, pq_rows), (6172, 6172));
        let (csv, pq) = (rows_of(&csv_batches), rows_of(&pq_batches));
        assert_eq!(csv.len(), 6172);
        assert_eq!(csv, pq);
    }
}
