//! MedBlind's edge firmware: the `medblind-core` CKKS code on a Cortex-M7, with no allocator.
//!
//! This library holds what every binary and on-target test shares: the defmt logger (semihosting under QEMU),
//! the panic and HardFault handlers (both exit QEMU with a non-zero status), and the instruction counter.
#![no_std]

use defmt_semihosting as _;

pub mod buffers;
pub mod counter;
pub mod stack;
pub mod uart;

/// Ends the program with `code` as QEMU's exit status (semihosting `SYS_EXIT_EXTENDED`).
pub fn exit(code: i32) -> ! {
    semihosting::process::exit(code)
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    defmt::error!("panic: {}", defmt::Display2Format(info));
    exit(101)
}

#[defmt::panic_handler]
fn defmt_panic() -> ! {
    exit(101)
}

#[cortex_m_rt::exception]
unsafe fn HardFault(frame: &cortex_m_rt::ExceptionFrame) -> ! {
    defmt::error!("HardFault at pc={=u32:#010x}", frame.pc());
    exit(102)
}
