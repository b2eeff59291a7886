//! The `http_json` metrics and the mapping of an account: which values of the answer become which quota series.
//!
//! Each output names a kind of the shared quota vocabulary and the JSONPath (RFC 9535, parsed
//! by `serde_json_path`) of its value. With `each`, the output is read once per element the
//! `each` path selects, and `item_path` (relative to the element) gives each one its `item`
//! label: the SKU, role or product the numbers are about. Extraction is pure, so it is tested
//! on the documented answers without the network.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use serde_json::Value;
use serde_json_path::JsonPath;

use crate::exposition::{MetricDesc, Samples};
use crate::vendors::dates::rfc3339_unix;
use crate::vendors::settings::FieldError;
use crate::vendors::{FailureReason, PollError};

pub(super) static STORAGE_CAPACITY: MetricDesc = MetricDesc::gauge_with_unit(
    "http_json_storage_capacity_bytes",
    "bytes",
    "Storage bought, in bytes, from the account's mapping (outputs of kind storage_capacity, converted from their unit); refreshed every poll interval",
);
pub(super) static STORAGE_USED: MetricDesc = MetricDesc::gauge_with_unit(
    "http_json_storage_used_bytes",
    "bytes",
    "Storage in use, in bytes, from the account's mapping (outputs of kind storage_used, converted from their unit); refreshed every poll interval",
);
pub(super) static STORAGE_FREE: MetricDesc = MetricDesc::gauge_with_unit(
    "http_json_storage_free_bytes",
    "bytes",
    "Storage still free, in bytes, from the account's mapping (outputs of kind storage_free, converted from their unit); refreshed every poll interval",
);
pub(super) static SEATS_LIMIT: MetricDesc = MetricDesc::gauge(
    "http_json_seats_limit",
    "Seats bought, from the account's mapping (outputs of kind seats_limit); refreshed every poll interval",
);
pub(super) static SEATS_USED: MetricDesc = MetricDesc::gauge(
    "http_json_seats_used",
    "Seats taken, from the account's mapping (outputs of kind seats_used); refreshed every poll interval",
);
pub(super) static LICENSES_TOTAL: MetricDesc = MetricDesc::gauge(
    "http_json_licenses_limit",
    "Licences bought, from the account's mapping (outputs of kind licences_total); refreshed every poll interval",
);
pub(super) static LICENSES_USED: MetricDesc = MetricDesc::gauge(
    "http_json_licenses_used",
    "Licences in use, from the account's mapping (outputs of kind licences_used); refreshed every poll interval",
);
pub(super) static LICENSES_EXPIRING: MetricDesc = MetricDesc::gauge(
    "http_json_licenses_expiring",
    "Licences about to expire, from the account's mapping (outputs of kind licences_expiring); refreshed every poll interval",
);
pub(super) static LICENSES_EXPIRED: MetricDesc = MetricDesc::gauge(
    "http_json_licenses_expired",
    "Licences expired and still on the account, from the account's mapping (outputs of kind licences_expired); refreshed every poll interval",
);
pub(super) static EXPIRY: MetricDesc = MetricDesc::gauge_with_unit(
    "http_json_expiry_timestamp_seconds",
    "seconds",
    "When the subscription ends (unix time), from the account's mapping (outputs of kind expiry, an RFC 3339 date or unix time); refreshed every poll interval",
);
pub(super) static STATE: MetricDesc = MetricDesc::gauge(
    "http_json_state",
    "A state the API reports (1 for the current value, in the state label), from the account's mapping (outputs of kind state, named in the field label); refreshed every poll interval",
);

/// Most items one output may produce: every item is a series, and an answer with thousands of
/// them is a list of users, not of things bought.
pub const MAX_ITEMS: usize = 1000;
/// Longest `item` or state label value.
const MAX_LABEL_CHARS: usize = 128;

/// A quota kind of the shared vocabulary (the `quota:*` recording rules).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    StorageCapacity,
    StorageUsed,
    StorageFree,
    SeatsLimit,
    SeatsUsed,
    #[serde(alias = "licenses_total")]
    LicencesTotal,
    #[serde(alias = "licenses_used")]
    LicencesUsed,
    #[serde(alias = "licenses_expiring")]
    LicencesExpiring,
    #[serde(alias = "licenses_expired")]
    LicencesExpired,
    Expiry,
    State,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::StorageCapacity => "storage_capacity",
            Kind::StorageUsed => "storage_used",
            Kind::StorageFree => "storage_free",
            Kind::SeatsLimit => "seats_limit",
            Kind::SeatsUsed => "seats_used",
            Kind::LicencesTotal => "licences_total",
            Kind::LicencesUsed => "licences_used",
            Kind::LicencesExpiring => "licences_expiring",
            Kind::LicencesExpired => "licences_expired",
            Kind::Expiry => "expiry",
            Kind::State => "state",
        }
    }

    fn desc(self) -> &'static MetricDesc {
        match self {
            Kind::StorageCapacity => &STORAGE_CAPACITY,
            Kind::StorageUsed => &STORAGE_USED,
            Kind::StorageFree => &STORAGE_FREE,
            Kind::SeatsLimit => &SEATS_LIMIT,
            Kind::SeatsUsed => &SEATS_USED,
            Kind::LicencesTotal => &LICENSES_TOTAL,
            Kind::LicencesUsed => &LICENSES_USED,
            Kind::LicencesExpiring => &LICENSES_EXPIRING,
            Kind::LicencesExpired => &LICENSES_EXPIRED,
            Kind::Expiry => &EXPIRY,
            Kind::State => &STATE,
        }
    }

    fn is_storage(self) -> bool {
        matches!(
            self,
            Kind::StorageCapacity | Kind::StorageUsed | Kind::StorageFree
        )
    }
}

/// How a value is read and converted.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Unit {
    /// A count (seats, licences): the number as it is.
    Count,
    /// An amount of storage: the number times this many bytes.
    Bytes(f64, &'static str),
    /// A date as an RFC 3339 string.
    Rfc3339,
    /// A date in unix seconds (a number or a numeric string).
    UnixSeconds,
    /// A date in unix milliseconds.
    UnixMillis,
    /// A state: the value (string, number or boolean) becomes the `state` label.
    Label,
}

/// Storage units: SI (powers of 1000) and IEC (powers of 1024), spelled as their standards do.
const STORAGE_UNITS: [(&str, f64); 13] = [
    ("bytes", 1.0),
    ("B", 1.0),
    ("kB", 1e3),
    ("KB", 1e3),
    ("MB", 1e6),
    ("GB", 1e9),
    ("TB", 1e12),
    ("PB", 1e15),
    ("KiB", 1024.0),
    ("MiB", 1048576.0),
    ("GiB", 1073741824.0),
    ("TiB", 1099511627776.0),
    ("PiB", 1125899906842624.0),
];

const EXPIRY_UNITS: &str = "rfc3339, unix_seconds or unix_milliseconds";

/// What to do when two elements of one output give the same item label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Duplicates {
    /// Fail the poll naming the label (the default: pick a label that is unique).
    Error,
    Sum,
    Min,
    Max,
}

/// One output as written in the config.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputSettings {
    kind: Kind,
    /// JSONPath of the value; relative to each element when `each` is set.
    path: String,
    /// A name for messages; for `state` outputs also the `field` label.
    #[serde(default)]
    name: Option<String>,
    /// Storage: bytes, kB/KB, MB, GB, TB, PB, KiB, MiB, GiB, TiB, PiB. Expiry: rfc3339,
    /// unix_seconds, unix_milliseconds. Counts and states take none.
    #[serde(default)]
    unit: Option<String>,
    /// JSONPath selecting the elements to read the output from, once each.
    #[serde(default)]
    each: Option<String>,
    /// JSONPath, relative to each element, of its `item` label.
    #[serde(default)]
    item_path: Option<String>,
    /// A fixed `item` label, for outputs without `each`.
    #[serde(default)]
    item: Option<String>,
    /// A missing value leaves the series out instead of failing the poll.
    #[serde(default)]
    optional: bool,
    #[serde(default)]
    duplicates: Option<Duplicates>,
}

/// One checked output.
#[derive(Debug)]
pub struct Output {
    /// `outputs[2]`, or `outputs[2] "seats"` when named: how messages name it.
    what: String,
    kind: Kind,
    path_text: String,
    path: JsonPath,
    unit: Unit,
    each: Option<(String, JsonPath)>,
    item_path: Option<(String, JsonPath)>,
    item: Option<String>,
    field: Option<String>,
    optional: bool,
    duplicates: Duplicates,
}

fn parse_path(field: String, text: &str) -> Result<JsonPath, FieldError> {
    JsonPath::parse(text).map_err(|e| {
        FieldError::new(
            field,
            format!("{text:?} is not a JSONPath (RFC 9535) query: {e}"),
        )
    })
}

/// Checks the outputs: paths parse, units fit their kinds, no two outputs write one series.
pub fn parse_outputs(settings: Vec<OutputSettings>) -> Result<Vec<Output>, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut outputs = Vec::new();
    if settings.is_empty() {
        errors.push(FieldError::new(
            "outputs",
            "must list at least one output (kind and path)",
        ));
    }
    for (i, s) in settings.into_iter().enumerate() {
        let at = |key: &str| format!("outputs[{i}].{key}");
        let before = errors.len();
        let path = parse_path(at("path"), &s.path)
            .map_err(|e| errors.push(e))
            .ok();
        let each = s.each.as_ref().and_then(|t| {
            parse_path(at("each"), t)
                .map_err(|e| errors.push(e))
                .ok()
                .map(|p| (t.clone(), p))
        });
        let item_path = s.item_path.as_ref().and_then(|t| {
            parse_path(at("item_path"), t)
                .map_err(|e| errors.push(e))
                .ok()
                .map(|p| (t.clone(), p))
        });
        match (&s.each, &s.item_path, &s.item) {
            (Some(_), None, _) => errors.push(FieldError::new(
                at("item_path"),
                "an output with `each` needs `item_path`: the path, in each element, of the label that tells the items apart (e.g. $.skuPartNumber)",
            )),
            (Some(_), _, Some(_)) => errors.push(FieldError::new(
                at("item"),
                "a fixed `item` label cannot be combined with `each`; use item_path",
            )),
            (None, Some(_), _) => errors.push(FieldError::new(
                at("item_path"),
                "item_path is read from each element of `each`, which is not set",
            )),
            _ => {}
        }
        if let Some(item) = &s.item {
            if let Err(e) = check_label(item) {
                errors.push(FieldError::new(at("item"), e));
            }
        }
        if s.duplicates.is_some() && s.each.is_none() {
            errors.push(FieldError::new(
                at("duplicates"),
                "only outputs with `each` can have duplicate items",
            ));
        }
        let unit = match (s.kind, s.unit.as_deref()) {
            (k, Some(u)) if k.is_storage() => match STORAGE_UNITS.iter().find(|(n, _)| *n == u) {
                Some((name, factor)) => Some(Unit::Bytes(*factor, name)),
                None => {
                    let names: Vec<_> = STORAGE_UNITS.iter().map(|(n, _)| *n).collect();
                    errors.push(FieldError::new(
                        at("unit"),
                        format!(
                            "unknown storage unit {u:?} (expected one of: {})",
                            names.join(", ")
                        ),
                    ));
                    None
                }
            },
            (k, None) if k.is_storage() => {
                errors.push(FieldError::new(
                    at("unit"),
                    format!(
                        "{} needs a unit: the unit the answer's number is in (bytes, KB, MiB, GB…)",
                        k.name()
                    ),
                ));
                None
            }
            (Kind::Expiry, Some("rfc3339")) => Some(Unit::Rfc3339),
            (Kind::Expiry, Some("unix_seconds")) => Some(Unit::UnixSeconds),
            (Kind::Expiry, Some("unix_milliseconds")) => Some(Unit::UnixMillis),
            (Kind::Expiry, Some(u)) => {
                errors.push(FieldError::new(
                    at("unit"),
                    format!("unknown date format {u:?} (expected {EXPIRY_UNITS})"),
                ));
                None
            }
            (Kind::Expiry, None) => {
                errors.push(FieldError::new(
                    at("unit"),
                    format!("expiry needs the date's format: {EXPIRY_UNITS}"),
                ));
                None
            }
            (k, Some(u)) => {
                errors.push(FieldError::new(
                    at("unit"),
                    format!("{} takes no unit (found {u:?})", k.name()),
                ));
                None
            }
            (Kind::State, None) => Some(Unit::Label),
            (_, None) => Some(Unit::Count),
        };
        let field = match (s.kind, &s.name) {
            (Kind::State, None) => {
                errors.push(FieldError::new(
                    at("name"),
                    "a state output needs a name: it becomes the `field` label",
                ));
                None
            }
            (_, Some(n)) => match check_label(n) {
                Ok(()) => Some(n.clone()),
                Err(e) => {
                    errors.push(FieldError::new(at("name"), e));
                    None
                }
            },
            _ => None,
        };
        if errors.len() > before {
            continue;
        }
        let (Some(path), Some(unit)) = (path, unit) else {
            continue;
        };
        let what = match &s.name {
            Some(n) => format!("outputs[{i}] {n:?}"),
            None => format!("outputs[{i}]"),
        };
        outputs.push(Output {
            what,
            kind: s.kind,
            path_text: s.path,
            path,
            unit,
            each,
            item_path,
            item: s.item,
            field: if s.kind == Kind::State { field } else { None },
            optional: s.optional,
            duplicates: s.duplicates.unwrap_or(Duplicates::Error),
        });
    }
    // Two outputs without `each` writing the same series would export it twice.
    let mut seen: BTreeMap<(&str, Option<&str>, Option<&str>), &str> = BTreeMap::new();
    for o in &outputs {
        if o.each.is_some() {
            continue;
        }
        let key = (o.kind.name(), o.item.as_deref(), o.field.as_deref());
        if let Some(first) = seen.insert(key, &o.what) {
            errors.push(FieldError::new(
                o.what.split(' ').next().unwrap_or_default(),
                format!(
                    "writes the same series as {first} ({} with the same item): give one of them another `item`",
                    o.kind.name()
                ),
            ));
        }
    }
    if errors.is_empty() {
        Ok(outputs)
    } else {
        Err(errors)
    }
}

fn check_label(value: &str) -> Result<(), String> {
    if value.trim().is_empty() {
        return Err("must not be empty".into());
    }
    if value.chars().count() > MAX_LABEL_CHARS {
        return Err(format!("longer than {MAX_LABEL_CHARS} characters"));
    }
    if value.chars().any(char::is_control) {
        return Err("contains a control character".into());
    }
    Ok(())
}

/// One value an output extracted, for `--config.check --once`.
#[derive(Debug, Clone, PartialEq)]
pub struct Extracted {
    pub output: String,
    pub path: String,
    pub item: Option<String>,
    /// The answer's value as JSON.
    pub raw: String,
    /// How it was converted (`5 MiB × 1048576`), empty when taken as it is.
    pub conversion: String,
    pub series: String,
    pub value: f64,
}

impl fmt::Display for Extracted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.output, self.path)?;
        if let Some(item) = &self.item {
            write!(f, " [item {item:?}]")?;
        }
        write!(f, ": {}", self.raw)?;
        if !self.conversion.is_empty() {
            write!(f, " ({})", self.conversion)?;
        }
        write!(f, " -> {} {}", self.series, self.value)
    }
}

fn decode(message: String) -> PollError {
    PollError::new(FailureReason::Decode, message)
}

/// A short rendering of a JSON value for messages.
fn show(v: &Value) -> String {
    let mut s = v.to_string();
    if s.chars().count() > 80 {
        s = s.chars().take(77).collect::<String>() + "...";
    }
    s
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// A number, or a string holding one (many APIs send counts as strings).
fn number(v: &Value) -> Result<f64, String> {
    let n = match v {
        Value::Number(n) => n.as_f64().ok_or("number out of range")?,
        Value::String(s) => s
            .trim()
            .parse::<f64>()
            .map_err(|_| format!("expected a number, found the string {}", show(v)))?,
        other => return Err(format!("expected a number, found {}", type_name(other))),
    };
    if !n.is_finite() {
        return Err(format!("{} is not a finite number", show(v)));
    }
    Ok(n)
}

/// What one output reads from one node.
struct Read {
    value: f64,
    state: Option<String>,
    conversion: String,
}

fn read(unit: Unit, v: &Value) -> Result<Read, String> {
    let plain = |value| Read {
        value,
        state: None,
        conversion: String::new(),
    };
    match unit {
        Unit::Count => number(v).map(plain),
        Unit::Bytes(factor, name) => {
            let n = number(v)?;
            let value = n * factor;
            if !value.is_finite() {
                return Err(format!("{n} {name} is too large"));
            }
            Ok(Read {
                value,
                state: None,
                conversion: if factor == 1.0 {
                    "bytes".into()
                } else {
                    format!("{n} {name} × {factor} = bytes")
                },
            })
        }
        Unit::Rfc3339 => match v {
            Value::String(s) => rfc3339_unix(s).map(|value| Read {
                value,
                state: None,
                conversion: "RFC 3339 -> unix seconds".into(),
            }),
            other => Err(format!(
                "expected an RFC 3339 date string, found {}",
                type_name(other)
            )),
        },
        Unit::UnixSeconds => number(v).map(|value| Read {
            value,
            state: None,
            conversion: "unix seconds".into(),
        }),
        Unit::UnixMillis => number(v).map(|n| Read {
            value: n / 1000.0,
            state: None,
            conversion: "unix milliseconds / 1000".into(),
        }),
        Unit::Label => {
            let s = match v {
                Value::String(s) => s.clone(),
                Value::Bool(b) => b.to_string(),
                Value::Number(n) => n.to_string(),
                other => {
                    return Err(format!(
                        "expected a string, number or boolean, found {}",
                        type_name(other)
                    ))
                }
            };
            check_label(&s).map_err(|e| format!("state {}: {e}", show(v)))?;
            Ok(Read {
                value: 1.0,
                state: Some(s),
                conversion: "state label".into(),
            })
        }
    }
}

/// The single value a path selects in `node`: `None` when it selects nothing.
fn one<'a>(path: &JsonPath, node: &'a Value) -> Result<Option<&'a Value>, String> {
    let found = path.query(node);
    match found.len() {
        0 => Ok(None),
        1 => Ok(found.first().filter(|v| !v.is_null())),
        n => Err(format!(
            "selects {n} values; the path must select exactly one (use `each` for lists)"
        )),
    }
}

impl Output {
    /// `seats_limit $.seat_breakdown.total`, for `--config.check`.
    pub fn summary(&self) -> String {
        match &self.each {
            Some((each, _)) => format!("{} {} each {each}", self.kind.name(), self.path_text),
            None => format!("{} {}", self.kind.name(), self.path_text),
        }
    }

    /// The elements this output is read from, with their item labels.
    fn elements<'a>(&self, answer: &'a Value) -> Result<Vec<(Option<String>, &'a Value)>, String> {
        let Some((each_text, each)) = &self.each else {
            return Ok(vec![(self.item.clone(), answer)]);
        };
        let found = each.query(answer);
        let nodes: Vec<&Value> = match found.all().as_slice() {
            // `$.list` instead of `$.list[*]`: the list's elements are meant.
            [Value::Array(list)] => list.iter().collect(),
            nodes => nodes.to_vec(),
        };
        if nodes.len() > MAX_ITEMS {
            return Err(format!(
                "each {each_text} selects {} elements, more than the {MAX_ITEMS} an output may have",
                nodes.len()
            ));
        }
        let (label_text, label) = self.item_path.as_ref().expect("checked at load");
        let mut out = Vec::with_capacity(nodes.len());
        for (i, node) in nodes.into_iter().enumerate() {
            let item = match one(label, node) {
                Ok(Some(Value::String(s))) => s.clone(),
                Ok(Some(Value::Number(n))) => n.to_string(),
                Ok(Some(other)) => {
                    return Err(format!(
                        "item_path {label_text} in element {i} of {each_text}: expected a string or number, found {}",
                        type_name(other)
                    ))
                }
                Ok(None) => {
                    return Err(format!(
                        "item_path {label_text} in element {i} of {each_text}: no value"
                    ))
                }
                Err(e) => {
                    return Err(format!(
                        "item_path {label_text} in element {i} of {each_text}: {e}"
                    ))
                }
            };
            check_label(&item)
                .map_err(|e| format!("item_path {label_text} in element {i}: label {e}"))?;
            out.push((Some(item), node));
        }
        Ok(out)
    }
}

/// Extracts every output from one answer. With `trace`, records what each one read.
pub fn extract(
    outputs: &[Output],
    answer: &Value,
    mut trace: Option<&mut Vec<Extracted>>,
) -> Result<Samples, PollError> {
    let mut samples = Samples::new();
    // (family, labels) -> value, so no series is written twice across outputs.
    let mut written: std::collections::BTreeSet<(&'static str, Vec<(&'static str, String)>)> =
        Default::default();
    for o in outputs {
        let fail = |m: String| {
            decode(format!(
                "{} ({} at {}): {m}",
                o.what,
                o.kind.name(),
                o.path_text
            ))
        };
        let mut values: BTreeMap<Vec<(&'static str, String)>, f64> = BTreeMap::new();
        let mut order = Vec::new();
        for (item, node) in o.elements(answer).map_err(&fail)? {
            let value = match one(&o.path, node) {
                Ok(Some(v)) => v,
                Ok(None) if o.optional => continue,
                Ok(None) => {
                    let within = match &item {
                        Some(i) if o.each.is_some() => format!(" in item {i:?}"),
                        _ => String::new(),
                    };
                    return Err(fail(format!(
                        "no value{within} (mark the output `optional: true` if the API may leave it out)"
                    )));
                }
                Err(e) => return Err(fail(e)),
            };
            let r = read(o.unit, value).map_err(|e| match &item {
                Some(i) if o.each.is_some() => fail(format!("item {i:?}: {e}")),
                _ => fail(e),
            })?;
            if r.value < 0.0 {
                return Err(fail(format!(
                    "{} is negative, which a quota cannot be",
                    show(value)
                )));
            }
            let mut labels = Vec::new();
            if let Some(i) = &item {
                labels.push(("item", i.clone()));
            }
            if let Some(field) = &o.field {
                labels.push(("field", field.clone()));
            }
            if let Some(state) = &r.state {
                labels.push(("state", state.clone()));
            }
            if let Some(t) = trace.as_deref_mut() {
                t.push(Extracted {
                    output: o.what.clone(),
                    path: o.path_text.clone(),
                    item: item.clone(),
                    raw: show(value),
                    conversion: r.conversion,
                    series: o.kind.desc().name.to_owned(),
                    value: r.value,
                });
            }
            match values.get_mut(&labels) {
                None => {
                    order.push(labels.clone());
                    values.insert(labels, r.value);
                }
                Some(v) => {
                    *v = match o.duplicates {
                        Duplicates::Error => {
                            return Err(fail(format!(
                                "two elements have the item label {:?}; choose an item_path that is unique, or set `duplicates: sum|min|max`",
                                item.unwrap_or_default()
                            )))
                        }
                        Duplicates::Sum => *v + r.value,
                        Duplicates::Min => v.min(r.value),
                        Duplicates::Max => v.max(r.value),
                    }
                }
            }
        }
        let desc = o.kind.desc();
        for labels in order {
            let value = values[&labels];
            if !written.insert((desc.name, labels.clone())) {
                return Err(fail(format!(
                    "writes a series another output already wrote ({}{})",
                    desc.name,
                    labels
                        .iter()
                        .map(|(k, v)| format!(" {k}={v:?}"))
                        .collect::<String>()
                )));
            }
            samples.push(desc, labels, value);
        }
    }
    Ok(samples)
}

#[cfg(test)]
mod tests;
