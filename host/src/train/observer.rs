//! What a training run tells its caller as it goes: [`TrainObserver`], and [`Console`], the command line's
//! observer (timestamped lines on stderr, a bar counting each epoch's steps, checkpoints saved).
//!
//! The trainer reports events; the words users read are chosen here, by the observer.

use super::checkpoint::{Checkpoint, TrainState};
use super::schedule::Verdict;
use crate::progress;
use anyhow::Result;
use indicatif::ProgressBar;
use medblind_core::ckks::Ct;
use std::fmt::Write as _;
use std::time::Instant;

/// An epoch begins (also one resumed after some of its steps).
#[derive(Debug, Clone, Copy)]
pub struct EpochStart {
    /// From 0.
    pub epoch: usize,
    /// Epochs in the schedule.
    pub epochs: usize,
    /// Steps in an epoch: one per training batch.
    pub steps: usize,
    /// Steps of this epoch already taken (by the run this one resumes).
    pub done: usize,
}

/// A gradient step has been taken (and its state handed to [`TrainObserver::checkpoint`]).
#[derive(Debug, Clone, Copy)]
pub struct StepDone {
    /// The epoch, from 0.
    pub epoch: usize,
    /// Steps taken in the run, this one included.
    pub steps: usize,
    /// Wall time of the step, weight refresh and checkpoint included.
    pub seconds: f64,
}

/// An epoch has been judged by the key owner.
#[derive(Debug, Clone, Copy)]
pub struct EpochDone {
    /// From 0.
    pub epoch: usize,
    /// The key owner's verdict.
    pub verdict: Verdict,
    /// The validation loss, where the key owner lets it be seen (in process); infinite when a logit left the
    /// softmax approximation's range.
    pub loss: Option<f64>,
    /// The largest validation `|logit|`, where the key owner lets it be seen.
    pub max_abs_logit: Option<f64>,
    /// The range `|z| ≤ bound` of the softmax approximation.
    pub bound: f64,
}

/// Hears a training run's events. Per epoch, in order: [`Self::epoch_started`], then [`Self::step_done`] after
/// each step, [`Self::validating`], [`Self::epoch_weights`], [`Self::epoch_done`]; [`Self::checkpoint`] after every
/// step and every epoch; [`Self::finished`] once the run is over (not when it fails). Every method does nothing
/// unless overridden; `()` is the observer that overrides none.
pub trait TrainObserver {
    /// A line for the user about something other than steps and epochs (a phase of the run begins).
    fn message(&mut self, _line: &str) {}

    /// An epoch begins.
    fn epoch_started(&mut self, _start: &EpochStart) {}

    /// A step is done.
    fn step_done(&mut self, _step: &StepDone) {}

    /// The epoch's steps are done: the weights are refreshed and validated next.
    fn validating(&mut self) {}

    /// The epoch's verdict is in.
    fn epoch_done(&mut self, _done: &EpochDone) {}

    /// The run is over.
    fn finished(&mut self) {}

    /// The weights at the end of an epoch, after the key owner's refresh. A caller holding the secret key in
    /// the same process (the comparison in [`super::compare`]) decrypts them and returns the epoch's validation
    /// accuracy; the cloud cannot, and returns `None`. Nothing it does reaches the trainer.
    ///
    /// # Errors
    /// Whatever stops the caller from scoring the weights.
    fn epoch_weights(&mut self, _w: &[Ct]) -> Result<Option<f64>> {
        Ok(None)
    }

    /// The run's state after every step and after every epoch's validation: saved, it lets an interrupted run
    /// resume ([`super::checkpoint`]).
    ///
    /// # Errors
    /// Whatever stops the caller from keeping it (training stops: a run that cannot be saved is not continued).
    fn checkpoint(&mut self, _state: &TrainState) -> Result<()> {
        Ok(())
    }
}

impl TrainObserver for () {}

/// The command line's observer: each line on stderr as `[seconds since its start] who: line`, a bar (when
/// stderr is a terminal) counting the steps of the current epoch with an ETA, and the run's state saved to a
/// checkpoint file if it has one.
pub struct Console<'a> {
    who: String,
    start: Instant,
    checkpoint: Option<&'a Checkpoint<'a>>,
    /// Present from the first epoch until the run is over (cleared when dropped, also after an error).
    bar: Option<ProgressBar>,
    /// `epoch e/E`, the bar's message.
    epoch: String,
}

impl<'a> Console<'a> {
    /// Lines signed `who`, timed from now.
    pub fn new(who: impl Into<String>) -> Self {
        Self { who: who.into(), start: Instant::now(), checkpoint: None, bar: None, epoch: String::new() }
    }

    /// The same, saving the run's state to `checkpoint` if there is one.
    pub fn saving(self, checkpoint: Option<&'a Checkpoint<'a>>) -> Self {
        Self { checkpoint, ..self }
    }

    fn line(&self, line: &str) {
        let print = || eprintln!("[{:>7.1} s] {}: {line}", self.start.elapsed().as_secs_f64(), self.who);
        match &self.bar {
            Some(bar) => bar.suspend(print),
            None => print(),
        }
    }
}

impl TrainObserver for Console<'_> {
    fn message(&mut self, line: &str) {
        self.line(line);
    }

    fn epoch_started(&mut self, start: &EpochStart) {
        let bar = self.bar.get_or_insert_with(|| progress::slow_steps(start.steps as u64, ""));
        self.epoch = format!("epoch {}/{}", start.epoch + 1, start.epochs);
        bar.reset();
        bar.set_message(self.epoch.clone());
        bar.inc(start.done as u64);
    }

    fn step_done(&mut self, step: &StepDone) {
        if let Some(bar) = &self.bar {
            bar.inc(1);
        }
        self.line(&format!("epoch {} step {}: {:.1} s", step.epoch + 1, step.steps, step.seconds));
    }

    fn validating(&mut self) {
        if let Some(bar) = &self.bar {
            bar.set_message(format!("{}: refresh and validation", self.epoch));
        }
    }

    fn epoch_done(&mut self, done: &EpochDone) {
        self.line(&epoch_line(done));
    }

    fn finished(&mut self) {
        self.bar = None;
    }

    fn checkpoint(&mut self, state: &TrainState) -> Result<()> {
        self.checkpoint.map_or(Ok(()), |c| c.save(state))
    }
}

/// The line after an epoch: the key owner's verdict, with the loss and largest logit behind it where they are
/// known (an in-process key owner).
fn epoch_line(done: &EpochDone) -> String {
    let mut line = format!("epoch {}: {} (the key owner's verdict", done.epoch + 1, done.verdict.word());
    if let Some(loss) = done.loss {
        let _ = write!(line, "; validation loss {loss:.4}");
    }
    if let Some(logit) = done.max_abs_logit {
        let _ = write!(line, ", largest |logit| {logit:.2}");
    }
    line.push(')');
    if done.loss == Some(f64::INFINITY) {
        let _ = write!(
            line,
            "; the logits left the softmax approximation's range |z| ≤ {}: training stops here",
            done.bound
        );
    }
    line
}
