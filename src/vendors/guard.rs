//! The sample guard: the one check between every vendor and the store.
//!
//! Vendor answers are read leniently (numbers as strings, absent fields), which also lets through
//! what no vendor means: `"NaN"`, `"1e400"`, `"-inf"`, negative capacities, a capacity times its
//! unit that overflows to infinity, or an answer such as `[]` or `{}` that has none of the fields
//! a poll maps. Exporting those would draw nonsense graphs and fire (or silence) alerts, so the
//! poll fails as `decode` naming the series and the vendor field instead, and the last good data
//! stays until `max_staleness`.

use crate::exposition::{MetricType, Samples};

use super::{FailureReason, PollError};

/// Checks one poll's samples. Every vendor metric is an amount, a count, a limit, a flag or a
/// timestamp, none of which can be negative; only families named `…_code` carry identifiers,
/// which may be any finite number.
pub fn check(samples: &Samples) -> Result<(), PollError> {
    if samples.is_empty() {
        return Err(PollError::new(
            FailureReason::Decode,
            "the answers have none of the expected fields (an empty list or object where the data should be)",
        ));
    }
    for family in samples.families() {
        for sample in family.samples {
            let v = sample.value;
            let negative_allowed =
                family.desc.name.ends_with("_code") && family.desc.kind == MetricType::Gauge;
            let problem = if !v.is_finite() {
                "not a finite number"
            } else if v < 0.0 && !negative_allowed {
                "negative, which it cannot be"
            } else {
                continue;
            };
            let labels: Vec<String> = sample
                .labels
                .iter()
                .map(|(k, v)| format!("{k}={v:?}"))
                .collect();
            let series = if labels.is_empty() {
                family.desc.name.to_owned()
            } else {
                format!("{}{{{}}}", family.desc.name, labels.join(","))
            };
            return Err(PollError::new(
                FailureReason::Decode,
                format!(
                    "impossible value {v} for {series} ({}): {problem}",
                    source_field(family.desc.help)
                ),
            ));
        }
    }
    Ok(())
}

/// The vendor field a metric comes from, as its HELP text names it ("…, from mng_capacity
/// total_capacity_for_all; refreshed…").
fn source_field(help: &str) -> &str {
    help.split_once("from ")
        .map(|(_, rest)| rest.split(';').next().unwrap_or(rest).trim())
        .unwrap_or(help)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exposition::MetricDesc;

    static CAP: MetricDesc = MetricDesc::gauge_with_unit(
        "test_capacity_bytes",
        "bytes",
        "Capacity, from answer totalCapacity; refreshed every poll interval",
    );
    static CODE: MetricDesc = MetricDesc::gauge("test_status_code", "Code, from answer status");

    #[test]
    fn non_finite_and_negative_values_fail_naming_the_field() {
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -1.0] {
            let mut s = Samples::new();
            s.push(&CAP, vec![("pool", "all".into())], bad);
            let e = check(&s).unwrap_err();
            assert_eq!(e.reason, FailureReason::Decode);
            assert!(
                e.message.contains("test_capacity_bytes{pool=\"all\"}")
                    && e.message.contains("answer totalCapacity"),
                "{}",
                e.message
            );
        }
    }

    #[test]
    fn codes_may_be_negative_and_good_values_pass() {
        let mut s = Samples::new();
        s.set(&CAP, 0.0);
        s.set(&CODE, -3.0);
        check(&s).unwrap();
        let mut s = Samples::new();
        s.set(&CODE, f64::NAN);
        assert!(check(&s).is_err());
    }

    #[test]
    fn empty_answers_are_not_a_success() {
        let e = check(&Samples::new()).unwrap_err();
        assert_eq!(e.reason, FailureReason::Decode);
        assert!(e.message.contains("none of the expected fields"));
    }
}
