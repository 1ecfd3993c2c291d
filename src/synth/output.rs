//! Writing the generated chunks as Parquet, CSV or gzipped CSV, atomically.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc};

use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use super::generate::{Chunk, Chunks};
use super::plan::Attribute;
use crate::error::{Error, Result};

/// Rows per Parquet row group.
const ROW_GROUP_ROWS: usize = 1024 * 1024;
/// How many generated chunks may wait for the writer.
const PIPELINE_DEPTH: usize = 2;
/// ZSTD level of the Parquet pages.
const ZSTD_LEVEL: i32 = 3;

/// Output format, chosen by the file extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Parquet,
    Csv,
    CsvGz,
}

impl Format {
    fn of(path: &Path) -> Result<Format> {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        if name.ends_with(".parquet") {
            Ok(Format::Parquet)
        } else if name.ends_with(".csv") {
            Ok(Format::Csv)
        } else if name.ends_with(".csv.gz") {
            Ok(Format::CsvGz)
        } else {
            Err(Error::spec(
                "command line",
                format!(
                    "--out {}: unknown format; use a .parquet, .csv or .csv.gz file",
                    path.display()
                ),
            ))
        }
    }
}

/// Writes `chunks` to `out` through a temporary file `<out>.tmp-<pid>` that is renamed
/// over `out` once complete (and removed on failure). Returns the number of rows.
pub(crate) fn write_atomically(out: &Path, chunks: Chunks) -> Result<u64> {
    let format = Format::of(out)?;
    let tmp = temp_path(out);
    let written = write_file(&tmp, format, chunks).and_then(|rows| {
        std::fs::rename(&tmp, out)?;
        Ok(rows)
    });
    written.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io(out, e)
    })
}

fn temp_path(out: &Path) -> PathBuf {
    let mut name = out.as_os_str().to_owned();
    name.push(format!(".tmp-{}", std::process::id()));
    PathBuf::from(name)
}

/// The column layout shared by all chunks.
struct Columns {
    attributes: Vec<Attribute>,
    weights: bool,
}

/// Writes and syncs the whole file; returns the number of rows.
fn write_file(path: &Path, format: Format, chunks: Chunks) -> io::Result<u64> {
    let columns = Columns {
        attributes: chunks.attributes().to_vec(),
        weights: chunks.has_weights(),
    };
    let file = File::create(path)?;
    let (rows, file) = pipelined(chunks, |rows| match format {
        Format::Parquet => write_parquet(file, &columns, rows),
        Format::Csv => {
            let buffered = write_csv(BufWriter::new(file), &columns, rows)?;
            buffered.into_inner().map_err(|e| e.into_error())
        }
        Format::CsvGz => {
            let gz = flate2::GzBuilder::new()
                .mtime(0)
                .operating_system(255)
                .write(BufWriter::new(file), flate2::Compression::default());
            let gz = write_csv(gz, &columns, rows)?;
            gz.finish()?.into_inner().map_err(|e| e.into_error())
        }
    })?;
    file.sync_all()?;
    Ok(rows)
}

/// Runs `consume` on the chunks while the following ones are generated on another
/// thread (at most [`PIPELINE_DEPTH`] chunks ahead). Returns the number of rows consumed
/// with the result of `consume`.
fn pipelined<T>(
    chunks: Chunks,
    consume: impl FnOnce(&mut dyn Iterator<Item = Chunk>) -> io::Result<T>,
) -> io::Result<(u64, T)> {
    let (sender, receiver) = mpsc::sync_channel(PIPELINE_DEPTH);
    std::thread::scope(|scope| {
        let producer = scope.spawn(move || {
            for chunk in chunks {
                if sender.send(chunk).is_err() {
                    break; // the consumer failed and hung up
                }
            }
        });
        let mut rows = 0;
        let consumed = consume(&mut receiver.into_iter().inspect(|c| rows += c.len() as u64));
        producer
            .join()
            .map_err(|_| io::Error::other("generating the rows failed"))?;
        Ok((rows, consumed?))
    })
}

// ---------------------------------------------------------------- Parquet

fn write_parquet(
    file: File,
    columns: &Columns,
    chunks: &mut dyn Iterator<Item = Chunk>,
) -> io::Result<File> {
    let schema = arrow_schema(columns);
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(
            ZstdLevel::try_new(ZSTD_LEVEL).map_err(io::Error::other)?,
        ))
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .build();
    let mut writer =
        ArrowWriter::try_new(file, schema.clone(), Some(props)).map_err(io::Error::other)?;
    for chunk in chunks {
        let batch = record_batch(&schema, &columns.attributes, chunk)?;
        writer.write(&batch).map_err(io::Error::other)?;
    }
    writer.into_inner().map_err(io::Error::other)
}

/// The Arrow schema: `id`, `label`, `score`, `prediction`, the attributes (nullable
/// strings) and `weight` if asked.
fn arrow_schema(columns: &Columns) -> SchemaRef {
    let mut fields = vec![
        Field::new("id", DataType::Int64, false),
        Field::new("label", DataType::Int64, false),
        Field::new("score", DataType::Float64, false),
        Field::new("prediction", DataType::Int64, false),
    ];
    fields.extend(
        columns
            .attributes
            .iter()
            .map(|a| Field::new(a.name.as_str(), DataType::Utf8, true)),
    );
    if columns.weights {
        fields.push(Field::new("weight", DataType::Float64, false));
    }
    Arc::new(Schema::new(fields))
}

fn record_batch(
    schema: &SchemaRef,
    attributes: &[Attribute],
    chunk: Chunk,
) -> io::Result<RecordBatch> {
    let ids = chunk.first_id as i64..(chunk.first_id + chunk.len() as u64) as i64;
    let ints = |v: &[u8]| -> ArrayRef {
        Arc::new(Int64Array::from_iter_values(
            v.iter().map(|&x| i64::from(x)),
        ))
    };
    let mut columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from_iter_values(ids)),
        ints(&chunk.label),
        Arc::new(Float64Array::from(chunk.score)),
        ints(&chunk.prediction),
    ];
    for (attribute, codes) in attributes.iter().zip(&chunk.attributes) {
        let values = codes
            .iter()
            .map(|code| code.map(|c| attribute.levels[usize::from(c)].as_str()));
        columns.push(Arc::new(StringArray::from_iter(values)));
    }
    if let Some(weight) = chunk.weight {
        columns.push(Arc::new(Float64Array::from(weight)));
    }
    RecordBatch::try_new(schema.clone(), columns).map_err(io::Error::other)
}

// ---------------------------------------------------------------- CSV

/// The CSV header, in column order.
pub(crate) fn csv_header(attributes: &[Attribute], weights: bool) -> Vec<String> {
    let mut header: Vec<String> = ["id", "label", "score", "prediction"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    header.extend(attributes.iter().map(|a| a.name.clone()));
    if weights {
        header.push("weight".to_owned());
    }
    header
}

/// Writes the header and rows; numbers use Rust's shortest round-trip formatting, so
/// reading the CSV back gives exactly the generated values. Missing values are empty.
fn write_csv<W: Write>(
    out: W,
    columns: &Columns,
    chunks: &mut dyn Iterator<Item = Chunk>,
) -> io::Result<W> {
    let mut writer = csv::Writer::from_writer(out);
    writer.write_record(csv_header(&columns.attributes, columns.weights))?;
    let mut field = String::new();
    for chunk in chunks {
        for row in 0..chunk.len() {
            write_csv_row(&mut writer, &mut field, &columns.attributes, &chunk, row)?;
        }
    }
    writer.into_inner().map_err(|e| e.into_error())
}

fn write_csv_row<W: Write>(
    writer: &mut csv::Writer<W>,
    field: &mut String,
    attributes: &[Attribute],
    chunk: &Chunk,
    row: usize,
) -> csv::Result<()> {
    use std::fmt::Write as _;
    let mut number = |writer: &mut csv::Writer<W>, value: &dyn std::fmt::Display| {
        field.clear();
        let _ = write!(field, "{value}");
        writer.write_field(field.as_bytes())
    };
    number(writer, &(chunk.first_id + row as u64))?;
    number(writer, &chunk.label[row])?;
    number(writer, &chunk.score[row])?;
    number(writer, &chunk.prediction[row])?;
    for (attribute, codes) in attributes.iter().zip(&chunk.attributes) {
        let value = codes[row].map_or("", |c| attribute.levels[usize::from(c)].as_str());
        writer.write_field(value)?;
    }
    if let Some(weight) = &chunk.weight {
        number(writer, &weight[row])?;
    }
    writer.write_record(None::<&[u8]>)
}
