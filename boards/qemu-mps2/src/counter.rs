//! Counts instructions on QEMU, deterministically.
//!
//! QEMU models neither the DWT cycle counter nor a PMU on a Cortex-M3, and
//! Debian's QEMU ships no TCG plugins (no `libinsn.so`, no `qemu-plugin.h`).
//! What it does have is `-icount shift=N`: the virtual clock advances exactly
//! 2^N ns per guest instruction executed, and nothing else moves it while
//! the CPU is busy. The board's CMSDK APB dual timer counts that clock at
//! 25 MHz (40 ns a tick), 32 bits wide. With `shift=7` (scripts/qemu.sh) one
//! instruction is 128 ns = 3.2 ticks, so instructions = ticks × 40 / 128,
//! exact after rounding, and the counter wraps only every 1.3 G instructions.
//! A timer register read is an I/O access, which icount makes exact to the
//! instruction.
//!
//! Without `-icount` the timer follows the host's clock; [`calibration`]
//! tells by timing a loop of known length.

/// The CMSDK APB dual timer of mps2-an385 (`info mtree`), timer 1.
const LOAD: usize = 0x4000_2000;
const VALUE: usize = 0x4000_2004;
const CONTROL: usize = 0x4000_2008;
/// Enabled, 32-bit, free-running, no interrupt, prescale 1.
const ENABLE_32BIT_FREE: u32 = 0x82;

/// Nanoseconds per timer tick (25 MHz).
const NS_PER_TICK: u64 = 40;
/// The `-icount shift` scripts/qemu.sh runs with.
pub const ICOUNT_SHIFT: u32 = 7;
/// Nanoseconds of virtual time per instruction.
const NS_PER_INSTRUCTION: u64 = 1 << ICOUNT_SHIFT;

/// Starts the timer counting down from the top.
pub fn start() {
    #[allow(unsafe_code)]
    // SAFETY: two writes to the dual timer's own registers (QEMU's
    // cmsdk-apb-dualtimer at 0x40002000); nothing else uses the timer.
    unsafe {
        core::ptr::write_volatile(CONTROL as *mut u32, 0);
        core::ptr::write_volatile(LOAD as *mut u32, u32::MAX);
        core::ptr::write_volatile(CONTROL as *mut u32, ENABLE_32BIT_FREE);
    }
}

/// The timer now (it counts down).
#[inline(always)]
fn ticks() -> u32 {
    #[allow(unsafe_code)]
    // SAFETY: a read of the dual timer's read-only value register.
    unsafe {
        core::ptr::read_volatile(VALUE as *const u32)
    }
}

/// A point in the instruction stream.
#[derive(Clone, Copy, Debug)]
pub struct Mark(u32);

/// Marks now.
#[inline(always)]
pub fn mark() -> Mark {
    Mark(ticks())
}

impl Mark {
    /// Instructions executed since `self` (at most one wrap, 1.3 G).
    pub fn elapsed(self) -> u64 {
        let ticks = u64::from(self.0.wrapping_sub(ticks()));
        ticks
            .saturating_mul(NS_PER_TICK)
            .saturating_add(NS_PER_INSTRUCTION / 2)
            / NS_PER_INSTRUCTION
    }
}

/// Instructions measured over a loop of 2,000,002 (cortex-m's `delay(n)`:
/// n + 1 times `subs`, `bne`, plus the call): about that when QEMU runs with
/// `-icount shift=7`, anything else without it.
pub fn calibration() -> u64 {
    let at = mark();
    cortex_m::asm::delay(1_000_000);
    at.elapsed()
}
