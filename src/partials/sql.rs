//! The partials query: one SQL statement that computes the partials table (see the module
//! documentation of [`crate::partials`]) in any engine, in one scan.
//!
//! Shape: an inner `SELECT` turns each row into its keys (the reason it is invalid, if any;
//! the protected values as text; y, d, the calibration bin, the score key) and its weight;
//! `GROUP BY GROUPING SETS` forms every part at once with `COUNT(*)` and `SUM`; an outer
//! `SELECT` names each result row's part from which keys are set and drops the groups that
//! are no part (invalid rows inside the valid parts' sets). Only portable SQL: `CASE`
//! (never `LEAST`/`GREATEST`, whose NULL handling differs between engines), `TRIM`, `LOWER`,
//! `FLOOR`, `LN` and a safe cast. Per dialect: identifier quoting, the safe cast, the type
//! names and the NaN test.
//!
//! Conventions, matching the embedded readers ([`crate::input::values`]): a label or
//! prediction is positive for `1`, `1.0`, `true` (any case), negative for `0`, `0.0`, `false`,
//! else invalid; with a positive label, positive iff its text equals it, negative for any other
//! non-empty text. A score must be a number in [0, 1] (not NaN), a weight a finite number ≥ 0.
//! The first invalid column in the order label, prediction, score, weight names the reason. A
//! protected value is its text; an empty or null value is the missing value.

use crate::input::Columns;

/// SQL dialects with their own quoting, casts and functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Dialect {
    /// Apache Spark SQL (also Databricks and Sail).
    Spark,
    /// Trino and Presto.
    Trino,
    /// Google BigQuery (GoogleSQL).
    Bigquery,
    /// DuckDB.
    Duckdb,
    /// Apache DataFusion.
    Datafusion,
}

/// What keys the distribution part.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ScoreKey {
    /// Every distinct score (exact AUC; one row per distinct score and cell).
    #[default]
    Exact,
    /// 65,536 equal-width fine bins (at most 65,536 rows per cell; binned AUC with its
    /// error bound in the report).
    Binned,
}

impl Dialect {
    /// `name` as a quoted identifier.
    pub fn quote(self, name: &str) -> String {
        match self {
            Dialect::Spark => format!("`{}`", name.replace('`', "``")),
            Dialect::Bigquery => format!("`{}`", name.replace('\\', "\\\\").replace('`', "\\`")),
            Dialect::Trino | Dialect::Duckdb | Dialect::Datafusion => {
                format!("\"{}\"", name.replace('"', "\"\""))
            }
        }
    }

    /// A table name, possibly qualified (`catalog.schema.table`): each part quoted.
    pub fn table(self, name: &str) -> String {
        name.split('.')
            .map(|p| self.quote(p))
            .collect::<Vec<_>>()
            .join(".")
    }

    fn string_type(self) -> &'static str {
        match self {
            Dialect::Spark | Dialect::Bigquery => "STRING",
            _ => "VARCHAR",
        }
    }

    fn int_type(self) -> &'static str {
        match self {
            Dialect::Bigquery => "INT64",
            _ => "BIGINT",
        }
    }

    fn double_type(self) -> &'static str {
        match self {
            Dialect::Bigquery => "FLOAT64",
            _ => "DOUBLE",
        }
    }

    /// A cast that gives NULL instead of failing.
    fn try_cast(self, expr: &str, ty: &str) -> String {
        match self {
            Dialect::Bigquery => format!("SAFE_CAST({expr} AS {ty})"),
            _ => format!("TRY_CAST({expr} AS {ty})"),
        }
    }

    fn is_nan(self, expr: &str) -> String {
        match self {
            Dialect::Trino => format!("is_nan({expr})"),
            Dialect::Bigquery => format!("IS_NAN({expr})"),
            _ => format!("isnan({expr})"),
        }
    }
}

/// A string literal.
fn string(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// A DOUBLE literal that every dialect parses to exactly `x` (shortest round-trip digits, in
/// exponent form: without an exponent, Spark, DuckDB and Trino read `0.1` as a DECIMAL).
fn double(x: f64) -> String {
    format!("{x:e}").to_uppercase()
}

/// The query that computes the partials table of `table` for these columns and `bins`
/// calibration bins.
pub fn partials_query(
    columns: &Columns,
    bins: usize,
    dialect: Dialect,
    table: &str,
    key: ScoreKey,
) -> String {
    let q = |name: &str| dialect.quote(name);
    let text = |name: &str| {
        format!(
            "TRIM(CAST({} AS {}))",
            dialect.quote(name),
            dialect.string_type()
        )
    };
    let binary = |name: &str| match &columns.positive_label {
        Some(p) => format!(
            "CASE WHEN {t} = {p} THEN 1 WHEN {t} <> '' THEN 0 END",
            t = text(name),
            p = string(p.trim())
        ),
        None => format!(
            "CASE WHEN {t} IN ('1', '1.0') OR LOWER({t}) = 'true' THEN 1 \
             WHEN {t} IN ('0', '0.0') OR LOWER({t}) = 'false' THEN 0 END",
            t = text(name)
        ),
    };
    let double_type = dialect.double_type();
    let number = |name: &str| dialect.try_cast(&dialect.quote(name), double_type);

    // Level 1: typed values per row.
    let mut typed = vec![format!("{} AS y", binary(&columns.label))];
    if let Some(p) = &columns.prediction {
        typed.push(format!("{} AS d0", binary(p)));
    }
    if let Some(s) = &columns.score {
        typed.push(format!("{} AS s", number(s)));
    }
    match &columns.weight {
        Some(w) => typed.push(format!("{} AS w", number(w))),
        None => typed.push(format!("{} AS w", double(1.0))),
    }
    for (i, p) in columns.protected.iter().enumerate() {
        typed.push(format!(
            "NULLIF(CAST({} AS {}), '') AS {}",
            q(p),
            dialect.string_type(),
            q(&format!("k{i}"))
        ));
    }

    // Level 2: the reason a row is invalid, and the keys of valid rows.
    let mut invalid = vec!["WHEN y IS NULL THEN 'invalid_label'".to_string()];
    if columns.prediction.is_some() {
        invalid.push("WHEN d0 IS NULL THEN 'invalid_prediction'".into());
    }
    if columns.score.is_some() {
        invalid.push(format!(
            "WHEN s IS NULL OR {} OR s < {} OR s > {} THEN 'invalid_score'",
            dialect.is_nan("s"),
            double(0.0),
            double(1.0)
        ));
    }
    if columns.weight.is_some() {
        invalid.push(format!(
            "WHEN w IS NULL OR {} OR w < {} OR w > {} THEN 'invalid_weight'",
            dialect.is_nan("w"),
            double(0.0),
            double(f64::MAX)
        ));
    }
    let reason = format!("CASE {} END", invalid.join(" "));
    let valid = |expr: &str| format!("CASE WHEN reason IS NULL THEN {expr} END");
    let decision = match &columns.prediction {
        Some(_) => "d0".to_string(),
        None => format!(
            "CASE WHEN s >= {} THEN 1 ELSE 0 END",
            double(columns.threshold)
        ),
    };
    let groups: Vec<String> = (0..columns.protected.len())
        .map(|i| q(&format!("k{i}")))
        .collect();
    let mut keyed = vec![
        "reason".to_string(),
        valid("1") + " AS v",
        valid("y") + " AS y",
        valid(&decision) + " AS d",
        valid("w") + " AS w",
    ];
    keyed.extend(groups.iter().cloned());
    if columns.score.is_some() {
        keyed.push(valid("s") + " AS s");
        keyed.push(valid(&bin_case(bins)) + " AS b");
        keyed.push(valid(&score_key(key)) + " AS sk");
    }

    // Level 3: the grouping sets.
    let g = groups.join(", ");
    let with_groups = |keys: &str| {
        if g.is_empty() {
            format!("(v{keys})")
        } else {
            format!("(v, {g}{keys})")
        }
    };
    let mut sets = vec!["(reason)".to_string(), with_groups(", y, d")];
    if columns.score.is_some() {
        sets.extend([with_groups(""), with_groups(", b"), with_groups(", sk")]);
    }
    let eps = double(f64::EPSILON);
    let one_minus_eps = double(1.0 - f64::EPSILON);
    let p = format!(
        "CASE WHEN s < {eps} THEN {eps} WHEN s > {one_minus_eps} THEN {one_minus_eps} ELSE s END"
    );
    let score_part = match key {
        ScoreKey::Exact => "'score'",
        ScoreKey::Binned => "'score_binned'",
    };
    let mut part = vec![
        "WHEN reason IS NOT NULL THEN 'invalid'".to_string(),
        "WHEN d IS NOT NULL THEN 'confusion'".to_string(),
    ];
    let mut select = Vec::new();
    if columns.score.is_some() {
        part.extend([
            "WHEN b IS NOT NULL THEN 'bin'".to_string(),
            format!("WHEN sk IS NOT NULL THEN {score_part}"),
            "WHEN v IS NOT NULL THEN 'cell'".to_string(),
        ]);
    }
    select.push(format!("CASE {} END AS part", part.join(" ")));
    for (i, name) in columns.protected.iter().enumerate() {
        select.push(format!(
            "{} AS {}",
            q(&format!("k{i}")),
            q(&super::group_column(name))
        ));
    }
    select.extend([
        "reason".to_string(),
        "y AS label".into(),
        "d AS decision".into(),
    ]);
    let null_double = format!("CAST(NULL AS {double_type})");
    if columns.score.is_some() {
        select.extend(["b AS bin".to_string(), "sk AS score".into()]);
    } else {
        select.extend([
            format!("CAST(NULL AS {}) AS bin", dialect.int_type()),
            format!("{null_double} AS score"),
        ]);
    }
    select.extend([
        "COUNT(*) AS rows".to_string(),
        "SUM(w) AS sum_w".into(),
        "SUM(w * w) AS sum_w2".into(),
    ]);
    if columns.score.is_some() {
        select.extend([
            "SUM(w * y) AS sum_wy".to_string(),
            "SUM(w * s) AS sum_ws".into(),
            "SUM(w * (s - y) * (s - y)) AS sum_wse".into(),
            format!(
                "SUM(w * CASE WHEN y = 1 THEN -LN({p}) ELSE -LN({} - {p}) END) AS sum_wll",
                double(1.0)
            ),
        ]);
    } else {
        for c in ["sum_wy", "sum_ws", "sum_wse", "sum_wll"] {
            select.push(format!("{null_double} AS {c}"));
        }
    }
    select.push("SUM(y) AS rows_y".to_string());
    let indent = |items: &[String]| items.join(",\n    ");
    // Level 2 sees level 1's columns by name, and adds the reason.
    let mut checked: Vec<String> = ["y", "s", "w", "d0"]
        .into_iter()
        .filter(|c| match *c {
            "s" => columns.score.is_some(),
            "d0" => columns.prediction.is_some(),
            _ => true,
        })
        .map(String::from)
        .collect();
    checked.extend((0..columns.protected.len()).map(|i| q(&format!("k{i}"))));
    checked.push(format!("{reason} AS reason"));
    // `rows` is a reserved word in some dialects: quote the output names of the outer SELECT.
    let outer: Vec<String> = super::write::column_names(&columns.protected)
        .iter()
        .map(|c| q(c))
        .collect();
    let inner_names = super::write::column_names(&columns.protected);
    let select: Vec<String> = select
        .into_iter()
        .zip(&inner_names)
        .map(|(expr, name)| match expr.rsplit_once(" AS ") {
            Some((e, _)) => format!("{e} AS {}", q(name)),
            None => format!("{expr} AS {}", q(name)),
        })
        .collect();
    format!(
        "-- fairaudit partials query (issue 8); audit its result with: fairaudit run --partials FILE …\n\
         SELECT {outer}\n\
         FROM (\n  SELECT\n    {select}\n  FROM (\n    SELECT\n    {keyed}\n    FROM (\n      SELECT\n    {typed_reason}\n      FROM (\n        SELECT\n    {typed}\n        FROM {table}\n      ) typed\n    ) checked\n  ) keyed\n  GROUP BY GROUPING SETS ({sets})\n) grouped\n\
         WHERE {part_col} IS NOT NULL\n",
        typed_reason = indent(&checked),
        outer = outer.join(", "),
        select = indent(&select),
        keyed = indent(&keyed),
        typed = indent(&typed),
        table = dialect.table(table),
        sets = sets.join(", "),
        part_col = q("part"),
    )
}

/// The right-closed equal-width bin of `s` among `bins` bins, with the edges of
/// `numpy.linspace(0, 1, bins + 1)` as exact literals ([`crate::aggregate::bin_index`]).
fn bin_case(bins: usize) -> String {
    let step = 1.0 / bins as f64;
    let arms: Vec<String> = (1..bins)
        .map(|k| format!("WHEN s <= {} THEN {}", double(k as f64 * step), k - 1))
        .collect();
    if arms.is_empty() {
        "0".into()
    } else {
        format!("CASE {} ELSE {} END", arms.join(" "), bins - 1)
    }
}

/// The distribution key of a valid score.
fn score_key(key: ScoreKey) -> String {
    match key {
        ScoreKey::Exact => "s".into(),
        ScoreKey::Binned => {
            let n = super::FINE_BINS as f64;
            format!(
                "(CASE WHEN s >= {one} THEN {last} ELSE FLOOR(s * {n}) END + {half}) / {n}",
                one = double(1.0),
                last = double(n - 1.0),
                half = double(0.5),
                n = double(n),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::bin_index;

    #[test]
    fn double_literals_round_trip() {
        for x in [
            0.1,
            0.30000000000000004,
            1.0,
            0.0,
            f64::EPSILON,
            f64::MAX,
            65536.0,
        ] {
            let lit = double(x);
            assert!(lit.contains('E'), "{lit}");
            assert_eq!(lit.parse::<f64>().unwrap().to_bits(), x.to_bits(), "{lit}");
        }
    }

    #[test]
    fn bin_edges_are_the_embedded_edges() {
        // Every arm's edge, parsed back, puts the edge itself into the lower bin and the
        // next float into the upper one, as bin_index does.
        for bins in [1, 3, 10, 20] {
            let step = 1.0 / bins as f64;
            for k in 1..bins {
                let e = k as f64 * step;
                assert_eq!(bin_index(e, bins), k - 1);
                assert_eq!(bin_index(f64::from_bits(e.to_bits() + 1), bins), k);
                assert!(bin_case(bins).contains(&format!(
                    "WHEN s <= {} THEN {}",
                    double(e),
                    k - 1
                )));
            }
        }
    }

    #[test]
    fn identifiers_are_quoted_per_dialect() {
        assert_eq!(Dialect::Spark.quote("a`b"), "`a``b`");
        assert_eq!(Dialect::Duckdb.quote("a\"b"), "\"a\"\"b\"");
        assert_eq!(Dialect::Trino.table("c.s.t"), "\"c\".\"s\".\"t\"");
        assert_eq!(Dialect::Bigquery.quote("a`b"), "`a\\`b`");
    }
}
