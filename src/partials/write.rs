//! Writing a partials table as Parquet or CSV bytes (the caller writes them atomically), one
//! row at a time: only the encoded table and one batch of rows are held, never a row object
//! per table row.

use std::sync::Arc;

use arrow_array::builder::{Float64Builder, Int64Builder, StringBuilder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use parquet::arrow::ArrowWriter;

use super::{group_column, PartialRow, COLUMNS};
use crate::error::{Error, Result};
use crate::input::Format;

/// Rows per Parquet record batch.
const BATCH_ROWS: usize = 64 * 1024;

/// The table of `rows` keyed by the protected columns `protected`, in `format`.
pub fn to_bytes(rows: &[PartialRow], protected: &[String], format: Format) -> Result<Vec<u8>> {
    let mut table = TableWriter::new(protected, format)?;
    for r in rows {
        table.push(r)?;
    }
    table.finish()
}

/// Column names in table order: `part`, the `g_*` columns, then the rest of [`COLUMNS`].
pub fn column_names(protected: &[String]) -> Vec<String> {
    let mut names = vec![COLUMNS[0].to_string()];
    names.extend(protected.iter().map(|p| group_column(p)));
    names.extend(COLUMNS[1..].iter().map(|c| c.to_string()));
    names
}

/// One numeric field of a row.
#[derive(Debug, Clone, Copy)]
enum Number {
    Int(Option<u64>),
    Float(Option<f64>),
}

/// The numeric fields of a row, in the order of [`COLUMNS`] after `part` and `reason`.
fn numbers(r: &PartialRow) -> [Number; COLUMNS.len() - 2] {
    use Number::{Float, Int};
    [
        Int(r.label.map(u64::from)),
        Int(r.decision.map(u64::from)),
        Int(r.bin),
        Float(r.score),
        Int(Some(r.rows)),
        Float(Some(r.sum_w)),
        Float(r.sum_w2),
        Float(r.sum_wy),
        Float(r.sum_ws),
        Float(r.sum_wse),
        Float(r.sum_wll),
        Int(r.rows_y),
    ]
}

/// A partials table being written row by row ([`TableWriter::push`]), then encoded
/// ([`TableWriter::finish`]). `invalid` rows have no cell: their group columns are null.
pub struct TableWriter {
    groups: usize,
    encoder: Encoder,
}

enum Encoder {
    Csv(Box<csv::Writer<Vec<u8>>>),
    Parquet(Box<ParquetEncoder>),
}

impl TableWriter {
    /// An empty table keyed by the protected columns `protected`, in `format`.
    pub fn new(protected: &[String], format: Format) -> Result<Self> {
        let encoder = match format {
            Format::Csv => {
                let mut w = csv::Writer::from_writer(Vec::new());
                w.write_record(column_names(protected)).map_err(csv_error)?;
                Encoder::Csv(Box::new(w))
            }
            Format::Parquet => Encoder::Parquet(Box::new(ParquetEncoder::new(protected)?)),
        };
        Ok(TableWriter {
            groups: protected.len(),
            encoder,
        })
    }

    /// Add a row.
    pub fn push(&mut self, r: &PartialRow) -> Result<()> {
        let cell = (0..self.groups).map(|g| r.cell.get(g).and_then(Option::as_deref));
        match &mut self.encoder {
            Encoder::Csv(w) => {
                let mut field = |v: Option<&str>| w.write_field(v.unwrap_or(""));
                field(r.part.map(|p| p.name())).map_err(csv_error)?;
                for value in cell {
                    field(value).map_err(csv_error)?;
                }
                field(r.reason.as_deref()).map_err(csv_error)?;
                for number in numbers(r) {
                    let text = match number {
                        Number::Int(v) => v.map(|v| v.to_string()),
                        // `{:?}` writes the shortest text that parses back to the same bits.
                        Number::Float(v) => v.map(|v| format!("{v:?}")),
                    };
                    field(text.as_deref()).map_err(csv_error)?;
                }
                w.write_record(None::<&[u8]>).map_err(csv_error)
            }
            Encoder::Parquet(p) => p.push(r, cell),
        }
    }

    /// The encoded table.
    pub fn finish(self) -> Result<Vec<u8>> {
        match self.encoder {
            Encoder::Csv(w) => (*w).into_inner().map_err(csv_error),
            Encoder::Parquet(p) => p.finish(),
        }
    }
}

/// A failure to encode the table as CSV.
fn csv_error(e: impl std::fmt::Display) -> Error {
    render_error("csv", e)
}

/// A failure to encode the table as Parquet.
fn parquet_error(e: impl std::fmt::Display) -> Error {
    render_error("parquet", e)
}

fn render_error(format: &'static str, e: impl std::fmt::Display) -> Error {
    Error::Render {
        format,
        msg: e.to_string(),
    }
}

/// Builders of one batch of rows, written out every [`BATCH_ROWS`] rows.
struct ParquetEncoder {
    writer: ArrowWriter<Vec<u8>>,
    schema: SchemaRef,
    part: StringBuilder,
    cell: Vec<StringBuilder>,
    reason: StringBuilder,
    numbers: Vec<NumberBuilder>,
    rows: usize,
}

/// The builder of one numeric column.
enum NumberBuilder {
    Int(Int64Builder),
    Float(Float64Builder),
}

impl ParquetEncoder {
    fn new(protected: &[String]) -> Result<Self> {
        let numbers: Vec<NumberBuilder> = (numbers(&PartialRow::default()).iter())
            .map(|n| match n {
                Number::Int(_) => NumberBuilder::Int(Int64Builder::new()),
                Number::Float(_) => NumberBuilder::Float(Float64Builder::new()),
            })
            .collect();
        let types = (0..1 + protected.len() + 1)
            .map(|_| DataType::Utf8)
            .chain(numbers.iter().map(|n| match n {
                NumberBuilder::Int(_) => DataType::Int64,
                NumberBuilder::Float(_) => DataType::Float64,
            }));
        let fields: Vec<Field> = (column_names(protected).into_iter().zip(types))
            .map(|(name, data_type)| Field::new(name, data_type, true))
            .collect();
        let schema = Arc::new(Schema::new(fields));
        let writer =
            ArrowWriter::try_new(Vec::new(), schema.clone(), None).map_err(parquet_error)?;
        Ok(ParquetEncoder {
            writer,
            schema,
            part: StringBuilder::new(),
            cell: protected.iter().map(|_| StringBuilder::new()).collect(),
            reason: StringBuilder::new(),
            numbers,
            rows: 0,
        })
    }

    fn push<'a>(
        &mut self,
        r: &PartialRow,
        cell: impl Iterator<Item = Option<&'a str>>,
    ) -> Result<()> {
        self.part.append_option(r.part.map(|p| p.name()));
        for (builder, value) in self.cell.iter_mut().zip(cell) {
            builder.append_option(value);
        }
        self.reason.append_option(r.reason.as_deref());
        for (builder, number) in self.numbers.iter_mut().zip(numbers(r)) {
            match (builder, number) {
                (NumberBuilder::Int(b), Number::Int(v)) => b.append_option(v.map(|v| v as i64)),
                (NumberBuilder::Float(b), Number::Float(v)) => b.append_option(v),
                _ => unreachable!("the builders follow `numbers`"),
            }
        }
        self.rows += 1;
        if self.rows == BATCH_ROWS {
            self.write_batch()?;
        }
        Ok(())
    }

    /// Write the rows built so far as one record batch.
    fn write_batch(&mut self) -> Result<()> {
        let mut columns: Vec<ArrayRef> = vec![Arc::new(self.part.finish())];
        columns.extend(
            self.cell
                .iter_mut()
                .map(|b| Arc::new(b.finish()) as ArrayRef),
        );
        columns.push(Arc::new(self.reason.finish()));
        columns.extend(self.numbers.iter_mut().map(|b| match b {
            NumberBuilder::Int(b) => Arc::new(b.finish()) as ArrayRef,
            NumberBuilder::Float(b) => Arc::new(b.finish()) as ArrayRef,
        }));
        let batch = RecordBatch::try_new(self.schema.clone(), columns).map_err(parquet_error)?;
        self.rows = 0;
        self.writer.write(&batch).map_err(parquet_error)
    }

    fn finish(mut self) -> Result<Vec<u8>> {
        self.write_batch()?;
        self.writer.into_inner().map_err(parquet_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::Source;
    use crate::partials::{read, Part};

    fn rows() -> Vec<PartialRow> {
        vec![
            PartialRow {
                part: Some(Part::Confusion),
                cell: vec![Some("a,b \"q\"".into()), None],
                label: Some(true),
                decision: Some(false),
                rows: 3,
                sum_w: 0.1 + 0.2, // not a short decimal: must round-trip to the bit
                sum_w2: Some(1e-300),
                ..PartialRow::default()
            },
            PartialRow {
                part: Some(Part::Score),
                cell: vec![Some("x".into()), Some("".into())],
                score: Some(0.30000000000000004),
                rows: 1,
                sum_w: 2.5,
                sum_wy: Some(2.5),
                rows_y: Some(1),
                ..PartialRow::default()
            },
            PartialRow {
                part: Some(Part::Invalid),
                reason: Some("invalid_label".into()),
                rows: 7,
                sum_w: 0.0,
                ..PartialRow::default()
            },
        ]
    }

    #[test]
    fn parquet_and_csv_round_trip_to_the_bit() {
        let protected = vec!["g1".to_string(), "g2".to_string()];
        let dir = tempfile::tempdir().unwrap();
        for (name, format) in [("p.parquet", Format::Parquet), ("p.csv", Format::Csv)] {
            let path = dir.path().join(name);
            std::fs::write(&path, to_bytes(&rows(), &protected, format).unwrap()).unwrap();
            let back = read::read(&Source::from_path(&path, b','), &protected).unwrap();
            let mut expected = rows();
            if format == Format::Csv {
                // An empty CSV field is a missing value, as in the CSV predictions reader
                // (Parquet keeps an empty string, as its reader does).
                expected[1].cell[1] = None;
            }
            assert_eq!(back, expected, "{name}");
            assert_eq!(back[0].sum_w.to_bits(), (0.1f64 + 0.2).to_bits());
        }
    }

    #[test]
    fn tables_of_several_batches_or_none_round_trip() {
        let protected = vec!["g1".to_string(), "g2".to_string()];
        let row = |i: usize| match i % 1000 {
            // Invalid rows have no cell: their group columns are written as nulls.
            999 => PartialRow {
                part: Some(Part::Invalid),
                reason: Some("invalid_score".into()),
                rows: 1,
                ..PartialRow::default()
            },
            _ => PartialRow {
                part: Some(Part::Score),
                cell: vec![Some(format!("c{}", i / 1000)), None],
                score: Some(i as f64 / 7.0),
                rows: i as u64 + 1,
                sum_w: i as f64 + 1.0,
                sum_wy: Some(0.5),
                rows_y: Some(1),
                ..PartialRow::default()
            },
        };
        let dir = tempfile::tempdir().unwrap();
        // Parquet batches: three (the last one row), exactly two, and none; CSV has no batches.
        let cases = [
            (2 * BATCH_ROWS + 1, "p.parquet", Format::Parquet),
            (2 * BATCH_ROWS, "p.parquet", Format::Parquet),
            (0, "p.parquet", Format::Parquet),
            (0, "p.csv", Format::Csv),
        ];
        for (n, name, format) in cases {
            let rows: Vec<PartialRow> = (0..n).map(row).collect();
            let path = dir.path().join(name);
            std::fs::write(&path, to_bytes(&rows, &protected, format).unwrap()).unwrap();
            let back = read::read(&Source::from_path(&path, b','), &protected).unwrap();
            assert!(back == rows, "{n} rows as {name}: {} read back", back.len());
        }
    }

    #[test]
    fn a_bad_value_names_row_and_column() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.csv");
        std::fs::write(&path, "part,g_g,rows,sum_w,label\nconfusion,a,1,1,2\n").unwrap();
        let e = read::read(&Source::from_path(&path, b','), &["g".into()]).unwrap_err();
        assert!(e.to_string().contains("row 1, column 'label'"), "{e}");
        let e = read::read(&Source::from_path(&path, b','), &["h".into()]).unwrap_err();
        assert!(e.to_string().contains("g_h"), "{e}");
    }
}
