//! TC3-HMAC-SHA256, the request signature of Tencent Cloud API 3.0.
//!
//! General over the product (service name, host, action, version) so every Tencent product we
//! add signs the same way; CWP is one caller. Only the POST form is implemented: API 3.0 takes
//! every action as `POST /` with a JSON body, which keeps the canonical query string empty.
//!
//! The steps, as Tencent documents them:
//! 1. canonical request = `POST\n/\n\n` + canonical headers + `\n` + signed headers + `\n` +
//!    hex(sha256(payload)), where the canonical headers are `content-type:<ct>\nhost:<host>\n`
//!    (names and values lower-cased and trimmed, sorted by name);
//! 2. string to sign = `TC3-HMAC-SHA256\n<timestamp>\n<date>/<service>/tc3_request\n` +
//!    hex(sha256(canonical request)), `<date>` being the UTC date of the timestamp;
//! 3. key = HMAC(HMAC(HMAC("TC3" + SecretKey, date), service), "tc3_request"), signature =
//!    hex(HMAC(key, string to sign));
//! 4. `Authorization: TC3-HMAC-SHA256 Credential=<SecretId>/<scope>, SignedHeaders=…, Signature=…`.
//!
//! The content type is signed as sent, byte for byte: the caller must send exactly
//! [`Request::content_type`] (an HTTP client that appends `; charset=utf-8` breaks the signature).

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

pub const ALGORITHM: &str = "TC3-HMAC-SHA256";
/// The headers we sign: the two Tencent requires. Adding `x-tc-action` is allowed but optional.
pub const SIGNED_HEADERS: &str = "content-type;host";

/// A SecretId / SecretKey pair, with the session token of temporary credentials.
#[derive(Clone)]
pub struct Credentials {
    pub secret_id: SecretString,
    pub secret_key: SecretString,
    pub session_token: Option<SecretString>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Credentials(<redacted>)")
    }
}

/// One API call to sign.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    /// Service name in the credential scope: `cwp`, `cvm`… (also on the international site).
    pub service: &'a str,
    /// `host[:port]` exactly as the `Host` header will carry it.
    pub host: &'a str,
    /// `X-TC-Action`, e.g. `DescribeLicenseGeneral`.
    pub action: &'a str,
    /// `X-TC-Version`, e.g. `2018-02-28`.
    pub version: &'a str,
    /// `X-TC-Region`, sent only when set.
    pub region: Option<&'a str>,
    /// The `Content-Type` that is sent, byte for byte.
    pub content_type: &'a str,
    /// Unix seconds, sent as `X-TC-Timestamp`.
    pub timestamp: u64,
    /// The exact body bytes.
    pub payload: &'a [u8],
}

/// A signed request: the intermediate values (for tests and debugging) and the headers to send.
#[derive(Clone)]
pub struct Signed {
    pub payload_hash: String,
    pub canonical_request_hash: String,
    pub signature: String,
    pub authorization: String,
    headers: Vec<(&'static str, String)>,
}

impl std::fmt::Debug for Signed {
    // The headers carry the session token.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signed")
            .field("signature", &self.signature)
            .finish_non_exhaustive()
    }
}

impl Signed {
    /// Every header the request needs besides `Host` (which the HTTP client derives from the
    /// URL): `Content-Type`, `X-TC-Action`, `X-TC-Version`, `X-TC-Timestamp`, `X-TC-Region` when
    /// set, `X-TC-Token` with temporary credentials, and `Authorization`.
    pub fn headers(&self) -> &[(&'static str, String)] {
        &self.headers
    }
}

/// Signs `request` with `credentials`.
pub fn sign(credentials: &Credentials, request: &Request<'_>) -> Signed {
    let payload_hash = sha256_hex(request.payload);
    let canonical_headers = format!(
        "content-type:{}\nhost:{}\n",
        request.content_type.trim().to_ascii_lowercase(),
        request.host.trim().to_ascii_lowercase()
    );
    let canonical_request =
        format!("POST\n/\n\n{canonical_headers}\n{SIGNED_HEADERS}\n{payload_hash}");
    let canonical_request_hash = sha256_hex(canonical_request.as_bytes());

    let date = utc_date(request.timestamp);
    let scope = format!("{date}/{}/tc3_request", request.service);
    let string_to_sign = format!(
        "{ALGORITHM}\n{}\n{scope}\n{canonical_request_hash}",
        request.timestamp
    );

    let secret_date = hmac(
        format!("TC3{}", credentials.secret_key.expose_secret()).as_bytes(),
        date.as_bytes(),
    );
    let secret_service = hmac(&secret_date, request.service.as_bytes());
    let secret_signing = hmac(&secret_service, b"tc3_request");
    let signature = hex::encode(hmac(&secret_signing, string_to_sign.as_bytes()));

    let authorization = format!(
        "{ALGORITHM} Credential={}/{scope}, SignedHeaders={SIGNED_HEADERS}, Signature={signature}",
        credentials.secret_id.expose_secret()
    );
    let mut headers = vec![
        ("Content-Type", request.content_type.to_owned()),
        ("X-TC-Action", request.action.to_owned()),
        ("X-TC-Version", request.version.to_owned()),
        ("X-TC-Timestamp", request.timestamp.to_string()),
    ];
    if let Some(region) = request.region {
        headers.push(("X-TC-Region", region.to_owned()));
    }
    if let Some(token) = &credentials.session_token {
        headers.push(("X-TC-Token", token.expose_secret().to_owned()));
    }
    headers.push(("Authorization", authorization.clone()));
    Signed {
        payload_hash,
        canonical_request_hash,
        signature,
        authorization,
        headers,
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn hmac(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

/// The UTC date of a unix timestamp as `YYYY-MM-DD`.
pub fn utc_date(timestamp: u64) -> String {
    let (y, m, d) = civil_from_days((timestamp / 86_400) as i64);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day): Howard Hinnant's
/// `civil_from_days` algorithm, exact for every date a timestamp can name.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11], March-based
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests;
