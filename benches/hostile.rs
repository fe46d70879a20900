//! Hostile mail through `ticketd::parse::parse` (docs/message-handling.md "Hostile and broken input", issue 17):
//! each case is built here, parsed several times, and reported with its wall and CPU time per
//! message and the process's peak RSS while it ran (VmHWM, reset before each case where the
//! kernel allows), beside a normal corpus message as the baseline.
//!
//! Figures to reach: every case under 2 s of CPU and 100 MB peak RSS. Runs on a thread with the
//! default 2 MiB stack, like the daemon's.
//!
//! cargo bench --bench hostile              (all cases)
//! cargo bench --bench hostile -- reply     (only the cases whose name contains "reply")

use std::path::PathBuf;
use std::time::{Duration, Instant};

/// A message/rfc822 part whose body is the next message, `levels` deep (~86 bytes a level).
fn nested_rfc822(levels: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(levels * 90);
    for i in 0..levels {
        out.extend_from_slice(
            format!(
                "From: a{i}@example.test\r\nTo: b@example.test\r\nSubject: level {i}\r\n\
Content-Type: message/rfc822\r\n\r\n"
            )
            .as_bytes(),
        );
    }
    out.extend_from_slice(b"From: x@example.test\r\nSubject: bottom\r\n\r\nthe innermost text\r\n");
    out
}

/// multipart/mixed inside multipart/mixed, `levels` deep, each level closed properly.
fn nested_multipart(levels: usize) -> Vec<u8> {
    let mut out = b"From: a@example.test\r\nTo: support@example.test\r\nSubject: deep multipart\r\n\
Message-ID: <deep-multipart@example.test>\r\nMIME-Version: 1.0\r\n"
        .to_vec();
    for i in 0..levels {
        out.extend_from_slice(format!("Content-Type: multipart/mixed; boundary=\"b{i}\"\r\n\r\n--b{i}\r\n").as_bytes());
    }
    out.extend_from_slice(b"Content-Type: text/plain\r\n\r\nthe innermost text\r\n");
    for i in (0..levels).rev() {
        out.extend_from_slice(format!("--b{i}--\r\n").as_bytes());
    }
    out
}

/// About `bytes` of multipart parts that each declare a multipart boundary that never comes: the
/// parser searches the rest of the message for each, in vain.
fn missing_boundaries(bytes: usize) -> Vec<u8> {
    let mut out = b"From: a@example.test\r\nTo: support@example.test\r\nSubject: lost boundaries\r\n\
Message-ID: <lost@example.test>\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n"
        .to_vec();
    let mut i = 0;
    while out.len() < bytes {
        out.extend_from_slice(
            format!("--b\r\nContent-Type: multipart/mixed; boundary=\"never{i}\"\r\n\r\nx\r\n").as_bytes(),
        );
        i += 1;
    }
    out.extend_from_slice(b"--b--\r\n");
    out
}

/// A Content-Type field of about `bytes` bytes of RFC 2231 continuations: mail-parser reads them
/// in quadratic time.
fn long_content_type(bytes: usize) -> Vec<u8> {
    let mut out = b"From: a@example.test\r\nTo: support@example.test\r\nSubject: parameters\r\n\
Message-ID: <parameters@example.test>\r\nContent-Type: text/plain; charset=utf-8"
        .to_vec();
    while out.len() < bytes {
        out.extend_from_slice(b"; name*1*=%FF");
    }
    out.extend_from_slice(b"\r\n\r\nbody\r\n");
    out
}

/// About `bytes` of plain text where each quoted ("> ...") line follows two new ones: quoted lines
/// all through, never the majority of what follows them, the input that made reply extraction
/// quadratic (each quoted line counted everything after it).
fn reply_text(bytes: usize) -> Vec<u8> {
    let mut out = b"From: a@example.test\r\nTo: support@example.test\r\nSubject: Re: long thread\r\n\
Message-ID: <long-reply@example.test>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        .to_vec();
    let mut i = 0;
    while out.len() < bytes {
        out.extend_from_slice(format!("new {i}\r\nok\r\n> old\r\n").as_bytes());
        i += 1;
    }
    out
}

/// An HTML-only message of `levels` nested <div> elements.
fn nested_divs(levels: usize) -> Vec<u8> {
    let mut out = b"From: a@example.test\r\nTo: support@example.test\r\nSubject: deep html\r\n\
Message-ID: <deep-html@example.test>\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><body>"
        .to_vec();
    out.extend(std::iter::repeat_n(&b"<div>"[..], levels).flatten());
    out.extend_from_slice(b"the innermost text");
    out.extend(std::iter::repeat_n(&b"</div>"[..], levels).flatten());
    out.extend_from_slice(b"</body></html>\r\n");
    out
}

/// A text body of one line of `bytes` bytes, no line break anywhere.
fn single_line(bytes: usize) -> Vec<u8> {
    let mut out = b"From: a@example.test\r\nTo: support@example.test\r\nSubject: one line\r\n\
Message-ID: <one-line@example.test>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        .to_vec();
    let words = b"word > -- From: =?x?q? ";
    while out.len() < bytes {
        out.extend_from_slice(words);
    }
    out
}

/// A Subject header of about `bytes` bytes made of encoded words that never end (the parser's
/// result shows U+FFFD, so ticketd decodes it again).
fn long_subject(bytes: usize) -> Vec<u8> {
    let mut out = b"From: a@example.test\r\nTo: support@example.test\r\nMessage-ID: <subject@example.test>\r\n\
Subject: =?utf-8?q?=FF?= "
        .to_vec();
    while out.len() < bytes {
        out.extend_from_slice(b"=?a?q?x ");
    }
    out.extend_from_slice(b"\r\n\r\nbody\r\n");
    out
}

fn corpus_message(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/corpus").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Peak resident set size of this process, from /proc/self/status, in MB.
fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// Resets the peak RSS to the current RSS (Linux ≥ 4.0); false where not allowed.
fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// User + system CPU time of this process, from /proc/self/stat (clock ticks of 10 ms).
fn cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The fields after the command name, which is in parentheses and may hold spaces.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // sysconf(_SC_CLK_TCK) is 100 on every Linux this runs on.
    Some(Duration::from_millis(ticks * 10))
}

struct Figure {
    name: &'static str,
    bytes: usize,
    runs: u32,
    wall: Duration,
    cpu: Option<Duration>,
    peak_mb: Option<f64>,
    flags: Vec<String>,
}

/// Parses `raw` up to `max_runs` times (fewer once 10 s are spent) and reports the mean per message.
fn measure(name: &'static str, raw: &[u8], max_runs: u32) -> Figure {
    let peak_reset = reset_peak_rss();
    let cpu_start = cpu_time();
    let start = Instant::now();
    let mut runs = 0;
    let mut flags = Vec::new();
    while runs < max_runs && (runs == 0 || start.elapsed() < Duration::from_secs(10)) {
        let m = ticketd::parse::parse(std::hint::black_box(raw));
        flags = m.flags.clone();
        runs += 1;
    }
    let wall = start.elapsed() / runs;
    let cpu = cpu_start.zip(cpu_time()).map(|(a, b)| b.saturating_sub(a) / runs);
    let peak_mb = if peak_reset { peak_rss_mb() } else { None };
    Figure { name, bytes: raw.len(), runs, wall, cpu, peak_mb, flags }
}

fn main() {
    // On a spawned thread with the default 2 MiB stack, as in the daemon (the main thread has 8 MiB
    // and hides a stack overflow that the daemon's threads meet).
    std::thread::spawn(run).join().expect("the benchmark thread");
}

fn run() {
    let filters: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let wanted = |name: &str| filters.is_empty() || filters.iter().any(|f| name.contains(f.as_str()));

    let baseline_raw = corpus_message("reply-gmail-en.eml");
    let baseline = measure("baseline: corpus reply-gmail-en.eml", &baseline_raw, 2000);

    type Build = fn() -> Vec<u8>;
    let cases: [(&'static str, Build); 8] = [
        ("nested message/rfc822, 35,000 levels", || nested_rfc822(35_000)),
        ("nested multipart, 35,000 levels", || nested_multipart(35_000)),
        ("reply text 1 MB, > line every third", || reply_text(1 << 20)),
        ("nested <div>, 100,000 levels", || nested_divs(100_000)),
        ("single line 1 MB", || single_line(1 << 20)),
        ("subject 1 MB of broken encoded words", || long_subject(1 << 20)),
        ("multipart, 1 MB of boundaries never found", || missing_boundaries(1 << 20)),
        ("Content-Type, 1 MB of RFC 2231 params", || long_content_type(1 << 20)),
    ];
    let mut figures = vec![baseline];
    for (name, build) in cases {
        if !wanted(name) {
            continue;
        }
        let raw = build();
        figures.push(measure(name, &raw, 5));
    }

    let base_wall = figures[0].wall.as_secs_f64();
    println!(
        "{:<40} {:>9} {:>5} {:>11} {:>11} {:>9} {:>9}  flags",
        "case", "bytes", "runs", "wall/msg", "cpu/msg", "× base", "peak RSS"
    );
    for f in &figures {
        let cpu = f.cpu.map(|c| format!("{:.3} ms", c.as_secs_f64() * 1e3)).unwrap_or_else(|| "?".into());
        let peak = f.peak_mb.map(|p| format!("{p:.1} MB")).unwrap_or_else(|| "?".into());
        println!(
            "{:<40} {:>9} {:>5} {:>8.3} ms {:>11} {:>9.0} {:>9}  {}",
            f.name,
            f.bytes,
            f.runs,
            f.wall.as_secs_f64() * 1e3,
            cpu,
            f.wall.as_secs_f64() / base_wall,
            peak,
            f.flags.join(",")
        );
    }
    println!("process peak RSS (VmHWM): {:.1} MB", peak_rss_mb().unwrap_or(f64::NAN));
}
