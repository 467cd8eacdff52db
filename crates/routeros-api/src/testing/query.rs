//! Evaluation of `print` query words, as the RouterOS manual ("API",
//! "Queries") defines them.
//!
//! A query runs on a stack of booleans that starts as an infinite pile of
//! `true`; each word pushes or combines values; the item matches unless a
//! `false` is left on the stack.

use crate::proto::Attrs;

/// A query word without its leading `?`, evaluated against one item.
enum Word<'a> {
    /// `?name`: the item has the property.
    Has(&'a str),
    /// `?-name`: the item lacks the property.
    Missing(&'a str),
    /// `?name=x` or `?=name=x`.
    Eq(&'a str, &'a str),
    /// `?<name=x`.
    Lt(&'a str, &'a str),
    /// `?>name=x`.
    Gt(&'a str, &'a str),
    /// `?#ops`.
    Ops(&'a str),
}

fn parse(word: &str) -> Word<'_> {
    let split = |s| match s {
        "" => ("", ""),
        s => str::split_once(s, '=').unwrap_or((s, "")),
    };
    if let Some(ops) = word.strip_prefix('#') {
        Word::Ops(ops)
    } else if let Some(name) = word.strip_prefix('-') {
        Word::Missing(name)
    } else if let Some(rest) = word.strip_prefix('<') {
        let (n, v) = split(rest);
        Word::Lt(n, v)
    } else if let Some(rest) = word.strip_prefix('>') {
        let (n, v) = split(rest);
        Word::Gt(n, v)
    } else if let Some(rest) = word.strip_prefix('=') {
        let (n, v) = split(rest);
        Word::Eq(n, v)
    } else if word.contains('=') {
        let (n, v) = split(word);
        Word::Eq(n, v)
    } else {
        Word::Has(word)
    }
}

/// Compares numerically when both sides are integers, else as text.
fn compare(a: &str, b: &str) -> std::cmp::Ordering {
    match (a.parse::<i64>(), b.parse::<i64>()) {
        (Ok(x), Ok(y)) => x.cmp(&y),
        _ => a.cmp(b),
    }
}

/// The stack: values above an infinite pile of `true`.
#[derive(Default)]
struct Stack(Vec<bool>);

impl Stack {
    fn pop(&mut self) -> bool {
        self.0.pop().unwrap_or(true)
    }

    /// Value at `index` (0 is the top).
    fn at(&self, index: usize) -> bool {
        self.0.len().checked_sub(index + 1).and_then(|i| self.0.get(i)).copied().unwrap_or(true)
    }

    fn run_ops(&mut self, ops: &str) {
        let mut index: Option<usize> = None;
        let mut after_index = false;
        for c in ops.chars() {
            if let Some(d) = c.to_digit(10) {
                let d = usize::try_from(d).unwrap_or(0);
                index = Some(index.unwrap_or(0).saturating_mul(10).saturating_add(d));
                continue;
            }
            if let Some(i) = index.take() {
                // "an index that is followed by a character pushes a copy of
                // the value at that index"
                let v = self.at(i);
                self.0.push(v);
                after_index = true;
            }
            match c {
                // ". after an index does nothing"; "after another character
                // pushes a copy of the top value".
                '.' if after_index => {}
                '.' => {
                    let v = self.at(0);
                    self.0.push(v);
                }
                '!' => {
                    let v = self.pop();
                    self.0.push(!v);
                }
                '&' => {
                    let (a, b) = (self.pop(), self.pop());
                    self.0.push(a && b);
                }
                '|' => {
                    let (a, b) = (self.pop(), self.pop());
                    self.0.push(a || b);
                }
                _ => {}
            }
            after_index = false;
        }
        if let Some(i) = index {
            // "an index that is followed by the end of the word replaces all
            // values with the value at that index"
            let v = self.at(i);
            self.0 = vec![v];
        }
    }
}

/// Whether `item` passes the query `words` (each without its `?`).
pub(crate) fn matches(item: &Attrs, words: &[String]) -> bool {
    let mut stack = Stack::default();
    for word in words {
        let v = match parse(word) {
            Word::Ops(ops) => {
                stack.run_ops(ops);
                continue;
            }
            Word::Has(n) => item.contains_key(n),
            Word::Missing(n) => !item.contains_key(n),
            Word::Eq(n, x) => item.get(n).is_some_and(|v| v == x),
            Word::Lt(n, x) => item.get(n).is_some_and(|v| compare(v, x).is_lt()),
            Word::Gt(n, x) => item.get(n).is_some_and(|v| compare(v, x).is_gt()),
        };
        stack.0.push(v);
    }
    stack.0.iter().all(|&v| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(pairs: &[(&str, &str)]) -> Attrs {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    fn q(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| (*w).to_owned()).collect()
    }

    #[test]
    fn manual_examples() {
        let ether = item(&[("type", "ether")]);
        let vlan = item(&[("type", "vlan")]);
        let bridge = item(&[("type", "bridge")]);
        // "Get all ethernet and VLAN interfaces": ?type=ether ?type=vlan ?#|
        let or = q(&["type=ether", "type=vlan", "#|"]);
        assert!(matches(&ether, &or) && matches(&vlan, &or) && !matches(&bridge, &or));
        // The section's first example adds `!`: neither ether nor vlan.
        let nor = q(&["type=ether", "type=vlan", "#|!"]);
        assert!(!matches(&ether, &nor) && matches(&bridge, &nor));
        // "Get all routes that have a non-empty comment": ?>comment=
        let gt = q(&[">comment="]);
        assert!(matches(&item(&[("comment", "x")]), &gt));
        assert!(!matches(&item(&[("comment", "")]), &gt));
        assert!(!matches(&item(&[]), &gt));
    }

    #[test]
    fn implicit_and() {
        let words = q(&["chain=srcnat", "action=src-nat"]);
        assert!(matches(&item(&[("chain", "srcnat"), ("action", "src-nat")]), &words));
        assert!(!matches(&item(&[("chain", "srcnat"), ("action", "masquerade")]), &words));
        assert!(matches(&item(&[]), &[]));
    }

    #[test]
    fn has_missing_lt_and_explicit_eq() {
        let r = item(&[("distance", "10"), ("comment", "a=b")]);
        assert!(matches(&r, &q(&["comment"])));
        assert!(matches(&r, &q(&["-gateway"])));
        assert!(!matches(&r, &q(&["<distance=9"])));
        assert!(matches(&r, &q(&["<distance=11"])));
        assert!(matches(&r, &q(&["=comment=a=b"])));
    }

    #[test]
    fn index_operations() {
        let r = item(&[("a", "1")]);
        // push false, push true; "0" at end: keep only the top (true).
        assert!(matches(&r, &q(&["a=2", "a=1", "#0"])));
        // "1" at end keeps the value at index 1 (false).
        assert!(!matches(&r, &q(&["a=2", "a=1", "#1"])));
        // "0." pushes a copy of the top, then `&`.
        assert!(!matches(&r, &q(&["a=2", "#0.&"])));
        // ".": copy the top after a non-index character.
        assert!(matches(&r, &q(&["a=2", "#!.&"])));
    }
}
