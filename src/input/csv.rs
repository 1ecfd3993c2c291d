//! CSV reader: a header row, any one-byte delimiter, quoted fields (embedded delimiters,
//! quotes and newlines), LF or CRLF line ends, an optional UTF-8 byte-order mark, gzip
//! (`.gz` file names) and standard input (`-`).
//!
//! The reader streams: it holds one [`ByteRecord`] and the batch being built, never the file.
//! Row numbers in errors count data records (the first record after the header is row 1), so a
//! quoted field spanning several lines still counts as one row; messages about malformed
//! records also give the physical line.

use std::collections::HashMap;
use std::fs::File;
use std::hash::{BuildHasherDefault, Hasher};
use std::io::{self, Read};
use std::path::Path;

use csv::{ByteRecord, ReaderBuilder};
use flate2::read::MultiGzDecoder;

use super::values::{self, Field, Invalid};
use super::{
    missing_column, Batch, Categorical, Columns, InvalidRows, Outcomes, PositionedSink, RowNumbers,
    Sink, Source, Task,
};
use crate::error::{Error, Result};

/// The UTF-8 byte-order mark some tools (Excel) write at the start of a file.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Buffer size of the CSV reader.
const BUFFER_BYTES: usize = 1 << 16;

/// Read a CSV source, handing batches of at most `batch_rows` data rows to `sink`.
///
/// Batches carry sequence numbers 0, 1, 2, … in file order and are handed on from the calling
/// thread. `batch_rows` counts rows read (kept and skipped); 0 is treated as 1. A file with a
/// header and no data rows returns `Ok(0)` without calling `sink`. Returns the number of data
/// rows read, kept and skipped.
pub fn read(source: &Source, columns: &Columns, batch_rows: usize, sink: &Sink<'_>) -> Result<u64> {
    read_positioned(source, columns, batch_rows, &|seq, batch, _| {
        sink(seq, batch)
    })
}

/// [`read`], handing each batch's [`RowNumbers`] on as well.
pub fn read_positioned(
    source: &Source,
    columns: &Columns,
    batch_rows: usize,
    sink: &PositionedSink<'_>,
) -> Result<u64> {
    let path = source.path.as_path();
    let input = skip_bom(open(source)?).map_err(|e| io_error(path, e, "the header"))?;
    let mut reader = ReaderBuilder::new()
        .delimiter(source.delimiter)
        .has_headers(false)
        .flexible(true)
        .buffer_capacity(BUFFER_BYTES)
        .from_reader(QuoteCheck::new(input, source.delimiter));
    let mut record = ByteRecord::new();
    if !next_record(&mut reader, &mut record, path, 0)? {
        return Err(schema(path, "empty file (no header row)"));
    }
    let mut line = record.position().map(|p| p.line());
    let layout = match Layout::resolve(path, &record, columns) {
        Ok(layout) => layout,
        Err(e) => return Err(unless_unterminated(&mut reader, e, path, 0, Some(1))),
    };
    let batch_rows = batch_rows.clamp(1, u32::MAX as usize);
    let mut builder = BatchBuilder::new(path, columns, layout, batch_rows);
    let (mut rows, mut seq) = (0u64, 0u64);
    while next_record(&mut reader, &mut record, path, rows + 1)? {
        rows += 1;
        line = record_line(&reader, &record);
        if let Err(e) = builder.push(&record, rows, line) {
            return Err(unless_unterminated(&mut reader, e, path, rows, line));
        }
        if builder.rows == batch_rows {
            let numbers = builder.row_numbers(rows);
            sink(seq, builder.take(), numbers)?;
            seq += 1;
        }
    }
    // An unterminated quote swallows the rest of the input into the last record's last field;
    // `csv` accepts that silently, which would lose every later row (issue 9).
    if reader.get_ref().unterminated() {
        return Err(unterminated(path, rows, line));
    }
    if builder.rows > 0 {
        let numbers = builder.row_numbers(rows);
        sink(seq, builder.take(), numbers)?;
    }
    Ok(rows)
}

/// The header and up to `rows` data rows as text (empty fields are `None`), for `fairaudit init`.
pub fn sample(source: &Source, rows: usize) -> Result<super::Sample> {
    let path = source.path.as_path();
    let (header, mut reader) = text_reader(source)?;
    let mut values = vec![Vec::new(); header.len()];
    for record in reader.records().take(rows) {
        let record = record.map_err(|e| schema(path, format!("unreadable row: {e}")))?;
        for (column, v) in values.iter_mut().enumerate() {
            let field = record.get(column).unwrap_or("");
            v.push((!field.is_empty()).then(|| field.to_string()));
        }
    }
    Ok(super::Sample {
        columns: header.into_iter().zip(values).collect(),
    })
}

/// A reader of a CSV file's records as text.
pub type TextReader = csv::Reader<Box<dyn Read>>;

/// The header of `source` and a reader of its records as text, field counts unchecked (for
/// [`sample`] and tables read field by field, such as a partials table).
pub fn text_reader(source: &Source) -> Result<(Vec<String>, TextReader)> {
    let path = source.path.as_path();
    let input = skip_bom(open(source)?).map_err(|e| Error::io(path, e))?;
    let mut reader = ReaderBuilder::new()
        .delimiter(source.delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(input);
    let mut header = csv::StringRecord::new();
    match reader.read_record(&mut header) {
        Ok(true) => Ok((header.iter().map(String::from).collect(), reader)),
        Ok(false) => Err(schema(path, "empty file (no header row)")),
        Err(e) => Err(schema(path, format!("unreadable header: {e}"))),
    }
}

/// Open the file (gunzipping `.gz`) or standard input.
fn open(source: &Source) -> Result<Box<dyn Read>> {
    if source.is_stdin() {
        return Ok(Box::new(io::stdin().lock()));
    }
    let path = source.path.as_path();
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let gzipped = path
        .extension()
        .is_some_and(|ext| ext.eq_ignore_ascii_case("gz"));
    Ok(if gzipped {
        Box::new(MultiGzDecoder::new(file))
    } else {
        Box::new(file)
    })
}

/// Drop a leading UTF-8 byte-order mark.
///
/// `csv-core` strips a BOM too, but only when its first buffer fill holds all three bytes,
/// which a pipe or a gzip stream does not promise; reading the first three bytes here makes it
/// dependable.
fn skip_bom(mut input: Box<dyn Read>) -> io::Result<Box<dyn Read>> {
    let mut head = Vec::with_capacity(BOM.len());
    input
        .by_ref()
        .take(BOM.len() as u64)
        .read_to_end(&mut head)?;
    if head == BOM {
        head.clear();
    }
    Ok(Box::new(io::Cursor::new(head).chain(input)))
}

/// Read the next record into `record`; false at end of input. `row` is the row being read
/// (0 for the header), for error messages.
fn next_record(
    reader: &mut csv::Reader<QuoteCheck<Box<dyn Read>>>,
    record: &mut ByteRecord,
    path: &Path,
    row: u64,
) -> Result<bool> {
    reader.read_byte_record(record).map_err(|e| {
        let at = if row == 0 {
            "the header".to_string()
        } else {
            format!("row {row}")
        };
        let msg = e.to_string();
        match e.into_kind() {
            csv::ErrorKind::Io(e) => io_error(path, e, &at),
            _ => schema(path, format!("{at}: malformed CSV: {msg}")),
        }
    })
}

/// `error` about the record just read, unless that record is the last and holds a quote that is
/// never closed (the field then holds the rest of the file): report the cause, not the symptom.
fn unless_unterminated(
    reader: &mut csv::Reader<QuoteCheck<Box<dyn Read>>>,
    error: Error,
    path: &Path,
    row: u64,
    line: Option<u64>,
) -> Error {
    let mut rest = ByteRecord::new();
    if matches!(reader.read_byte_record(&mut rest), Ok(false)) && reader.get_ref().unterminated() {
        unterminated(path, row, line)
    } else {
        error
    }
}

/// The physical line on which data record `record` starts. The `csv` crate counts a CRLF
/// line end when it reads the LF, which it does only at the start of the next record, so
/// every record after the header of a CRLF file reports the line before its own
/// (BurntSushi/rust-csv#395); the first line's end tells which kind of file this is.
fn record_line(
    reader: &csv::Reader<QuoteCheck<Box<dyn Read>>>,
    record: &ByteRecord,
) -> Option<u64> {
    let crlf = u64::from(reader.get_ref().crlf());
    record.position().map(|p| p.line() + crlf)
}

/// The error for a record whose quoted field is never closed.
/// `row` is the 1-based data row (0 for the header) and `line` its first physical line.
fn unterminated(path: &Path, row: u64, line: Option<u64>) -> Error {
    let at = if row == 0 {
        "the header".to_string()
    } else {
        format!("row {row}")
    };
    let line = line.map(|l| format!(" (line {l})")).unwrap_or_default();
    schema(
        path,
        format!(
            "{at}{line}: malformed CSV: a quoted field is never closed (unbalanced '\"'); \
             it would swallow the rest of the file"
        ),
    )
}

/// Where a [`QuoteCheck`] is in the CSV grammar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum QuoteState {
    /// At the start of a field.
    FieldStart,
    /// Inside an unquoted field (a quote here is data, as `csv` reads it).
    Unquoted,
    /// Inside a quoted field.
    Quoted,
    /// Just after a quote inside a quoted field: the closing quote or the first of `""`.
    QuoteInQuoted,
}

/// Passes bytes through while following the quoting of the CSV grammar, so that an
/// unterminated quoted field can be told from a closed one at the end of the input.
///
/// The `csv` crate accepts a quote that is never closed and returns the rest of the input as
/// one field: a file with a stray quote would silently lose every later row (issue 9). Chunks
/// without a quote byte are skipped with one `memchr`-backed scan.
struct QuoteCheck<R> {
    inner: R,
    delimiter: u8,
    state: QuoteState,
    /// Whether the first line ends in CRLF, once known; the last byte read, until then.
    crlf: Result<bool, u8>,
}

impl<R> QuoteCheck<R> {
    fn new(inner: R, delimiter: u8) -> Self {
        QuoteCheck {
            inner,
            delimiter,
            state: QuoteState::FieldStart,
            crlf: Err(0),
        }
    }

    /// True once the first line is known to end in CRLF.
    fn crlf(&self) -> bool {
        self.crlf == Ok(true)
    }

    /// True when the input read so far ends inside a quoted field.
    fn unterminated(&self) -> bool {
        self.state == QuoteState::Quoted
    }

    fn scan(&mut self, bytes: &[u8]) {
        use QuoteState::*;
        let Some(&last) = bytes.last() else { return };
        let is_end = |b: u8| b == self.delimiter || b == b'\n' || b == b'\r';
        if !bytes.contains(&b'"') {
            self.state = match self.state {
                Quoted => Quoted,
                _ if is_end(last) => FieldStart,
                _ => Unquoted,
            };
            return;
        }
        for &b in bytes {
            self.state = match (self.state, b) {
                (FieldStart, b'"') => Quoted,
                (Quoted, b'"') => QuoteInQuoted,
                (Quoted, _) => Quoted,
                (QuoteInQuoted, b'"') => Quoted,
                (_, b) if is_end(b) => FieldStart,
                _ => Unquoted,
            };
        }
    }
}

impl<R: Read> Read for QuoteCheck<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let bytes = &buf[..n];
        if let Err(last) = self.crlf {
            self.crlf = match bytes.iter().position(|&b| b == b'\n') {
                Some(0) => Ok(last == b'\r'),
                Some(i) => Ok(bytes[i - 1] == b'\r'),
                None => Err(bytes.last().copied().unwrap_or(last)),
            };
        }
        self.scan(bytes);
        Ok(n)
    }
}

/// An I/O error while reading: corrupt data (e.g. a damaged gzip stream) is a schema error
/// naming where it happened, anything else an operating-system error.
fn io_error(path: &Path, e: io::Error, at: &str) -> Error {
    match e.kind() {
        io::ErrorKind::InvalidData | io::ErrorKind::InvalidInput | io::ErrorKind::UnexpectedEof => {
            schema(path, format!("cannot decode input at {at}: {e}"))
        }
        _ => Error::io(path, e),
    }
}

/// Shorthand for an [`Error::Schema`].
fn schema(path: &Path, msg: impl Into<String>) -> Error {
    Error::Schema {
        path: path.to_path_buf(),
        msg: msg.into(),
    }
}

/// Where the needed columns are in each record.
#[derive(Debug)]
struct Layout {
    label: usize,
    prediction: Option<usize>,
    score: Option<usize>,
    weight: Option<usize>,
    protected: Vec<usize>,
    /// Multiclass: the score column of each class of [`Columns::class_scores`].
    class_scores: Vec<usize>,
    /// Number of fields in the header; every record must have exactly this many.
    width: usize,
}

impl Layout {
    /// Find every needed column in the header.
    fn resolve(path: &Path, header: &ByteRecord, columns: &Columns) -> Result<Layout> {
        let names: Vec<String> = header
            .iter()
            .map(|f| String::from_utf8_lossy(f).into_owned())
            .collect();
        let find = |name: &str| -> Result<usize> {
            let mut hits = names.iter().enumerate().filter(|(_, n)| *n == name);
            match (hits.next(), hits.count()) {
                (None, _) => Err(with_delimiter_hint(
                    missing_column(path, name, &names),
                    &names,
                )),
                (Some((i, _)), 0) => Ok(i),
                (Some(_), more) => Err(schema(
                    path,
                    format!("column '{name}' appears {} times in the header", more + 1),
                )),
            }
        };
        let find_opt = |name: &Option<String>| name.as_deref().map(find).transpose();
        Ok(Layout {
            label: find(&columns.label)?,
            prediction: find_opt(&columns.prediction)?,
            score: find_opt(&columns.score)?,
            weight: find_opt(&columns.weight)?,
            protected: columns
                .protected
                .iter()
                .map(|n| find(n))
                .collect::<Result<_>>()?,
            class_scores: (columns.class_scores.iter())
                .map(|(_, n)| find(n))
                .collect::<Result<_>>()?,
            width: names.len(),
        })
    }
}

/// A header read as one column that holds another common delimiter was probably split with
/// the wrong one: say so.
fn with_delimiter_hint(error: Error, names: &[String]) -> Error {
    let guess = match names {
        [only] => [(';', "';'"), ('\t', "tab"), ('|', "'|'"), (',', "','")]
            .into_iter()
            .find(|(c, _)| only.contains(*c)),
        _ => None,
    };
    match (error, guess) {
        (Error::Schema { path, msg }, Some((_, name))) => Error::Schema {
            path,
            msg: format!(
                "{msg} (the header has one column: is the delimiter {name}? set --delimiter)"
            ),
        },
        (error, _) => error,
    }
}

/// The validated values of one row.
struct Parsed {
    label: bool,
    decision: bool,
    score: Option<f64>,
    weight: Option<f64>,
    outcome: RowOutcome,
    /// Multiclass: the score of each class of [`Columns::class_scores`].
    class_scores: Vec<f64>,
}

/// A row's non-binary outcome (issue 11).
enum RowOutcome {
    /// Binary (or multiclass collapsed by `favorable`): in `label` and `decision`.
    Binary,
    /// Multiclass: the label's and the prediction's (trimmed) class are interned in `keep`.
    Classes,
    /// Regression: label and prediction.
    Values(f64, f64),
}

/// The multiclass dictionaries or regression values of the batch being built.
#[derive(Default)]
struct OutcomeBuilder {
    label_classes: Interner,
    prediction_classes: Interner,
    label_values: Vec<f64>,
    prediction_values: Vec<f64>,
    scores: Vec<Vec<f64>>,
}

/// Builds one batch at a time from records.
struct BatchBuilder<'a> {
    path: &'a Path,
    columns: &'a Columns,
    layout: Layout,
    capacity: usize,
    batch: Batch,
    interners: Vec<Interner>,
    outcomes: OutcomeBuilder,
    /// Rows read into the current batch, kept and skipped.
    rows: usize,
    /// Offsets within the current batch of the rows skipped.
    skipped_at: Vec<u32>,
}

impl<'a> BatchBuilder<'a> {
    fn new(path: &'a Path, columns: &'a Columns, layout: Layout, batch_rows: usize) -> Self {
        let mut builder = BatchBuilder {
            path,
            columns,
            layout,
            capacity: batch_rows.min(super::DEFAULT_BATCH_ROWS),
            batch: Batch::default(),
            interners: Vec::new(),
            outcomes: OutcomeBuilder::default(),
            rows: 0,
            skipped_at: Vec::new(),
        };
        builder.reset();
        builder
    }

    /// Start an empty batch.
    fn reset(&mut self) {
        let n = self.capacity;
        self.batch = Batch {
            label: Vec::with_capacity(n),
            prediction: Vec::with_capacity(n),
            score: (self.layout.score.is_some() || self.columns.sums_class_scores())
                .then(|| Vec::with_capacity(n)),
            weight: self.layout.weight.map(|_| Vec::with_capacity(n)),
            ..Batch::default()
        };
        self.interners = self
            .layout
            .protected
            .iter()
            .map(|_| Interner::default())
            .collect();
        self.rows = 0;
        self.skipped_at.clear();
    }

    /// Where the current batch's rows are, when `rows_read` data rows have been read in all.
    fn row_numbers(&self, rows_read: u64) -> RowNumbers {
        RowNumbers {
            first: rows_read + 1 - self.rows as u64,
            skipped: self.skipped_at.clone(),
        }
    }

    /// Hand out the current batch and start a new one.
    fn take(&mut self) -> Batch {
        let interners = std::mem::take(&mut self.interners);
        let mut batch = std::mem::take(&mut self.batch);
        batch.protected = interners.into_iter().map(|i| i.categorical).collect();
        let o = std::mem::take(&mut self.outcomes);
        batch.outcomes = match (self.columns.task, self.columns.favorable.is_empty()) {
            (Task::Multiclass, true) => Some(Outcomes::Classes {
                label: o.label_classes.categorical,
                prediction: o.prediction_classes.categorical,
                scores: if o.scores.is_empty() {
                    vec![Vec::new(); self.columns.class_scores.len()]
                } else {
                    o.scores
                },
            }),
            (Task::Regression, _) => Some(Outcomes::Values {
                label: o.label_values,
                prediction: o.prediction_values,
            }),
            _ => None,
        };
        self.reset();
        batch
    }

    /// Add data row number `row` (1-based), or count it as skipped.
    fn push(&mut self, record: &ByteRecord, row: u64, line: Option<u64>) -> Result<()> {
        self.rows += 1;
        if record.len() != self.layout.width {
            let line = line.map(|l| format!(" (line {l})")).unwrap_or_default();
            return Err(schema(
                self.path,
                format!(
                    "row {row}{line}: {} fields, but the header has {}",
                    record.len(),
                    self.layout.width
                ),
            ));
        }
        match self.parse(record) {
            Ok(parsed) => self.keep(record, row, parsed),
            Err((field, Invalid(msg))) => match self.columns.invalid_rows {
                InvalidRows::Error => Err(Error::Input {
                    path: self.path.to_path_buf(),
                    row,
                    column: column_name(self.columns, field).to_string(),
                    msg,
                }),
                InvalidRows::Skip => {
                    let reason = field.skip_reason().to_string();
                    *self.batch.skipped.entry(reason).or_insert(0) += 1;
                    self.skipped_at.push((self.rows - 1) as u32);
                    Ok(())
                }
            },
        }
    }

    /// Validate label, prediction, score and weight, in that order.
    fn parse(&self, record: &ByteRecord) -> Result<Parsed, (Field, Invalid)> {
        let (label, prediction, outcome) = self.parse_outcome(record)?;
        let score = self
            .layout
            .score
            .map(|i| text(record, i).and_then(values::parse_score))
            .transpose()
            .map_err(|e| (Field::Score, e))?;
        let weight = self
            .layout
            .weight
            .map(|i| text(record, i).and_then(values::parse_weight))
            .transpose()
            .map_err(|e| (Field::Weight, e))?;
        let class_scores = (self.layout.class_scores.iter().enumerate())
            .map(|(k, &i)| {
                text(record, i)
                    .and_then(values::parse_score)
                    .map_err(|e| (Field::ClassScore(k as u16), e))
            })
            .collect::<Result<Vec<f64>, _>>()?;
        let score = match self.columns.sums_class_scores() {
            true => Some(values::favorable_score(&class_scores).map_err(|e| {
                (
                    Field::ClassScore(class_scores.len().saturating_sub(1) as u16),
                    e,
                )
            })?),
            false => score,
        };
        Ok(Parsed {
            label,
            decision: values::decision(prediction, score, self.columns.threshold),
            score,
            weight,
            outcome,
            class_scores,
        })
    }

    /// The label and prediction of a row as the task reads them: binary values (also for a
    /// multiclass task collapsed by `favorable`), classes or numbers.
    #[allow(clippy::type_complexity)] // (label, prediction, outcome) of one row
    fn parse_outcome(
        &self,
        record: &ByteRecord,
    ) -> Result<(bool, Option<bool>, RowOutcome), (Field, Invalid)> {
        let (label_at, prediction_at) = (self.layout.label, self.layout.prediction);
        let columns = self.columns;
        match columns.task {
            Task::Binary => {
                let positive = columns.positive_label.as_deref();
                let binary =
                    |i: usize| text(record, i).and_then(|t| values::parse_binary(t, positive));
                let label = binary(label_at).map_err(|e| (Field::Label, e))?;
                let prediction =
                    (prediction_at.map(binary).transpose()).map_err(|e| (Field::Prediction, e))?;
                Ok((label, prediction, RowOutcome::Binary))
            }
            Task::Multiclass => {
                let class = |i: usize| text(record, i).and_then(values::parse_class);
                let label = class(label_at).map_err(|e| (Field::Label, e))?;
                let prediction =
                    (prediction_at.map(class).transpose()).map_err(|e| (Field::Prediction, e))?;
                if columns.favorable.is_empty() {
                    return Ok((false, Some(false), RowOutcome::Classes));
                }
                let favorable = |c: &str| columns.favorable.iter().any(|f| f == c);
                Ok((
                    favorable(label),
                    prediction.map(favorable),
                    RowOutcome::Binary,
                ))
            }
            Task::Regression => {
                let number = |i: usize| text(record, i).and_then(values::parse_number);
                let label = number(label_at).map_err(|e| (Field::Label, e))?;
                // The spec requires a prediction column for regression.
                let prediction = (prediction_at.map(number).transpose())
                    .map_err(|e| (Field::Prediction, e))?
                    .unwrap_or(f64::NAN);
                Ok((false, Some(false), RowOutcome::Values(label, prediction)))
            }
        }
    }

    /// Append a valid row; fails only on a protected value that is not UTF-8.
    fn keep(&mut self, record: &ByteRecord, row: u64, parsed: Parsed) -> Result<()> {
        for (k, (&i, interner)) in self
            .layout
            .protected
            .iter()
            .zip(&mut self.interners)
            .enumerate()
        {
            let bytes = record.get(i).unwrap_or_default();
            interner.push(bytes).map_err(|_| Error::Input {
                path: self.path.to_path_buf(),
                row,
                column: self.columns.protected[k].clone(),
                msg: "value is not valid UTF-8".into(),
            })?;
        }
        match parsed.outcome {
            RowOutcome::Binary => {}
            RowOutcome::Classes => {
                let o = &mut self.outcomes;
                let trimmed = |i: Option<usize>| -> &[u8] {
                    let t = i.map(|i| text(record, i).and_then(values::parse_class));
                    t.and_then(|t| t.ok()).unwrap_or_default().as_bytes()
                };
                // Both were checked to be UTF-8 and non-empty in `parse`.
                let _ = o.label_classes.push(trimmed(Some(self.layout.label)));
                let _ = o.prediction_classes.push(trimmed(self.layout.prediction));
                o.scores.resize(parsed.class_scores.len(), Vec::new());
                for (v, s) in o.scores.iter_mut().zip(&parsed.class_scores) {
                    v.push(*s);
                }
            }
            RowOutcome::Values(label, prediction) => {
                self.outcomes.label_values.push(label);
                self.outcomes.prediction_values.push(prediction);
            }
        }
        let batch = &mut self.batch;
        batch.label.push(parsed.label);
        batch.prediction.push(parsed.decision);
        if let (Some(v), Some(s)) = (batch.score.as_mut(), parsed.score) {
            v.push(s);
        }
        if let (Some(v), Some(w)) = (batch.weight.as_mut(), parsed.weight) {
            v.push(w);
        }
        Ok(())
    }
}

/// Field `i` of a record as text (the layout guarantees it exists).
fn text(record: &ByteRecord, i: usize) -> Result<&str, Invalid> {
    std::str::from_utf8(record.get(i).unwrap_or_default())
        .map_err(|_| Invalid("value is not valid UTF-8".into()))
}

/// The column a field was read from, as named in [`Columns`].
fn column_name(columns: &Columns, field: Field) -> &str {
    let name = match field {
        Field::Label => return &columns.label,
        Field::Prediction => &columns.prediction,
        Field::Score => &columns.score,
        Field::Weight => &columns.weight,
        Field::ClassScore(k) => {
            return columns
                .class_scores
                .get(usize::from(k))
                .map_or("", |(_, c)| c.as_str())
        }
    };
    name.as_deref().unwrap_or_default()
}

/// A fast hasher for the short byte strings of protected values, eight bytes at a time (the
/// multiply–rotate step of rustc's FxHash). Not resistant to chosen collisions, which a CSV
/// could only use to slow its own audit down: the group limit (`--max-groups`) still holds.
#[derive(Debug, Default, Clone, Copy)]
struct WordHasher(u64);

impl WordHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for WordHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            self.add(u64::from_le_bytes(chunk.try_into().unwrap_or_default()));
        }
        let rest = chunks.remainder();
        let mut last = [0u8; 8];
        last[..rest.len()].copy_from_slice(rest);
        self.add(u64::from_le_bytes(last) ^ ((rest.len() as u64) << 59));
    }
}

/// Turns one protected column's raw values into a [`Categorical`], levels in first-seen order.
#[derive(Default)]
struct Interner {
    codes: HashMap<Box<[u8]>, u32, BuildHasherDefault<WordHasher>>,
    missing: Option<u32>,
    categorical: Categorical,
}

impl Interner {
    /// Append the code of `bytes`; an empty field is the missing value.
    fn push(&mut self, bytes: &[u8]) -> Result<(), std::str::Utf8Error> {
        let code = if bytes.is_empty() {
            self.missing_code()
        } else {
            self.code(bytes)?
        };
        self.categorical.codes.push(code);
        Ok(())
    }

    fn code(&mut self, bytes: &[u8]) -> Result<u32, std::str::Utf8Error> {
        if let Some(&code) = self.codes.get(bytes) {
            return Ok(code);
        }
        let level = std::str::from_utf8(bytes)?.to_owned();
        let code = self.add_level(Some(level));
        self.codes.insert(bytes.into(), code);
        Ok(code)
    }

    fn missing_code(&mut self) -> u32 {
        match self.missing {
            Some(code) => code,
            None => {
                let code = self.add_level(None);
                self.missing = Some(code);
                code
            }
        }
    }

    /// Levels never outnumber the rows of a batch, which are capped at `u32::MAX`.
    fn add_level(&mut self, level: Option<String>) -> u32 {
        self.categorical.levels.push(level);
        (self.categorical.levels.len() - 1) as u32
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;
    use crate::input::test_util::{collect, columns};

    /// Write `bytes` to a temporary file named `name`.
    fn file(name: &str, bytes: &[u8]) -> (tempfile::TempDir, Source) {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).expect("write");
        (dir, Source::from_path(path, b','))
    }

    /// Read everything, returning (sequence number, batch) pairs and the row count.
    fn read_all(
        source: &Source,
        cols: &Columns,
        batch_rows: usize,
    ) -> Result<(Vec<(u64, Batch)>, u64)> {
        collect(|sink| read(source, cols, batch_rows, sink))
    }

    /// The values of a categorical, row by row.
    fn decode(c: &Categorical) -> Vec<Option<&str>> {
        c.codes
            .iter()
            .map(|&k| c.levels[k as usize].as_deref())
            .collect()
    }

    #[test]
    fn basic_parse() {
        let (_d, src) = file(
            "a.csv",
            b"label,score,prediction,race\n1,0.9,1,A\n0,0.2,0,B\ntrue,0.4,false,A\n",
        );
        let (batches, rows) = read_all(&src, &columns(&["race"]), 100).unwrap();
        assert_eq!(rows, 3);
        assert_eq!(batches.len(), 1);
        let (seq, b) = &batches[0];
        assert_eq!(*seq, 0);
        assert_eq!(b.label, vec![true, false, true]);
        assert_eq!(b.prediction, vec![true, false, false]);
        assert_eq!(b.score, Some(vec![0.9, 0.2, 0.4]));
        assert_eq!(b.weight, None);
        // Levels in first-seen order.
        assert_eq!(
            b.protected[0].levels,
            vec![Some("A".into()), Some("B".into())]
        );
        assert_eq!(b.protected[0].codes, vec![0, 1, 0]);
    }

    #[test]
    fn decision_from_score_and_batching() {
        // No prediction column: decision = score >= 0.5. Batches of 2 rows: 2 + 2 + 1.
        let (_d, src) = file(
            "a.csv",
            b"score,label,g\n0.5,1,x\n0.49,1,x\n0.7,0,y\n0,0,y\n1,1,z\n",
        );
        let cols = Columns {
            prediction: None,
            ..columns(&["g"])
        };
        let (batches, rows) = read_all(&src, &cols, 2).unwrap();
        assert_eq!(rows, 5);
        let seqs: Vec<u64> = batches.iter().map(|(s, _)| *s).collect();
        assert_eq!(seqs, vec![0, 1, 2]);
        let decisions: Vec<bool> = batches
            .iter()
            .flat_map(|(_, b)| b.prediction.clone())
            .collect();
        assert_eq!(decisions, vec![true, false, true, false, true]);
        // Each batch has its own dictionary.
        assert_eq!(
            decode(&batches[1].1.protected[0]),
            vec![Some("y"), Some("y")]
        );
        assert_eq!(batches[1].1.protected[0].levels.len(), 1);
    }

    #[test]
    fn crlf_line_ends() {
        let (_d, src) = file(
            "a.csv",
            b"label,score,prediction,g\r\n1,0.9,1,A\r\n0,0.1,0,B\r\n",
        );
        let (batches, _) = read_all(&src, &columns(&["g"]), 10).unwrap();
        // No stray '\r' in the last field.
        assert_eq!(
            decode(&batches[0].1.protected[0]),
            vec![Some("A"), Some("B")]
        );
    }

    #[test]
    fn bom_is_stripped() {
        // The BOM would otherwise be glued to the first column name, "label".
        let (_d, src) = file("a.csv", b"\xEF\xBB\xBFlabel,score,prediction\n1,0.9,1\n");
        let (_, rows) = read_all(&src, &columns(&[]), 10).unwrap();
        assert_eq!(rows, 1);
    }

    #[test]
    fn bom_in_gzip_is_stripped() {
        let (_d, src) = file(
            "a.csv.gz",
            &gzip(b"\xEF\xBB\xBFlabel,score,prediction\n1,0.9,1\n"),
        );
        let (_, rows) = read_all(&src, &columns(&[]), 10).unwrap();
        assert_eq!(rows, 1);
    }

    #[test]
    fn quoted_fields() {
        // A quoted protected value holding the delimiter, a newline and an escaped quote.
        let data = b"label,score,prediction,g\n1,0.9,1,\"a,b\nc \"\"q\"\"\"\n0,0.1,0,plain\n";
        let (_d, src) = file("a.csv", data);
        let (batches, rows) = read_all(&src, &columns(&["g"]), 10).unwrap();
        assert_eq!(rows, 2);
        assert_eq!(
            decode(&batches[0].1.protected[0]),
            vec![Some("a,b\nc \"q\""), Some("plain")]
        );
    }

    #[test]
    fn other_delimiter() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.tsv");
        std::fs::write(&path, b"label;score;prediction;g\n1;0,9x;1;A,B\n").unwrap();
        // ';' separates; the comma inside "A,B" is data. The score is invalid on purpose.
        let src = Source::from_path(&path, b';');
        let err = read_all(&src, &columns(&["g"]), 10)
            .unwrap_err()
            .to_string();
        assert!(err.contains("row 1, column 'score'"), "{err}");
        std::fs::write(&path, b"label;score;prediction;g\n1;0.9;1;A,B\n").unwrap();
        let (batches, _) = read_all(&src, &columns(&["g"]), 10).unwrap();
        assert_eq!(decode(&batches[0].1.protected[0]), vec![Some("A,B")]);
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(bytes).unwrap();
        enc.finish().unwrap()
    }

    #[test]
    fn gzip_input() {
        let (_d, src) = file(
            "x.csv.gz",
            &gzip(b"label,score,prediction,g\n1,0.9,1,A\n0,0.1,0,B\n"),
        );
        let (batches, rows) = read_all(&src, &columns(&["g"]), 10).unwrap();
        assert_eq!(rows, 2);
        assert_eq!(batches[0].1.label, vec![true, false]);
    }

    #[test]
    fn corrupt_gzip_is_a_schema_error() {
        let (_d, src) = file("x.csv.gz", b"label,score\nnot gzip at all\n");
        let err = read_all(&src, &columns(&[]), 10).unwrap_err();
        assert!(matches!(err, Error::Schema { .. }), "{err}");
    }

    #[test]
    fn missing_column_lists_header() {
        let (_d, src) = file("a.csv", b"lable,score,prediction\n1,0.5,1\n");
        let err = read_all(&src, &columns(&[]), 10).unwrap_err().to_string();
        assert!(err.contains("no column named 'label'"), "{err}");
        assert!(err.contains("did you mean 'lable'"), "{err}");
        assert!(err.contains("lable, score, prediction"), "{err}");
    }

    #[test]
    fn duplicate_needed_column() {
        // A duplicated column that is not needed ("x") is fine; a needed one is not.
        let (_d, src) = file("a.csv", b"label,score,prediction,x,x\n1,0.5,1,a,b\n");
        assert!(read_all(&src, &columns(&[]), 10).is_ok());
        let (_d, src) = file("a.csv", b"label,score,prediction,label\n1,0.5,1,0\n");
        let err = read_all(&src, &columns(&[]), 10).unwrap_err().to_string();
        assert!(err.contains("'label' appears 2 times"), "{err}");
    }

    #[test]
    fn bad_label_names_row_and_column() {
        // Row 3 (the third data row) has label 2.
        let (_d, src) = file(
            "a.csv",
            b"label,score,prediction\n1,0.5,1\n0,0.5,1\n2,0.5,1\n",
        );
        let err = read_all(&src, &columns(&[]), 10).unwrap_err();
        assert_eq!(err.row(), Some(3));
        let msg = err.to_string();
        assert!(msg.contains("row 3, column 'label'"), "{msg}");
        assert!(msg.contains("'2' is not binary"), "{msg}");
    }

    #[test]
    fn positive_label() {
        let (_d, src) = file(
            "a.csv",
            b"label,score,prediction\n>50K,0.5,>50K\n<=50K,0.5,x\n",
        );
        let cols = Columns {
            positive_label: Some(">50K".into()),
            ..columns(&[])
        };
        let (batches, _) = read_all(&src, &cols, 10).unwrap();
        assert_eq!(batches[0].1.label, vec![true, false]);
        assert_eq!(batches[0].1.prediction, vec![true, false]);
    }

    #[test]
    fn skip_mode_counts_reasons() {
        // Row 2: bad label; row 3: score > 1; row 4: missing prediction; row 5: negative weight.
        let data = b"label,score,prediction,w,g\n\
                     1,0.5,1,1,A\n\
                     x,0.5,1,1,A\n\
                     1,1.5,1,1,B\n\
                     1,0.5,,1,B\n\
                     1,0.5,1,-1,B\n\
                     0,0.1,0,2,C\n";
        let (_d, src) = file("a.csv", data);
        let cols = Columns {
            weight: Some("w".into()),
            invalid_rows: InvalidRows::Skip,
            ..columns(&["g"])
        };
        let (batches, rows) = read_all(&src, &cols, 3).unwrap();
        assert_eq!(rows, 6);
        let kept: usize = batches.iter().map(|(_, b)| b.len()).sum();
        assert_eq!(kept, 2);
        let mut skipped = std::collections::BTreeMap::new();
        for (_, b) in &batches {
            for (k, v) in &b.skipped {
                *skipped.entry(k.clone()).or_insert(0) += v;
            }
        }
        let expected: Vec<(&str, u64)> = vec![
            ("invalid_label", 1),
            ("invalid_prediction", 1),
            ("invalid_score", 1),
            ("invalid_weight", 1),
        ];
        let got: Vec<(&str, u64)> = skipped.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        assert_eq!(got, expected);
        // Skipped rows leave no codes behind; the second batch keeps only "C".
        assert_eq!(decode(&batches[1].1.protected[0]), vec![Some("C")]);
        assert_eq!(batches[1].1.weight, Some(vec![2.0]));
    }

    #[test]
    fn row_numbers_name_the_kept_rows_whatever_the_batch_size() {
        // Rows 2, 3 and 5 are bad and skipped; rows 1, 4, 6 and 7 are kept.
        let data = b"label,score,g\n1,0.5,A\nx,0.5,A\n1,1.5,B\n0,0.5,B\n1,-1,B\n0,0.1,C\n1,0.9,C\n";
        let (_d, src) = file("a.csv", data);
        let cols = Columns {
            prediction: None,
            score: Some("score".into()),
            invalid_rows: InvalidRows::Skip,
            ..columns(&["g"])
        };
        for batch_rows in [1, 2, 3, 4, 100] {
            let kept: std::sync::Mutex<Vec<u64>> = Default::default();
            let sink = |_: u64, b: Batch, numbers: RowNumbers| {
                kept.lock().unwrap().extend(numbers.kept(b.len()));
                Ok(())
            };
            read_positioned(&src, &cols, batch_rows, &sink).unwrap();
            assert_eq!(kept.into_inner().unwrap(), [1, 4, 6, 7], "{batch_rows}");
        }
    }

    #[test]
    fn multiclass_and_regression_outcomes() {
        let data = b"y,p,g\n a ,b,x\nc,a,y\n,a,x\n";
        let (_d, src) = file("a.csv", data);
        let cols = Columns {
            label: "y".into(),
            score: None,
            prediction: Some("p".into()),
            task: Task::Multiclass,
            invalid_rows: InvalidRows::Skip,
            ..columns(&["g"])
        };
        let (batches, _) = read_all(&src, &cols, 2).unwrap();
        let classes: Vec<(Option<&str>, Option<&str>)> = (batches.iter())
            .flat_map(|(_, b)| {
                let Some(Outcomes::Classes {
                    label, prediction, ..
                }) = &b.outcomes
                else {
                    return Vec::new();
                };
                decode(label).into_iter().zip(decode(prediction)).collect()
            })
            .collect();
        assert_eq!(classes, [(Some("a"), Some("b")), (Some("c"), Some("a"))]);
        let skipped: u64 = batches
            .iter()
            .map(|(_, b)| b.skipped.values().sum::<u64>())
            .sum();
        assert_eq!(skipped, 1, "the empty label of row 3");
        // Class scores: one vector per scored class; an invalid score names its column.
        let (_d, src) = file("c.csv", b"y,p,g,sa\na,b,x,0.25\nb,b,y,1\n");
        let scored = Columns {
            class_scores: vec![("a".into(), "sa".into())],
            invalid_rows: InvalidRows::Error,
            ..cols.clone()
        };
        let (batches, _) = read_all(&src, &scored, 10).unwrap();
        let Some(Outcomes::Classes { scores, .. }) = &batches[0].1.outcomes else {
            panic!("no classes")
        };
        assert_eq!(scores, &vec![vec![0.25, 1.0]]);
        let (_d, src) = file("d.csv", b"y,p,g,sa\na,b,x,0.25\nb,b,y,1.5\n");
        let msg = read_all(&src, &scored, 10).unwrap_err().to_string();
        assert!(msg.contains("row 2, column 'sa'"), "{msg}");
        // Regression: a non-number names its row and column.
        let (_d, src) = file("b.csv", b"y,p,g\n1.5,2,x\n2,abc,y\n");
        let cols = Columns {
            task: Task::Regression,
            invalid_rows: InvalidRows::Error,
            ..cols
        };
        let msg = read_all(&src, &cols, 10).unwrap_err().to_string();
        assert!(
            msg.contains("row 2, column 'p': 'abc' is not a number"),
            "{msg}"
        );
    }

    #[test]
    fn ragged_row_names_the_row() {
        let (_d, src) = file("a.csv", b"label,score,prediction\n1,0.5,1\n0,0.5\n");
        let cols = Columns {
            invalid_rows: InvalidRows::Skip,
            ..columns(&[])
        };
        // Never skipped, even in skip mode.
        let err = read_all(&src, &cols, 10).unwrap_err().to_string();
        assert!(
            err.contains("row 2 (line 3): 2 fields, but the header has 3"),
            "{err}"
        );
    }

    #[test]
    fn crlf_files_give_the_lines_of_lf_files() {
        // The `csv` crate reports each record after the header of a CRLF file on the line
        // before its own (BurntSushi/rust-csv#395); the messages must not depend on line ends.
        let cases: [&[u8]; 3] = [
            b"label,score,prediction,g\n1,0.5,1,a\n0,0.5\n",
            b"label,score,prediction,g\n1,0.5,1,\"a\nb\"\n0,0.2,0,a\n1,0.3\n",
            b"label,score,prediction,g\n1,0.5,1,a\n0,0.2,0,\"a\n1,0.3,1,b\n",
        ];
        for lf in cases {
            let crlf: Vec<u8> = (lf.iter())
                .flat_map(|&b| {
                    if b == b'\n' {
                        vec![b'\r', b'\n']
                    } else {
                        vec![b]
                    }
                })
                .collect();
            let error = |bytes: &[u8]| {
                let (_d, src) = file("a.csv", bytes);
                let e = read_all(&src, &columns(&["g"]), 10).unwrap_err();
                let e = e.to_string();
                e.split_once("a.csv: ").unwrap().1.to_string() // without the temporary path
            };
            let (want, got) = (error(lf), error(&crlf));
            assert!(want.contains("(line "), "{want}");
            assert_eq!(got, want);
        }
    }

    #[test]
    fn non_utf8_protected_value() {
        let (_d, src) = file(
            "a.csv",
            b"label,score,prediction,g\n1,0.5,1,ok\n1,0.5,1,\xFF\n",
        );
        let err = read_all(&src, &columns(&["g"]), 10)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("row 2, column 'g': value is not valid UTF-8"),
            "{err}"
        );
    }

    #[test]
    fn empty_protected_value_is_missing() {
        // Empty is None; a space is kept as written.
        let (_d, src) = file(
            "a.csv",
            b"label,score,prediction,g\n1,0.5,1,\n1,0.5,1, \n1,0.5,1,\"\"\n",
        );
        let (batches, _) = read_all(&src, &columns(&["g"]), 10).unwrap();
        let g = &batches[0].1.protected[0];
        assert_eq!(decode(g), vec![None, Some(" "), None]);
        assert_eq!(g.levels, vec![None, Some(" ".into())]);
    }

    #[test]
    fn unterminated_quote_is_an_error_not_one_long_field() {
        // Issue 9: `csv` would read row 1's last field as "a\n0,0.2,0,b\n" and lose row 2.
        let (_d, src) = file(
            "a.csv",
            b"label,score,prediction,g\n1,0.5,1,\"a\n0,0.2,0,b\n",
        );
        let err = read_all(&src, &columns(&["g"]), 10)
            .unwrap_err()
            .to_string();
        assert!(err.contains("row 1 (line 2): malformed CSV"), "{err}");
        assert!(err.contains("never closed"), "{err}");
        // In the score column the value error gives way to the cause.
        let (_d, src) = file(
            "a.csv",
            b"label,score,prediction\n1,0.5,1\n1,\"0.5,1\n0,0.2,0\n",
        );
        let err = read_all(&src, &columns(&[]), 10).unwrap_err().to_string();
        assert!(err.contains("row 2 (line 3): malformed CSV"), "{err}");
        // In the header.
        let (_d, src) = file("a.csv", b"label,\"score,prediction\n1,0.5,1\n");
        let err = read_all(&src, &columns(&[]), 10).unwrap_err().to_string();
        assert!(err.contains("the header (line 1): malformed CSV"), "{err}");
    }

    #[test]
    fn closed_and_literal_quotes_are_fine() {
        // A closed quoted field with "" and a newline; a quote inside an unquoted field is data.
        let (_d, src) = file(
            "a.csv",
            b"label,score,prediction,g\n1,0.5,1,\"x \"\"y\"\"\nz\"\n0,0.2,0,5'10\"\n",
        );
        let (batches, rows) = read_all(&src, &columns(&["g"]), 10).unwrap();
        assert_eq!(rows, 2);
        assert_eq!(
            decode(&batches[0].1.protected[0]),
            vec![Some("x \"y\"\nz"), Some("5'10\"")]
        );
    }

    #[test]
    fn quote_check_follows_chunks() {
        // The state carries across reads, whatever the chunking.
        let data = b"a,\"b\nc\",d\n\"e\"\"\",f\n";
        for chunk in 1..data.len() {
            let mut q = QuoteCheck::new(&data[..], b',');
            for part in data.chunks(chunk) {
                q.scan(part);
            }
            assert!(!q.unterminated(), "chunk {chunk}");
            let mut q = QuoteCheck::new(&data[..], b',');
            for part in data[..data.len() - 4].chunks(chunk) {
                q.scan(part);
            }
            assert!(q.unterminated(), "chunk {chunk}");
        }
    }

    #[test]
    fn wrong_delimiter_is_suggested() {
        let (_d, src) = file("a.csv", b"label;score;prediction\n1;0.5;1\n");
        let err = read_all(&src, &columns(&[]), 10).unwrap_err().to_string();
        assert!(err.contains("is the delimiter ';'?"), "{err}");
    }

    #[test]
    fn header_only_and_empty_file() {
        // Header only: zero rows, the sink is never called.
        let (_d, src) = file("a.csv", b"label,score,prediction\n");
        let (batches, rows) = read_all(&src, &columns(&[]), 10).unwrap();
        assert_eq!((batches.len(), rows), (0, 0));
        let (_d, src) = file("a.csv", b"");
        let err = read_all(&src, &columns(&[]), 10).unwrap_err().to_string();
        assert!(err.contains("empty file"), "{err}");
    }
}
