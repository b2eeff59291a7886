//! Scrubbing secrets out of messages before they are logged or shown.

/// Removes the query string of every URL in a message: WeCom carries its access token there,
/// and a vendor error may echo the URL it was called with.
pub fn redact_url_queries(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    let next_url = |s: &str| {
        [s.find("http://"), s.find("https://")]
            .into_iter()
            .flatten()
            .min()
    };
    while let Some(start) = next_url(rest) {
        out.push_str(&rest[..start]);
        let url_and_after = &rest[start..];
        let end = url_and_after
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | ')' | '>' | ','))
            .unwrap_or(url_and_after.len());
        let url = &url_and_after[..end];
        out.push_str(url.split('?').next().unwrap_or(url));
        rest = &url_and_after[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_queries_are_removed() {
        assert_eq!(
            redact_url_queries("a http://x/y?t=1 b (https://z?q) c"),
            "a http://x/y b (https://z) c"
        );
        assert_eq!(redact_url_queries("no url"), "no url");
    }
}
