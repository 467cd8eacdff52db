//! Property values: comparing what we want with what RouterOS prints, and
//! writing values for the console.

use std::net::IpAddr;

use ipnetwork::IpNetwork;

/// Whether the router's `current` value means the same as our `wanted`
/// one. RouterOS prints booleans as `true`/`false` over the API (the
/// console says `yes`/`no`), lists in its own order, and addresses in
/// canonical form; a negated matcher keeps its `!`.
pub(crate) fn same(wanted: &str, current: &str) -> bool {
    if wanted == current {
        return true;
    }
    if let (Some(a), Some(b)) = (boolean(wanted), boolean(current)) {
        return a == b;
    }
    if wanted.contains(',') || current.contains(',') {
        return list(wanted) == list(current);
    }
    match (wanted.strip_prefix('!'), current.strip_prefix('!')) {
        (Some(a), Some(b)) => canonical(a) == canonical(b),
        (None, None) => canonical(wanted) == canonical(current),
        _ => false,
    }
}

fn boolean(v: &str) -> Option<bool> {
    match v {
        "yes" | "true" => Some(true),
        "no" | "false" => Some(false),
        _ => None,
    }
}

/// An address or prefix in canonical form; anything else as given.
pub(crate) fn canonical(v: &str) -> String {
    if let Ok(ip) = v.parse::<IpAddr>() {
        return ip.to_string();
    }
    match v.parse::<IpNetwork>() {
        Ok(net) if v.contains('/') => net.to_string(),
        _ => v.to_owned(),
    }
}

/// A comma-separated list, canonical and sorted.
pub(crate) fn list(v: &str) -> Vec<String> {
    let mut items: Vec<String> = split_list(v).map(canonical).collect();
    items.sort();
    items
}

/// The items of a comma-separated list property (empty items dropped).
pub(crate) fn split_list(v: &str) -> impl Iterator<Item = &str> {
    v.split(',').map(str::trim).filter(|s| !s.is_empty())
}

/// A value as the RouterOS console reads it: bare when it is a plain word,
/// otherwise in double quotes with `"`, `\` and `$` escaped (the console
/// substitutes `$name` inside quotes).
pub fn quote(v: &str) -> String {
    let plain = !v.is_empty()
        && v.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | ':' | '/' | ',' | '-' | '_' | '!' | '*'));
    if plain {
        return v.to_owned();
    }
    let mut out = String::with_capacity(v.len() + 2);
    out.push('"');
    for c in v.chars() {
        match c {
            '"' | '\\' | '$' => {
                out.push('\\');
                out.push(c);
            }
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            _ => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn router_spellings_are_equal() {
        assert!(same("yes", "true"));
        assert!(same("no", "false"));
        assert!(!same("yes", "false"));
        assert!(same("established,related", "related,established"));
        assert!(same("2001:DB8::1", "2001:db8::1"));
        assert!(same("2001:db8:0::/64", "2001:db8::/64"));
        assert!(same("!172.17.0.2", "!172.17.0.2"));
        assert!(!same("!172.17.0.2", "172.17.0.2"));
        assert!(!same("0.0.0.0/0", "0.0.0.0/1"));
        assert!(same("64:ff9b::/96,2001:db8::/96", "2001:db8::/96,64:ff9b::/96"));
    }

    #[test]
    fn console_quoting() {
        assert_eq!(quote("0.0.0.0/0"), "0.0.0.0/0");
        assert_eq!(quote("!172.17.0.2"), "!172.17.0.2");
        assert_eq!(quote("xlat:clat:default"), "xlat:clat:default");
        assert_eq!(quote("a b"), "\"a b\"");
        assert_eq!(quote(""), "\"\"");
        assert_eq!(quote("say \"hi\" $x \\"), "\"say \\\"hi\\\" \\$x \\\\\"");
    }
}
