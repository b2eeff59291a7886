//! The metric model every snapshot is made of, and its two text encodings.
//!
//! Vendors describe their metrics as `static` [`MetricDesc`]s and fill [`Samples`] at poll time;
//! the store stamps the identifying labels (`account`, and `vendor` on our own metrics) and the
//! encoders below write OpenMetrics 1.0 or the classic 0.0.4 text format from the same data.
//!
//! Why not `prometheus-client`'s encoder: it writes OpenMetrics only, while `promtool check metrics`
//! and older agents need the classic format. Writing both from one model keeps the two outputs
//! identical in content, and the exposition is rendered once per change, not per scrape.

use std::fmt::Write;

/// What kind of metric a family is. Decides the `# TYPE` line and sample names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricType {
    Gauge,
    /// The family name is written without `_total`; encoders add it to the sample name.
    Counter,
    /// The family name is written without `_info`; encoders add it. The value is always 1.
    Info,
}

impl MetricType {
    /// The OpenMetrics name of the type.
    pub fn as_str(self) -> &'static str {
        match self {
            MetricType::Gauge => "gauge",
            MetricType::Counter => "counter",
            MetricType::Info => "info",
        }
    }
}

/// A metric family's identity and documentation, declared once as a `static` by its owner.
#[derive(Debug)]
pub struct MetricDesc {
    /// Family name. Counters omit `_total`, infos omit `_info`.
    pub name: &'static str,
    /// HELP text: says where the value comes from. No trailing full stop.
    pub help: &'static str,
    pub kind: MetricType,
    /// OpenMetrics unit; when set, `name` must end with `_<unit>`.
    pub unit: Option<&'static str>,
}

impl MetricDesc {
    pub const fn gauge(name: &'static str, help: &'static str) -> Self {
        Self {
            name,
            help,
            kind: MetricType::Gauge,
            unit: None,
        }
    }
    pub const fn gauge_with_unit(
        name: &'static str,
        unit: &'static str,
        help: &'static str,
    ) -> Self {
        Self {
            name,
            help,
            kind: MetricType::Gauge,
            unit: Some(unit),
        }
    }
    pub const fn counter(name: &'static str, help: &'static str) -> Self {
        Self {
            name,
            help,
            kind: MetricType::Counter,
            unit: None,
        }
    }
    pub const fn info(name: &'static str, help: &'static str) -> Self {
        Self {
            name,
            help,
            kind: MetricType::Info,
            unit: None,
        }
    }

    /// The name samples of this family carry (`_total` for counters, `_info` for infos).
    pub fn sample_name_string(&self) -> String {
        let mut out = String::new();
        self.sample_name(&mut out);
        out
    }

    /// The name samples of this family carry.
    fn sample_name(&self, out: &mut String) {
        out.push_str(self.name);
        match self.kind {
            MetricType::Gauge => {}
            MetricType::Counter => out.push_str("_total"),
            MetricType::Info => out.push_str("_info"),
        }
    }
}

/// Label pairs of one sample, beyond the identifying ones the store adds.
pub type Labels = Vec<(&'static str, String)>;

#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub labels: Labels,
    pub value: f64,
}

/// One family's samples, as [`Samples::families`] hands them out.
#[derive(Debug, Clone, Copy)]
pub struct Family<'a> {
    pub desc: &'static MetricDesc,
    pub samples: &'a [Sample],
}

/// The samples one poll produced, grouped by family in the order they were first added.
///
/// All samples sit in one vector, each family's in one run, with a second small vector saying
/// where each family's run ends: a snapshot is kept per account until its next poll, and one
/// vector per family was most of the allocations an account's snapshot made.
#[derive(Debug, Clone, Default)]
pub struct Samples {
    /// Each family, with the end of its run in `samples`.
    families: Vec<(&'static MetricDesc, usize)>,
    samples: Vec<Sample>,
}

impl Samples {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one sample with extra labels.
    pub fn push(&mut self, desc: &'static MetricDesc, labels: Labels, value: f64) {
        let sample = Sample { labels, value };
        match self
            .families
            .iter()
            .position(|(d, _)| std::ptr::eq(*d, desc))
        {
            // Vendors add a family's samples one after the other: the last family grows at the end.
            Some(i) if i + 1 == self.families.len() => {
                self.samples.push(sample);
                self.families[i].1 += 1;
            }
            // An earlier family: its run grows in place, and the runs after it move along.
            Some(i) => {
                self.samples.insert(self.families[i].1, sample);
                for f in &mut self.families[i..] {
                    f.1 += 1;
                }
            }
            None => {
                self.samples.push(sample);
                self.families.push((desc, self.samples.len()));
            }
        }
    }

    /// Adds one sample without extra labels.
    pub fn set(&mut self, desc: &'static MetricDesc, value: f64) {
        self.push(desc, Vec::new(), value);
    }

    /// Adds a sample only when the vendor returned the field: a missing field is an absent
    /// series, never a zero.
    pub fn set_some(&mut self, desc: &'static MetricDesc, value: Option<f64>) {
        if let Some(v) = value {
            self.set(desc, v);
        }
    }

    /// Like [`Samples::set_some`], with one extra label.
    pub fn push_some(
        &mut self,
        desc: &'static MetricDesc,
        label: (&'static str, &str),
        value: Option<f64>,
    ) {
        if let Some(v) = value {
            self.push(desc, vec![(label.0, label.1.to_owned())], v);
        }
    }

    /// Gives back the room the vectors grew into while samples were added: a snapshot is kept
    /// until the account's next poll, one per account.
    pub fn shrink_to_fit(&mut self) {
        self.families.shrink_to_fit();
        self.samples.shrink_to_fit();
    }

    /// Every family in the order first added, with its samples in the order added.
    pub fn families(&self) -> impl ExactSizeIterator<Item = Family<'_>> + Clone + '_ {
        self.families.iter().enumerate().map(|(i, &(desc, end))| {
            let start = if i == 0 { 0 } else { self.families[i - 1].1 };
            Family {
                desc,
                samples: &self.samples[start..end],
            }
        })
    }

    /// True when no sample was added.
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    /// How many samples there are, over all families.
    pub fn len(&self) -> usize {
        self.samples.len()
    }

    /// The value of the first sample of `name` whose labels include all of `labels`.
    /// Meant for tests and the `--once` summary.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        self.families()
            .filter(|f| f.desc.name == name)
            .flat_map(|f| f.samples)
            .find_map(|s| {
                labels
                    .iter()
                    .all(|(k, v)| s.labels.iter().any(|(lk, lv)| lk == k && lv == v))
                    .then_some(s.value)
            })
    }
}

/// The two text formats we serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    OpenMetrics,
    Classic,
}

impl Format {
    pub const fn content_type(self) -> &'static str {
        match self {
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
            Format::Classic => "text/plain; version=0.0.4; charset=utf-8",
        }
    }

    /// Picks the format a scraper asked for. OpenMetrics only when the `Accept` header names it
    /// (Prometheus does); everything else (curl, older agents) gets the classic format.
    pub fn negotiate(accept: Option<&str>) -> Format {
        let Some(accept) = accept else {
            return Format::Classic;
        };
        let wants_openmetrics = accept.split(',').any(|part| {
            let mut params = part.split(';').map(str::trim);
            let media = params.next().unwrap_or_default();
            let q_zero = params.any(|p| p.replace(' ', "") == "q=0");
            media.eq_ignore_ascii_case("application/openmetrics-text") && !q_zero
        });
        if wants_openmetrics {
            Format::OpenMetrics
        } else {
            Format::Classic
        }
    }
}

/// Writes a family's header lines.
pub fn write_header(out: &mut String, desc: &MetricDesc, format: Format) {
    match format {
        Format::OpenMetrics => {
            let _ = writeln!(out, "# TYPE {} {}", desc.name, desc.kind.as_str());
            if let Some(unit) = desc.unit {
                let _ = writeln!(out, "# UNIT {} {}", desc.name, unit);
            }
            out.push_str("# HELP ");
            out.push_str(desc.name);
            out.push(' ');
            escape_into(out, desc.help, true);
            out.push('\n');
        }
        Format::Classic => {
            let mut name = String::new();
            desc.sample_name(&mut name);
            out.push_str("# HELP ");
            out.push_str(&name);
            out.push(' ');
            escape_into(out, desc.help, false);
            out.push('\n');
            let kind = if desc.kind == MetricType::Counter {
                "counter"
            } else {
                "gauge"
            };
            let _ = writeln!(out, "# TYPE {name} {kind}");
        }
    }
}

/// Writes one sample line: identifying labels first, then the sample's own.
pub fn write_sample(
    out: &mut String,
    desc: &MetricDesc,
    ident: &[(&str, &str)],
    labels: &[(&'static str, String)],
    value: f64,
) {
    desc.sample_name(out);
    if !ident.is_empty() || !labels.is_empty() {
        out.push('{');
        let pairs = ident
            .iter()
            .copied()
            .chain(labels.iter().map(|(k, v)| (*k, v.as_str())));
        for (i, (k, v)) in pairs.enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(k);
            out.push_str("=\"");
            escape_into(out, v, true);
            out.push('"');
        }
        out.push('}');
    }
    out.push(' ');
    write_value(out, value);
    out.push('\n');
}

pub fn write_eof(out: &mut String, format: Format) {
    if format == Format::OpenMetrics {
        out.push_str("# EOF\n");
    }
}

fn write_value(out: &mut String, value: f64) {
    if value.is_nan() {
        out.push_str("NaN");
    } else if value.is_infinite() {
        out.push_str(if value > 0.0 { "+Inf" } else { "-Inf" });
    } else if value.fract() == 0.0 && value.abs() < 1e15 {
        // Integral values (bytes, counts, timestamps) print without a decimal point or exponent.
        out.push_str(itoa::Buffer::new().format(value as i64));
    } else {
        let _ = write!(out, "{value}");
    }
}

/// Escapes a label value or HELP text. Quotes are escaped in label values (both formats) and in
/// OpenMetrics HELP; the classic HELP escapes only backslash and newline.
///
/// Copies runs without special characters whole: most values have none, and pushing them one
/// `char` at a time was most of the cost of a render.
fn escape_into(out: &mut String, s: &str, quotes: bool) {
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escaped = match b {
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'"' if quotes => "\\\"",
            _ => continue,
        };
        // The special characters are ASCII, so `i` is always on a char boundary.
        out.push_str(&s[start..i]);
        out.push_str(escaped);
        start = i + 1;
    }
    out.push_str(&s[start..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    static G: MetricDesc =
        MetricDesc::gauge_with_unit("x_capacity_bytes", "bytes", "From \"a\"\\b");
    static C: MetricDesc = MetricDesc::counter("x_polls", "Polls");
    static I: MetricDesc = MetricDesc::info("x", "Facts");

    fn render(format: Format) -> String {
        let mut out = String::new();
        for (desc, labels, v) in [
            (&G, vec![("pool", "a\"l\nl".to_owned())], 22666689904640.0),
            (&C, vec![], 3.0),
            (&I, vec![("tier", "pro".to_owned())], 1.0),
        ] {
            write_header(&mut out, desc, format);
            write_sample(&mut out, desc, &[("account", "acme")], &labels, v);
        }
        write_eof(&mut out, format);
        out
    }

    #[test]
    fn openmetrics_names_types_units_and_escapes() {
        let text = render(Format::OpenMetrics);
        assert_eq!(
            text,
            "# TYPE x_capacity_bytes gauge\n# UNIT x_capacity_bytes bytes\n# HELP x_capacity_bytes From \\\"a\\\"\\\\b\n\
             x_capacity_bytes{account=\"acme\",pool=\"a\\\"l\\nl\"} 22666689904640\n\
             # TYPE x_polls counter\n# HELP x_polls Polls\nx_polls_total{account=\"acme\"} 3\n\
             # TYPE x info\n# HELP x Facts\nx_info{account=\"acme\",tier=\"pro\"} 1\n# EOF\n"
        );
    }

    #[test]
    fn classic_names_counters_with_total_and_infos_as_gauges() {
        let text = render(Format::Classic);
        assert!(text
            .contains("# HELP x_capacity_bytes From \"a\"\\\\b\n# TYPE x_capacity_bytes gauge\n"));
        assert!(text.contains("# HELP x_polls_total Polls\n# TYPE x_polls_total counter\nx_polls_total{account=\"acme\"} 3\n"));
        assert!(text.contains("# TYPE x_info gauge\nx_info{account=\"acme\",tier=\"pro\"} 1\n"));
        assert!(!text.contains("# UNIT") && !text.contains("# EOF"));
    }

    #[test]
    fn escaping_copies_runs_and_keeps_unicode() {
        let mut s = String::new();
        escape_into(&mut s, "", true);
        escape_into(&mut s, "plain", true);
        escape_into(&mut s, "北京\"q\"\\n\nü", true);
        assert_eq!(s, "plain北京\\\"q\\\"\\\\n\\nü");
        let mut help = String::new();
        escape_into(&mut help, "say \"hi\"\n\\", false);
        assert_eq!(help, "say \"hi\"\\n\\\\");
    }

    #[test]
    fn values_print_exactly() {
        let mut s = String::new();
        for v in [
            0.0,
            -3.0,
            0.25,
            1754827419.0,
            f64::NAN,
            f64::INFINITY,
            1e300,
        ] {
            write_value(&mut s, v);
            s.push(' ');
        }
        assert!(s.starts_with("0 -3 0.25 1754827419 NaN +Inf 1000"), "{s}");
    }

    #[test]
    fn negotiation_follows_accept() {
        assert_eq!(Format::negotiate(None), Format::Classic);
        assert_eq!(Format::negotiate(Some("*/*")), Format::Classic);
        let prom = "application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.4,*/*;q=0.1";
        assert_eq!(Format::negotiate(Some(prom)), Format::OpenMetrics);
        assert_eq!(
            Format::negotiate(Some("application/openmetrics-text; q=0")),
            Format::Classic
        );
    }

    #[test]
    fn samples_group_by_family_and_skip_missing_fields() {
        let mut s = Samples::new();
        s.push(&G, vec![("pool", "all".into())], 1.0);
        s.set(&C, 2.0);
        s.push(&G, vec![("pool", "vip".into())], 3.0);
        s.set_some(&C, None);
        let families: Vec<Family> = s.families().collect();
        assert_eq!(families.len(), 2);
        assert_eq!(families[0].desc.name, "x_capacity_bytes");
        let pools: Vec<(&str, f64)> = families[0]
            .samples
            .iter()
            .map(|x| (x.labels[0].1.as_str(), x.value))
            .collect();
        assert_eq!(
            pools,
            [("all", 1.0), ("vip", 3.0)],
            "one run, in the order added"
        );
        assert_eq!(s.value("x_capacity_bytes", &[("pool", "vip")]), Some(3.0));
        assert_eq!(families[1].samples.len(), 1);
        assert_eq!(s.len(), 3);
    }
}
