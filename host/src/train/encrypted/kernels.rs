//! The homomorphic kernels of a step, on the [`Trainer`]'s engine and layout: DiagABT (the logits), the
//! approximate softmax, DiagATB (the gradient tiled like the weights) and the packed bootstrapping of tiled
//! weights. Each states the levels it consumes; the softmax refreshes where the
//! [`Plan`](crate::train::plan::Plan) says.

use super::trainer::{Trainer, align_all};
use crate::train::key_owner::KeyOwnerService;
use anyhow::{Result, anyhow, bail};
use medblind_core::ckks::Ct;
use rayon::prelude::*;

impl Trainer<'_> {
    /// DiagABT: the logits `X·yᵀ` of a batch's shifted feature blocks `shifted` ([`Layout::shifted_features`])
    /// under weight blocks `y` (at any scale), times `factor`, in the diagonal layout. Diagonals `t` and
    /// `t + c/2` share one product as its real and imaginary parts: the blocks of shift `t` times `y` as it is,
    /// summed over the blocks and relinearized once, summed over the columns (two doubly hoisted rotation sums,
    /// [`Layout::row_sum_steps`]) and masked to column 0, where row `i` holds row `i − t`'s logit for class
    /// `i mod c`; one rotation by `t·cols − t` takes it to its slot `(i − t, t)`. One conjugation at the end moves
    /// the imaginary parts (row `i − t − c/2`) a further `c/2·cols − c/2` slots. No rotation of the weights: the
    /// shifts were the hospital's, once per batch. Consumes 2 levels.
    ///
    /// # Errors
    /// If a rotation or the conjugation key is missing, the blocks are not `blocks · c/2`, or the ciphertexts
    /// have too few levels.
    ///
    /// [`Layout::row_sum_steps`]: crate::train::layout::Layout::row_sum_steps
    /// [`Layout::shifted_features`]: crate::train::layout::Layout::shifted_features
    pub fn logits(&self, shifted: &[Ct], y: &[Ct], factor: f64) -> Result<Ct> {
        let (e, l) = (self.engine, &self.layout);
        let half = l.class_slots / 2;
        if shifted.len() != l.blocks * half || y.len() != l.blocks {
            bail!(
                "{} shifted feature and {} weight blocks, expected {} and {}",
                shifted.len(),
                y.len(),
                l.blocks * half,
                l.blocks
            );
        }
        // The weights aligned once here rather than once per diagonal in the dot products (which align each
        // shifted block, used once, themselves).
        let level = shifted.iter().chain(y).map(Ct::level).min().ok_or_else(|| anyhow!("no weight blocks"))?;
        let y = align_all(e, y, level)?;
        // Halved: the real and imaginary parts are each counted twice below.
        let column0 = l.column_mask(0, l.rows, 0.5 * factor);
        let [inner, outer] = l.row_sum_steps();
        let pairs: Vec<Ct> = (0..half)
            .into_par_iter()
            .map(|t| {
                let products: Vec<(&Ct, &Ct)> = (0..l.blocks).map(|b| (&shifted[b * half + t], &y[b])).collect();
                let m = e.rotation_sum(&e.rotation_sum(&e.dot(&products)?, &inner)?, &outer)?;
                e.rotate(&e.mul_values(&m, &column0)?, (t * l.cols - t) as i64)
            })
            .collect::<medblind_core::Result<_>>()?;
        // The halved mask cancels the unpairing's factor 2.
        Ok(e.unpair(&e.sum(&pairs)?, (half * l.cols - half) as i64)?)
    }

    /// Row `i`'s class sum in slots `(i, 0..c)`.
    fn class_sum(&self, v: &Ct) -> Result<Ct> {
        let e = self.engine;
        let c = self.layout.class_slots;
        let mut s = e.add(v, &e.rotate(v, -(c as i64))?)?;
        let mut step = 1;
        while step < c {
            s = e.add(&s, &e.rotate(&s, step as i64)?)?;
            step <<= 1;
        }
        Ok(s)
    }

    /// Ciphertexts tiled like the weights (period `c·cols`: one block row repeated) bootstrapped at one level
    /// below the fresh one. They share ciphertexts as [`Layout::packed_periods`] groups them: block `k` of a group
    /// moves, by a mask, to segment `k` of every period of `n` slots (1 level). After the bootstrap the periods are
    /// averaged (`log2(slots/n)` rotations) and each block comes back by the same mask and `log2(n/(c·cols))`
    /// rotations that copy segment `k` over its period.
    ///
    /// The averaging makes every block row identical again. Bootstrapping's noise differs from slot to slot, and
    /// block rows that drift apart are not pulled together by the gradient (it is the same for all of them): with
    /// the lookahead `y' = w' + μ(w' − w)` mixing blocks unpacked from different periods, their differences grew
    /// about 2.2-fold per step until they swamped the weights.
    ///
    /// [`Layout::packed_periods`]: crate::train::layout::Layout::packed_periods
    pub(super) fn bootstrap_tiled(&self, tiled: &[Ct]) -> Result<Vec<Ct>> {
        let (e, l) = (self.engine, &self.layout);
        let period = l.class_slots * l.cols;
        let mut out = Vec::with_capacity(tiled.len());
        for (group, n) in tiled.chunks(l.slots / period).zip(l.packed_periods(tiled.len())) {
            let segment = |k: usize, value: f64| -> Vec<f64> {
                (0..l.slots).map(|s| if (s % n) / period == k { value } else { 0.0 }).collect()
            };
            let parts: Vec<Ct> = group
                .par_iter()
                .enumerate()
                .map(|(k, t)| e.mul_values(t, &segment(k, 1.0)))
                .collect::<medblind_core::Result<_>>()?;
            let mut fresh = e.bootstrap(&e.sum(&parts)?)?;
            let mut shift = n;
            while shift < l.slots {
                fresh = e.add(&fresh, &e.rotate(&fresh, shift as i64)?)?;
                shift <<= 1;
            }
            let copies = (l.slots / n) as f64;
            let unpacked: Vec<Ct> = (0..group.len())
                .into_par_iter()
                .map(|k| {
                    let mut x = e.mul_values(&fresh, &segment(k, 1.0 / copies))?;
                    let mut shift = period;
                    while shift < n {
                        x = e.add(&x, &e.rotate(&x, shift as i64)?)?;
                        shift <<= 1;
                    }
                    Ok(x)
                })
                .collect::<Result<_>>()?;
            out.extend(unpacked);
        }
        Ok(out)
    }

    /// The exponential's polynomial `g(x)` of `x = z/D` (zero outside the real classes of the first `rows`
    /// rows), as `(c₀ + c₁x) + (c₂ + c₃x)·x² + ((c₄ + c₅x) + (c₆ + c₇x)·x²)·x⁴`: the coefficients are masks, so
    /// 3 levels.
    fn exp_polynomial(&self, x: &Ct, rows: usize) -> Result<Ct> {
        let (e, l) = (self.engine, &self.layout);
        let c = self.approx.exp_coefficients();
        let x2 = e.mul_nominal(x, x)?;
        let x4 = e.mul_nominal(&x2, &x2)?;
        let affine =
            |i: usize| e.add_values(&e.mul_values(x, &l.class_mask(rows, c[i + 1]))?, &l.class_mask(rows, c[i]));
        let low = e.add(&affine(0)?, &e.mul_nominal(&affine(2)?, &x2)?)?;
        let high = e.add(&affine(4)?, &e.mul_nominal(&affine(6)?, &x2)?)?;
        Ok(e.add(&low, &e.mul_nominal(&high, &x4)?)?)
    }

    /// The approximate softmax of diagonal-layout logits in units of the exponential's domain (`z/D`, zero
    /// outside the real classes of the first `rows` rows), refreshed where the [`Plan`](crate::train::plan::Plan) says.
    pub(super) fn softmax(&self, x: &Ct, rows: usize, owner: &mut dyn KeyOwnerService) -> Result<Ct> {
        let (e, a) = (self.engine, &self.approx);
        let mut exp = self.exp_polynomial(x, rows)?;
        for m in 0..a.squarings {
            if self.plan.exp_refresh == Some(m) {
                self.refresh(owner, std::slice::from_mut(&mut exp))?;
            }
            exp = e.mul_nominal(&exp, &exp)?;
        }
        let shifted = e.add_scalar(&self.class_sum(&exp)?, -(a.smallest_sum() + 1.0));
        let inverse = e.polynomial(&shifted, a.inverse_polynomial())?;
        // e·y₀: read at scale Δ it is off by one factor, which the Goldschmidt factors correct with the rest.
        let mut p = e.mul_nominal(&exp, &inverse)?;
        for stage in 0..=a.stages {
            if stage > 0 {
                let t = e.mul_nominal(&p, &p)?;
                let shifted = e.add_scalar(&self.class_sum(&t)?, -a.stage_shift());
                p = e.mul_nominal(&t, &e.polynomial(&shifted, a.stage_inverse_polynomial())?)?;
            }
            if self.plan.normalized_refreshes & 1 << stage != 0 {
                self.refresh(owner, std::slice::from_mut(&mut p))?;
            }
        }
        for _ in 0..a.goldschmidt_factors {
            p = e.mul(&p, &e.scalar_minus(2.0, &self.class_sum(&p)?))?;
        }
        Ok(p)
    }

    /// DiagATB: `2·rate/rows · (P − Y)ᵀX`, tiled like the weights, from `error = P − Y` (diagonal layout) and the
    /// batch's [`Layout::gradient_features`] `x`. Diagonals `t` and `t + c/2` share one product as their real and
    /// imaginary parts: their error columns broadcast along the rows and moved to the block row of `t`'s class
    /// (`c − t` block rows up), where the feature blocks moved as far up meet them; per block one dot product over
    /// the pairs (one relinearization), summed over the `rows/c` block rows; one conjugation per block then moves
    /// the imaginary parts `c/2` block rows further. Consumes 2 levels. The unpairing's factor 2 is left in, for
    /// the update to take into its scale exactly ([`Engine::div_exact`]) after all the noise is in.
    ///
    /// # Errors
    /// If a rotation or the conjugation key is missing or the ciphertexts have too few levels.
    ///
    /// [`Layout::gradient_features`]: crate::train::layout::Layout::gradient_features
    /// [`Engine::div_exact`]: medblind_core::ckks::Engine::div_exact
    pub fn gradient_step(&self, x: &[Ct], error: &Ct, rows: usize, rate: f64) -> Result<Vec<Ct>> {
        let (e, l) = (self.engine, &self.layout);
        let (c, half) = (l.class_slots, l.class_slots / 2);
        if x.len() != l.blocks * half {
            bail!("{} feature blocks, expected {}", x.len(), l.blocks * half);
        }
        let column = |t: usize| e.mul_values(error, &l.column_mask(t, rows, rate / rows as f64));
        let broadcasts: Vec<Ct> = (0..half)
            .into_par_iter()
            .map(|t| {
                let upper = e.rotate(&column(t + half)?, half as i64)?;
                let mut pair = e.add(&column(t)?, &e.mul_i(&upper)?)?;
                let mut s = 1;
                while s < l.cols {
                    pair = e.add(&pair, &e.rotate(&pair, -(s as i64))?)?;
                    s <<= 1;
                }
                let broadcast = e.rotate(&pair, t as i64)?;
                if t == 0 { Ok(broadcast) } else { e.rotate(&broadcast, ((c - t) * l.cols) as i64) }
            })
            .collect::<medblind_core::Result<_>>()?;
        (0..l.blocks)
            .into_par_iter()
            .map(|b| {
                let products: Vec<(&Ct, &Ct)> = broadcasts.iter().zip(&x[b * half..(b + 1) * half]).collect();
                let mut a = e.dot(&products)?;
                let mut fold = c * l.cols;
                while fold < l.slots {
                    a = e.add(&a, &e.rotate(&a, fold as i64)?)?;
                    fold <<= 1;
                }
                // a repeats every c block rows, so its imaginary part moves c/2 block rows either way.
                e.unpair(&a, (half * l.cols) as i64)
            })
            .collect::<medblind_core::Result<_>>()
            .map_err(Into::into)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::batches::{BatchLevels, encrypt_batch};
    use crate::train::fixtures::test_literal;
    use crate::train::key_owner::KeyOwner;
    use crate::train::layout::Layout;
    use crate::train::softmax::SoftmaxApprox;
    use medblind_core::ckks::bootstrap::{Bootstrapper, bootstrapping_for};
    use medblind_core::ckks::{Context, Encoder, Engine, Params, presets};

    /// The context and encoder of [`test_literal`].
    fn test_context() -> (Context<Vec<u64>>, Encoder<Vec<f64>>) {
        let ctx = Context::new(&Params::new(&test_literal()).unwrap()).unwrap();
        let encoder = Encoder::new(ctx.log_degree()).unwrap();
        (ctx, encoder)
    }

    /// `rows × cols` deterministic values in `[-0.5, 0.5)`, the `seed`-th such matrix.
    fn scattered(rows: usize, cols: usize, seed: usize) -> Vec<Vec<f64>> {
        let value = |i: usize| ((i as f64 * 12.9898).sin() * 43758.5453).fract().abs() - 0.5;
        (0..rows).map(|i| (0..cols).map(|j| value(7919 * seed + cols * i + j)).collect()).collect()
    }

    /// Every part of a batch at the fresh level.
    fn fresh_levels(engine: &Engine<'_>) -> BatchLevels {
        let fresh = engine.fresh_level();
        BatchLevels { shifted: fresh, features: fresh, labels: fresh }
    }

    #[test]
    fn diag_abt_gives_every_diagonal_of_the_plaintext_product_and_zeros_elsewhere() {
        let (ctx, encoder) = test_context();
        let owner = KeyOwner::generate(&ctx, &encoder);
        // 5 classes padded to 8 (four pairs of diagonals) and 2 (one pair); 100 features in 2 blocks of 64
        // columns; 13 of 16 rows.
        for classes in [5, 2] {
            let layout = Layout::new(ctx.degree() / 2, 16, classes, 100).unwrap();
            assert_eq!((layout.cols, layout.blocks), (64, 2));
            let keys = owner.cloud_keys(&layout.rotation_steps());
            let engine = Engine::new(&ctx, &encoder, &keys.keys);
            let trainer = Trainer::new(&engine, layout, SoftmaxApprox::standard(classes)).unwrap();
            let (x, w) = (scattered(13, 100, 0), scattered(classes, 100, 1));
            let batch = encrypt_batch(&owner, &layout, fresh_levels(&engine), &x, &[]).unwrap();
            let weights: Vec<Ct> = layout.weights(&w).iter().map(|v| owner.encrypt(v).unwrap()).collect();
            let z = trainer.logits(&batch.shifted, &weights, 1.0).unwrap();
            assert_eq!(z.level(), engine.fresh_level() - 2);
            let slots = owner.decrypt(&z).unwrap();
            for (xi, zi) in x.iter().zip(&layout.unpack_logits(&slots, 13)) {
                for (wk, zk) in w.iter().zip(zi) {
                    let want: f64 = xi.iter().zip(wk).map(|(a, b)| a * b).sum();
                    // The product's scale is read as Δ: off by a relative |Δ/q_ℓ − 1| ≤ 1.3·10⁻⁶.
                    assert!((want - zk).abs() < 1e-6 * (1.0 + 2.0 * want.abs()), "logit {zk}, want {want}");
                }
            }
            // Nothing outside the diagonal layout's columns (a padded class's slots hold its zero logits).
            let c = layout.class_slots;
            let stray = (0..slots.len()).filter(|s| s % layout.cols >= c).map(|s| slots[s].abs()).fold(0.0, f64::max);
            assert!(stray < 1e-6, "{stray} outside the diagonal columns ({classes} classes)");
        }
    }

    #[test]
    fn diag_atb_gives_the_plaintext_gradient_tiled_like_the_weights() {
        let (ctx, encoder) = test_context();
        let owner = KeyOwner::generate(&ctx, &encoder);
        let (rows, rate) = (13, 0.7);
        let x = scattered(rows, 100, 0);
        for classes in [5, 2] {
            let layout = Layout::new(ctx.degree() / 2, 16, classes, 100).unwrap();
            let keys = owner.cloud_keys(&layout.rotation_steps());
            let engine = Engine::new(&ctx, &encoder, &keys.keys);
            let trainer = Trainer::new(&engine, layout, SoftmaxApprox::standard(classes)).unwrap();
            // An error matrix over the real classes, in the diagonal layout.
            let c = layout.class_slots;
            let errors = scattered(rows, classes, 2);
            let mut diagonal = vec![0.0; layout.slots];
            for (i, row) in errors.iter().enumerate() {
                for (k, &v) in row.iter().enumerate() {
                    diagonal[i * layout.cols + (k + c - i % c) % c] = v;
                }
            }
            let batch = encrypt_batch(&owner, &layout, fresh_levels(&engine), &x, &[]).unwrap();
            let error = engine.align(&owner.encrypt(&diagonal).unwrap(), 10).unwrap();
            let step = trainer.gradient_step(&batch.features, &error, rows, rate).unwrap();
            assert!(step.iter().all(|g| g.level() == 8));
            let blocks: Vec<Vec<f64>> =
                step.iter().map(|g| owner.decrypt(&engine.div_exact(g, 2.0)).unwrap()).collect();
            for (k, have) in layout.unpack_weights(&blocks).iter().enumerate() {
                for (j, g) in have.iter().enumerate() {
                    let want = rate / rows as f64 * (0..rows).map(|i| errors[i][k] * x[i][j]).sum::<f64>();
                    assert!((want - g).abs() < 1e-6, "class {k}, feature {j}: {g}, want {want}");
                }
            }
            // Every block row holds the same weights, the padded classes' rows zero.
            let period = c * layout.cols;
            for b in &blocks {
                let apart = (0..b.len()).map(|s| (b[s] - b[s % period]).abs()).fold(0.0, f64::max);
                let padding = b[classes * layout.cols..period].iter().fold(0.0f64, |m, v| m.max(v.abs()));
                assert!(apart < 1e-6 && padding < 1e-6, "block rows apart by {apart}, padding {padding}");
            }
        }
    }

    #[test]
    fn packed_weights_come_back_from_bootstrapping_in_two_groups_insecure_n4096() {
        let literal = &presets::TEST_INSECURE_N4096_BOOT;
        let ctx = Context::new(&Params::new(literal).unwrap()).unwrap();
        let encoder = Encoder::new(ctx.log_degree()).unwrap();
        // 300 features: 3 blocks of 128 columns; w and y make 6 tiled blocks of period 4·128 = 512, packed 4 + 2
        // (in periods of 2048 and 1024 slots).
        let layout = Layout::new(ctx.degree() / 2, 16, 3, 300).unwrap();
        assert_eq!(layout.packed_periods(2 * layout.blocks), [2048, 1024]);
        let owner = KeyOwner::generate(&ctx, &encoder);
        let boot = bootstrapping_for(literal).unwrap();
        let bootstrapper = Bootstrapper::for_params(&ctx).unwrap().unwrap();
        let keys = owner.bootstrapping_keys(&layout.rotation_steps(), boot).unwrap();
        let engine = Engine::bootstrapping(&ctx, &encoder, &keys.keys, &bootstrapper).unwrap();
        let trainer = Trainer::new(&engine, layout, SoftmaxApprox::standard(3)).unwrap();
        let matrices: Vec<Vec<Vec<f64>>> = (0..2)
            .map(|m| {
                (0..3).map(|k| (0..300).map(|j| ((m * 977 + k * 301 + j) as f64 * 0.37).sin()).collect()).collect()
            })
            .collect();
        let mut tiled: Vec<Vec<f64>> = matrices.iter().flat_map(|w| layout.weights(w)).collect();
        // Block row 2 of the second group's first block (the second matrix's second block) drifted, as
        // bootstrapping's noise makes block rows drift: it is averaged with block row 0, the other copy of its
        // segment, and every block row comes back the same.
        let (period, drift) = (layout.class_slots * layout.cols, 1e-3);
        tiled[4][2 * period + 7] += drift;
        let mut matrices = matrices;
        matrices[1][0][layout.cols + 7] += drift / 2.0;
        let tiled: Vec<Ct> = tiled.iter().map(|v| engine.align(&owner.encrypt(v).unwrap(), 2).unwrap()).collect();
        let fresh = trainer.bootstrap_tiled(&tiled).unwrap();
        assert_eq!(engine.bootstraps_done(), 2, "one bootstrap per group");
        assert!(fresh.iter().all(|ct| ct.level() == engine.fresh_level() - 1));
        for (m, blocks) in matrices.iter().zip(fresh.chunks(layout.blocks)) {
            let blocks: Vec<Vec<f64>> = blocks.iter().map(|ct| owner.decrypt(ct).unwrap()).collect();
            let apart =
                blocks.iter().flat_map(|b| (0..b.len()).map(|s| (b[s] - b[s % period]).abs())).fold(0.0, f64::max);
            assert!(apart < 1e-6, "block rows differ by {apart}");
            let worst = m
                .iter()
                .flatten()
                .zip(layout.unpack_weights(&blocks).iter().flatten())
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f64::max);
            assert!(worst < 1e-5, "packed weights off by {worst} after bootstrapping");
        }
    }
}
