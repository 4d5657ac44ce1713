//! File descriptors: the gateway needs about two per account (its connections) plus one per
//! download, upload, client connection and open database. Many systems start a process with a
//! soft limit of 1,024, which 500 accounts exhaust before the first download, so the server
//! raises its soft limit to the hard one at start ([`raise_soft_limit`]), and `/readyz` reports
//! when what is open comes near the limit ([`usage`]).

use std::io;

/// The soft limit before and after raising it to the hard limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Raised {
    pub before: u64,
    pub after: u64,
}

/// Raises the soft limit on open files to the hard limit (which needs no privilege).
pub fn raise_soft_limit() -> io::Result<Raised> {
    let (before, hard) = rlimit::getrlimit(rlimit::Resource::NOFILE)?;
    let after = rlimit::increase_nofile_limit(hard)?;
    Ok(Raised { before, after })
}

/// Descriptors open now and the soft limit, where the system tells (Linux's `/proc`).
pub fn usage() -> Option<(u64, u64)> {
    let (soft, _) = rlimit::getrlimit(rlimit::Resource::NOFILE).ok()?;
    let open = std::fs::read_dir("/proc/self/fd").ok()?.count() as u64;
    Some((open, soft))
}

/// Whether `open` of `limit` descriptors leaves too little room: four fifths in use.
pub fn running_short(open: u64, limit: u64) -> bool {
    open.saturating_mul(5) >= limit.saturating_mul(4)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_soft_limit_is_raised_to_the_hard_one() {
        let raised = raise_soft_limit().expect("setrlimit");
        let (soft, hard) = rlimit::getrlimit(rlimit::Resource::NOFILE).unwrap();
        assert_eq!(raised.after, soft);
        assert!(soft == hard || hard == rlimit::INFINITY);
        assert!(raised.after >= raised.before);
    }

    #[test]
    fn usage_counts_what_is_open() {
        let (open, limit) = usage().expect("Linux /proc");
        assert!(open > 0 && open < limit);
        assert!(!running_short(10, 1024));
        assert!(running_short(820, 1024));
    }
}
