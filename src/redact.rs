//! Scrubbing secrets out of messages before they are logged or shown.
//!
//! The one boundary: the scheduler passes every failure message of a poll through [`scrub`]
//! once, with the secrets the account declares ([`crate::vendors::Account::secrets`]), before
//! the message is logged, stored (landing page, `--once`) or counted. Vendors do not redact.

use secrecy::{ExposeSecret, SecretString};

/// What a secret is replaced with.
pub const REDACTED: &str = "<redacted>";

/// Removes URL queries and every occurrence of each secret, whatever its length (the longest
/// first, so that a secret containing another is removed whole). Empty secrets are ignored.
pub fn scrub(message: &str, secrets: &[SecretString]) -> String {
    let mut out = redact_url_queries(message);
    let mut secrets: Vec<&str> = secrets
        .iter()
        .map(|s| s.expose_secret())
        .filter(|s| !s.is_empty())
        .collect();
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    for secret in secrets {
        if out.contains(secret) {
            out = out.replace(secret, REDACTED);
        }
    }
    out
}

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

    #[test]
    fn secrets_of_any_length_are_removed_longest_first() {
        let secrets = [
            SecretString::from("x"),
            SecretString::from("abc"),
            SecretString::from("abcdef"),
            SecretString::from(""),
        ];
        assert_eq!(
            scrub(
                "key abcdef, id abc, flag x at https://h/p?token=q",
                &secrets
            ),
            "key <redacted>, id <redacted>, flag <redacted> at https://h/p"
        );
        assert_eq!(scrub("nothing secret", &[]), "nothing secret");
    }
}
