//! Media types, as pre-Kilo Nova negotiated them: a `.json`/`.xml` path suffix wins,
//! then `Accept` (JSON, XML or their `vnd.openstack.compute` aliases), JSON by
//! default; request bodies are read by `Content-Type` the same way.

use http::HeaderMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Xml,
}

impl Format {
    /// The success `Content-Type`.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Json => "application/json",
            Format::Xml => "application/xml",
        }
    }

    /// The fault `Content-Type` (webob adds the charset).
    pub fn fault_content_type(self) -> &'static str {
        match self {
            Format::Json => "application/json; charset=UTF-8",
            Format::Xml => "application/xml; charset=UTF-8",
        }
    }

    fn of_media_type(media: &str) -> Option<Format> {
        match media {
            "application/json" | "application/vnd.openstack.compute+json" => Some(Format::Json),
            "application/xml" | "application/vnd.openstack.compute+xml" => Some(Format::Xml),
            _ => None,
        }
    }
}

/// The response format `Accept` asks for; `Err` carries the header when it accepts
/// nothing we can produce (406).
pub fn from_accept(headers: &HeaderMap) -> Result<Format, String> {
    let values: Vec<&str> = headers.get_all(http::header::ACCEPT).iter().filter_map(|v| v.to_str().ok()).collect();
    let accept = values.join(",");
    if accept.trim().is_empty() {
        return Ok(Format::Json);
    }
    // Best quality wins; ties go to the earlier offer (JSON before XML).
    let mut best: Option<(f32, Format)> = None;
    for range in accept.split(',') {
        let mut params = range.split(';');
        let media = params.next().unwrap_or("").trim().to_ascii_lowercase();
        if media.is_empty() {
            continue;
        }
        let q = params.filter_map(|p| p.trim().strip_prefix("q=")).find_map(|q| q.trim().parse::<f32>().ok()).unwrap_or(1.0);
        if q <= 0.0 {
            continue;
        }
        let format = match media.as_str() {
            "*/*" | "application/*" => Format::Json,
            other => match Format::of_media_type(other) {
                Some(f) => f,
                None => continue,
            },
        };
        let better = match best {
            None => true,
            Some((best_q, best_format)) => q > best_q || (q == best_q && format == Format::Json && best_format == Format::Xml),
        };
        if better {
            best = Some((q, format));
        }
    }
    best.map(|(_, f)| f).ok_or(accept)
}

/// How a request body is to be read, from its `Content-Type`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyType {
    Json,
    Xml,
    /// Anything else: 415.
    Unsupported(String),
}

/// No `Content-Type` (or `text/plain`, what some WSGI servers default to) is JSON.
pub fn body_type(headers: &HeaderMap) -> BodyType {
    match imagery_http_common::body::content_type(headers).as_deref() {
        None | Some("") | Some("text/plain") => BodyType::Json,
        Some(media) => match Format::of_media_type(media) {
            Some(Format::Json) => BodyType::Json,
            Some(Format::Xml) => BodyType::Xml,
            None => BodyType::Unsupported(media.to_string()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn accept(v: &'static str) -> Result<Format, String> {
        let mut h = HeaderMap::new();
        h.insert(http::header::ACCEPT, HeaderValue::from_static(v));
        from_accept(&h)
    }

    #[test]
    fn negotiation() {
        assert_eq!(from_accept(&HeaderMap::new()), Ok(Format::Json));
        assert_eq!(accept("*/*"), Ok(Format::Json));
        assert_eq!(accept("application/xml"), Ok(Format::Xml));
        assert_eq!(accept("application/vnd.openstack.compute+xml"), Ok(Format::Xml));
        assert_eq!(accept("application/xml, application/json"), Ok(Format::Json));
        assert_eq!(accept("application/json;q=0.5, application/xml"), Ok(Format::Xml));
        assert_eq!(accept("text/html, */*;q=0.1"), Ok(Format::Json));
        assert!(accept("text/html").is_err());
        assert!(accept("application/json;q=0").is_err());
    }
}
