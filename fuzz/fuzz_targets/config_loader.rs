#![no_main]
//! The config loader on arbitrary text: YAML, or TOML when the input starts with `toml:`. An
//! error or a config, never a panic, and never unbounded memory (alias and depth limits).
use libfuzzer_sys::fuzz_target;
use quota_exporter::config::{Config, Source};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (text, format) = match text.strip_prefix("toml:") {
        Some(toml) => (toml, config::FileFormat::Toml),
        None => (text, config::FileFormat::Yaml),
    };
    let _ = Config::from_source(Source::Text { text, format });
});
