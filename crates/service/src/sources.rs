//! Where imports may fetch from: the operator's allow-list, parsed once into
//! scheme + host + port + path prefix and matched against a parsed URL — never as a
//! raw string prefix (`https://mirror.example` must not let
//! `https://mirror.example.evil/` or `https://mirror.example@169.254.169.254/` in).
//! Every importer (Glance web-download, Yandex create-from-URI, and each redirect
//! they follow) asks [`ImportSources::allows`].

use reqwest::Url;

/// One allow-list entry.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Source {
    scheme: String,
    host: String,
    port: Option<u16>,
    /// The path every allowed URL starts with, ending at a segment boundary.
    path: String,
}

/// The parsed allow-list. Entries that are empty or not absolute http(s) URLs are
/// ignored (and logged): an empty list allows nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportSources {
    sources: Vec<Source>,
}

fn http_url(text: &str) -> Option<Url> {
    let url = Url::parse(text.trim()).ok()?;
    let usable = matches!(url.scheme(), "http" | "https") && url.host_str().is_some_and(|h| !h.is_empty());
    (usable && url.username().is_empty() && url.password().is_none()).then_some(url)
}

impl ImportSources {
    pub fn parse(entries: &[String]) -> Self {
        let mut sources = Vec::new();
        for entry in entries.iter().filter(|e| !e.trim().is_empty()) {
            let Some(url) = http_url(entry) else {
                tracing::warn!(entry = %entry, "ignoring an import allow-list entry that is not an absolute http(s) URL without credentials");
                continue;
            };
            let mut path = url.path().to_string();
            if !path.ends_with('/') {
                // `https://h/images` allows `/images` and `/images/...`, not `/images2`.
                path.push('/');
            }
            sources.push(Source {
                scheme: url.scheme().to_string(),
                host: url.host_str().unwrap_or_default().to_ascii_lowercase(),
                port: url.port_or_known_default(),
                path,
            });
        }
        ImportSources { sources }
    }

    /// Does the list allow fetching `uri`?
    pub fn allows(&self, uri: &str) -> bool {
        http_url(uri).is_some_and(|url| self.allows_url(&url))
    }

    pub fn allows_url(&self, url: &Url) -> bool {
        if !url.username().is_empty() || url.password().is_some() {
            return false;
        }
        let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
        let path = url.path();
        self.sources.iter().any(|s| {
            s.scheme == url.scheme()
                && s.host == host
                && s.port == url.port_or_known_default()
                && (format!("{path}/").starts_with(&s.path) || path.starts_with(&s.path))
        })
    }

    pub fn is_empty(&self) -> bool {
        self.sources.is_empty()
    }

    /// The addresses of the entries whose host is an IP literal (`http://10.0.0.5/`,
    /// `http://[fd00::5]/`): the operator named each, so imports may reach it even
    /// when it is private (see [`crate::fetch`]).
    pub fn literal_addresses(&self) -> Vec<std::net::IpAddr> {
        self.sources.iter().filter_map(|s| s.host.trim_start_matches('[').trim_end_matches(']').parse().ok()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(entries: &[&str]) -> ImportSources {
        ImportSources::parse(&entries.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn hosts_ports_and_paths_are_matched_not_prefixes() {
        let l = list(&["https://mirror.example", "http://127.0.0.1:8080/images/", "http://files.example/pub"]);
        assert!(l.allows("https://mirror.example/debian.qcow2"));
        assert!(l.allows("https://MIRROR.example:443/x"));
        assert!(!l.allows("https://mirror.example.evil/debian.qcow2"));
        assert!(!l.allows("https://mirror.example@169.254.169.254/latest/meta-data"));
        assert!(!l.allows("https://user:pw@mirror.example/x"));
        assert!(!l.allows("http://mirror.example/x"), "scheme matters");
        assert!(!l.allows("https://mirror.example:8443/x"), "port matters");
        assert!(l.allows("http://127.0.0.1:8080/images/disk.raw"));
        assert!(!l.allows("http://127.0.0.1:8080/other/disk.raw"));
        assert!(!l.allows("http://127.0.0.1:8081/images/disk.raw"));
        assert!(l.allows("http://files.example/pub"));
        assert!(l.allows("http://files.example/pub/a"));
        assert!(!l.allows("http://files.example/public/a"));
        assert!(!l.allows("file:///etc/passwd"));
        assert!(!l.allows("not a url"));
    }

    #[test]
    fn ip_literal_entries_are_listed() {
        let l = list(&["http://127.0.0.1:8080/images/", "https://mirror.example/", "http://[fd00::5]/", "http://0x0a000001/"]);
        let found: Vec<String> = l.literal_addresses().iter().map(|ip| ip.to_string()).collect();
        assert_eq!(found, ["127.0.0.1", "fd00::5", "10.0.0.1"]);
    }

    #[test]
    fn empty_and_bad_entries_allow_nothing() {
        assert!(list(&[]).is_empty());
        assert!(list(&["", "   ", "ftp://x/", "/relative"]).is_empty());
        assert!(!list(&[""]).allows("https://anything.example/"));
    }
}
