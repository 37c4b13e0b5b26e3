//! The vault: Clientexec's card passphrase and domain-password encryption,
//! as public-key encryption. Values are sealed with HPKE (RFC 9180, base
//! mode, DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 / AES-128-GCM, `info`
//! [`INFO`], `aad` the field's name) to the vault's public key, by the
//! edge or by the browser, so the origin stores only envelopes it cannot
//! read. The private key exists only wrapped: AES-128-GCM under a key
//! derived from the administrator's passphrase with Argon2id. Reading
//! takes the passphrase; resetting it re-wraps the same private key, so
//! every stored envelope stays readable; deleting it destroys the key
//! pair, and envelopes made for it are recognised by their key id as
//! unreadable rather than as garbage.
//!
//! Crates: `hpke` (rozbb, pure Rust, builds for wasm32) for RFC 9180,
//! `argon2` and `aes-gcm` (RustCrypto) for the wrapping: each a
//! maintained implementation of exactly the primitive the scheme fixes.
//! Core draws no randomness: callers pass random bytes in.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes128Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use hpke::aead::AesGcm128;
use hpke::kdf::HkdfSha256;
use hpke::kem::X25519HkdfSha256;
use hpke::{Deserializable, Kem, OpModeR, OpModeS, Serializable};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;
use zeroize::Zeroizing;

pub use crate::policy::PublicVault;
use crate::refusal::Refusal;

/// HPKE's `info` for every envelope.
pub const INFO: &[u8] = b"portcullis-vault-v1";
/// The envelope format's tag, its first dot-separated part.
pub const ENVELOPE_TAG: &str = "pcv1";
/// Fewest characters (Unicode scalar values) a passphrase may have.
pub const MIN_PASSPHRASE_CHARS: usize = 12;
/// Most bytes a passphrase may have (Argon2 hashes it whole).
pub const MAX_PASSPHRASE_BYTES: usize = 1024;
/// Most items one batch may hold (encrypt or decrypt).
pub const MAX_BATCH: usize = 100;
/// Most bytes one value may have before sealing.
pub const MAX_VALUE_BYTES: usize = 4096;
/// Most bytes a field name may have.
pub const MAX_FIELD_BYTES: usize = 128;

/// Random bytes [`create`] needs: 32 for the key pair, 16 of salt, 12 of nonce.
pub const CREATE_RANDOM: usize = 60;
/// Random bytes [`rewrap`] needs: 16 of salt, 12 of nonce.
pub const REWRAP_RANDOM: usize = 28;
/// Random bytes [`seal`] needs: the ephemeral key's 32.
pub const SEAL_RANDOM: usize = 32;

/// X25519 key and encapsulated key length.
const KEY_LEN: usize = 32;
/// AES-GCM's tag.
const TAG_LEN: usize = 16;
/// What the wrapping's AEAD authenticates beside the key id.
const WRAP_AAD: &str = "portcullis-vault-key-v1";

/// Argon2id's cost, stored with each wrapped key so that a later change of
/// the defaults still unwraps older keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KdfParams {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Passes.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

impl KdfParams {
    /// OWASP's Argon2id minimum (19 MiB, 2 passes, 1 lane): it runs only on
    /// the administrator's vault operations, never on a visitor's request.
    pub const DEFAULT: KdfParams = KdfParams {
        memory_kib: 19 * 1024,
        iterations: 2,
        parallelism: 1,
    };
}

/// The vault's key pair as stored: the public key in the clear, the
/// private key only wrapped under the passphrase.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VaultKey {
    /// Names the key pair in every envelope made for it.
    pub key_id: String,
    /// The X25519 public key, base64url without padding.
    pub public_key: String,
    /// When the key pair was made (unix seconds).
    pub created_at: u64,
    /// When the passphrase was last set or reset (unix seconds).
    pub wrapped_at: u64,
    /// Argon2id's salt, base64url.
    pub salt: String,
    /// The wrapping's AES-GCM nonce, base64url.
    pub nonce: String,
    /// The private key under AES-128-GCM, with its tag, base64url.
    pub wrapped: String,
    /// Argon2id's cost for this wrapping.
    pub kdf: KdfParams,
}

impl VaultKey {
    /// The public part.
    pub fn public(&self) -> PublicVault {
        PublicVault {
            public_key: self.public_key.clone(),
            key_id: self.key_id.clone(),
        }
    }
}

/// Why a vault operation was refused. No variant carries a value, a
/// passphrase or a key.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum VaultError {
    /// The passphrase has fewer than [`MIN_PASSPHRASE_CHARS`] characters.
    PassphraseTooShort,
    /// The passphrase has more than [`MAX_PASSPHRASE_BYTES`] bytes.
    PassphraseTooLong,
    /// The passphrase does not unwrap the private key.
    WrongPassphrase,
    /// The stored key record is damaged (it unwraps to no valid key).
    DamagedKey,
    /// The public key is not 32 bytes of base64url.
    BadPublicKey,
    /// A field name is empty or longer than [`MAX_FIELD_BYTES`].
    BadField,
    /// A value is longer than [`MAX_VALUE_BYTES`].
    ValueTooLong,
    /// Not an envelope: wrong tag, parts or encoding.
    Malformed,
    /// An envelope for another key pair (one deleted, or another vault's).
    OtherKey,
    /// The envelope does not open: tampered with, or moved to another field.
    Tampered,
}

impl fmt::Display for VaultError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::PassphraseTooShort => "the passphrase must have at least 12 characters",
            Self::PassphraseTooLong => "the passphrase must have at most 1024 bytes",
            Self::WrongPassphrase => "the passphrase is not the vault's",
            Self::DamagedKey => "the vault's stored key is damaged",
            Self::BadPublicKey => "the vault's public key is not 32 bytes of base64url",
            Self::BadField => "a field name must have 1 to 128 bytes",
            Self::ValueTooLong => "a value must have at most 4096 bytes",
            Self::Malformed => "not a vault envelope (pcv1.<keyId>.<base64url>)",
            Self::OtherKey => "an envelope for another key pair: it can no longer be read",
            Self::Tampered => "the envelope does not open: altered, or moved from another field",
        })
    }
}

impl std::error::Error for VaultError {}

/// Random bytes handed in by the caller, given out as HPKE asks for them.
/// Past the given bytes it continues with SHA-256 of them and a counter, so
/// it never runs dry (HPKE's X25519 takes exactly 32).
struct Supplied<'a> {
    seed: &'a [u8],
    used: usize,
    counter: u64,
}

impl hpke::rand_core::TryRng for Supplied<'_> {
    type Error = std::convert::Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        let mut buf = [0; 4];
        self.try_fill_bytes(&mut buf)?;
        Ok(u32::from_le_bytes(buf))
    }

    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        let mut buf = [0; 8];
        self.try_fill_bytes(&mut buf)?;
        Ok(u64::from_le_bytes(buf))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        for byte in dst {
            if self.used < self.seed.len() {
                *byte = self.seed[self.used];
                self.used += 1;
            } else {
                let block = Sha256::new()
                    .chain_update(self.seed)
                    .chain_update(self.counter.to_le_bytes())
                    .finalize();
                self.counter += 1;
                *byte = block[0];
            }
        }
        Ok(())
    }
}

impl hpke::rand_core::TryCryptoRng for Supplied<'_> {}

fn check_passphrase(passphrase: &str) -> Result<(), VaultError> {
    if passphrase.len() > MAX_PASSPHRASE_BYTES {
        return Err(VaultError::PassphraseTooLong);
    }
    if passphrase.chars().count() < MIN_PASSPHRASE_CHARS {
        return Err(VaultError::PassphraseTooShort);
    }
    Ok(())
}

/// The key that wraps the private key: 128 bits of Argon2id of the
/// passphrase, for AES-128-GCM (the AES the HPKE suite compiles in
/// already: a second AES would cost the Worker bundle its code again).
fn wrapping_key(passphrase: &str, salt: &[u8], kdf: KdfParams) -> Result<[u8; 16], VaultError> {
    let params = argon2::Params::new(kdf.memory_kib, kdf.iterations, kdf.parallelism, Some(16))
        .map_err(|_| VaultError::DamagedKey)?;
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let mut key = [0; 16];
    argon
        .hash_password_into(passphrase.as_bytes(), salt, &mut key)
        .map_err(|_| VaultError::DamagedKey)?;
    Ok(key)
}

fn wrap_aad(key_id: &str) -> Vec<u8> {
    format!("{WRAP_AAD}.{key_id}").into_bytes()
}

/// The key id of a public key: 96 bits of its SHA-256, base64url.
fn key_id(public_key: &[u8]) -> String {
    B64URL.encode(&Sha256::digest(public_key)[..12])
}

/// Wraps `private_key` under `passphrase` with fresh salt and nonce.
fn wrap(
    private_key: &[u8],
    key_id: &str,
    passphrase: &str,
    random: &[u8; REWRAP_RANDOM],
) -> Result<(String, String, String), VaultError> {
    let (salt, nonce) = random.split_at(16);
    let kek = Zeroizing::new(wrapping_key(passphrase, salt, KdfParams::DEFAULT)?);
    let cipher = Aes128Gcm::new(&(*kek).into());
    let aad = wrap_aad(key_id);
    let wrapped = cipher
        .encrypt(
            &nonce_of(nonce)?,
            Payload {
                msg: private_key,
                aad: &aad,
            },
        )
        .map_err(|_| VaultError::DamagedKey)?;
    Ok((
        B64URL.encode(salt),
        B64URL.encode(nonce),
        B64URL.encode(wrapped),
    ))
}

fn nonce_of(bytes: &[u8]) -> Result<Nonce<aes_gcm::aead::consts::U12>, VaultError> {
    Nonce::try_from(bytes).map_err(|_| VaultError::DamagedKey)
}

/// Makes the vault's key pair and wraps its private key under
/// `passphrase` (`random`: [`CREATE_RANDOM`] bytes from a CSPRNG).
pub fn create(
    passphrase: &str,
    random: &[u8; CREATE_RANDOM],
    now: u64,
) -> Result<VaultKey, VaultError> {
    check_passphrase(passphrase)?;
    let (ikm, rest) = random.split_at(KEY_LEN);
    let (private_key, public_key) = X25519HkdfSha256::derive_keypair(ikm);
    let public = public_key.to_bytes();
    let key_id = key_id(&public);
    let mut wrap_random = [0; REWRAP_RANDOM];
    wrap_random.copy_from_slice(rest);
    let private = Zeroizing::new(private_key.to_bytes().to_vec());
    let (salt, nonce, wrapped) = wrap(&private, &key_id, passphrase, &wrap_random)?;
    Ok(VaultKey {
        key_id,
        public_key: B64URL.encode(public),
        created_at: now,
        wrapped_at: now,
        salt,
        nonce,
        wrapped,
        kdf: KdfParams::DEFAULT,
    })
}

/// The private key, unwrapped by the passphrase, for [`open`].
pub struct Unlocked {
    key_id: String,
    private_key: <X25519HkdfSha256 as Kem>::PrivateKey,
}

impl fmt::Debug for Unlocked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the key.
        write!(f, "Unlocked({})", self.key_id)
    }
}

/// Unwraps the private key with `passphrase`; a wrong one is
/// [`VaultError::WrongPassphrase`] (AES-GCM's tag decides, in constant
/// time).
pub fn unlock(key: &VaultKey, passphrase: &str) -> Result<Unlocked, VaultError> {
    if passphrase.len() > MAX_PASSPHRASE_BYTES {
        return Err(VaultError::WrongPassphrase);
    }
    let decode = |s: &str, len: usize| {
        B64URL
            .decode(s)
            .ok()
            .filter(|b| b.len() == len)
            .ok_or(VaultError::DamagedKey)
    };
    // A damaged or altered record is refused before Argon2 runs: lengths,
    // and a cost no larger than a Worker can afford nor weaker than ours.
    let (salt, nonce, wrapped) = (
        decode(&key.salt, 16)?,
        decode(&key.nonce, 12)?,
        decode(&key.wrapped, KEY_LEN + TAG_LEN)?,
    );
    let kdf = key.kdf;
    if !(19 * 1024..=64 * 1024).contains(&kdf.memory_kib)
        || !(1..=10).contains(&kdf.iterations)
        || !(1..=4).contains(&kdf.parallelism)
    {
        return Err(VaultError::DamagedKey);
    }
    let kek = Zeroizing::new(wrapping_key(passphrase, &salt, kdf)?);
    let cipher = Aes128Gcm::new(&(*kek).into());
    let aad = wrap_aad(&key.key_id);
    let private = cipher
        .decrypt(
            &nonce_of(&nonce)?,
            Payload {
                msg: &wrapped,
                aad: &aad,
            },
        )
        .map_err(|_| VaultError::WrongPassphrase)?;
    let private = Zeroizing::new(private);
    let private_key = <X25519HkdfSha256 as Kem>::PrivateKey::from_bytes(&private)
        .map_err(|_| VaultError::DamagedKey)?;
    // The record's public key and id must be the private key's: a record
    // altered to seal to another key is refused, not used.
    let public = X25519HkdfSha256::sk_to_pk(&private_key).to_bytes();
    if B64URL.encode(public) != key.public_key || key_id(&public) != key.key_id {
        return Err(VaultError::DamagedKey);
    }
    Ok(Unlocked {
        key_id: key.key_id.clone(),
        private_key,
    })
}

/// Re-wraps the private key under `new_passphrase`, after `old_passphrase`
/// unwrapped it (`random`: [`REWRAP_RANDOM`] bytes). The key pair, and so
/// every envelope, stays the same.
pub fn rewrap(
    key: &VaultKey,
    old_passphrase: &str,
    new_passphrase: &str,
    random: &[u8; REWRAP_RANDOM],
    now: u64,
) -> Result<VaultKey, VaultError> {
    check_passphrase(new_passphrase)?;
    let unlocked = unlock(key, old_passphrase)?;
    let private = Zeroizing::new(unlocked.private_key.to_bytes().to_vec());
    let (salt, nonce, wrapped) = wrap(&private, &key.key_id, new_passphrase, random)?;
    Ok(VaultKey {
        salt,
        nonce,
        wrapped,
        wrapped_at: now,
        kdf: KdfParams::DEFAULT,
        ..key.clone()
    })
}

fn check_field(field: &str) -> Result<(), VaultError> {
    if field.is_empty() || field.len() > MAX_FIELD_BYTES {
        return Err(VaultError::BadField);
    }
    Ok(())
}

/// Seals `value` for the field `field` to the vault's public key: the
/// envelope `pcv1.<keyId>.<base64url(enc ‖ ciphertext)>` (`random`:
/// [`SEAL_RANDOM`] bytes, the ephemeral key).
pub fn seal(
    vault: &PublicVault,
    field: &str,
    value: &str,
    random: &[u8; SEAL_RANDOM],
) -> Result<String, VaultError> {
    check_field(field)?;
    if value.len() > MAX_VALUE_BYTES {
        return Err(VaultError::ValueTooLong);
    }
    let public = B64URL
        .decode(&vault.public_key)
        .ok()
        .filter(|b| b.len() == KEY_LEN)
        .ok_or(VaultError::BadPublicKey)?;
    let (enc, ciphertext) = hpke_seal(&public, INFO, field.as_bytes(), value.as_bytes(), random)?;
    let mut payload = enc;
    payload.extend_from_slice(&ciphertext);
    Ok(format!(
        "{ENVELOPE_TAG}.{}.{}",
        vault.key_id,
        B64URL.encode(payload)
    ))
}

/// RFC 9180 single-shot seal in base mode with this suite, the ephemeral
/// key derived from `random`: `(enc, ciphertext)`.
fn hpke_seal(
    public: &[u8],
    info: &[u8],
    aad: &[u8],
    plaintext: &[u8],
    random: &[u8; SEAL_RANDOM],
) -> Result<(Vec<u8>, Vec<u8>), VaultError> {
    let public = <X25519HkdfSha256 as Kem>::PublicKey::from_bytes(public)
        .map_err(|_| VaultError::BadPublicKey)?;
    let mut rng = Supplied {
        seed: random,
        used: 0,
        counter: 0,
    };
    let (enc, ciphertext) = hpke::single_shot_seal_with_rng::<
        AesGcm128,
        HkdfSha256,
        X25519HkdfSha256,
    >(&OpModeS::Base, &public, info, plaintext, aad, &mut rng)
    .map_err(|_| VaultError::BadPublicKey)?;
    Ok((enc.to_bytes().to_vec(), ciphertext))
}

/// RFC 9180 single-shot open in base mode with this suite.
fn hpke_open(
    private_key: &<X25519HkdfSha256 as Kem>::PrivateKey,
    info: &[u8],
    aad: &[u8],
    enc: &[u8],
    ciphertext: &[u8],
) -> Result<Vec<u8>, VaultError> {
    let enc = <X25519HkdfSha256 as Kem>::EncappedKey::from_bytes(enc)
        .map_err(|_| VaultError::Tampered)?;
    hpke::single_shot_open::<AesGcm128, HkdfSha256, X25519HkdfSha256>(
        &OpModeR::Base,
        private_key,
        &enc,
        info,
        ciphertext,
        aad,
    )
    .map_err(|_| VaultError::Tampered)
}

/// An envelope's parts: its key id and `enc ‖ ciphertext`.
fn parse(envelope: &str) -> Result<(&str, Vec<u8>), VaultError> {
    let mut parts = envelope.split('.');
    let (Some(ENVELOPE_TAG), Some(key_id), Some(payload), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(VaultError::Malformed);
    };
    if key_id.is_empty() || key_id.len() > 64 {
        return Err(VaultError::Malformed);
    }
    let payload = B64URL.decode(payload).map_err(|_| VaultError::Malformed)?;
    if payload.len() < KEY_LEN + TAG_LEN {
        return Err(VaultError::Malformed);
    }
    Ok((key_id, payload))
}

/// Whether `value` is a well-formed envelope for the key `key_id` (the
/// edge forwards such a value as it is: the browser sealed it).
/// Only its form is checked (the edge cannot open it): an origin must not
/// take "looks like an envelope" for "sealed by Portcullis"; no longer
/// than a sealed [`MAX_VALUE_BYTES`] value.
pub fn is_envelope_for(value: &str, key_id: &str) -> bool {
    parse(value).is_ok_and(|(id, payload)| {
        id == key_id && payload.len() <= KEY_LEN + MAX_VALUE_BYTES + TAG_LEN
    })
}

/// Opens an envelope of the field `field` with the unlocked key.
pub fn open(unlocked: &Unlocked, field: &str, envelope: &str) -> Result<String, VaultError> {
    check_field(field)?;
    let (key_id, payload) = parse(envelope)?;
    if key_id != unlocked.key_id {
        return Err(VaultError::OtherKey);
    }
    let (enc, ciphertext) = payload.split_at(KEY_LEN);
    let plain = hpke_open(
        &unlocked.private_key,
        INFO,
        field.as_bytes(),
        enc,
        ciphertext,
    )?;
    String::from_utf8(plain).map_err(|_| VaultError::Tampered)
}

/// `POST /vault/passphrase`: `{ "passphrase" }` creates the key pair;
/// `{ "passphrase", "newPassphrase" }` resets the passphrase.
// No Debug: it holds a passphrase or cleartext.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PassphraseRequest {
    /// The passphrase to create, or the one in force for a reset.
    pub passphrase: String,
    /// The new passphrase (a reset).
    #[serde(default)]
    pub new_passphrase: Option<String>,
}

/// One value to seal: its field's name and the value.
// No Debug: it holds a passphrase or cleartext.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EncryptItem {
    /// The field the value belongs to (the envelope's `aad`).
    pub field: String,
    /// The cleartext.
    pub value: String,
}

/// `POST /vault/encrypt`: `{ "items": [{ "field", "value" }] }`.
// No Debug: it holds a passphrase or cleartext.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EncryptRequest {
    /// At most [`MAX_BATCH`].
    pub items: Vec<EncryptItem>,
}

/// One envelope to open: its field's name and the envelope.
// No Debug: it holds a passphrase or cleartext.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecryptItem {
    /// The field the envelope was sealed for.
    pub field: String,
    /// `pcv1.<keyId>.<base64url>`.
    pub envelope: String,
}

/// `POST /vault/decrypt`: `{ "passphrase", "items": [{ "field", "envelope" }] }`.
// No Debug: it holds a passphrase or cleartext.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecryptRequest {
    /// The vault's passphrase.
    pub passphrase: String,
    /// At most [`MAX_BATCH`].
    pub items: Vec<DecryptItem>,
}

/// `DELETE /vault/passphrase`: `{ "confirm": "delete" }`, so that no stray
/// request destroys the key pair.
// No Debug: it holds a passphrase or cleartext.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeleteRequest {
    /// Must be `"delete"`.
    pub confirm: String,
}

/// Reads an admin request's JSON body as `T`; the refusal names what is wrong.
pub fn read_request<T: serde::de::DeserializeOwned>(body: &str) -> Result<T, Refusal> {
    serde_json::from_str(body).map_err(|e| {
        // Where only: serde's own text quotes the value (a card number).
        Refusal::new(
            400,
            "invalid_body",
            format!(
                "The body is not the expected JSON (line {}, column {}); see the README for its shape.",
                e.line(),
                e.column()
            ),
        )
    })
}

fn check_batch(len: usize) -> Result<(), Refusal> {
    if len == 0 || len > MAX_BATCH {
        return Err(Refusal::new(
            422,
            "invalid_batch",
            format!("A batch holds 1 to {MAX_BATCH} items."),
        ));
    }
    Ok(())
}

/// Seals every item of a batch (`random` fills each item's
/// [`SEAL_RANDOM`] bytes); a bad item is refused by its index and nothing
/// is returned.
pub fn encrypt_batch(
    vault: &PublicVault,
    request: &EncryptRequest,
    random: &mut dyn FnMut(&mut [u8; SEAL_RANDOM]),
) -> Result<Vec<String>, Refusal> {
    check_batch(request.items.len())?;
    let mut out = Vec::with_capacity(request.items.len());
    for (index, item) in request.items.iter().enumerate() {
        let mut bytes = [0; SEAL_RANDOM];
        random(&mut bytes);
        out.push(
            seal(vault, &item.field, &item.value, &bytes).map_err(|e| item_refused(index, &e))?,
        );
    }
    Ok(out)
}

/// The batch's size, checked before an unwrapping attempt is taken.
pub fn check_decrypt(request: &DecryptRequest) -> Result<(), Refusal> {
    check_batch(request.items.len())
}

/// Opens every item of a batch with the passphrase: 403 for a wrong
/// passphrase (nothing else said), 422 naming the first item that does not
/// open, and no value returned unless all open.
pub fn decrypt_batch(key: &VaultKey, request: &DecryptRequest) -> Result<Vec<String>, Refusal> {
    check_batch(request.items.len())?;
    let unlocked = unlock(key, &request.passphrase).map_err(|e| refusal(&e))?;
    request
        .items
        .iter()
        .enumerate()
        .map(|(index, item)| {
            open(&unlocked, &item.field, &item.envelope).map_err(|e| item_refused(index, &e))
        })
        .collect()
}

/// 422 naming the item at `index` and why.
fn item_refused(index: usize, error: &VaultError) -> Refusal {
    let code = match error {
        VaultError::ValueTooLong | VaultError::BadField => "invalid_item",
        _ => "envelope_invalid",
    };
    Refusal::new(422, code, format!("Item {index}: {error}."))
        .with("index", index)
        .with(
            "reason",
            match error {
                VaultError::OtherKey => "otherKey",
                VaultError::Malformed => "malformed",
                VaultError::ValueTooLong => "valueTooLong",
                VaultError::BadField => "badField",
                _ => "tampered",
            },
        )
}

/// The refusal of a vault operation.
pub fn refusal(error: &VaultError) -> Refusal {
    match error {
        VaultError::PassphraseTooShort | VaultError::PassphraseTooLong => {
            Refusal::new(422, "invalid_passphrase", format!("{error}."))
        }
        VaultError::WrongPassphrase => Refusal::new(403, "wrong_passphrase", "Wrong passphrase."),
        VaultError::DamagedKey | VaultError::BadPublicKey => Refusal::new(
            503,
            "vault_damaged",
            "The vault's stored key is damaged; delete the passphrase to start again.",
        ),
        _ => Refusal::new(422, "envelope_invalid", format!("{error}.")),
    }
}

/// 503: no passphrase has made a key pair yet (or it was deleted).
pub fn not_ready() -> Refusal {
    Refusal::new(
        503,
        "vault_not_ready",
        "The vault has no passphrase yet: an administrator creates it first.",
    )
}

/// 409: a passphrase exists already (reset it, or delete it first).
pub fn exists() -> Refusal {
    Refusal::new(
        409,
        "vault_exists",
        "The vault has a passphrase: reset it with {\"passphrase\", \"newPassphrase\"}, or delete it first.",
    )
}

/// Operations that unwrap the private key (decrypt, reset) allowed per
/// [`ATTEMPT_WINDOW_SECONDS`]: each runs Argon2id, and a wrong passphrase
/// is tried no faster than this.
pub const MAX_ATTEMPTS: u32 = 10;
/// The window [`MAX_ATTEMPTS`] counts in.
pub const ATTEMPT_WINDOW_SECONDS: u64 = 60;

/// The unwrapping attempts of the current window, as stored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Attempts {
    /// When the window began (unix seconds).
    pub window_start: u64,
    /// Attempts in it.
    pub count: u32,
}

impl Attempts {
    /// Takes one attempt at `now`: the record to store, or the 429 to
    /// answer (with the seconds until the window ends).
    pub fn take(self, now: u64) -> Result<Attempts, Refusal> {
        // A window from the future (a clock set back, a damaged row) is over too.
        let current = if now < self.window_start
            || now.saturating_sub(self.window_start) >= ATTEMPT_WINDOW_SECONDS
        {
            Attempts {
                window_start: now,
                count: 0,
            }
        } else {
            self
        };
        if current.count >= MAX_ATTEMPTS {
            let retry = (current.window_start + ATTEMPT_WINDOW_SECONDS)
                .saturating_sub(now)
                .max(1);
            return Err(crate::refusal::rate_limited("vault", retry));
        }
        Ok(Attempts {
            count: current.count + 1,
            ..current
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASS: &str = "correct horse battery";

    fn random<const N: usize>(seed: u8) -> [u8; N] {
        std::array::from_fn(|i| seed.wrapping_mul(31).wrapping_add(i as u8))
    }

    fn vault() -> VaultKey {
        create(PASS, &random(1), 1_700_000_000).unwrap()
    }

    #[test]
    fn seals_and_opens_per_field() {
        let key = vault();
        let env = seal(
            &key.public(),
            "card_number",
            "4111 1111 1111 1111",
            &random(2),
        )
        .unwrap();
        assert!(env.starts_with(&format!("pcv1.{}.", key.key_id)), "{env}");
        assert!(is_envelope_for(&env, &key.key_id));
        let unlocked = unlock(&key, PASS).unwrap();
        assert_eq!(
            open(&unlocked, "card_number", &env).unwrap(),
            "4111 1111 1111 1111"
        );
        // Moved to another field: the aad differs.
        assert_eq!(open(&unlocked, "cvv", &env), Err(VaultError::Tampered));
    }

    #[test]
    fn a_wrong_passphrase_is_refused_and_reveals_nothing() {
        let key = vault();
        assert_eq!(
            unlock(&key, "correct horse battery!").unwrap_err(),
            VaultError::WrongPassphrase
        );
        assert_eq!(unlock(&key, "").unwrap_err(), VaultError::WrongPassphrase);
    }

    #[test]
    fn short_passphrases_are_refused() {
        assert_eq!(
            create("eleven char", &random(1), 0).unwrap_err(),
            VaultError::PassphraseTooShort
        );
        // Counted in characters, not bytes.
        assert_eq!(
            create("ééééééééééé", &random(1), 0).unwrap_err(),
            VaultError::PassphraseTooShort
        );
        assert!(create("twelve chars", &random(1), 0).is_ok());
    }

    #[test]
    fn rewrapping_keeps_every_envelope_readable() {
        let key = vault();
        let env = seal(&key.public(), "domain_password", "hunter2", &random(3)).unwrap();
        let reset = rewrap(
            &key,
            PASS,
            "a brand new passphrase",
            &random(4),
            1_800_000_000,
        )
        .unwrap();
        assert_eq!(reset.key_id, key.key_id);
        assert_eq!(reset.public_key, key.public_key);
        assert_ne!(reset.wrapped, key.wrapped);
        assert_eq!(
            unlock(&reset, PASS).unwrap_err(),
            VaultError::WrongPassphrase
        );
        let unlocked = unlock(&reset, "a brand new passphrase").unwrap();
        assert_eq!(open(&unlocked, "domain_password", &env).unwrap(), "hunter2");
        assert_eq!(
            rewrap(
                &key,
                "not the passphrase",
                "another new one!",
                &random(4),
                0
            )
            .unwrap_err(),
            VaultError::WrongPassphrase
        );
    }

    #[test]
    fn envelopes_of_another_key_pair_are_named_as_such() {
        let old = vault();
        let env = seal(&old.public(), "card_number", "4111", &random(5)).unwrap();
        let new = create(PASS, &random(9), 0).unwrap();
        assert_ne!(new.key_id, old.key_id);
        assert!(!is_envelope_for(&env, &new.key_id));
        let unlocked = unlock(&new, PASS).unwrap();
        assert_eq!(
            open(&unlocked, "card_number", &env),
            Err(VaultError::OtherKey)
        );
    }

    #[test]
    fn tampered_and_malformed_envelopes_are_refused() {
        let key = vault();
        let unlocked = unlock(&key, PASS).unwrap();
        let env = seal(&key.public(), "f", "secret", &random(6)).unwrap();
        let (head, body) = env.rsplit_once('.').unwrap();
        let mut bytes = B64URL.decode(body).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let flipped = format!("{head}.{}", B64URL.encode(&bytes));
        assert_eq!(open(&unlocked, "f", &flipped), Err(VaultError::Tampered));
        for bad in [
            "",
            "pcv1",
            "pcv2.x.y",
            "pcv1..AAAA",
            "pcv1.a.b.c",
            "pcv1.a.!!!",
            "pcv1.a.AAAA",
        ] {
            assert_eq!(
                open(&unlocked, "f", bad),
                Err(VaultError::Malformed),
                "{bad}"
            );
            assert!(!is_envelope_for(bad, &key.key_id));
        }
    }

    #[test]
    fn limits_are_errors() {
        let key = vault();
        let long = "x".repeat(MAX_VALUE_BYTES + 1);
        assert_eq!(
            seal(&key.public(), "f", &long, &random(1)),
            Err(VaultError::ValueTooLong)
        );
        assert_eq!(
            seal(&key.public(), "", "v", &random(1)),
            Err(VaultError::BadField)
        );
        let bad = PublicVault {
            public_key: "AAAA".into(),
            key_id: key.key_id.clone(),
        };
        assert_eq!(
            seal(&bad, "f", "v", &random(1)),
            Err(VaultError::BadPublicKey)
        );
        let huge = "p".repeat(MAX_PASSPHRASE_BYTES + 1);
        assert_eq!(
            create(&huge, &random(1), 0),
            Err(VaultError::PassphraseTooLong)
        );
    }

    /// RFC 9180 A.1.1 (this suite, base mode), read from the RFC's
    /// source and checked against a second copy (see the file's `source`).
    #[test]
    fn rfc_9180_a_1_1_vectors() {
        let v: serde_json::Value =
            serde_json::from_str(include_str!("../tests/vectors/hpke-rfc9180-a1-1.json")).unwrap();
        let hex = |k: &str| -> Vec<u8> {
            let s = v[k].as_str().unwrap();
            (0..s.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
                .collect()
        };
        let (sk_r, pk_r) = X25519HkdfSha256::derive_keypair(&hex("ikmR"));
        assert_eq!(pk_r.to_bytes().to_vec(), hex("pkRm"));
        // (skRm itself is not compared: x25519-dalek keeps the scalar clamped.)
        let info = hex("info");
        let first = &v["encryptions"][0];
        let field = |k: &str| -> Vec<u8> {
            let s = first[k].as_str().unwrap();
            (0..s.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
                .collect()
        };
        // The ephemeral key comes from the caller's random bytes: ikmE.
        let (enc, ct) = hpke_seal(
            &hex("pkRm"),
            &info,
            &field("aad"),
            &field("pt"),
            &hex("ikmE").try_into().unwrap(),
        )
        .unwrap();
        assert_eq!(enc, hex("enc"));
        assert_eq!(ct, field("ct"));
        assert_eq!(
            hpke_open(&sk_r, &info, &field("aad"), &enc, &ct).unwrap(),
            field("pt")
        );
        assert_eq!(
            hpke_open(&sk_r, &info, b"other aad", &enc, &ct),
            Err(VaultError::Tampered)
        );
    }

    #[test]
    fn batches_refuse_by_index_and_open_all_or_nothing() {
        let key = vault();
        let mut n = 0u8;
        let mut rand = |b: &mut [u8; SEAL_RANDOM]| {
            n += 1;
            *b = random(n);
        };
        let sealed = encrypt_batch(
            &key.public(),
            &read_request(r#"{"items":[{"field":"a","value":"one"},{"field":"b","value":"two"}]}"#)
                .unwrap(),
            &mut rand,
        )
        .unwrap();
        assert_eq!(sealed.len(), 2);
        let body = serde_json::json!({ "passphrase": PASS, "items": [
            { "field": "a", "envelope": sealed[0] }, { "field": "b", "envelope": sealed[1] } ] });
        let request: DecryptRequest = read_request(&body.to_string()).unwrap();
        assert_eq!(decrypt_batch(&key, &request).unwrap(), vec!["one", "two"]);
        // The second moved to field a: 422 naming index 1, no values.
        let moved = serde_json::json!({ "passphrase": PASS, "items": [
            { "field": "a", "envelope": sealed[0] }, { "field": "a", "envelope": sealed[1] } ] });
        let refused = decrypt_batch(&key, &read_request(&moved.to_string()).unwrap()).unwrap_err();
        assert_eq!((refused.status, refused.code), (422, "envelope_invalid"));
        assert!(refused.fields.contains(&("index", serde_json::json!(1))));
        let wrong = serde_json::json!({ "passphrase": "not the passphrase", "items": [
            { "field": "a", "envelope": sealed[0] } ] });
        let refused = decrypt_batch(&key, &read_request(&wrong.to_string()).unwrap()).unwrap_err();
        assert_eq!(
            (refused.status, refused.code, refused.fields.len()),
            (403, "wrong_passphrase", 0)
        );
        let empty: DecryptRequest =
            read_request(&format!(r#"{{"passphrase":"{PASS}","items":[]}}"#)).unwrap();
        assert_eq!(decrypt_batch(&key, &empty).unwrap_err().status, 422);
        let Err(refused) =
            read_request::<DecryptRequest>(r#"{"passphrase":"x","items":[],"extra":1}"#)
        else {
            panic!("an unknown member is refused");
        };
        assert_eq!(refused.status, 400);
        // The value is never quoted back.
        let Err(refused) =
            read_request::<EncryptRequest>(r#"{"items":[{"field":"c","value":4111111111111111}]}"#)
        else {
            panic!("a number is not a value");
        };
        assert!(!refused.message.contains("4111"), "{}", refused.message);
        assert!(refused.message.contains("column"), "{}", refused.message);
    }

    #[test]
    fn unwrapping_attempts_are_bounded_per_window() {
        let mut a = Attempts::default();
        for _ in 0..MAX_ATTEMPTS {
            a = a.take(1_000).unwrap();
        }
        let refused = a.take(1_030).unwrap_err();
        assert_eq!(refused.status, 429);
        assert!(refused.headers.contains(&("Retry-After", "30".to_owned())));
        assert_eq!(a.take(1_060).unwrap().count, 1, "a new window");
    }

    #[test]
    fn altered_records_are_refused_before_argon2_or_use() {
        let key = vault();
        let other = create(PASS, &random(7), 0).unwrap();
        // Another public key, or id, than the wrapped private key's.
        let swapped = VaultKey {
            public_key: other.public_key.clone(),
            ..key.clone()
        };
        assert_eq!(unlock(&swapped, PASS).unwrap_err(), VaultError::DamagedKey);
        let renamed = VaultKey {
            key_id: "x".into(),
            ..key.clone()
        };
        assert!(unlock(&renamed, PASS).is_err());
        // A cost no Worker can pay, or weaker than ours.
        for kdf in [
            KdfParams {
                memory_kib: u32::MAX,
                ..KdfParams::DEFAULT
            },
            KdfParams {
                memory_kib: 8,
                ..KdfParams::DEFAULT
            },
            KdfParams {
                iterations: u32::MAX,
                ..KdfParams::DEFAULT
            },
        ] {
            let costly = VaultKey { kdf, ..key.clone() };
            assert_eq!(unlock(&costly, PASS).unwrap_err(), VaultError::DamagedKey);
        }
        let short = VaultKey {
            nonce: "AAAA".into(),
            ..key.clone()
        };
        assert_eq!(unlock(&short, PASS).unwrap_err(), VaultError::DamagedKey);
    }

    #[test]
    fn a_window_from_the_future_is_over() {
        let stuck = Attempts {
            window_start: u64::MAX,
            count: MAX_ATTEMPTS,
        };
        assert_eq!(
            stuck.take(1_000).unwrap(),
            Attempts {
                window_start: 1_000,
                count: 1
            }
        );
    }

    #[test]
    fn nothing_secret_in_debug_or_errors() {
        let key = vault();
        let unlocked = unlock(&key, PASS).unwrap();
        assert_eq!(format!("{unlocked:?}"), format!("Unlocked({})", key.key_id));
        let stored = serde_json::to_string(&key).unwrap();
        assert!(!stored.contains(PASS));
    }
}
