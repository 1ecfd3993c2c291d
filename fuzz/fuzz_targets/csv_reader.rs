//! The CSV reader on arbitrary bytes: any outcome but a panic is fine. The first byte picks
//! the options (delimiter, skip mode, a weight and prediction column or not), the rest is the
//! file.
#![no_main]

use std::path::PathBuf;

use fairaudit::input::{csv, Batch, Columns, InvalidRows, Source};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&options, bytes)) = data.split_first() else {
        return;
    };
    let path = std::env::temp_dir().join(format!("fairaudit-fuzz-{}.csv", std::process::id()));
    if std::fs::write(&path, bytes).is_err() {
        return;
    }
    let columns = Columns {
        label: "label".into(),
        score: Some("score".into()),
        prediction: (options & 1 != 0).then(|| "prediction".into()),
        weight: (options & 2 != 0).then(|| "w".into()),
        protected: vec!["g".into()],
        positive_label: (options & 4 != 0).then(|| "yes".into()),
        threshold: 0.5,
        invalid_rows: if options & 8 != 0 {
            InvalidRows::Skip
        } else {
            InvalidRows::Error
        },
        task: Default::default(),
        favorable: Vec::new(),
        class_scores: Vec::new(),
    };
    let delimiter = [b',', b';', b'\t', b'|'][usize::from(options >> 4) % 4];
    let source = Source::from_path(PathBuf::from(&path), delimiter);
    let sink = |_seq: u64, batch: Batch| {
        // Every batch is internally consistent.
        assert_eq!(batch.prediction.len(), batch.len());
        for c in &batch.protected {
            assert_eq!(c.codes.len(), batch.len());
            assert!(c.codes.iter().all(|&k| (k as usize) < c.levels.len()));
        }
        Ok(())
    };
    let _ = csv::read(&source, &columns, 1 + usize::from(options % 7), &sink);
});
