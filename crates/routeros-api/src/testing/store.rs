//! In-memory menus of the fake router and the operations on them, shared by
//! the classic API and the REST front ends.

use std::collections::BTreeMap;

use super::query;
use crate::proto::Attrs;

/// Table menus the fake router knows, with the field names of the RouterOS
/// manual. Items are free-form: any property is stored as given.
pub const MENUS: &[&str] = &[
    "/ip/route",
    "/ipv6/route",
    "/ip/address",
    "/ipv6/address",
    "/ip/firewall/filter",
    "/ipv6/firewall/filter",
    "/ip/firewall/nat",
    "/ipv6/firewall/nat",
    "/ip/firewall/mangle",
    "/ipv6/firewall/mangle",
    "/ip/firewall/address-list",
    "/ipv6/firewall/address-list",
    "/ipv6/nd",
    "/ipv6/nd/prefix",
    "/ipv6/pool",
    "/ip/pool",
    "/ip/dhcp-server/option",
    "/interface/veth",
    "/interface/bridge/port",
    "/container",
    "/container/envs",
    "/container/mounts",
];

/// Single-item menus: `print` returns one fixed item; nothing else works.
const SINGLETONS: &[(&str, &[(&str, &str)])] = &[
    ("/system/identity", &[("name", "MikroTik")]),
    ("/system/resource", &[("version", "7.18 (stable)"), ("board-name", "xlat-test-router"), ("platform", "MikroTik")]),
];

/// Property holding the internal id.
pub(crate) const ID: &str = ".id";
/// `!done` attribute (REST: key) with the id `add` created.
pub(crate) const RET: &str = "ret";
/// Property every item gets when `add` does not set it.
const DISABLED: &str = "disabled";
/// Its default value.
const DISABLED_DEFAULT: &str = "false";
/// Prefix of internal ids.
const ID_PREFIX: char = '*';
/// Separator of id lists (`=.id=*1,*2`).
const ID_LIST_SEPARATOR: char = ',';

/// Trap categories of the manual's `!trap` section.
pub(crate) mod category {
    /// "missing item or command".
    pub(crate) const MISSING: u32 = 0;
    /// "argument value failure".
    pub(crate) const ARGUMENT: u32 = 1;
    /// "execution of command interrupted".
    pub(crate) const INTERRUPTED: u32 = 2;
}

/// An operation failed: what the router would say in `!trap`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Trap {
    pub(crate) category: Option<u32>,
    pub(crate) message: String,
    /// How the REST front end reports it.
    pub(crate) kind: TrapKind,
}

/// REST status class of a [`Trap`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TrapKind {
    /// Unknown menu or command.
    NoSuchCommand,
    /// Unknown item id.
    NoSuchItem,
    /// Anything else.
    Failure,
}

impl Trap {
    fn no_such_command(what: &str) -> Self {
        Self {
            category: Some(category::MISSING),
            message: format!("no such command or directory ({what})"),
            kind: TrapKind::NoSuchCommand,
        }
    }

    pub(crate) fn no_such_item() -> Self {
        Self { category: Some(category::MISSING), message: "no such item (4)".into(), kind: TrapKind::NoSuchItem }
    }

    fn missing_argument(name: &str) -> Self {
        Self {
            category: Some(category::ARGUMENT),
            message: format!("missing value(s) of argument(s) {name}"),
            kind: TrapKind::Failure,
        }
    }
}

/// What a command asks for, parsed by the front ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Op {
    /// `print` / `getall` (REST `GET`): query words without `?`, and the
    /// properties to return.
    Print { query: Vec<String>, proplist: Option<Vec<String>> },
    /// `add` (REST `PUT`).
    Add(Attrs),
    /// `set` (REST `PATCH`): ids and new values.
    Set { ids: Vec<String>, attrs: Attrs },
    /// `remove` (REST `DELETE`).
    Remove { ids: Vec<String> },
    /// `move`: ids, and the item to move them before (end if `None`).
    Move { ids: Vec<String>, destination: Option<String> },
}

/// What an operation returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Items (print).
    Rows(Vec<Attrs>),
    /// Id of a new item (add: `=ret=`).
    Created(String),
    /// Nothing to return.
    Done,
}

/// Splits `/ip/route/print` into the menu `/ip/route` and the verb `print`.
pub(crate) fn split_command(command: &str) -> (&str, &str) {
    command.rsplit_once('/').unwrap_or(("", command))
}

/// Splits an id list (`*1,*2`).
pub(crate) fn ids(list: &str) -> Vec<String> {
    list.split(ID_LIST_SEPARATOR).filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

/// Turns a verb and its attributes into an [`Op`]. `.id` or `numbers` name
/// the items of set/remove/move (both spellings exist: the API manual uses
/// `.id`, the CLI `numbers`).
pub(crate) fn op_for(verb: &str, mut attrs: Attrs, query: Vec<String>) -> Result<Op, Trap> {
    let take_ids = |attrs: &mut Attrs| {
        attrs
            .remove(ID)
            .or_else(|| attrs.remove("numbers"))
            .map(|l| ids(&l))
            .ok_or_else(|| Trap::missing_argument("numbers"))
    };
    Ok(match verb {
        "print" | "getall" => {
            let proplist = attrs.remove(".proplist").map(|p| p.split(',').map(str::to_owned).collect());
            Op::Print { query, proplist }
        }
        "add" => Op::Add(attrs),
        "set" => {
            let ids = take_ids(&mut attrs)?;
            Op::Set { ids, attrs }
        }
        "remove" => Op::Remove { ids: take_ids(&mut attrs)? },
        "move" => {
            let ids = take_ids(&mut attrs)?;
            Op::Move { ids, destination: attrs.remove("destination").filter(|d| !d.is_empty()) }
        }
        other => return Err(Trap::no_such_command(other)),
    })
}

/// One table menu.
#[derive(Debug, Default, Clone)]
struct Table {
    last_id: u32,
    rows: Vec<Attrs>,
}

impl Table {
    fn position(&self, id: &str) -> Option<usize> {
        self.rows.iter().position(|r| r.get(ID).is_some_and(|v| v == id))
    }

    fn positions(&self, ids: &[String]) -> Result<Vec<usize>, Trap> {
        ids.iter().map(|id| self.position(id).ok_or_else(Trap::no_such_item)).collect()
    }
}

/// All menus of the fake router.
#[derive(Debug, Clone)]
pub(crate) struct Store {
    tables: BTreeMap<String, Table>,
}

impl Default for Store {
    fn default() -> Self {
        Self { tables: MENUS.iter().map(|m| ((*m).to_owned(), Table::default())).collect() }
    }
}

impl Store {
    /// Runs `op` on `menu`.
    pub(crate) fn apply(&mut self, menu: &str, op: Op) -> Result<Outcome, Trap> {
        if let Some((_, item)) = SINGLETONS.iter().find(|(m, _)| *m == menu) {
            return match op {
                Op::Print { query, proplist } => {
                    let item: Attrs = item.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
                    Ok(Outcome::Rows(select(vec![item], &query, proplist.as_deref())))
                }
                Op::Add(_) => Err(Trap::no_such_command("add")),
                Op::Set { .. } => Err(Trap::no_such_command("set")),
                Op::Remove { .. } => Err(Trap::no_such_command("remove")),
                Op::Move { .. } => Err(Trap::no_such_command("move")),
            };
        }
        let leaf = menu.rsplit('/').next().unwrap_or(menu);
        let table = self.tables.get_mut(menu).ok_or_else(|| Trap::no_such_command(leaf))?;
        match op {
            Op::Print { query, proplist } => Ok(Outcome::Rows(select(table.rows.clone(), &query, proplist.as_deref()))),
            Op::Add(mut attrs) => {
                table.last_id += 1;
                let id = format!("{ID_PREFIX}{:X}", table.last_id);
                attrs.remove(ID);
                attrs.insert(ID.to_owned(), id.clone());
                attrs.entry(DISABLED.to_owned()).or_insert_with(|| DISABLED_DEFAULT.to_owned());
                table.rows.push(attrs);
                Ok(Outcome::Created(id))
            }
            Op::Set { ids, attrs } => {
                for pos in table.positions(&ids)? {
                    for (k, v) in &attrs {
                        if k != ID {
                            table.rows[pos].insert(k.clone(), v.clone());
                        }
                    }
                }
                Ok(Outcome::Done)
            }
            Op::Remove { ids } => {
                table.positions(&ids)?;
                table.rows.retain(|r| !r.get(ID).is_some_and(|id| ids.contains(id)));
                Ok(Outcome::Done)
            }
            Op::Move { ids, destination } => {
                table.positions(&ids)?;
                if let Some(d) = &destination {
                    table.position(d).ok_or_else(Trap::no_such_item)?;
                }
                let (moved, mut rest): (Vec<_>, Vec<_>) =
                    table.rows.drain(..).partition(|r| r.get(ID).is_some_and(|id| ids.contains(id)));
                let at =
                    destination.and_then(|d| rest.iter().position(|r| r.get(ID) == Some(&d))).unwrap_or(rest.len());
                rest.splice(at..at, moved);
                table.rows = rest;
                Ok(Outcome::Done)
            }
        }
    }

    /// One item by id (REST `GET /rest/<menu>/<id>`).
    pub(crate) fn get(&self, menu: &str, id: &str) -> Option<Attrs> {
        let table = self.tables.get(menu)?;
        table.position(id).map(|p| table.rows[p].clone())
    }

    /// Whether `menu` is a table menu (items have ids).
    pub(crate) fn is_table(&self, menu: &str) -> bool {
        self.tables.contains_key(menu)
    }

    /// All items of a menu, in order.
    pub(crate) fn rows(&self, menu: &str) -> Vec<Attrs> {
        self.tables.get(menu).map(|t| t.rows.clone()).unwrap_or_default()
    }

    /// Adds a menu that is not in [`MENUS`].
    pub(crate) fn add_menu(&mut self, menu: &str) {
        self.tables.entry(menu.to_owned()).or_default();
    }
}

/// Applies the query and the property list.
fn select(rows: Vec<Attrs>, query: &[String], proplist: Option<&[String]>) -> Vec<Attrs> {
    rows.into_iter()
        .filter(|r| query::matches(r, query))
        .map(|r| match proplist {
            None => r,
            Some(names) => r.into_iter().filter(|(k, _)| names.contains(k)).collect(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(pairs: &[(&str, &str)]) -> Attrs {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    fn add(s: &mut Store, menu: &str, comment: &str) -> String {
        match s.apply(menu, Op::Add(attrs(&[("chain", "forward"), ("comment", comment)]))).unwrap() {
            Outcome::Created(id) => id,
            other => panic!("{other:?}"),
        }
    }

    fn order(s: &Store, menu: &str) -> Vec<String> {
        s.rows(menu).iter().map(|r| r["comment"].clone()).collect()
    }

    #[test]
    fn ids_are_hex_and_never_reused() {
        let mut s = Store::default();
        let m = "/ip/firewall/filter";
        let ids: Vec<_> = (0..11).map(|i| add(&mut s, m, &i.to_string())).collect();
        assert_eq!(ids[0], "*1");
        assert_eq!(ids[10], "*B");
        s.apply(m, Op::Remove { ids: vec!["*B".into()] }).unwrap();
        assert_eq!(add(&mut s, m, "x"), "*C");
        assert_eq!(s.rows(m)[0]["disabled"], "false");
    }

    #[test]
    fn move_before_and_to_end() {
        let mut s = Store::default();
        let m = "/ip/firewall/filter";
        let a = add(&mut s, m, "a");
        add(&mut s, m, "b");
        let c = add(&mut s, m, "c");
        s.apply(m, Op::Move { ids: vec![c.clone()], destination: Some(a.clone()) }).unwrap();
        assert_eq!(order(&s, m), ["c", "a", "b"]);
        s.apply(m, Op::Move { ids: vec![c], destination: None }).unwrap();
        assert_eq!(order(&s, m), ["a", "b", "c"]);
        let err = s.apply(m, Op::Move { ids: vec![a], destination: Some("*99".into()) }).unwrap_err();
        assert_eq!(err, Trap::no_such_item());
        assert_eq!(order(&s, m), ["a", "b", "c"]);
    }

    #[test]
    fn set_remove_missing_and_unknown() {
        let mut s = Store::default();
        let m = "/ip/route";
        let id = add(&mut s, m, "r");
        s.apply(m, Op::Set { ids: vec![id.clone()], attrs: attrs(&[("gateway", "192.0.0.2")]) }).unwrap();
        assert_eq!(s.get(m, &id).unwrap()["gateway"], "192.0.0.2");
        assert_eq!(s.apply(m, Op::Remove { ids: vec!["*9".into()] }), Err(Trap::no_such_item()));
        assert_eq!(s.apply("/ip/bogus", Op::Add(Attrs::new())).unwrap_err().kind, TrapKind::NoSuchCommand);
        assert_eq!(op_for("frobnicate", Attrs::new(), vec![]).unwrap_err().kind, TrapKind::NoSuchCommand);
        assert!(op_for("set", Attrs::new(), vec![]).is_err());
    }

    #[test]
    fn print_with_query_and_proplist() {
        let mut s = Store::default();
        let m = "/ip/route";
        add(&mut s, m, "x");
        add(&mut s, m, "y");
        let op = Op::Print { query: vec!["comment=y".into()], proplist: Some(vec!["comment".into()]) };
        assert_eq!(s.apply(m, op).unwrap(), Outcome::Rows(vec![attrs(&[("comment", "y")])]));
        let op = Op::Print { query: vec![], proplist: None };
        let Outcome::Rows(rows) = s.apply("/system/identity", op).unwrap() else { panic!() };
        assert_eq!(rows[0]["name"], "MikroTik");
    }
}
