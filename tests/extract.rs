//! Extract tests.
