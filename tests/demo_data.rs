//! The demo's data keeps the relations the docs and recording rules rely on: a part is never
//! larger than its whole, nothing is used beyond what was bought, and per-edition series join.

mod common;

use std::collections::BTreeMap;

use common::Harness;

/// One parsed sample: name, labels, value.
type Sample = (String, BTreeMap<String, String>, f64);

fn parse(text: &str) -> Vec<Sample> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| {
            let (series, v) = l.rsplit_once(' ')?;
            let (name, labels) = match series.split_once('{') {
                Some((n, rest)) => (n, rest.trim_end_matches('}')),
                None => (series, ""),
            };
            let labels = labels
                .split("\",")
                .filter(|p| !p.is_empty())
                .filter_map(|p| {
                    let (k, v) = p.split_once("=\"")?;
                    Some((k.to_owned(), v.trim_end_matches('"').to_owned()))
                })
                .collect();
            Some((name.to_owned(), labels, v.parse().ok()?))
        })
        .collect()
}

/// Looks up series of one account.
struct Account<'a> {
    samples: &'a [Sample],
    name: &'a str,
}

impl Account<'_> {
    /// The value of `metric` for this account with the extra labels `labels` (exactly).
    fn try_get(&self, metric: &str, labels: &[(&str, &str)]) -> Option<f64> {
        self.samples
            .iter()
            .find(|(n, l, _)| {
                n == metric
                    && l.get("account").map(String::as_str) == Some(self.name)
                    && l.len() == labels.len() + 1
                    && labels
                        .iter()
                        .all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v))
            })
            .map(|(_, _, v)| *v)
    }

    fn get(&self, metric: &str, labels: &[(&str, &str)]) -> f64 {
        self.try_get(metric, labels)
            .unwrap_or_else(|| panic!("{}: no {metric}{labels:?}", self.name))
    }

    /// The values of `metric` by the value of `label`.
    fn by(&self, metric: &str, label: &str) -> BTreeMap<String, f64> {
        self.samples
            .iter()
            .filter(|(n, l, _)| {
                n == metric && l.get("account").map(String::as_str) == Some(self.name)
            })
            .filter_map(|(_, l, v)| Some((l.get(label)?.clone(), *v)))
            .collect()
    }
}

fn at_most(what: &str, part: f64, whole: f64) {
    assert!(part <= whole, "{what}: {part} > {whole}");
}

fn wedrive(a: &Account) {
    let n = a.name;
    at_most(
        &format!("{n}: VIP seats used ≤ bought"),
        a.get("wecom_wedrive_vip_seats_used", &[]),
        a.get("wecom_wedrive_vip_seats_limit", &[]),
    );
    let cap = |pool| a.get("wecom_wedrive_capacity_bytes", &[("pool", pool)]);
    at_most(&format!("{n}: VIP capacity ≤ all"), cap("vip"), cap("all"));
    let free = |pool| a.try_get("wecom_wedrive_capacity_free_bytes", &[("pool", pool)]);
    for pool in ["all", "vip"] {
        if let Some(f) = free(pool) {
            at_most(&format!("{n}: free ≤ capacity ({pool})"), f, cap(pool));
        }
    }
    if let (Some(vip), Some(all)) = (free("vip"), free("all")) {
        at_most(&format!("{n}: VIP free ≤ all free"), vip, all);
    }
}

fn koodrive(a: &Account) {
    let n = a.name;
    at_most(
        &format!("{n}: users ≤ users bought"),
        a.get("koodrive_users", &[]),
        a.get("koodrive_users_limit", &[]),
    );
    let capacity = a.get("koodrive_capacity_bytes", &[]);
    let quota = a.by("koodrive_quota_bytes", "space");
    let used = a.by("koodrive_used_bytes", "space");
    let allocated = a.by("koodrive_quota_allocated_bytes", "space");
    at_most(
        &format!("{n}: the spaces' quotas ≤ capacity"),
        quota.values().sum(),
        capacity,
    );
    at_most(
        &format!("{n}: used ≤ capacity"),
        used.values().sum(),
        capacity,
    );
    assert!(!used.is_empty(), "{n}: no koodrive_used_bytes");
    for (space, u) in &used {
        at_most(&format!("{n}: used ≤ quota ({space})"), *u, quota[space]);
    }
    for (space, al) in &allocated {
        at_most(
            &format!("{n}: allocated ≤ quota ({space})"),
            *al,
            quota[space],
        );
    }
}

fn cwp(a: &Account) {
    let n = a.name;
    let g = |m: &str| a.get(&format!("tencentcloud_cwp_{m}"), &[]);
    let (all, unexpired, expired) = (
        g("licenses"),
        g("licenses_unexpired"),
        g("licenses_expired"),
    );
    at_most(
        &format!("{n}: unexpired + expired ≤ all"),
        unexpired + expired,
        all,
    );
    at_most(
        &format!("{n}: used + available ≤ unexpired"),
        g("licenses_used") + g("licenses_available"),
        unexpired,
    );
    at_most(
        &format!("{n}: expiring ≤ unexpired"),
        g("licenses_expiring"),
        unexpired,
    );
    let total = a.by("tencentcloud_cwp_edition_licenses", "edition");
    let available = a.by("tencentcloud_cwp_edition_licenses_available", "edition");
    // The same editions on both sides, so available ÷ total joins per edition.
    assert_eq!(
        total.keys().collect::<Vec<_>>(),
        available.keys().collect::<Vec<_>>(),
        "{n}: edition values differ"
    );
    at_most(&format!("{n}: editions ≤ all"), total.values().sum(), all);
    for (edition, av) in &available {
        at_most(
            &format!("{n}: available ≤ licences ({edition})"),
            *av,
            total[edition],
        );
    }
    assert_eq!(
        available.values().sum::<f64>(),
        g("licenses_available"),
        "{n}: the editions' available add up to the account's"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_data_keeps_the_documented_relations() {
    let (h, accounts, text) = Harness::demo_all_up().await;
    let samples = parse(&text);
    let mut checked = BTreeMap::<&str, usize>::new();
    for (vendor, name) in &accounts {
        let a = Account {
            samples: &samples,
            name,
        };
        let check: fn(&Account) = match vendor.as_str() {
            "wecom_wedrive" => wedrive,
            "koodrive" => koodrive,
            "tencentcloud_cwp" => cwp,
            _ => continue,
        };
        check(&a);
        *checked.entry(vendor).or_default() += 1;
    }
    for vendor in ["wecom_wedrive", "koodrive", "tencentcloud_cwp"] {
        assert!(checked.contains_key(vendor), "no demo account of {vendor}");
    }
    h.stop().await;
}
