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
    parse_reporting(args, out, err, false)
}

/// [`parse`], with usage errors written as one JSON object (`{"error": …, "exit_code": 2}`)
/// when `json_errors` is set (a command line that asked for `--json`).
pub fn parse_reporting<C: clap::Parser>(
    args: Vec<String>,
    out: &mut dyn Write,
    err: &mut dyn Write,
    json_errors: bool,
) -> Result<C, i32> {
    C::try_parse_from(args).map_err(|e| {
        let code = e.exit_code();
        let text = e.render().to_string();
        let text = text.trim_end();
        if code == 0 {
            let _ = writeln!(out, "{text}");
        } else if json_errors {
            let _ = writeln!(err, "{}", json_error(text, code));
        } else {
            let _ = writeln!(err, "{text}");
        }
        code
    })
}

/// The JSON form of an error message: `{"error": "...", "exit_code": N}` on one line.
pub fn json_error(message: &str, exit_code: i32) -> String {
    serde_json::json!({ "error": message, "exit_code": exit_code }).to_string()
}

/// Whether a command line asks for `--json` (before any `--`), so that even an error while
/// parsing it can be reported in JSON.
pub fn wants_json(args: &[String]) -> bool {
    args.iter()
        .skip(1)
        .take_while(|a| *a != "--")
        .any(|a| a == "--json")
}

/// The commands and arguments of `cmd` (recursively) that have no help text, as
/// `" sogs room add <token>"`-style paths; `--help`/`--version` are clap's own.
pub fn undocumented(cmd: &clap::Command) -> Vec<String> {
    fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
        let path = format!("{path} {}", cmd.get_name());
        if cmd.get_about().is_none() {
            missing.push(path.clone());
        }
        for arg in cmd.get_arguments() {
            let id = arg.get_id().as_str();
            if id != "help" && id != "version" && arg.get_help().is_none() {
                missing.push(format!("{path} <{id}>"));
            }
        }
        for sub in cmd.get_subcommands() {
            walk(sub, &path, missing);
        }
    }
    let mut missing = Vec::new();
    walk(cmd, "", &mut missing);
    missing
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
    fn undocumented_arguments_are_found() {
        let cmd = <Demo as clap::CommandFactory>::command();
        let n = cmd.get_name().to_owned();
        assert_eq!(
            undocumented(&cmd),
            vec![
                format!(" {n}"),
                format!(" {n} <mode>"),
                format!(" {n} <room>")
            ]
        );
    }

    #[test]
    fn json_usage_errors() {
        let argv: Vec<String> = ["demo", "--json", "--mode", "shout"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert!(wants_json(&argv));
        assert!(!wants_json(&["demo".into(), "--".into(), "--json".into()]));
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let r = parse_reporting::<Demo>(argv, &mut out, &mut err, true);
        assert_eq!(r.unwrap_err(), 2);
        let v: serde_json::Value = serde_json::from_slice(&err).unwrap();
        assert_eq!(v["exit_code"], 2);
        assert!(v["error"].as_str().unwrap().starts_with("error: "), "{v}");
        assert_eq!(err.iter().filter(|&&b| b == b'\n').count(), 1);
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
