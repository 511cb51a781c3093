//! The PROXY protocol header (src/core/proxy.rs), the first bytes a load balancer sends.
//!
//! Checks: no panic; a complete header's length is within the input and the v2 bound;
//! every shorter prefix of a complete header asks for more (the session never decides on a
//! partial header); bytes after a complete header, or after an invalid start, change
//! nothing (what follows belongs to the SMTP session).
#![no_main]
use libfuzzer_sys::fuzz_target;
use nssmtpd_fuzz::core::proxy::{parse_proxy_header, ProxyHeader, V2_MAX};

fuzz_target!(|data: &[u8]| {
    let result = parse_proxy_header(data);
    let mut longer = data.to_vec();
    longer.extend_from_slice(b"EHLO x\r\n\r\n\0\xff");
    match &result {
        ProxyHeader::Done { length, .. } => {
            assert!(*length <= data.len() && *length <= V2_MAX, "{length}");
            for cut in 0..*length {
                assert_eq!(
                    parse_proxy_header(&data[..cut]),
                    ProxyHeader::NeedMore,
                    "prefix of {cut} bytes"
                );
            }
            assert_eq!(parse_proxy_header(&longer), result);
        }
        ProxyHeader::Invalid(_) => assert_eq!(parse_proxy_header(&longer), result),
        ProxyHeader::NeedMore => assert!(data.len() < V2_MAX, "undecided after {}", data.len()),
    }
});
