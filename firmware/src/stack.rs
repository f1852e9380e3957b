//! Stack high-water mark by painting: fill the unused stack with a pattern at start-up, and later find the
//! deepest word that was overwritten. The stack runs from `_stack_start` (top of RAM) down to `__sheap` (the end
//! of `.bss`), as cortex-m-rt lays it out.

const PAINT: u32 = 0xDEAD_BEEF;

unsafe extern "C" {
    static mut __sheap: u32;
    static _stack_start: u32;
}

fn bounds() -> (*mut u32, *mut u32) {
    (&raw mut __sheap, (&raw const _stack_start).cast_mut())
}

/// Paints the free stack below the current stack pointer (keeping a 256-byte margin).
pub fn paint() {
    let (bottom, _) = bounds();
    let sp = cortex_m::register::msp::read() as *mut u32;
    let mut p = bottom;
    while (p as usize) + 256 < sp as usize {
        // SAFETY: [bottom, sp - 256) is RAM that no live frame uses.
        unsafe { p.write_volatile(PAINT) };
        p = p.wrapping_add(1);
    }
}

/// Bytes of stack used at the deepest point since [`paint`].
pub fn high_water() -> usize {
    let (bottom, top) = bounds();
    let mut p = bottom;
    // SAFETY: reads within [bottom, top), which is RAM.
    while p < top && unsafe { p.read_volatile() } == PAINT {
        p = p.wrapping_add(1);
    }
    top as usize - p as usize
}
