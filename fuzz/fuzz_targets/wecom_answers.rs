#![no_main]
//! WeCom WeDrive answers: mng_pro_info and mng_capacity.
use libfuzzer_sys::fuzz_target;

#[path = "../common/two_answers.rs"]
mod two_answers;

fuzz_target!(|data: &[u8]| two_answers::check(data, quota_exporter::vendors::answers::wecom));
