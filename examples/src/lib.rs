//! Host examples; see the examples/ files.
