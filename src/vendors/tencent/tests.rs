use super::*;
use crate::vendors::decode_json;
use secrecy::ExposeSecret;

/// The example answer on Tencent's DescribeLicenseGeneral page, verbatim.
const EXAMPLE: &str =
    include_str!("../../../tests/fixtures/tencentcloud_cwp/describe_license_general.json");

fn example() -> LicenseGeneral {
    decode_json::<model::Envelope<LicenseGeneral>>(ACTION, EXAMPLE.as_bytes())
        .unwrap()
        .response
}

#[test]
fn documentation_example_maps_to_samples() {
    let s = samples(&example());
    let v = |name: &str, labels: &[(&str, &str)]| s.value(name, labels);
    assert_eq!(v("tencentcloud_cwp_licenses", &[]), Some(3.0));
    assert_eq!(v("tencentcloud_cwp_licenses_available", &[]), Some(3.0));
    assert_eq!(v("tencentcloud_cwp_licenses_used", &[]), Some(0.0));
    assert_eq!(v("tencentcloud_cwp_licenses_unexpired", &[]), Some(3.0));
    assert_eq!(v("tencentcloud_cwp_licenses_expiring", &[]), Some(0.0));
    assert_eq!(v("tencentcloud_cwp_licenses_expired", &[]), Some(0.0));
    assert_eq!(
        v("tencentcloud_cwp_edition_licenses", &[("edition", "pro")]),
        Some(2.0)
    );
    assert_eq!(
        v(
            "tencentcloud_cwp_edition_licenses",
            &[("edition", "flagship")]
        ),
        Some(1.0)
    );
    assert_eq!(
        v(
            "tencentcloud_cwp_edition_licenses",
            &[("edition", "inclusive")]
        ),
        Some(0.0)
    );
    assert_eq!(
        v(
            "tencentcloud_cwp_edition_licenses_available",
            &[("edition", "pro")]
        ),
        Some(2.0)
    );
    assert_eq!(
        v(
            "tencentcloud_cwp_edition_licenses_available",
            &[("edition", "flagship")]
        ),
        Some(1.0)
    );
    assert_eq!(
        v(
            "tencentcloud_cwp_edition_licenses_available",
            &[("edition", "inclusive")]
        ),
        Some(0.0)
    );
    assert_eq!(v("tencentcloud_cwp_destroyed_orders", &[]), Some(0.0));
    assert_eq!(
        v(
            "tencentcloud_cwp_setting_enabled",
            &[("setting", "auto_upgrade")]
        ),
        Some(1.0)
    );
    assert_eq!(
        v(
            "tencentcloud_cwp_setting_enabled",
            &[("setting", "auto_upgrade_ever_enabled")]
        ),
        Some(1.0)
    );
    assert_eq!(
        v(
            "tencentcloud_cwp_setting_enabled",
            &[("setting", "auto_repurchase")]
        ),
        Some(0.0)
    );
    assert_eq!(
        v(
            "tencentcloud_cwp_setting_enabled",
            &[("setting", "auto_repurchase_renew")]
        ),
        Some(0.0)
    );
    assert_eq!(
        v(
            "tencentcloud_cwp_setting_enabled",
            &[("setting", "repurchase_renew")]
        ),
        Some(0.0)
    );
    assert_eq!(
        v("tencentcloud_cwp", &[("protect_type", "FLAGSHIP_PREPAY")]),
        Some(1.0)
    );
    // Every family of the catalogue appears, and no other.
    let produced: Vec<_> = s.families().map(|f| f.desc.name).collect();
    let catalogue: Vec<_> = VENDOR.metrics.iter().map(|m| m.name).collect();
    assert_eq!(produced, catalogue);
    assert_eq!(s.len(), 19);
}

#[test]
fn unknown_fields_strings_and_missing_fields() {
    let g: model::Envelope<LicenseGeneral> = decode_json(
        ACTION,
        br#"{"Response":{"LicenseCnt":"12","AutoOpenStatus":"true","AutoDowngradeSwitch":true,
                "NewThing":{"a":[1]},"RequestId":"r"}}"#,
    )
    .unwrap();
    let s = samples(&g.response);
    assert_eq!(s.value("tencentcloud_cwp_licenses", &[]), Some(12.0));
    assert_eq!(
        s.value(
            "tencentcloud_cwp_setting_enabled",
            &[("setting", "auto_upgrade")]
        ),
        Some(1.0)
    );
    // Not returned: absent, not zero.
    assert_eq!(s.value("tencentcloud_cwp_licenses_used", &[]), None);
    assert_eq!(
        s.value(
            "tencentcloud_cwp_setting_enabled",
            &[("setting", "repurchase_renew")]
        ),
        None
    );
    assert_eq!(s.value("tencentcloud_cwp", &[]), None);
    assert_eq!(s.families().len(), 2);
}

#[test]
fn wrong_types_name_the_field() {
    let e = decode_json::<model::Envelope<LicenseGeneral>>(
        ACTION,
        br#"{"Response":{"UsedLicenseCnt":[1]}}"#,
    )
    .unwrap_err();
    assert!(
        e.message.contains("Response.UsedLicenseCnt"),
        "{}",
        e.message
    );
}

fn parse_yaml(
    yaml: serde_json::Value,
    env: &[(&str, &str)],
) -> Result<Arc<dyn Account>, Vec<FieldError>> {
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    parse_with_env(yaml, &mut ParseContext::new("t"), &move |name| {
        env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    })
}

#[test]
fn settings_and_credentials() {
    use serde_json::json;
    // Named credentials, default endpoint.
    let a = parse_yaml(json!({"secret_id": "AKIDx", "secret_key": "k"}), &[]).unwrap();
    assert_eq!(
        a.describe(),
        "endpoint=https://cwp.tencentcloudapi.com/ credentials=config"
    );
    // International endpoint with a region; host and port kept.
    let a = parse_yaml(
            json!({"secret_id": "AKIDx", "secret_key": "k", "region": "ap-singapore", "endpoint": INTERNATIONAL_ENDPOINT}),
            &[],
        )
        .unwrap();
    assert_eq!(
        a.describe(),
        "endpoint=https://cwp.intl.tencentcloudapi.com/ region=ap-singapore credentials=config"
    );
    // Nothing named: the SDK variables.
    let a = parse_yaml(
        json!({"endpoint": "http://127.0.0.1:8080"}),
        &[(ENV_SECRET_ID, "AKIDenv"), (ENV_SECRET_KEY, "kenv")],
    )
    .unwrap();
    assert_eq!(
        a.describe(),
        "endpoint=http://127.0.0.1:8080/ credentials=environment (TENCENTCLOUD_*)"
    );
    // Neither: one error naming the keys and the variables.
    let e = parse_yaml(json!({}), &[(ENV_SECRET_ID, "AKIDenv")])
        .err()
        .unwrap();
    assert_eq!(e.len(), 1);
    for word in [
        "secret_id",
        "secret_key",
        "session_token",
        ENV_SECRET_ID,
        ENV_SECRET_KEY,
        ENV_SESSION_TOKEN,
    ] {
        assert!(e[0].message.contains(word), "{word}: {}", e[0].message);
    }
    // Half named.
    let e = parse_yaml(
        json!({"secret_id": "AKIDx"}),
        &[(ENV_SECRET_ID, "a"), (ENV_SECRET_KEY, "b")],
    )
    .err()
    .unwrap();
    assert_eq!(e[0].field, "secret_key");
    // Unknown keys, bad endpoints.
    let e = parse_yaml(
        json!({"secret_id": "a", "secret_key": "b", "secretkey": "c"}),
        &[],
    )
    .err()
    .unwrap();
    assert!(e[0].message.contains("secretkey"), "{e:?}");
    for bad in [
        "ftp://cwp.tencentcloudapi.com",
        "https://cwp.tencentcloudapi.com/v3",
        "not a url",
        "https://h/?a=b",
    ] {
        let e = parse_yaml(
            json!({"secret_id": "a", "secret_key": "b", "endpoint": bad}),
            &[],
        )
        .err()
        .unwrap();
        assert_eq!(e[0].field, "endpoint", "{bad}");
    }
    let e = parse_yaml(
        json!({"secret_id": "a", "secret_key": "b", "region": " "}),
        &[],
    )
    .err()
    .unwrap();
    assert_eq!(e[0].field, "region");
}

#[test]
fn environment_credentials_include_the_session_token() {
    let env = |name: &str| match name {
        ENV_SECRET_ID => Some("AKIDenv".to_owned()),
        ENV_SECRET_KEY => Some("key\n".to_owned()),
        ENV_SESSION_TOKEN => Some("tok".to_owned()),
        _ => None,
    };
    let (c, source) = credentials(&None, &None, &None, &mut ParseContext::new("t"), &env).unwrap();
    assert_eq!(source, CredentialSource::Environment);
    assert_eq!(
        (
            c.secret_id.expose_secret(),
            c.secret_key.expose_secret(),
            c.session_token.as_ref().map(|t| t.expose_secret())
        ),
        ("AKIDenv", "key", Some("tok"))
    );
}
