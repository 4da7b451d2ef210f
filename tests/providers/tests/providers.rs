//! Provider modules end to end: profiles naming the test modules (tests/providers/echo and
//! tests/providers/shout), loaded with dlopen by a `ProviderHost`, their entry points
//! called, their objects used, and the modules unloaded — checked against the dynamic
//! loader's own state (`dlopen(RTLD_NOLOAD)`) and the host's load counts.
//!
//! The tests look at which modules the process has loaded, so each takes `serial()`.

use comidl_provider_tests::bindings::{CLSID_ShoutServer, IEcho};
use comidl_provider_tests::{ECHO, SHOUT, is_loaded, module, serial, take_wide, temp_profile};
use comidl_runtime::host::E_REVISION_MISMATCH;
use comidl_runtime::provider::host::{E_PROC_NOT_FOUND, E_PROVIDER_NOT_FOUND};
use comidl_runtime::provider::{ErrorKind, Profile, Provider, ProviderError, ProviderHost};
use comidl_runtime::{
    CLSCTX_INPROC_SERVER, CoFreeUnusedLibraries, ComInit, E_ACCESSDENIED, E_UNEXPECTED,
    create_instance, loader,
};

/// The version of the provider interface the tests' host speaks.
const HOST_VERSION: u32 = 2;

/// A profile with both test modules given by absolute path, and the providers the tests
/// use; `extra` is appended.
fn profile_text(extra: &str) -> String {
    format!(
        "; The test providers.\n\
         [Echo]\n\
         Library = {echo}\n\
         EntryPoint = EchoProviderInit\n\
         greeting = \"Hello, \"\n\
         Suffix = !\n\
         \n\
         [Future]\n\
         Library = {echo}\n\
         EntryPoint = FutureProviderInit\n\
         \n\
         [Shout]\n\
         Library = {shout}\n\
         EntryPoint = ShoutProviderInit\n\
         Repeat = 3\n\
         {extra}",
        echo = module(ECHO).display(),
        shout = module(SHOUT).display(),
    )
}

fn echo(provider: &IEcho, text: &str) -> String {
    let text = comidl_runtime::WString::new(text).expect("no NUL in test text");
    let reply = provider.echo(&text).expect("Echo succeeds");
    // SAFETY: an `[out, retval]` string, ours to free.
    unsafe { take_wide(reply) }
}

fn describe(provider: &IEcho) -> String {
    let text = provider.describe().expect("Describe succeeds");
    // SAFETY: an `[out, retval]` string, ours to free.
    unsafe { take_wide(text) }
}

fn open_error(host: &ProviderHost, name: &str) -> ProviderError {
    match host.open::<IEcho>(name) {
        Ok(provider) => panic!("`{name}` opened: {provider:?}"),
        Err(error) => error,
    }
}

/// Checks every load of `host` was matched by an unload and the modules are gone.
fn all_unloaded(host: &ProviderHost) {
    let (loads, unloads) = host.load_counts();
    assert_eq!(loads, unloads, "every load is matched by an unload");
    assert_eq!(host.pending_unloads(), 0);
    assert!(!is_loaded(&module(ECHO)), "the echo module is still loaded");
    assert!(
        !is_loaded(&module(SHOUT)),
        "the shout module is still loaded"
    );
}

#[test]
fn two_providers_in_one_profile_are_opened_and_called() {
    let _serial = serial();
    // Bare file names: found next to the executable (cargo put the modules beside the
    // test binary).
    let profile = temp_profile(&format!(
        "[Echo]\nLibrary = {ECHO}\nEntryPoint = EchoProviderInit\nGreeting = \"Hi \"\n\n\
         [Shout]\nLibrary = \"{SHOUT}\"\nEntryPoint = ShoutProviderInit\nRepeat = 2\n"
    ));
    let host = ProviderHost::load(&profile.path, HOST_VERSION).expect("the profile parses");
    assert!(!is_loaded(&module(ECHO)));
    assert!(!is_loaded(&module(SHOUT)));

    let first: Provider<IEcho> = host.open("echo").expect("Echo opens");
    assert!(is_loaded(&module(ECHO)));
    let second: Provider<IEcho> = host.open("SHOUT").expect("Shout opens");
    assert!(is_loaded(&module(SHOUT)));
    assert_eq!((first.name(), first.version()), ("Echo", 1));
    assert_eq!((second.name(), second.version()), ("Shout", 2));

    assert_eq!(echo(&first, "world"), "Hi world");
    assert_eq!(echo(&second, "hey"), "HEY HEY");
    assert_eq!(describe(&first), "name=Echo host=2 version=1");
    assert_eq!(describe(&second), "name=Shout host=2 version=2");
    assert_eq!(host.load_counts(), (2, 0));

    drop(first);
    assert!(
        !is_loaded(&module(ECHO)),
        "the echo module unloads with its provider"
    );
    assert!(is_loaded(&module(SHOUT)));
    drop(second);
    all_unloaded(&host);
    assert_eq!(host.load_counts(), (2, 2));
}

#[test]
fn settings_reach_the_provider() {
    let _serial = serial();
    let profile = temp_profile(&profile_text(""));
    let host = ProviderHost::load(&profile.path, HOST_VERSION).unwrap();
    {
        // `greeting` is written in lower case in the profile and asked for as `Greeting`;
        // the quotes keep its trailing space.
        let echo_provider = host.open::<IEcho>("Echo").unwrap();
        assert_eq!(echo(&echo_provider, "there"), "Hello, there!");
        let shout = host.open::<IEcho>("Shout").unwrap();
        assert_eq!(echo(&shout, "a"), "A A A");
    }
    // A section without the settings: the provider sees none (its defaults).
    let bare = temp_profile(&format!(
        "[Plain]\nLibrary={}\nEntryPoint=EchoProviderInit\n",
        module(ECHO).display()
    ));
    let plain_host = ProviderHost::load(&bare.path, HOST_VERSION).unwrap();
    {
        let plain = plain_host.open::<IEcho>("plain").unwrap();
        assert_eq!(echo(&plain, "text"), "text");
        assert_eq!(describe(&plain), "name=Plain host=2 version=1");
    }
    // A setting the provider cannot use makes its entry point fail, with its HRESULT.
    let bad = temp_profile(&format!(
        "[Shout]\nLibrary={}\nEntryPoint=ShoutProviderInit\nRepeat=many\n",
        module(SHOUT).display()
    ));
    let bad_host = ProviderHost::load(&bad.path, HOST_VERSION).unwrap();
    let error = open_error(&bad_host, "Shout");
    assert_eq!(error.kind, ErrorKind::EntryFailed);
    assert_eq!(error.hr, comidl_runtime::E_INVALIDARG);
    assert_eq!(error.line, Some(1));
    all_unloaded(&host);
    all_unloaded(&plain_host);
    all_unloaded(&bad_host);
}

#[test]
fn a_provider_built_for_a_newer_version_is_refused() {
    let _serial = serial();
    let profile = temp_profile(&profile_text(""));
    let host = ProviderHost::load(&profile.path, HOST_VERSION).unwrap();
    let error = open_error(&host, "future");
    assert_eq!(error.kind, ErrorKind::VersionRefused);
    assert_eq!(error.hr, E_REVISION_MISMATCH);
    assert_eq!(error.line, Some(8), "the section line of [Future]");
    assert_eq!(
        error.to_string(),
        format!(
            "{}:8: provider `Future`: built for provider interface version 3, but this host \
             speaks version 2",
            profile.path.display()
        )
    );
    // Nothing stays loaded.
    assert_eq!(host.load_counts(), (1, 1));
    all_unloaded(&host);

    // The same module's version 1 entry point is accepted by the same host: a newer host
    // serves older providers.
    let echo_provider = host.open::<IEcho>("Echo").unwrap();
    assert_eq!(echo_provider.version(), 1);
    drop(echo_provider);

    // A host speaking version 3 accepts the provider built for version 3.
    let newer = ProviderHost::load(&profile.path, 3).unwrap();
    let future = newer.open::<IEcho>("Future").unwrap();
    assert_eq!(describe(&future), "name=Future host=3 version=3");
    drop(future);
    all_unloaded(&newer);
    all_unloaded(&host);
}

#[test]
fn a_provider_that_succeeds_with_a_newer_version_is_released_and_refused() {
    let _serial = serial();
    let profile = temp_profile(&profile_text(&format!(
        "[Liar]\nLibrary = {}\nEntryPoint = LiarProviderInit\n",
        module(ECHO).display()
    )));
    let host = ProviderHost::load(&profile.path, HOST_VERSION).unwrap();
    let error = open_error(&host, "Liar");
    assert_eq!(error.kind, ErrorKind::VersionRefused);
    assert_eq!(error.line, Some(16));
    let expected = "provider `Liar`: built for provider interface version 9, but this host \
                    speaks version 2";
    assert!(error.to_string().ends_with(expected), "{error}");
    // The object it handed out was released: the module could unload.
    assert_eq!(host.load_counts(), (1, 1));
    all_unloaded(&host);
}

#[test]
fn a_missing_module_is_a_clear_error() {
    let _serial = serial();
    let profile = temp_profile(
        "[Gone]\nEntryPoint = EchoProviderInit\nLibrary = ./modules/libgone.so\n\n\
         [Searched]\nLibrary = libcomidl-no-such-provider.so\nEntryPoint = E\n",
    );
    let host = ProviderHost::load(&profile.path, HOST_VERSION).unwrap();
    let error = open_error(&host, "gone");
    assert_eq!(error.kind, ErrorKind::ModuleNotFound);
    assert_eq!(error.hr, comidl_runtime::loader::E_MOD_NOT_FOUND);
    assert_eq!(error.line, Some(3), "the Library line");
    // Relative to the profile's directory.
    let expected = profile.dir.path().join("./modules/libgone.so");
    assert_eq!(
        error.to_string(),
        format!(
            "{}:3: provider `Gone`: the module `{}` does not exist",
            profile.path.display(),
            expected.display()
        )
    );
    let error = open_error(&host, "Searched");
    assert_eq!(error.kind, ErrorKind::ModuleNotFound);
    assert_eq!(error.line, Some(6));
    let text = error.to_string();
    assert!(
        text.contains("`libcomidl-no-such-provider.so` is not next to the host executable"),
        "{text}"
    );
    assert_eq!(host.load_counts(), (0, 0));
}

#[test]
fn a_file_that_is_not_a_module_is_a_clear_error() {
    let _serial = serial();
    let profile = temp_profile("[Text]\nLibrary = ./notes.so\nEntryPoint = E\n");
    std::fs::write(profile.dir.path().join("notes.so"), "not a library").unwrap();
    let host = ProviderHost::load(&profile.path, HOST_VERSION).unwrap();
    let error = open_error(&host, "Text");
    assert_eq!(error.kind, ErrorKind::ModuleNotLoadable);
    assert_eq!(error.hr, comidl_runtime::loader::E_BAD_EXE_FORMAT);
    assert_eq!(error.line, Some(2));
    assert!(error.to_string().contains("cannot be loaded"), "{error}");
    assert_eq!(host.load_counts(), (0, 0));
}

#[test]
fn a_module_without_the_entry_point_is_a_clear_error() {
    let _serial = serial();
    let profile = temp_profile(&profile_text(&format!(
        "[Wrong]\nLibrary = {}\nEntryPoint = NoSuchProviderInit\n",
        module(SHOUT).display()
    )));
    let host = ProviderHost::load(&profile.path, HOST_VERSION).unwrap();
    let error = open_error(&host, "Wrong");
    assert_eq!(error.kind, ErrorKind::NoEntryPoint);
    assert_eq!(error.hr, E_PROC_NOT_FOUND);
    assert_eq!(error.line, Some(18), "the EntryPoint line");
    assert_eq!(
        error.to_string(),
        format!(
            "{}:18: provider `Wrong`: `{}` does not export the entry point `NoSuchProviderInit`",
            profile.path.display(),
            module(SHOUT).display()
        )
    );
    assert_eq!(host.load_counts(), (1, 1));
    all_unloaded(&host);
}

#[test]
fn a_malformed_profile_is_a_clear_error_with_file_and_line() {
    let _serial = serial();
    let profile = temp_profile("[Echo]\nLibrary = x.so\nEntryPoint = E\nlibrary = y.so\n");
    let error = match ProviderHost::load(&profile.path, HOST_VERSION) {
        Ok(_) => panic!("a duplicate key is accepted"),
        Err(error) => error,
    };
    assert_eq!(error.kind, ErrorKind::Profile);
    assert_eq!((error.line, error.column), (Some(4), Some(1)));
    assert_eq!(
        error.to_string(),
        format!(
            "{}:4:1: duplicate key `library` in section `[Echo]` (first set on line 2)",
            profile.path.display()
        )
    );
    let missing = temp_profile("[Echo]\nEntryPoint = E\n");
    let error = ProviderHost::load(&missing.path, HOST_VERSION)
        .err()
        .unwrap();
    assert_eq!(
        error.to_string(),
        format!(
            "{}:1: provider `Echo` has no `Library` key",
            missing.path.display()
        )
    );
    let error = ProviderHost::load(profile.dir.path().join("absent.ini"), HOST_VERSION)
        .err()
        .unwrap();
    assert_eq!((error.kind, error.line), (ErrorKind::Profile, None));
    assert!(
        error
            .to_string()
            .contains("absent.ini: cannot read the profile")
    );
}

#[test]
fn an_unknown_provider_is_a_clear_error() {
    let _serial = serial();
    let profile = temp_profile(&profile_text(""));
    let host = ProviderHost::load(&profile.path, HOST_VERSION).unwrap();
    let error = open_error(&host, "Nobody");
    assert_eq!(error.kind, ErrorKind::UnknownProvider);
    assert_eq!(error.hr, E_PROVIDER_NOT_FOUND);
    assert_eq!(
        error.to_string(),
        format!(
            "{}: the profile has no provider `Nobody`",
            profile.path.display()
        )
    );
    assert_eq!(host.load_counts(), (0, 0));
}

#[test]
fn a_failing_entry_point_reports_its_hresult_and_message() {
    let _serial = serial();
    let profile = temp_profile(&profile_text(&format!(
        "[Off]\nLibrary = {echo}\nEntryPoint = FailingProviderInit\n\
         [Boom]\nLibrary = {echo}\nEntryPoint = PanickingProviderInit\n",
        echo = module(ECHO).display()
    )));
    let host = ProviderHost::load(&profile.path, HOST_VERSION).unwrap();
    let error = open_error(&host, "Off");
    assert_eq!(error.kind, ErrorKind::EntryFailed);
    assert_eq!(error.hr, E_ACCESSDENIED);
    assert_eq!(error.line, Some(16), "the section line");
    let text = error.to_string();
    // The message the module recorded reached the host through the attach handshake.
    assert!(
        text.contains(
            "the entry point `FailingProviderInit` failed: the echo provider is switched off"
        ),
        "{text}"
    );
    let error = open_error(&host, "Boom");
    assert_eq!(error.kind, ErrorKind::EntryFailed);
    assert_eq!(error.hr, E_UNEXPECTED);
    assert_eq!(host.load_counts(), (2, 2));
    all_unloaded(&host);
}

#[test]
fn the_module_unloads_after_the_last_provider_object_is_released() {
    let _serial = serial();
    let profile = temp_profile(&profile_text(""));
    let host = ProviderHost::load(&profile.path, HOST_VERSION).unwrap();
    let path = module(ECHO);

    let provider = host.open::<IEcho>("Echo").unwrap();
    // The client keeps a second reference to the provider object, and another object.
    let kept = provider.object().clone();
    let spawned = provider.spawn().unwrap();
    drop(provider);
    // The module has live objects: it stays, its load pending.
    assert!(is_loaded(&path));
    assert_eq!(host.load_counts(), (1, 0));
    assert_eq!(host.pending_unloads(), 1);
    assert_eq!(echo(&kept, "still"), "Hello, still!");
    assert_eq!(host.free_unused(), 0);
    assert!(is_loaded(&path));

    drop(kept);
    // One object left.
    assert_eq!(host.free_unused(), 0);
    assert_eq!(describe(&spawned), "name=Echo host=2 version=1");
    assert!(is_loaded(&path));

    drop(spawned);
    // Asked again on the next use of the host (here: free_unused).
    assert_eq!(host.free_unused(), 1);
    assert_eq!(host.load_counts(), (1, 1));
    all_unloaded(&host);

    // The next open also retries pending loads.
    let provider = host.open::<IEcho>("Echo").unwrap();
    let kept = provider.object().clone();
    drop(provider);
    assert_eq!(host.pending_unloads(), 1);
    drop(kept);
    let shout = host.open::<IEcho>("Shout").unwrap();
    assert_eq!(host.pending_unloads(), 0);
    assert!(!is_loaded(&path));
    drop(shout);
    assert_eq!(host.load_counts(), (3, 3));
    all_unloaded(&host);
}

#[test]
fn opening_the_same_provider_twice_loads_twice_and_unloads_twice() {
    let _serial = serial();
    let profile = temp_profile(&profile_text(""));
    let host = ProviderHost::load(&profile.path, HOST_VERSION).unwrap();
    let path = module(ECHO);
    let first = host.open::<IEcho>("Echo").unwrap();
    let second = host.open::<IEcho>("Echo").unwrap();
    assert_eq!(host.load_counts(), (2, 0));
    assert_ne!(first.object(), second.object(), "two provider objects");
    drop(first);
    // The first handle's load waits: the second provider's object is alive.
    assert!(is_loaded(&path), "the module has a live object");
    assert_eq!((host.load_counts(), host.pending_unloads()), ((2, 0), 1));
    assert_eq!(echo(&second, "again"), "Hello, again!");
    drop(second);
    assert_eq!(host.load_counts(), (2, 2));
    all_unloaded(&host);
}

#[test]
fn a_busy_module_is_left_loaded_when_the_host_drops() {
    let _serial = serial();
    // A copy of the echo module under another name: it stays loaded for the rest of the
    // process, which must not disturb the other tests' checks on the original.
    let profile = temp_profile("");
    let copy = profile.dir.path().join("libleaked_echo.so");
    std::fs::copy(module(ECHO), &copy).unwrap();
    std::fs::write(
        &profile.path,
        "[Echo]\nLibrary = ./libleaked_echo.so\nEntryPoint = EchoProviderInit\nSuffix=?\n",
    )
    .unwrap();
    let host = ProviderHost::load(&profile.path, HOST_VERSION).unwrap();
    let provider = host.open::<IEcho>("Echo").unwrap();
    let kept = provider.object().clone();
    drop(provider);
    drop(host);
    assert!(is_loaded(&copy), "never unmapped under a live object");
    // The object's code is still there to run.
    assert_eq!(echo(&kept, "alive"), "alive?");
    drop(kept);
    assert!(is_loaded(&copy), "a leaked load stays");
}

#[test]
fn a_profile_parses_on_its_own() {
    let profile = Profile::parse(
        "/srv/app/profile.ini",
        b"[A]\nLibrary=mods/liba.so\nEntryPoint=AInit\nColour=blue\n",
    )
    .unwrap();
    let a = profile.provider("a").unwrap();
    assert_eq!(
        a.library_path(),
        std::path::Path::new("/srv/app/mods/liba.so")
    );
    assert_eq!(a.setting("colour"), Some("blue"));
}

#[test]
fn a_module_can_be_both_an_in_process_server_and_a_provider_module() {
    let _serial = serial();
    let _com = ComInit::multithreaded().expect("CoInitializeEx");
    let path = module(SHOUT);
    // Registered in the tests' private registry (see `serial`).
    loader::register_server(&path).expect("the shout module registers its class");
    let profile = temp_profile(&profile_text(""));
    let host = ProviderHost::load(&profile.path, HOST_VERSION).unwrap();
    let provider = host.open::<IEcho>("Shout").unwrap();
    let server = create_instance::<IEcho>(&CLSID_ShoutServer, CLSCTX_INPROC_SERVER)
        .expect("the class is served by the same module");
    assert_eq!(echo(&server, "both"), "BOTH");
    assert_eq!(describe(&server), "name=ShoutServer host=0 version=2");
    assert_eq!(echo(&provider, "x"), "X X X");
    drop(provider);
    // The server object is one of the module's live objects: the provider load waits.
    assert_eq!(host.pending_unloads(), 1);
    assert!(is_loaded(&path));
    drop(server);
    CoFreeUnusedLibraries();
    assert_eq!(host.free_unused(), 1);
    let (loads, unloads) = loader::load_counts();
    assert_eq!(loads, unloads, "the class loader's loads are unloaded too");
    all_unloaded(&host);
}
