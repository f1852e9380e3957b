//! The key owner (the hospital): its keys, what only it can do for the cloud during training, and the in-process
//! key owner, which answers only what the agreed schedule asks.

use super::layout::Layout;
use super::plain::{Softmax, Validation};
use super::schedule::{EarlyStopping, Verdict};
use super::softmax::SoftmaxApprox;
use crate::keystore::CloudKeys;
use anyhow::{Result, bail};
use medblind_core::ckks::bootstrap::{BootstrapLiteral, Bootstrapper, fresh_level, generate_encapsulation_keys};
use medblind_core::ckks::{
    Context, Ct, Decryptor, Encoder, EncryptionKey, Encryptor, EvaluationKeys, GaloisKey, RelinearizationKey, SecretKey,
};
use medblind_core::ckks::{conjugation_galois_element, keep_highest_levels, rotation_galois_element};
use medblind_core::wire::KeyId;
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use rayon::prelude::*;
use std::sync::Mutex;
use zeroize::Zeroizing;

/// The largest magnitude a refreshed value keeps: far above any weight, exponential or probability an honest
/// cloud refreshes, so a refresh reply never depends on what the ciphertext decrypts to.
pub const REFRESH_BOUND: f64 = 1024.0;

/// The key owner (the hospital): encrypts at the fresh level, decrypts, makes the cloud's keys, and refreshes
/// ciphertexts (decrypt and re-encrypt freshly; the decryption never leaves the key owner).
pub struct KeyOwner<'a> {
    ctx: &'a Context<Vec<u64>>,
    encoder: &'a Encoder<Vec<f64>>,
    sk: SecretKey<Vec<u64>>,
    key: KeyId,
    rng: Mutex<ChaCha20Rng>,
}

impl<'a> KeyOwner<'a> {
    /// A key owner with a fresh secret key and key pair identity from the operating system's CSPRNG.
    pub fn generate(ctx: &'a Context<Vec<u64>>, encoder: &'a Encoder<Vec<f64>>) -> Self {
        let mut rng = ChaCha20Rng::from_os_rng();
        let sk = SecretKey::generate(ctx, &mut rng);
        let key = KeyId::random(&mut rng);
        Self { ctx, encoder, sk, key, rng: Mutex::new(rng) }
    }

    /// The key owner of an existing secret key of key pair `key` (from the hospital's key folder).
    pub fn from_secret(
        ctx: &'a Context<Vec<u64>>,
        encoder: &'a Encoder<Vec<f64>>,
        sk: SecretKey<Vec<u64>>,
        key: KeyId,
    ) -> Self {
        Self { ctx, encoder, sk, key, rng: Mutex::new(ChaCha20Rng::from_os_rng()) }
    }

    /// The secret key, for the hospital's own files.
    pub fn secret_key(&self) -> &SecretKey<Vec<u64>> {
        &self.sk
    }

    /// The key pair: every key and ciphertext of this owner names it.
    pub fn key(&self) -> KeyId {
        self.key
    }

    /// The relinearization key, rotation keys for `steps` and the conjugation key.
    pub fn cloud_keys(&self, steps: &[i64]) -> CloudKeys {
        let elements = self.rotation_levels(steps);
        let bar = crate::progress::items(elements.len() as u64 + 1, "generating evaluation keys", "keys");
        let relinearization = RelinearizationKey::generate(self.ctx, &self.sk, &mut self.generator());
        bar.inc(1);
        let galois = self.galois_keys(&elements, &bar);
        CloudKeys { key: self.key, keys: EvaluationKeys { relinearization, galois, encapsulation: None } }
    }

    /// The keys for rotations by `steps` and for bootstrapping under `literal` (one Galois key per element for
    /// both, made for the highest level either uses it at).
    ///
    /// # Errors
    /// If the parameters are not `literal`'s.
    pub fn bootstrapping_keys(&self, steps: &[i64], literal: &BootstrapLiteral) -> Result<CloudKeys> {
        if self.ctx.params().literal() != literal.params {
            bail!("bootstrapping is configured for parameter set {}", literal.params.name);
        }
        let mut elements = self.rotation_levels(steps);
        let n = self.ctx.degree();
        elements.extend(Bootstrapper::galois_levels_for(n, literal, n / 2)?);
        keep_highest_levels(&mut elements);
        let bar = crate::progress::items(elements.len() as u64 + 3, "generating evaluation keys", "keys");
        // The encapsulation and relinearization keys first, then the Galois keys under the bar.
        let mut generator = self.generator();
        let encapsulation = generate_encapsulation_keys(self.ctx, literal, &self.sk, &mut generator)?;
        let relinearization = RelinearizationKey::generate(self.ctx, &self.sk, &mut generator);
        bar.inc(3);
        let galois = self.galois_keys(&elements, &bar);
        Ok(CloudKeys {
            key: self.key,
            keys: EvaluationKeys { relinearization, galois, encapsulation: Some(encapsulation) },
        })
    }

    /// The Galois elements of the rotations by `steps` and of conjugation (the trainer's logits separate real and
    /// imaginary parts), sorted, each with the highest level the trainer uses it at: a fresh ciphertext's.
    fn rotation_levels(&self, steps: &[i64]) -> Vec<(u64, usize)> {
        let (n, level) = (self.ctx.degree(), self.fresh_level());
        let mut elements: Vec<(u64, usize)> = steps.iter().map(|&s| (rotation_galois_element(n, s), level)).collect();
        elements.push((conjugation_galois_element(n), level));
        keep_highest_levels(&mut elements);
        elements
    }

    /// One Galois key per element, each made for its level, on every core.
    fn galois_keys(&self, elements: &[(u64, usize)], bar: &indicatif::ProgressBar) -> Vec<GaloisKey<Vec<u64>>> {
        elements
            .par_iter()
            .map(|&(g, level)| {
                GaloisKey::generate_at(self.ctx, &self.sk, g, level, &mut self.generator())
                    .expect("levels of the parameters' own plans")
            })
            .inspect(|_| bar.inc(1))
            .collect()
    }

    /// A generator for one key or ciphertext, seeded from the key owner's CSPRNG (the seed zeroized), so that
    /// keys and ciphertexts can be made on every core.
    fn generator(&self) -> ChaCha20Rng {
        let mut seed = Zeroizing::new([0u8; 32]);
        self.rng.lock().expect("rng").fill_bytes(&mut seed[..]);
        ChaCha20Rng::from_seed(*seed)
    }

    /// `values` (one per slot) encrypted at the [`fresh_level`] and the default scale.
    ///
    /// # Errors
    /// If `values` is not `N/2` long.
    pub fn encrypt(&self, values: &[f64]) -> Result<Ct> {
        self.encrypt_at(values, &[], self.fresh_level())
    }

    /// The level of a fresh ciphertext under the key owner's parameters ([`fresh_level`]).
    pub fn fresh_level(&self) -> usize {
        fresh_level(self.ctx.params().literal())
    }

    /// `re + i·im` (one per slot; `im` empty for real values) encrypted at `level` (at most the
    /// [`fresh_level`]) and the default scale: data the cloud uses only at `level` or below.
    ///
    /// # Errors
    /// If `re` is not `N/2` long, `im` neither empty nor as long, or `level` above the fresh one.
    pub fn encrypt_at(&self, re: &[f64], im: &[f64], level: usize) -> Result<Ct> {
        let fresh = self.fresh_level();
        if level > fresh {
            bail!("cannot encrypt at level {level}, above the fresh level {fresh}");
        }
        let scale = self.ctx.params().default_scale();
        let encryptor = Encryptor::new(self.ctx, self.encoder, EncryptionKey::Secret(&self.sk));
        Ok(encryptor.encrypt(re, im, level, scale, &mut self.generator())?)
    }

    /// The slot values of `ct`.
    ///
    /// # Errors
    /// On a ciphertext of other parameters.
    pub fn decrypt(&self, ct: &Ct) -> Result<Vec<f64>> {
        Ok(Decryptor::new(self.ctx, self.encoder, &self.sk).decrypt(ct)?)
    }
}

/// What only the key owner can do for the cloud during training.
pub trait KeyOwnerService {
    /// Replaces `cts` with fresh encryptions of the same values at `level` (at most the fresh level: where the
    /// cloud will use them first; never called when the cloud bootstraps). Values beyond ±[`REFRESH_BOUND`] come
    /// back clamped to it.
    ///
    /// # Errors
    /// On a ciphertext of other parameters or a level above the fresh one.
    fn refresh(&mut self, cts: &mut [Ct], level: usize) -> Result<()>;

    /// Judges epoch `epoch` (from 0) from its validation batches' encrypted logits and labels, read by the key
    /// owner only: the cloud learns the verdict, nothing more.
    ///
    /// # Errors
    /// On a ciphertext of other parameters, or an epoch the agreed schedule does not ask for.
    fn validate(&mut self, epoch: usize, batches: &[ValidationBatch]) -> Result<Judgement>;

    /// How many ciphertexts were refreshed so far.
    fn refreshes(&self) -> usize;
}

/// One validation batch as the cloud hands it to the key owner: its logits (level 0) and one-hot labels (diagonal
/// layout), and how many rows are real.
pub struct ValidationBatch {
    /// `X·Wᵀ` under the epoch's weights.
    pub logits: Ct,
    /// The batch's encrypted labels.
    pub labels: Ct,
    /// Real rows.
    pub rows: usize,
}

/// The key owner's answer for an epoch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Judgement {
    /// What training does next: all the cloud learns.
    pub verdict: Verdict,
    /// The scores behind it, where the reader is the key owner (in-process); `None` across a process boundary.
    pub validation: Option<Validation>,
}

/// The in-process hospital: refreshes by decryption and fresh encryption, scores validation logits with the
/// trainer's softmax approximation in `f64` (the very computation of the plaintext `approx` trainer) and keeps
/// early stopping. It judges each epoch of the agreed schedule once, in order, and none after a stop: asked
/// again for an epoch it answers the verdict it gave, without decrypting anything.
pub struct LocalKeyOwner<'a> {
    owner: &'a KeyOwner<'a>,
    layout: Layout,
    approx: SoftmaxApprox,
    epochs: usize,
    stop: EarlyStopping,
    /// Each judged epoch's loss and verdict, in order.
    judged: Vec<(f64, Verdict)>,
    refreshed: usize,
    clamped: usize,
}

impl<'a> LocalKeyOwner<'a> {
    /// The service of `owner` for batches packed by `layout` and a trainer using `approx`, judging at most
    /// `epochs` epochs with early stopping after `patience` epochs without improvement (0: never).
    pub fn new(
        owner: &'a KeyOwner<'a>,
        layout: &Layout,
        approx: SoftmaxApprox,
        epochs: usize,
        patience: usize,
    ) -> Self {
        Self {
            owner,
            layout: *layout,
            approx,
            epochs,
            stop: EarlyStopping::new(patience),
            judged: Vec::new(),
            refreshed: 0,
            clamped: 0,
        }
    }

    /// The key pair of the owner's keys.
    pub fn key(&self) -> medblind_core::wire::KeyId {
        self.owner.key()
    }

    /// Takes up a run whose first epochs had `losses`, judged as they were then.
    pub fn resume(&mut self, losses: impl IntoIterator<Item = f64>) {
        for loss in losses {
            let verdict = self.stop.judge(self.judged.len(), loss);
            self.judged.push((loss, verdict));
        }
    }

    /// The losses of the epochs judged so far, in order.
    pub fn losses(&self) -> impl Iterator<Item = f64> + '_ {
        self.judged.iter().map(|&(loss, _)| loss)
    }

    /// How many decrypted values were clamped to ±[`REFRESH_BOUND`] (none, for an honest cloud).
    pub fn clamped(&self) -> usize {
        self.clamped
    }
}

impl KeyOwnerService for LocalKeyOwner<'_> {
    fn refresh(&mut self, cts: &mut [Ct], level: usize) -> Result<()> {
        let clamped: usize = cts
            .par_iter_mut()
            .map(|ct| -> Result<usize> {
                let mut values = self.owner.decrypt(ct)?;
                let outside = values.iter().filter(|v| v.is_nan() || v.abs() > REFRESH_BOUND).count();
                for v in &mut values {
                    *v = if v.is_nan() { 0.0 } else { v.clamp(-REFRESH_BOUND, REFRESH_BOUND) };
                }
                *ct = self.owner.encrypt_at(&values, &[], level)?;
                Ok(outside)
            })
            .sum::<Result<_>>()?;
        self.clamped += clamped;
        self.refreshed += cts.len();
        Ok(())
    }

    fn validate(&mut self, epoch: usize, batches: &[ValidationBatch]) -> Result<Judgement> {
        if let Some(&(_, verdict)) = self.judged.get(epoch) {
            return Ok(Judgement { verdict, validation: None });
        }
        if epoch >= self.epochs {
            bail!("validation of epoch {} asked, beyond the agreed {} epochs", epoch + 1, self.epochs);
        }
        if epoch > self.judged.len() {
            bail!("validation of epoch {} asked before epoch {}", epoch + 1, self.judged.len() + 1);
        }
        if self.judged.last().is_some_and(|&(_, v)| v == Verdict::Stop) {
            bail!("validation of epoch {} asked after training was told to stop", epoch + 1);
        }
        let (mut logits, mut labels) = (Vec::new(), Vec::new());
        for batch in batches {
            logits.extend(self.layout.unpack_logits(&self.owner.decrypt(&batch.logits)?, batch.rows));
            let one_hot = self.layout.unpack_logits(&self.owner.decrypt(&batch.labels)?, batch.rows);
            labels.extend(one_hot.iter().map(|y| (0..y.len()).max_by(|&a, &b| y[a].total_cmp(&y[b])).unwrap_or(0)));
        }
        let validation =
            Validation::of(logits.iter().map(Vec::as_slice).zip(labels), Softmax::Approx(self.approx.clone()));
        let verdict = self.stop.judge(epoch, validation.loss);
        self.judged.push((validation.loss, verdict));
        Ok(Judgement { verdict, validation: Some(validation) })
    }

    fn refreshes(&self) -> usize {
        self.refreshed
    }
}
