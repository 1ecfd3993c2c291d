//! Reading a partials table (Parquet or CSV) into [`PartialRow`]s.
//!
//! The table is small (its size grows with cells × distinct scores, never with rows), so it is
//! read whole, every value as text ([`crate::input::sample`]): any integer or float width,
//! dictionary or plain strings, from whichever engine wrote it. Floats written as text by
//! Rust or by an engine round-trip exactly.

use std::collections::HashMap;

use super::{group_column, Part, PartialRow};
use crate::error::{Error, Result};
use crate::input::{self, Source};

/// Read every row of the partials table `source`, keyed by the protected columns `protected`.
/// Errors name the file, the 1-based data row and the column.
pub fn read(source: &Source, protected: &[String]) -> Result<Vec<PartialRow>> {
    from_text(&input::sample(source, usize::MAX)?, &source.path, protected)
}

/// The rows of a partials table given as text columns; `path` names it in messages.
pub fn from_text(
    sample: &input::Sample,
    path: &std::path::Path,
    protected: &[String],
) -> Result<Vec<PartialRow>> {
    let n = sample.columns.first().map_or(0, |(_, v)| v.len());
    let names: Vec<String> = sample.columns.iter().map(|(n, _)| n.clone()).collect();
    let by_name: HashMap<&str, &Vec<Option<String>>> = (sample.columns.iter())
        .map(|(name, values)| (name.as_str(), values))
        .collect();
    let column = |name: &str, required: bool| -> Result<Option<&Vec<Option<String>>>> {
        match by_name.get(name) {
            Some(values) if values.len() == n => Ok(Some(values)),
            Some(_) => Err(Error::Schema {
                path: path.to_path_buf(),
                msg: format!("column '{name}' has a type that cannot be read as text"),
            }),
            None if required => Err(input::missing_column(path, name, &names)),
            None => Ok(None),
        }
    };
    let fixed: Vec<Option<&Vec<Option<String>>>> = (super::COLUMNS.iter())
        .map(|&name| column(name, matches!(name, "part" | "rows" | "sum_w")))
        .collect::<Result<_>>()?;
    let groups: Vec<&Vec<Option<String>>> = protected
        .iter()
        .map(|p| {
            let name = group_column(p);
            column(&name, true)?.ok_or_else(|| input::missing_column(path, &name, &names))
        })
        .collect::<Result<_>>()?;
    let mut rows = Vec::with_capacity(n);
    for i in 0..n {
        let text = |c: usize| fixed[c].and_then(|v| v[i].as_deref());
        let bad = |c: usize, msg: String| Error::Input {
            path: path.to_path_buf(),
            row: i as u64 + 1,
            column: super::COLUMNS[c].to_string(),
            msg,
        };
        let count = |c: usize| -> Result<Option<u64>> {
            text(c)
                .map(|t| {
                    // Engines may write integers as floats (`3.0`).
                    (t.trim().parse::<u64>().ok())
                        .or_else(|| {
                            let f: f64 = t.trim().parse().ok()?;
                            (f >= 0.0 && f.fract() == 0.0 && f < 9.0e15).then_some(f as u64)
                        })
                        .ok_or_else(|| bad(c, format!("'{t}' is not a count")))
                })
                .transpose()
        };
        let float = |c: usize| -> Result<Option<f64>> {
            text(c)
                .map(|t| {
                    t.trim()
                        .parse::<f64>()
                        .ok()
                        .filter(|f| f.is_finite())
                        .ok_or_else(|| bad(c, format!("'{t}' is not a finite number")))
                })
                .transpose()
        };
        let binary = |c: usize| -> Result<Option<bool>> {
            match count(c)? {
                None => Ok(None),
                Some(0) => Ok(Some(false)),
                Some(1) => Ok(Some(true)),
                Some(v) => Err(bad(c, format!("{v} is not 0 or 1"))),
            }
        };
        let part = match text(0) {
            Some(t) => Some(Part::from_name(t.trim()).ok_or_else(|| {
                bad(
                    0,
                    format!(
                        "unknown part '{t}' (expected {})",
                        Part::ALL.map(Part::name).join(", ")
                    ),
                )
            })?),
            None => return Err(bad(0, "missing part".into())),
        };
        let rows_count = count(6)?.ok_or_else(|| bad(6, "missing count".into()))?;
        // An engine sums no weights for invalid rows (their weight may be what is invalid).
        let sum_w = match (float(7)?, part) {
            (Some(w), _) => w,
            (None, Some(Part::Invalid)) => 0.0,
            (None, _) => return Err(bad(7, "missing sum".into())),
        };
        rows.push(PartialRow {
            part,
            cell: if part == Some(Part::Invalid) {
                Vec::new()
            } else {
                groups.iter().map(|g| g[i].clone()).collect()
            },
            reason: text(1).map(str::to_string),
            label: binary(2)?,
            decision: binary(3)?,
            bin: count(4)?,
            score: float(5)?,
            rows: rows_count,
            sum_w,
            sum_w2: float(8)?,
            sum_wy: float(9)?,
            sum_ws: float(10)?,
            sum_wse: float(11)?,
            sum_wll: float(12)?,
            rows_y: count(13)?,
        });
    }
    Ok(rows)
}
