//! KooDrive's app signature (`Authorization: HMAC-SHA256 AppId=…,SignedHeaders=…,Signature=…`).
//!
//! Pure functions, from the vendor's documented steps:
//!
//! 1. canonical request = `METHOD\nURI/\nQUERY\nHEADERS\nSIGNED_HEADERS\nhex(sha256(body))`, where
//!    the URI is signed with a trailing `/`, QUERY is the parameters sorted by name and RFC 3986
//!    encoded, HEADERS is one `lowercase(name):trim(value)\n` line per signed header, sorted, and
//!    SIGNED_HEADERS their names joined by `;`;
//! 2. string to sign = `HMAC-SHA256\n` + hex(sha256(canonical request));
//! 3. signature = hex(HMAC-SHA256(app_secret, string to sign)), with no key derivation.
//!
//! There is no official test vector; the one in the tests was derived by hand from these steps.

use std::time::SystemTime;

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

pub const ALGORITHM: &str = "HMAC-SHA256";

/// What one request is signed over.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    pub method: &'a str,
    /// The path as sent, without the trailing `/` the signature adds.
    pub path: &'a str,
    /// Query parameters, decoded.
    pub query: &'a [(&'a str, &'a str)],
    /// The headers to sign, as sent (any case, untrimmed).
    pub headers: &'a [(&'a str, &'a str)],
    pub body: &'a [u8],
}

/// The three intermediate results, kept for tests and debugging.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    pub canonical_request: String,
    pub string_to_sign: String,
    pub signed_headers: String,
    pub signature: String,
}

impl Signed {
    /// The `Authorization` header value: commas, no spaces, as documented.
    pub fn authorization(&self, app_id: &str) -> String {
        format!(
            "{ALGORITHM} AppId={app_id},SignedHeaders={},Signature={}",
            self.signed_headers, self.signature
        )
    }
}

/// Signs `request` with `app_secret`.
pub fn sign(request: &Request<'_>, app_secret: &[u8]) -> Signed {
    let mut headers: Vec<(String, &str)> = request
        .headers
        .iter()
        .map(|(name, value)| (name.to_ascii_lowercase(), value.trim()))
        .collect();
    headers.sort();
    let signed_headers = headers
        .iter()
        .map(|(name, _)| name.as_str())
        .collect::<Vec<_>>()
        .join(";");

    let mut canonical_request = String::new();
    canonical_request.push_str(request.method);
    canonical_request.push('\n');
    canonical_request.push_str(&canonical_uri(request.path));
    canonical_request.push('\n');
    canonical_request.push_str(&canonical_query(request.query));
    canonical_request.push('\n');
    for (name, value) in &headers {
        canonical_request.push_str(name);
        canonical_request.push(':');
        canonical_request.push_str(value);
        canonical_request.push('\n');
    }
    canonical_request.push('\n');
    canonical_request.push_str(&signed_headers);
    canonical_request.push('\n');
    canonical_request.push_str(&hex::encode(Sha256::digest(request.body)));

    let string_to_sign = format!(
        "{ALGORITHM}\n{}",
        hex::encode(Sha256::digest(canonical_request.as_bytes()))
    );
    let mut mac =
        Hmac::<Sha256>::new_from_slice(app_secret).expect("HMAC takes a key of any length");
    mac.update(string_to_sign.as_bytes());
    let signature = hex::encode(mac.finalize().into_bytes());
    Signed {
        canonical_request,
        string_to_sign,
        signed_headers,
        signature,
    }
}

/// The path with each segment RFC 3986 encoded and the trailing `/` the signature wants.
fn canonical_uri(path: &str) -> String {
    let mut uri: String = path
        .split('/')
        .map(|segment| encode(&percent_decode(segment)))
        .collect::<Vec<_>>()
        .join("/");
    if !uri.starts_with('/') {
        uri.insert(0, '/');
    }
    if !uri.ends_with('/') {
        uri.push('/');
    }
    uri
}

fn canonical_query(query: &[(&str, &str)]) -> String {
    let mut pairs: Vec<(String, String)> =
        query.iter().map(|(k, v)| (encode(k), encode(v))).collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// RFC 3986 encoding: everything but the unreserved characters, as `%XX` in upper case.
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Undoes `%XX` escapes a URL library may already have applied to a path segment, so that
/// [`encode`] does not encode them twice.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && bytes[i + 1].is_ascii_hexdigit()
            && bytes[i + 2].is_ascii_hexdigit()
        {
            let hex = [bytes[i + 1], bytes[i + 2]];
            let b = u8::from_str_radix(std::str::from_utf8(&hex).expect("ASCII hex digits"), 16)
                .expect("two hex digits");
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `X-Date`: UTC as `YYYYMMDDTHHMMSSZ`.
pub fn x_date(t: SystemTime) -> String {
    // humantime writes `YYYY-MM-DDTHH:MM:SSZ`; the compact form is the same without separators.
    humantime::format_rfc3339_seconds(t)
        .to_string()
        .replace(['-', ':'], "")
}

#[cfg(test)]
mod tests;
