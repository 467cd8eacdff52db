//! The benchmark's Markdown report: medians and min–max over the rounds,
//! the translators' CPU, the ratios ours/TAYGA and ours/kernel, the issue
//! 7 targets, the memory figure. `tests/bench/README.md` explains each
//! column.

use std::fmt::Write as _;

use super::{Options, Results, Sample, Scenario, Test};

/// The median of `v` (the mean of the two middle values for an even
/// count); NaN when empty.
#[must_use]
pub fn median(v: &[f64]) -> f64 {
    let mut v: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    }
}

/// One progress line's figure.
#[must_use]
pub fn brief(test: Test, s: &Sample) -> String {
    let cpu = format!(
        "translator {:.2}u+{:.2}s cores (busiest thread {:.2}), host {:.2} cores",
        s.cpu.user, s.cpu.system, s.cpu.busiest_thread, s.cpu.host
    );
    match test {
        Test::Ping => format!("median RTT {:.3} ms", s.value),
        Test::Udp => format!("{:.0} kpps received of {:.0} sent; {cpu}", s.value / 1e3, s.sent / 1e3),
        _ => format!("{:.2} Gbit/s; {cpu}", s.value / 1e9),
    }
}

/// Facts about the machine and the run, for the report's header.
#[derive(Debug, Clone, Default)]
pub struct Meta {
    /// UTC date and time of the run.
    pub date: String,
    /// `uname -r`.
    pub kernel: String,
    /// CPU model.
    pub cpu: String,
    /// Online cores.
    pub cores: usize,
    /// Load average when the run began (1, 5, 15 min).
    pub load: String,
    /// `git describe` of the tree.
    pub commit: String,
    /// iperf3 and TAYGA versions.
    pub tools: String,
    /// What `XLAT_OFFLOAD` was and whether the daemons know it.
    pub offload: String,
}

fn command_line(program: &str, args: &[&str]) -> String {
    let out = std::process::Command::new(program).args(args).output();
    out.ok()
        .map(|o| {
            let text = if o.stdout.is_empty() { o.stderr } else { o.stdout };
            String::from_utf8_lossy(&text).lines().next().unwrap_or("").trim().to_owned()
        })
        .unwrap_or_default()
}

impl Meta {
    /// Reads the facts (best effort: unknown ones stay empty).
    #[must_use]
    pub fn collect(opts: &Options) -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu = cpuinfo
            .lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split_once(':'))
            .map_or(String::new(), |(_, v)| v.trim().to_owned());
        let load = std::fs::read_to_string("/proc/loadavg")
            .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
            .unwrap_or_default();
        let tayga = std::process::Command::new("dpkg-query").args(["-W", "-f", "${Version}", "tayga"]).output();
        let tayga = tayga.ok().map(|o| String::from_utf8_lossy(&o.stdout).into_owned()).unwrap_or_default();
        let t = &opts.translators;
        let knows = |bin: &std::path::Path| {
            let help = std::process::Command::new(bin).args(["run", "--help"]).output();
            help.is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("XLAT_OFFLOAD"))
        };
        let known = knows(&t.clat_bin) && knows(&t.plat_bin);
        let offload = match (&t.offload, known) {
            (Some(v), true) => format!("XLAT_OFFLOAD={v}"),
            (Some(v), false) => format!("XLAT_OFFLOAD={v} passed, but this build does not know it (no TUN offloads)"),
            (None, true) => "XLAT_OFFLOAD unset (the daemons' default: auto)".to_owned(),
            (None, false) => "no TUN offloads (this build has no XLAT_OFFLOAD)".to_owned(),
        };
        Self {
            date: command_line("date", &["-u", "+%Y-%m-%d %H:%M UTC"]),
            kernel: command_line("uname", &["-r"]),
            cpu,
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            load,
            commit: command_line("git", &["describe", "--always", "--dirty"]),
            tools: format!("{}, TAYGA {tayga}", command_line("iperf3", &["--version"])),
            offload,
        }
    }
}

/// `median (min–max)` of the values, scaled and with `digits` decimals.
fn cell(v: &[f64], scale: f64, digits: usize) -> String {
    if v.is_empty() {
        return "—".to_owned();
    }
    let s: Vec<f64> = v.iter().map(|x| x / scale).collect();
    let min = s.iter().copied().fold(f64::INFINITY, f64::min);
    let max = s.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if s.len() == 1 {
        format!("{:.*}", digits, s[0])
    } else {
        format!("{:.*} ({:.*}–{:.*})", digits, median(&s), digits, min, digits, max)
    }
}

/// The values of `f` over the samples of (scenario, test).
fn values(r: &Results, s: Scenario, t: Test, f: impl Fn(&Sample) -> f64) -> Vec<f64> {
    r.samples.get(&(s, t)).map(|v| v.iter().map(f).collect()).unwrap_or_default()
}

fn med(r: &Results, s: Scenario, t: Test, f: impl Fn(&Sample) -> f64) -> f64 {
    median(&values(r, s, t, f))
}

/// Datagrams received per second per translator core (the translators'
/// user + system time over the test).
fn pps_per_core(s: &Sample) -> f64 {
    if s.cpu.total() > 0.01 {
        s.value / s.cpu.total()
    } else {
        f64::NAN
    }
}

/// Added RTT of one round: the path's median RTT minus that of kernel
/// forwarding of the same family in the same round (rounds paired in
/// order).
fn added_rtt(r: &Results, s: Scenario) -> Vec<f64> {
    let base = values(r, s.ceiling(), Test::Ping, |x| x.value);
    let own = values(r, s, Test::Ping, |x| x.value);
    own.iter().zip(&base).map(|(a, b)| a - b).collect()
}

fn ratio(a: f64, b: f64) -> String {
    if a.is_finite() && b.is_finite() && b > 0.0 {
        format!("{:.2}", a / b)
    } else {
        "—".to_owned()
    }
}

/// `+0.123` (ms), or `—` when not measured.
fn signed(x: f64) -> String {
    if x.is_finite() {
        format!("{x:+.3}")
    } else {
        "—".to_owned()
    }
}

/// `met` / `not met` for `ok`, judged on `a` and `b`; `not measured`
/// when one of them is missing.
fn judge(a: f64, b: f64, ok: bool) -> &'static str {
    if a.is_finite() && b.is_finite() {
        mark(ok)
    } else {
        "not measured"
    }
}

fn mark(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "**not met**"
    }
}

/// The whole report.
#[must_use]
pub fn markdown(opts: &Options, meta: &Meta, r: &Results) -> String {
    let mut m = String::new();
    let scen: Vec<Scenario> = Scenario::ALL.into_iter().filter(|s| opts.scenarios.contains(s)).collect();
    let has = |t: Test| opts.tests.contains(&t);
    let _ = writeln!(m, "## xlat end-to-end benchmark, {}\n", meta.date);
    let _ = writeln!(
        m,
        "{} cores ({}), Linux {}, load average at start {}; tree {}; {}.  ",
        meta.cores, meta.cpu, meta.kernel, meta.load, meta.commit, meta.tools
    );
    let _ = writeln!(
        m,
        "Our daemons: XLAT_WORKERS={}, {}. {} round(s), iperf3 {} s per test (TCP: +1 s omitted), {} pings per RTT test; run took {:.0} s.\n",
        opts.translators.workers,
        meta.offload,
        opts.rounds,
        opts.secs,
        opts.pings,
        r.elapsed.as_secs_f64()
    );
    if !r.offload.is_empty() {
        let on: Vec<String> =
            r.offload.iter().map(|(name, v)| format!("{name} {}", if *v >= 1.0 { "on" } else { "off" })).collect();
        let _ = writeln!(m, "TUN offloads as the daemons reported them (`xlat_tun_offload`): {}.\n", on.join(", "));
    }
    let _ = writeln!(m, "Cells: median (min–max) over the rounds. Meaning of every column: tests/bench/README.md.\n");

    if has(Test::Tcp) || has(Test::Tcp4) || has(Test::Reverse) {
        let _ = writeln!(m, "### TCP throughput (Gbit/s, iperf3 receiver)\n");
        let _ = writeln!(m, "| path | 1 stream | 4 streams | reverse (1 stream) |");
        let _ = writeln!(m, "|---|---|---|---|");
        for &s in &scen {
            let c = |t| cell(&values(r, s, t, |x| x.value), 1e9, 2);
            let _ = writeln!(m, "| {} | {} | {} | {} |", s.label(), c(Test::Tcp), c(Test::Tcp4), c(Test::Reverse));
        }
        let _ = writeln!(m);
    }

    if has(Test::Udp) || has(Test::Ping) {
        let _ = writeln!(m, "### 64-byte UDP (36-byte payload: 64-byte IPv4 / 84-byte IPv6 packets) and ping\n");
        let _ = writeln!(
            m,
            "| path | UDP sent kpps | UDP received kpps | translator cores | received kpps per translator core | ping RTT ms | added RTT ms |"
        );
        let _ = writeln!(m, "|---|---|---|---|---|---|---|");
        for &s in &scen {
            let tr = s.translated();
            let sent = cell(&values(r, s, Test::Udp, |x| x.sent), 1e3, 0);
            let rx = cell(&values(r, s, Test::Udp, |x| x.value), 1e3, 0);
            let cores = if tr { cell(&values(r, s, Test::Udp, |x| x.cpu.total()), 1.0, 2) } else { "—".into() };
            let per_core = if tr { cell(&values(r, s, Test::Udp, pps_per_core), 1e3, 0) } else { "—".into() };
            let rtt = cell(&values(r, s, Test::Ping, |x| x.value), 1.0, 3);
            let added = if tr { cell(&added_rtt(r, s), 1.0, 3) } else { "—".into() };
            let _ = writeln!(m, "| {} | {sent} | {rx} | {cores} | {per_core} | {rtt} | {added} |", s.label());
        }
        let _ = writeln!(m);
    }

    let tests: Vec<Test> = [Test::Tcp, Test::Tcp4, Test::Reverse, Test::Udp].into_iter().filter(|t| has(*t)).collect();
    if !tests.is_empty() {
        let _ = writeln!(
            m,
            "### CPU during each test (cores, 1.00 = one core busy; medians)\n\nTranslator user + system time, its busiest thread in brackets; then the whole machine (every process, softirq included).\n"
        );
        let head: Vec<&str> = tests.iter().map(|t| t.name()).collect();
        let _ = writeln!(m, "| path | {} |", head.join(" | "));
        let _ = writeln!(m, "|---|{}", "---|".repeat(tests.len()));
        for &s in &scen {
            let cells: Vec<String> = tests
                .iter()
                .map(|&t| {
                    let host = med(r, s, t, |x| x.cpu.host);
                    if !host.is_finite() {
                        return "—".to_owned();
                    }
                    if s.translated() {
                        format!(
                            "{:.2} u + {:.2} s ({:.2}); host {:.2}",
                            med(r, s, t, |x| x.cpu.user),
                            med(r, s, t, |x| x.cpu.system),
                            med(r, s, t, |x| x.cpu.busiest_thread),
                            host
                        )
                    } else {
                        format!("host {host:.2}")
                    }
                })
                .collect();
            let _ = writeln!(m, "| {} | {} |", s.label(), cells.join(" | "));
        }
        let _ = writeln!(m);
    }

    // Ratios of the medians.
    let ours: Vec<Scenario> = scen.iter().copied().filter(|s| s.tayga().is_some()).collect();
    if !ours.is_empty() {
        let _ = writeln!(m, "### Ratios (of the medians above)\n");
        let _ = writeln!(m, "| ours | vs | TCP 1 stream | TCP 4 streams | TCP reverse | UDP received kpps | UDP kpps per translator core | added RTT ms (ours; theirs) |");
        let _ = writeln!(m, "|---|---|---|---|---|---|---|---|");
        for &s in &ours {
            for other in [s.tayga().unwrap_or(s), s.ceiling()] {
                let q = |t| ratio(med(r, s, t, |x| x.value), med(r, other, t, |x| x.value));
                let per_core = if other.translated() {
                    ratio(med(r, s, Test::Udp, pps_per_core), med(r, other, Test::Udp, pps_per_core))
                } else {
                    "—".to_owned()
                };
                let rtt = if other.translated() {
                    format!("{}; {}", signed(median(&added_rtt(r, s))), signed(median(&added_rtt(r, other))))
                } else {
                    signed(median(&added_rtt(r, s)))
                };
                let _ = writeln!(
                    m,
                    "| {} | {} | {} | {} | {} | {} | {per_core} | {rtt} |",
                    s.label(),
                    other.label(),
                    q(Test::Tcp),
                    q(Test::Tcp4),
                    q(Test::Reverse),
                    q(Test::Udp)
                );
            }
        }
        let _ = writeln!(m);
        targets(&mut m, r, &ours);
    }

    if let Some(mem) = &r.memory {
        let mb = |kb: u64| kb as f64 / 1024.0;
        let _ = writeln!(m, "### Memory\n");
        let _ = writeln!(
            m,
            "`plat` (XLAT_WORKERS={}, XLAT_MAX_SESSIONS={}) holding **{:.0} sessions** (`plat_sessions` gauge; {} asked, created by {} pass(es) of real UDP packets in {:.1} s): **VmRSS {:.1} MiB**, VmHWM {:.1} MiB; right after start, with no session, VmRSS {:.1} MiB. Target: at most 200 MB RSS: {}.\n",
            mem.workers,
            mem.max_sessions,
            mem.sessions,
            mem.target,
            mem.passes,
            mem.elapsed.as_secs_f64(),
            mb(mem.rss_kb),
            mb(mem.hwm_kb),
            mb(mem.idle_rss_kb),
            mark((mem.rss_kb as f64) * 1024.0 <= 200e6)
        );
        if mem.sessions < f64::from(mem.target) {
            let _ = writeln!(
                m,
                "(The gauge stopped short of the {} sessions asked: the figure is for fewer. The PLAT's counters: {}.)\n",
                mem.target,
                mem.refusals.join(", ")
            );
        }
    }

    if !r.errors.is_empty() {
        let _ = writeln!(m, "### Errors\n");
        for e in &r.errors {
            let line = e.lines().next().unwrap_or("");
            let _ = writeln!(m, "- {line}");
        }
        let _ = writeln!(m);
    }
    m
}

/// The issue 7 targets, each with the figures it was judged on.
fn targets(m: &mut String, r: &Results, ours: &[Scenario]) {
    let _ = writeln!(m, "### Issue 7 targets\n");
    for &s in ours.iter().filter(|s| matches!(s, Scenario::Clat | Scenario::Plat)) {
        let Some(t) = s.tayga() else { continue };
        let (a, b, k) = (
            med(r, s, Test::Tcp, |x| x.value),
            med(r, t, Test::Tcp, |x| x.value),
            med(r, s.ceiling(), Test::Tcp, |x| x.value),
        );
        if a.is_finite() {
            let _ = writeln!(
                m,
                "- TCP one stream, {}: {:.2} Gbit/s = {}x TAYGA (target 5x: {}), {:.0} % of {} (target 50 %: {})",
                s.label(),
                a / 1e9,
                ratio(a, b),
                judge(a, b, a >= 5.0 * b),
                100.0 * a / k,
                s.ceiling().label(),
                judge(a, k, a >= 0.5 * k)
            );
        }
        let (pa, pb) = (med(r, s, Test::Udp, pps_per_core), med(r, t, Test::Udp, pps_per_core));
        if pa.is_finite() {
            let _ = writeln!(
                m,
                "- 64-byte UDP, {}: {:.0} kpps per translator core = {}x TAYGA's {:.0} (target 2x: {})",
                s.label(),
                pa / 1e3,
                ratio(pa, pb),
                pb / 1e3,
                judge(pa, pb, pa >= 2.0 * pb)
            );
        }
        let (ra, rb) = (median(&added_rtt(r, s)), median(&added_rtt(r, t)));
        if ra.is_finite() {
            let _ = writeln!(
                m,
                "- added ping RTT, {}: {:+.3} ms vs TAYGA's {:+.3} ms (target: at most TAYGA's: {})",
                s.label(),
                ra,
                rb,
                judge(ra, rb, ra <= rb)
            );
        }
    }
    let _ = writeln!(m);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(&[]).is_nan());
    }

    #[test]
    fn cells_show_median_and_range() {
        assert_eq!(cell(&[1e9, 3e9, 2e9], 1e9, 2), "2.00 (1.00–3.00)");
        assert_eq!(cell(&[5e8], 1e9, 1), "0.5");
        assert_eq!(cell(&[], 1.0, 1), "—");
    }
}
