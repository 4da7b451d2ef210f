//! remote-probe: the client side of tests/wire/dcom_machines.sh, against the calculator on
//! another machine's comidl-dcomd. Every mode prints `key value` lines the script reads.
//!
//! ```text
//! remote-probe hold HOST SECONDS         activate, call every 100 ms for SECONDS, report
//! remote-probe mid-call HOST             FoldObserved whose observer waits: the script
//!                                        kills the server meanwhile; report how the call
//!                                        ended and when (unix ms)
//! remote-probe load HOST THREADS CALLS   THREADS clients, each its own Calculator and
//!                                        CALLS calls; report calls, errors and time
//! remote-probe wait HOST                 activate, call once, print `ready`, then wait to
//!                                        be killed (its references must time out)
//! remote-probe default                   CLSCTX_REMOTE_SERVER with no machine named: the
//!                                        class's AppID RemoteServerName says where (the
//!                                        class object through RemoteGetClassObject, then
//!                                        CreateInstance on it); one call
//! ```

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use calculator_bindings::{
    CLSID_Calculator, IAdder_PROXY_STUB, ICalculator, ICalculator_PROXY_STUB, IFoldObserver,
    IFoldObserver_Impl, IFoldObserver_PROXY_STUB,
};
use comidl_runtime::{ComInit, ComObject, ComPtr, Result as ComResult, dcom, host};

fn now_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis())
}

fn calculator(host: &str) -> Result<ComPtr<ICalculator>, String> {
    comidl_runtime::create_instance_on::<ICalculator>(&CLSID_Calculator, host)
        .map_err(|hr| format!("activation on {host}: {}", host::describe(hr)))
}

/// The observer of `mid-call`: tells the script the server is inside the call, then
/// waits long enough for the server to be killed.
struct Waiter {
    told: AtomicBool,
}

comidl_runtime::implement!(Waiter: IFoldObserver);

impl IFoldObserver_Impl for Waiter {
    fn step(&self, _index: u32, _value: i32, _total: i32) -> ComResult<()> {
        if !self.told.swap(true, Ordering::SeqCst) {
            println!("in-callback {}", now_ms());
            std::thread::sleep(Duration::from_secs(3));
        }
        Ok(())
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            println!("error {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &[String]) -> Result<(), String> {
    let _com = ComInit::multithreaded().map_err(host::describe)?;
    dcom::register(&[
        &IAdder_PROXY_STUB,
        &ICalculator_PROXY_STUB,
        &IFoldObserver_PROXY_STUB,
    ]);
    let arg = |i: usize| args.get(i).map(String::as_str).ok_or("missing argument");
    let number = |i: usize| -> Result<u64, String> {
        arg(i)?
            .parse()
            .map_err(|_| format!("argument {i} is not a number"))
    };
    match arg(0)? {
        "hold" => {
            let calc = calculator(arg(1)?)?;
            let until = Instant::now() + Duration::from_secs(number(2)?);
            let (mut calls, mut errors, mut last_ok) = (0u64, 0u64, false);
            while Instant::now() < until {
                last_ok = matches!(calc.subtract(50, 8), Ok(42));
                if last_ok {
                    calls += 1;
                } else {
                    errors += 1;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            println!("calls {calls}");
            println!("errors {errors}");
            println!("last_ok {}", u8::from(last_ok));
            println!("pings {}", dcom::pinger::pings_sent());
            Ok(())
        }
        "mid-call" => {
            let calc = calculator(arg(1)?)?;
            let observer = ComObject::create::<IFoldObserver>(Waiter {
                told: AtomicBool::new(false),
            })
            .map_err(host::describe)?;
            let r = calc.fold_observed(comidl_runtime::w!("+"), &[1, 2, 3], &observer);
            println!("ended {}", now_ms());
            match r {
                Ok(v) => println!("result {v}"),
                Err(hr) => println!("hresult {:#010x}", hr.0 as u32),
            }
            Ok(())
        }
        "load" => {
            let host = arg(1)?.to_string();
            let threads = number(2)?;
            let per = number(3)?;
            let calls = AtomicU64::new(0);
            let errors = AtomicU64::new(0);
            let start = Instant::now();
            std::thread::scope(|s| {
                for t in 0..threads {
                    let (host, calls, errors) = (&host, &calls, &errors);
                    s.spawn(move || {
                        let Ok(calc) = calculator(host) else {
                            errors.fetch_add(per, Ordering::Relaxed);
                            return;
                        };
                        for i in 0..per {
                            let a = (t * 1000 + i) as i32;
                            match calc.subtract(a, 1) {
                                Ok(v) if v == a - 1 => calls.fetch_add(1, Ordering::Relaxed),
                                _ => errors.fetch_add(1, Ordering::Relaxed),
                            };
                        }
                    });
                }
            });
            println!("calls {}", calls.load(Ordering::Relaxed));
            println!("errors {}", errors.load(Ordering::Relaxed));
            println!("ms {}", start.elapsed().as_millis());
            Ok(())
        }
        "default" => {
            let calc = comidl_runtime::create_instance::<ICalculator>(
                &CLSID_Calculator,
                comidl_runtime::CLSCTX_REMOTE_SERVER,
            )
            .map_err(|hr| format!("activation: {}", host::describe(hr)))?;
            let v = calc.multiply(6, 7).map_err(host::describe)?;
            println!("product {v}");
            Ok(())
        }
        "wait" => {
            let calc = calculator(arg(1)?)?;
            let v = calc.subtract(50, 8).map_err(host::describe)?;
            println!("ready {v}");
            loop {
                std::thread::sleep(Duration::from_secs(1));
            }
        }
        other => Err(format!("unknown mode {other}")),
    }
}
