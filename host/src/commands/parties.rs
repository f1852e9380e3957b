//! The two parties' views of a batch folder in encrypted training as separate processes: the hospital's (its key
//! folder's secret key, and a folder checked to be of that key pair) and the cloud's (parameters and evaluation
//! keys only, never a secret key).

use crate::features::Features;
use crate::files;
use crate::keystore::{self, CloudKeys, KeyedSecret, PARAMS_FILE, SECRET_KEY_FILE, Session};
use crate::train::data::{self as dataset, Split};
use crate::train::encrypted::Trainer;
use crate::train::plan::softmax_for;
use crate::train::store::{self, BatchStore};
use anyhow::Context as _;
use medblind_core::ckks::bootstrap::{Bootstrapper, bootstrapping_for};
use medblind_core::ckks::{Context, Ct, Engine};
use medblind_core::wire::KeyId;
use std::path::Path;

/// The feature file's official splits, standardized on the training part (hospital side; the same every time).
pub(super) fn standardized_split(features: &Path) -> anyhow::Result<Split> {
    let mut split = Features::load(features)?.split();
    dataset::standardize(&mut split);
    Ok(split)
}

/// The hospital's parameters, and its secret key with its key pair.
pub(super) fn hospital(keys: &Path) -> anyhow::Result<(Session, KeyedSecret)> {
    let session = Session::from_params_file(&keys.join(PARAMS_FILE))?;
    let secret = keystore::load_secret_key(&session.ctx, &keys.join(SECRET_KEY_FILE))?;
    Ok((session, secret))
}

/// The hospital's batch folder at `data`, checked to be of the key pair `key` of the key folder `keys`.
pub(super) fn hospital_store(data: &Path, session: &Session, key: KeyId, keys: &Path) -> anyhow::Result<BatchStore> {
    let store = BatchStore::open_for(data, &session.ctx)?;
    store.expect_key(key, keys)?;
    Ok(store)
}

/// The cloud's view of a batch folder: its store, parameters and evaluation keys (refusing a secret key), and
/// bootstrapping when the keys allow it.
pub(super) struct CloudFolder {
    pub(super) store: BatchStore,
    pub(super) session: Session,
    pub(super) keys: CloudKeys,
    bootstrapper: Option<Bootstrapper>,
}

impl CloudFolder {
    pub(super) fn open(data: &Path) -> anyhow::Result<Self> {
        let session = Session::from_params_file(&data.join(PARAMS_FILE))?;
        let store = BatchStore::open_for(data, &session.ctx)?;
        let keys = keystore::load_evaluation_keys(&session, &data.join(store::KEYS))?;
        store.expect_key(keys.key, &data.join(store::KEYS))?;
        keys.check_rotations(session.ctx.degree(), &store.layout.rotation_steps())
            .with_context(|| data.join(store::KEYS).display().to_string())?;
        let bootstrapper = match bootstrapping_for(session.ctx.params().literal()) {
            Some(_) if keys.keys.bootstraps() => {
                eprintln!("cloud: precomputing bootstrapping");
                Bootstrapper::for_params(&session.ctx)?
            }
            _ => None,
        };
        Ok(Self { store, session, keys, bootstrapper })
    }

    /// The engine: bootstrapping if the folder's keys allow it.
    pub(super) fn engine(&self) -> anyhow::Result<Engine<'_>> {
        let (ctx, encoder) = (&self.session.ctx, &self.session.encoder);
        match &self.bootstrapper {
            Some(b) => Ok(Engine::bootstrapping(ctx, encoder, &self.keys.keys, b)?),
            None => Ok(Engine::new(ctx, encoder, &self.keys.keys)),
        }
    }

    pub(super) fn trainer<'e>(&self, engine: &'e Engine<'e>) -> anyhow::Result<Trainer<'e>> {
        let literal = self.session.ctx.params().literal();
        Trainer::new(engine, self.store.layout, softmax_for(self.store.layout.classes, Some(literal)))
    }
}

pub(super) fn write_cts(ctx: &Context<Vec<u64>>, cts: &[Ct], key: KeyId, out: &Path) -> anyhow::Result<()> {
    Ok(files::write_atomic(out, &keystore::ciphertexts_to_vec(ctx, cts, key)?, false)?)
}
