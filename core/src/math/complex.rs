//! Complex numbers in `f64`, just what the slot-domain linear algebra of bootstrapping needs.

use core::ops::{Add, AddAssign, Mul, Neg, Sub};

/// `re + i·im`.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Complex {
    /// The real part.
    pub re: f64,
    /// The imaginary part.
    pub im: f64,
}

impl Complex {
    /// Zero.
    pub const ZERO: Self = Self { re: 0.0, im: 0.0 };
    /// One.
    pub const ONE: Self = Self { re: 1.0, im: 0.0 };
    /// The imaginary unit.
    pub const I: Self = Self { re: 0.0, im: 1.0 };

    /// `re + i·im`.
    pub const fn new(re: f64, im: f64) -> Self {
        Self { re, im }
    }

    /// A real number.
    pub const fn real(re: f64) -> Self {
        Self { re, im: 0.0 }
    }

    /// `exp(2πi · numerator / denominator)`.
    pub fn root_of_unity(numerator: usize, denominator: usize) -> Self {
        let angle = 2.0 * core::f64::consts::PI * numerator as f64 / denominator as f64;
        Self { re: libm::cos(angle), im: libm::sin(angle) }
    }

    /// The complex conjugate.
    pub fn conj(self) -> Self {
        Self { re: self.re, im: -self.im }
    }

    /// `1 / self` (infinite for zero).
    pub fn inv(self) -> Self {
        let norm = self.norm_sqr();
        Self { re: self.re / norm, im: -self.im / norm }
    }

    /// `self · k` for a real `k`.
    pub fn scale(self, k: f64) -> Self {
        Self { re: self.re * k, im: self.im * k }
    }

    /// `|self|²`.
    pub fn norm_sqr(self) -> f64 {
        self.re * self.re + self.im * self.im
    }

    /// `|self|`.
    pub fn abs(self) -> f64 {
        libm::sqrt(self.norm_sqr())
    }
}

impl Add for Complex {
    type Output = Self;
    fn add(self, b: Self) -> Self {
        Self { re: self.re + b.re, im: self.im + b.im }
    }
}

impl AddAssign for Complex {
    fn add_assign(&mut self, b: Self) {
        *self = *self + b;
    }
}

impl Sub for Complex {
    type Output = Self;
    fn sub(self, b: Self) -> Self {
        Self { re: self.re - b.re, im: self.im - b.im }
    }
}

impl Neg for Complex {
    type Output = Self;
    fn neg(self) -> Self {
        Self { re: -self.re, im: -self.im }
    }
}

impl Mul for Complex {
    type Output = Self;
    fn mul(self, b: Self) -> Self {
        Self { re: self.re * b.re - self.im * b.im, im: self.re * b.im + self.im * b.re }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_identities_hold() {
        let (a, b) = (Complex::new(1.5, -2.0), Complex::new(-0.25, 3.0));
        assert_eq!(Complex::I * Complex::I, -Complex::ONE);
        assert_eq!(a * b, Complex::new(1.5 * -0.25 + 6.0, 4.5 + 0.5));
        assert!((a * a.inv() - Complex::ONE).abs() < 1e-15);
        assert_eq!((a + b) - b, a);
        assert_eq!(a.conj().conj(), a);
        assert!((Complex::root_of_unity(1, 4) - Complex::I).abs() < 1e-15);
        assert!((a * a.conj()).im == 0.0 && (a.abs() - a.norm_sqr().sqrt()).abs() < 1e-15);
    }
}
