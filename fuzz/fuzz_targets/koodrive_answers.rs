#![no_main]
//! Huawei KooDrive answers: quotaUsed and service.
use libfuzzer_sys::fuzz_target;

#[path = "../common/two_answers.rs"]
mod two_answers;

fuzz_target!(|data: &[u8]| two_answers::check(data, quota_exporter::vendors::answers::koodrive));
