//! Counting guest instructions with SysTick under `qemu -icount shift=0`.
//!
//! With `-icount shift=0` QEMU advances virtual time by 1 ns per guest instruction and the mps2 core clock is
//! 25 MHz, so one SysTick count is 40 instructions. Without `-icount` the counts follow host time and mean
//! nothing. (DWT CYCCNT is not modelled by QEMU.)

use cortex_m::peripheral::{SYST, syst::SystClkSource};

/// Guest instructions per SysTick count under `-icount shift=0` on mps2 (25 MHz core clock).
pub const INSTRUCTIONS_PER_TICK: u64 = 40;

/// A free-running 24-bit SysTick, extended in software by polling.
pub struct Counter {
    syst: SYST,
}

impl Counter {
    /// Starts SysTick counting down from its maximum at the core clock.
    pub fn new(mut syst: SYST) -> Self {
        syst.set_clock_source(SystClkSource::Core);
        syst.set_reload(0x00ff_ffff);
        syst.clear_current();
        syst.enable_counter();
        // QEMU reads 0 until the first tick after enabling.
        while SYST::get_current() == 0 {}
        Self { syst }
    }

    /// Runs `f` and returns its result with the instructions it took (valid for runs below 2^24 ticks,
    /// about 670 M instructions).
    pub fn measure<T>(&mut self, f: impl FnOnce() -> T) -> (T, u64) {
        // Reading COUNTFLAG clears it: clear, run, then it tells whether the counter wrapped once.
        let _ = self.syst.has_wrapped();
        let start = SYST::get_current();
        let value = f();
        let end = SYST::get_current();
        let ticks = if self.syst.has_wrapped() { start + 0x0100_0000 - end } else { start - end };
        (value, u64::from(ticks) * INSTRUCTIONS_PER_TICK)
    }
}
