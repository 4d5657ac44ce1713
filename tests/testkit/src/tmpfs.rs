//! A small tmpfs a test mounts over a directory the gateway writes to, and fills, so that
//! the gateway meets a real full filesystem (`ENOSPC`, `SQLITE_FULL`), not a simulated one.
//!
//! Mounting needs root (or `CAP_SYS_ADMIN`), which the test machines and CI have; a test
//! that cannot mount fails and says so rather than skipping.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A mounted tmpfs, unmounted on drop.
#[derive(Debug)]
pub struct Tmpfs {
    at: PathBuf,
}

impl Tmpfs {
    /// Mounts a tmpfs of `size` (as `mount -o size=` takes it: `16m`) at `at`, creating the
    /// directory.
    pub fn mount(at: &Path, size: &str) -> Tmpfs {
        std::fs::create_dir_all(at).expect("the mount point");
        let status = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(at)
            .status()
            .expect("mount runs");
        assert!(
            status.success(),
            "mounting a tmpfs at {} failed: the full-disk tests need root or CAP_SYS_ADMIN",
            at.display()
        );
        Tmpfs { at: at.to_owned() }
    }

    fn filler(&self) -> PathBuf {
        self.at.join("filler")
    }

    /// Fills what is left of the filesystem with one file, until the kernel says it is full.
    pub fn fill(&self) {
        let mut file = std::fs::File::create(self.filler()).expect("the filler file");
        let block = vec![0u8; 64 * 1024];
        loop {
            match file.write(&block) {
                Ok(0) => break,
                Ok(_) => {}
                Err(error) if error.raw_os_error() == Some(28) => break, // ENOSPC
                Err(error) => panic!("filling the tmpfs: {error}"),
            }
        }
        // Whatever a last partial block left is taken too.
        let _ = file.write(&[0u8; 1]);
        let _ = file.sync_all();
    }

    /// Fills the filesystem but for about `room` bytes (writes that need more fail).
    pub fn fill_leaving(&self, room: u64) {
        self.fill();
        let filler = std::fs::OpenOptions::new()
            .write(true)
            .open(self.filler())
            .expect("the filler file");
        let len = filler.metadata().expect("its size").len();
        filler
            .set_len(len.saturating_sub(room))
            .expect("shrinking the filler");
    }

    /// Frees what [`Tmpfs::fill`] took.
    pub fn free(&self) {
        std::fs::remove_file(self.filler()).expect("removing the filler file");
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        // Lazily: a process that still holds a file there does not keep the mount.
        let _ = Command::new("umount").arg("-l").arg(&self.at).status();
    }
}
