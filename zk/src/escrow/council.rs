//! The regulator council's key by a distributed key generation, and opening by decryption shares.
//!
//! **Key generation** (joint Feldman with publicly checkable complaints; Pedersen 1991, as
//! analysed by Gennaro, Jarecki, Krawczyk and Rabin). The council has `n` members numbered
//! `1..=n` and a threshold `t`; every message is a ledger transaction, so the transcript is
//! public and ordered.
//!
//! 1. Member `j` publishes a receiving key `E_j = [e_j]G` ([`ReceivingSecret`]).
//! 2. Member `i` deals ([`deal`]): a random polynomial `f_i` of degree `t − 1`; commitments
//!    `A_ik = [a_ik]G`; a Schnorr proof of knowledge of `a_i0` (so no dealer can publish a
//!    constant term computed from the others' to cancel them); one ephemeral `R_i = [ρ]G` with a
//!    Schnorr proof of knowledge of `ρ`; and for each member `j` the share `f_i(j)` plus a mask
//!    hashed from `K_ij = [ρ]E_j`.
//! 3. Member `j` removes the mask with `K_ij = [e_j]R_i` and checks `[s_ij]G = Σ_k [j^k]A_ik`
//!    ([`Dealing::share_for`]). If the check fails it publishes a [`Complaint`]: `K_ij` with a
//!    Chaum–Pedersen proof that `log_G E_j = log_{R_i} K_ij`. Anyone then removes the mask and
//!    checks the share: a complaint that holds disqualifies the dealer, one that does not is
//!    refused ([`Complaint::holds`]). Revealing `K_ij = [ρ]E_j` reveals only the accused
//!    dealer's share: the dealer proved it knows `ρ`, so `K_ij` is a value it could compute
//!    itself, and no dealer can publish another dealer's ephemeral (or a multiple of it) to make
//!    honest members' complaints unmask that dealer's shares (hostile review of issue 18).
//! 4. The qualified dealers are those with a valid dealing and no complaint that holds; there
//!    must be at least `t`. The council key is `K = Σ A_i0`, member `j`'s verification key
//!    `X_j = Σ_i Σ_k [j^k]A_ik`, its share `x_j = Σ_i s_ij` ([`Council::from_transcript`],
//!    [`CouncilShare::new`]).
//!
//! Secrecy: the council's secret `x = Σ f_i(0)` is never computed anywhere. `t − 1` colluding
//! members see `t − 1` evaluations of each honest dealer's polynomial, which say nothing of its
//! constant term; at least one qualified dealer is honest because at least `t` qualify. An
//! honest dealer is never disqualified (a complaint must prove the share it reveals). Joint
//! Feldman lets the last dealers bias the distribution of `K` (GJKR 2007); the bias does not
//! help anyone learn the discrete logarithm of `K` or decrypt to it (Gennaro, Jarecki, Krawczyk
//! and Rabin, "Secure applications of Pedersen's distributed key generation protocol", CT-RSA
//! 2003), which is all the escrow needs.
//!
//! **Opening**: member `j` publishes `D_j = [x_j]C1` and a Chaum–Pedersen proof that
//! `log_G X_j = log_{C1} D_j`, bound to the opening it answers ([`CouncilShare::decrypt`]);
//! [`Council::open`] checks every share and combines `t` of them. Fewer than `t` shares are
//! `t − 1` points of a polynomial of degree `t − 1` in the exponent: they fix nothing of `[x]C1`.

use super::sigma::{self, EqualLogs};
use super::{
    Ciphertext, CouncilKey, Point, Scalar, decrypt_with, generator, malformed, point_bytes, point_from_bytes,
    random_scalar, scalar_bytes, scalar_from_bytes, wide_scalar,
};
use crate::ZkError;
use ark_bn254::Fr;
use ark_ec::{AffineRepr, CurveGroup};
use ark_ff::{Field, One, Zero};
use core::fmt;
use rand_core::CryptoRngCore;
use schemas::Hash;
use schemas::hash::Domain;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// Most members a council can have (a dealing carries one share per member).
pub const MAX_COUNCIL_MEMBERS: u16 = 64;

/// Largest encoded dealing: header, `t ≤ n` commitments, the ephemeral, `n` shares, two proofs.
pub const MAX_DEALING_BYTES: usize = 6 + 32 * (2 * MAX_COUNCIL_MEMBERS as usize + 1) + 2 * sigma::PROOF_BYTES;

/// Size of an encoded complaint.
pub const COMPLAINT_BYTES: usize = 4 + 32 + sigma::PROOF_BYTES;

/// Size of an encoded decryption share.
pub const DECRYPTION_SHARE_BYTES: usize = 2 + 32 + sigma::PROOF_BYTES;

const KNOWLEDGE: Domain = Domain::new("credence/council-dealer-knowledge/v1");
const MASK: Domain = Domain::new("credence/council-share-mask/v1");
const COMPLAINT: Domain = Domain::new("credence/council-complaint/v1");
const DECRYPTION: Domain = Domain::new("credence/council-decryption/v1");

fn refuse(reason: impl Into<String>) -> ZkError {
    ZkError::Council {
        reason: reason.into(),
    }
}

/// One council generation as the ledger fixes it: its id (hashed into every proof and mask, so
/// nothing carries over from another generation), `t` and `n`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CouncilParams {
    context: Hash,
    threshold: u16,
    members: u16,
}

impl CouncilParams {
    /// Checks `1 ≤ t ≤ n ≤ MAX_COUNCIL_MEMBERS`.
    pub fn new(context: Hash, threshold: u16, members: u16) -> Result<Self, ZkError> {
        if members == 0 || members > MAX_COUNCIL_MEMBERS {
            return Err(refuse(format!(
                "a council has 1 to {MAX_COUNCIL_MEMBERS} members, not {members}"
            )));
        }
        if threshold == 0 || threshold > members {
            return Err(refuse(format!(
                "the threshold must be between 1 and the {members} members, not {threshold}"
            )));
        }
        Ok(CouncilParams {
            context,
            threshold,
            members,
        })
    }

    /// `t`.
    pub fn threshold(&self) -> u16 {
        self.threshold
    }

    /// `n`.
    pub fn members(&self) -> u16 {
        self.members
    }

    fn check_index(&self, who: &str, index: u16) -> Result<(), ZkError> {
        if index == 0 || index > self.members {
            return Err(refuse(format!(
                "{who} {index} is not a member: members are numbered 1 to {}",
                self.members
            )));
        }
        Ok(())
    }

    /// The bytes a proof or mask is bound to: this generation, the act, who, and about what.
    fn act(&self, act: u8, a: u16, b: u16, about: &[u8; 32]) -> Vec<u8> {
        let mut out = Vec::with_capacity(32 + 1 + 4 + 32);
        out.extend_from_slice(self.context.as_bytes());
        out.push(act);
        out.extend_from_slice(&a.to_le_bytes());
        out.extend_from_slice(&b.to_le_bytes());
        out.extend_from_slice(about);
        out
    }

    fn mask(&self, dealer: u16, member: u16, key: &Point) -> Scalar {
        wide_scalar(MASK, &self.act(1, dealer, member, &point_bytes(key)))
    }
}

/// A member's secret for receiving its shares during key generation.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct ReceivingSecret(Scalar);

impl ReceivingSecret {
    /// A fresh secret.
    pub fn random(rng: &mut impl CryptoRngCore) -> Self {
        ReceivingSecret(random_scalar(rng))
    }

    /// The key others encrypt shares to.
    pub fn public(&self) -> ReceivingKey {
        ReceivingKey((generator() * self.0).into_affine())
    }

    /// The 32-byte encoding (for the member's encrypted store).
    pub fn to_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(scalar_bytes(&self.0))
    }

    /// Restores a secret from [`ReceivingSecret::to_bytes`].
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, ZkError> {
        scalar_from_bytes(bytes)
            .filter(|s| !s.is_zero())
            .map(ReceivingSecret)
            .ok_or_else(|| malformed("receiving secret", "not a nonzero Baby Jubjub scalar"))
    }
}

impl fmt::Debug for ReceivingSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReceivingSecret").finish_non_exhaustive()
    }
}

/// A member's published receiving key `E_j`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReceivingKey(Point);

impl ReceivingKey {
    /// The compressed point.
    pub fn to_bytes(&self) -> [u8; 32] {
        point_bytes(&self.0)
    }

    /// Parses a receiving key (a subgroup point, not the identity).
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, ZkError> {
        point_from_bytes(bytes).map(ReceivingKey).ok_or_else(|| {
            malformed(
                "receiving key",
                "not a point of Baby Jubjub's prime-order subgroup",
            )
        })
    }
}

/// `Σ_k [j^k]A_k`, the commitment to `f(j)`.
fn commitment_at(commitments: &[Point], j: u16) -> ark_ed_on_bn254::EdwardsProjective {
    let x = Scalar::from(u64::from(j));
    commitments
        .iter()
        .rev()
        .fold(ark_ed_on_bn254::EdwardsProjective::zero(), |acc, a| acc * x + a)
}

/// One dealer's published dealing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dealing {
    dealer: u16,
    commitments: Vec<Point>,
    ephemeral: Point,
    shares: Vec<Scalar>,
    /// Knowledge of `a_0`.
    knowledge: EqualLogs,
    /// Knowledge of `ρ`.
    ephemeral_knowledge: EqualLogs,
}

/// Deals member `dealer`'s polynomial to every member's receiving key (in member order).
pub fn deal(
    params: &CouncilParams,
    dealer: u16,
    recipients: &[ReceivingKey],
    rng: &mut impl CryptoRngCore,
) -> Result<Dealing, ZkError> {
    params.check_index("dealer", dealer)?;
    if recipients.len() != usize::from(params.members) {
        return Err(refuse(format!(
            "{} receiving keys for {} members",
            recipients.len(),
            params.members
        )));
    }
    let coefficients: Zeroizing<Vec<Scalar>> =
        Zeroizing::new((0..params.threshold).map(|_| random_scalar(rng)).collect());
    let commitments = coefficients
        .iter()
        .map(|a| (generator() * a).into_affine())
        .collect();
    let rho = Zeroizing::new(random_scalar(rng));
    let shares = recipients
        .iter()
        .zip(1..=params.members)
        .map(|(e, j)| {
            let x = Scalar::from(u64::from(j));
            let value = Zeroizing::new(
                coefficients
                    .iter()
                    .rev()
                    .fold(Scalar::zero(), |acc, a| acc * x + a),
            );
            let key = Zeroizing::new((e.0 * *rho).into_affine());
            *value + params.mask(dealer, j, &key)
        })
        .collect();
    let knowledge = EqualLogs::prove(
        KNOWLEDGE,
        &params.act(0, dealer, 0, &[0; 32]),
        &[generator()],
        &coefficients[0],
        rng,
    );
    let ephemeral_knowledge = EqualLogs::prove(
        KNOWLEDGE,
        &params.act(4, dealer, 0, &[0; 32]),
        &[generator()],
        &rho,
        rng,
    );
    Ok(Dealing {
        dealer,
        commitments,
        ephemeral: (generator() * *rho).into_affine(),
        shares,
        knowledge,
        ephemeral_knowledge,
    })
}

/// A share a member received from one dealer.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct ReceivedShare(Scalar);

impl ReceivedShare {
    /// The 32-byte encoding (for the member's encrypted store).
    pub fn to_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(scalar_bytes(&self.0))
    }

    /// Restores [`ReceivedShare::to_bytes`]; `None` unless a canonical scalar.
    pub fn from_bytes(bytes: &[u8; 32]) -> Option<Self> {
        scalar_from_bytes(bytes).map(ReceivedShare)
    }
}

impl fmt::Debug for ReceivedShare {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReceivedShare").finish_non_exhaustive()
    }
}

impl Dealing {
    /// The dealer's member number.
    pub fn dealer(&self) -> u16 {
        self.dealer
    }

    /// What anyone checks before the ledger accepts a dealing: the dealer is a member, it
    /// commits to a polynomial of degree `t − 1`, carries a share for each of the `n` members,
    /// and proves it knows its constant term and its ephemeral secret.
    pub fn check(&self, params: &CouncilParams) -> Result<(), ZkError> {
        params.check_index("dealer", self.dealer)?;
        if self.commitments.len() != usize::from(params.threshold) {
            return Err(refuse(format!(
                "the dealing commits to {} coefficients; the threshold {} needs {}",
                self.commitments.len(),
                params.threshold,
                params.threshold
            )));
        }
        if self.shares.len() != usize::from(params.members) {
            return Err(refuse(format!(
                "the dealing carries {} shares for {} members",
                self.shares.len(),
                params.members
            )));
        }
        if !self.knowledge.verify(
            KNOWLEDGE,
            &params.act(0, self.dealer, 0, &[0; 32]),
            &[generator()],
            &self.commitments[..1],
        ) {
            return Err(refuse(format!(
                "dealer {}'s proof of knowing its constant term does not verify",
                self.dealer
            )));
        }
        if !self.ephemeral_knowledge.verify(
            KNOWLEDGE,
            &params.act(4, self.dealer, 0, &[0; 32]),
            &[generator()],
            &[self.ephemeral],
        ) {
            return Err(refuse(format!(
                "dealer {}'s proof of knowing its ephemeral secret does not verify",
                self.dealer
            )));
        }
        Ok(())
    }

    /// Member `me`'s share of this dealing, checked against the commitments; a [`Complaint`] to
    /// publish when it does not match.
    pub fn share_for(
        &self,
        params: &CouncilParams,
        me: u16,
        secret: &ReceivingSecret,
        rng: &mut impl CryptoRngCore,
    ) -> Result<ReceivedShare, Box<Complaint>> {
        let key = Zeroizing::new((self.ephemeral * secret.0).into_affine());
        if let Some(share) = self.unmask(params, me, &key) {
            return Ok(share);
        }
        let proof = EqualLogs::prove(
            COMPLAINT,
            &params.act(2, self.dealer, me, &[0; 32]),
            &[generator(), self.ephemeral],
            &secret.0,
            rng,
        );
        Err(Box::new(Complaint {
            dealer: self.dealer,
            accuser: me,
            key: *key,
            proof,
        }))
    }

    /// The share for `member` unmasked with `key`, if it matches the commitments.
    fn unmask(&self, params: &CouncilParams, member: u16, key: &Point) -> Option<ReceivedShare> {
        let masked = self.shares.get(usize::from(member).checked_sub(1)?)?;
        let share = ReceivedShare(*masked - params.mask(self.dealer, member, key));
        (generator() * share.0 == commitment_at(&self.commitments, member)).then_some(share)
    }

    /// `dealer u16 ‖ t u16 ‖ n u16 ‖ A_0..A_{t−1} ‖ R ‖ shares ‖ proof(a_0) ‖ proof(ρ)`,
    /// integers little endian.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(6 + 32 * (self.commitments.len() + 1 + self.shares.len()) + 128);
        out.extend_from_slice(&self.dealer.to_le_bytes());
        out.extend_from_slice(&(self.commitments.len() as u16).to_le_bytes());
        out.extend_from_slice(&(self.shares.len() as u16).to_le_bytes());
        for a in &self.commitments {
            out.extend_from_slice(&point_bytes(a));
        }
        out.extend_from_slice(&point_bytes(&self.ephemeral));
        for s in &self.shares {
            out.extend_from_slice(&scalar_bytes(s));
        }
        out.extend_from_slice(&self.knowledge.to_bytes());
        out.extend_from_slice(&self.ephemeral_knowledge.to_bytes());
        out
    }

    /// Parses [`Dealing::to_bytes`]; [`Dealing::check`] then checks it against a council.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ZkError> {
        let bad = |reason: String| malformed("council dealing", reason);
        if bytes.len() > MAX_DEALING_BYTES {
            return Err(bad(format!(
                "{} bytes; a dealing is at most {MAX_DEALING_BYTES}",
                bytes.len()
            )));
        }
        let mut r = Reader(bytes);
        let dealer = r.u16().ok_or_else(|| bad("it ends inside its header".into()))?;
        let t = r.u16().ok_or_else(|| bad("it ends inside its header".into()))?;
        let n = r.u16().ok_or_else(|| bad("it ends inside its header".into()))?;
        if n > MAX_COUNCIL_MEMBERS || t > n {
            return Err(bad(format!("{t} of {n} is not a council")));
        }
        let point = |r: &mut Reader<'_>, what: &str| {
            let b = r
                .take::<32>()
                .ok_or_else(|| bad(format!("it ends inside {what}")))?;
            point_from_bytes(b).ok_or_else(|| bad(format!("{what} is not a subgroup point")))
        };
        let commitments = (0..t)
            .map(|k| point(&mut r, &format!("commitment {k}")))
            .collect::<Result<Vec<_>, _>>()?;
        let ephemeral = point(&mut r, "the ephemeral key")?;
        let shares = (0..n)
            .map(|j| {
                let b = r
                    .take::<32>()
                    .ok_or_else(|| bad(format!("it ends inside share {j}")))?;
                scalar_from_bytes(b).ok_or_else(|| bad(format!("share {j} is not a canonical scalar")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut proof = || {
            r.take::<{ sigma::PROOF_BYTES }>()
                .and_then(EqualLogs::from_bytes)
                .ok_or_else(|| bad("a proof of knowledge is missing or not two scalars".into()))
        };
        let knowledge = proof()?;
        let ephemeral_knowledge = proof()?;
        if !r.0.is_empty() {
            return Err(bad(format!("{} bytes after the proof", r.0.len())));
        }
        Ok(Dealing {
            dealer,
            commitments,
            ephemeral,
            shares,
            knowledge,
            ephemeral_knowledge,
        })
    }
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take<const N: usize>(&mut self) -> Option<&'a [u8; N]> {
        let (head, rest) = self.0.split_first_chunk::<N>()?;
        self.0 = rest;
        Some(head)
    }

    fn u16(&mut self) -> Option<u16> {
        self.take::<2>().map(|b| u16::from_le_bytes(*b))
    }
}

/// A member's public accusation that a dealer sent it a share that does not match the dealer's
/// commitments: it reveals the key that unmasks that one share, with a proof that it is the key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Complaint {
    dealer: u16,
    accuser: u16,
    key: Point,
    proof: EqualLogs,
}

impl Complaint {
    /// The accused dealer.
    pub fn dealer(&self) -> u16 {
        self.dealer
    }

    /// The member complaining.
    pub fn accuser(&self) -> u16 {
        self.accuser
    }

    /// Checks the complaint against the dealing it accuses and the accuser's receiving key:
    /// `Ok(true)`, the dealer sent a bad share and is disqualified; `Ok(false)`, the share was
    /// good and the complaint is unfounded; an error, the complaint proves nothing (its key is
    /// not the accuser's, or it names another dealing).
    pub fn holds(
        &self,
        params: &CouncilParams,
        dealing: &Dealing,
        accuser_key: &ReceivingKey,
    ) -> Result<bool, ZkError> {
        params.check_index("accuser", self.accuser)?;
        if dealing.dealer != self.dealer {
            return Err(refuse(format!(
                "the complaint accuses dealer {}, not dealer {}",
                self.dealer, dealing.dealer
            )));
        }
        if !self.proof.verify(
            COMPLAINT,
            &params.act(2, self.dealer, self.accuser, &[0; 32]),
            &[generator(), dealing.ephemeral],
            &[accuser_key.0, self.key],
        ) {
            return Err(refuse(format!(
                "member {}'s complaint does not prove its revealed key",
                self.accuser
            )));
        }
        Ok(dealing.unmask(params, self.accuser, &self.key).is_none())
    }

    /// `dealer u16 ‖ accuser u16 ‖ K ‖ proof`.
    pub fn to_bytes(&self) -> [u8; COMPLAINT_BYTES] {
        let mut out = [0u8; COMPLAINT_BYTES];
        out[..2].copy_from_slice(&self.dealer.to_le_bytes());
        out[2..4].copy_from_slice(&self.accuser.to_le_bytes());
        out[4..36].copy_from_slice(&point_bytes(&self.key));
        out[36..].copy_from_slice(&self.proof.to_bytes());
        out
    }

    /// Parses [`Complaint::to_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ZkError> {
        let bad = |reason: &str| malformed("council complaint", reason);
        let bytes: &[u8; COMPLAINT_BYTES] = bytes
            .try_into()
            .map_err(|_| bad("a complaint is exactly 100 bytes"))?;
        let mut r = Reader(bytes);
        let dealer = r.u16().ok_or_else(|| bad("short"))?;
        let accuser = r.u16().ok_or_else(|| bad("short"))?;
        let key = r
            .take::<32>()
            .and_then(point_from_bytes)
            .ok_or_else(|| bad("its key is not a subgroup point"))?;
        let proof = r
            .take::<{ sigma::PROOF_BYTES }>()
            .and_then(EqualLogs::from_bytes)
            .ok_or_else(|| bad("its proof is not two scalars"))?;
        Ok(Complaint {
            dealer,
            accuser,
            key,
            proof,
        })
    }
}

/// The council as its key generation left it: public, computed by anyone from the transcript.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Council {
    params: CouncilParams,
    key: CouncilKey,
    /// `X_1..X_n`.
    verification: Vec<Point>,
    /// The dealers whose polynomials make the key, ascending.
    qualified: Vec<u16>,
}

impl Council {
    /// The council from every dealing the ledger accepted and the dealers that complaints
    /// disqualified. Refused with fewer than `t` qualified dealers (then a coalition of `t − 1`
    /// could know the key) or two dealings from one dealer.
    pub fn from_transcript(
        params: &CouncilParams,
        dealings: &[Dealing],
        disqualified: &[u16],
    ) -> Result<Self, ZkError> {
        let mut qualified: Vec<&Dealing> = Vec::with_capacity(dealings.len());
        for d in dealings {
            d.check(params)?;
            if qualified.iter().any(|q| q.dealer == d.dealer) {
                return Err(refuse(format!("dealer {} dealt twice", d.dealer)));
            }
            if !disqualified.contains(&d.dealer) {
                qualified.push(d);
            }
        }
        if qualified.len() < usize::from(params.threshold) {
            return Err(refuse(format!(
                "{} qualified dealers; the threshold {} needs at least as many",
                qualified.len(),
                params.threshold
            )));
        }
        qualified.sort_by_key(|d| d.dealer);
        let key = qualified
            .iter()
            .fold(ark_ed_on_bn254::EdwardsProjective::zero(), |acc, d| {
                acc + d.commitments[0]
            })
            .into_affine();
        if key.is_zero() {
            return Err(refuse(
                "the dealers' constant terms cancel: the key is the identity",
            ));
        }
        let verification = (1..=params.members)
            .map(|j| {
                qualified
                    .iter()
                    .fold(ark_ed_on_bn254::EdwardsProjective::zero(), |acc, d| {
                        acc + commitment_at(&d.commitments, j)
                    })
                    .into_affine()
            })
            .collect();
        Ok(Council {
            params: *params,
            key: CouncilKey(key),
            verification,
            qualified: qualified.iter().map(|d| d.dealer).collect(),
        })
    }

    /// A council from what an earlier [`Council::from_transcript`] computed and the ledger
    /// stored (reading it back costs a point decoding per member instead of the whole
    /// transcript's arithmetic).
    pub(crate) fn from_parts(
        params: &CouncilParams,
        key: CouncilKey,
        verification: Vec<Point>,
        qualified: Vec<u16>,
    ) -> Result<Self, ZkError> {
        if verification.len() != usize::from(params.members) {
            return Err(refuse(format!(
                "{} verification keys for {} members",
                verification.len(),
                params.members
            )));
        }
        Ok(Council {
            params: *params,
            key,
            verification,
            qualified,
        })
    }

    /// The key holders encrypt to.
    pub fn key(&self) -> CouncilKey {
        self.key
    }

    /// Its parameters.
    pub fn params(&self) -> &CouncilParams {
        &self.params
    }

    /// The dealers whose polynomials make the key.
    pub fn qualified(&self) -> &[u16] {
        &self.qualified
    }

    /// `X_j`, compressed.
    pub fn verification_key(&self, member: u16) -> Option<[u8; 32]> {
        let i = usize::from(member).checked_sub(1)?;
        self.verification.get(i).map(point_bytes)
    }

    /// Checks one decryption share for `ct` in the opening `opening`.
    pub fn check_share(
        &self,
        ct: &Ciphertext,
        opening: &Hash,
        share: &DecryptionShare,
    ) -> Result<(), ZkError> {
        self.params.check_index("share from member", share.member)?;
        let x = self.verification[usize::from(share.member) - 1];
        if share.proof.verify(
            DECRYPTION,
            &self.params.act(3, share.member, 0, opening.as_bytes()),
            &[generator(), ct.c1],
            &[x, share.point],
        ) {
            Ok(())
        } else {
            Err(ZkError::BadShare { member: share.member })
        }
    }

    /// Opens `ct` with `t` shares from distinct members, each checked: the handle as a field
    /// element.
    pub fn open(&self, ct: &Ciphertext, opening: &Hash, shares: &[DecryptionShare]) -> Result<Fr, ZkError> {
        let mut used: Vec<&DecryptionShare> = Vec::with_capacity(usize::from(self.params.threshold));
        for s in shares {
            self.check_share(ct, opening, s)?;
            if used.iter().any(|u| u.member == s.member) {
                return Err(refuse(format!("two shares from member {}", s.member)));
            }
            if used.len() < usize::from(self.params.threshold) {
                used.push(s);
            }
        }
        if used.len() < usize::from(self.params.threshold) {
            return Err(ZkError::TooFewShares {
                have: used.len(),
                need: usize::from(self.params.threshold),
            });
        }
        let indices: Vec<u16> = used.iter().map(|s| s.member).collect();
        let shared = used
            .iter()
            .map(|s| s.point * lagrange_at_zero(&indices, s.member))
            .sum::<ark_ed_on_bn254::EdwardsProjective>()
            .into_affine();
        Ok(decrypt_with(ct, &shared))
    }
}

/// `λ_j = Π_{m ≠ j} m / (m − j)` over the distinct nonzero `indices`.
fn lagrange_at_zero(indices: &[u16], j: u16) -> Scalar {
    let xj = Scalar::from(u64::from(j));
    let (num, den) = indices
        .iter()
        .filter(|m| **m != j)
        .fold((Scalar::one(), Scalar::one()), |(n, d), m| {
            let xm = Scalar::from(u64::from(*m));
            (n * xm, d * (xm - xj))
        });
    num * den.inverse().expect("indices are distinct, so no factor is zero")
}

/// A member's share `x_j` of the council's secret.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct CouncilShare {
    member: u16,
    secret: Scalar,
}

impl fmt::Debug for CouncilShare {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CouncilShare")
            .field("member", &self.member)
            .finish_non_exhaustive()
    }
}

impl CouncilShare {
    /// Member `member`'s share: the sum of what it received from each qualified dealer, checked
    /// against its public verification key.
    pub fn new(council: &Council, member: u16, received: &[(u16, ReceivedShare)]) -> Result<Self, ZkError> {
        council.params.check_index("member", member)?;
        let mut secret = Zeroizing::new(Scalar::zero());
        for dealer in &council.qualified {
            let (_, s) = received
                .iter()
                .find(|(d, _)| d == dealer)
                .ok_or_else(|| refuse(format!("no share from qualified dealer {dealer}")))?;
            *secret += s.0;
        }
        let share = CouncilShare {
            member,
            secret: *secret,
        };
        if (generator() * share.secret).into_affine() != council.verification[usize::from(member) - 1] {
            return Err(refuse(format!(
                "member {member}'s shares do not sum to its verification key"
            )));
        }
        Ok(share)
    }

    /// Its member number.
    pub fn member(&self) -> u16 {
        self.member
    }

    /// This member's decryption share of `ct` for the approved opening `opening`.
    pub fn decrypt(
        &self,
        council: &Council,
        ct: &Ciphertext,
        opening: &Hash,
        rng: &mut impl CryptoRngCore,
    ) -> DecryptionShare {
        DecryptionShare {
            member: self.member,
            point: (ct.c1 * self.secret).into_affine(),
            proof: EqualLogs::prove(
                DECRYPTION,
                &council.params.act(3, self.member, 0, opening.as_bytes()),
                &[generator(), ct.c1],
                &self.secret,
                rng,
            ),
        }
    }

    /// `member u16 ‖ x_j`, for the member's encrypted store.
    pub fn to_bytes(&self) -> Zeroizing<[u8; 34]> {
        let mut out = Zeroizing::new([0u8; 34]);
        out[..2].copy_from_slice(&self.member.to_le_bytes());
        out[2..].copy_from_slice(&scalar_bytes(&self.secret));
        out
    }

    /// Restores [`CouncilShare::to_bytes`].
    pub fn from_bytes(bytes: &[u8; 34]) -> Result<Self, ZkError> {
        let member = u16::from_le_bytes([bytes[0], bytes[1]]);
        if member == 0 || member > MAX_COUNCIL_MEMBERS {
            return Err(malformed(
                "council share",
                format!("member {member} is not a member number"),
            ));
        }
        let secret = scalar_from_bytes(bytes[2..].try_into().expect("32 bytes"))
            .ok_or_else(|| malformed("council share", "not a canonical scalar"))?;
        Ok(CouncilShare { member, secret })
    }
}

/// A member's published decryption share `D_j = [x_j]C1` with its proof.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecryptionShare {
    member: u16,
    point: Point,
    proof: EqualLogs,
}

impl DecryptionShare {
    /// The member it is from.
    pub fn member(&self) -> u16 {
        self.member
    }

    /// `member u16 ‖ D_j ‖ proof`.
    pub fn to_bytes(&self) -> [u8; DECRYPTION_SHARE_BYTES] {
        let mut out = [0u8; DECRYPTION_SHARE_BYTES];
        out[..2].copy_from_slice(&self.member.to_le_bytes());
        out[2..34].copy_from_slice(&point_bytes(&self.point));
        out[34..].copy_from_slice(&self.proof.to_bytes());
        out
    }

    /// Parses [`DecryptionShare::to_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ZkError> {
        let bad = |reason: &str| malformed("decryption share", reason);
        let bytes: &[u8; DECRYPTION_SHARE_BYTES] = bytes
            .try_into()
            .map_err(|_| bad("a decryption share is exactly 98 bytes"))?;
        let mut r = Reader(bytes);
        let member = r.u16().ok_or_else(|| bad("short"))?;
        let point = r
            .take::<32>()
            .and_then(point_from_bytes)
            .ok_or_else(|| bad("its point is not a subgroup point"))?;
        let proof = r
            .take::<{ sigma::PROOF_BYTES }>()
            .and_then(EqualLogs::from_bytes)
            .ok_or_else(|| bad("its proof is not two scalars"))?;
        Ok(DecryptionShare { member, point, proof })
    }
}
