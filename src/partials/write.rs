//! Writing a partials table as Parquet or CSV bytes (the caller writes them atomically).

use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{Field, Schema};

use super::{group_column, PartialRow, COLUMNS};
use crate::error::{Error, Result};
use crate::input::Format;

/// The table of `rows` keyed by the protected columns `protected`, in `format`.
pub fn to_bytes(rows: &[PartialRow], protected: &[String], format: Format) -> Result<Vec<u8>> {
    match format {
        Format::Parquet => parquet_bytes(rows, protected),
        Format::Csv => csv_bytes(rows, protected),
    }
}

/// Column names in table order: `part`, the `g_*` columns, then the rest of [`COLUMNS`].
pub fn column_names(protected: &[String]) -> Vec<String> {
    let mut names = vec![COLUMNS[0].to_string()];
    names.extend(protected.iter().map(|p| group_column(p)));
    names.extend(COLUMNS[1..].iter().map(|c| c.to_string()));
    names
}

/// One value of each column per row, as text (`None` = null).
fn text_row(r: &PartialRow) -> Vec<Option<String>> {
    let int = |v: Option<u64>| v.map(|v| v.to_string());
    let float = |v: Option<f64>| v.map(|v| format!("{v:?}"));
    let mut out = vec![r.part.map(|p| p.name().to_string())];
    out.extend(r.cell.iter().cloned());
    out.extend([
        r.reason.clone(),
        int(r.label.map(u64::from)),
        int(r.decision.map(u64::from)),
        int(r.bin),
        float(r.score),
        int(Some(r.rows)),
        float(Some(r.sum_w)),
        float(r.sum_w2),
        float(r.sum_wy),
        float(r.sum_ws),
        float(r.sum_wse),
        float(r.sum_wll),
        int(r.rows_y),
    ]);
    out
}

/// `invalid` rows have no cell: their group columns are null.
fn padded(r: &PartialRow, groups: usize) -> PartialRow {
    let mut r = r.clone();
    r.cell.resize(groups, None);
    r
}

fn csv_bytes(rows: &[PartialRow], protected: &[String]) -> Result<Vec<u8>> {
    let render = |e: csv::Error| Error::Render {
        format: "csv",
        msg: e.to_string(),
    };
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(column_names(protected)).map_err(render)?;
    for r in rows {
        let values = text_row(&padded(r, protected.len()));
        w.write_record(values.iter().map(|v| v.as_deref().unwrap_or("")))
            .map_err(render)?;
    }
    w.into_inner().map_err(|e| Error::Render {
        format: "csv",
        msg: e.to_string(),
    })
}

fn parquet_bytes(rows: &[PartialRow], protected: &[String]) -> Result<Vec<u8>> {
    let render = |msg: String| Error::Render {
        format: "parquet",
        msg,
    };
    let rows: Vec<PartialRow> = rows.iter().map(|r| padded(r, protected.len())).collect();
    let strings = |f: &dyn Fn(&PartialRow) -> Option<String>| -> ArrayRef {
        Arc::new(rows.iter().map(f).collect::<StringArray>())
    };
    let ints = |f: &dyn Fn(&PartialRow) -> Option<u64>| -> ArrayRef {
        Arc::new(
            rows.iter()
                .map(|r| f(r).map(|v| v as i64))
                .collect::<Int64Array>(),
        )
    };
    let floats = |f: &dyn Fn(&PartialRow) -> Option<f64>| -> ArrayRef {
        Arc::new(rows.iter().map(f).collect::<Float64Array>())
    };
    let mut columns: Vec<ArrayRef> = vec![strings(&|r| r.part.map(|p| p.name().to_string()))];
    for g in 0..protected.len() {
        columns.push(strings(&|r| r.cell[g].clone()));
    }
    columns.extend([
        strings(&|r| r.reason.clone()),
        ints(&|r| r.label.map(u64::from)),
        ints(&|r| r.decision.map(u64::from)),
        ints(&|r| r.bin),
        floats(&|r| r.score),
        ints(&|r| Some(r.rows)),
        floats(&|r| Some(r.sum_w)),
        floats(&|r| r.sum_w2),
        floats(&|r| r.sum_wy),
        floats(&|r| r.sum_ws),
        floats(&|r| r.sum_wse),
        floats(&|r| r.sum_wll),
        ints(&|r| r.rows_y),
    ]);
    let fields: Vec<Field> = column_names(protected)
        .into_iter()
        .zip(&columns)
        .map(|(name, c)| Field::new(name, c.data_type().clone(), true))
        .collect();
    let schema = Arc::new(Schema::new(fields));
    let batch = RecordBatch::try_new(schema.clone(), columns).map_err(|e| render(e.to_string()))?;
    let mut bytes = Vec::new();
    let mut writer = parquet::arrow::ArrowWriter::try_new(&mut bytes, schema, None)
        .map_err(|e| render(e.to_string()))?;
    writer.write(&batch).map_err(|e| render(e.to_string()))?;
    writer.close().map_err(|e| render(e.to_string()))?;
    Ok(bytes)
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
