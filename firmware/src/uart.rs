//! The ARM CMSDK APB UART (UART0 of the MPS2 boards at `0x4000_4000`), behind the `embedded-io` traits so the
//! link code is board-independent: a real board swaps only this driver.

use core::convert::Infallible;
use core::ptr::{read_volatile, write_volatile};

const DATA: usize = 0x00;
const STATE: usize = 0x04;
const CTRL: usize = 0x08;
const BAUDDIV: usize = 0x10;
const STATE_TX_FULL: u32 = 1;
const STATE_RX_FULL: u32 = 2;
const CTRL_TX_EN: u32 = 1;
const CTRL_RX_EN: u32 = 2;

/// A polled CMSDK APB UART.
pub struct CmsdkUart {
    base: usize,
}

impl CmsdkUart {
    /// UART0 of the MPS2 boards.
    pub const UART0: usize = 0x4000_4000;

    /// Enables transmit and receive at `base` (QEMU requires a baud divider of at least 16).
    ///
    /// # Safety
    /// `base` must be a CMSDK APB UART that nothing else drives.
    pub unsafe fn new(base: usize) -> Self {
        let uart = Self { base };
        // 25 MHz / 115200 baud.
        uart.write_reg(BAUDDIV, 217);
        uart.write_reg(CTRL, CTRL_TX_EN | CTRL_RX_EN);
        uart
    }

    fn read_reg(&self, offset: usize) -> u32 {
        // SAFETY: `new`'s contract: a UART register block at `base`.
        unsafe { read_volatile((self.base + offset) as *const u32) }
    }

    fn write_reg(&self, offset: usize, value: u32) {
        // SAFETY: as in `read_reg`.
        unsafe { write_volatile((self.base + offset) as *mut u32, value) }
    }
}

impl embedded_io::ErrorType for CmsdkUart {
    type Error = Infallible;
}

impl embedded_io::Read for CmsdkUart {
    /// Blocks until at least one byte arrives, then returns what is there (one byte: the UART has no FIFO).
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Infallible> {
        let Some(first) = buf.first_mut() else { return Ok(0) };
        while self.read_reg(STATE) & STATE_RX_FULL == 0 {}
        *first = self.read_reg(DATA) as u8;
        Ok(1)
    }
}

impl embedded_io::Write for CmsdkUart {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Infallible> {
        for &byte in buf {
            while self.read_reg(STATE) & STATE_TX_FULL != 0 {}
            self.write_reg(DATA, u32::from(byte));
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> Result<(), Infallible> {
        Ok(())
    }
}
