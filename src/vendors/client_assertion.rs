//! Certificate credentials for OAuth 2.0 client credentials (RFC 7523 §2.2, as the Microsoft
//! identity platform documents it): instead of a client secret, the token request carries a
//! short-lived JWT signed RS256 with the certificate's private key, and the certificate's
//! SHA-256 thumbprint (`x5t#S256`) in the JWT header tells the server which key to check it with.
//!
//! The key and certificate are read and checked when the configuration is loaded: a PEM that
//! does not parse, a key that is not RSA PKCS#8, or a key that does not belong to the certificate
//! is a configuration error, not a failed poll.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{RsaKeyPair, RSA_PKCS1_SHA256};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivatePkcs8KeyDer};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use sha2::{Digest, Sha256};

/// The `client_assertion_type` of a JWT client assertion (RFC 7523 §2.2).
pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// How long a signed assertion is valid. Each token request signs a new one.
const LIFETIME_SECS: u64 = 5 * 60;

/// An app's certificate and its private key, checked to belong together.
pub struct ClientCertificate {
    key: RsaKeyPair,
    /// The PEM text of the private key, for [`crate::vendors::Account::secrets`].
    key_pem: SecretString,
    /// base64url SHA-256 of the DER certificate.
    thumbprint: String,
}

/// A configuration error: which of the two (`certificate` or `private_key`) is wrong, and how.
#[derive(Debug)]
pub struct CertificateError {
    pub field: &'static str,
    pub message: String,
}

fn error(field: &'static str, message: impl Into<String>) -> CertificateError {
    CertificateError {
        field,
        message: message.into(),
    }
}

/// The base64url SHA-256 thumbprint of a DER certificate (the `x5t#S256` header value).
pub fn thumbprint(der: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(der))
}

impl ClientCertificate {
    /// Reads a PEM certificate and a PEM PKCS#8 RSA private key, and checks that the key is the
    /// certificate's (by signing a probe and verifying it with the certificate's public key).
    pub fn load(cert_pem: &str, key_pem: SecretString) -> Result<Self, CertificateError> {
        let cert = CertificateDer::from_pem_slice(cert_pem.as_bytes()).map_err(|e| {
            error(
                "certificate",
                format!("not a PEM certificate (-----BEGIN CERTIFICATE-----): {e}"),
            )
        })?;
        let parsed = webpki::EndEntityCert::try_from(&cert)
            .map_err(|e| error("certificate", format!("not a valid X.509 certificate: {e}")))?;
        let der = PrivatePkcs8KeyDer::from_pem_slice(key_pem.expose_secret().as_bytes()).map_err(
            |_| {
                error(
                    "private_key",
                    "not a PEM PKCS#8 private key (-----BEGIN PRIVATE KEY-----; convert others \
                     with `openssl pkcs8 -topk8 -nocrypt`)",
                )
            },
        )?;
        let key = RsaKeyPair::from_pkcs8(der.secret_pkcs8_der())
            .map_err(|e| error("private_key", format!("not a usable RSA private key: {e}")))?;
        let this = Self {
            key,
            key_pem,
            thumbprint: thumbprint(cert.as_ref()),
        };
        let probe = b"quota-exporter certificate check";
        let signature = this.sign(probe).map_err(|e| error("private_key", e))?;
        parsed
            .verify_signature(webpki::ring::RSA_PKCS1_2048_8192_SHA256, probe, &signature)
            .map_err(|_| {
                error(
                    "private_key",
                    "does not belong to the certificate (the certificate's public key does not \
                     verify what this key signs)",
                )
            })?;
        Ok(this)
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, String> {
        let mut signature = vec![0; self.key.public().modulus_len()];
        self.key
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                message,
                &mut signature,
            )
            .map_err(|_| "RSA signing failed".to_owned())?;
        Ok(signature)
    }

    /// The base64url SHA-256 thumbprint of the certificate.
    pub fn thumbprint(&self) -> &str {
        &self.thumbprint
    }

    /// The private key, for the redaction boundary.
    pub fn secret(&self) -> SecretString {
        self.key_pem.clone()
    }

    /// A new signed assertion for one token request to `audience` (the token endpoint URL).
    pub fn assertion(&self, audience: &str, client_id: &str) -> Result<SecretString, String> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_err(|_| "the system clock is before 1970".to_owned())?
            .as_secs();
        let mut id = [0u8; 16];
        SystemRandom::new()
            .fill(&mut id)
            .map_err(|_| "no random numbers for the assertion id".to_owned())?;
        let header = json!({ "alg": "RS256", "typ": "JWT", "x5t#S256": self.thumbprint });
        let claims = json!({
            "aud": audience, "iss": client_id, "sub": client_id,
            "jti": URL_SAFE_NO_PAD.encode(id),
            "nbf": now, "iat": now, "exp": now + LIFETIME_SECS,
        });
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = self.sign(signing_input.as_bytes())?;
        Ok(SecretString::from(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature)
        )))
    }
}
