//! Email commands: the `#close`, `#assign bob`, `#time 45m` ... lines a trusted staff member
//! writes at the start of a mail (docs/message-handling.md, issue "know who answered"), parsed into the same
//! actions the shell offers.
//!
//! Pure parsing: it never applies anything and never decides trust — ingest applies commands
//! only from trusted staff mail, in the message's transaction.

use crate::rules::Priority;

/// A staff action on one ticket: what an email command or a shell command asks for. Applied
/// by `crate::actions`.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    Close,
    Reopen,
    /// Waiting on the customer; with WHEN, until then (a snooze).
    Wait(Option<String>),
    /// A resolution time promised to the customer: WHEN as typed.
    Eta(String),
    Priority(Priority),
    Note(String),
    Assign(String),
    Department(String),
    /// Minutes of work logged.
    Time(i64),
    /// Merge this ticket into the one given.
    Merge(i64),
    /// The requester corrected (a forward whose sender could not be read).
    Requester(String),
}

/// What the command lines at the start of a mail say.
#[derive(Debug, Default, PartialEq)]
pub struct Commands {
    pub actions: Vec<Action>,
    /// The line each action was written as, in the same order.
    pub lines: Vec<String>,
    /// Lines that looked like commands but are not valid: (line, why).
    pub invalid: Vec<(String, String)>,
    /// Whether anything but commands (and quoted history) is left: a note with only commands
    /// is not a response to the customer.
    pub has_other_text: bool,
}

/// Reads the command lines at the start of `text` (the new text of a mail, without quoted
/// history): blank lines are skipped, the first line that is not a command ends them.
pub fn parse(text: &str) -> Commands {
    let mut out = Commands::default();
    let mut lines = text.lines().map(str::trim).skip_while(|l| l.is_empty()).peekable();
    while let Some(line) = lines.peek().copied() {
        if line.is_empty() {
            lines.next();
            continue;
        }
        let Some(command) = line.strip_prefix('#') else { break };
        // "#123" or "# heading" is text, not a command.
        if !command.starts_with(|c: char| c.is_ascii_alphabetic()) {
            break;
        }
        lines.next();
        match parse_line(command) {
            Ok(action) => {
                out.actions.push(action);
                out.lines.push(line.to_string());
            }
            Err(why) => out.invalid.push((line.to_string(), why)),
        }
    }
    out.has_other_text = lines.any(|l| !l.is_empty());
    out
}

fn parse_line(command: &str) -> Result<Action, String> {
    let (verb, rest) = command.split_once(char::is_whitespace).unwrap_or((command, ""));
    let rest = rest.trim();
    let no_argument = |action: Action| {
        if rest.is_empty() {
            Ok(action)
        } else {
            Err(format!("#{verb} takes no argument"))
        }
    };
    match verb.to_ascii_lowercase().as_str() {
        "close" => no_argument(Action::Close),
        "reopen" => no_argument(Action::Reopen),
        "waiting" | "wait" => Ok(Action::Wait((!rest.is_empty()).then(|| rest.to_string()))),
        "eta" if !rest.is_empty() => Ok(Action::Eta(rest.to_string())),
        "eta" => Err("#eta needs a time: #eta 2026-11-27, #eta 2026-11-27T15:00:00+01:00 or #eta 2d".into()),
        "assign" if !rest.is_empty() => Ok(Action::Assign(rest.to_string())),
        "assign" => Err("#assign needs an agent: #assign bob".into()),
        "priority" => Priority::parse(rest)
            .map(Action::Priority)
            .ok_or_else(|| format!("unknown priority {rest:?}: use urgent, high, normal or low")),
        "department" if !rest.is_empty() => Ok(Action::Department(rest.to_string())),
        "department" => Err("#department needs a name: #department billing".into()),
        "time" => parse_minutes(rest).map(Action::Time),
        "merge" => rest
            .trim_start_matches('#')
            .parse::<i64>()
            .map(Action::Merge)
            .map_err(|_| format!("#merge needs a ticket number: #merge 123, not {rest:?}")),
        "requester" if !rest.is_empty() => Ok(Action::Requester(rest.to_string())),
        "requester" => Err("#requester needs an address: #requester anna@customer.test".into()),
        "note" if !rest.is_empty() => Ok(Action::Note(rest.to_string())),
        "note" => Err("#note needs a text: #note called the customer".into()),
        other => Err(format!(
            "unknown command #{other}: use #close, #reopen, #waiting, #assign, #priority, #department, #time, #merge, #requester, #eta or #note"
        )),
    }
}

pub use crate::config::parse_minutes;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_at_the_start_only() {
        let c = parse("\n#assign bob\n#priority high\n#time 1h30m\n\nThanks, I'll look at it.\n#close\n");
        assert_eq!(c.actions, vec![Action::Assign("bob".into()), Action::Priority(Priority::High), Action::Time(90)]);
        assert!(c.has_other_text);
        let only = parse("#close\n#note called them, all fine\n");
        assert_eq!(only.actions, vec![Action::Close, Action::Note("called them, all fine".into())]);
        assert!(!only.has_other_text);
        assert_eq!(parse("Hello,\n#close\n").actions, vec![]);
        assert_eq!(parse("#1 is the problem").actions, vec![]);
    }

    #[test]
    fn every_command_and_its_mistakes() {
        let c = parse(
            "#waiting\n#reopen\n#department billing\n#merge 123\n#merge #7\n#priority sky-high\n#frobnicate\n#assign\n#time soon\n#close now\n#waiting 2d\n#eta 2026-11-27\n#eta",
        );
        assert_eq!(
            c.actions,
            vec![
                Action::Wait(None),
                Action::Reopen,
                Action::Department("billing".into()),
                Action::Merge(123),
                Action::Merge(7),
                Action::Wait(Some("2d".into())),
                Action::Eta("2026-11-27".into()),
            ]
        );
        let why: Vec<&str> = c.invalid.iter().map(|(_, w)| w.as_str()).collect();
        assert_eq!(why.len(), 6, "{why:?}");
        assert!(why[5].contains("#eta needs a time"));
        assert!(why[0].contains("unknown priority"));
        assert!(why[1].contains("unknown command #frobnicate"));
        assert!(why[4].contains("takes no argument"));
    }

    #[test]
    fn durations() {
        for (text, minutes) in [("45m", 45), ("1h30m", 90), ("2h", 120), ("90", 90), ("1.5h", 90), ("1h 15m", 75)] {
            assert_eq!(parse_minutes(text), Ok(minutes), "{text}");
        }
        for bad in ["", "0", "-5", "soon", "5x", "h", "100000h"] {
            assert!(parse_minutes(bad).is_err(), "{bad}");
        }
    }
}
