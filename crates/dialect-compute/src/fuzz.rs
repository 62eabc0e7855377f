//! Property-based fuzzing of the compute dialect's parsers: the legacy XML reader
//! (arbitrary bytes, XML-shaped text, mutated documents), the XML writer (every
//! document it writes is well-formed and reads back to what was written), the
//! microversion headers and `Accept` negotiation. Nothing may panic.
//!
//! Deterministic and bounded for CI: a fixed seed and a fixed number of cases
//! (`PROPTEST_CASES` / `PROPTEST_RNG_SEED` override both for a longer local run).

use http::{HeaderMap, HeaderValue};
use proptest::prelude::*;
use quick_xml::events::Event;
use quick_xml::Reader;
use serde_json::{json, Map, Value};

use crate::media;
use crate::microversion::{self, Microversion, VersionError, HEADER, LEGACY_HEADER, MAX_VERSION, MIN_VERSION};
use crate::xml;

fn config(cases: u32) -> ProptestConfig {
    imagery_test_support::fuzz::config(cases, 0x0c04_b07e)
}

/// Characters XML 1.0 allows in text and attribute values.
fn xml_char() -> impl Strategy<Value = char> {
    prop_oneof![
        4 => proptest::char::range(' ', '~'),
        1 => prop_oneof![Just('\t'), Just('\n'), Just('\r'), Just('<'), Just('>'), Just('&'), Just('"'), Just('\''), Just(';'), Just(']')],
        1 => proptest::char::range('\u{a0}', '\u{d7ff}'),
        1 => proptest::char::range('\u{10000}', '\u{10ffff}'),
    ]
}

fn xml_string(max: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(xml_char(), 0..max).prop_map(|cs| cs.into_iter().collect())
}

/// Pieces XML is made of, so random text gets past the first byte of the reader.
fn xml_fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("<metadata>".to_string()),
        Just("</metadata>".to_string()),
        Just("<metadata xmlns=\"http://docs.openstack.org/compute/api/v1.1\">".to_string()),
        Just("<meta key=\"k\">".to_string()),
        Just("<meta key='k2'/>".to_string()),
        Just("<meta>".to_string()),
        Just("</meta>".to_string()),
        Just("<meta key=\"a\" key=\"b\">".to_string()),
        Just("<x:meta xmlns:x=\"urn:x\" x:key=\"q\">".to_string()),
        Just("<?xml version='1.0' encoding='UTF-8'?>".to_string()),
        Just("<?xml version=\"1.0\" encoding=\"latin1\"?>".to_string()),
        Just("<!DOCTYPE m [<!ENTITY e 'x'>]>".to_string()),
        Just("<![CDATA[".to_string()),
        Just("]]>".to_string()),
        Just("<!--".to_string()),
        Just("-->".to_string()),
        Just("&amp;".to_string()),
        Just("&e;".to_string()),
        Just("&#x41;".to_string()),
        Just("&#0;".to_string()),
        Just("&#xD800;".to_string()),
        Just("&#99999999999;".to_string()),
        Just("\u{feff}".to_string()),
        Just("<".to_string()),
        Just(">".to_string()),
        Just("/>".to_string()),
        Just("=".to_string()),
        Just("\"".to_string()),
        xml_string(12),
    ]
}

fn xml_soup() -> impl Strategy<Value = String> {
    proptest::collection::vec(xml_fragment(), 0..24).prop_map(|parts| parts.concat())
}

/// Arbitrary JSON, a few levels deep.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        xml_string(16).prop_map(Value::String),
        any::<String>().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 48, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::btree_map(
                prop_oneof![
                    Just("status".to_string()),
                    Just("metadata".to_string()),
                    Just("links".to_string()),
                    Just("server".to_string()),
                    Just("href".to_string()),
                    Just("name".to_string()),
                    Just("id".to_string()),
                    any::<String>(),
                ],
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Attribute values are well-formed and hold no literal tab or line end, which a
/// conforming reader would turn into a space.
fn attributes_survive(e: &quick_xml::events::BytesStart<'_>) -> Result<(), String> {
    for a in e.attributes().with_checks(true) {
        let a = a.map_err(|e| e.to_string())?;
        if a.value.iter().any(|b| matches!(b, b'\t' | b'\n' | b'\r')) {
            return Err("literal whitespace in an attribute".into());
        }
        a.unescape_value().map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Read a document to its end: it must be well-formed, declare no DTD and hold no
/// literal `\r` (a conforming reader turns it into `\n`).
fn well_formed(bytes: &[u8]) -> Result<(), String> {
    let text = std::str::from_utf8(bytes).map_err(|e| e.to_string())?;
    if text.contains('\r') {
        return Err("literal carriage return".into());
    }
    let mut reader = Reader::from_str(text);
    let mut depth = 0usize;
    loop {
        match reader.read_event().map_err(|e| e.to_string())? {
            Event::Start(e) => {
                attributes_survive(&e)?;
                depth += 1;
            }
            Event::Empty(e) => attributes_survive(&e)?,
            Event::End(_) => depth -= 1,
            Event::Text(t) => {
                t.unescape().map_err(|e| e.to_string())?;
            }
            Event::DocType(_) => return Err("DTD".into()),
            Event::Eof if depth == 0 => return Ok(()),
            Event::Eof => return Err("unclosed".into()),
            _ => {}
        }
    }
}

/// A parsed body is always `{}`, `{"metadata": {..}}` or `{"meta": {..}}` of strings.
fn check_parsed(parsed: &Value) -> Result<(), TestCaseError> {
    let object = parsed.as_object().ok_or_else(|| TestCaseError::fail("not an object"))?;
    prop_assert!(object.len() <= 1);
    for (key, entries) in object {
        prop_assert!(key == "metadata" || key == "meta", "{key}");
        let entries = entries.as_object().ok_or_else(|| TestCaseError::fail("entries not an object"))?;
        prop_assert!(entries.values().all(Value::is_string));
    }
    Ok(())
}

fn header_map(pairs: &[(&'static str, Vec<u8>)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (name, value) in pairs {
        if let Ok(v) = HeaderValue::from_bytes(value) {
            h.append(*name, v);
        }
    }
    h
}

fn version_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9]{0,7}\\.[0-9]{0,7}",
        "(compute|COMPUTE|placement|volume)? ?(latest|LATEST|2\\.[0-9]{1,4}|[0-9.]{0,6})( ?, ?(compute|network) [0-9.]{0,6})?",
        any::<String>(),
    ]
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn metadata_reader_takes_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        if let Ok(parsed) = xml::parse_metadata_body(&bytes) {
            check_parsed(&parsed)?;
        }
    }

    #[test]
    fn metadata_reader_takes_xml_soup(soup in xml_soup()) {
        if let Ok(parsed) = xml::parse_metadata_body(soup.as_bytes()) {
            check_parsed(&parsed)?;
        }
    }

    /// Whatever the keys and values (any XML character, markup included), the
    /// metadata document written reads back to the same map.
    #[test]
    fn metadata_round_trips(entries in proptest::collection::btree_map(xml_string(24), xml_string(48), 0..8)) {
        let map: Map<String, Value> = entries.into_iter().map(|(k, v)| (k, Value::String(v))).collect();
        let doc = json!({ "metadata": map });
        let bytes = xml::metadata(&doc).to_document().map_err(|e| TestCaseError::fail(e.to_string()))?;
        well_formed(&bytes).map_err(TestCaseError::fail)?;
        prop_assert_eq!(xml::parse_metadata_body(&bytes), Ok(doc));
    }

    #[test]
    fn meta_round_trips(key in xml_string(24), value in xml_string(48)) {
        let doc = json!({ "meta": { key: value } });
        let bytes = xml::meta(&doc).to_document().map_err(|e| TestCaseError::fail(e.to_string()))?;
        well_formed(&bytes).map_err(TestCaseError::fail)?;
        prop_assert_eq!(xml::parse_metadata_body(&bytes), Ok(doc));
    }

    /// A written document with bytes cut, doubled or replaced never panics the reader.
    #[test]
    fn mutated_documents(
        entries in proptest::collection::btree_map(xml_string(8), xml_string(16), 1..4),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), 0u8..4, xml_fragment()), 1..6),
    ) {
        let map: Map<String, Value> = entries.into_iter().map(|(k, v)| (k, Value::String(v))).collect();
        let mut text = String::from_utf8(xml::metadata(&json!({ "metadata": map })).to_document().unwrap_or_default()).unwrap_or_default();
        for (at, op, fragment) in edits {
            let mut i = at.index(text.len() + 1);
            while !text.is_char_boundary(i) {
                i -= 1;
            }
            match op {
                0 => text.insert_str(i, &fragment),
                1 => text.truncate(i),
                2 => {
                    let tail = text.split_off(i);
                    text.push_str(tail.get(fragment.len().min(tail.len())..).unwrap_or(""));
                }
                _ => {
                    let copy = text[i..].to_string();
                    text.push_str(&copy);
                }
            }
        }
        if let Ok(parsed) = xml::parse_metadata_body(text.as_bytes()) {
            check_parsed(&parsed)?;
        }
    }

    /// Every view the writer renders, from any JSON, is well-formed XML.
    #[test]
    fn writer_output_is_well_formed(doc in json_value(), key in xml_string(8)) {
        let wrapped = [
            xml::image(&json!({ "image": doc })),
            xml::images(&json!({ "images": [doc, {"status": "active", "metadata": doc}], "images_links": doc })),
            xml::metadata(&json!({ "metadata": doc })),
            xml::meta(&json!({ "meta": { key.clone(): doc } })),
            xml::version(&json!({ "version": doc })),
            xml::version_list(&json!({ "versions": [doc] }), "versions"),
            xml::fault("itemNotFound", 404, &key, Some(&key)),
        ];
        for element in wrapped {
            let bytes = element.to_document().map_err(|e| TestCaseError::fail(e.to_string()))?;
            well_formed(&bytes).map_err(|e| TestCaseError::fail(format!("{e}: {}", String::from_utf8_lossy(&bytes))))?;
        }
    }

    #[test]
    fn microversion_parse(raw in version_text()) {
        if let Some(v) = microversion::parse(&raw) {
            // Only the canonical spelling parses, so rendering gives the input back.
            prop_assert_eq!(v.to_string(), raw);
            prop_assert!(v.major >= 1);
        }
    }

    #[test]
    fn microversion_round_trip(major in 1u16.., minor in any::<u16>()) {
        let v = Microversion::new(major, minor);
        prop_assert_eq!(microversion::parse(&v.to_string()), Some(v));
    }

    #[test]
    fn microversion_negotiation(
        modern in proptest::collection::vec(version_text(), 0..3),
        legacy in proptest::option::of(version_text()),
        raw in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..24)),
    ) {
        let mut pairs: Vec<(&'static str, Vec<u8>)> = modern.into_iter().map(|m| (HEADER, m.into_bytes())).collect();
        if let Some(l) = legacy {
            pairs.push((LEGACY_HEADER, l.into_bytes()));
        }
        if let Some(r) = raw {
            pairs.push((HEADER, r));
        }
        let headers = header_map(&pairs);
        for max in [MAX_VERSION, microversion::MAX_IMAGE_PROXY, MIN_VERSION] {
            match microversion::negotiate(&headers, max) {
                Ok(v) => prop_assert!(MIN_VERSION <= v && v <= max, "{v}"),
                Err(VersionError::Unsupported(v)) => prop_assert!(v < MIN_VERSION || v > max),
                Err(e @ VersionError::Malformed(_)) => {
                    let _ = e.message(max);
                }
            }
        }
    }

    #[test]
    fn accept_negotiation(values in proptest::collection::vec(
        prop_oneof![
            "(application/(json|xml|\\*|vnd\\.openstack\\.compute\\+(json|xml))|\\*/\\*|text/html)(; ?q=(0|1|0\\.[0-9]{1,3}|NaN|inf|-1|1e9))?(, ?)?",
            any::<String>(),
        ],
        0..4,
    )) {
        let mut h = HeaderMap::new();
        for v in values {
            if let Ok(v) = HeaderValue::from_str(&v) {
                h.append(http::header::ACCEPT, v);
            }
        }
        let _ = media::from_accept(&h);
        let _ = media::body_type(&h);
    }
}
