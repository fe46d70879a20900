//! XOAUTH2 logins against a real Dovecot whose oauth2 passdb asks a loopback token provider:
//! the client-credentials grant, the refresh-token grant with rotation saved in data_dir, a
//! fresh token when the server refuses a cached one, and the admins' alert when refreshing fails.

mod support;

use std::time::Duration;

use support::oauth_server::OauthProvider;
use support::{Mail, MailServer, Ticketd};

fn mailbox_oauth(provider: &OauthProvider, grant: &str, dir: &std::path::Path) -> String {
    std::fs::write(dir.join("client.secret"), "s3cret\n").unwrap();
    std::fs::write(dir.join("initial.refresh_token"), "refresh-0\n").unwrap();
    format!(
        "[mailbox.oauth2]\ntoken_url = \"{}\"\ngrant = \"{grant}\"\nclient_id = \"ticketd\"\n\
         client_secret_file = \"{}\"\nrefresh_token_file = \"{}\"\nscope = \"https://outlook.office365.com/.default\"\n",
        provider.url("/token"),
        dir.join("client.secret").display(),
        dir.join("initial.refresh_token").display()
    )
}

/// A config whose support mailbox logs in with XOAUTH2 instead of a password.
fn oauth_ticketd(server: &MailServer, provider: &OauthProvider, grant: &str, mailbox_extra: &str) -> Ticketd {
    let t = Ticketd::new(server, mailbox_extra, "[alerts]\nto = [\"admin@example.test\"]\n");
    let config = std::fs::read_to_string(t.config()).unwrap();
    let oauth = mailbox_oauth(provider, grant, t.dir.path());
    let config = config.replace("password_file = \"support.pass\"\n", "");
    // The [mailbox.oauth2] table must follow the [[mailbox]] table it belongs to.
    let config = config.replace("[alerts]", &format!("{oauth}\n[alerts]"));
    std::fs::write(t.config(), config).unwrap();
    t
}

fn start_pair() -> (OauthProvider, MailServer) {
    let provider = OauthProvider::start("support@example.test", "s3cret", "refresh-0");
    let server = MailServer::start_with_env(&[("OAUTH2_INTROSPECTION_URL", &provider.url("/introspect"))]);
    (provider, server)
}

#[tokio::test(flavor = "multi_thread")]
async fn client_credentials_grant_logs_in() {
    let (provider, server) = start_pair();
    let t = oauth_ticketd(&server, &provider, "client_credentials", "");
    server
        .append("support@example.test", "INBOX", &Mail::new("anna@customer.test", "Via OAuth", "x").bytes(), None)
        .await;
    t.ok(&["check-config"]);
    t.ok(&["run", "--once"]);
    assert_eq!(t.json(&["tickets", "list"]).as_array().unwrap().len(), 1);
    let state = provider.state.lock().unwrap();
    assert_eq!(state.requests[0]["grant_type"], "client_credentials");
    assert_eq!(state.requests[0]["client_id"], "ticketd");
    assert_eq!(state.requests[0]["scope"], "https://outlook.office365.com/.default");
}

#[tokio::test(flavor = "multi_thread")]
async fn refresh_token_grant_saves_each_rotated_token() {
    let (provider, server) = start_pair();
    let t = oauth_ticketd(&server, &provider, "refresh_token", "");
    server.append("support@example.test", "INBOX", &Mail::new("anna@customer.test", "First", "x").bytes(), None).await;
    t.ok(&["run", "--once"]);
    let saved = t.path("data/oauth/support.refresh_token");
    assert_eq!(std::fs::read_to_string(&saved).unwrap(), "refresh-1");
    // The next process must use the rotated token: the first one is spent.
    server.append("support@example.test", "INBOX", &Mail::new("hans@other.test", "Second", "y").bytes(), None).await;
    t.ok(&["run", "--once"]);
    assert_eq!(std::fs::read_to_string(&saved).unwrap(), "refresh-2");
    assert_eq!(t.json(&["tickets", "list"]).as_array().unwrap().len(), 2);
    let state = provider.state.lock().unwrap();
    let used: Vec<&str> = state.requests.iter().map(|r| r["refresh_token"].as_str()).collect();
    assert_eq!(used, vec!["refresh-0", "refresh-1"]);
    let out = t.run(&["run", "--once"]);
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(!log.contains("access-") && !log.contains("refresh-"), "tokens must never be logged: {log}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_cached_token_is_replaced_and_a_failing_refresh_alerts_the_admins() {
    let (provider, server) = start_pair();
    let t = oauth_ticketd(&server, &provider, "client_credentials", "poll_interval = \"1s\"\nidle = false");
    let _daemon = support::Daemon::start(&t);
    server.append("support@example.test", "INBOX", &Mail::new("anna@customer.test", "One", "x").bytes(), None).await;
    assert_eq!(server.wait_for("anna@customer.test", "INBOX", 1).await.len(), 1);

    // The provider revokes the token and the server drops the connection: ticketd's cached token
    // is refused at the next login, and it must fetch a new one by itself.
    provider.revoke_access_tokens();
    server.restart_imap();
    server.append("support@example.test", "INBOX", &Mail::new("hans@other.test", "Two", "y").bytes(), None).await;
    assert_eq!(
        server.wait_for("hans@other.test", "INBOX", 1).await.len(),
        1,
        "{}",
        std::fs::read_to_string(t.path("daemon.log")).unwrap()
    );
    assert!(provider.state.lock().unwrap().requests.len() >= 2);

    // Now the grant itself stops working: the admins hear of it, once.
    provider.state.lock().unwrap().broken = true;
    provider.revoke_access_tokens();
    server.restart_imap();
    let alerts = server.wait_for("admin@example.test", "INBOX", 1).await;
    assert_eq!(alerts.len(), 1, "{}", std::fs::read_to_string(t.path("daemon.log")).unwrap());
    let alert = alerts[0].parsed();
    assert!(alert.subject.contains("OAuth2 token refresh failed"), "{}", alert.subject);
    assert!(alert.text.contains("AADSTS70008"), "the provider's own words: {}", alert.text);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(server.messages("admin@example.test", "INBOX").await.len(), 1, "alerted once, not on every retry");
}

/// Microsoft 365 is retiring basic authentication for SMTP: the outbox logs in to the relay with
/// XOAUTH2 over STARTTLS, with a token from the same provider the mailbox uses; Postfix hands the
/// SASL exchange to Dovecot, whose oauth2 passdb asks the provider.
#[tokio::test(flavor = "multi_thread")]
async fn the_outbox_logs_in_to_the_relay_with_xoauth2() {
    let provider = OauthProvider::start("support@example.test", "s3cret", "refresh-0");
    let server = MailServer::start_tls_with_env(&[("OAUTH2_INTROSPECTION_URL", &provider.url("/introspect"))]);
    let t = Ticketd::new(&server, "", "");
    let oauth =
        mailbox_oauth(&provider, "client_credentials", t.dir.path()).replace("[mailbox.oauth2]", "[smtp.oauth2]");
    let ca = server.dir.path().join("tls/ca.pem");
    let config = std::fs::read_to_string(t.config()).unwrap().replacen(
        "timeout = \"10s\"\n",
        &format!(
            "timeout = \"10s\"\nsecurity = \"starttls\"\nca_file = \"{}\"\nauth = \"xoauth2\"\nusername = \"support@example.test\"\n{oauth}\n",
            ca.display()
        ),
        1,
    );
    std::fs::write(t.config(), config).unwrap();
    t.ok(&["check-config"]);
    server.append("support@example.test", "INBOX", &Mail::new("anna@customer.test", "Token", "x").bytes(), None).await;
    t.ok(&["run", "--once"]);
    assert_eq!(server.wait_for("anna@customer.test", "INBOX", 1).await.len(), 1, "{}", server.maillog());
    let log = server.maillog();
    assert!(log.contains("sasl_method=XOAUTH2"), "{log}");
    assert!(log.contains("sasl_username=support@example.test"), "{log}");
    assert!(provider.state.lock().unwrap().requests.iter().any(|r| r["grant_type"] == "client_credentials"));
}
