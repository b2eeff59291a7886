#![no_main]
//! `Accept` and `Accept-Encoding` negotiation on arbitrary header values.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = quota_exporter::exposition::Format::negotiate(Some(&text));
    let _ = quota_exporter::server::accepts_gzip(&text);
});
