//! The memory `put_file` needs for a file far larger than a part, on every storage backend.
//!
//! The measurement counts every allocation of the process (a counting global allocator), so
//! it runs in a test binary of its own, where nothing else allocates meanwhile, one backend at
//! a time.

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use testkit::guarded;
use testkit::moto::{Backend, object_key};
use tgc_service::mediaprocessor::Storage;

const MIB: u64 = 1024 * 1024;

/// The bound the memory tests assert on the extra peak allocation of one `put_file`: three
/// 8 MiB parts (two uploading, one being read), tokio's 2 MiB file buffer, and slack. A
/// part copied or grown on the way (as a full `BytesMut` does on one more read) breaks it.
const MEMORY_BOUND: usize = 40 * MIB as usize;

/// One measurement at a time: each counts every allocation of the process.
static ALONE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

struct CountingAllocator;

static ALLOCATED: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

impl CountingAllocator {
    fn grew(by: usize) {
        let now = ALLOCATED.fetch_add(by, Ordering::SeqCst) + by;
        PEAK.fetch_max(now, Ordering::SeqCst);
    }

    fn shrank(by: usize) {
        ALLOCATED.fetch_sub(by, Ordering::SeqCst);
    }
}

// SAFETY: every call is forwarded to the system allocator unchanged; only sizes are counted.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract for `alloc` is passed on as is.
        let pointer = unsafe { System.alloc(layout) };
        if !pointer.is_null() {
            Self::grew(layout.size());
        }
        pointer
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let pointer = unsafe { System.alloc_zeroed(layout) };
        if !pointer.is_null() {
            Self::grew(layout.size());
        }
        pointer
    }

    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        // SAFETY: as for `alloc`.
        unsafe { System.dealloc(pointer, layout) };
        Self::shrank(layout.size());
    }

    unsafe fn realloc(&self, pointer: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let moved = unsafe { System.realloc(pointer, layout, new_size) };
        if !moved.is_null() {
            if new_size > layout.size() {
                Self::grew(new_size - layout.size());
            } else {
                Self::shrank(layout.size() - new_size);
            }
        }
        moved
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

/// `put_file` of a 200 MiB (sparse) file; returns the peak of bytes allocated during it
/// beyond what was allocated before.
async fn peak_allocation_of_a_large_put(storage: &Storage, dir: &Path) -> usize {
    let size = 200 * MIB;
    let path = dir.join("large");
    std::fs::File::create(&path)
        .and_then(|file| file.set_len(size))
        .expect("a sparse 200 MiB file");
    let key = object_key("large");
    let before = ALLOCATED.load(Ordering::SeqCst);
    PEAK.store(before, Ordering::SeqCst);
    guarded("put_file of 200 MiB", storage.put_file(&key, &path, size))
        .await
        .expect("put_file of 200 MiB");
    let peak = PEAK.load(Ordering::SeqCst).saturating_sub(before);
    assert_eq!(storage.size_of(&key).await.expect("size_of"), Some(size));
    peak
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_put_file_of_200_mib_keeps_memory_bounded() {
    let _alone = ALONE.lock().await;
    let backend = Backend::local();
    let files = tempfile::tempdir().expect("a temp dir");
    let peak = peak_allocation_of_a_large_put(&backend.storage, files.path()).await;
    println!(
        "local put_file of 200 MiB: peak extra allocation {:.1} MiB",
        peak as f64 / MIB as f64
    );
    assert!(
        peak < MEMORY_BOUND,
        "the put allocated up to {peak} bytes at once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_put_file_of_200_mib_keeps_memory_bounded() {
    let _alone = ALONE.lock().await;
    let backend = Backend::s3();
    let files = tempfile::tempdir().expect("a temp dir");
    let peak = peak_allocation_of_a_large_put(&backend.storage, files.path()).await;
    println!(
        "S3 put_file of 200 MiB: peak extra allocation {:.1} MiB",
        peak as f64 / MIB as f64
    );
    assert!(
        peak < MEMORY_BOUND,
        "the put allocated up to {peak} bytes at once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_put_file_of_200_mib_keeps_memory_bounded() {
    let _alone = ALONE.lock().await;
    let backend = Backend::http();
    let files = tempfile::tempdir().expect("a temp dir");
    let peak = peak_allocation_of_a_large_put(&backend.storage, files.path()).await;
    println!(
        "HTTP put_file of 200 MiB: peak extra allocation {:.1} MiB",
        peak as f64 / MIB as f64
    );
    assert!(
        peak < MEMORY_BOUND,
        "the put allocated up to {peak} bytes at once"
    );
}
