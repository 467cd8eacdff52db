//! The difference between the desired state and the router's: a [`Plan`]
//! of `add` / `set` / `remove` / `move` changes. Pure: the router's state
//! comes in as a [`Snapshot`].
//!
//! Rules of the game:
//!
//! - only items whose comment carries our tag ([`Tag::owns`]) are ever
//!   set, moved or removed; foreign items are read (firewall anchors, list
//!   edits) and, for list edits only, get one element added or removed;
//! - an item of ours matches a desired object by identity
//!   (routes: `dst-address`; address lists: list, address and comment;
//!   the rest: the comment); differing properties are `set`, extra items
//!   (stale or duplicate) are removed, missing ones added;
//! - in firewall filter menus, our rules of a chain must appear in the
//!   desired order and before the first foreign `drop` or `reject` rule of
//!   that chain (dynamic rules are skipped). Working back from the last
//!   rule, a rule already before its successor (the anchor, for the last
//!   one) stays where it is, any other is moved just before it: rules in
//!   place cost no write;
//! - the changes run in this order: undo of foreign edits, removes, sets,
//!   adds (ledger entries included), foreign edits, moves. A ledger entry
//!   is added before its edit and removed after its undo, so an
//!   interrupted run never leaves an edit without its record.

use std::collections::{BTreeMap, HashMap, HashSet};

use routeros_api::{Attrs, ID_ATTR};

use crate::desired::{actual_field, empty_list_value, identity, list_elements, parse_ledger, Desired, Object};
use crate::menu::{Menu, OWNED_MENUS};
use crate::tag::Tag;
use crate::value::{quote, same};

/// The router's items, per menu, in the router's order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    rows: BTreeMap<Menu, Vec<Attrs>>,
}

impl Snapshot {
    /// An empty router.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records the items of `menu` (appends to what is there).
    pub fn extend(&mut self, menu: Menu, rows: impl IntoIterator<Item = Attrs>) {
        self.rows.entry(menu).or_default().extend(rows);
    }

    /// The items of `menu`.
    pub fn rows(&self, menu: Menu) -> &[Attrs] {
        self.rows.get(&menu).map_or(&[], Vec::as_slice)
    }

    /// Whether `menu` was read.
    pub fn has(&self, menu: Menu) -> bool {
        self.rows.contains_key(&menu)
    }
}

/// How a change names its item on the console.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    /// `[find k1=v1 k2=v2]`.
    Find(Vec<(String, String)>),
    /// The internal id, `*1A`.
    Id(String),
}

impl Selector {
    /// Console text.
    pub fn cli(&self) -> String {
        match self {
            Selector::Id(id) => id.clone(),
            Selector::Find(pairs) => {
                let words: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={}", quote_comment(k, v))).collect();
                format!("[find {}]", words.join(" "))
            }
        }
    }
}

/// An item a change refers to: one on the router, or one an earlier `add`
/// of the same plan creates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// On the router.
    Existing {
        /// Internal id.
        id: String,
        /// Console name.
        sel: Selector,
    },
    /// Created by the `add` at this index of [`Plan::changes`].
    New {
        /// Index of the `add`.
        index: usize,
        /// Console name.
        sel: Selector,
    },
}

impl Item {
    fn sel(&self) -> &Selector {
        match self {
            Item::Existing { sel, .. } | Item::New { sel, .. } => sel,
        }
    }
}

/// One write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// `add`: properties, comment last.
    Add {
        /// Menu.
        menu: Menu,
        /// Properties.
        attrs: Vec<(String, String)>,
    },
    /// `set` of some properties of an item (ours, or a foreign list edit).
    Set {
        /// Menu.
        menu: Menu,
        /// Internal id.
        id: String,
        /// Console name.
        sel: Selector,
        /// New values.
        attrs: Vec<(String, String)>,
    },
    /// `remove` of an item of ours.
    Remove {
        /// Menu.
        menu: Menu,
        /// Internal id.
        id: String,
        /// Console name.
        sel: Selector,
    },
    /// `move` of a rule of ours before another rule.
    Move {
        /// Menu.
        menu: Menu,
        /// The rule moved.
        item: Item,
        /// The rule it goes before.
        before: Item,
    },
}

impl Change {
    /// The change as a RouterOS console line
    /// (`/ip route add dst-address=0.0.0.0/0 gateway=172.17.0.2 comment="xlat:clat:default"`).
    pub fn cli(&self) -> String {
        match self {
            Change::Add { menu, attrs } => format!("{} add {}", menu.cli(), words(attrs)),
            Change::Set { menu, sel, attrs, .. } => format!("{} set {} {}", menu.cli(), sel.cli(), words(attrs)),
            Change::Remove { menu, sel, .. } => format!("{} remove {}", menu.cli(), sel.cli()),
            Change::Move { menu, item, before } => {
                format!("{} move {} destination={}", menu.cli(), item.sel().cli(), before.sel().cli())
            }
        }
    }

    /// Its menu.
    pub fn menu(&self) -> Menu {
        match self {
            Change::Add { menu, .. }
            | Change::Set { menu, .. }
            | Change::Remove { menu, .. }
            | Change::Move { menu, .. } => *menu,
        }
    }
}

fn quote_comment(k: &str, v: &str) -> String {
    if k == "comment" {
        // Always quoted, like the console's own exports.
        let q = quote(v);
        if q.starts_with('"') {
            q
        } else {
            format!("\"{q}\"")
        }
    } else {
        quote(v)
    }
}

fn words(attrs: &[(String, String)]) -> String {
    attrs.iter().map(|(k, v)| format!("{k}={}", quote_comment(k, v))).collect::<Vec<_>>().join(" ")
}

/// The changes that bring the router to the desired state, and notes about
/// what could not be done.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// Changes, in execution order.
    pub changes: Vec<Change>,
    /// Things the operator should know (a foreign item to edit is missing).
    pub notes: Vec<String>,
}

impl Plan {
    /// Nothing to write.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// Number of writes.
    pub fn len(&self) -> usize {
        self.changes.len()
    }

    /// The plan as RouterOS console lines.
    pub fn cli_lines(&self) -> Vec<String> {
        self.changes.iter().map(Change::cli).collect()
    }

    /// Counts of (adds, sets, removes, moves).
    pub fn counts(&self) -> (usize, usize, usize, usize) {
        let mut c = (0, 0, 0, 0);
        for ch in &self.changes {
            match ch {
                Change::Add { .. } => c.0 += 1,
                Change::Set { .. } => c.1 += 1,
                Change::Remove { .. } => c.2 += 1,
                Change::Move { .. } => c.3 += 1,
            }
        }
        c
    }
}

fn get<'a>(row: &'a Attrs, k: &str) -> Option<&'a str> {
    row.get(k).map(String::as_str)
}

fn id_of(row: &Attrs) -> String {
    row.get(ID_ATTR).cloned().unwrap_or_default()
}

fn is_true(v: Option<&str>) -> bool {
    matches!(v, Some("true" | "yes"))
}

/// Console name of an item of ours: its identity, plus the comment.
fn our_selector(menu: Menu, get_attr: impl Fn(&str) -> Option<String>) -> Selector {
    let mut pairs: Vec<(String, String)> = Vec::new();
    for k in menu.identity().iter().copied().chain(std::iter::once("comment")) {
        if pairs.iter().any(|(pk, _)| pk == k) {
            continue;
        }
        pairs.push((k.to_owned(), get_attr(k).unwrap_or_default()));
    }
    // The comment first reads better: [find comment="..." dst-address=...].
    pairs.sort_by_key(|(k, _)| k != "comment");
    Selector::Find(pairs)
}

/// Console name of a foreign item: its comment when unique, else its id.
fn foreign_selector(rows: &[Attrs], row: &Attrs) -> Selector {
    match get(row, "comment").filter(|c| !c.is_empty()) {
        Some(c) if rows.iter().filter(|r| get(r, "comment") == Some(c)).count() == 1 => {
            Selector::Find(vec![("comment".to_owned(), c.to_owned())])
        }
        _ => Selector::Id(id_of(row)),
    }
}

/// Accumulates the phases of a plan.
#[derive(Default)]
struct Phases {
    undo: Vec<Change>,
    remove: Vec<Change>,
    set: Vec<Change>,
    add: Vec<Change>,
    edit: Vec<Change>,
    notes: Vec<String>,
}

/// The plan that makes the router hold exactly `desired` for `tag`: every
/// item of ours not desired is removed and foreign edits not desired are
/// undone, so an empty `desired` plans the removal of everything we own.
pub fn plan(tag: &Tag, desired: &Desired, snap: &Snapshot) -> Plan {
    let mut ph = Phases::default();
    plan_edits(tag, desired, snap, &mut ph);
    for &menu in OWNED_MENUS {
        let rows = snap.rows(menu);
        let wanted: Vec<&Object> = desired.of(menu).collect();
        let mut by_id: HashMap<String, usize> = HashMap::new();
        for (i, o) in wanted.iter().enumerate() {
            by_id.entry(o.identity()).or_insert(i);
        }
        let mut matched = vec![false; wanted.len()];
        for row in rows {
            let comment = get(row, "comment").unwrap_or_default();
            if !tag.owns(comment) || parse_ledger(tag, comment).is_some() {
                continue;
            }
            let key = identity(menu, |k| get(row, k));
            let sel = our_selector(menu, |k| row.get(k).cloned());
            match by_id.get(&key).copied().filter(|&i| !matched[i]) {
                Some(i) => {
                    matched[i] = true;
                    let diff: Vec<(String, String)> = wanted[i]
                        .attrs
                        .iter()
                        .filter(|(k, v)| !get(row, k).is_some_and(|cur| same(v, cur)))
                        .map(|(k, v)| ((*k).to_owned(), v.clone()))
                        .collect();
                    if !diff.is_empty() {
                        ph.set.push(Change::Set { menu, id: id_of(row), sel, attrs: diff });
                    }
                }
                None => ph.remove.push(Change::Remove { menu, id: id_of(row), sel }),
            }
        }
        for (i, o) in wanted.iter().enumerate() {
            if !matched[i] {
                let mut attrs: Vec<(String, String)> =
                    o.attrs.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect();
                attrs.push(("comment".to_owned(), o.comment.clone()));
                ph.add.push(Change::Add { menu, attrs });
            }
        }
    }
    let mut changes = Vec::new();
    changes.append(&mut ph.undo);
    changes.append(&mut ph.remove);
    changes.append(&mut ph.set);
    let add_base = changes.len();
    changes.append(&mut ph.add);
    changes.append(&mut ph.edit);
    let moves = plan_moves(tag, desired, snap, &changes, add_base);
    changes.extend(moves);
    Plan { changes, notes: ph.notes }
}

/// Ledger entries and foreign list edits (see the crate docs).
fn plan_edits(tag: &Tag, desired: &Desired, snap: &Snapshot, ph: &mut Phases) {
    // Working copies of the foreign lists touched, keyed by (menu, id, field).
    let mut lists: BTreeMap<(Menu, String, String), (Vec<String>, Selector)> = BTreeMap::new();
    let find = |menu: Menu, select: (&str, &str)| -> Option<Attrs> {
        snap.rows(menu).iter().find(|r| get(r, select.0).is_some_and(|v| same(select.1, v))).cloned()
    };
    let mut ledgers: Vec<(Menu, &Attrs)> = Vec::new();
    for menu in [Menu::IpAddressList, Menu::Ipv6AddressList] {
        for row in snap.rows(menu) {
            if parse_ledger(tag, get(row, "comment").unwrap_or_default()).is_some() {
                ledgers.push((menu, row));
            }
        }
    }
    let wanted_comments: HashSet<String> = desired.edits.iter().map(|e| e.ledger_comment(tag)).collect();

    // 1. Undo: ledger entries no longer desired.
    for (lmenu, lrow) in &ledgers {
        let comment = get(lrow, "comment").unwrap_or_default();
        if wanted_comments.contains(comment) {
            continue;
        }
        let Some(rec) = parse_ledger(tag, comment) else { continue };
        if let Some(row) = find(rec.menu, (&rec.select.0, &rec.select.1)) {
            let field = actual_field(&row, &rec.field).to_owned();
            let key = (rec.menu, id_of(&row), field.clone());
            let entry = lists.entry(key).or_insert_with(|| {
                let sel = Selector::Find(vec![(rec.select.0.clone(), rec.select.1.clone())]);
                (list_elements(get(&row, &field)), sel)
            });
            entry.0.retain(|v| !same(&rec.value, v));
        }
        let sel = our_selector(*lmenu, |k| lrow.get(k).cloned());
        ph.remove.push(Change::Remove { menu: *lmenu, id: id_of(lrow), sel });
    }
    let mut base: BTreeMap<(Menu, String, String), Vec<String>> = BTreeMap::new();
    for (key, (items, sel)) in &lists {
        let (menu, id, field) = key;
        let row = snap.rows(*menu).iter().find(|r| id_of(r) == *id);
        let before = list_elements(row.and_then(|r| get(r, field)));
        if before != *items {
            ph.undo.push(set_list(*menu, id, sel, field, items));
        }
        base.insert(key.clone(), items.clone());
    }

    // 2. Apply: desired edits.
    let mut applied: BTreeMap<(Menu, String, String), (Vec<String>, Selector)> = BTreeMap::new();
    for edit in &desired.edits {
        let comment = edit.ledger_comment(tag);
        let have_ledger = ledgers.iter().any(|(m, r)| *m == edit.ledger_menu && get(r, "comment") == Some(&comment));
        let Some(row) = find(edit.menu, (edit.select.0, &edit.select.1)) else {
            ph.notes.push(format!(
                "no {} item with {}={}: {} not changed",
                edit.menu.path(),
                edit.select.0,
                edit.select.1,
                edit.field
            ));
            continue;
        };
        let field = actual_field(&row, edit.field);
        let key = (edit.menu, id_of(&row), field.to_owned());
        let entry = applied.entry(key.clone()).or_insert_with(|| {
            let items = base.get(&key).cloned().unwrap_or_else(|| list_elements(get(&row, field)));
            (items, Selector::Find(vec![(edit.select.0.to_owned(), edit.select.1.clone())]))
        });
        if entry.0.iter().any(|v| same(&edit.value, v)) {
            // Present: ours if recorded, else the operator's (left alone).
            continue;
        }
        entry.0.push(edit.value.clone());
        if !have_ledger {
            ph.add.push(Change::Add {
                menu: edit.ledger_menu,
                attrs: vec![
                    ("list".to_owned(), tag.name(crate::desired::LEDGER_LIST)),
                    ("address".to_owned(), edit.ledger_address.clone()),
                    ("comment".to_owned(), comment),
                ],
            });
        }
    }
    for ((menu, id, field), (items, sel)) in &applied {
        let before = base.get(&(*menu, id.clone(), field.clone())).cloned().unwrap_or_else(|| {
            list_elements(snap.rows(*menu).iter().find(|r| id_of(r) == *id).and_then(|r| get(r, field)))
        });
        if before != *items {
            ph.edit.push(set_list(*menu, id, sel, field, items));
        }
    }
}

fn set_list(menu: Menu, id: &str, sel: &Selector, field: &str, items: &[String]) -> Change {
    let value = if items.is_empty() { empty_list_value(field).to_owned() } else { items.join(",") };
    Change::Set { menu, id: id.to_owned(), sel: sel.clone(), attrs: vec![(field.to_owned(), value)] }
}

/// One rule of a filter table after removes and adds.
struct Slot {
    item: Item,
    chain: String,
    /// Identity if ours and desired.
    ours: Option<String>,
    /// A foreign final rule (`drop`/`reject`, not dynamic).
    anchor: bool,
}

fn plan_moves(tag: &Tag, desired: &Desired, snap: &Snapshot, changes: &[Change], add_base: usize) -> Vec<Change> {
    let mut moves = Vec::new();
    for &menu in OWNED_MENUS.iter().filter(|m| m.ordered()) {
        let wanted: Vec<&Object> = desired.of(menu).collect();
        if wanted.is_empty() {
            continue;
        }
        let wanted_ids: HashSet<String> = wanted.iter().map(|o| o.identity()).collect();
        let removed: HashSet<&str> = changes
            .iter()
            .filter_map(|c| match c {
                Change::Remove { menu: m, id, .. } if *m == menu => Some(id.as_str()),
                _ => None,
            })
            .collect();
        let rows = snap.rows(menu);
        let mut slots: Vec<Slot> = Vec::new();
        let mut seen: HashSet<String> = HashSet::new();
        for row in rows {
            let id = id_of(row);
            if removed.contains(id.as_str()) {
                continue;
            }
            let comment = get(row, "comment").unwrap_or_default();
            let owned = tag.owns(comment);
            let key = identity(menu, |k| get(row, k));
            let ours = (owned && wanted_ids.contains(&key) && seen.insert(key.clone())).then_some(key);
            // A rule of ours takes the chain it is being set to.
            let chain = ours
                .as_ref()
                .and_then(|k| wanted.iter().find(|o| o.identity() == *k))
                .and_then(|o| o.get("chain"))
                .or_else(|| get(row, "chain"))
                .unwrap_or_default()
                .to_owned();
            let anchor = !owned
                && matches!(get(row, "action"), Some("drop" | "reject"))
                && !is_true(get(row, "dynamic"))
                && !is_true(get(row, "builtin"));
            let sel = if owned { our_selector(menu, |k| row.get(k).cloned()) } else { foreign_selector(rows, row) };
            slots.push(Slot { item: Item::Existing { id, sel }, chain, ours, anchor });
        }
        for (index, c) in changes.iter().enumerate().skip(add_base) {
            if let Change::Add { menu: m, attrs } = c {
                if *m != menu {
                    continue;
                }
                let g = |k: &str| attrs.iter().find(|(ak, _)| ak == k).map(|(_, v)| v.as_str());
                let key = identity(menu, g);
                let sel = our_selector(menu, |k| g(k).map(str::to_owned));
                slots.push(Slot {
                    item: Item::New { index, sel },
                    chain: g("chain").unwrap_or_default().to_owned(),
                    ours: Some(key),
                    anchor: false,
                });
            }
        }
        let mut chains: Vec<&str> = Vec::new();
        for o in &wanted {
            let c = o.get("chain").unwrap_or_default();
            if !chains.contains(&c) {
                chains.push(c);
            }
        }
        // Table order, as slot indices; moves are simulated on it.
        let mut table: Vec<usize> = (0..slots.len()).collect();
        let pos = |x: usize, table: &[usize]| table.iter().position(|&y| y == x).unwrap_or(usize::MAX);
        for chain in chains {
            let order: Vec<String> =
                wanted.iter().filter(|o| o.get("chain") == Some(chain)).map(|o| o.identity()).collect();
            let anchor = table.iter().copied().find(|&i| slots[i].chain == chain && slots[i].anchor);
            // From the last desired rule back: a rule already before its
            // successor (the anchor for the last one) stays, any other is
            // moved just before it. Rules in place cost nothing.
            let mut target = anchor;
            for k in order.iter().rev() {
                let Some(i) = slots.iter().position(|s| s.ours.as_ref() == Some(k)) else { continue };
                if let Some(t) = target {
                    if pos(i, &table) > pos(t, &table) {
                        moves.push(Change::Move { menu, item: slots[i].item.clone(), before: slots[t].item.clone() });
                        table.retain(|&y| y != i);
                        let at = pos(t, &table);
                        table.insert(at, i);
                    }
                }
                target = Some(i);
            }
        }
    }
    moves
}
