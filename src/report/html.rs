//! HTML (stub).
