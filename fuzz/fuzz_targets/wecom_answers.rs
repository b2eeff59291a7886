#![no_main]
//! WeCom WeDrive answers: the input split at the first NUL into mng_pro_info and mng_capacity.
use libfuzzer_sys::fuzz_target;

#[path = "../common/two_answers.rs"]
mod two_answers;
use two_answers::split;

fuzz_target!(|data: &[u8]| {
    let (a, b) = split(data);
    if let Ok(samples) = quota_exporter::vendors::answers::wecom(a, b) {
        for f in samples.families() {
            assert!(f.samples.iter().all(|s| s.value.is_finite()));
        }
    }
});
