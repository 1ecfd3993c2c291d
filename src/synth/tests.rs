//! Tests of the synthetic-data generator.
//!
//! Statistical tolerances are 4 standard errors of the estimate at the sample size used,
//! so a correct generator fails a given check with probability below 1e-4 (and, the
//! generator being deterministic, a passing test keeps passing).

use std::fs;
use std::path::Path;

use super::*;
use crate::error::Error;

const ROWS: u64 = 200_000;

fn options(rows: u64, seed: u64, out: &Path) -> SynthOptions {
    SynthOptions {
        rows,
        seed,
        ..SynthOptions::new(out)
    }
}

fn stats_options(rows: u64) -> SynthOptions {
    options(rows, 7, Path::new("unused.parquet"))
}

fn rows_of(opts: &SynthOptions) -> Vec<Chunk> {
    generate(opts).expect("valid options").collect()
}

/// Index of `level` in attribute `attribute`.
fn level(attribute: &str, level: &str) -> (usize, u16) {
    let chunks = generate(&stats_options(0)).unwrap();
    let a = chunks
        .attributes()
        .iter()
        .position(|a| a.name == attribute)
        .unwrap();
    let l = chunks.attributes()[a]
        .levels
        .iter()
        .position(|l| l == level)
        .unwrap();
    (a, l as u16)
}

/// (count, mean label, mean score) over the rows where attribute `a` has level `l`.
fn group_means(chunks: &[Chunk], (a, l): (usize, u16)) -> (f64, f64, f64) {
    let (mut n, mut labels, mut scores) = (0.0, 0.0, 0.0);
    for chunk in chunks {
        for row in 0..chunk.len() {
            if chunk.attributes[a][row] == Some(l) {
                n += 1.0;
                labels += f64::from(chunk.label[row]);
                scores += chunk.score[row];
            }
        }
    }
    (n, labels / n, scores / n)
}

/// Four standard errors of a proportion `p` estimated from `n` draws.
fn four_se(p: f64, n: f64) -> f64 {
    4.0 * (p * (1.0 - p) / n).sqrt()
}

fn write_bytes(opts: &SynthOptions) -> Vec<u8> {
    assert_eq!(write(opts).unwrap(), opts.rows);
    fs::read(&opts.out).unwrap()
}

fn with_group(values: &[(&str, f64)]) -> Vec<GroupValue> {
    values
        .iter()
        .map(|(g, v)| GroupValue::new(*g, *v))
        .collect()
}

// ------------------------------------------------------------- determinism

#[test]
fn same_seed_gives_identical_bytes_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    for ext in ["parquet", "csv", "csv.gz"] {
        let mut first = options(
            CHUNK_ROWS as u64 + 1000,
            42,
            &dir.path().join(format!("a.{ext}")),
        );
        first.weights = true;
        first.missing_rate = 0.05;
        let second = SynthOptions {
            out: dir.path().join(format!("b.{ext}")),
            ..first.clone()
        };
        let bytes = write_bytes(&first);
        assert!(!bytes.is_empty());
        assert_eq!(bytes, write_bytes(&second), "{ext} differs between runs");
    }
}

#[test]
fn different_seeds_give_different_files() {
    let dir = tempfile::tempdir().unwrap();
    for ext in ["parquet", "csv"] {
        let a = write_bytes(&options(1000, 1, &dir.path().join(format!("a.{ext}"))));
        let b = write_bytes(&options(1000, 2, &dir.path().join(format!("b.{ext}"))));
        assert_ne!(a, b, "{ext}");
    }
}

#[test]
fn output_does_not_depend_on_thread_count() {
    let opts = stats_options(5 * CHUNK_ROWS as u64 + 17);
    let with_threads = |n| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build()
            .unwrap()
            .install(|| rows_of(&opts))
    };
    assert_eq!(with_threads(1), with_threads(3));
}

#[test]
fn optional_columns_do_not_change_the_others() {
    let plain = rows_of(&stats_options(70_000));
    let mut opts = stats_options(70_000);
    opts.weights = true;
    opts.missing_rate = 0.2;
    opts.regions = 12;
    let extended = rows_of(&opts);
    for (p, e) in plain.iter().zip(&extended) {
        assert_eq!((&p.label, &p.score), (&e.label, &e.score));
        for (pa, ea) in p.attributes.iter().zip(&e.attributes) {
            assert!(pa.iter().zip(ea).all(|(p, e)| e.is_none() || e == p));
        }
    }
}

// ------------------------------------------------------------- model

#[test]
fn rows_are_well_formed() {
    let opts = stats_options(2 * CHUNK_ROWS as u64 + 5);
    let chunks = rows_of(&opts);
    assert_eq!(
        chunks.iter().map(Chunk::len).sum::<usize>() as u64,
        opts.rows
    );
    let mut next_id = 1;
    for chunk in &chunks {
        assert_eq!(chunk.first_id, next_id);
        next_id += chunk.len() as u64;
        for (row, &score) in chunk.score.iter().enumerate() {
            assert!((0.0..=1.0).contains(&score), "score {score}");
            assert_eq!((score * 10_000.0).round() / 10_000.0, score);
            assert_eq!(chunk.prediction[row], u8::from(score >= 0.5));
            assert!(chunk.label[row] <= 1);
        }
        assert!(chunk.attributes.iter().flatten().all(Option::is_some));
        assert!(chunk.weight.is_none());
    }
}

#[test]
fn base_rates_are_recovered() {
    let mut opts = stats_options(ROWS);
    opts.base_rates = with_group(&[("male", 0.6)]);
    let chunks = rows_of(&opts);
    for (group, rate) in [("female", 0.30), ("male", 0.6)] {
        let (n, mean_label, _) = group_means(&chunks, level("sex", group));
        assert!(
            (mean_label - rate).abs() < four_se(rate, n),
            "{group}: {mean_label} vs {rate} (n = {n})"
        );
    }
}

#[test]
fn attribute_shares_are_recovered() {
    let chunks = rows_of(&stats_options(ROWS));
    for (attribute, group, share) in [("race", "other", 0.03), ("age_group", "65+", 0.19)] {
        let (n, _, _) = group_means(&chunks, level(attribute, group));
        let observed = n / ROWS as f64;
        assert!((observed - share).abs() < four_se(share, ROWS as f64));
    }
}

#[test]
fn unbiased_scores_are_calibrated_within_groups() {
    let mut opts = stats_options(ROWS);
    opts.no_default_bias = true;
    let chunks = rows_of(&opts);
    for (attribute, group) in [("sex", "female"), ("race", "black"), ("age_group", "65+")] {
        let (n, mean_label, mean_score) = group_means(&chunks, level(attribute, group));
        // The score is P(Y = 1 | evidence), so the mean score estimates the base rate with
        // less variance than the mean label; 4 SE of the label mean bounds the difference.
        assert!(
            (mean_label - mean_score).abs() < four_se(NEUTRAL_BASE_RATE, n),
            "{group}: labels {mean_label}, scores {mean_score}"
        );
    }
}

#[test]
fn score_shift_moves_that_groups_scores_only() {
    let base = rows_of(&stats_options(ROWS));
    let mut opts = stats_options(ROWS);
    opts.score_shifts = with_group(&[("asian", 1.0)]);
    let shifted = rows_of(&opts);
    let asian = level("race", "asian");
    let (_, _, before) = group_means(&base, asian);
    let (_, _, after) = group_means(&shifted, asian);
    assert!(after > before + 0.1, "{before} -> {after}");
    for (b, s) in base.iter().zip(&shifted) {
        for row in 0..b.len() {
            let is_asian = b.attributes[asian.0][row] == Some(asian.1);
            assert_eq!(b.label[row], s.label[row]);
            assert!(if is_asian {
                s.score[row] >= b.score[row]
            } else {
                s.score[row] == b.score[row]
            });
        }
    }
}

#[test]
fn default_bias_under_scores_black_rows() {
    let biased = rows_of(&stats_options(ROWS));
    let mut opts = stats_options(ROWS);
    opts.score_shifts = with_group(&[("black", 0.0)]);
    let fair = rows_of(&opts);
    let black = level("race", "black");
    let (n, mean_label, biased_score) = group_means(&biased, black);
    let (_, _, fair_score) = group_means(&fair, black);
    assert!(biased_score < fair_score - 0.03);
    assert!(biased_score < mean_label - four_se(mean_label, n));
}

#[test]
fn miscalibration_pushes_scores_to_the_extremes() {
    let spread = |factor: f64| {
        let mut opts = stats_options(50_000);
        opts.miscalibration = with_group(&[("65+", factor)]);
        let (a, l) = level("age_group", "65+");
        let (mut n, mut total) = (0.0, 0.0);
        for chunk in rows_of(&opts) {
            for row in 0..chunk.len() {
                if chunk.attributes[a][row] == Some(l) {
                    n += 1.0;
                    total += (chunk.score[row] - 0.5).abs();
                }
            }
        }
        total / n
    };
    assert!(spread(2.0) > spread(1.0) + 0.02);
    assert!(spread(0.5) < spread(1.0) - 0.02);
}

#[test]
fn missing_rate_blanks_about_that_share() {
    let mut opts = stats_options(ROWS);
    opts.missing_rate = 0.1;
    let chunks = rows_of(&opts);
    let cells: Vec<&Option<u16>> = chunks
        .iter()
        .flat_map(|c| c.attributes.iter().flatten())
        .collect();
    let missing = cells.iter().filter(|c| c.is_none()).count() as f64;
    let n = cells.len() as f64;
    assert_eq!(n, 3.0 * ROWS as f64);
    assert!(
        (missing / n - 0.1).abs() < four_se(0.1, n),
        "{}",
        missing / n
    );
}

#[test]
fn weights_are_positive_and_varied() {
    let mut opts = stats_options(10_000);
    opts.weights = true;
    let weights: Vec<f64> = rows_of(&opts)
        .into_iter()
        .flat_map(|c| c.weight.unwrap())
        .collect();
    assert_eq!(weights.len(), 10_000);
    for w in [0.5, 1.0, 2.0, 4.0] {
        assert!(weights.contains(&w));
    }
    assert!(weights.iter().all(|&w| [0.5, 1.0, 2.0, 4.0].contains(&w)));
}

#[test]
fn regions_have_decreasing_shares() {
    let mut opts = stats_options(50_000);
    opts.regions = 12;
    let chunks = generate(&opts).unwrap();
    let region = &chunks.attributes()[3];
    assert_eq!(region.name, "region");
    assert_eq!(region.levels.first().unwrap(), "region_01");
    assert_eq!(region.levels.last().unwrap(), "region_12");
    let (_, first) = level_count(&chunks.collect::<Vec<_>>(), 3);
    assert!(first[0] > first[1] && first[1] > first[11] && first[11] > 0);
}

fn level_count(chunks: &[Chunk], a: usize) -> (usize, Vec<usize>) {
    let mut counts = Vec::new();
    for code in chunks.iter().flat_map(|c| &c.attributes[a]).flatten() {
        let code = usize::from(*code);
        if counts.len() <= code {
            counts.resize(code + 1, 0);
        }
        counts[code] += 1;
    }
    (counts.iter().sum(), counts)
}

// ------------------------------------------------------------- files

#[test]
fn csv_has_the_documented_header_and_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = options(3000, 3, &dir.path().join("t.csv"));
    opts.missing_rate = 0.1;
    write(&opts).unwrap();
    let mut reader = csv::Reader::from_path(&opts.out).unwrap();
    assert_eq!(
        reader.headers().unwrap(),
        vec![
            "id",
            "label",
            "score",
            "prediction",
            "sex",
            "race",
            "age_group"
        ]
    );
    let chunks = rows_of(&opts);
    let chunk = &chunks[0];
    let mut empty = 0;
    for (row, record) in reader.records().enumerate() {
        let record = record.unwrap();
        assert_eq!(record[0].parse::<u64>().unwrap(), row as u64 + 1);
        assert_eq!(record[1].parse::<u8>().unwrap(), chunk.label[row]);
        assert_eq!(record[2].parse::<f64>().unwrap(), chunk.score[row]);
        empty += (4..7).filter(|&i| record[i].is_empty()).count();
    }
    assert!(empty > 0);
}

#[test]
fn csv_header_with_optional_columns() {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = options(10, 0, &dir.path().join("t.csv.gz"));
    opts.weights = true;
    opts.regions = 3;
    write(&opts).unwrap();
    let gz = flate2::read::GzDecoder::new(fs::File::open(&opts.out).unwrap());
    let mut reader = csv::Reader::from_reader(gz);
    assert_eq!(
        reader.headers().unwrap(),
        vec![
            "id",
            "label",
            "score",
            "prediction",
            "sex",
            "race",
            "age_group",
            "region",
            "weight"
        ]
    );
    assert_eq!(reader.records().count(), 10);
}

#[test]
fn parquet_has_the_documented_schema() {
    use arrow_schema::DataType;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

    let dir = tempfile::tempdir().unwrap();
    let mut opts = options(CHUNK_ROWS as u64 + 10, 5, &dir.path().join("t.parquet"));
    opts.weights = true;
    opts.missing_rate = 0.01;
    write(&opts).unwrap();
    let builder =
        ParquetRecordBatchReaderBuilder::try_new(fs::File::open(&opts.out).unwrap()).unwrap();
    assert_eq!(
        builder.metadata().file_metadata().num_rows(),
        opts.rows as i64
    );
    let fields: Vec<(String, DataType)> = builder
        .schema()
        .fields()
        .iter()
        .map(|f| (f.name().clone(), f.data_type().clone()))
        .collect();
    let expected = [
        ("id", DataType::Int64),
        ("label", DataType::Int64),
        ("score", DataType::Float64),
        ("prediction", DataType::Int64),
        ("sex", DataType::Utf8),
        ("race", DataType::Utf8),
        ("age_group", DataType::Utf8),
        ("weight", DataType::Float64),
    ];
    let expected: Vec<(String, DataType)> = expected
        .into_iter()
        .map(|(n, t)| (n.to_owned(), t))
        .collect();
    assert_eq!(fields, expected);
    let batches: Vec<_> = builder.build().unwrap().map(Result::unwrap).collect();
    let nulls: usize = batches.iter().map(|b| b.column(4).null_count()).sum();
    assert!(nulls > 0);
    assert_eq!(
        batches.iter().map(|b| b.num_rows()).sum::<usize>(),
        opts.rows as usize
    );
}

#[test]
fn zero_rows_write_valid_empty_files() {
    let dir = tempfile::tempdir().unwrap();
    let csv = options(0, 0, &dir.path().join("t.csv"));
    assert_eq!(write(&csv).unwrap(), 0);
    assert_eq!(
        fs::read_to_string(&csv.out).unwrap(),
        "id,label,score,prediction,sex,race,age_group\n"
    );
    let parquet = options(0, 0, &dir.path().join("t.parquet"));
    assert_eq!(write(&parquet).unwrap(), 0);
    assert!(fs::read(&parquet.out).unwrap().starts_with(b"PAR1"));
}

#[test]
fn failed_write_leaves_no_temporary_file() {
    let dir = tempfile::tempdir().unwrap();
    // The destination is a directory, so the final rename fails.
    let out = dir.path().join("taken.csv");
    fs::create_dir(&out).unwrap();
    let err = write(&options(100, 0, &out)).unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err}");
    let names: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(names.len(), 1, "{names:?}");
}

// ------------------------------------------------------------- options

/// A change to the options.
type Edit = fn(&mut SynthOptions);

#[test]
fn invalid_options_are_spec_errors_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("t.csv");
    let cases: [(&str, Edit); 9] = [
        ("unknown group 'nobody'", |o| {
            o.score_shifts = with_group(&[("nobody", 1.0)])
        }),
        ("strictly between 0 and 1", |o| {
            o.base_rates = with_group(&[("male", 1.0)])
        }),
        ("unknown group 'black'", |o| {
            o.base_rates = with_group(&[("black", 0.2)])
        }),
        ("given twice", |o| {
            o.miscalibration = with_group(&[("male", 2.0), ("male", 3.0)])
        }),
        ("positive factor", |o| {
            o.miscalibration = with_group(&[("male", 0.0)])
        }),
        ("--missing-rate", |o| o.missing_rate = 1.5),
        ("--threshold", |o| o.threshold = -0.1),
        ("--separation", |o| o.separation = f64::NAN),
        ("unknown format", |o| o.out = o.out.with_extension("json")),
    ];
    for (expected, edit) in cases {
        let mut opts = options(10, 0, &out);
        edit(&mut opts);
        let err = write(&opts).unwrap_err();
        assert!(matches!(err, Error::Spec { .. }), "{err}");
        assert!(err.to_string().contains(expected), "{err} lacks {expected}");
    }
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn group_values_parse() {
    assert_eq!(
        "black=-0.4".parse::<GroupValue>(),
        Ok(GroupValue::new("black", -0.4))
    );
    assert_eq!(
        " 65+ = 1.5".parse::<GroupValue>(),
        Ok(GroupValue::new("65+", 1.5))
    );
    for bad in ["black", "=1", "a=x", "a=inf", "a=NaN", "a="] {
        assert!(bad.parse::<GroupValue>().is_err(), "{bad}");
    }
    assert_eq!(GroupValue::new("male", 0.45).to_string(), "male=0.45");
}

#[test]
fn flags_parse_with_clap() {
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        synth: SynthOptions,
    }
    let cli = Cli::try_parse_from([
        "synth",
        "--out",
        "x.parquet",
        "--score-shift",
        "black=-1",
        "--score-shift",
        "asian=0.5",
        "--base-rate",
        "female=0.2",
        "--miscalibration",
        "65+=2",
        "--weights",
        "--missing-rate",
        "0.1",
        "--regions",
        "4",
        "--no-default-bias",
    ])
    .unwrap();
    let o = cli.synth;
    assert_eq!((o.rows, o.seed), (DEFAULT_ROWS, 0));
    assert_eq!(
        o.score_shifts,
        with_group(&[("black", -1.0), ("asian", 0.5)])
    );
    assert_eq!(o.base_rates, with_group(&[("female", 0.2)]));
    assert_eq!(o.miscalibration, with_group(&[("65+", 2.0)]));
    assert!(o.weights && o.no_default_bias);
    assert_eq!((o.missing_rate, o.regions), (0.1, 4));
    let defaults = Cli::try_parse_from(["synth", "--out", "x.csv"])
        .unwrap()
        .synth;
    let new = SynthOptions::new("x.csv");
    assert_eq!(
        serde_json::to_string(&defaults).unwrap(),
        serde_json::to_string(&new).unwrap()
    );
    assert!(Cli::try_parse_from(["synth"]).is_err(), "--out is required");
}
