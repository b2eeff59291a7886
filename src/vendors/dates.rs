//! Dates vendors send as text: RFC 3339 / ISO 8601 timestamps, read with the `time` crate.

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Unix seconds of an RFC 3339 timestamp (`2026-02-01T00:00:00Z`, `…+08:00`, with or without
/// fractional seconds). The error says what was wrong, for decode messages.
pub fn rfc3339_unix(s: &str) -> Result<f64, String> {
    let t = OffsetDateTime::parse(s.trim(), &Rfc3339)
        .map_err(|e| format!("{s:?} is not an RFC 3339 timestamp ({e})"))?;
    Ok(t.unix_timestamp_nanos() as f64 / 1e9)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_with_offsets_and_fractions() {
        assert_eq!(rfc3339_unix("2023-02-01T00:00:00Z"), Ok(1675209600.0));
        assert_eq!(rfc3339_unix("2023-02-01T08:00:00+08:00"), Ok(1675209600.0));
        assert_eq!(rfc3339_unix("2023-02-01T00:00:00.5Z"), Ok(1675209600.5));
        assert!(rfc3339_unix("2023-02-01").unwrap_err().contains("RFC 3339"));
        assert!(rfc3339_unix("soon").is_err());
    }
}
