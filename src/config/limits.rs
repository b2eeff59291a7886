//! Limits on what the config loader reads, checked before the text reaches the YAML/TOML parser.
//!
//! The parser behind the `config` crate expands YAML aliases by copying (a 1.3 KB "billion
//! laughs" file grows to gigabytes), recurses once per nesting level, stops silently at a NUL
//! byte, and reports a non-finite number without its key. A streaming pass over the YAML events
//! refuses all of these first, in bounded memory, naming the line and the key.

use yaml_rust2::parser::{Event, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};
use yaml_rust2::Yaml;

/// Largest config file read: far above a 100,000-account config (~20 MB), far below what would
/// hurt the host.
pub const MAX_CONFIG_BYTES: u64 = 64 << 20;
/// Deepest nesting of mappings and lists. A real config is about five levels deep.
pub const MAX_DEPTH: usize = 64;
/// Most nodes that aliases (`*name`) may add to the document once expanded.
pub const MAX_ALIAS_NODES: u64 = 100_000;

// Bounded file reads are shared with secret files, so they live with the vendor contract.
pub use crate::vendors::settings::{check_no_nul, read_bounded, text, MAX_SECRET_BYTES};

/// Where the scan is inside the document.
enum Frame {
    Mapping {
        /// The key whose value comes next; `None` while a key is expected.
        key: Option<String>,
        /// Node count when the collection started, for anchored collections' sizes.
        start: u64,
        anchor: usize,
    },
    Sequence {
        index: usize,
        start: u64,
        anchor: usize,
    },
}

/// Checks YAML text against the limits above, without building it: nesting depth, alias
/// expansion, NUL bytes, and non-finite numbers (`.inf`, `.nan`, `1e400`), each error naming its
/// line and key path. Syntax errors are left to the real parser, which reports them the same way.
pub fn check_yaml(text: &str) -> Result<(), String> {
    check_no_nul(text)?;
    let mut parser = Parser::new_from_str(text);
    let mut stack: Vec<Frame> = Vec::new();
    // Nodes seen so far, counting what aliases expand to; and each anchor's size.
    let mut nodes: u64 = 0;
    let mut alias_nodes: u64 = 0;
    let mut anchors: std::collections::HashMap<usize, u64> = Default::default();
    loop {
        let (event, mark) = match parser.next_token() {
            Ok(next) => next,
            // The real parser reports syntax errors with the same positions.
            Err(_) => return Ok(()),
        };
        match event {
            Event::StreamEnd => return Ok(()),
            Event::DocumentStart => {
                stack.clear();
                anchors.clear();
            }
            Event::Scalar(value, style, anchor, _) => {
                nodes += 1;
                if anchor > 0 {
                    anchors.insert(anchor, 1);
                }
                let is_key = matches!(stack.last(), Some(Frame::Mapping { key: None, .. }));
                if !is_key && style == TScalarStyle::Plain {
                    if let Some(f) = Yaml::from_str(&value).as_f64() {
                        if !f.is_finite() {
                            return Err(at(
                                &stack,
                                mark,
                                &format!(
                                    "{value} is not a finite number (quote it if it is meant as text)"
                                ),
                            ));
                        }
                    }
                }
                value_done(&mut stack, Some(value));
            }
            Event::Alias(id) => {
                let added = anchors.get(&id).copied().unwrap_or(1);
                alias_nodes = alias_nodes.saturating_add(added);
                nodes = nodes.saturating_add(added);
                if alias_nodes > MAX_ALIAS_NODES {
                    return Err(at(
                        &stack,
                        mark,
                        &format!(
                            "aliases expand to more than {MAX_ALIAS_NODES} values (a YAML alias bomb?)"
                        ),
                    ));
                }
                value_done(&mut stack, None);
            }
            Event::MappingStart(anchor, _) | Event::SequenceStart(anchor, _) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(at(
                        &stack,
                        mark,
                        &format!("nested more than {MAX_DEPTH} levels deep"),
                    ));
                }
                nodes += 1;
                let start = nodes;
                stack.push(if matches!(event, Event::MappingStart(..)) {
                    Frame::Mapping {
                        key: None,
                        start,
                        anchor,
                    }
                } else {
                    Frame::Sequence {
                        index: 0,
                        start,
                        anchor,
                    }
                });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                if let Some(
                    Frame::Mapping { start, anchor, .. } | Frame::Sequence { start, anchor, .. },
                ) = stack.pop()
                {
                    if anchor > 0 {
                        anchors.insert(anchor, nodes - start + 1);
                    }
                }
                value_done(&mut stack, None);
            }
            Event::Nothing | Event::StreamStart | Event::DocumentEnd => {}
        }
    }
}

/// After a node: a mapping takes it as its key (when a key was expected) or moves on to the next
/// key; a list moves to its next index.
fn value_done(stack: &mut [Frame], scalar: Option<String>) {
    match stack.last_mut() {
        Some(Frame::Mapping { key, .. }) => {
            *key = match key.take() {
                None => Some(scalar.unwrap_or_else(|| "?".to_owned())),
                Some(_) => None,
            }
        }
        Some(Frame::Sequence { index, .. }) => *index += 1,
        None => {}
    }
}

/// An error message with the line and the key path of the node being read.
fn at(stack: &[Frame], mark: Marker, message: &str) -> String {
    let mut path = String::new();
    for frame in stack {
        match frame {
            Frame::Mapping { key: Some(k), .. } => {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(k);
            }
            Frame::Mapping { key: None, .. } => {}
            Frame::Sequence { index, .. } => path.push_str(&format!("[{index}]")),
        }
        // Deep paths are cut: the line number already says where.
        if path.len() > 200 {
            path.push('…');
            break;
        }
    }
    if path.is_empty() {
        format!("line {} column {}: {message}", mark.line(), mark.col() + 1)
    } else {
        format!("{path} (line {}): {message}", mark.line())
    }
}

/// Refuses non-finite floats anywhere in a loaded tree, naming each one's key path, and the
/// environment variable it came from when one overrides that key.
pub fn check_finite(tree: &config::Value, env_prefix: &str) -> Result<(), Vec<String>> {
    fn walk(v: &config::Value, path: &mut String, env_prefix: &str, found: &mut Vec<String>) {
        match &v.kind {
            config::ValueKind::Float(f) if !f.is_finite() => {
                let var = format!("{env_prefix}__{}", path.replace('.', "__").to_uppercase());
                let from = if std::env::var_os(&var).is_some() {
                    format!(" (from the environment variable {var})")
                } else {
                    String::new()
                };
                found.push(format!("{path}: {f} is not a finite number{from}"));
            }
            config::ValueKind::Table(map) => {
                let mut keys: Vec<_> = map.keys().collect();
                keys.sort();
                for k in keys {
                    let len = path.len();
                    if !path.is_empty() {
                        path.push('.');
                    }
                    path.push_str(k);
                    walk(&map[k], path, env_prefix, found);
                    path.truncate(len);
                }
            }
            config::ValueKind::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    let len = path.len();
                    path.push_str(&format!("[{i}]"));
                    walk(item, path, env_prefix, found);
                    path.truncate(len);
                }
            }
            _ => {}
        }
    }
    let mut found = Vec::new();
    walk(tree, &mut String::new(), env_prefix, &mut found);
    if found.is_empty() {
        Ok(())
    } else {
        Err(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn ordinary_yaml_passes() {
        let text = "defaults:\n  interval: 1h\n  jitter: 0.1\nwecom_wedrive:\n  - name: a\n    secret: &s { env: X }\n  - name: b\n    secret: *s\n    note: '.inf'\n";
        check_yaml(text).unwrap();
    }

    #[test]
    fn non_finite_numbers_name_their_key() {
        let e = check_yaml("defaults:\n  jitter: .inf\n").unwrap_err();
        assert!(e.starts_with("defaults.jitter (line 2)"), "{e}");
        assert!(e.contains(".inf is not a finite number"), "{e}");
        let e = check_yaml("koodrive:\n  - name: a\n    x: [1, .nan]\n").unwrap_err();
        assert!(e.starts_with("koodrive[0].x[1] (line 3)"), "{e}");
        let e = check_yaml("a:\n  b: 1e400\n").unwrap_err();
        assert!(e.starts_with("a.b (line 2)"), "{e}");
        // Quoted, it is a string; as a key, a name.
        check_yaml("a: \".inf\"\n.nan: 1\n").unwrap();
    }

    #[test]
    fn alias_bomb_is_refused_in_bounded_memory() {
        let mut text = String::from(
            "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
        );
        for (name, prev) in ["b", "c", "d", "e", "f", "g", "h", "i"]
            .iter()
            .zip(["a", "b", "c", "d", "e", "f", "g", "h"])
        {
            text.push_str(&format!(
                "{name}: &{name} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]\n"
            ));
        }
        assert!(text.len() < 1500);
        let e = check_yaml(&text).unwrap_err();
        assert!(e.contains("aliases expand to more than"), "{e}");
    }

    #[test]
    fn deep_nesting_is_refused() {
        // (The scanner itself stops flow collections at 256 levels.)
        let text = format!("{}1{}", "[".repeat(100), "]".repeat(100));
        let e = check_yaml(&text).unwrap_err();
        assert!(e.contains("nested more than 64 levels deep"), "{e}");
        let mut block = String::new();
        for i in 0..3000 {
            block.push_str(&" ".repeat(i));
            block.push_str("k:\n");
        }
        let e = check_yaml(&block).unwrap_err();
        assert!(e.contains("k.k.k"), "{e}");
        assert!(e.contains("nested more than 64 levels deep"), "{e}");
    }

    #[test]
    fn nul_bytes_are_refused_with_their_position() {
        let e = check_yaml("a: 1\nbb: x\0y\n").unwrap_err();
        assert_eq!(
            e,
            "line 2 column 6: contains a NUL byte (the file is binary or corrupt)"
        );
    }

    #[test]
    fn bounded_reads() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, vec![b'x'; 2048]).unwrap();
        assert_eq!(read_bounded(&p, 2048, "file").unwrap().len(), 2048);
        let e = read_bounded(&p, 1024, "secret file").unwrap_err();
        assert!(e.contains("is larger than the 1 KiB limit"), "{e}");
        // An endless file stops at the limit.
        let e = read_bounded(Path::new("/dev/zero"), MAX_SECRET_BYTES, "secret file").unwrap_err();
        assert!(
            e.contains("/dev/zero is larger than the 64 KiB limit"),
            "{e}"
        );
    }
}
