use clap::Parser;

/// The binary allocates with jemalloc instead of the system's malloc (issue #17): each thread
/// caches small blocks it frees and takes the rest from a few shared arenas, so `zd2gc load`'s
/// runtime threads neither contend for one glibc arena (`mallopt(M_ARENA_MAX, 1)` cost ~15 % of
/// load's CPU) nor keep an arena each full of freed weeks (what that setting was for). The library
/// and its tests keep the system allocator, and SQLite's own allocations go to the system's malloc
/// either way (jemalloc is linked with prefixed symbols and replaces no `malloc`). jemalloc does
/// not build with MSVC: there the binary keeps the system allocator.
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> zd2gc::exit::Exit {
    zd2gc::store::sqlite_init();
    let cli = match zd2gc::commands::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return zd2gc::commands::usage_error(e),
    };
    // Before any stage starts its threads. Not for extract (see the function).
    if !matches!(cli.command, zd2gc::commands::Command::Extract(_)) {
        allocator::return_freed_pages_at_once();
    }
    let color = cli.global.color;
    match zd2gc::commands::run(cli) {
        Ok(exit) => exit,
        Err(err) => {
            let exit = err.exit();
            zd2gc::commands::report_error(&err, color.into());
            exit
        }
    }
}

#[cfg(not(target_env = "msvc"))]
mod allocator {
    use std::ffi::{CStr, CString, c_void};

    /// jemalloc gives the pages freed back to the system at once instead of after its default
    /// 10 s decay, in the arenas there are and in those made later (called before a stage starts
    /// its threads). With the decay, what a stage freed in the last 10 s stays resident: a load's
    /// uploaded weeks, map's and validate's finished phases (long-id whole export: map re-run 50
    /// -> 68 MB, validate 35 -> 42 MB with the decay; README, "Allocator"). Not for extract: it
    /// frees and allocates large buffers all the time and returning them at once cost it ~30 %
    /// more CPU (page faults) for 44 -> 34 MB of peak RSS (glibc's: 39-40 MB).
    pub fn return_freed_pages_at_once() {
        for name in [c"arenas.dirty_decay_ms", c"arenas.muzzy_decay_ms"] {
            write(name, 0isize);
        }
        let arenas: u32 = read(c"arenas.narenas").unwrap_or(0);
        for i in 0..arenas {
            for kind in ["dirty", "muzzy"] {
                let name = CString::new(format!("arena.{i}.{kind}_decay_ms")).expect("no NUL");
                // An arena no thread has used yet refuses (EFAULT); it will start from the
                // `arenas.*` defaults above.
                write(&name, 0isize);
            }
        }
    }

    /// Reads jemalloc's control `name` (`mallctl`), `None` if it refuses.
    pub fn read<T: Copy + Default>(name: &CStr) -> Option<T> {
        let mut old = T::default();
        let mut len = std::mem::size_of::<T>();
        // SAFETY: `old` is a `T` and `len` its size; nothing is written.
        let rc = unsafe {
            tikv_jemalloc_sys::mallctl(
                name.as_ptr(),
                (&raw mut old).cast::<c_void>(),
                &mut len,
                std::ptr::null_mut(),
                0,
            )
        };
        (rc == 0 && len == std::mem::size_of::<T>()).then_some(old)
    }

    /// Writes `value` to jemalloc's control `name`; false if it refuses.
    pub fn write<T: Copy>(name: &CStr, mut value: T) -> bool {
        // SAFETY: `value` is a `T` of the size passed; nothing is read back.
        let rc = unsafe {
            tikv_jemalloc_sys::mallctl(
                name.as_ptr(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                (&raw mut value).cast::<c_void>(),
                std::mem::size_of::<T>(),
            )
        };
        rc == 0
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        /// The arena jemalloc allocated `p` from (`arenas.lookup`), `None` if `p` is not its.
        fn arena_of(p: *const u8) -> Option<u32> {
            let mut p = p.cast::<c_void>();
            let mut arena = 0u32;
            let mut len = std::mem::size_of::<u32>();
            // SAFETY: reads a u32 into `arena`, writes the pointer `p` (only looked up).
            let rc = unsafe {
                tikv_jemalloc_sys::mallctl(
                    c"arenas.lookup".as_ptr(),
                    (&raw mut arena).cast::<c_void>(),
                    &mut len,
                    (&raw mut p).cast::<c_void>(),
                    std::mem::size_of::<*const c_void>(),
                )
            };
            (rc == 0).then_some(arena)
        }

        /// This binary's heap is jemalloc's: jemalloc knows the arena of a box the global
        /// allocator made (with the system allocator it refuses the look-up: seen failing with
        /// the `#[global_allocator]` line removed). After `return_freed_pages_at_once`, the arena
        /// of a thread started earlier and that of a thread started later both have no decay;
        /// before it, jemalloc's default (10 s) is in place, so the check can fail.
        ///
        /// One test, the only one of this binary: the function is called before a stage starts
        /// its threads, and a test running beside it on another thread could make an arena
        /// while it runs (that arena keeps the 10 s default; seen once in CI as "arena 2 dirty").
        #[test]
        fn the_binary_allocates_with_jemalloc_and_returns_freed_pages_at_once() {
            let decay = |arena: u32, kind: &str| -> Option<isize> {
                read(&CString::new(format!("arena.{arena}.{kind}_decay_ms")).unwrap())
            };
            let early = Box::new([1u8; 4096]);
            let early_arena = arena_of(early.as_ptr()).unwrap_or_else(|| {
                panic!("jemalloc does not know the box at {:p}", early.as_ptr())
            });
            assert_eq!(decay(early_arena, "dirty"), Some(10_000));
            return_freed_pages_at_once();
            let late_arena = std::thread::spawn(|| {
                let late = Box::new([2u8; 4096]);
                arena_of(late.as_ptr()).unwrap()
            })
            .join()
            .unwrap();
            for arena in [early_arena, late_arena] {
                for kind in ["dirty", "muzzy"] {
                    assert_eq!(decay(arena, kind), Some(0), "arena {arena} {kind}");
                }
            }
        }
    }
}

#[cfg(target_env = "msvc")]
mod allocator {
    /// The system allocator returns freed memory on its own terms; nothing to set.
    pub fn return_freed_pages_at_once() {}
}
