//! The `medblind` command-line tool.

use clap::{Parser, Subcommand};
use medblind::commands::{self, HeadShape};
use medblind::vit::Token;
use medblind_core::ckks::bootstrap::bootstrapping_for;
use medblind_core::ckks::{Params, Security, params::max_log_qp_128, presets};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "medblind", version, about = "Privacy-preserving fine-tuning on medical images with CKKS")]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Replace existing output files (never a key file) and, for `keygen`, an existing key folder.
    #[arg(long, global = true)]
    force: bool,
}

#[derive(Subcommand)]
enum Command {
    /// List the CKKS parameter presets with their security level.
    Params,
    /// Hospital: generate a key folder (the secret key stays at the hospital; the rest goes to the cloud).
    Keygen {
        /// The parameter preset (see `medblind params`).
        #[arg(long, default_value = "n4096-qp109-s28")]
        preset: String,
        /// The folder to write.
        #[arg(long)]
        out: PathBuf,
        /// Also make the rotation keys for a linear head of CLASSESxFEATURES (repeatable).
        #[arg(long = "head")]
        heads: Vec<HeadShape>,
    },
    /// Hospital or device: encrypt every CSV row into one ciphertext.
    Encrypt {
        /// The key folder.
        #[arg(long)]
        keys: PathBuf,
        /// CSV of values, one vector per row.
        #[arg(long)]
        input: PathBuf,
        /// The ciphertext file to write.
        #[arg(long)]
        out: PathBuf,
        /// Encrypt with the secret key, sending a seed instead of half of each ciphertext.
        #[arg(long)]
        seeded: bool,
    },
    /// Hospital: decrypt every ciphertext into one CSV row.
    Decrypt {
        /// The key folder (needs secret.key).
        #[arg(long)]
        keys: PathBuf,
        /// The ciphertext file.
        #[arg(long)]
        input: PathBuf,
        /// The CSV to write.
        #[arg(long)]
        out: PathBuf,
        /// Keep only the first COUNT slots of each row.
        #[arg(long)]
        count: Option<usize>,
    },
    /// Hospital: run the edge firmware under QEMU, provision it over UART, classify every CSV row on it.
    Device {
        /// The key folder (preset n4096-qp109-s28; its secret key is provisioned to the device).
        #[arg(long)]
        keys: PathBuf,
        /// The firmware folder (built with `cargo build --release` there).
        #[arg(long, default_value = "firmware")]
        firmware: PathBuf,
        /// CSV of the head's weights, one row per class.
        #[arg(long)]
        weights: PathBuf,
        /// CSV of the bias, one value per class.
        #[arg(long)]
        bias: Option<PathBuf>,
        /// CSV of feature vectors, one per row.
        #[arg(long)]
        input: PathBuf,
        /// The CSV of decrypted logits to write.
        #[arg(long)]
        out: PathBuf,
    },
    /// Train one labelled feature set three ways — plaintext exact softmax, plaintext approximated softmax, encrypted —
    /// with the same split and schedule; writes NAME.json, NAME.md and NAME.svg (validation loss and accuracy per epoch).
    Compare {
        /// A feature file from `medblind extract` (.safetensors: its official train/val/test splits), or a CSV
        /// (.csv or .csv.gz; the last column the class label; split 60/15/25 by --seed, stratified).
        #[arg(long)]
        data: PathBuf,
        /// The report folder.
        #[arg(long)]
        out: PathBuf,
        /// The CKKS preset for the encrypted run (`none`: plaintext runs only).
        #[arg(long, default_value = "n65536-qp1626-s40")]
        preset: String,
        /// The encrypted run's working folder (new, empty, or an interrupted run's): the batches are encrypted
        /// there and read back one at a time (memory bounded by one batch), the training state is saved after
        /// every step, and the same command resumes an interrupted run; the folder holds the secret key and is
        /// removed when the run ends.
        #[arg(long)]
        work_dir: Option<PathBuf>,
        #[command(flatten)]
        schedule: ScheduleArgs,
    },
    /// The whole pipeline on BloodMNIST: find or fetch the data, ViT features, the head trained plaintext
    /// (exact and approximated softmax) and encrypted with one schedule; prints the table, writes the report.
    Demo {
        /// The dataset.
        #[arg(long, default_value = "bloodmnist")]
        dataset: String,
        #[command(flatten)]
        source: FeatureSource,
        /// Images per split (a quick run; see --all).
        #[arg(long, default_value_t = 512)]
        limit: usize,
        /// Every image of every split (hours for the encrypted run on 2 cores).
        #[arg(long, conflicts_with = "limit")]
        all: bool,
        /// The CKKS preset of the encrypted run (`none`: plaintext only).
        #[arg(long, default_value = "n65536-qp1626-s40")]
        preset: String,
        #[command(flatten)]
        schedule: ScheduleArgs,
        /// The report folder.
        #[arg(long, default_value = "medblind-demo")]
        out: PathBuf,
    },
    /// Hospital: pack and encrypt a feature file's train/validation splits into the batch folder the cloud trains
    /// on (with params.mbl and the training keys; no secret material).
    EncryptFeatures {
        /// The key folder (needs secret.key).
        #[arg(long)]
        keys: PathBuf,
        /// The feature file (from `medblind extract`).
        #[arg(long)]
        features: PathBuf,
        /// Rows per mini-batch (a power of two).
        #[arg(long, default_value_t = 512)]
        batch: usize,
        /// The batch folder to write.
        #[arg(long)]
        out: PathBuf,
    },
    /// Cloud: train the softmax head on an encrypted batch folder with evaluation keys only; the hospital answers
    /// refresh and validation requests in the exchange folder (`medblind refresh`), and decides early stopping.
    Train {
        /// The batch folder (from `encrypt-features`).
        #[arg(long)]
        data: PathBuf,
        /// The folder shared with the hospital's `medblind refresh`.
        #[arg(long)]
        exchange: PathBuf,
        #[command(flatten)]
        schedule: ScheduleArgs,
        /// Seconds to wait for the hospital's answer before giving up.
        #[arg(long, default_value_t = 3600)]
        timeout: u64,
        /// A checkpoint file: the training state is saved there after every step, and the same command with the
        /// same file resumes an interrupted run after its last saved step (the file is removed when training ends)
        #[arg(long)]
        checkpoint: Option<PathBuf>,
        /// The encrypted weights to write.
        #[arg(long)]
        out: PathBuf,
    },
    /// Hospital: answer the cloud's refresh and validation requests, as far as the agreed schedule asks, until its training is done.
    Refresh {
        /// The key folder (needs secret.key).
        #[arg(long)]
        keys: PathBuf,
        /// The batch folder the cloud trains on.
        #[arg(long)]
        data: PathBuf,
        /// The folder shared with the cloud's `medblind train`.
        #[arg(long)]
        exchange: PathBuf,
        /// The epochs agreed with the cloud: no epoch beyond them is judged.
        #[arg(long, default_value_t = 10)]
        epochs: usize,
        /// Early stopping, the hospital's: stop after this many epochs without a lower validation loss (0: never).
        #[arg(long, default_value_t = 3)]
        patience: usize,
    },
    /// Hospital: decrypt trained weights and print their validation and test accuracy.
    Evaluate {
        /// The key folder (needs secret.key).
        #[arg(long)]
        keys: PathBuf,
        /// The batch folder they were trained on.
        #[arg(long)]
        data: PathBuf,
        /// The encrypted weights (from `medblind train`).
        #[arg(long)]
        weights: PathBuf,
        /// The feature file the batches came from.
        #[arg(long)]
        features: PathBuf,
        /// The cloud's encrypted test logits (from `medblind predict`) to decrypt and score too.
        #[arg(long)]
        logits: Option<PathBuf>,
    },
    /// Cloud: encrypted inference — the test batches' logits under the encrypted weights, written encrypted.
    Predict {
        /// The batch folder (from `encrypt-features`).
        #[arg(long)]
        data: PathBuf,
        /// The encrypted weights (from `medblind train`).
        #[arg(long)]
        weights: PathBuf,
        /// The encrypted logits to write.
        #[arg(long)]
        out: PathBuf,
    },
    /// Hospital: MedMNIST dataset files.
    Data {
        #[command(subcommand)]
        action: DataCommand,
    },
    /// Hospital: ViT features of a MedMNIST dataset into a feature file (safetensors, with provenance); an
    /// interrupted extraction resumes where it stopped.
    Extract {
        /// The dataset (dermamnist, bloodmnist, organamnist, organcmnist, organsmnist).
        #[arg(long)]
        dataset: String,
        /// Image side: 28, 64, 128 or 224.
        #[arg(long, default_value_t = 28)]
        size: usize,
        #[command(flatten)]
        source: FeatureSource,
        /// Only the first LIMIT images of each split.
        #[arg(long)]
        limit: Option<usize>,
        /// The feature file to write (default: in the cache; its path is printed).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// ViT weight files.
    Weights {
        #[command(subcommand)]
        action: WeightsCommand,
    },
    /// Cloud: apply a plaintext linear head to encrypted vectors (reads no secret key).
    Infer {
        /// The parameter file (params.mbl).
        #[arg(long)]
        params: PathBuf,
        /// The evaluation keys (eval.keys).
        #[arg(long)]
        eval_keys: PathBuf,
        /// CSV of the head's weights, one row per class.
        #[arg(long)]
        weights: PathBuf,
        /// CSV of the bias, one value per class.
        #[arg(long)]
        bias: Option<PathBuf>,
        /// The encrypted inputs.
        #[arg(long)]
        input: PathBuf,
        /// The encrypted logits to write.
        #[arg(long)]
        out: PathBuf,
    },
}

/// Where `demo` and `extract` find the images and the ViT that turns them into features.
#[derive(clap::Args)]
struct FeatureSource {
    /// A folder holding the dataset's .npz (default: $MEDBLIND_DATA_DIR, ../shared/medmnist, the cache).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// The network: dinov2_small, dinov2_base, or a DeiT by timm name (`deit_tiny`, `deit_small`, ...)
    /// [default: the first of dinov2_small, deit_tiny with weights found locally, else downloaded].
    #[arg(long)]
    model: Option<String>,
    /// The weights (safetensors in timm's or Hugging Face's layout); default: ../shared/models, the cache, else
    /// the Hugging Face hub.
    #[arg(long, requires = "model")]
    weights: Option<PathBuf>,
    /// The features: the class token, the mean of the patch tokens, both concatenated, or DeiT's
    /// distillation token.
    #[arg(long, value_enum, default_value_t = Token::Cls)]
    token: Token,
}

/// The training schedule shared by `compare` and `demo`.
#[derive(clap::Args)]
struct ScheduleArgs {
    /// Rows per mini-batch (a power of two) [default: 512; 64 for `demo`].
    #[arg(long)]
    batch: Option<usize>,
    /// The most epochs [default: 10; 3 for `demo`].
    #[arg(long)]
    epochs: Option<usize>,
    /// The learning rate of the first epoch (larger rates can push logits out of the softmax approximation's range)
    /// [default: 0.1; 4 for `demo`].
    #[arg(long)]
    learning_rate: Option<f64>,
    /// The learning rate's factor per epoch.
    #[arg(long, default_value_t = 0.9)]
    decay: f64,
    /// The weight decay λ (keeps the logits inside the softmax approximation's range) [default: 0.01; 0 for `demo`].
    #[arg(long)]
    weight_decay: Option<f64>,
    /// The Nesterov momentum.
    #[arg(long, default_value_t = 0.9)]
    momentum: f64,
    /// Stop after this many epochs without a lower validation loss (0: never; for `train`, the hospital's
    /// `refresh --patience` decides).
    #[arg(long, default_value_t = 3)]
    patience: usize,
    /// Seeds the split and the batch order.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

/// The defaults of the options `compare`, `train` and `demo` set differently: `demo` trains a few hundred
/// pretrained-feature rows, so it takes smaller batches, a larger rate and no weight decay (its logits stay in
/// the widened softmax approximation's range, |z| ≤ 32).
struct ScheduleDefaults {
    batch: usize,
    epochs: usize,
    learning_rate: f64,
    weight_decay: f64,
}

const TRAINING_DEFAULTS: ScheduleDefaults =
    ScheduleDefaults { batch: 512, epochs: 10, learning_rate: 0.1, weight_decay: 0.01 };
const DEMO_DEFAULTS: ScheduleDefaults =
    ScheduleDefaults { batch: 64, epochs: 3, learning_rate: 4.0, weight_decay: 0.0 };

impl ScheduleArgs {
    fn schedule(&self, defaults: ScheduleDefaults) -> medblind::train::schedule::Schedule {
        medblind::train::schedule::Schedule {
            learning_rate: self.learning_rate.unwrap_or(defaults.learning_rate),
            decay: self.decay,
            weight_decay: self.weight_decay.unwrap_or(defaults.weight_decay),
            momentum: self.momentum,
            batch: self.batch.unwrap_or(defaults.batch),
            epochs: self.epochs.unwrap_or(defaults.epochs),
            patience: self.patience,
            seed: self.seed,
        }
    }
}

#[derive(Subcommand)]
enum DataCommand {
    /// Download a dataset from the official MedMNIST Zenodo record (MD5-checked, resumable); prints its path.
    Fetch {
        /// The dataset.
        name: String,
        /// Image side: 28, 64, 128 or 224.
        #[arg(long, default_value_t = 28)]
        size: usize,
        /// The folder to download into (default: the cache, $MEDBLIND_CACHE_DIR or ~/.cache/medblind).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// A Zenodo-compatible server (a mirror).
        #[arg(long, default_value = medblind::medmnist::fetch::ZENODO)]
        zenodo: String,
    },
    /// Find a dataset file, check it and print its splits and classes.
    Info {
        /// The dataset.
        name: String,
        /// Image side: 28, 64, 128 or 224.
        #[arg(long, default_value_t = 28)]
        size: usize,
        /// A folder holding the dataset's .npz.
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum WeightsCommand {
    /// Write a randomly initialized checkpoint (timm's initialization and layout), for when pretrained weights
    /// cannot be downloaded: features from it exercise the pipeline but are not pretrained features.
    Init {
        /// The network (e.g. deit_tiny, dinov2_small).
        #[arg(long, default_value = "deit_tiny")]
        model: String,
        /// Seeds the initialization.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// The safetensors file to write.
        #[arg(long)]
        out: PathBuf,
    },
}

fn main() -> ExitCode {
    let Cli { command, force } = Cli::parse();
    // Work on one ciphertext on this thread shares its RNS limbs among the cores; rayon's workers (over
    // ciphertexts) keep one each.
    exit_code(medblind_core::parallel::with_limb_threads(rayon::current_num_threads(), || run(command, force)))
}

fn run(command: Command, force: bool) -> anyhow::Result<()> {
    // A kernel set forced through the environment that this CPU cannot run is refused before any work.
    medblind_core::math::kernels::from_env().map_err(anyhow::Error::msg)?;
    match command {
        Command::Params => list_params(),
        Command::Keygen { preset, out, heads } => commands::keygen(&preset, &out, &heads, force),
        Command::Encrypt { keys, input, out, seeded } => commands::encrypt(&keys, &input, &out, seeded, force),
        Command::Decrypt { keys, input, out, count } => commands::decrypt_file(&keys, &input, &out, count, force),
        Command::Device { keys, firmware, weights, bias, input, out } => {
            commands::device(&keys, &firmware, &weights, bias.as_deref(), &input, &out, force)
        }
        Command::Compare { data, out, preset, work_dir, schedule } => {
            commands::compare(&data, &out, &preset, work_dir.as_deref(), &schedule.schedule(TRAINING_DEFAULTS), force)
        }
        Command::Demo {
            dataset,
            source: FeatureSource { data_dir, model, weights, token },
            limit,
            all,
            preset,
            schedule,
            out,
        } => commands::demo::demo(&commands::demo::DemoOptions {
            dataset,
            data_dir,
            model,
            weights,
            token,
            limit: (!all).then_some(limit),
            preset,
            schedule: schedule.schedule(DEMO_DEFAULTS),
            out,
            force,
        })
        .map(drop),
        Command::EncryptFeatures { keys, features, batch, out } => {
            commands::training::encrypt_features(&keys, &features, batch, &out, force)
        }
        Command::Train { data, exchange, schedule, timeout, checkpoint, out } => commands::training::train(
            &data,
            &exchange,
            &schedule.schedule(TRAINING_DEFAULTS),
            std::time::Duration::from_secs(timeout),
            checkpoint.as_deref(),
            &out,
            force,
        ),
        Command::Refresh { keys, data, exchange, epochs, patience } => {
            commands::training::refresh(&keys, &data, &exchange, epochs, patience)
        }
        Command::Evaluate { keys, data, weights, features, logits } => {
            commands::training::evaluate(&keys, &data, &weights, &features, logits.as_deref())
        }
        Command::Predict { data, weights, out } => commands::training::predict(&data, &weights, &out, force),
        Command::Data { action: DataCommand::Fetch { name, size, dir, zenodo } } => {
            commands::data::fetch(&name, size, dir.as_deref(), &zenodo)
        }
        Command::Data { action: DataCommand::Info { name, size, data_dir } } => {
            commands::data::info(&name, size, data_dir.as_deref())
        }
        Command::Extract { dataset, size, source: FeatureSource { data_dir, model, weights, token }, limit, out } => {
            let backbone = commands::data::choose_backbone(model.as_deref(), weights.as_deref())?;
            commands::data::extract(&commands::data::ExtractRequest {
                dataset: &dataset,
                size,
                data_dir: data_dir.as_deref(),
                backbone: &backbone,
                token,
                limit,
                out: out.as_deref(),
                force,
            })
            .map(drop)
        }
        Command::Weights { action: WeightsCommand::Init { model, seed, out } } => {
            commands::data::init_weights(&model, seed, &out, force)
        }
        Command::Infer { params, eval_keys, weights, bias, input, out } => {
            commands::infer(&params, &eval_keys, &weights, bias.as_deref(), &input, &out, force)
        }
    }
}

fn exit_code(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // The reader stopped early (`medblind data info bloodmnist | head -1`): nothing went wrong.
        Err(e) if medblind::output::is_closed(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("medblind: error: {}", medblind::output::error_line(&e));
            ExitCode::from(2)
        }
    }
}

fn list_params() -> anyhow::Result<()> {
    medblind::outln!(
        "{:<28} {:>7} {:>6} {:>6} {:>5} {:>6} {:>9} {:>10}  security",
        "preset",
        "N",
        "slots",
        "depth",
        "dnum",
        "scale",
        "log2(QP)",
        "bound"
    )?;
    for literal in presets::ALL {
        let params = Params::new(literal)?;
        let bound = max_log_qp_128(literal.log_degree).map_or("-".into(), |b| b.to_string());
        let security = match literal.security {
            Security::Bits128 => "128-bit (HomomorphicEncryption.org)",
            Security::InsecureForTestsOnly => "INSECURE, tests only",
        };
        // A bootstrapping preset: the levels left after bootstrapping, plus bootstrapping's own.
        let depth = bootstrapping_for(literal)
            .map_or(params.max_level().to_string(), |b| format!("{}+{}", b.output_level(), b.depth()));
        medblind::outln!(
            "{:<28} {:>7} {:>6} {:>6} {:>5} {:>6} {:>9.1} {:>10}  {security}",
            literal.name,
            params.degree(),
            params.max_slots(),
            depth,
            literal.dnum,
            format!("2^{}", literal.log_scale),
            params.log_qp(),
            bound,
        )?;
    }
    Ok(())
}
