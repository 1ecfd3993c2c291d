//! Reading a partials table (Parquet, CSV, or Arrow batches from an engine) row by row.
//!
//! The table grows with cells × distinct scores, never with rows, but that can still be a
//! million rows (40 cells with 10,001 grid scores each), so it is streamed: each row is parsed
//! into one reused [`PartialRow`] and handed on, and nothing per row is kept. Numbers are read
//! as numbers from typed columns (every integer width, `Float64`); strings, and any other type
//! an engine may write, as text (Rust and the engines write floats as text that round-trips
//! exactly). Errors name the file, the 1-based data row and the column.

use std::path::Path;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Int16Type, Int32Type, Int64Type, Int8Type, UInt16Type, UInt32Type, UInt64Type, UInt8Type,
};
use arrow_array::{Array, ArrayRef, ArrowPrimitiveType, Float64Array, RecordBatch};
use arrow_schema::DataType;

use super::{group_column, Part, PartialRow, COLUMNS};
use crate::error::{Error, Result};
use crate::input::{self, Categorical, Format, Source};

/// Rows per decoded Parquet batch.
const BATCH_ROWS: usize = 64 * 1024;

/// Every row of the partials table `source`, keyed by the protected columns `protected`.
pub fn read(source: &Source, protected: &[String]) -> Result<Vec<PartialRow>> {
    let mut rows = Vec::new();
    for_each(source, protected, &mut |_, row| {
        rows.push(row.clone());
        Ok(())
    })?;
    Ok(rows)
}

/// Call `f(row number, row)` for every row of the partials table `source` in file order
/// (row numbers count data rows from 1).
pub fn for_each(
    source: &Source,
    protected: &[String],
    f: &mut dyn FnMut(u64, &PartialRow) -> Result<()>,
) -> Result<()> {
    match source.format {
        Format::Parquet => {
            let wanted = super::write::column_names(protected);
            let (names, batches) = input::parquet::record_batches(source, BATCH_ROWS, &wanted)?;
            // A missing column is an error even in a table without rows.
            Layout::new(&names, &source.path, protected)?;
            for_each_in_batches(batches, &source.path, protected, f)
        }
        Format::Csv => {
            let (header, mut reader) = input::csv::text_reader(source)?;
            let layout = Layout::new(&header, &source.path, protected)?;
            let mut record = csv::StringRecord::new();
            let mut row = PartialRow::default();
            for number in 1.. {
                let more = reader.read_record(&mut record).map_err(|e| Error::Schema {
                    path: source.path.clone(),
                    msg: format!("unreadable row {number}: {e}"),
                })?;
                if !more {
                    break;
                }
                let fields = CsvRow {
                    record: &record,
                    layout: &layout,
                };
                parse(&fields, layout.groups, number, &source.path, &mut row)?;
                f(number, &row)?;
            }
            Ok(())
        }
    }
}

/// [`for_each`] over a partials table that arrives as Arrow record batches (an engine's
/// result); `path` names it in messages.
pub fn for_each_in_batches(
    batches: impl IntoIterator<Item = Result<RecordBatch>>,
    path: &Path,
    protected: &[String],
    f: &mut dyn FnMut(u64, &PartialRow) -> Result<()>,
) -> Result<()> {
    let mut row = PartialRow::default();
    let mut first = 1;
    // The batches of one table share its schema: the columns are found in the first.
    let mut found: Option<(Vec<String>, Layout)> = None;
    for batch in batches {
        let batch = batch?;
        let (names, layout) = match &mut found {
            Some(found) => &*found,
            None => {
                let schema = batch.schema();
                let names: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
                let layout = Layout::new(&names, path, protected)?;
                found.insert((names, layout))
            }
        };
        let columns: Vec<Column> = (layout.index.iter())
            .enumerate()
            .map(|(wanted, index)| match index {
                Some(i) => {
                    Column::of(batch.column(*i), NUMBERS.contains(&wanted)).ok_or_else(|| {
                        Error::Schema {
                            path: path.to_path_buf(),
                            msg: format!(
                                "column '{}' has a type that cannot be read as text",
                                names[*i]
                            ),
                        }
                    })
                }
                None => Ok(Column::Absent),
            })
            .collect::<Result<_>>()?;
        for r in 0..batch.num_rows() {
            let fields = BatchRow {
                columns: &columns,
                row: r,
            };
            parse(&fields, layout.groups, first + r as u64, path, &mut row)?;
            f(first + r as u64, &row)?;
        }
        first += batch.num_rows() as u64;
    }
    Ok(())
}

/// The positions in [`COLUMNS`] of the numeric columns (`label` … `rows_y`; `part` and
/// `reason` are text). The `g_*` columns follow the fixed columns and are text.
const NUMBERS: std::ops::Range<usize> = 2..COLUMNS.len();

/// Where each wanted column is: [`COLUMNS`], then one `g_*` column per protected column.
struct Layout {
    /// The table's column index of each wanted column, `None` when the table lacks it.
    index: Vec<Option<usize>>,
    /// Number of protected columns.
    groups: usize,
}

impl Layout {
    /// The layout of a table with columns `names`. A missing required column (`part`,
    /// `rows`, `sum_w`, the `g_*` columns) is an error.
    fn new(names: &[String], path: &Path, protected: &[String]) -> Result<Layout> {
        // Of columns with the same name, the last counts.
        let find = |name: &str, required: bool| -> Result<Option<usize>> {
            match names.iter().rposition(|n| n == name) {
                Some(i) => Ok(Some(i)),
                None if required => Err(input::missing_column(path, name, names)),
                None => Ok(None),
            }
        };
        let mut index: Vec<Option<usize>> = (COLUMNS.iter())
            .map(|&name| find(name, matches!(name, "part" | "rows" | "sum_w")))
            .collect::<Result<_>>()?;
        for p in protected {
            index.push(find(&group_column(p), true)?);
        }
        Ok(Layout {
            index,
            groups: protected.len(),
        })
    }
}

/// One field of a row as read.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Value<'a> {
    /// Null, or an empty CSV field.
    Null,
    Text(&'a str),
    Int(i128),
    Float(f64),
}

/// The fields of one row, by wanted column (see [`Layout`]).
trait Fields {
    /// The field of a numeric column.
    fn value(&self, wanted: usize) -> Value<'_>;
    /// The field of a text column (`part`, `reason`, `g_*`); `None` when null.
    fn text(&self, wanted: usize) -> Option<&str>;
}

/// A CSV record: every field is text; an empty field is null.
struct CsvRow<'a> {
    record: &'a csv::StringRecord,
    layout: &'a Layout,
}

impl Fields for CsvRow<'_> {
    fn value(&self, wanted: usize) -> Value<'_> {
        self.text(wanted).map_or(Value::Null, Value::Text)
    }

    fn text(&self, wanted: usize) -> Option<&str> {
        let field = self.layout.index[wanted].and_then(|i| self.record.get(i));
        field.filter(|f| !f.is_empty())
    }
}

/// One column of a record batch, decoded once per batch.
enum Column {
    Absent,
    /// Strings, and numbers of other types as text.
    Text(Categorical),
    /// Integers of any width, with the function that reads one value as an `i128` (which
    /// holds every integer type).
    Int(ArrayRef, fn(&dyn Array, usize) -> i128),
    Float(Float64Array),
}

impl Column {
    /// The column `array`; `numeric` columns of an integer or `Float64` type are read as
    /// numbers, everything else as text. `None` for a type that cannot be read as text.
    fn of(array: &ArrayRef, numeric: bool) -> Option<Column> {
        let int = |read| Some(Column::Int(array.clone(), read));
        let typed = if numeric {
            match array.data_type() {
                DataType::Int8 => int(int_at::<Int8Type>),
                DataType::Int16 => int(int_at::<Int16Type>),
                DataType::Int32 => int(int_at::<Int32Type>),
                DataType::Int64 => int(int_at::<Int64Type>),
                DataType::UInt8 => int(int_at::<UInt8Type>),
                DataType::UInt16 => int(int_at::<UInt16Type>),
                DataType::UInt32 => int(int_at::<UInt32Type>),
                DataType::UInt64 => int(int_at::<UInt64Type>),
                DataType::Float64 => Some(Column::Float(array.as_primitive().clone())),
                _ => None,
            }
        } else {
            None
        };
        typed.or_else(|| input::parquet::categorical(array.as_ref()).map(Column::Text))
    }
}

/// Value `row` of an integer array of type `T`.
fn int_at<T: ArrowPrimitiveType>(array: &dyn Array, row: usize) -> i128
where
    T::Native: Into<i128>,
{
    array.as_primitive::<T>().value(row).into()
}

/// Row `row` of a record batch.
struct BatchRow<'a> {
    columns: &'a [Column],
    row: usize,
}

impl Fields for BatchRow<'_> {
    fn value(&self, wanted: usize) -> Value<'_> {
        let r = self.row;
        match &self.columns[wanted] {
            Column::Absent => Value::Null,
            Column::Text(_) => self.text(wanted).map_or(Value::Null, Value::Text),
            Column::Int(a, read) if a.is_valid(r) => Value::Int(read(a.as_ref(), r)),
            Column::Float(a) if a.is_valid(r) => Value::Float(a.value(r)),
            Column::Int(..) | Column::Float(_) => Value::Null,
        }
    }

    fn text(&self, wanted: usize) -> Option<&str> {
        match &self.columns[wanted] {
            Column::Text(c) => c.levels[c.codes[self.row] as usize].as_deref(),
            // Text columns are always read as `Text` (see `Column::of`).
            _ => None,
        }
    }
}

/// A count: a non-negative integer, also when an engine wrote it as a float: as text, an
/// integral float below 9·10¹⁵ (`3.0`); as a `Float64`, any integral value below 2⁶⁴ (which
/// prints as the digits of an integer).
fn count(value: Value<'_>) -> std::result::Result<Option<u64>, String> {
    let integral =
        |f: f64, below: f64| (f >= 0.0 && f.fract() == 0.0 && f < below).then_some(f as u64);
    match value {
        Value::Null => Ok(None),
        Value::Text(t) => (t.trim().parse::<u64>().ok())
            .or_else(|| integral(t.trim().parse().ok()?, 9.0e15))
            .map(Some)
            .ok_or_else(|| format!("'{t}' is not a count")),
        Value::Int(i) => u64::try_from(i)
            .map(Some)
            .map_err(|_| format!("'{i}' is not a count")),
        Value::Float(f) => integral(f, 2f64.powi(64))
            .map(Some)
            .ok_or_else(|| format!("'{f}' is not a count")),
    }
}

/// A finite number.
fn float(value: Value<'_>) -> std::result::Result<Option<f64>, String> {
    let finite = |f: f64| f.is_finite().then_some(f);
    match value {
        Value::Null => Ok(None),
        Value::Text(t) => (t.trim().parse().ok().and_then(finite))
            .map(Some)
            .ok_or_else(|| format!("'{t}' is not a finite number")),
        // Rounded to the nearest float, as parsing the integer's text would.
        Value::Int(i) => Ok(Some(i as f64)),
        Value::Float(f) => finite(f)
            .map(Some)
            .ok_or_else(|| format!("'{f}' is not a finite number")),
    }
}

/// A 0/1 flag.
fn binary(value: Value<'_>) -> std::result::Result<Option<bool>, String> {
    match count(value)? {
        None => Ok(None),
        Some(0) => Ok(Some(false)),
        Some(1) => Ok(Some(true)),
        Some(v) => Err(format!("{v} is not 0 or 1")),
    }
}

/// Set `slot` to `value`, reusing its allocation (consecutive rows mostly share their cell).
fn set_text(slot: &mut Option<String>, value: Option<&str>) {
    match (slot.as_mut(), value) {
        (Some(s), Some(v)) if s == v => {}
        (Some(s), Some(v)) => {
            s.clear();
            s.push_str(v);
        }
        (_, v) => *slot = v.map(str::to_string),
    }
}

/// Parse data row `number` of the table at `path` (keyed by `groups` protected columns) into
/// `row`.
fn parse(
    fields: &impl Fields,
    groups: usize,
    number: u64,
    path: &Path,
    row: &mut PartialRow,
) -> Result<()> {
    let bad = |c: usize, msg: String| Error::Input {
        path: path.to_path_buf(),
        row: number,
        column: COLUMNS[c].to_string(),
        msg,
    };
    let at = |c: usize| fields.value(c);
    let count = |c: usize| count(at(c)).map_err(|msg| bad(c, msg));
    let float = |c: usize| float(at(c)).map_err(|msg| bad(c, msg));
    let binary = |c: usize| binary(at(c)).map_err(|msg| bad(c, msg));
    let part = match fields.text(0) {
        Some(t) => Part::from_name(t.trim()).ok_or_else(|| {
            bad(
                0,
                format!(
                    "unknown part '{t}' (expected {})",
                    Part::ALL.map(Part::name).join(", ")
                ),
            )
        })?,
        None => return Err(bad(0, "missing part".into())),
    };
    let rows = count(6)?.ok_or_else(|| bad(6, "missing count".into()))?;
    // An engine sums no weights for invalid rows (their weight may be what is invalid).
    let sum_w = match (float(7)?, part) {
        (Some(w), _) => w,
        (None, Part::Invalid) => 0.0,
        (None, _) => return Err(bad(7, "missing sum".into())),
    };
    row.part = Some(part);
    if part == Part::Invalid {
        row.cell.clear();
    } else {
        row.cell.resize(groups, None);
        for (g, slot) in row.cell.iter_mut().enumerate() {
            set_text(slot, fields.text(COLUMNS.len() + g));
        }
    }
    set_text(&mut row.reason, fields.text(1));
    row.label = binary(2)?;
    row.decision = binary(3)?;
    row.bin = count(4)?;
    row.score = float(5)?;
    row.rows = rows;
    row.sum_w = sum_w;
    row.sum_w2 = float(8)?;
    row.sum_wy = float(9)?;
    row.sum_ws = float(10)?;
    row.sum_wse = float(11)?;
    row.sum_wll = float(12)?;
    row.rows_y = count(13)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{
        DictionaryArray, Float32Array, Int16Array, Int64Array, Int8Array, StringArray,
        StringViewArray, UInt32Array, UInt64Array,
    };

    use super::*;

    /// A three-row table (confusion, score, invalid) in engine-like types: dictionary and
    /// view strings, integers of several widths, integral floats as counts, a `Float32` score.
    fn typed_batch() -> RecordBatch {
        let part: DictionaryArray<Int32Type> =
            vec!["confusion", "score", "invalid"].into_iter().collect();
        let columns: Vec<(&str, ArrayRef)> = vec![
            ("part", Arc::new(part)),
            (
                "g_g",
                Arc::new(StringViewArray::from(vec![Some("a"), None, None])),
            ),
            (
                "reason",
                Arc::new(StringArray::from(vec![None, None, Some("invalid_label")])),
            ),
            (
                "label",
                Arc::new(Int8Array::from(vec![Some(1), None, None])),
            ),
            (
                "decision",
                Arc::new(UInt64Array::from(vec![Some(0), None, None])),
            ),
            (
                "score",
                Arc::new(Float32Array::from(vec![None, Some(0.1), None])),
            ),
            ("rows", Arc::new(Float64Array::from(vec![3.0, 2.0, 7.0]))),
            (
                "sum_w",
                Arc::new(Int64Array::from(vec![Some(3), Some(2), None])),
            ),
            (
                "sum_w2",
                Arc::new(Float64Array::from(vec![Some(0.1 + 0.2), None, None])),
            ),
            (
                "sum_wy",
                Arc::new(UInt32Array::from(vec![None, Some(1), None])),
            ),
            (
                "rows_y",
                Arc::new(Int16Array::from(vec![None, Some(1), None])),
            ),
        ];
        RecordBatch::try_from_iter(columns).unwrap()
    }

    /// The same table as CSV text.
    const TYPED_AS_CSV: &str =
        "part,g_g,reason,label,decision,score,rows,sum_w,sum_w2,sum_wy,rows_y\n\
        confusion,a,,1,0,,3.0,3,0.30000000000000004,,\n\
        score,,,,,0.1,2.0,2,,1,1\n\
        invalid,,invalid_label,,,,7.0,,,,\n";

    fn rows_of(batches: Vec<RecordBatch>) -> Result<Vec<(u64, PartialRow)>> {
        let mut rows = Vec::new();
        let batches = batches.into_iter().map(Ok);
        for_each_in_batches(batches, Path::new("t"), &["g".into()], &mut |n, r| {
            rows.push((n, r.clone()));
            Ok(())
        })?;
        Ok(rows)
    }

    #[test]
    fn typed_columns_read_as_their_text_does() {
        let typed = rows_of(vec![typed_batch()]).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        std::fs::write(&path, TYPED_AS_CSV).unwrap();
        let text = read(&Source::from_path(&path, b','), &["g".into()]).unwrap();
        assert_eq!(
            typed.iter().map(|(_, r)| r.clone()).collect::<Vec<_>>(),
            text
        );
        assert_eq!(typed.iter().map(|(n, _)| *n).collect::<Vec<_>>(), [1, 2, 3]);
        let (confusion, score) = (&text[0], &text[1]);
        assert_eq!(confusion.cell, vec![Some("a".to_string())]);
        assert_eq!(
            (confusion.label, confusion.decision),
            (Some(true), Some(false))
        );
        assert_eq!(
            confusion.sum_w2.unwrap().to_bits(),
            (0.1f64 + 0.2).to_bits()
        );
        // A Float32 score is read as the decimal it prints as, not its widened binary value.
        assert_eq!(score.score, Some(0.1));
        assert_eq!(
            (score.rows, score.sum_wy, score.rows_y),
            (2, Some(1.0), Some(1))
        );
        assert_eq!(text[2].cell, Vec::<Option<String>>::new());
        assert_eq!(text[2].reason.as_deref(), Some("invalid_label"));
    }

    #[test]
    fn a_parquet_table_without_rows_still_needs_its_columns() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.parquet");
        let batch = RecordBatch::try_from_iter([(
            "rows",
            Arc::new(Int64Array::from(Vec::<i64>::new())) as ArrayRef,
        )])
        .unwrap();
        let mut writer = parquet::arrow::ArrowWriter::try_new(
            std::fs::File::create(&path).unwrap(),
            batch.schema(),
            None,
        )
        .unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
        let e = read(&Source::from_path(&path, b','), &["g".into()]).unwrap_err();
        assert!(e.to_string().contains("'part'"), "{e}");
    }

    #[test]
    fn integral_float64_counts_are_counts_up_to_two_to_the_64() {
        let rows = |v: f64| {
            let batch = typed_batch();
            let i = batch.schema().index_of("rows").unwrap();
            let mut columns = batch.columns().to_vec();
            columns[i] = Arc::new(Float64Array::from(vec![v, 2.0, 7.0]));
            rows_of(vec![RecordBatch::try_new(batch.schema(), columns).unwrap()])
        };
        assert_eq!(rows(1e16).unwrap()[0].1.rows, 10_000_000_000_000_000);
        assert!(rows(2f64.powi(64)).is_err());
        assert!(rows(-1.0).is_err());
    }

    #[test]
    fn a_bad_typed_value_names_its_row_across_batches_and_its_column() {
        let batch = typed_batch();
        let replaced = |column: &str, values: ArrayRef| {
            let i = batch.schema().index_of(column).unwrap();
            let mut columns = batch.columns().to_vec();
            columns[i] = values;
            RecordBatch::try_new(batch.schema(), columns).unwrap()
        };
        let cases: [(&str, ArrayRef, &str); 4] = [
            (
                "rows",
                Arc::new(Float64Array::from(vec![3.0, 2.5, 7.0])),
                "'2.5' is not a count",
            ),
            (
                "rows_y",
                Arc::new(Int16Array::from(vec![None, Some(-2), None])),
                "'-2' is not a count",
            ),
            (
                "sum_w2",
                Arc::new(Float64Array::from(vec![Some(1.0), Some(f64::NAN), None])),
                "'NaN' is not a finite number",
            ),
            (
                "label",
                Arc::new(Int8Array::from(vec![Some(1), Some(2), None])),
                "2 is not 0 or 1",
            ),
        ];
        for (column, values, msg) in cases {
            // Row 2 of the second batch is data row 5.
            let bad = replaced(column, values);
            let e = rows_of(vec![typed_batch(), bad]).unwrap_err().to_string();
            assert!(
                e.contains(&format!("row 5, column '{column}'")) && e.contains(msg),
                "{column}: {e}"
            );
        }
    }
}
