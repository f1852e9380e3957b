//! Cross-crate tests, in one binary: the device's bytes read by the host, and the firmware linked to the host.
#![allow(missing_docs)]

mod device_host_bytes;
mod device_link;
