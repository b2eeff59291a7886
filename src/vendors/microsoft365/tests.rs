use super::*;
use crate::exposition::Samples;
use crate::vendors::decode_json;
use model::Page;

// The examples of Graph's "List subscribedSkus" and "List subscriptions" pages, shortened
// the way the documentation shortens them.
pub const SKUS_EXAMPLE: &str = r#"{
    "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#subscribedSkus",
    "value": [
        {
            "accountName": "Sample account One",
            "accountId": "f97aeefc-af85-414d-8ae4-b457f90efc40",
            "appliesTo": "User",
            "capabilityStatus": "Enabled",
            "consumedUnits": 14,
            "id": "48a80680-7326-48cd-9935-b556b81d3a4e_c7df2760-2c81-4ef7-b578-5b5392b571df",
            "prepaidUnits": { "enabled": 25, "lockedOut": 0, "suspended": 0, "warning": 0 },
            "servicePlans": [],
            "skuId": "c7df2760-2c81-4ef7-b578-5b5392b571df",
            "skuPartNumber": "ENTERPRISEPREMIUM",
            "subscriptionIds": ["43d26afe-cb98-48b9-acc4-ae3ef2ac6c51"]
        },
        {
            "appliesTo": "User",
            "capabilityStatus": "Suspended",
            "consumedUnits": 14,
            "prepaidUnits": { "enabled": 0, "lockedOut": 0, "suspended": 25, "warning": 0 },
            "skuId": "d17b27af-3f49-4822-99f9-56a661538792",
            "skuPartNumber": "CRMSTANDARD"
        }
    ]
}"#;
pub const SUBSCRIPTIONS_EXAMPLE: &str = r#"{
  "value": [
    {
      "createdDateTime": "2023-01-01T00:00:00Z",
      "commerceSubscriptionId": "f9c1ea2d-2c6e-4717-8c3b-7130812d70ba",
      "id": "860697e3-b0aa-4196-a6c6-7ec361ed58f7",
      "isTrial": false,
      "nextLifecycleDateTime": "2023-02-01T00:00:00Z",
      "serviceStatus": [],
      "skuId": "0816ccb9-3785-4d19-bf78-6c53e2106509",
      "skuPartNumber": "MyPartNumber",
      "status": "Enabled",
      "totalLicenses": 25,
      "ownerId": "fe04f19f-d924-42b7-9dee-edf4e3fab7f6",
      "ownerType": "User"
    }
  ]
}"#;

fn example() -> Samples {
    let skus: Page<SubscribedSku> = decode_json("subscribedSkus", SKUS_EXAMPLE.as_bytes()).unwrap();
    let subs: Page<CompanySubscription> =
        decode_json("subscriptions", SUBSCRIPTIONS_EXAMPLE.as_bytes()).unwrap();
    assert!(skus.next_link.is_none());
    samples(&skus.value, &subs.value).unwrap()
}

#[test]
fn documentation_examples_map_to_samples() {
    let s = example();
    let v = |n: &str, l: &[(&str, &str)]| s.value(n, l);
    let e5 = ("sku", "ENTERPRISEPREMIUM");
    assert_eq!(
        v(
            "microsoft365_sku_prepaid_units",
            &[e5, ("state", "enabled")]
        ),
        Some(25.0)
    );
    assert_eq!(
        v(
            "microsoft365_sku_prepaid_units",
            &[e5, ("state", "locked_out")]
        ),
        Some(0.0)
    );
    assert_eq!(v("microsoft365_sku_consumed_units", &[e5]), Some(14.0));
    assert_eq!(
        v(
            "microsoft365_sku_capability_status",
            &[e5, ("status", "enabled")]
        ),
        Some(1.0)
    );
    assert_eq!(
        v(
            "microsoft365_sku_capability_status",
            &[e5, ("status", "suspended")]
        ),
        Some(0.0)
    );
    let crm = ("sku", "CRMSTANDARD");
    assert_eq!(
        v(
            "microsoft365_sku_prepaid_units",
            &[crm, ("state", "suspended")]
        ),
        Some(25.0)
    );
    assert_eq!(
        v(
            "microsoft365_sku_capability_status",
            &[crm, ("status", "suspended")]
        ),
        Some(1.0)
    );
    let sub = ("subscription", "860697e3-b0aa-4196-a6c6-7ec361ed58f7");
    assert_eq!(
        v(
            "microsoft365_subscription_licenses",
            &[sub, ("sku", "MyPartNumber")]
        ),
        Some(25.0)
    );
    assert_eq!(
        v(
            "microsoft365_subscription_next_lifecycle_timestamp_seconds",
            &[sub]
        ),
        Some(1675209600.0)
    );
    assert_eq!(v("microsoft365_subscription_trial", &[sub]), Some(0.0));
    assert_eq!(
        v(
            "microsoft365_subscription_status",
            &[sub, ("status", "enabled")]
        ),
        Some(1.0)
    );
}

#[test]
fn unknown_states_missing_fields_and_duplicates() {
    let skus: Vec<SubscribedSku> = serde_json::from_str(
            r#"[{"skuPartNumber":"A","capabilityStatus":"Frozen","consumedUnits":"3","prepaidUnits":{"enabled":5}},
                {"skuPartNumber":"A","consumedUnits":2,"prepaidUnits":{"enabled":5,"warning":1}},
                {"skuId":"only-id"}]"#,
        )
        .unwrap();
    let s = samples(&skus, &[]).unwrap();
    assert_eq!(
        s.value("microsoft365_sku_consumed_units", &[("sku", "A")]),
        Some(5.0)
    );
    assert_eq!(
        s.value(
            "microsoft365_sku_prepaid_units",
            &[("sku", "A"), ("state", "enabled")]
        ),
        Some(10.0)
    );
    assert_eq!(
        s.value(
            "microsoft365_sku_prepaid_units",
            &[("sku", "A"), ("state", "warning")]
        ),
        Some(1.0)
    );
    // Not sent: absent, not zero.
    assert_eq!(
        s.value(
            "microsoft365_sku_prepaid_units",
            &[("sku", "A"), ("state", "suspended")]
        ),
        None
    );
    assert_eq!(
        s.value(
            "microsoft365_sku_capability_status",
            &[("sku", "A"), ("status", "frozen")]
        ),
        Some(1.0)
    );
    assert_eq!(
        s.value(
            "microsoft365_sku_capability_status",
            &[("sku", "A"), ("status", "enabled")]
        ),
        Some(0.0)
    );
    assert_eq!(
        s.value("microsoft365_sku_consumed_units", &[("sku", "only-id")]),
        None
    );

    let subs: Vec<CompanySubscription> =
        serde_json::from_str(r#"[{"id":"s","nextLifecycleDateTime":"next week"}]"#).unwrap();
    let e = samples(&[], &subs).unwrap_err();
    assert!(
        e.contains("nextLifecycleDateTime") && e.contains("next week"),
        "{e}"
    );
}

fn parse_yaml(yaml: &str) -> Result<Arc<dyn Account>, Vec<FieldError>> {
    let v: serde_json::Value = serde_json::from_str(yaml).unwrap();
    parse(v, &mut ParseContext::new("t"))
}

#[test]
fn settings_are_checked() {
    let a = parse_yaml(
        r#"{"tenant_id":"contoso.onmicrosoft.com","client_id":"c","client_secret":"s"}"#,
    )
    .unwrap();
    assert!(
        a.describe().contains(
            "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token"
        ),
        "{}",
        a.describe()
    );
    assert!(!a.describe().contains("s\""));
    let a = parse_yaml(r#"{"tenant_id":"t","client_id":"c","client_secret":"s","cloud":"china"}"#)
        .unwrap();
    assert!(
        a.describe().contains("microsoftgraph.chinacloudapi.cn"),
        "{}",
        a.describe()
    );
    let e = parse_yaml(r#"{"tenant_id":"a/b","client_id":" ","client_secret":"s","cloud":"mars","graph_url":"ftp://x"}"#)
            .err()
            .unwrap();
    let fields: Vec<_> = e.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(
        fields,
        ["tenant_id", "client_id", "cloud", "graph_url"],
        "{e:?}"
    );
    let e =
        parse_yaml(r#"{"tenant_id":"t","client_id":"c","client_secret":"s","certificate":"x"}"#)
            .err()
            .unwrap();
    assert!(e[0].message.contains("certificate"), "{e:?}");
}
