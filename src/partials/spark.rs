//! Spark Connect engine (feature `spark`, issue 8): the partials query runs on a Spark Connect
//! server (Apache Spark 4, Databricks, Sail), and only its small result comes back, as Arrow.

use std::path::Path;

use spark_connect::SparkSession;

use super::sql::{partials_query, Dialect, ScoreKey};
use super::PartialRow;
use crate::error::{Error, Result};
use crate::input::{Columns, Format, Source};

/// Where the predictions are, as the server sees them.
#[derive(Debug, Clone)]
pub enum SparkInput<'a> {
    /// A table or view of the server's catalog.
    Table(&'a str),
    /// A CSV (with a header) or Parquet file or directory, readable by the server.
    Data(&'a Source),
}

/// The name under which `--data` is registered as a temporary view.
const VIEW: &str = "fairaudit_predictions";

/// Run the partials query on the Spark Connect server at `url` (`sc://host:port`), calling
/// `f(row number, row)` for each row of its result.
pub fn partials(
    url: &str,
    input: SparkInput<'_>,
    columns: &Columns,
    bins: usize,
    key: ScoreKey,
    f: &mut dyn FnMut(u64, &PartialRow) -> Result<()>,
) -> Result<()> {
    let fail = |what: &str, e: spark_connect::SparkError| Error::Schema {
        path: url.into(),
        msg: format!("{what}: {e}"),
    };
    let session = SparkSession::builder()
        .remote(url)
        .get_or_create()
        .map_err(|e| fail("cannot connect to the Spark Connect server", e))?;
    let table = match input {
        SparkInput::Table(name) => name.to_string(),
        SparkInput::Data(source) => {
            let path = source.path.display().to_string();
            let frame = match source.format {
                Format::Parquet => session.read().parquet(&path),
                Format::Csv => session
                    .read()
                    .option("header", "true")
                    .option("sep", &char::from(source.delimiter).to_string())
                    .option("inferSchema", "true")
                    .csv(&path),
            };
            frame
                .create_or_replace_temp_view(VIEW)
                .map_err(|e| fail(&format!("cannot read {path}"), e))?;
            VIEW.to_string()
        }
    };
    let query = partials_query(columns, bins, Dialect::Spark, &table, key);
    let batches = session
        .sql(&query)
        .map_err(|e| fail("the partials query failed", e))?
        .collect_record_batches()
        .map_err(|e| fail("the partials query failed", e))?;
    let _ = session.stop();
    // Parsed like a partials file: numbers from typed columns, the rest as text.
    let batches = batches.into_iter().map(Ok);
    super::read::for_each_in_batches(batches, Path::new(url), &columns.protected, f)
}
