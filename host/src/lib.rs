//! MedBlind's host side: the hospital and cloud roles on top of `medblind-core`.
