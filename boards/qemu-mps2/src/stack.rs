//! The stack's high-water mark, by painting: every word between the end of
//! the statics (cortex-m-rt's `_stack_end`) and a little below the current
//! stack pointer is set to [`PAINT`]; later, the lowest painted word that no
//! longer holds it is the deepest the stack has been since.

/// What an unused stack word holds.
const PAINT: u32 = 0x5AC3_5AC3;
/// Left unpainted below the stack pointer [`paint`] reads: the compiler may
/// read it before pushing the function's own registers.
const MARGIN: usize = 64;

#[allow(unsafe_code)]
// SAFETY: only the addresses of these linker symbols are taken (cortex-m-rt's
// `link.x` defines them), never their contents.
unsafe extern "C" {
    static _stack_start: u32;
    static _stack_end: u32;
}

/// The top of the stack (it grows down from here).
pub fn top() -> usize {
    (&raw const _stack_start) as usize
}

/// The lowest address the stack may reach (the end of the statics).
fn limit() -> usize {
    (&raw const _stack_end) as usize
}

/// The free stack painted by [`paint`].
#[derive(Clone, Copy, Debug)]
pub struct Painted {
    /// The stack pointer when it was painted.
    pointer: usize,
    /// The end of the paint (`MARGIN` below `pointer`).
    end: usize,
}

/// Paints the free stack below the caller's frame.
#[inline(never)]
pub fn paint() -> Painted {
    let pointer = cortex_m::register::msp::read() as usize;
    let end = pointer.saturating_sub(MARGIN) & !3;
    let mut at = limit();
    while at < end {
        #[allow(unsafe_code)]
        // SAFETY: `at` is word-aligned (both ends are) and lies between the
        // end of the statics and `MARGIN` bytes below the stack pointer: free
        // stack that no live frame, static or heap block uses (the heap is in
        // PSRAM, memory.x).
        unsafe {
            core::ptr::write_volatile(at as *mut u32, PAINT);
        }
        at = at.saturating_add(4);
    }
    Painted { pointer, end }
}

impl Painted {
    /// The lowest painted address written since (the end of the paint if
    /// none was).
    #[inline(never)]
    fn lowest(self) -> usize {
        let mut at = limit();
        while at < self.end {
            #[allow(unsafe_code)]
            // SAFETY: word-aligned, between the end of the statics and the
            // end of the paint: stack memory, which is always readable.
            let word = unsafe { core::ptr::read_volatile(at as *const u32) };
            if word != PAINT {
                break;
            }
            at = at.saturating_add(4);
        }
        at
    }

    /// Bytes of stack used below the painter's caller since (at least
    /// `MARGIN`).
    pub fn used(self) -> usize {
        self.pointer.saturating_sub(self.lowest())
    }

    /// Bytes between the top of the stack and its deepest point since.
    pub fn high_water(self) -> usize {
        top().saturating_sub(self.lowest())
    }
}

/// Bytes of stack there are in all (statics end to top).
pub fn size() -> usize {
    top().saturating_sub(limit())
}
