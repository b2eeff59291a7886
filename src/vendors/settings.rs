//! The contract a vendor parses its config section against: secret references, the context a
//! parser resolves them in, field errors, and the helpers every vendor's settings use (base URLs,
//! `deny_unknown_fields` parsing, lenient number and boolean decoding).
//!
//! It depends on nothing else in the crate, so imports run one way: `config` → `vendors` →
//! `settings`.

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use secrecy::SecretString;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};

/// A problem with one key. `field` is relative to what was being parsed; callers prefix it.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Handed to a vendor's parser: resolves secrets and collects warnings for the account.
pub struct ParseContext {
    pub account: String,
    /// The account's poll interval, for vendors whose tokens or quotas depend on it.
    pub interval: Option<Duration>,
    /// The account's retries per poll, for vendors whose quotas count every call.
    pub retries: u32,
    warnings: Vec<String>,
}

impl ParseContext {
    pub fn new(account: impl Into<String>) -> Self {
        Self {
            account: account.into(),
            interval: None,
            retries: 0,
            warnings: Vec::new(),
        }
    }

    /// Resolves a secret reference now, so a missing variable or file is a config error.
    pub fn secret(&mut self, field: &str, secret: &SecretRef) -> Result<SecretString, FieldError> {
        if matches!(secret, SecretRef::Inline(_)) {
            self.warnings.push(format!(
                "{field}: secret written inline in the config file; prefer {{ env: NAME }} or {{ file: PATH }}"
            ));
        }
        secret.resolve().map_err(|m| FieldError::new(field, m))
    }

    pub fn warn(&mut self, message: impl Into<String>) {
        self.warnings.push(message.into());
    }

    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }
}

/// Where a secret comes from. Written in config as `{ env: NAME }`, `{ file: PATH }`, or (with a
/// warning) an inline string.
#[derive(Clone, PartialEq)]
pub enum SecretRef {
    Env(String),
    File(PathBuf),
    Inline(String),
}

impl fmt::Debug for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretRef::Env(name) => write!(f, "env:{name}"),
            SecretRef::File(path) => write!(f, "file:{}", path.display()),
            SecretRef::Inline(_) => f.write_str("inline:<redacted>"),
        }
    }
}

impl SecretRef {
    /// Reads the secret. Errors name the variable or file, never the value.
    pub fn resolve(&self) -> Result<SecretString, String> {
        let value = match self {
            SecretRef::Env(name) => std::env::var(name).map_err(|e| match e {
                std::env::VarError::NotPresent => format!("environment variable {name} is not set"),
                std::env::VarError::NotUnicode(_) => {
                    format!("environment variable {name} is not valid UTF-8")
                }
            })?,
            SecretRef::File(path) => read_bounded(path, MAX_SECRET_BYTES, "secret file")
                .and_then(|bytes| text(bytes, "secret file", path))?,
            SecretRef::Inline(value) => value.clone(),
        };
        // Files and env vars written by tools often end in a newline that is not part of the secret.
        let value = value.trim();
        if value.is_empty() {
            return Err(match self {
                SecretRef::Env(name) => format!("environment variable {name} is empty"),
                SecretRef::File(path) => format!("secret file {} is empty", path.display()),
                SecretRef::Inline(_) => "secret is empty".to_owned(),
            });
        }
        Ok(SecretString::from(value.to_owned()))
    }
}

impl<'de> Deserialize<'de> for SecretRef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(SecretRefVisitor)
    }
}

const SECRET_EXPECTED: &str = "a secret reference: { env: NAME }, { file: PATH } or a string";

/// A visitor rather than derived types, so that an error inside a reference (an unknown key, a
/// value of the wrong type) is reported at that key's own path, e.g. `secret.vault`.
struct SecretRefVisitor;

impl<'de> serde::de::Visitor<'de> for SecretRefVisitor {
    type Value = SecretRef;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(SECRET_EXPECTED)
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<SecretRef, E> {
        Ok(SecretRef::Inline(v.to_owned()))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<SecretRef, A::Error> {
        let mut env: Option<String> = None;
        let mut file: Option<PathBuf> = None;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "env" => env = Some(map.next_value()?),
                "file" => file = Some(map.next_value()?),
                _ => {
                    // Fails inside the value, so the error path ends in the unknown key.
                    map.next_value_seed(UnknownKey)?;
                }
            }
        }
        match (env, file) {
            (Some(name), None) => Ok(SecretRef::Env(name)),
            (None, Some(path)) => Ok(SecretRef::File(path)),
            _ => Err(serde::de::Error::custom(format!(
                "expected exactly one of env or file in {SECRET_EXPECTED}"
            ))),
        }
    }
}

/// Refuses the value of a key a secret reference does not have.
struct UnknownKey;

impl<'de> serde::de::DeserializeSeed<'de> for UnknownKey {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, _: D) -> Result<(), D::Error> {
        Err(serde::de::Error::custom(
            "unknown key in a secret reference (expected env or file)",
        ))
    }
}

/// Largest secret file read (`{ file: PATH }`): secrets are tokens and keys, not data.
pub const MAX_SECRET_BYTES: u64 = 64 << 10;
/// Reads at most `limit` bytes of a file; a larger file is an error, never a partial read.
/// `what` names the file in errors ("config file", "secret file").
pub fn read_bounded(path: &Path, limit: u64, what: &str) -> Result<Vec<u8>, String> {
    let file = std::fs::File::open(path)
        .map_err(|e| format!("cannot read {what} {}: {e}", path.display()))?;
    let mut bytes = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read {what} {}: {e}", path.display()))?;
    if bytes.len() as u64 > limit {
        return Err(format!(
            "{what} {} is larger than the {} limit",
            path.display(),
            size(limit)
        ));
    }
    Ok(bytes)
}

/// Text of a file read with [`read_bounded`]: UTF-8 without NUL bytes.
pub fn text(bytes: Vec<u8>, what: &str, path: &Path) -> Result<String, String> {
    let text = String::from_utf8(bytes).map_err(|e| {
        format!(
            "{what} {} is not UTF-8 text (invalid byte at offset {})",
            path.display(),
            e.utf8_error().valid_up_to()
        )
    })?;
    check_no_nul(&text).map_err(|e| format!("{what} {}: {e}", path.display()))?;
    Ok(text)
}

/// A NUL byte ends YAML input early: everything after it would be ignored without a word.
pub fn check_no_nul(text: &str) -> Result<(), String> {
    let Some(offset) = text.find('\0') else {
        return Ok(());
    };
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    Err(format!(
        "line {line} column {column}: contains a NUL byte (the file is binary or corrupt)"
    ))
}

fn size(bytes: u64) -> String {
    if bytes >= 1 << 20 {
        format!("{} MiB", bytes >> 20)
    } else {
        format!("{} KiB", bytes >> 10)
    }
}

/// Checks a vendor base URL from config: `http` or `https`, a host, no query string.
pub fn parse_base_url(s: &str) -> Result<reqwest::Url, String> {
    let url = reqwest::Url::parse(s).map_err(|e| format!("not a URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("scheme must be http or https".into());
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("no host".into());
    }
    if url.query().is_some() {
        return Err("must not have a query".into());
    }
    // It would be printed by --config.check and the landing page, and sent to the vendor.
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not contain a user name or password (`user:pass@`); credentials belong in the account's secret keys".into());
    }
    Ok(url)
}

/// A URL from config as error messages may show it: any `user:pass@` replaced by `***@`.
pub fn url_for_message(s: &str) -> String {
    match reqwest::Url::parse(s) {
        Ok(mut url) if !url.username().is_empty() || url.password().is_some() => {
            let _ = url.set_password(None);
            let _ = url.set_username("***");
            format!("{:?}", url.as_str())
        }
        Ok(_) => format!("{s:?}"),
        // Unparsable: whatever sits before an `@` may still be a password.
        Err(_) => match s.rsplit_once('@') {
            Some((_, host)) => format!("\"***@{host}\""),
            None => format!("{s:?}"),
        },
    }
}

/// `host[:port]` of a URL: what the `Host` header carries, and what vendor signatures cover.
pub fn host_header(url: &reqwest::Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    }
}

/// Deserializes a vendor's account settings, naming the offending key on error.
pub fn parse_settings<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, Vec<FieldError>> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        vec![FieldError::new(
            if path == "." { String::new() } else { path },
            e.into_inner().to_string(),
        )]
    })
}

/// Lenient number decoding: vendors send numbers, and older API versions the same numbers as
/// strings (`"1000"`). Use with `#[serde(default, deserialize_with = "lenient::number")]`.
pub mod lenient {
    use serde::{Deserialize, Deserializer};

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum NumOrString {
        Num(serde_json::Number),
        Str(String),
        Bool(bool),
    }

    /// Accepts a number or a numeric string; `null` or absent gives `None`.
    pub fn number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
        match Option::<NumOrString>::deserialize(d)? {
            None => Ok(None),
            Some(NumOrString::Num(n)) => n
                .as_f64()
                .map(Some)
                .ok_or_else(|| serde::de::Error::custom("number out of range")),
            Some(NumOrString::Str(s)) if s.trim().is_empty() => Ok(None),
            Some(NumOrString::Str(s)) => s.trim().parse::<f64>().map(Some).map_err(|_| {
                serde::de::Error::custom(format!("expected a number, got string {s:?}"))
            }),
            Some(NumOrString::Bool(b)) => Err(serde::de::Error::custom(format!(
                "expected a number, got boolean {b}"
            ))),
        }
    }

    /// Accepts only a JSON object (`null` or absent gives `None`): for nested data such as
    /// KooDrive's `data`, where a list (`data: []`) would otherwise pass as an object with every
    /// field absent. Field paths inside stay in decode errors.
    pub fn object<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
        d: D,
    ) -> Result<Option<T>, D::Error> {
        struct Opt<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for Opt<T> {
            type Value = Option<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_none<E>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Self::Value, D2::Error> {
                required(d).map(Some)
            }
        }
        d.deserialize_option(Opt(std::marker::PhantomData))
    }

    /// Like [`object`], for a value that must be there.
    pub fn required<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<T, D::Error> {
        struct Obj<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for Obj<T> {
            type Value = T;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
                T::deserialize(serde::de::value::MapAccessDeserializer::new(map))
            }
        }
        d.deserialize_map(Obj(std::marker::PhantomData))
    }

    /// Accepts a boolean, `"true"`/`"false"`, or 0/1; `null` or absent gives `None`.
    pub fn boolean<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
        match Option::<NumOrString>::deserialize(d)? {
            None => Ok(None),
            Some(NumOrString::Bool(b)) => Ok(Some(b)),
            Some(NumOrString::Str(s)) => match s.trim().to_ascii_lowercase().as_str() {
                "true" | "1" => Ok(Some(true)),
                "false" | "0" => Ok(Some(false)),
                _ => Err(serde::de::Error::custom(format!(
                    "expected a boolean, got string {s:?}"
                ))),
            },
            Some(NumOrString::Num(n)) => match n.as_u64() {
                Some(0) => Ok(Some(false)),
                Some(1) => Ok(Some(true)),
                _ => Err(serde::de::Error::custom(format!(
                    "expected a boolean, got number {n}"
                ))),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn secret_refs_parse_and_resolve() {
        let env: SecretRef = serde_json::from_str(r#"{"env":"QE_TEST_SECRET_A"}"#).unwrap();
        assert_eq!(env, SecretRef::Env("QE_TEST_SECRET_A".into()));
        assert!(env
            .resolve()
            .unwrap_err()
            .contains("QE_TEST_SECRET_A is not set"));
        std::env::set_var("QE_TEST_SECRET_B", "s3cret\n");
        let env: SecretRef = serde_json::from_str(r#"{"env":"QE_TEST_SECRET_B"}"#).unwrap();
        assert_eq!(env.resolve().unwrap().expose_secret(), "s3cret");

        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("s");
        std::fs::write(&file, "from-file\n").unwrap();
        let r: SecretRef = serde_json::from_value(serde_json::json!({ "file": file })).unwrap();
        assert_eq!(r.resolve().unwrap().expose_secret(), "from-file");
        std::fs::write(&file, "\n").unwrap();
        assert!(r.resolve().unwrap_err().contains("is empty"));

        let inline: SecretRef = serde_json::from_str(r#""plain""#).unwrap();
        assert_eq!(format!("{inline:?}"), "inline:<redacted>");
        assert!(serde_json::from_str::<SecretRef>(r#"{"env":"A","file":"b"}"#).is_err());
        assert!(serde_json::from_str::<SecretRef>(r#"{"vault":"x"}"#).is_err());
    }
}
