//! The ndr stage: are comidl's marshalling descriptions valid Rust, and do they hold
//! together?
//!
//! For every file widl accepts, comidl (in-process) generates the Rust bindings with their
//! `pub mod ndr` (the static NDR descriptions of the file's interfaces) and an index of it
//! ([`comidl::emit::rust::NdrIndex`]: the interface statics, the record statics with the
//! Rust types they describe, the interfaces and methods left out with the reason). All go
//! into one generated crate (so every static is const-evaluated by rustc) whose binary
//! walks each interface description and checks it, and compares each record description
//! with the generated `#[repr(C)]` type's size, alignment and member offsets.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use comidl::emit::rust::{Generated, NdrIndex};
use comidl::ir::Model;

use crate::Fatal;
use crate::bindings::{self, ProbeCrate};
use crate::cli::Options;
use crate::corpus::Setup;
use crate::process::ScratchDir;
use crate::widl::widl_accepted;

type Module = bindings::Module<NdrIndex>;

/// How many of a file's problems its FAIL line shows.
const SHOWN: usize = 3;

pub fn run(opts: &Options, setup: &Setup) -> Result<u8, Fatal> {
    let jobs = crate::job_count(opts);
    let scratch = ScratchDir::new("comidl-conformance-ndr")
        .map_err(|e| Fatal::Setup(format!("cannot create a scratch directory: {e}")))?;
    out!(
        "ndr stage: {} files under {}",
        setup.files.len(),
        setup.root.display()
    );
    let accepted = widl_accepted(setup, jobs, opts.timeout, &scratch)?;
    let derive = |_: &Model, generated: Option<&Generated>| -> NdrIndex {
        generated.map(|g| g.ndr.clone()).unwrap_or_default()
    };
    let backend = bindings::backend_options(true);
    let modules = bindings::generate_all(setup, &accepted, jobs, &backend, &derive);
    let krate = ProbeCrate {
        dir: setup.work_dir.join("ndr"),
        target: setup.work_dir.join("ndr-target"),
        package: "comidl-ndr-probe",
        helper: CHECKER,
    };
    // Where a file's descriptions do not compile, its bindings alone keep the files that
    // import it in the crate.
    let plain = bindings::backend_options(false);
    let replace = |m: &Module| Some(bindings::regenerate(setup, m, &plain));
    let built = bindings::build(&krate, &modules, &probe_lines, &replace)?;
    let output = match &built.exe {
        Ok(exe) => {
            let output = Command::new(exe)
                .output()
                .map_err(|e| Fatal::Setup(format!("cannot run {}: {e}", exe.display())))?;
            if !output.status.success() {
                out!("note: the ndr probe exited with {}", output.status);
            }
            String::from_utf8_lossy(&output.stdout).into_owned()
        }
        Err(_) => String::new(),
    };
    let walked = parse(&output);
    Ok(report(opts, &modules, &built, &walked))
}

/// The probe statements of a file: one per record static, then one per interface.
fn probe_lines(m: &Module) -> Vec<String> {
    let file = m.rel_name();
    let module = format!("crate::{}", m.name);
    let mut lines = Vec::new();
    for r in &m.info.records {
        let ty = if r.rust_type.starts_with("crate") || r.rust_type.starts_with("::") {
            r.rust_type.clone()
        } else {
            format!("{module}::{}", r.rust_type)
        };
        let kind = if r.union { "Union" } else { "Struct" };
        let offsets = match &r.members {
            Some(members) => {
                let list: Vec<String> = members
                    .iter()
                    .map(|f| format!("::core::mem::offset_of!({ty}, {f})"))
                    .collect();
                format!("Some(&[{}])", list.join(", "))
            }
            None => "None".to_string(),
        };
        lines.push(format!(
            "crate::check::record({file:?}, {:?}, crate::check::Rec::{kind}(&{module}::ndr::{}), \
             ::core::mem::size_of::<{ty}>(), ::core::mem::align_of::<{ty}>(), {offsets});",
            r.name, r.name
        ));
    }
    for (name, _) in &m.info.interfaces {
        lines.push(format!(
            "crate::check::interface({file:?}, &{module}::ndr::{name});"
        ));
    }
    for (ps, desc) in &m.info.proxies {
        lines.push(format!(
            "crate::check::proxy({file:?}, {ps:?}, &{module}::{ps}, &{module}::ndr::{desc});"
        ));
    }
    lines
}

/// What the probe printed.
#[derive(Default)]
struct Walked {
    /// (file, interface) → procedures.
    interfaces: BTreeMap<(String, String), usize>,
    /// (file, static) of the records compared.
    records: BTreeSet<(String, String)>,
    /// (file, static) of the proxy/stubs checked.
    proxies: BTreeSet<(String, String)>,
    /// (file, procedure) → why each `Unsupported` it reaches.
    unsupported: BTreeMap<(String, String), Vec<String>>,
    /// file → problems found.
    problems: BTreeMap<String, BTreeSet<String>>,
}

/// Parses the probe's tab-separated lines (`I`, `R`, `P`, `B`: see [`CHECKER`]).
fn parse(text: &str) -> Walked {
    let mut w = Walked::default();
    for line in text.lines() {
        let parts: Vec<&str> = line.split('\t').collect();
        match parts.as_slice() {
            ["I", file, name, procs] => {
                let procs = procs.parse().unwrap_or(0);
                w.interfaces
                    .insert((file.to_string(), name.to_string()), procs);
            }
            ["R", file, name] => {
                w.records.insert((file.to_string(), name.to_string()));
            }
            ["S", file, name] => {
                w.proxies.insert((file.to_string(), name.to_string()));
            }
            ["P", file, name, whys] => {
                let whys = whys.split('|').map(str::to_string).collect();
                w.unsupported
                    .insert((file.to_string(), name.to_string()), whys);
            }
            ["B", file, what] => {
                w.problems
                    .entry(file.to_string())
                    .or_default()
                    .insert(what.to_string());
            }
            _ => {}
        }
    }
    w
}

/// Judges each file, prints the failures, what was left out, the counts and the closing
/// `N passed, N failed` (files); returns the exit status.
fn report(opts: &Options, modules: &[Module], built: &bindings::Built, walked: &Walked) -> u8 {
    let mut passed = 0usize;
    let mut failed = 0usize;
    let mut left_out: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let mut methods_left_out: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let (mut interfaces, mut procs, mut records, mut proxies) = (0usize, 0usize, 0usize, 0usize);
    for m in modules.iter().filter(|m| m.rel.is_some()) {
        let file = m.rel_name();
        for (name, why) in &m.info.left_out {
            left_out
                .entry(why.as_str())
                .or_default()
                .push(format!("{file}: {name}"));
        }
        for (name, why) in &m.info.left_out_methods {
            methods_left_out
                .entry(why.as_str())
                .or_default()
                .push(format!("{file}: {name}"));
        }
        let mut why: Vec<String> = Vec::new();
        if let Err(e) = &m.code {
            why.push(e.clone());
        } else if let Some(e) = built.replaced.get(&m.name) {
            why.push(format!("its descriptions do not compile: {e}"));
        }
        let lines = m.info.records.len() + m.info.interfaces.len() + m.info.proxies.len();
        if why.is_empty() {
            for i in 0..lines {
                if let Some(e) = built.line_failure(&m.name, i) {
                    why.push(e);
                    break;
                }
            }
        }
        if why.is_empty() {
            for r in &m.info.records {
                if !walked.records.contains(&(file.clone(), r.name.clone())) {
                    why.push(format!("{}: no output from the probe", r.name));
                }
            }
            for (name, iface) in &m.info.interfaces {
                match walked.interfaces.get(&(file.clone(), iface.clone())) {
                    Some(n) => {
                        interfaces += 1;
                        procs += n;
                    }
                    None => why.push(format!("{name}: no output from the probe")),
                }
            }
            records += m.info.records.len();
            for (ps, _) in &m.info.proxies {
                if walked.proxies.contains(&(file.clone(), ps.clone())) {
                    proxies += 1;
                } else {
                    why.push(format!("{ps}: no output from the probe"));
                }
            }
        }
        if let Some(problems) = walked.problems.get(&file) {
            why.extend(problems.iter().cloned());
        }
        if why.is_empty() {
            passed += 1;
            continue;
        }
        failed += 1;
        let more = why.len().saturating_sub(SHOWN);
        why.truncate(SHOWN);
        let tail = if more > 0 {
            format!(" (and {more} more)")
        } else {
            String::new()
        };
        out!("FAIL {file}: {}{tail}", why.join("; "));
    }
    print_left_out("interfaces", &left_out, opts.verbose);
    print_left_out("methods", &methods_left_out, opts.verbose);
    let mut by_why: BTreeMap<&str, usize> = BTreeMap::new();
    for whys in walked.unsupported.values() {
        for why in whys {
            *by_why.entry(why.as_str()).or_default() += 1;
        }
    }
    out!(
        "described: {interfaces} interfaces, {procs} procedures, {records} structure and union statics; \
         {proxies} interfaces with a proxy and a stub"
    );
    out!(
        "{} procedures reach a Type::Unsupported (not failures: described where the engine cannot marshal yet), by why:",
        walked.unsupported.len()
    );
    let mut ranked: Vec<(&str, usize)> = by_why.into_iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    for (why, n) in ranked {
        out!("  {n:6}  {why}");
    }
    if opts.verbose {
        for ((file, name), whys) in &walked.unsupported {
            out!("unsupported {file}: {name}: {}", whys.join("; "));
        }
    }
    if let Some(min) = opts.min_pass {
        if passed < min {
            out!("ratchet: {passed} files pass, fewer than the baseline {min}");
        } else if failed > 0 {
            out!("ratchet: {passed} files pass (baseline {min}); {failed} still fail");
        }
    }
    out!("{passed} passed, {failed} failed");
    let ok = failed == 0 && opts.min_pass.is_none_or(|min| passed >= min);
    if ok { 0 } else { 1 }
}

/// Counts what was left out by reason; `-v` lists each.
fn print_left_out(what: &str, by_why: &BTreeMap<&str, Vec<String>>, verbose: bool) {
    let total: usize = by_why.values().map(Vec::len).sum();
    out!("{total} {what} left out (not failures), by reason:");
    for (why, names) in by_why {
        out!("  {:6}  {why}", names.len());
        if verbose {
            for name in names {
                out!("          {name}");
            }
        }
    }
}

/// The checker the probe crate's `main.rs` holds: walks the descriptions and prints one
/// tab-separated line per fact (`I file interface procs`, `R file static`, `P file
/// procedure whys` for a procedure reaching `Unsupported`, `B file problem`). It never
/// panics: every count is checked, and recursion is bounded.
const CHECKER: &str = r#"
mod check {
    use comidl_runtime::ndr::layout::{mem_align, mem_size};
    use comidl_runtime::ndr::{Base, Count, Expr, Iid, Interface, Param, Selector, Struct, Type, Union};
    use std::collections::{BTreeSet, HashSet};
    use std::io::Write as _;

    fn say(line: &str) {
        let _ = writeln!(std::io::stdout(), "{line}");
    }

    fn bad(file: &str, what: &str) {
        say(&format!("B\t{file}\t{}", what.replace(['\t', '\n'], " ")));
    }

    pub enum Rec {
        Struct(&'static Struct),
        Union(&'static Union),
    }

    /// A record description against the Rust type: size, alignment, member offsets.
    pub fn record(file: &str, name: &str, rec: Rec, size: usize, align: usize, offsets: Option<&[usize]>) {
        let (dsize, dalign, described) = match rec {
            Rec::Struct(s) => (s.size, s.align, s.fields.iter().map(|f| f.offset).collect()),
            Rec::Union(u) => match u.selector {
                Selector::Encapsulated { arms_offset } => (u.size, u.align, vec![arms_offset]),
                Selector::Expr(_) => (u.size, u.align, Vec::new()),
            },
        };
        if (dsize, dalign) != (size, align) {
            bad(file, &format!("{name}: described as {dsize} bytes aligned to {dalign}, the Rust type is {size} aligned to {align}"));
        }
        if let Some(offsets) = offsets && offsets != described.as_slice() {
            bad(file, &format!("{name}: offsets described {described:?}, the Rust type's {offsets:?}"));
        }
        say(&format!("R\t{file}\t{name}"));
    }

    /// A proxy/stub: it marshals with its interface's description, under its IID, and its
    /// base chain ends (at IUnknown) with opnums below the interface's own.
    pub fn proxy(file: &str, name: &str, ps: &'static comidl_runtime::dcom::ProxyStub, i: &'static Interface) {
        if !std::ptr::eq(ps.interface, i) || ps.iid != i.uuid {
            bad(file, &format!("{name}: not the proxy/stub of {}", i.name));
        }
        let first = i.procs.first().map(|p| p.opnum);
        let mut base = ps.base;
        for _ in 0..64 {
            let Some(b) = base else { break };
            if let (Some(f), Some(last)) = (first, b.interface.procs.last())
                && last.opnum >= f
            {
                bad(file, &format!("{name}: base {} has opnum {} at or after {f}", b.interface.name, last.opnum));
            }
            base = b.base;
        }
        if ps.vtbl.0.is_null() {
            bad(file, &format!("{name}: no proxy vtable"));
        }
        say(&format!("S\t{file}\t{name}"));
    }

    /// An interface: procedures in strictly increasing opnum order, each walked.
    pub fn interface(file: &str, i: &'static Interface) {
        let mut last: Option<u16> = None;
        for p in i.procs {
            if let Some(l) = last && p.opnum <= l {
                bad(file, &format!("{}: opnum {} does not follow {l}", p.name, p.opnum));
            }
            last = Some(p.opnum);
            let mut w = Walk { file, whys: BTreeSet::new(), seen: HashSet::new() };
            let scope = Scope::Params(p.params);
            for param in p.params {
                let at = format!("{}({})", p.name, param.name);
                // A parameter's memory is its C value, and C passes an array as a pointer.
                if matches!(param.ty, Type::Array(_) | Type::String(_)) {
                    bad(file, &format!("{at}: an array parameter described inline (C passes a pointer)"));
                }
                w.ty(param.ty, &scope, &at, 0);
            }
            if let Some(r) = p.ret {
                w.ty(r, &scope, &format!("{} (return)", p.name), 0);
            }
            if !w.whys.is_empty() {
                let whys: Vec<&str> = w.whys.into_iter().collect();
                say(&format!("P\t{file}\t{}\t{}", p.name, whys.join("|")));
            }
        }
        say(&format!("I\t{file}\t{}\t{}", i.name, i.procs.len()));
    }

    #[derive(Clone, Copy)]
    enum Scope {
        Params(&'static [Param]),
        Fields(&'static Struct),
        None,
    }

    struct Walk<'a> {
        file: &'a str,
        whys: BTreeSet<&'static str>,
        /// Statics already walked for this procedure (recursive types).
        seen: HashSet<usize>,
    }

    fn conformant(ty: Type) -> bool {
        match ty {
            Type::Array(a) => matches!(a.count, Count::Conformant(_)),
            Type::String(s) => s.fixed.is_none(),
            Type::Struct(s) => s.fields.last().is_some_and(|f| conformant(f.ty)),
            _ => false,
        }
    }

    fn layout_ok(size: usize, align: usize) -> bool {
        align.is_power_of_two() && size % align == 0
    }

    impl Walk<'_> {
        fn bad(&self, what: String) {
            bad(self.file, &what);
        }

        fn ty(&mut self, ty: Type, scope: &Scope, at: &str, depth: usize) {
            if depth > 64 {
                self.bad(format!("{at}: nested more than 64 deep"));
                return;
            }
            match ty {
                Type::Base(_)
                | Type::ContextHandle
                | Type::Ignore
                | Type::Bstr
                | Type::BstrBlob
                | Type::InterfaceData
                | Type::Status(_) => {}
                // An `[iid_is]` reads a pointer to an IID: a pointer-sized value.
                Type::Interface(ip) => {
                    if let Iid::Is(e) = &ip.iid {
                        self.expr(e, scope, &format!("{at} [iid_is]"), 0);
                    }
                }
                Type::Range(r) => {
                    if r.min > r.max {
                        self.bad(format!("{at}: range [{}, {}] is empty", r.min, r.max));
                    }
                }
                Type::Unsupported(o) => {
                    self.whys.insert(o.why);
                    if !layout_ok(o.size, o.align) {
                        self.bad(format!("{at}: opaque of {} bytes aligned to {}", o.size, o.align));
                    }
                }
                Type::Pointer(p) => self.ty(p.pointee, scope, &format!("{at}*"), depth + 1),
                Type::User(u) => {
                    if !layout_ok(u.size, u.align) {
                        self.bad(format!("{at}: {} of {} bytes aligned to {}", u.name, u.size, u.align));
                    }
                    // The wire value is a value of its own: its correlations name its fields.
                    self.ty(u.wire, &Scope::None, &format!("{at}<{}>", u.name), depth + 1);
                }
                Type::String(s) => {
                    if s.char_size != 1 && s.char_size != 2 {
                        self.bad(format!("{at}: string of {}-byte characters", s.char_size));
                    }
                    if let Some(e) = s.size {
                        self.expr(e, scope, at, 0);
                    }
                }
                Type::Array(a) => {
                    let element = mem_size(a.element);
                    if a.stride == 0 || (element != a.stride && !conformant(a.element)) {
                        self.bad(format!("{at}: stride {} for elements of {element} bytes", a.stride));
                    }
                    if let Count::Conformant(e) = a.count {
                        self.expr(e, scope, at, 0);
                    }
                    if let Some(v) = &a.varying {
                        if let Some(f) = v.first {
                            self.expr(f, scope, at, 0);
                        }
                        self.expr(v.length, scope, at, 0);
                    }
                    self.ty(a.element, scope, &format!("{at}[]"), depth + 1);
                }
                Type::Struct(s) => {
                    if self.seen.insert(s as *const Struct as usize) {
                        self.structure(s, at, depth);
                    }
                }
                Type::Union(u) => {
                    if self.seen.insert(u as *const Union as usize) {
                        self.union(u, scope, at, depth);
                    }
                }
            }
        }

        fn structure(&mut self, s: &'static Struct, at: &str, depth: usize) {
            if !layout_ok(s.size, s.align) {
                self.bad(format!("{at}: structure of {} bytes aligned to {}", s.size, s.align));
            }
            let mut end = 0usize;
            let last = s.fields.len().saturating_sub(1);
            for (i, f) in s.fields.iter().enumerate() {
                let at = format!("{at}.{i}@{}", f.offset);
                let size = mem_size(f.ty);
                let align = mem_align(f.ty).min(s.align.max(1));
                if f.offset < end {
                    self.bad(format!("{at}: overlaps the field before (which ends at {end})"));
                }
                match f.offset.checked_add(size) {
                    Some(e) if e <= s.size => end = e,
                    _ => self.bad(format!("{at}: {size} bytes past the structure's {}", s.size)),
                }
                if f.offset % align != 0 {
                    self.bad(format!("{at}: misaligned for {align}"));
                }
                if conformant(f.ty) && i != last {
                    self.bad(format!("{at}: conformant but not the last field"));
                }
                self.ty(f.ty, &Scope::Fields(s), &at, depth + 1);
            }
        }

        fn union(&mut self, u: &'static Union, scope: &Scope, at: &str, depth: usize) {
            if !layout_ok(u.size, u.align) {
                self.bad(format!("{at}: union of {} bytes aligned to {}", u.size, u.align));
            }
            if matches!(u.switch, Base::Float | Base::Double) {
                self.bad(format!("{at}: a floating-point discriminant"));
            }
            let (arms_offset, arm_scope) = match u.selector {
                Selector::Encapsulated { arms_offset } => {
                    if arms_offset < u.switch.mem_size() {
                        self.bad(format!("{at}: arms at {arms_offset} overlap the discriminant"));
                    }
                    (arms_offset, Scope::None)
                }
                Selector::Expr(e) => {
                    self.expr(e, scope, at, 0);
                    (0, *scope)
                }
            };
            let mut cases = BTreeSet::new();
            for arm in u.arms {
                if !cases.insert(arm.case) {
                    self.bad(format!("{at}: case {} twice", arm.case));
                }
            }
            let arms = u.arms.iter().map(|a| (a.case.to_string(), a.ty));
            let default = u.default.map(|d| ("default".to_string(), d));
            for (case, ty) in arms.chain(default) {
                let Some(ty) = ty else { continue };
                let at = format!("{at}.case({case})");
                let fits = arms_offset.checked_add(mem_size(ty)).is_some_and(|e| e <= u.size);
                if !fits {
                    self.bad(format!("{at}: {} bytes at {arms_offset} past the union's {}", mem_size(ty), u.size));
                }
                self.ty(ty, &arm_scope, &at, depth + 1);
            }
        }

        /// A correlation: every name it reads is a parameter or field of an integer type
        /// (through as many pointers as it follows).
        fn expr(&mut self, e: &Expr, scope: &Scope, at: &str, depth: usize) {
            if depth > 64 {
                self.bad(format!("{at}: a correlation nested more than 64 deep"));
                return;
            }
            match e {
                Expr::Const(-1) if depth == 0 => {
                    self.bad(format!("{at}: a correlation the compiler could not resolve (Const(-1))"));
                }
                Expr::Const(_) => {}
                Expr::Param { index, derefs, ty } => match scope {
                    Scope::Params(ps) => match ps.get(usize::from(*index)) {
                        Some(p) => self.loaded(p.ty, *derefs, *ty, &format!("{at}: parameter {}", p.name)),
                        None => self.bad(format!("{at}: parameter {index} of {}", ps.len())),
                    },
                    _ => self.bad(format!("{at}: a parameter read outside a procedure's parameters")),
                },
                Expr::Field { offset, derefs, ty } => match scope {
                    Scope::Fields(s) => match s.fields.iter().find(|f| f.offset == *offset as usize) {
                        Some(f) => self.loaded(f.ty, *derefs, *ty, &format!("{at}: field @{offset}")),
                        None => self.bad(format!("{at}: no field at offset {offset}")),
                    },
                    _ => self.bad(format!("{at}: a field read outside a structure")),
                },
                Expr::Unary(_, a) => self.expr(a, scope, at, depth + 1),
                Expr::Binary(_, a, b) => {
                    self.expr(a, scope, at, depth + 1);
                    self.expr(b, scope, at, depth + 1);
                }
                Expr::Cond(c, a, b) => {
                    self.expr(c, scope, at, depth + 1);
                    self.expr(a, scope, at, depth + 1);
                    self.expr(b, scope, at, depth + 1);
                }
            }
        }

        /// What a correlation reads: `derefs` pointers, then an integer of `ty`'s size.
        fn loaded(&mut self, mut t: Type, derefs: u8, ty: Base, at: &str) {
            for _ in 0..derefs {
                match t {
                    Type::Pointer(p) => t = p.pointee,
                    _ => {
                        self.bad(format!("{at}: read through {derefs} pointers, but it has fewer"));
                        return;
                    }
                }
            }
            let ok = match t {
                Type::Base(b) => b.mem_size() == ty.mem_size(),
                Type::Range(r) => r.base.mem_size() == ty.mem_size(),
                // A pointer as a condition (`p ? *p : n`): its address, pointer-sized.
                Type::Pointer(_) => ty.mem_size() == mem_size(t),
                Type::Unsupported(o) => o.size == size_of::<usize>() && ty.mem_size() == o.size,
                _ => false,
            };
            if !ok {
                self.bad(format!("{at}: read as a {ty:?}, but described as {}", kind(t)));
            }
        }
    }

    fn kind(t: Type) -> String {
        match t {
            Type::Base(b) => format!("{b:?}"),
            Type::Range(r) => format!("a range of {:?}", r.base),
            Type::Struct(_) => "a structure".into(),
            Type::Union(_) => "a union".into(),
            Type::Array(_) => "an array".into(),
            Type::String(_) => "a string".into(),
            Type::Pointer(_) => "a pointer".into(),
            Type::ContextHandle => "a context handle".into(),
            Type::Ignore => "a binding handle".into(),
            Type::Bstr | Type::BstrBlob => "a BSTR".into(),
            Type::Status(_) => "a [comm_status]/[fault_status] status".into(),
            Type::Unsupported(o) => format!("unsupported ({})", o.why),
            Type::User(u) => format!("{}, user-marshalled", u.name),
            Type::Interface(_) | Type::InterfaceData => "an interface pointer".into(),
        }
    }
}
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_output_is_parsed_by_kind() {
        let text = "I\ta.idl\tIFoo\t3\nR\ta.idl\tR1_S\nP\ta.idl\tIFoo::Bar\tx|y\n\
                    B\ta.idl\tIFoo::Bar(p): bad\nB\ta.idl\tIFoo::Bar(p): bad\nnoise\n";
        let w = parse(text);
        assert_eq!(w.interfaces.get(&("a.idl".into(), "IFoo".into())), Some(&3));
        assert!(w.records.contains(&("a.idl".into(), "R1_S".into())));
        assert_eq!(
            w.unsupported.get(&("a.idl".into(), "IFoo::Bar".into())),
            Some(&vec!["x".to_string(), "y".to_string()])
        );
        assert_eq!(w.problems.get("a.idl").map(BTreeSet::len), Some(1));
    }
}
