//! The CLAT's and the PLAT's `/metrics` (Prometheus text exposition
//! format) and `/healthz`, fetched over plain HTTP/1.0 from inside a
//! namespace, as the routers would scrape them.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use anyhow::{bail, Context as _, Result};

use crate::netns::Netns;

/// Connect, read and write timeout of one request.
const HTTP_TIMEOUT: Duration = Duration::from_secs(3);
/// The largest response read.
const MAX_RESPONSE: u64 = 4 << 20;

/// `GET path` from `addr`, with the socket opened inside `ns`. Returns the
/// status code and the body.
pub fn http_get(ns: &Netns, addr: SocketAddr, path: &str) -> Result<(u16, String)> {
    let stream = ns
        .enter(|| Ok(TcpStream::connect_timeout(&addr, HTTP_TIMEOUT)?))
        .with_context(|| format!("connecting to {addr}"))?;
    let mut stream = stream;
    stream.set_read_timeout(Some(HTTP_TIMEOUT))?;
    stream.set_write_timeout(Some(HTTP_TIMEOUT))?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\nConnection: close\r\n\r\n")?;
    let mut raw = Vec::new();
    stream.take(MAX_RESPONSE).read_to_end(&mut raw).with_context(|| format!("reading http://{addr}{path}"))?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .lines()
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .with_context(|| format!("no HTTP status line from http://{addr}{path}: {head:?}"))?;
    Ok((status, body.to_owned()))
}

/// One sample: the series (name with its labels, as exposed) and its value.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Metric name with labels, e.g. `xlat_packets_total{dir="4to6"}`.
    pub series: String,
    /// The value.
    pub value: f64,
}

impl Sample {
    /// The metric name without labels.
    #[must_use]
    pub fn name(&self) -> &str {
        self.series.split('{').next().unwrap_or(&self.series)
    }
}

/// A scrape of `/metrics`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Metrics {
    /// Every sample, in exposition order.
    pub samples: Vec<Sample>,
}

impl Metrics {
    /// Parses the Prometheus text format (comments skipped; timestamps
    /// ignored).
    pub fn parse(text: &str) -> Result<Self> {
        let mut samples = Vec::new();
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
            // The series may contain spaces inside label values: split at
            // the closing brace if there is one.
            let (series, rest) = match line.rfind('}') {
                Some(i) => (&line[..=i], line[i + 1..].trim()),
                None => line.split_once(char::is_whitespace).map(|(a, b)| (a, b.trim())).unwrap_or((line, "")),
            };
            let value = rest.split_whitespace().next().context("no value")?;
            let value = match value {
                "+Inf" => f64::INFINITY,
                "-Inf" => f64::NEG_INFINITY,
                v => v.parse().with_context(|| format!("bad value in metrics line {line:?}"))?,
            };
            samples.push(Sample { series: series.to_owned(), value });
        }
        if samples.is_empty() {
            bail!("no samples in /metrics");
        }
        Ok(Self { samples })
    }

    /// The value of the series spelled exactly `series`.
    #[must_use]
    pub fn get(&self, series: &str) -> Option<f64> {
        self.samples.iter().find(|s| s.series == series).map(|s| s.value)
    }

    /// The sum over every series of metric `name` (all label values).
    #[must_use]
    pub fn sum(&self, name: &str) -> f64 {
        self.samples.iter().filter(|s| s.name() == name).map(|s| s.value).sum()
    }

    /// The samples whose value is not zero.
    pub fn nonzero(&self) -> impl Iterator<Item = &Sample> {
        self.samples.iter().filter(|s| s.value != 0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_exposition_text() {
        let text = "# HELP xlat_packets_total Packets.\n# TYPE xlat_packets_total counter\n\
                    xlat_packets_total{dir=\"4to6\"} 12\nxlat_packets_total{dir=\"6to4\"} 10 1700000000\n\
                    xlat_drops_total{reason=\"a b\"} 0\nup 1\n";
        let m = Metrics::parse(text).unwrap();
        assert_eq!(m.samples.len(), 4);
        assert_eq!(m.get("xlat_packets_total{dir=\"6to4\"}"), Some(10.0));
        assert_eq!(m.sum("xlat_packets_total"), 22.0);
        assert_eq!(m.nonzero().count(), 3);
        assert_eq!(m.samples[2].name(), "xlat_drops_total");
    }

    #[test]
    fn empty_scrape_is_an_error() {
        assert!(Metrics::parse("# nothing\n").is_err());
    }
}
