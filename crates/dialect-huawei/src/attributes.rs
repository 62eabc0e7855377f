//! Huawei's image attributes (`__imagetype`, `__os_type`, `__platform`,
//! `__os_bit`, `__os_version`, `__support_kvm`, `virtual_env_type`, …) as views
//! of the one canonical image. A property stored under such a name wins; where
//! none is stored, the attribute is derived from what the image already says in
//! Glance's vocabulary (`os_type`, `os_distro`, `os_version`, `architecture`,
//! `hypervisor_type`, `disk_format`, `description`, its size). `__imagetype` is
//! always derived: it is a relation between the image and the caller.
//!
//! Every Huawei view (the IMS flat object, the ECS `metadata`) and every filter on
//! these attributes goes through [`effective`] / [`merge_into`], so an attribute
//! means the same thing wherever it is shown or matched.

use std::collections::BTreeMap;

use imagery_core::{Caller, Image, Visibility};
use serde_json::{Map, Value};

pub const IMAGETYPE: &str = "__imagetype";
pub const IMAGETYPES: [&str; 4] = ["gold", "private", "shared", "market"];

/// The attributes imagery derives when no property of that name is stored.
pub const DERIVED: [&str; 12] = [
    IMAGETYPE,
    "__isregistered",
    "__os_type",
    "__platform",
    "__os_bit",
    "__os_version",
    "__support_kvm",
    "__support_xen",
    "__support_arm",
    "__image_size",
    "__description",
    "virtual_env_type",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArchFamily {
    X86,
    Arm,
    Other,
}

/// `architecture` (Glance's vocabulary: `x86_64`, `aarch64`, `i686`, …) → (family, bits).
pub fn architecture(img: &Image) -> Option<(ArchFamily, &'static str)> {
    let arch = img.properties.get("architecture")?.trim().to_ascii_lowercase();
    Some(match arch.as_str() {
        "x86_64" | "amd64" | "x64" => (ArchFamily::X86, "64"),
        "i386" | "i486" | "i586" | "i686" | "x86" | "ia32" => (ArchFamily::X86, "32"),
        "aarch64" | "arm64" | "armv8" => (ArchFamily::Arm, "64"),
        "arm" | "armv6l" | "armv7l" | "armv7" | "armhf" | "armel" => (ArchFamily::Arm, "32"),
        "ppc64" | "ppc64le" | "s390x" | "riscv64" | "mips64" | "mips64el" | "loongarch64" | "sparc64" => (ArchFamily::Other, "64"),
        "ppc" | "mips" | "mipsel" | "sparc" | "s390" | "riscv32" => (ArchFamily::Other, "32"),
        _ => return None,
    })
}

/// Huawei's `__platform` and `__os_type` for a Glance `os_distro`.
fn distro(os_distro: &str) -> (&'static str, &'static str) {
    match os_distro.trim().to_ascii_lowercase().as_str() {
        "ubuntu" => ("Ubuntu", "Linux"),
        "centos" => ("CentOS", "Linux"),
        "rhel" | "redhat" | "red hat" => ("Red Hat", "Linux"),
        "debian" => ("Debian", "Linux"),
        "fedora" => ("Fedora", "Linux"),
        "opensuse" | "opensuse-leap" | "opensuse-tumbleweed" => ("OpenSUSE", "Linux"),
        "sles" | "sled" | "suse" => ("SUSE", "Linux"),
        "oraclelinux" | "oracle" | "ol" => ("Oracle Linux", "Linux"),
        "coreos" | "fedora-coreos" => ("CoreOS", "Linux"),
        "euleros" => ("EulerOS", "Linux"),
        "openeuler" => ("openEuler", "Linux"),
        "rocky" | "rockylinux" => ("Rocky Linux", "Linux"),
        "almalinux" | "alma" => ("AlmaLinux", "Linux"),
        "windows" => ("Windows", "Windows"),
        "arch" | "gentoo" | "alpine" | "mandrake" | "mandriva" | "mes" | "slackware" | "linux" | "cirros" => ("Other", "Linux"),
        _ => ("Other", "Other"),
    }
}

/// What a Huawei `__os_version` string ("Ubuntu 22.04 server 64bit", "Red Hat
/// Linux 8.4 64bit", "Windows Server 2019 …") says about the platform, OS type
/// and bitness, for images whose creator gave only that string.
fn from_os_version(version: &str) -> (Option<(&'static str, &'static str)>, Option<&'static str>) {
    let lower = version.to_ascii_lowercase();
    let words: Vec<&str> = lower.split_whitespace().collect();
    let known = |candidate: &str| Some(distro(candidate)).filter(|d| *d != ("Other", "Other"));
    let platform = match words.as_slice() {
        [] => None,
        [first, second, ..] => known(&format!("{first} {second}")).or_else(|| known(first)),
        [first] => known(first),
    };
    let bits = if lower.contains("64bit") || lower.contains("64 bit") || lower.contains("x86_64") || lower.contains("aarch64") {
        Some("64")
    } else if lower.contains("32bit") || lower.contains("32 bit") {
        Some("32")
    } else {
        None
    };
    (platform, bits)
}

fn os_type_of(os_type: &str) -> &'static str {
    match os_type.trim().to_ascii_lowercase().as_str() {
        "linux" => "Linux",
        "windows" => "Windows",
        _ => "Other",
    }
}

/// `gold` (public), `private` (the caller's own, or private), `shared` (someone
/// else's image the caller may use). Without a caller, only `gold` and `private`.
pub fn imagetype(img: &Image, caller: Option<&Caller>) -> &'static str {
    let own = match (caller.and_then(Caller::project), img.owner.as_deref()) {
        (Some(project), Some(owner)) => project == owner,
        (None, _) => true,
        (Some(_), None) => false,
    };
    match img.visibility {
        Visibility::Public => "gold",
        Visibility::Private => "private",
        Visibility::Shared | Visibility::Community if own => "private",
        Visibility::Shared | Visibility::Community => "shared",
    }
}

/// The derived attributes (stored properties of the same name are not consulted).
pub fn derived(img: &Image, caller: Option<&Caller>) -> BTreeMap<&'static str, String> {
    let props = &img.properties;
    let mut out = BTreeMap::new();
    out.insert(IMAGETYPE, imagetype(img, caller).to_string());
    out.insert("__isregistered", "true".to_string());

    let (version_distro, version_bits) = props.get("__os_version").map(|v| from_os_version(v)).unwrap_or((None, None));
    let distro_info = props.get("os_distro").map(|d| distro(d)).or(version_distro);
    let os_type = match (props.get("os_type"), distro_info) {
        (Some(t), _) => os_type_of(t),
        (None, Some((_, t))) => t,
        (None, None) => "Other",
    };
    let platform = match distro_info {
        Some((p, _)) => p,
        None if os_type == "Windows" => "Windows",
        None => "Other",
    };
    out.insert("__os_type", os_type.to_string());
    out.insert("__platform", platform.to_string());

    let arch = architecture(img);
    if let Some((family, bits)) = arch {
        out.insert("__os_bit", bits.to_string());
        if family == ArchFamily::Arm {
            out.insert("__support_arm", "true".to_string());
        }
    } else if let Some(bits) = version_bits {
        out.insert("__os_bit", bits.to_string());
    }
    let version = props.get("os_version").map(|v| v.trim()).filter(|v| !v.is_empty());
    let known = props.contains_key("os_distro") || props.contains_key("os_type") || version.is_some();
    if known {
        let bits = arch.map(|(_, b)| b);
        let name = match (platform, os_type) {
            ("Other", "Other") => "Other".to_string(),
            ("Other", t) => format!("Other {t}"),
            (p, _) => p.to_string(),
        };
        let os_version = match (platform, version, bits) {
            ("Other", _, Some(b)) => format!("{name}({b} bit)"),
            (_, Some(v), Some(b)) => format!("{name} {v} {b}bit"),
            (_, Some(v), None) => format!("{name} {v}"),
            (_, None, Some(b)) => format!("{name} {b}bit"),
            (_, None, None) => name,
        };
        out.insert("__os_version", os_version);
    }

    let hypervisor = props.get("hypervisor_type").map(|h| h.trim().to_ascii_lowercase());
    let kvm = hypervisor.as_deref().is_none_or(|h| matches!(h, "kvm" | "qemu"));
    out.insert("__support_kvm", kvm.to_string());
    if hypervisor.as_deref() == Some("xen") {
        out.insert("__support_xen", "true".to_string());
    }
    let env = if img.disk_format.as_deref() == Some("iso") { "IsoImage" } else { "FusionCompute" };
    out.insert("virtual_env_type", env.to_string());
    if let Some(size) = img.size {
        out.insert("__image_size", size.to_string());
    }
    if let Some(description) = props.get("description") {
        out.insert("__description", description.clone());
    }
    out
}

/// A user property by name (imagery's reserved ones are not properties).
fn stored<'a>(img: &'a Image, key: &str) -> Option<&'a String> {
    img.user_properties().find(|(k, _)| k.as_str() == key).map(|(_, v)| v)
}

/// The value of a Huawei attribute as shown to `caller`.
pub fn effective(img: &Image, caller: Option<&Caller>, key: &str) -> Option<String> {
    if key != IMAGETYPE {
        if let Some(value) = stored(img, key) {
            return Some(value.clone());
        }
    }
    if DERIVED.contains(&key) {
        return derived(img, caller).remove(key);
    }
    None
}

/// Add the derived attributes to a view that already shows the stored
/// properties (a flat Glance object, an ECS `metadata` map).
pub fn merge_into(view: &mut Map<String, Value>, img: &Image, caller: Option<&Caller>) {
    for (key, value) in derived(img, caller) {
        if key == IMAGETYPE {
            view.insert(key.to_string(), Value::String(value));
        } else {
            view.entry(key).or_insert(Value::String(value));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn image(owner: &str, visibility: Visibility, props: &[(&str, &str)]) -> Image {
        let mut img = Image::new(Uuid::nil(), Some(owner.into()), imagery_core::time::now());
        img.visibility = visibility;
        img.properties = props.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        img
    }

    fn caller(project: &str) -> Caller {
        Caller::new(Some("u".into()), Some(project.into()), ["member".to_string()])
    }

    #[test]
    fn imagetypes() {
        let me = caller("p1");
        assert_eq!(imagetype(&image("p2", Visibility::Public, &[]), Some(&me)), "gold");
        assert_eq!(imagetype(&image("p1", Visibility::Public, &[]), Some(&me)), "gold");
        assert_eq!(imagetype(&image("p1", Visibility::Private, &[]), Some(&me)), "private");
        assert_eq!(imagetype(&image("p1", Visibility::Shared, &[]), Some(&me)), "private");
        assert_eq!(imagetype(&image("p2", Visibility::Shared, &[]), Some(&me)), "shared");
        assert_eq!(imagetype(&image("p2", Visibility::Community, &[]), Some(&me)), "shared");
        assert_eq!(imagetype(&image("p2", Visibility::Private, &[]), Some(&me)), "private");
        assert_eq!(imagetype(&image("p2", Visibility::Shared, &[]), None), "private");
    }

    #[test]
    fn derivations() {
        let img = image("p", Visibility::Public, &[("os_distro", "ubuntu"), ("os_version", "22.04"), ("architecture", "x86_64")]);
        let d = derived(&img, None);
        assert_eq!(d["__os_type"], "Linux");
        assert_eq!(d["__platform"], "Ubuntu");
        assert_eq!(d["__os_bit"], "64");
        assert_eq!(d["__os_version"], "Ubuntu 22.04 64bit");
        assert_eq!(d["__support_kvm"], "true");
        assert_eq!(d["virtual_env_type"], "FusionCompute");
        assert!(!d.contains_key("__support_arm"));

        let win = image("p", Visibility::Private, &[("os_type", "windows"), ("architecture", "i686")]);
        let d = derived(&win, None);
        assert_eq!((d["__os_type"].as_str(), d["__platform"].as_str(), d["__os_bit"].as_str()), ("Windows", "Windows", "32"));
        assert_eq!(d["__os_version"], "Windows 32bit");

        let arm = image("p", Visibility::Private, &[("os_type", "linux"), ("architecture", "aarch64"), ("hypervisor_type", "xen")]);
        let d = derived(&arm, None);
        assert_eq!(d["__os_version"], "Other Linux(64 bit)");
        assert_eq!(d["__support_arm"], "true");
        assert_eq!(d["__support_xen"], "true");
        assert_eq!(d["__support_kvm"], "false");

        let bare = image("p", Visibility::Private, &[]);
        let d = derived(&bare, None);
        assert_eq!(d["__os_type"], "Other");
        assert!(!d.contains_key("__os_version"));
        assert!(!d.contains_key("__os_bit"));
    }

    #[test]
    fn os_version_alone_tells_platform_type_and_bits() {
        let img = image("p", Visibility::Private, &[("__os_version", "Ubuntu 22.04 server 64bit")]);
        let d = derived(&img, None);
        assert_eq!((d["__platform"].as_str(), d["__os_type"].as_str(), d["__os_bit"].as_str()), ("Ubuntu", "Linux", "64"));
        let img = image("p", Visibility::Private, &[("__os_version", "Red Hat Linux 8.4 64bit")]);
        assert_eq!(derived(&img, None)["__platform"], "Red Hat");
        let img = image("p", Visibility::Private, &[("__os_version", "Windows Server 2019 Datacenter 64bit")]);
        assert_eq!(derived(&img, None)["__os_type"], "Windows");
        let img = image("p", Visibility::Private, &[("__os_version", "Something else")]);
        assert_eq!(derived(&img, None)["__platform"], "Other");
    }

    #[test]
    fn stored_properties_win_except_imagetype() {
        let img = image("p", Visibility::Public, &[("__os_type", "Linux"), ("os_type", "windows"), ("__imagetype", "market")]);
        assert_eq!(effective(&img, None, "__os_type").as_deref(), Some("Linux"));
        assert_eq!(effective(&img, None, "__imagetype").as_deref(), Some("gold"));
        assert_eq!(effective(&img, None, "__lazyloading"), None);
        let mut view = Map::new();
        view.insert("__os_type".into(), Value::String("Linux".into()));
        view.insert("__imagetype".into(), Value::String("market".into()));
        merge_into(&mut view, &img, None);
        assert_eq!(view["__os_type"], "Linux");
        assert_eq!(view["__imagetype"], "gold");
        assert_eq!(view["__platform"], "Windows");
    }
}
