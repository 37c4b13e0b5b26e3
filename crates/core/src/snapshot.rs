//! What an isolate decides requests with: the configuration, the active
//! bans, the signing secrets and the session revocations, as Control hands
//! them out, with the configured routes prepared once in canonical form.
//! The edge caches one per isolate and refreshes it in the background.

use serde::{Deserialize, Serialize};

use crate::bans::{AccessLists, BanEntry};
use crate::paths::{PathPatterns, canonical_path, route_key};
use crate::policy::{Policy, PublicPolicy, PublicVault};
use std::rc::Rc;

use crate::lockout::LockCache;
use crate::session::{Revocations, SessionKeys, VerifiedTokens};

/// Control's session revocations, as an unreadable record is named.
pub const REVOCATIONS_RECORD: &str = "control:revocations";
/// Control's last good fraud feed list, as an unreadable record is named.
pub const FRAUD_FEED_RECORD: &str = "control:fraudFeed";

/// The signing secrets an isolate needs (never sent to a client).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Secrets {
    /// The session signing secret.
    pub jwt: String,
    /// The JWT secret before the last rotation (its tokens read as ended).
    #[serde(default)]
    pub jwt_previous: Option<String>,
    /// The XSRF salt.
    pub xsrf: String,
    /// The CAPTCHA provider's secret key (none: CAPTCHA is off).
    #[serde(default)]
    pub captcha: Option<String>,
    /// The key of password-history fingerprints.
    pub pepper: String,
    /// The application key's digest ([`crate::application_key_digest`]
    /// under `pepper`): the isolate refuses a wrong key itself. None: no
    /// key is set, and the admin API is closed.
    #[serde(default)]
    pub application_key: Option<String>,
    /// `ORIGIN_SECRET`: every forwarded request is signed under it (none:
    /// unsigned). See [`crate::identity`].
    #[serde(default)]
    pub origin: Option<String>,
    /// The Host header the origin receives (signed with the request).
    #[serde(default)]
    pub origin_host: String,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secrets(..)")
    }
}

impl Secrets {
    /// The keys a session token is checked with.
    pub fn session_keys(&self) -> SessionKeys<'_> {
        SessionKeys {
            secret: self.jwt.as_bytes(),
            previous: self.jwt_previous.as_deref().map(str::as_bytes),
            verified: None,
        }
    }
}

/// The routes the edge watches: the checked routes as route keys (see
/// `paths::route_key`), the path patterns canonical.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Routes {
    /// The login form.
    pub login: String,
    /// Sign-out.
    pub logout: String,
    /// The signup form.
    pub signup: String,
    /// The reset page.
    pub reset: String,
    /// The change-password page.
    pub change_password: String,
    /// Paths that need a session.
    pub protected: PathPatterns,
    /// Paths whose bodies the upload rules check.
    pub uploads: PathPatterns,
    /// The rate limit rules, prepared.
    pub rate_limits: Vec<crate::ratelimit::CompiledRule>,
    /// The vault's routes and the fields it seals there.
    pub vault: Vec<(PathPatterns, Vec<String>)>,
}

impl Routes {
    fn of(policy: &Policy) -> Self {
        let r = &policy.routes;
        let key = |path: &str| route_key(&canonical_path(path));
        Self {
            login: key(&r.login),
            logout: key(&r.logout),
            signup: key(&r.signup),
            reset: key(&r.reset),
            change_password: key(&r.change_password),
            protected: PathPatterns::new(&r.protected),
            uploads: PathPatterns::new(&policy.uploads.paths),
            rate_limits: crate::ratelimit::compile(&policy.rate_limits),
            vault: policy
                .vault
                .routes
                .iter()
                .map(|r| {
                    (
                        PathPatterns::new(std::slice::from_ref(&r.path)),
                        r.fields.clone(),
                    )
                })
                .collect(),
        }
    }

    /// The fields the vault seals on this request's route (every matching
    /// route's), or `None` when no vault route matches.
    pub(crate) fn vault_fields(&self, req: &crate::request::Request) -> Option<Vec<&str>> {
        let mut fields: Vec<&str> = Vec::new();
        for (patterns, names) in &self.vault {
            if req.under(patterns) {
                fields.extend(names.iter().map(String::as_str));
            }
        }
        fields.sort_unstable();
        fields.dedup();
        (!fields.is_empty()).then_some(fields)
    }
}

/// The document Control sends.
#[derive(Clone, Serialize, Deserialize)]
struct Document {
    policy: Policy,
    bans: Vec<BanEntry>,
    secrets: Secrets,
    #[serde(default)]
    revocations: Revocations,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    unreadable: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    vault: Option<PublicVault>,
}

/// One isolate's view of the configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(from = "Document", into = "Document")]
pub struct Snapshot {
    /// The policy (the fraud feed's entries merged into its deny list).
    pub policy: Policy,
    /// The active bans Control sent (none: isolates replicate them from the
    /// `BanLog` shards and compile them into [`Self::access`]).
    pub bans: Vec<BanEntry>,
    /// The signing secrets.
    pub secrets: Secrets,
    /// Sessions ended before their time (rotation, admin).
    pub revocations: Revocations,
    /// The vault's public key, once a passphrase has made one.
    pub vault: Option<PublicVault>,
    /// Control's records that could not be read ([`REVOCATIONS_RECORD`],
    /// [`FRAUD_FEED_RECORD`]): the requests that need them fail closed.
    pub unreadable: Vec<String>,
    /// The policy's routes, canonical.
    pub routes: Routes,
    /// The bans, the never-ban list and the deny list, compiled once for
    /// this snapshot.
    pub access: AccessLists,
    /// When this isolate loaded it (unix milliseconds; 0 until it is cached).
    pub loaded_at_ms: u64,
    /// The signature checks of session tokens under these secrets (shared
    /// by the copies made for new bans; a new snapshot starts empty).
    verified: Rc<VerifiedTokens>,
    /// The lockouts this isolate saw answered (the same lifetime).
    pub(crate) locks: Rc<LockCache>,
    /// The monitor-mode refusals this isolate audited lately (the same
    /// lifetime): one `wouldRefuse` per client, feature and code a minute.
    pub(crate) monitored: Rc<Recent>,
}

/// Keys seen lately, each remembered for a while (at most 4,096; when
/// full, it starts over).
#[derive(Debug, Default)]
pub(crate) struct Recent(std::cell::RefCell<std::collections::HashMap<String, u64>>);

/// Most keys [`Recent`] holds.
const MAX_RECENT: usize = 4096;

impl Recent {
    /// Whether `key` is new at `now` (unix seconds), or was last noted
    /// `window` seconds ago or more; notes it then.
    pub(crate) fn first(&self, key: &str, now: u64, window: u64) -> bool {
        let mut seen = self.0.borrow_mut();
        if seen
            .get(key)
            .is_some_and(|&at| now < at.saturating_add(window))
        {
            return false;
        }
        if seen.len() >= MAX_RECENT {
            seen.clear();
        }
        seen.insert(key.to_owned(), now);
        true
    }
}

impl From<Document> for Snapshot {
    fn from(d: Document) -> Self {
        let mut snapshot = Self::new(d.policy, d.bans, d.secrets, d.revocations);
        snapshot.unreadable = d.unreadable;
        snapshot.vault = d.vault;
        snapshot
    }
}

impl From<Snapshot> for Document {
    fn from(s: Snapshot) -> Self {
        Self {
            policy: s.policy,
            bans: s.bans,
            secrets: s.secrets,
            revocations: s.revocations,
            unreadable: s.unreadable,
            vault: s.vault,
        }
    }
}

impl Snapshot {
    /// What the public policy endpoint serves: the policy's public part and
    /// the vault's public key.
    pub fn public_policy(&self) -> PublicPolicy {
        PublicPolicy {
            vault: self.vault.clone(),
            ..self.policy.public()
        }
    }

    /// A snapshot of these parts, its routes prepared.
    pub fn new(
        policy: Policy,
        bans: Vec<BanEntry>,
        secrets: Secrets,
        revocations: Revocations,
    ) -> Self {
        Self {
            routes: Routes::of(&policy),
            access: AccessLists::new(&policy.bans, &bans),
            policy,
            bans,
            secrets,
            revocations,
            vault: None,
            unreadable: Vec::new(),
            loaded_at_ms: 0,
            verified: Rc::default(),
            locks: Rc::default(),
            monitored: Rc::default(),
        }
    }

    /// The keys a session token is checked with, with this snapshot's
    /// cache of signature checks.
    pub fn session_keys(&self) -> SessionKeys<'_> {
        SessionKeys {
            verified: Some(&self.verified),
            ..self.secrets.session_keys()
        }
    }

    /// Whether Control could not read `record` for this snapshot.
    pub fn is_unreadable(&self, record: &str) -> bool {
        self.unreadable.iter().any(|r| r == record)
    }

    /// The same with `ban` in force, a ban this isolate just learned of
    /// (the later end of a target's bans counts), added to the compiled
    /// lists' overlay; `None` when the overlay is full and the lists must
    /// be compiled again ([`Self::with_bans`]).
    pub fn with_ban(&self, ban: &BanEntry) -> Option<Self> {
        let mut next = self.clone();
        next.access.add(ban).then_some(next)
    }

    /// The same with exactly `bans` in force (the replica's whole list),
    /// compiled.
    pub fn with_bans(&self, bans: &[BanEntry]) -> Self {
        let mut next = self.clone();
        next.access = AccessLists::new(&next.policy.bans, bans);
        next
    }
}
