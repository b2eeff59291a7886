//! Targets whose decoder takes two answers: the input is split at its first NUL (or used whole
//! twice), and whatever the decoder accepts must hold only finite samples.
use quota_exporter::exposition::Samples;
use quota_exporter::vendors::PollError;

pub fn check(data: &[u8], decode: fn(&[u8], &[u8]) -> Result<Samples, PollError>) {
    let (a, b) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, data),
    };
    if let Ok(samples) = decode(a, b) {
        for f in samples.families() {
            assert!(f.samples.iter().all(|s| s.value.is_finite()));
        }
    }
}
