//! What the process tests (`harness = false`: orpc_processes, local_server) share: the
//! report that prints each check's "ok"/"FAIL" line and the closing count.

pub struct Report {
    pub passed: usize,
    pub failed: usize,
}

impl Report {
    pub fn new() -> Report {
        Report {
            passed: 0,
            failed: 0,
        }
    }

    pub fn check(&mut self, name: &str, ok: bool, detail: impl std::fmt::Debug) {
        if ok {
            println!("ok   {name}");
            self.passed += 1;
        } else {
            println!("FAIL {name}: {detail:?}");
            self.failed += 1;
        }
    }

    /// Prints "N passed, N failed" and exits non-zero on a failure.
    pub fn finish(self) {
        println!("{} passed, {} failed", self.passed, self.failed);
        if self.failed > 0 {
            std::process::exit(1);
        }
    }
}
