//! Probation for new accounts (SmarterTrack's "portal probation"): accounts
//! younger than N days or with fewer than M replies get per-24-hour limits
//! on the configured actions, a CAPTCHA on them and links in what they
//! submit turned into plain text; search result pages are capped for them
//! and for anonymous visitors. Staff and admins are exempt. Pure: the edge
//! keeps each user's [`ActionLog`] and passes time in.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::paths::{action_matches, canonical_path};
use crate::policy::{ProbationAction, ProbationPolicy};
use crate::roles::Role;
use crate::tokens::Claims;

/// The sliding window of the action limits.
pub(crate) const WINDOW_SECONDS: u64 = 24 * 60 * 60;

/// The action name whose successful uses count as replies.
pub(crate) const REPLY_ACTION: &str = "reply";

/// Which rules hold an account on probation: it is too young, or has too
/// few replies. Neither: it is not on probation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Standing {
    /// Younger than `accountAgeSeconds` (or of unknown age).
    pub(crate) account_age: bool,
    /// Fewer replies than `minReplies`.
    pub(crate) reply_count: bool,
}

impl Standing {
    /// Whether either rule holds the account.
    pub(crate) fn on_probation(self) -> bool {
        self.account_age || self.reply_count
    }

    /// The `Portcullis-Probation` value: the rules that hold the account,
    /// comma-separated; `None` when it is not on probation.
    pub(crate) fn header(self) -> Option<String> {
        let names = [
            (self.account_age, "account-age"),
            (self.reply_count, "reply-count"),
        ];
        let held: Vec<&str> = names
            .into_iter()
            .filter_map(|(on, name)| on.then_some(name))
            .collect();
        (!held.is_empty()).then(|| held.join(","))
    }
}

/// Which rules hold an account on probation. `created` is the account's
/// creation time as the origin gave it at login (`Portcullis-Login-Created`);
/// an unknown age counts as new. Staff and admins are never on probation.
pub(crate) fn standing(
    policy: &ProbationPolicy,
    role: Role,
    created: Option<u64>,
    replies: u32,
    now: u64,
) -> Standing {
    if !policy.enabled || role != Role::EndUser {
        return Standing::default();
    }
    Standing {
        account_age: policy.account_age_seconds > 0
            && created.is_none_or(|at| now.saturating_sub(at) < policy.account_age_seconds),
        reply_count: policy.min_replies > 0 && replies < policy.min_replies,
    }
}

/// Whether an account is on probation (see [`standing`]).
pub(crate) fn on_probation(
    policy: &ProbationPolicy,
    role: Role,
    created: Option<u64>,
    replies: u32,
    now: u64,
) -> bool {
    standing(policy, role, created, replies, now).on_probation()
}

/// The `Portcullis-Probation` header for a session that began on
/// probation, from what the session carries: the account's creation time
/// and its replies, so an account that ages out during the session loses
/// `account-age` at once. `None` when probation or `moderatePosts` is off,
/// or the session did not begin on probation (most: their roles are not
/// even read).
pub(crate) fn moderation_header(
    policy: &ProbationPolicy,
    session: &Claims,
    now: u64,
) -> Option<String> {
    if !policy.moderate_posts || !session.prb {
        return None;
    }
    let role = Role::from_session_roles(&session.roles);
    standing(policy, role, session.crt, session.rpl, now).header()
}

/// The configured action a request is, if any (method and canonical path).
pub(crate) fn matching_action<'a>(
    policy: &'a ProbationPolicy,
    method: &str,
    route: &str,
) -> Option<&'a ProbationAction> {
    if !policy.enabled {
        return None;
    }
    policy
        .actions
        .iter()
        .find(|a| action_matches(&a.method, &a.path, method, route))
}

/// One user's recent uses of each action, and their reply count.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ActionLog {
    /// Per action name: the times of its uses in the last 24 hours.
    uses: BTreeMap<String, Vec<u64>>,
    /// Successful replies so far (uses of the `reply` action the origin accepted).
    pub replies: u32,
}

impl ActionLog {
    /// Counts one use of `action` at `now` if the 24-hour limit allows it;
    /// otherwise nothing is counted and the answer is the seconds until
    /// the oldest use leaves the window (for `Retry-After`).
    pub fn try_use(&mut self, action: &ProbationAction, now: u64) -> Result<(), u64> {
        let uses = self.uses.entry(action.name.clone()).or_default();
        uses.retain(|at| now.saturating_sub(*at) < WINDOW_SECONDS);
        if uses.len() >= action.limit_per_day as usize {
            let oldest = uses.iter().min().copied().unwrap_or(now);
            return Err((oldest + WINDOW_SECONDS).saturating_sub(now).max(1));
        }
        uses.push(now);
        Ok(())
    }

    /// Gives back the newest use of `action` (the CAPTCHA was not solved or
    /// the origin refused the post: it did not happen).
    pub fn give_back(&mut self, action: &str) {
        if let Some(uses) = self.uses.get_mut(action)
            && let Some(newest) = uses
                .iter()
                .enumerate()
                .max_by_key(|(_, at)| **at)
                .map(|(i, _)| i)
        {
            uses.remove(newest);
        }
    }

    /// Uses of `action` still inside the window at `now`.
    pub fn used(&self, action: &str, now: u64) -> usize {
        self.uses.get(action).map_or(0, |uses| {
            uses.iter()
                .filter(|at| now.saturating_sub(**at) < WINDOW_SECONDS)
                .count()
        })
    }
}

/// The page a search asks for: the largest `page` parameter, names and
/// values percent-decoded and numbers read from their leading digits, the
/// way lenient origins read them (`?page=1&page=99`, `?%70age=99`,
/// `?page=99abc` all ask for page 99).
pub(crate) fn requested_page(query: &str) -> Option<u32> {
    query
        .split('&')
        .filter_map(|pair| {
            let (name, value) = pair.split_once('=')?;
            let name = crate::paths::percent_decode(&name.replace('+', " "));
            if name.trim() != "page" {
                return None;
            }
            let value = crate::paths::percent_decode(&value.replace('+', " "));
            let digits: String = value
                .trim()
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            (!digits.is_empty()).then(|| digits.parse::<u32>().unwrap_or(u32::MAX))
        })
        .max()
}

/// Whether the search-page cap applies to a caller: visitors without a
/// session (`session` is `None`) and end users whose session began on
/// probation (`Some(true)`); staff and admins never.
pub(crate) fn search_capped_for(role: Role, session: Option<bool>) -> bool {
    role == Role::EndUser && session.is_none_or(|on_probation| on_probation)
}

/// Whether a search result page is over the cap for a caller who is
/// anonymous or on probation (`capped`).
pub(crate) fn search_page_refused(
    policy: &ProbationPolicy,
    route: &str,
    query: &str,
    capped: bool,
) -> bool {
    policy.enabled
        && capped
        && policy.max_search_pages > 0
        && route == canonical_path(&policy.search_path)
        && requested_page(query).is_some_and(|page| page > policy.max_search_pages)
}

/// Turns links in submitted text into plain text: HTML anchors become their
/// text, Markdown links `[text](url)` lose the adjacency that makes them
/// links (`[text] (url)`), and bare `http://`, `https://` and `www.`
/// addresses are defanged (`https[:]//`, `www[.]`) so no renderer turns them
/// back into links. Linear in the length of the text (a new account may send
/// 256 KB of `<a ><a >…`).
pub fn strip_links(text: &str) -> String {
    // Removing an anchor can join its neighbours into another (`<<a >a …`):
    // repeat until nothing changes. Each round is linear and shortens the
    // text; the bound only caps hostile input, which then loses its `<`s.
    let mut current = text.to_owned();
    let mut settled = false;
    for _ in 0..16 {
        let next = strip_anchors(&current);
        settled = next == current;
        current = next;
        if settled {
            break;
        }
    }
    if !settled {
        current = current.replace('<', "");
    }
    defang(&current.replace("](", "] ("))
}

/// [`strip_links`] on every string of a JSON document (a post sent as JSON).
pub(crate) fn strip_links_in_json(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::String(text) => *text = strip_links(text),
        serde_json::Value::Array(items) => items.iter_mut().for_each(strip_links_in_json),
        serde_json::Value::Object(fields) => fields.values_mut().for_each(strip_links_in_json),
        _ => {}
    }
}

fn strip_anchors(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    // Once no `</a>` is left, later anchors have none either: stop looking.
    let mut closes_left = true;
    while let Some(start) = find_ascii_ci(rest, "<a") {
        let after = &rest[start + 2..];
        // `<a` followed by whitespace or `>` opens an anchor; `<abbr>` does not.
        if !after.starts_with(|c: char| c.is_whitespace() || c == '>') {
            out.push_str(&rest[..start + 2]);
            rest = after;
            continue;
        }
        out.push_str(&rest[..start]);
        let Some(open_end) = after.find('>') else {
            // An unterminated tag: drop it.
            return out;
        };
        rest = &after[open_end + 1..];
        if closes_left {
            match find_ascii_ci(rest, "</a>") {
                Some(close) => {
                    out.push_str(&rest[..close]);
                    rest = &rest[close + 4..];
                }
                None => closes_left = false,
            }
        }
    }
    out.push_str(rest);
    out
}

fn find_ascii_ci(haystack: &str, needle: &str) -> Option<usize> {
    haystack
        .as_bytes()
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

fn defang(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    let mut i = 0;
    let bytes = text.as_bytes();
    while i < bytes.len() {
        let rest = &text[i..];
        let lower_starts = |p: &str| {
            rest.len() >= p.len() && rest.as_bytes()[..p.len()].eq_ignore_ascii_case(p.as_bytes())
        };
        if lower_starts("http://") || lower_starts("https://") {
            let colon = rest.find(':').unwrap_or(0);
            out.push_str(&rest[..colon]);
            out.push_str("[:]");
            i += colon + 1;
        } else if lower_starts("www.") {
            out.push_str(&rest[..3]);
            out.push_str("[.]");
            i += 4;
        } else {
            let ch = rest.chars().next().unwrap_or(' ');
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> ProbationPolicy {
        ProbationPolicy {
            enabled: true,
            ..ProbationPolicy::default()
        }
    }

    #[test]
    fn who_is_on_probation() {
        let p = policy();
        let day = 86_400;
        assert!(
            on_probation(&p, Role::EndUser, Some(0), 50, 6 * day),
            "young"
        );
        assert!(
            on_probation(&p, Role::EndUser, Some(0), 3, 30 * day),
            "few replies"
        );
        assert!(
            !on_probation(&p, Role::EndUser, Some(0), 10, 7 * day),
            "old and active"
        );
        assert!(
            on_probation(&p, Role::EndUser, None, 10, 7 * day),
            "unknown age counts as new"
        );
        assert!(!on_probation(&p, Role::Staff, Some(0), 0, 1));
        assert!(!on_probation(&p, Role::Admin, Some(0), 0, 1));
        assert!(
            !on_probation(&ProbationPolicy::default(), Role::EndUser, None, 0, 1),
            "off by default"
        );
        let mut age_only = policy();
        age_only.min_replies = 0;
        assert!(!on_probation(&age_only, Role::EndUser, Some(0), 0, 8 * day));
    }

    #[test]
    fn actions_match_method_and_canonical_path() {
        let p = policy();
        assert_eq!(
            matching_action(&p, "POST", "/community/replies").map(|a| a.name.as_str()),
            Some("reply")
        );
        assert_eq!(
            matching_action(&p, "post", "/community/threads").map(|a| a.name.as_str()),
            Some("newThread")
        );
        assert!(matching_action(&p, "GET", "/community/replies").is_none());
        assert!(matching_action(&p, "POST", "/community/replies-archive").is_none());
        assert!(
            matching_action(&ProbationPolicy::default(), "POST", "/community/replies").is_none()
        );
    }

    #[test]
    fn limits_slide_over_24_hours() {
        let p = policy();
        let thread = &p.actions[0];
        let mut log = ActionLog::default();
        assert_eq!(log.try_use(thread, 1000), Ok(()));
        assert_eq!(log.try_use(thread, 2000), Err(WINDOW_SECONDS - 1000));
        assert_eq!(log.used("newThread", 2000), 1, "a refusal counts nothing");
        assert_eq!(log.try_use(thread, 1000 + WINDOW_SECONDS), Ok(()));
        let reply = &p.actions[1];
        for i in 0..5 {
            assert_eq!(log.try_use(reply, 10 + i), Ok(()));
        }
        assert!(log.try_use(reply, 20).is_err());
        log.give_back("reply");
        assert_eq!(
            log.try_use(reply, 21),
            Ok(()),
            "a use given back frees a slot"
        );
        log.give_back("nothing-used");
    }

    #[test]
    fn search_pages_are_capped() {
        let p = policy();
        assert!(search_page_refused(&p, "/search", "q=x&page=6", true));
        assert!(!search_page_refused(&p, "/search", "q=x&page=5", true));
        assert!(
            !search_page_refused(&p, "/search", "q=x&page=6", false),
            "exempt callers"
        );
        assert!(!search_page_refused(&p, "/search", "q=x", true));
        assert!(!search_page_refused(&p, "/other", "page=9", true));
        assert_eq!(requested_page("page=abc"), None);
        assert!(
            search_capped_for(Role::EndUser, None) && search_capped_for(Role::EndUser, Some(true))
        );
        assert!(
            !search_capped_for(Role::EndUser, Some(false))
                && !search_capped_for(Role::Staff, Some(true))
        );
        assert_eq!(
            requested_page("page=1&page=99"),
            Some(99),
            "the largest counts"
        );
        assert_eq!(requested_page("%70age=99"), Some(99), "names are decoded");
        assert_eq!(requested_page("page=%399abc"), Some(99), "leading digits");
        assert_eq!(requested_page("page=99999999999999"), Some(u32::MAX));
    }

    #[test]
    fn links_become_plain_text() {
        assert_eq!(
            strip_links(r#"see <a href="https://evil.example/x">my site</a> now"#),
            "see my site now"
        );
        assert_eq!(strip_links("<A HREF='x'>Up</A>per"), "Upper");
        assert_eq!(strip_links("<abbr>ok</abbr>"), "<abbr>ok</abbr>");
        assert_eq!(
            strip_links("[click](http://x.example)"),
            "[click] (http[:]//x.example)"
        );
        assert_eq!(
            strip_links("go to https://x.example/a"),
            "go to https[:]//x.example/a"
        );
        assert_eq!(
            strip_links("HTTP://X and www.y.example"),
            "HTTP[:]//X and www[.]y.example"
        );
        assert_eq!(
            strip_links("plain ünïcode [text] (here)"),
            "plain ünïcode [text] (here)"
        );
        assert_eq!(
            strip_links("<a href=x"),
            "",
            "an unterminated anchor is dropped"
        );
    }

    #[test]
    fn hostile_input() {
        // 256 KB of unclosed anchors and brackets (the scan is linear: once
        // no `</a>` is left it stops looking for one).
        let text = "<a >[[".repeat(256 * 1024 / 6);
        let out = strip_links(&text);
        assert!(!out.contains("<a"));
        assert_eq!(out.len(), "[[".len() * (256 * 1024 / 6));
    }

    proptest::proptest! {
        /// No output of strip_links contains a link a renderer would follow.
        #[test]
        fn no_link_survives(text in "(<a href=\"http://x\">|</a>|\\[t\\]\\(|\\)|https?://|www\\.|[a-z ])*") {
            let out = strip_links(&text);
            let lower = out.to_ascii_lowercase();
            proptest::prop_assert!(!lower.contains("http://") && !lower.contains("https://") && !lower.contains("www."), "{}", out);
            proptest::prop_assert!(find_ascii_ci(&out, "<a ").is_none(), "{}", out);
            proptest::prop_assert!(!out.contains("]("), "{}", out);
        }
    }
}
