#![no_main]
//! Tencent Cloud CWP: a DescribeLicenseGeneral answer.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(samples) = quota_exporter::vendors::answers::tencent(data) {
        for f in samples.families() {
            assert!(f.samples.iter().all(|s| s.value.is_finite()));
        }
    }
});
