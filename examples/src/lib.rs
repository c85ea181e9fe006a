//! Host examples; see the examples/ files. The keypad-and-buzzer lock's
//! board layer lives here so that its example and its test share it.

pub mod buzzer_lock;
