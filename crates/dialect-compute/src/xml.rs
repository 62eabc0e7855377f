//! The legacy XML representation (Nova ≤ Juno): documents derived from the JSON
//! views (scalars as attributes, `<metadata><meta key=..>`, `<atom:link>`), faults,
//! and the metadata request bodies. Written and parsed with quick-xml, so every
//! attribute and text is escaped and nothing is expanded.

use std::borrow::Cow;
use std::io;

use quick_xml::escape::{escape, partial_escape};
use quick_xml::events::attributes::Attribute;
use quick_xml::events::{BytesEnd, BytesStart, BytesText, Event};
use quick_xml::name::QName;
use quick_xml::{Reader, Writer};
use serde_json::{Map, Value};

pub const COMPUTE_NS: &str = "http://docs.openstack.org/compute/api/v1.1";
pub const COMMON_NS: &str = "http://docs.openstack.org/common/api/v1.0";
pub const ATOM_NS: &str = "http://www.w3.org/2005/Atom";
pub const IMAGE_SIZE_NS: &str = "http://docs.openstack.org/compute/ext/image_size/api/v1.1";
pub const DISK_CONFIG_NS: &str = "http://docs.openstack.org/compute/ext/disk_config/api/v1.1";

/// The declaration exactly as Nova's lxml templates wrote it.
const DECLARATION: &[u8] = b"<?xml version='1.0' encoding='UTF-8'?>\n";

#[derive(Debug, Clone, PartialEq)]
pub struct Element {
    name: String,
    attrs: Vec<(String, String)>,
    children: Vec<Node>,
}

#[derive(Debug, Clone, PartialEq)]
enum Node {
    Element(Element),
    Text(String),
}

impl Element {
    pub fn new(name: impl Into<String>) -> Self {
        Element { name: name.into(), attrs: Vec::new(), children: Vec::new() }
    }

    pub fn attr(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.attrs.push((name.into(), value.into()));
        self
    }

    /// An attribute from a JSON scalar; `null` or a missing value adds nothing.
    fn scalar_attr(self, name: &str, value: Option<&Value>) -> Self {
        match value.and_then(scalar_text) {
            Some(text) => self.attr(name, text),
            None => self,
        }
    }

    pub fn child(mut self, child: Element) -> Self {
        self.children.push(Node::Element(child));
        self
    }

    pub fn text(mut self, text: impl Into<String>) -> Self {
        self.children.push(Node::Text(text.into()));
        self
    }

    fn write(&self, writer: &mut Writer<Vec<u8>>) -> io::Result<()> {
        let mut start = BytesStart::new(self.name.as_str());
        for (k, v) in &self.attrs {
            // Tabs and line ends as character references: a conforming reader turns a
            // literal one in an attribute into a space (and `\r\n` into `\n`).
            let value = escape(v.as_str()).replace('\t', "&#9;").replace('\n', "&#10;").replace('\r', "&#13;");
            start.push_attribute(Attribute { key: QName(k.as_bytes()), value: Cow::Owned(value.into_bytes()) });
        }
        if self.children.is_empty() {
            return writer.write_event(Event::Empty(start));
        }
        writer.write_event(Event::Start(start))?;
        for child in &self.children {
            match child {
                Node::Element(e) => e.write(writer)?,
                // Text needs only `<`, `>` and `&` escaped; quotes stay readable, as lxml wrote them.
                // A literal `\r` would reach a conforming reader as `\n`.
                Node::Text(t) => {
                    writer.write_event(Event::Text(BytesText::from_escaped(partial_escape(t.as_str()).replace('\r', "&#13;"))))?
                }
            }
        }
        writer.write_event(Event::End(BytesEnd::new(self.name.as_str())))
    }

    /// The whole document, with its XML declaration.
    pub fn to_document(&self) -> io::Result<Vec<u8>> {
        let mut writer = Writer::new(DECLARATION.to_vec());
        self.write(&mut writer)?;
        Ok(writer.into_inner())
    }
}

fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(if *b { "True" } else { "False" }.to_string()),
        other => Some(other.to_string()),
    }
}

fn compute_root(name: &str, extensions: bool) -> Element {
    let root = Element::new(name);
    let root = if extensions { root.attr("xmlns:OS-EXT-IMG-SIZE", IMAGE_SIZE_NS).attr("xmlns:OS-DCF", DISK_CONFIG_NS) } else { root };
    root.attr("xmlns:atom", ATOM_NS).attr("xmlns", COMPUTE_NS)
}

fn links(mut parent: Element, links: Option<&Value>) -> Element {
    for link in links.and_then(Value::as_array).into_iter().flatten() {
        let mut el = Element::new("atom:link").scalar_attr("href", link.get("href"));
        if link.get("type").is_some() {
            el = el.scalar_attr("type", link.get("type"));
        }
        parent = parent.child(el.scalar_attr("rel", link.get("rel")));
    }
    parent
}

fn meta_element(key: &str, value: &Value) -> Element {
    let text = match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    Element::new("meta").attr("key", key).text(text)
}

/// `<metadata>` children for each property (an empty map gives `<metadata/>`).
fn metadata_element(root: Element, metadata: Option<&Map<String, Value>>) -> Element {
    metadata.into_iter().flatten().fold(root, |el, (k, v)| el.child(meta_element(k, v)))
}

/// Attributes and children of one `<image>`, from its JSON view.
fn image_element(root: Element, image: &Map<String, Value>) -> Element {
    let detailed = image.contains_key("status");
    let mut el = root;
    if detailed {
        for key in
            ["status", "updated", "name", "created", "minDisk", "progress", "minRam", "id", "OS-EXT-IMG-SIZE:size", "OS-DCF:diskConfig"]
        {
            el = el.scalar_attr(key, image.get(key));
        }
        if let Some(server) = image.get("server") {
            let server_el = links(Element::new("server").scalar_attr("id", server.get("id")), server.get("links"));
            el = el.child(server_el);
        }
        el = el.child(metadata_element(Element::new("metadata"), image.get("metadata").and_then(Value::as_object)));
    } else {
        el = el.scalar_attr("name", image.get("name")).scalar_attr("id", image.get("id"));
    }
    links(el, image.get("links"))
}

/// `{"image": {...}}` → `<image …>`.
pub fn image(doc: &Value) -> Element {
    let image = doc.get("image").and_then(Value::as_object).cloned().unwrap_or_default();
    image_element(compute_root("image", true), &image)
}

/// `{"images": [...], "images_links": [...]}` → `<images>` (index or detail).
pub fn images(doc: &Value) -> Element {
    let items = doc.get("images").and_then(Value::as_array).cloned().unwrap_or_default();
    let detailed = items.iter().any(|i| i.get("status").is_some());
    let mut root = compute_root("images", detailed);
    for item in items.iter().filter_map(Value::as_object) {
        root = root.child(image_element(Element::new("image"), item));
    }
    links(root, doc.get("images_links"))
}

/// `{"metadata": {...}}` → `<metadata xmlns=…><meta key=..>v</meta>…</metadata>`.
pub fn metadata(doc: &Value) -> Element {
    metadata_element(Element::new("metadata").attr("xmlns", COMPUTE_NS), doc.get("metadata").and_then(Value::as_object))
}

/// `{"meta": {k: v}}` → `<meta xmlns=… key="k">v</meta>`.
pub fn meta(doc: &Value) -> Element {
    let entry = doc.get("meta").and_then(Value::as_object).and_then(|m| m.iter().next());
    match entry {
        Some((k, v)) => {
            let text = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            Element::new("meta").attr("xmlns", COMPUTE_NS).attr("key", k.as_str()).text(text)
        }
        None => Element::new("meta").attr("xmlns", COMPUTE_NS),
    }
}

/// `<itemNotFound code="404" xmlns=…><message>…</message></itemNotFound>`.
pub fn fault(name: &str, code: u16, message: &str, retry_after: Option<&str>) -> Element {
    let mut el = Element::new(name).attr("code", code.to_string()).attr("xmlns", COMPUTE_NS).child(Element::new("message").text(message));
    if let Some(retry) = retry_after {
        el = el.child(Element::new("retryAfter").text(retry));
    }
    el
}

fn version_element(root: Element, version: &Value) -> Element {
    let mut el = root;
    for key in ["id", "status", "version", "min_version", "updated"] {
        el = el.scalar_attr(key, version.get(key));
    }
    if let Some(types) = version.get("media-types").and_then(Value::as_array) {
        let list = types.iter().fold(Element::new("media-types"), |list, t| {
            list.child(Element::new("media-type").scalar_attr("base", t.get("base")).scalar_attr("type", t.get("type")))
        });
        el = el.child(list);
    }
    links(el, version.get("links"))
}

fn common_root(name: &str) -> Element {
    Element::new(name).attr("xmlns", COMMON_NS).attr("xmlns:atom", ATOM_NS)
}

/// `{"versions": [...]}` or `{"choices": [...]}` → `<versions>` / `<choices>`.
pub fn version_list(doc: &Value, key: &str) -> Element {
    let items = doc.get(key).and_then(Value::as_array).cloned().unwrap_or_default();
    items.iter().fold(common_root(key), |root, v| root.child(version_element(Element::new("version"), v)))
}

/// `{"version": {...}}` → `<version …>`.
pub fn version(doc: &Value) -> Element {
    version_element(common_root("version"), doc.get("version").unwrap_or(&Value::Null))
}

// ------------------------------------------------------------------- parsing

/// Read a metadata request body: `<metadata><meta key="k">v</meta>…</metadata>`
/// becomes `{"metadata": {"k": "v"}}`, `<meta key="k">v</meta>` becomes
/// `{"meta": {"k": "v"}}`; any other root element becomes `{}` so that the schema
/// check reports what is missing. `Err` for XML that is malformed, declares a DTD,
/// is not UTF-8 (in its bytes or its declaration), or repeats an attribute.
pub fn parse_metadata_body(bytes: &[u8]) -> Result<Value, ()> {
    let text = std::str::from_utf8(bytes).map_err(|_| ())?;
    let mut reader = Reader::from_str(text.strip_prefix('\u{feff}').unwrap_or(text));
    // (depth, key, text) of the `<meta>` being read.
    let mut current: Option<(usize, String, String)> = None;
    let mut root: Option<String> = None;
    let mut entries = Map::new();
    let mut depth = 0usize;
    let mut first = true;
    loop {
        let event = reader.read_event().map_err(|_| ())?;
        let at_start = std::mem::replace(&mut first, false);
        match event {
            Event::DocType(_) => return Err(()),
            // Only at the very start, and only declaring the encoding the bytes are in.
            Event::Decl(decl) => {
                if !at_start {
                    return Err(());
                }
                if let Some(encoding) = decl.encoding() {
                    if !encoding.map_err(|_| ())?.eq_ignore_ascii_case(b"UTF-8") {
                        return Err(());
                    }
                }
            }
            Event::Start(e) => {
                check_attributes(&e)?;
                depth += 1;
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                if current.is_some() {
                    return Err(());
                }
                if root.is_none() {
                    root = Some(name.clone());
                }
                if name == "meta" && (depth == 1 || (depth == 2 && root.as_deref() == Some("metadata"))) {
                    current = Some((depth, meta_key(&e)?, String::new()));
                }
            }
            Event::Empty(e) => {
                check_attributes(&e)?;
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                if current.is_some() {
                    return Err(());
                }
                let at_root = root.is_none();
                if at_root {
                    root = Some(name.clone());
                }
                if name == "meta" && (at_root || (depth == 1 && root.as_deref() == Some("metadata"))) {
                    entries.insert(meta_key(&e)?, Value::String(String::new()));
                }
            }
            Event::Text(t) => {
                if let Some((_, _, text)) = current.as_mut() {
                    text.push_str(&t.unescape().map_err(|_| ())?);
                }
            }
            Event::CData(c) => {
                if let Some((_, _, text)) = current.as_mut() {
                    text.push_str(std::str::from_utf8(&c.into_inner()).map_err(|_| ())?);
                }
            }
            Event::End(_) => {
                if let Some((at, key, text)) = current.take() {
                    if at != depth {
                        return Err(());
                    }
                    entries.insert(key, Value::String(text));
                }
                depth = depth.saturating_sub(1);
            }
            // quick-xml reports the end of input even inside open elements.
            Event::Eof if depth == 0 && current.is_none() => break,
            Event::Eof => return Err(()),
            _ => {}
        }
    }
    let mut body = Map::new();
    match root.as_deref() {
        Some("metadata") => {
            body.insert("metadata".into(), Value::Object(entries));
        }
        Some("meta") => {
            body.insert("meta".into(), Value::Object(entries));
        }
        Some(_) => {}
        None => return Err(()),
    }
    Ok(Value::Object(body))
}

/// Every attribute well-formed, none repeated (quick-xml's own checks).
fn check_attributes(e: &BytesStart<'_>) -> Result<(), ()> {
    for attr in e.attributes().with_checks(true) {
        attr.map_err(|_| ())?;
    }
    Ok(())
}

fn meta_key(e: &BytesStart<'_>) -> Result<String, ()> {
    for attr in e.attributes() {
        let attr = attr.map_err(|_| ())?;
        if attr.key.local_name().as_ref() == b"key" {
            return attr.unescape_value().map(|v| v.into_owned()).map_err(|_| ());
        }
    }
    Ok(String::new())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn render(el: &Element) -> String {
        String::from_utf8(el.to_document().unwrap_or_default()).unwrap_or_default()
    }

    #[test]
    fn escapes_everything() {
        let doc = json!({"metadata": {"a\"<": "x & </meta><y> it's \"q\""}});
        let xml = render(&metadata(&doc));
        assert!(xml.starts_with("<?xml version='1.0' encoding='UTF-8'?>\n<metadata xmlns=\"http://docs.openstack.org/compute/api/v1.1\">"));
        assert!(xml.contains("key=\"a&quot;&lt;\""), "{xml}");
        assert!(xml.contains(">x &amp; &lt;/meta&gt;&lt;y&gt; it's \"q\"</meta>"), "{xml}");
        assert_eq!(parse_metadata_body(xml.as_bytes()), Ok(doc));
    }

    /// Found by the fuzz tests: a literal tab or line end in an attribute, or `\r` in
    /// text, is normalised away by every conforming XML reader (Python's included).
    #[test]
    fn line_ends_and_tabs_survive_conforming_readers() {
        let doc = json!({"metadata": {"a\nb\tc\rd": "x\r\ny\rz\n\tw"}});
        let xml = render(&metadata(&doc));
        assert!(xml.contains("key=\"a&#10;b&#9;c&#13;d\""), "{xml}");
        assert!(xml.contains(">x&#13;\ny&#13;z\n\tw</meta>"), "{xml}");
        assert!(!xml.contains('\r'));
        assert_eq!(parse_metadata_body(xml.as_bytes()), Ok(doc));
    }

    #[test]
    fn parses_bodies() {
        let body = br#"<?xml version="1.0"?><metadata xmlns="http://docs.openstack.org/compute/api/v1.1">
            <meta key="a">1</meta><meta key="b"/><meta key="c"><![CDATA[<x>]]></meta></metadata>"#;
        assert_eq!(parse_metadata_body(body), Ok(json!({"metadata": {"a": "1", "b": "", "c": "<x>"}})));
        assert_eq!(parse_metadata_body(br#"<meta key="k">v &amp; w</meta>"#), Ok(json!({"meta": {"k": "v & w"}})));
        assert_eq!(parse_metadata_body(b"<other/>"), Ok(json!({})));
        assert_eq!(parse_metadata_body(b"<metadata><meta key='a'>1</metadata>"), Err(()));
        assert_eq!(parse_metadata_body(b"not xml at all"), Err(()));
        assert_eq!(parse_metadata_body(b"<metadata><meta key='a'>"), Err(()));
        assert_eq!(parse_metadata_body(b"<!DOCTYPE x [<!ENTITY e 'boom'>]><meta key='a'>&e;</meta>"), Err(()));
        assert_eq!(
            parse_metadata_body(br#"<?xml version="1.0" encoding="utf-8"?><meta key="k">v</meta>"#),
            Ok(json!({"meta": {"k": "v"}}))
        );
    }

    #[test]
    fn refuses_repeated_attributes() {
        assert_eq!(parse_metadata_body(br#"<meta key="a" key="b">v</meta>"#), Err(()));
        assert_eq!(parse_metadata_body(br#"<metadata><meta key="a" key="b"/></metadata>"#), Err(()));
        assert_eq!(parse_metadata_body(br#"<metadata x="1" x="2"><meta key="a">v</meta></metadata>"#), Err(()));
        assert_eq!(parse_metadata_body(br#"<metadata><meta key="a">v<b c="1" c="1"/></meta></metadata>"#), Err(()));
    }

    #[test]
    fn refuses_encodings_other_than_utf8() {
        let latin1 = b"<?xml version='1.0' encoding='ISO-8859-1'?><meta key='k'>caf\xe9</meta>";
        assert_eq!(parse_metadata_body(latin1), Err(()));
        // Declared Latin-1 but sent as UTF-8: the bytes would mean something else.
        assert_eq!(parse_metadata_body("<?xml version='1.0' encoding='ISO-8859-1'?><meta key='k'>café</meta>".as_bytes()), Err(()));
        assert_eq!(parse_metadata_body(br#"<?xml version="1.0" encoding="UTF-16"?><meta key="k">v</meta>"#), Err(()));
        let utf16: Vec<u8> = "<meta key='k'>v</meta>".encode_utf16().flat_map(u16::to_le_bytes).collect();
        assert_eq!(parse_metadata_body(&[&[0xff, 0xfe][..], &utf16].concat()), Err(()));
        // A declaration anywhere but the start is not one.
        assert_eq!(parse_metadata_body(br#"<meta key="k">v</meta><?xml version="1.0" encoding="UTF-8"?>"#), Err(()));
    }

    #[test]
    fn fault_shape() {
        let xml = render(&fault("itemNotFound", 404, "Image not found.", None));
        assert!(xml.ends_with(
            "<itemNotFound code=\"404\" xmlns=\"http://docs.openstack.org/compute/api/v1.1\"><message>Image not found.</message></itemNotFound>"
        ));
    }
}
