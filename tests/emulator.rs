//! Emulator contract tests.
