#![no_main]
//! Huawei KooDrive answers: the input split at the first NUL into quotaUsed and service.
use libfuzzer_sys::fuzz_target;

#[path = "../common/two_answers.rs"]
mod two_answers;
use two_answers::split;

fuzz_target!(|data: &[u8]| {
    let (a, b) = split(data);
    if let Ok(samples) = quota_exporter::vendors::answers::koodrive(a, b) {
        for f in samples.families() {
            assert!(f.samples.iter().all(|s| s.value.is_finite()));
        }
    }
});
