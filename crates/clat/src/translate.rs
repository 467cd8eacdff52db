//! `clat translate`: every IP packet of a capture file through one
//! translator, everything it emits into a raw-IP pcap.

use std::collections::BTreeMap;
use std::io::{BufWriter, Write};
use std::path::Path;

use anyhow::Context;
use xlat_core::{Counters, DropReason, Resolved, Translator, OUT_BUF_LEN};

use xlat_pcap::capture::{Capture, Output};
use xlat_pcap::{describe, link};

use crate::cli::TranslateArgs;

/// Frames that were not translated, by why.
#[derive(Debug, Default)]
struct Skipped {
    by_reason: BTreeMap<String, u64>,
}

/// Runs `clat translate` with a validated configuration.
pub(crate) fn run(args: &TranslateArgs, cfg: Resolved) -> anyhow::Result<()> {
    let input = args.input.display();
    let mut capture = Capture::open(&args.input)?;
    if is_same_file(&args.input, &args.output) {
        anyhow::bail!("--out {} is the input file: it would be truncated while read", args.output.display());
    }
    let mut output = Output::create(&args.output, capture.ts_resolution())?;
    let mut translator = Translator::from_resolved(cfg);
    let mut out = vec![0u8; OUT_BUF_LEN];
    let mut stdout = BufWriter::new(std::io::stdout().lock());
    let mut skipped = Skipped::default();
    let mut frames = 0u64;

    while let Some(frame) = capture.next_frame() {
        frames += 1;
        let frame = frame.with_context(|| format!("{input}: frame {frames}"))?;
        let ip = match link::ip_packet(frame.link, frame.data) {
            Ok(ip) => ip,
            Err(skip) => {
                *skipped.by_reason.entry(skip.to_string()).or_default() += 1;
                if !args.quiet {
                    writeln!(stdout, "{frames:>5} skipped: {skip}").context("cannot write to stdout")?;
                }
                continue;
            }
        };
        let result = translator.translate(ip, &mut out);
        if let Ok(action) = &result {
            for packet in action.packets(&out) {
                output.write(frame.timestamp, packet).with_context(|| format!("{}", args.output.display()))?;
            }
        }
        if !args.quiet {
            let line = format!("{frames:>5} {} -> {}", describe::packet(ip), describe::outcome(&result, &out));
            writeln!(stdout, "{line}").context("cannot write to stdout")?;
        }
    }
    let written = output.written();
    output.finish().with_context(|| format!("{}", args.output.display()))?;
    let summary = Summary { frames, skipped: &skipped, written, counters: translator.counters() };
    summary.print(&mut stdout, &args.output.display().to_string()).context("cannot write to stdout")?;
    stdout.flush().context("cannot write to stdout")
}

/// Whether `a` and `b` name the same existing file.
fn is_same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// The final report: frames, packets per direction, nonzero drops.
struct Summary<'a> {
    frames: u64,
    skipped: &'a Skipped,
    written: u64,
    counters: &'a Counters,
}

impl Summary<'_> {
    fn print(&self, w: &mut impl Write, output: &str) -> std::io::Result<()> {
        let c = self.counters;
        let skipped: u64 = self.skipped.by_reason.values().sum();
        writeln!(
            w,
            "summary: {} frames read, {skipped} skipped, {} packets written to {output}",
            self.frames, self.written
        )?;
        for (reason, n) in &self.skipped.by_reason {
            writeln!(w, "  skipped {reason}: {n}")?;
        }
        writeln!(w, "  ipv4->ipv6: {} packets, {} bytes", c.v4_to_v6_packets, c.v4_to_v6_bytes)?;
        writeln!(w, "  ipv6->ipv4: {} packets, {} bytes", c.v6_to_v4_packets, c.v6_to_v4_bytes)?;
        for (name, n) in [
            ("fragmented", c.fragmented),
            ("hairpinned", c.hairpinned),
            ("icmpv4 errors sent", c.icmp4_errors_sent),
            ("icmpv6 errors sent", c.icmp6_errors_sent),
        ] {
            if n != 0 {
                writeln!(w, "  {name}: {n}")?;
            }
        }
        for reason in DropReason::ALL {
            let n = c.drops(*reason);
            if n != 0 {
                writeln!(w, "  dropped {}: {n}", reason.label())?;
            }
        }
        Ok(())
    }
}
