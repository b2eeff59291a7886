//! Properties over generated input: the decoders never panic, what they accept is always finite
//! (and non-negative where the guard says so), and signing is a pure function of its inputs.

use proptest::prelude::*;
use quota_exporter::exposition::Samples;
use quota_exporter::vendors::answers;
use quota_exporter::vendors::koodrive::sign as kd_sign;
use quota_exporter::vendors::tencent::tc3;
use serde_json::{json, Map, Value};

/// The fields each vendor's answers carry, so generated objects exercise the mapping, not only
/// the "unknown field" path.
const WECOM: &[&str] = &[
    "errcode",
    "errmsg",
    "is_pro",
    "total_vip_acct_num",
    "use_vip_acct_num",
    "pro_expire_time",
    "total_capacity_for_all",
    "total_capacity_for_vip",
    "rest_capacity_for_all",
    "rest_capacity_for_vip",
];
const KOODRIVE: &[&str] = &[
    "spaceCapacity",
    "spaceUsed",
    "spaceQuotaUsed",
    "deptSpaceQuota",
    "personalSpaceQuota",
    "groupSpaceQuota",
    "reservedSpaceQuota",
    "deptSpaceUsed",
    "personalSpaceUsed",
    "groupSpaceUsed",
    "userCount",
    "userMaxCount",
    "packageDownloadExpires",
    "productType",
    "status",
    "groupSpaceSize",
    "personalSpaceSize",
    "departmentSpaceSize",
    "aiAvailable",
    "wpsAvailable",
    "tenantId",
];
const TENCENT: &[&str] = &[
    "LicenseCnt",
    "AvailableLicenseCnt",
    "AvailableProVersionLicenseCnt",
    "AvailableFlagshipVersionLicenseCnt",
    "NearExpiryLicenseCnt",
    "ExpireLicenseCnt",
    "AutoOpenStatus",
    "ProtectType",
    "IsOpenStatusHistory",
    "UsedLicenseCnt",
    "NotExpiredLicenseCnt",
    "FlagshipVersionLicenseCnt",
    "ProVersionLicenseCnt",
    "CwpVersionLicenseCnt",
    "AvailableLHLicenseCnt",
    "RequestId",
];

/// Scalars vendors send, and those they should not: huge, negative, non-finite as strings.
fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("JSON numbers are finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        any::<bool>().prop_map(|b| json!(b)),
        prop_oneof![
            Just("NaN"),
            Just("inf"),
            Just("-inf"),
            Just("1e400"),
            Just("-1"),
            Just(""),
            Just("12"),
            Just("0x10"),
            Just("true"),
            Just(" 7 ")
        ]
        .prop_map(|s| json!(s)),
        ".{0,12}".prop_map(|s| json!(s)),
        Just(Value::Null),
        Just(json!([])),
        Just(json!({})),
    ]
}

fn object(keys: &'static [&'static str]) -> impl Strategy<Value = Value> {
    proptest::collection::vec((proptest::sample::select(keys), scalar()), 0..keys.len()).prop_map(
        |pairs| {
            Value::Object(
                pairs
                    .into_iter()
                    .map(|(k, v)| (k.to_owned(), v))
                    .collect::<Map<_, _>>(),
            )
        },
    )
}

/// The fields the http_json mapping below reads.
const HTTP_JSON: &[&str] = &["total", "used", "end", "plan", "list", "key"];

/// An http_json mapping over those fields: every kind of value conversion.
fn http_json_mapping() -> Value {
    json!([
        {"kind": "seats_limit", "path": "$.total", "optional": true},
        {"kind": "storage_used", "path": "$.used", "unit": "PiB", "optional": true},
        {"kind": "expiry", "path": "$.end", "unit": "unix_milliseconds", "optional": true},
        {"kind": "expiry", "path": "$.plan", "unit": "rfc3339", "optional": true, "item": "p"},
        {"kind": "state", "name": "plan", "path": "$.plan", "optional": true},
        {"kind": "seats_used", "each": "$.list", "item_path": "$.key", "path": "$.used", "optional": true}
    ])
}

/// Every sample of an accepted answer is finite.
fn assert_finite(samples: &Samples) -> Result<(), TestCaseError> {
    for family in samples.families() {
        for s in family.samples {
            prop_assert!(s.value.is_finite(), "{} = {}", family.desc.name, s.value);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn decoders_never_panic_on_bytes(a in proptest::collection::vec(any::<u8>(), 0..256),
                                     b in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = answers::wecom(&a, &b);
        let _ = answers::koodrive(&a, &b);
        let _ = answers::tencent(&a);
        let _ = answers::http_json(&http_json_mapping(), &a);
    }

    #[test]
    fn http_json_samples_are_finite_and_not_negative(answer in object(HTTP_JSON)) {
        let body = answer.to_string();
        if let Ok(samples) = answers::http_json(&http_json_mapping(), body.as_bytes()) {
            assert_finite(&samples)?;
            for family in samples.families() {
                for s in family.samples {
                    prop_assert!(s.value >= 0.0, "{} = {}", family.desc.name, s.value);
                }
            }
        }
    }

    #[test]
    fn wecom_samples_are_finite(pro in object(WECOM), cap in object(WECOM)) {
        let (pro, cap) = (pro.to_string(), cap.to_string());
        if let Ok(samples) = answers::wecom(pro.as_bytes(), cap.as_bytes()) {
            assert_finite(&samples)?;
        }
    }

    #[test]
    fn koodrive_samples_are_finite(quota in object(KOODRIVE), service in object(KOODRIVE),
                                   code in scalar()) {
        let quota = json!({ "code": code, "data": quota }).to_string();
        let service = json!({ "code": 0, "data": service }).to_string();
        if let Ok(samples) = answers::koodrive(quota.as_bytes(), service.as_bytes()) {
            assert_finite(&samples)?;
        }
    }

    #[test]
    fn tencent_samples_are_finite(general in object(TENCENT)) {
        let body = json!({ "Response": general }).to_string();
        if let Ok(samples) = answers::tencent(body.as_bytes()) {
            assert_finite(&samples)?;
        }
    }

    #[test]
    fn tc3_signing_is_deterministic(id in "[A-Za-z0-9]{1,40}", key in ".{1,40}",
                                    timestamp in 0u64..4_102_444_800,
                                    payload in proptest::collection::vec(any::<u8>(), 0..64)) {
        let credentials = tc3::Credentials {
            secret_id: id.into(),
            secret_key: key.clone().into(),
            session_token: None,
        };
        let request = tc3::Request {
            service: "cwp",
            host: "cwp.tencentcloudapi.com",
            action: "DescribeLicenseGeneral",
            version: "2018-02-28",
            region: None,
            content_type: "application/json",
            timestamp,
            payload: &payload,
        };
        let a = tc3::sign(&credentials, &request);
        let b = tc3::sign(&credentials, &request);
        prop_assert_eq!(a.headers(), b.headers());
        let other = tc3::Credentials {
            secret_key: format!("{key}x").into(),
            ..credentials
        };
        let c = tc3::sign(&other, &request);
        prop_assert_ne!(c.headers(), a.headers());
    }

    #[test]
    fn koodrive_signing_is_deterministic(secret in proptest::collection::vec(any::<u8>(), 1..40),
                                         path in "/[a-z/]{0,30}",
                                         date in "[0-9]{8}T[0-9]{6}Z",
                                         user in "[0-9]{1,19}") {
        let headers = [("host", "cn.myhuaweicloud-koodrive.com"), ("x-date", date.as_str()), ("x-user-id", user.as_str())];
        let request = kd_sign::Request { method: "GET", path: &path, query: &[], headers: &headers, body: b"" };
        let a = kd_sign::sign(&request, &secret);
        prop_assert_eq!(&a, &kd_sign::sign(&request, &secret));
        let mut other = secret.clone();
        other[0] ^= 1;
        prop_assert_ne!(a.authorization("app"), kd_sign::sign(&request, &other).authorization("app"));
    }
}
