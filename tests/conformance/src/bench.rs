//! Speed: comidl against widl doing the same work, both given widl's command line
//! (`--nostdinc -m64 -I ... -h -o HEADER FILE`: read the file and its imports, write the C
//! header), over the files widl accepts, one process per file and one at a time, so neither
//! side gains from parallelism. Rounds alternate widl and comidl, and the median round of
//! each side is reported, because the machine is shared and noisy.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::Fatal;
use crate::cli::Options;
use crate::corpus::Setup;
use crate::process::ScratchDir;
use crate::widl::{header_command, widl_verdicts};

/// comidl should take at most half widl's time for the same header.
const TARGET_RATIO: f64 = 0.5;

/// One timed pass of a tool over all files.
struct Round {
    wall: Duration,
    /// Files the tool did not accept (exit non-zero or could not start).
    rejected: usize,
}

pub fn run(opts: &Options, setup: &Setup) -> Result<u8, Fatal> {
    let scratch = ScratchDir::new("comidl-bench")
        .map_err(|e| Fatal::Setup(format!("cannot create a scratch directory: {e}")))?;
    // Which files widl accepts is settled first, in parallel and untimed.
    let verdicts = widl_verdicts(setup, crate::job_count(opts), opts.timeout, &scratch)?;
    let files: Vec<PathBuf> = setup
        .files
        .iter()
        .zip(&verdicts)
        .filter(|(_, verdict)| verdict.accepts())
        .map(|(rel, _)| setup.file_path(rel))
        .collect();
    if files.is_empty() {
        return Err(Fatal::Setup("widl accepts none of the files".to_string()));
    }
    out!(
        "bench: `-h -o HEADER` (the C header written) on the {} files widl accepts, one process per file, sequential, median of {} rounds",
        files.len(),
        opts.repeat
    );

    let header = scratch.path().join("bench.h");
    let (mut widl_rounds, mut comidl_rounds) = (Vec::new(), Vec::new());
    for _ in 0..opts.repeat {
        for (tool, rounds) in [
            (&setup.widl, &mut widl_rounds),
            (&setup.comidl, &mut comidl_rounds),
        ] {
            rounds.push(time_round(&files, &header, |f| {
                header_command(tool, setup, f, &header)
            }));
        }
    }
    let widl = print_side("widl", &widl_rounds, files.len());
    let comidl = print_side("comidl", &comidl_rounds, files.len());
    if widl.is_zero() {
        out!("ratio comidl/widl: n/a (widl took no time)");
    } else {
        let ratio = comidl.as_secs_f64() / widl.as_secs_f64();
        let verdict = if ratio <= TARGET_RATIO {
            "met"
        } else {
            "missed"
        };
        out!("ratio comidl/widl: {ratio:.3} (target <= {TARGET_RATIO}: {verdict})");
    }
    Ok(0)
}

/// Runs `command(file)` for each file in turn and times the whole pass. A file counts as
/// done only when the tool exits 0 and the header is there.
/// No timeout: a blocking wait keeps the timing exact; run the conformance
/// stage first to catch hangs.
fn time_round(files: &[PathBuf], header: &Path, command: impl Fn(&Path) -> Command) -> Round {
    let mut rejected = 0;
    let mut wall = Duration::ZERO;
    for file in files {
        let _ = std::fs::remove_file(header);
        let start = Instant::now();
        let status = command(file)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        wall += start.elapsed();
        let wrote = std::fs::metadata(header).is_ok_and(|m| m.len() > 0);
        if !(status.is_ok_and(|s| s.success()) && wrote) {
            rejected += 1;
        }
    }
    Round { wall, rejected }
}

/// Prints one side's median and rounds; returns the median.
fn print_side(name: &str, rounds: &[Round], files: usize) -> Duration {
    let walls: Vec<Duration> = rounds.iter().map(|r| r.wall).collect();
    let median = median(&walls);
    let all: Vec<String> = walls
        .iter()
        .map(|w| format!("{:.3}", w.as_secs_f64()))
        .collect();
    out!(
        "{name:<7} {:.3} s  (rounds: {} s)",
        median.as_secs_f64(),
        all.join(", ")
    );
    // A tool that bails out early looks fast; say so next to its time.
    let rejected = rounds.iter().map(|r| r.rejected).max().unwrap_or(0);
    if rejected > 0 {
        out!(
            "note: {name} did not accept {rejected} of {files} files, so its time is not a full check"
        );
    }
    median
}

/// The middle value (the upper middle for an even count).
fn median(values: &[Duration]) -> Duration {
    let mut sorted = values.to_vec();
    sorted.sort();
    sorted.get(sorted.len() / 2).copied().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_rounds() {
        let ms = |list: &[u64]| {
            list.iter()
                .map(|&m| Duration::from_millis(m))
                .collect::<Vec<_>>()
        };
        assert_eq!(median(&ms(&[30, 10, 20])), Duration::from_millis(20));
        assert_eq!(median(&ms(&[5])), Duration::from_millis(5));
        assert_eq!(median(&[]), Duration::ZERO);
    }
}
