//! The spec parser and checker on arbitrary text: an error is fine, a panic is not.
#![no_main]

use fairaudit::spec::AuditSpec;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(spec) = toml::from_str::<AuditSpec>(text) {
        let _ = spec.check("fuzz");
    }
});
