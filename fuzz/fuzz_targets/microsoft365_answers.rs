#![no_main]
//! Microsoft 365 answers: subscribedSkus and directory/subscriptions.
use libfuzzer_sys::fuzz_target;

#[path = "../common/two_answers.rs"]
mod two_answers;

fuzz_target!(|data: &[u8]| two_answers::check(
    data,
    quota_exporter::vendors::answers::microsoft365
));
