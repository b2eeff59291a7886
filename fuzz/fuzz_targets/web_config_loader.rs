#![no_main]
//! The web config loader (exporter-toolkit format) on arbitrary file contents.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("web.yml");
    std::fs::write(&path, data).expect("write");
    let _ = quota_exporter::web_config::WebConfig::load(&path);
});
