//! Reading the router, and applying a plan to it.

use std::collections::{BTreeSet, HashMap};

use routeros_api::{ApiError, RouterOs};

use crate::config::RoleConfig;
use crate::desired::{desired, parse_ledger, Desired, Site, OWNED_LISTS};
use crate::menu::{Menu, Read, OWNED_MENUS};
use crate::pd::PrefixChange;
use crate::plan::{plan, Change, Item, Plan, Snapshot};
use crate::resolve::resolve;
use crate::tag::Tag;
use crate::Error;

/// A plan and what it was computed from.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// What was read from the router.
    pub site: Option<Site>,
    /// The desired state (empty for a removal).
    pub desired: Desired,
    /// The changes.
    pub plan: Plan,
}

/// What an apply or a removal did.
#[derive(Debug, Clone)]
pub struct Report {
    /// What was read from the router (not for a removal).
    pub site: Option<Site>,
    /// The plan executed.
    pub plan: Plan,
    /// Writes done (the plan's length, unless a dry run).
    pub written: usize,
    /// Automatic CLAT prefix: the delegated prefix moved since the last
    /// provisioning ([`SelfProvision::provision`](crate::SelfProvision::provision)
    /// fills it in).
    pub prefix_change: Option<PrefixChange>,
}

/// Provisions one tag's objects on one router, over any transport.
#[derive(Debug, Clone)]
pub struct Provisioner<R> {
    router: R,
    tag: Tag,
}

impl<R: RouterOs + Sync> Provisioner<R> {
    /// A provisioner of `tag`'s objects through `router`.
    pub fn new(router: R, tag: Tag) -> Self {
        Self { router, tag }
    }

    /// The router client.
    pub fn router(&self) -> &R {
        &self.router
    }

    /// The tag.
    pub fn tag(&self) -> &Tag {
        &self.tag
    }

    /// Reads every item that can be ours, the foreign firewall rules, and
    /// the foreign items `edit_menus` and our ledger entries refer to.
    pub async fn snapshot(&self, edit_menus: &[Menu]) -> Result<Snapshot, Error> {
        let mut snap = Snapshot::new();
        for &menu in OWNED_MENUS {
            let rows = match menu.read() {
                Read::All => self.router.print(menu.path(), &[]).await?,
                Read::ByTag => self.router.print(menu.path(), &[("comment", &self.tag.comment())]).await?,
                Read::ByList => {
                    let mut rows = Vec::new();
                    for list in OWNED_LISTS {
                        rows.extend(self.router.print(menu.path(), &[("list", &self.tag.name(list))]).await?);
                    }
                    rows
                }
            };
            snap.extend(menu, rows);
        }
        let mut foreign: BTreeSet<Menu> = edit_menus.iter().copied().collect();
        for menu in [Menu::IpAddressList, Menu::Ipv6AddressList] {
            for row in snap.rows(menu) {
                if let Some(rec) = parse_ledger(&self.tag, row.get("comment").map_or("", String::as_str)) {
                    foreign.insert(rec.menu);
                }
            }
        }
        for menu in foreign {
            if !snap.has(menu) {
                let rows = self.router.print(menu.path(), &[]).await?;
                snap.extend(menu, rows);
            }
        }
        Ok(snap)
    }

    /// Reads the router and computes the plan for `cfg` (nothing written).
    pub async fn prepare(&self, cfg: &RoleConfig) -> Result<Prepared, Error> {
        self.check_tag(cfg)?;
        let site = resolve(&self.router, cfg).await?;
        let desired = desired(cfg, &site)?;
        let edit_menus: Vec<Menu> = desired.edits.iter().map(|e| e.menu).collect();
        let snap = self.snapshot(&edit_menus).await?;
        let plan = plan(&self.tag, &desired, &snap);
        Ok(Prepared { site: Some(site), desired, plan })
    }

    /// Brings the router to the desired state of `cfg`.
    pub async fn apply(&self, cfg: &RoleConfig) -> Result<Report, Error> {
        let prepared = self.prepare(cfg).await?;
        let written = self.execute(&prepared.plan).await?;
        Ok(Report { site: prepared.site, plan: prepared.plan, written, prefix_change: None })
    }

    /// Computes the removal of everything of ours (nothing written).
    pub async fn prepare_remove(&self) -> Result<Prepared, Error> {
        let snap = self.snapshot(&[]).await?;
        let desired = Desired::default();
        let plan = plan(&self.tag, &desired, &snap);
        Ok(Prepared { site: None, desired, plan })
    }

    /// Removes every item of ours and undoes our foreign edits.
    pub async fn remove(&self) -> Result<Report, Error> {
        let prepared = self.prepare_remove().await?;
        let written = self.execute(&prepared.plan).await?;
        Ok(Report { site: None, plan: prepared.plan, written, prefix_change: None })
    }

    /// Runs the changes in order; returns how many were written. Stops at
    /// the first failure, naming the change.
    pub async fn execute(&self, plan: &Plan) -> Result<usize, Error> {
        let mut created: HashMap<usize, String> = HashMap::new();
        for (i, change) in plan.changes.iter().enumerate() {
            let fail = |source: ApiError| Error::Apply { change: change.cli(), source };
            match change {
                Change::Add { menu, attrs } => {
                    let id = self.router.add(menu.path(), &pairs(attrs)).await.map_err(fail)?;
                    created.insert(i, id);
                }
                Change::Set { menu, id, attrs, .. } => {
                    self.router.set(menu.path(), id, &pairs(attrs)).await.map_err(fail)?;
                }
                Change::Remove { menu, id, .. } => {
                    self.router.remove(menu.path(), id).await.map_err(fail)?;
                }
                Change::Move { menu, item, before } => {
                    let (a, b) = (id_of(item, &created)?, id_of(before, &created)?);
                    self.router.move_before(menu.path(), &a, &b).await.map_err(fail)?;
                }
            }
            tracing::debug!(tag = %self.tag, change = %change.cli(), "RouterOS change applied");
        }
        Ok(plan.len())
    }

    fn check_tag(&self, cfg: &RoleConfig) -> Result<(), Error> {
        let tag = cfg.tag()?;
        if tag != self.tag {
            return Err(Error::config(format!("configuration is for {tag}, this provisioner manages {}", self.tag)));
        }
        Ok(())
    }
}

fn pairs(attrs: &[(String, String)]) -> Vec<(&str, &str)> {
    attrs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

fn id_of(item: &Item, created: &HashMap<usize, String>) -> Result<String, Error> {
    match item {
        Item::Existing { id, .. } => Ok(id.clone()),
        Item::New { index, .. } => created
            .get(index)
            .cloned()
            .ok_or_else(|| Error::router(format!("internal: change {index} created no item to move"))),
    }
}
