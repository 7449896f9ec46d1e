//! The event loop: the only code that uses mio.
