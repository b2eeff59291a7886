#![no_main]
//! http_json: an output list (the config's outputs as JSON) and an answer.
use libfuzzer_sys::fuzz_target;
use quota_exporter::exposition::Samples;
use quota_exporter::vendors::{FailureReason, PollError};

#[path = "../common/two_answers.rs"]
mod two_answers;

fn decode(outputs: &[u8], answer: &[u8]) -> Result<Samples, PollError> {
    let outputs: serde_json::Value = serde_json::from_slice(outputs)
        .map_err(|e| PollError::new(FailureReason::Decode, e.to_string()))?;
    quota_exporter::vendors::answers::http_json(&outputs, answer)
}

fuzz_target!(|data: &[u8]| two_answers::check(data, decode));
