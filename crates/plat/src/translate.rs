//! `plat translate`: every IP packet of a capture file through the PLAT
//! pipeline ([`crate::engine`]) with one NAT64 state, the capture's
//! timestamps as the clock (sessions expire, held SYNs time out into ICMP
//! errors as the capture's time passes); everything it emits goes to a
//! raw-IP pcap, in order, with the timestamp of the packet that caused it.

use std::collections::BTreeMap;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use xlat_core::{Counters, DropReason, OUT_BUF_LEN};
use xlat_nat64::{Nat64Drop, Stats, Timestamp};
use xlat_pcap::capture::{Capture, Output};
use xlat_pcap::{describe, link};
use xlat_tun::Processed;

use crate::cli::TranslateArgs;
use crate::engine::{Engine, Shared};
use crate::settings::PlatSettings;

/// A fixed Identification seed: the same capture gives the same output.
const ID_SEED: u32 = 0x2545_f491;

/// Runs `plat translate` with validated settings.
pub(crate) fn run(args: &TranslateArgs, settings: PlatSettings) -> anyhow::Result<()> {
    let input = args.input.display();
    let mut capture = Capture::open(&args.input)?;
    if is_same_file(&args.input, &args.output) {
        anyhow::bail!("--out {} is the input file: it would be truncated while read", args.output.display());
    }
    let mut output = Output::create(&args.output, capture.ts_resolution())?;
    let mut settings = settings;
    // Reproducible port choices for the same capture and settings.
    settings.nat64.seed = 0x6146;
    let shared = Arc::new(Shared::new(&settings, 1)?);
    let resolved = settings.translator.clone().validate()?;
    let mut engine = Engine::new(Arc::clone(&shared), resolved, ID_SEED);
    let mut out = vec![0u8; OUT_BUF_LEN];
    let mut stdout = BufWriter::new(std::io::stdout().lock());
    let mut skipped: BTreeMap<String, u64> = BTreeMap::new();
    let mut frames = 0u64;

    while let Some(frame) = capture.next_frame() {
        frames += 1;
        let frame = frame.with_context(|| format!("{input}: frame {frames}"))?;
        let ip = match link::ip_packet(frame.link, frame.data) {
            Ok(ip) => ip,
            Err(skip) => {
                *skipped.entry(skip.to_string()).or_default() += 1;
                if !args.quiet {
                    writeln!(stdout, "{frames:>5} skipped: {skip}").context("cannot write to stdout")?;
                }
                continue;
            }
        };
        let now = Timestamp::from(frame.timestamp);
        let before = (engine.translator().counters().clone(), shared.nat.stats());
        let mut lines = Vec::new();
        let verdict = engine.process(now, ip, &mut out);
        for packet in verdict.packets(&out) {
            output.write(frame.timestamp, packet).with_context(|| format!("{}", args.output.display()))?;
            lines.push(describe::packet(packet));
        }
        let mut originated = Vec::new();
        loop {
            let v = engine.poll_transmit(now, &mut out);
            if v == Processed::Nothing {
                break;
            }
            for packet in v.packets(&out) {
                output.write(frame.timestamp, packet).with_context(|| format!("{}", args.output.display()))?;
                originated.push(describe::packet(packet));
            }
        }
        if !args.quiet {
            let why = dropped(&before, engine.translator().counters(), &shared.nat.stats());
            let result = match (why, lines.is_empty()) {
                (Some(why), true) => why,
                (Some(why), false) => format!("{why}, answered {}", lines.join(" | ")),
                (None, true) => "held (a fragment before its first, see the summary)".into(),
                (None, false) => lines.join(" | "),
            };
            writeln!(stdout, "{frames:>5} {} -> {result}", describe::packet(ip)).context("cannot write to stdout")?;
            for o in originated {
                writeln!(stdout, "      and originated {o}").context("cannot write to stdout")?;
            }
        }
    }
    let written = output.written();
    output.finish().with_context(|| format!("{}", args.output.display()))?;
    let summary = Summary {
        frames,
        skipped: &skipped,
        written,
        counters: engine.translator().counters(),
        nat: &shared.nat.stats(),
    };
    summary.print(&mut stdout, &args.output.display().to_string()).context("cannot write to stdout")?;
    stdout.flush().context("cannot write to stdout")
}

/// Why a packet was not translated: the counter that moved, if any.
fn dropped(before: &(Counters, Stats), after: &Counters, nat: &Stats) -> Option<String> {
    if let Some(r) = DropReason::ALL.iter().find(|r| after.drops(**r) > before.0.drops(**r)) {
        return Some(format!("dropped: {}", r.label()));
    }
    if let Some(r) = Nat64Drop::ALL.iter().find(|r| nat.drops(**r) > before.1.drops(**r)) {
        return Some(format!("refused by the NAT64: {}", r.label()));
    }
    (nat.held_syns > before.1.held_syns).then(|| "held (RFC 6146 §3.5.2.2 unsolicited SYN)".into())
}

/// Whether `a` and `b` name the same existing file.
fn is_same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// The final report.
struct Summary<'a> {
    frames: u64,
    skipped: &'a BTreeMap<String, u64>,
    written: u64,
    counters: &'a Counters,
    nat: &'a Stats,
}

impl Summary<'_> {
    fn print(&self, w: &mut impl Write, output: &str) -> std::io::Result<()> {
        let c = self.counters;
        let skipped: u64 = self.skipped.values().sum();
        writeln!(
            w,
            "summary: {} frames read, {skipped} skipped, {} packets written to {output}",
            self.frames, self.written
        )?;
        for (reason, n) in self.skipped {
            writeln!(w, "  skipped {reason}: {n}")?;
        }
        writeln!(w, "  ipv4->ipv6: {} packets, {} bytes", c.v4_to_v6_packets, c.v4_to_v6_bytes)?;
        writeln!(w, "  ipv6->ipv4: {} packets, {} bytes", c.v6_to_v4_packets, c.v6_to_v4_bytes)?;
        let n = self.nat;
        writeln!(
            w,
            "  nat64: {} BIB entries and {} sessions created, {} sessions expired, {} live",
            n.bib_created,
            n.sessions_created,
            n.sessions_expired,
            n.total_sessions()
        )?;
        for (name, v) in [
            ("fragmented", c.fragmented),
            ("icmpv4 errors sent", c.icmp4_errors_sent),
            ("icmpv6 errors sent", c.icmp6_errors_sent),
            ("held syns", n.held_syns),
        ] {
            if v != 0 {
                writeln!(w, "  {name}: {v}")?;
            }
        }
        for reason in DropReason::ALL {
            let v = c.drops(*reason);
            if v != 0 {
                writeln!(w, "  dropped {}: {v}", reason.label())?;
            }
        }
        for reason in Nat64Drop::ALL {
            let v = n.drops(*reason);
            if v != 0 {
                writeln!(w, "  refused {}: {v}", reason.label())?;
            }
        }
        Ok(())
    }
}
