//! `fairaudit verify`: re-run an audit from the options recorded in its report and say whether
//! the result is identical (apart from the run-specific `provenance.git`).

use std::path::Path;

use serde_json::Value as Json;

use crate::error::{Error, Result};
use crate::spec::AuditSpec;

/// The outcome of a verification.
#[derive(Debug, Clone, PartialEq)]
pub struct Verification {
    /// True when the re-run gives the same report.
    pub identical: bool,
    /// What was found, in plain words.
    pub message: String,
}

/// Re-run the audit recorded in the JSON report at `path`.
pub fn verify(path: &Path) -> Result<Verification> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let recorded: Json = serde_json::from_slice(&bytes).map_err(|e| Error::Schema {
        path: path.to_path_buf(),
        msg: format!("not a JSON report: {e}"),
    })?;
    let mut options = recorded["provenance"]["options"].clone();
    // `run --thresholds` records the thresholds file's path beside the spec's options (issue 10).
    let thresholds_file = options
        .as_object_mut()
        .and_then(|o| o.remove("thresholds"))
        .and_then(|t| t.as_str().map(std::path::PathBuf::from));
    if !options.is_object() {
        return Err(Error::Schema {
            path: path.to_path_buf(),
            msg: "the report has no provenance.options to re-run".into(),
        });
    }
    let spec: AuditSpec = serde_json::from_value(options).map_err(|e| Error::Schema {
        path: path.to_path_buf(),
        msg: format!("provenance.options is not a valid audit: {e}"),
    })?;
    // `audit::run` computes the report only; the recorded outputs are not rewritten.
    let audit = spec.check(&format!("{} (recorded options)", path.display()))?;
    let recorded_sha = recorded["input"]["sha256"].as_str().map(String::from);
    let current_sha = crate::provenance::sha256_of(&audit.source)?;
    if recorded_sha != current_sha {
        return Ok(Verification {
            identical: false,
            message: format!(
                "input changed: {} has SHA-256 {}, the report recorded {}",
                audit.source.path.display(),
                current_sha.as_deref().unwrap_or("(stdin)"),
                recorded_sha.as_deref().unwrap_or("none")
            ),
        });
    }
    let report = match &thresholds_file {
        Some(file) => {
            let recorded_sha = recorded["provenance"]["thresholds"]["sha256"].as_str();
            let current = std::fs::read(file)
                .map(|b| crate::provenance::sha256_bytes(&b))
                .map_err(|e| Error::io(file, e))?;
            if recorded_sha != Some(current.as_str()) {
                return Ok(Verification {
                    identical: false,
                    message: format!(
                        "thresholds changed: {} has SHA-256 {current}, the report recorded {}",
                        file.display(),
                        recorded_sha.unwrap_or("none")
                    ),
                });
            }
            let mitigation = crate::mitigate::data::load_thresholds(file)?;
            crate::mitigate::data::run_with_thresholds(&audit, &mitigation, file)?
        }
        None => crate::audit::run(&audit)?,
    };
    let mut rerun = serde_json::to_value(report).map_err(|e| Error::Render {
        format: "json",
        msg: e.to_string(),
    })?;
    let mut recorded = recorded;
    for report in [&mut recorded, &mut rerun] {
        if let Some(p) = report.get_mut("provenance").and_then(Json::as_object_mut) {
            // Run-specific.
            p.remove("git");
        }
        // The re-run uses the recorded options, not the spec file, which is judged by its
        // recorded hash below.
        if let Some(i) = report.get_mut("input").and_then(Json::as_object_mut) {
            i.remove("spec");
        }
    }
    let mut notes = Vec::new();
    if let (Some(spec_path), Some(sha)) = (
        recorded_spec(&bytes, "path"),
        recorded_spec(&bytes, "sha256"),
    ) {
        match std::fs::read(&spec_path) {
            Ok(b) if crate::provenance::sha256_bytes(&b) != sha => notes.push(format!(
                " (note: {spec_path} has changed since; the recorded options were used)"
            )),
            Err(_) => notes.push(format!(
                " (note: {spec_path} is gone; the recorded options were used)"
            )),
            _ => {}
        }
    }
    Ok(match first_difference(&recorded, &rerun, String::new()) {
        None => Verification {
            identical: true,
            message: format!(
                "identical: re-running {} reproduces the report{}",
                path.display(),
                notes.concat()
            ),
        },
        Some(at) => Verification {
            identical: false,
            message: format!(
                "differs at {at}: the re-run does not reproduce {}{}",
                path.display(),
                notes.concat()
            ),
        },
    })
}

fn recorded_spec(bytes: &[u8], key: &str) -> Option<String> {
    let json: Json = serde_json::from_slice(bytes).ok()?;
    json["input"]["spec"][key].as_str().map(String::from)
}

/// The JSON path of the first difference between two values.
fn first_difference(a: &Json, b: &Json, path: String) -> Option<String> {
    match (a, b) {
        (Json::Object(x), Json::Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            keys.into_iter().find_map(|k| match (x.get(k), y.get(k)) {
                (Some(p), Some(q)) => first_difference(p, q, format!("{path}.{k}")),
                _ => Some(format!("{path}.{k}")),
            })
        }
        (Json::Array(x), Json::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .find_map(|(i, (p, q))| first_difference(p, q, format!("{path}[{i}]"))),
        _ if a == b => None,
        _ => Some(if path.is_empty() {
            "the top level".into()
        } else {
            path
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_first_differing_path() {
        let a: Json = serde_json::json!({"x": [1, {"y": 2}], "z": 3});
        let b: Json = serde_json::json!({"x": [1, {"y": 5}], "z": 3});
        assert_eq!(
            first_difference(&a, &b, String::new()).as_deref(),
            Some(".x[1].y")
        );
        assert_eq!(first_difference(&a, &a, String::new()), None);
    }
}
