//! Thread: decides which ticket a message belongs to (docs/message-handling.md): the subject tag `[Prefix#ID]`
//! first, then In-Reply-To / References against every Message-ID a ticket has received or sent,
//! then a stored message whose References name this one (a reply that arrived first). A subject
//! alone never joins tickets.
//!
//! The decision is pure over a [`ThreadIndex`]; it must never write anything.

use regex::Regex;

use crate::domain::Status;
use crate::parse::ParsedMessage;
use crate::store::StoreError;

/// What threading needs to know about stored tickets.
pub trait ThreadIndex {
    /// The ticket's status and closing time, if it exists.
    fn ticket_state(&self, id: i64) -> Result<Option<(Status, Option<i64>)>, StoreError>;
    fn by_message_ids(&self, ids: &[String]) -> Result<Option<i64>, StoreError>;
    fn referencing(&self, message_id: &str) -> Result<Option<i64>, StoreError>;
    /// Whether an address is known to the ticket (docs/message-handling.md): its requester, an address of its
    /// messages, or (where the configuration allows) a colleague at the requester's domain.
    fn sender_known(&self, ticket: i64, address: &str) -> Result<bool, StoreError>;
    /// The ticket of a Message-ID ticketd itself sent (the outbox), newest reference first.
    fn by_sent_ids(&self, ids: &[String]) -> Result<Option<i64>, StoreError>;
}

/// Who a message is from, as far as threading cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sender {
    /// A customer: may reopen, or open a linked ticket.
    Customer,
    /// A customer whose From proves nothing: it claims a staff address without a trust source,
    /// or the company's MTA found the sender forged (DMARC). Never known to a ticket by its
    /// address; only a Message-ID of the conversation lets it join.
    Unproven,
    /// Trusted staff mail and ticketd's own (proven) mail: may use any tag.
    Trusted,
    /// Automatic mail: joins only by References to mail ticketd sent, never by tag.
    Automatic,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Threading {
    /// Joins an existing ticket.
    Join { ticket: i64, how: &'static str },
    /// Opens a new ticket.
    New,
    /// Opens a new ticket linked to an older one.
    NewLinked { ticket: i64, why: &'static str },
}

/// Finds subject tags like `[Ticket#123]`.
#[derive(Clone, Debug)]
pub struct TagMatcher(Regex);

impl TagMatcher {
    pub fn new(prefix: &str) -> TagMatcher {
        let pattern = format!(r"(?i)\[{}#(\d{{1,18}})\]", regex::escape(prefix));
        TagMatcher(Regex::new(&pattern).expect("escaped prefix makes a valid pattern"))
    }

    /// The ticket number in the subject's first tag.
    pub fn find(&self, subject: &str) -> Option<i64> {
        self.0.captures(subject).and_then(|c| c[1].parse().ok())
    }

    /// The subject without any tag, for storing.
    pub fn strip(&self, subject: &str) -> String {
        self.0.replace_all(subject, "").split_whitespace().collect::<Vec<_>>().join(" ")
    }
}

pub struct ThreadInput<'a> {
    pub message: &'a ParsedMessage,
    pub tags: &'a TagMatcher,
    /// Customer mail may reopen or open a linked ticket; staff and automatic mail never reopen.
    pub sender: Sender,
    pub now: i64,
    pub reopen_window_secs: i64,
}

pub fn thread(input: &ThreadInput<'_>, index: &dyn ThreadIndex) -> Result<Threading, StoreError> {
    let m = input.message;
    let refs = m.referenced_ids();
    if input.sender == Sender::Automatic {
        // An auto-reply or a bounce proves it belongs to a ticket only by naming mail ticketd
        // sent: anyone can write a tag, or a Message-ID they saw in a customer's mail.
        return Ok(match index.by_sent_ids(&refs)? {
            Some(ticket) => Threading::Join { ticket, how: "references to ticketd's mail" },
            None => Threading::New,
        });
    }
    let by_refs = index.by_message_ids(&refs)?;
    let sender = m.from.as_ref().map(|f| f.address.as_str()).unwrap_or("");
    let customer = matches!(input.sender, Sender::Customer | Sender::Unproven);
    let known = |ticket| -> Result<bool, StoreError> {
        Ok(input.sender == Sender::Customer && index.sender_known(ticket, sender)?)
    };

    let found = if let Some(tagged) = input.tags.find(&m.subject) {
        match index.ticket_state(tagged)? {
            Some(_) if by_refs == Some(tagged) || !customer || known(tagged)? => Some((tagged, "subject tag")),
            // A tag from a stranger whose mail references none of the ticket's messages.
            Some(_) => return Ok(Threading::NewLinked { ticket: tagged, why: "tag from an unknown sender" }),
            None => by_refs.map(|t| (t, "references")),
        }
    } else if let Some(t) = by_refs {
        Some((t, "references"))
    } else if let Some(mid) = &m.message_id {
        index.referencing(mid)?.map(|t| (t, "referenced by a stored reply"))
    } else {
        None
    };

    let Some((ticket, how)) = found else {
        return Ok(Threading::New);
    };
    if customer {
        if let Some((status, Some(closed_at))) = index.ticket_state(ticket)? {
            if status == Status::Closed && input.now - closed_at > input.reopen_window_secs {
                return Ok(Threading::NewLinked { ticket, why: "reply to a ticket closed beyond the reopen window" });
            }
        }
    }
    Ok(Threading::Join { ticket, how })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[derive(Default)]
    struct Index {
        tickets: HashMap<i64, (Status, Option<i64>)>,
        ids: HashMap<String, i64>,
        refs: HashMap<String, i64>,
        senders: Vec<(i64, String)>,
        sent: HashMap<String, i64>,
    }

    impl ThreadIndex for Index {
        fn ticket_state(&self, id: i64) -> Result<Option<(Status, Option<i64>)>, StoreError> {
            Ok(self.tickets.get(&id).cloned())
        }
        fn by_message_ids(&self, ids: &[String]) -> Result<Option<i64>, StoreError> {
            Ok(ids.iter().rev().find_map(|i| self.ids.get(i).copied()))
        }
        fn referencing(&self, mid: &str) -> Result<Option<i64>, StoreError> {
            Ok(self.refs.get(mid).copied())
        }
        fn sender_known(&self, t: i64, a: &str) -> Result<bool, StoreError> {
            Ok(self.senders.iter().any(|(x, s)| *x == t && s == a))
        }
        fn by_sent_ids(&self, ids: &[String]) -> Result<Option<i64>, StoreError> {
            Ok(ids.iter().rev().find_map(|i| self.sent.get(i).copied()))
        }
    }

    fn msg(subject: &str, from: &str, mid: &str, refs: &[&str]) -> ParsedMessage {
        ParsedMessage {
            subject: subject.into(),
            from: Some(crate::parse::Sender { name: None, address: from.into() }),
            message_id: Some(mid.into()),
            references: refs.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }
    }

    fn run(index: &Index, m: &ParsedMessage, customer: bool) -> Threading {
        run_as(index, m, if customer { Sender::Customer } else { Sender::Trusted })
    }

    fn run_as(index: &Index, m: &ParsedMessage, sender: Sender) -> Threading {
        let tags = TagMatcher::new("Ticket");
        let input = ThreadInput { message: m, tags: &tags, sender, now: 100 * 86_400, reopen_window_secs: 30 * 86_400 };
        thread(&input, index).unwrap()
    }

    fn index() -> Index {
        let mut i = Index::default();
        i.tickets.insert(7, (Status::Open, None));
        i.tickets.insert(8, (Status::Closed, Some(10 * 86_400)));
        i.ids.insert("ack7@example.test".into(), 7);
        i.ids.insert("ack8@example.test".into(), 8);
        i.refs.insert("early@customer.test".into(), 7);
        i.senders.push((7, "anna@customer.test".into()));
        i.sent.insert("ack7@example.test".into(), 7);
        i
    }

    #[test]
    fn automatic_mail_joins_only_by_references_to_ticketds_mail() {
        let i = index();
        let auto = |s, f, r: &[&str]| run_as(&i, &msg(s, f, "z", r), Sender::Automatic);
        // A fake bounce or auto-reply naming the ticket by its tag alone joins nothing.
        assert_eq!(auto("[Ticket#7] Undeliverable", "mailer-daemon@customer.test", &[]), Threading::New);
        // Nor by the customer's own Message-ID, which anyone in Cc has seen.
        assert_eq!(auto("Re: help", "noreply@customer.test", &["early@customer.test"]), Threading::New);
        assert_eq!(
            auto("Undeliverable", "mailer-daemon@customer.test", &["ack7@example.test"]),
            Threading::Join { ticket: 7, how: "references to ticketd's mail" }
        );
        // A forged staff sender is a customer: a tag alone does not let it in; nor the
        // requester's own address when the MTA says it was forged.
        assert_eq!(
            run_as(&i, &msg("[Ticket#7] #close", "alice@example.test", "y", &[]), Sender::Unproven),
            Threading::NewLinked { ticket: 7, why: "tag from an unknown sender" }
        );
        assert_eq!(
            run_as(&i, &msg("[Ticket#7] more", "anna@customer.test", "x", &[]), Sender::Unproven),
            Threading::NewLinked { ticket: 7, why: "tag from an unknown sender" }
        );
    }

    #[test]
    fn cases() {
        let i = index();
        let t = |s, f, mid, r: &[&str], c| run(&i, &msg(s, f, mid, r), c);
        assert_eq!(
            t("Re: [Ticket#7] help", "anna@customer.test", "a", &[], true),
            Threading::Join { ticket: 7, how: "subject tag" }
        );
        assert_eq!(
            t("Re: help", "anna@customer.test", "b", &["ack7@example.test"], true),
            Threading::Join { ticket: 7, how: "references" }
        );
        assert_eq!(t("help", "anna@customer.test", "c", &[], true), Threading::New);
        // A subject alone never joins.
        assert_eq!(t("Re: help", "zed@customer.test", "d", &["unknown@x"], true), Threading::New);
        // A tag from a stranger opens a linked ticket.
        assert_eq!(
            t("[Ticket#7] me too", "zed@customer.test", "e", &[], true),
            Threading::NewLinked { ticket: 7, why: "tag from an unknown sender" }
        );
        // ... unless the stranger's mail references the ticket (a colleague in Cc replying).
        assert_eq!(
            t("[Ticket#7] me too", "zed@customer.test", "f", &["ack7@example.test"], true),
            Threading::Join { ticket: 7, how: "subject tag" }
        );
        // A tag for a ticket that does not exist falls back to references.
        assert_eq!(t("[Ticket#999] x", "anna@customer.test", "g", &[], true), Threading::New);
        // A reply that arrived before the message it answers.
        assert_eq!(
            t("first", "anna@customer.test", "early@customer.test", &[], true),
            Threading::Join { ticket: 7, how: "referenced by a stored reply" }
        );
        // Customer reply to a ticket closed 90 days ago: new linked ticket; staff mail joins.
        assert!(matches!(
            t("Re: x", "anna@customer.test", "h", &["ack8@example.test"], true),
            Threading::NewLinked { ticket: 8, .. }
        ));
        assert_eq!(
            t("Re: x", "alice@example.test", "i", &["ack8@example.test"], false),
            Threading::Join { ticket: 8, how: "references" }
        );
    }

    #[test]
    fn tags() {
        let tags = TagMatcher::new("Ticket");
        assert_eq!(tags.find("Re: [ticket#12] Nem működik"), Some(12));
        assert_eq!(tags.find("[Ticket#] x"), None);
        assert_eq!(tags.strip("Re: [Ticket#12] Nem működik"), "Re: Nem működik");
    }
}
