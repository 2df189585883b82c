//! Command-line parsing shared by `sogs` and `sogs-client`: one place that turns clap's
//! outcome into output and an exit code.

use std::io::Write;

/// Parses `args` into `C`. `--help` and `--version` print to `out` and give `Err(0)`; a
/// usage error prints clap's whole message (what was wrong, the possible values, the usage
/// line and the hint) to `err` and gives `Err(2)`.
pub fn parse<C: clap::Parser>(
    args: Vec<String>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<C, i32> {
    C::try_parse_from(args).map_err(|e| {
        let code = e.exit_code();
        let text = e.render().to_string();
        let text = text.trim_end();
        if code == 0 {
            let _ = writeln!(out, "{text}");
        } else {
            let _ = writeln!(err, "{text}");
        }
        code
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[derive(Debug, clap::Parser)]
    struct Demo {
        #[arg(long, value_parser = ["quiet", "loud"])]
        mode: String,
        #[arg(long)]
        room: String,
    }

    fn run(args: &[&str]) -> (Result<Demo, i32>, String, String) {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let argv = args.iter().map(|s| s.to_string()).collect();
        let r = parse::<Demo>(argv, &mut out, &mut err);
        (
            r,
            String::from_utf8(out).unwrap(),
            String::from_utf8(err).unwrap(),
        )
    }

    #[test]
    fn usage_errors_keep_the_whole_message() {
        let (r, out, err) = run(&["demo", "--mode", "quiet"]);
        assert_eq!(r.unwrap_err(), 2);
        assert_eq!(out, "");
        assert!(
            err.starts_with("error: the following required arguments"),
            "{err}"
        );
        assert!(err.contains("--room <ROOM>"), "{err}");
        assert!(err.contains("Usage: demo"), "{err}");
        let (r, _, err) = run(&["demo", "--mode", "shout", "--room", "x"]);
        assert_eq!(r.unwrap_err(), 2);
        assert!(err.contains("[possible values: quiet, loud]"), "{err}");
        let (r, out, err) = run(&["demo", "--help"]);
        assert_eq!(r.unwrap_err(), 0);
        assert!(out.contains("--mode <MODE>") && err.is_empty(), "{out}");
        let (r, _, _) = run(&["demo", "--mode", "loud", "--room", "lobby"]);
        assert_eq!(r.unwrap().room, "lobby");
    }
}
