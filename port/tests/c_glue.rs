//! The host C glue (`port/c/lwm2m_carrier_host_main.c`), built with a C
//! compiler against a stand-in library (`c_glue_stub.c`) and a minimal
//! application (`c_glue_app.c`), as `scripts/build-host-sample.sh` builds the
//! real sample. Checked: the Kconfig-named environment variables reach
//! `lwm2m_carrier_init()`, the weak event handler loses to the application's,
//! the exit status when init fails (2) or run returns (3), and that the
//! application's renamed main() runs too.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Compile glue + stub + app; `app_handler`: the app defines the event handler.
fn build(app_handler: bool) -> PathBuf {
    let root = root();
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "c_glue_{}",
        if app_handler { "app_handler" } else { "weak" }
    ));
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let include = format!("-I{}", root.join("include").display());
    let app_obj = out.with_extension("app.o");
    let mut app = Command::new(&cc);
    app.args(["-O2", "-Wall", "-Werror", "-Dmain=lwm2m_app_main", "-c"])
        .arg(&include)
        .arg(root.join("port/tests/c_glue_app.c"))
        .arg("-o")
        .arg(&app_obj);
    if app_handler {
        app.arg("-DAPP_EVENT_HANDLER");
    }
    assert!(
        app.status().expect("run the C compiler").success(),
        "app build failed"
    );
    let status = Command::new(&cc)
        .args(["-O2", "-Wall", "-Werror", "-pthread"])
        .arg(&include)
        .arg(root.join("port/c/lwm2m_carrier_host_main.c"))
        .arg(root.join("glue/lwm2m_carrier_defaults.c"))
        .arg(root.join("port/tests/c_glue_stub.c"))
        .arg(&app_obj)
        .arg("-o")
        .arg(&out)
        .status()
        .expect("run the C compiler");
    assert!(status.success(), "C build failed");
    out
}

fn run(bin: &Path, env: &[(&str, &str)]) -> (i32, String) {
    let Output { status, stdout, .. } = Command::new(bin)
        .env_clear()
        .envs(env.iter().copied())
        .output()
        .unwrap();
    (
        status.code().expect("exited"),
        String::from_utf8(stdout).unwrap(),
    )
}

#[test]
fn glue_passes_kconfig_environment_and_exits_like_documented() {
    let weak = build(false);

    let (code, out) = run(&weak, &[]);
    assert_eq!(code, 3, "run() returned: {out}");
    assert!(
        out.contains("uri=(null) psk=(null) apn=(null) cert=0\n"),
        "{out}"
    );
    assert!(out.contains("handler=0\n"), "weak default handler: {out}");
    assert!(
        out.contains("app main\n"),
        "the application's main() ran: {out}"
    );
    assert!(
        out.contains("run\n") && out.contains("log 1: lwm2m_carrier_run() returned\n"),
        "{out}"
    );

    let (code, out) = run(
        &weak,
        &[
            ("CONFIG_LWM2M_CARRIER_CERTIFICATION_MODE", "y"),
            ("CONFIG_LWM2M_CARRIER_USE_CUSTOM_BOOTSTRAP_URI", "y"),
            (
                "CONFIG_LWM2M_CARRIER_CUSTOM_BOOTSTRAP_URI",
                "\"coaps://127.0.0.1:5784\"",
            ),
            ("CONFIG_LWM2M_CARRIER_USE_CUSTOM_BOOTSTRAP_PSK", "y"),
            ("CONFIG_LWM2M_CARRIER_CUSTOM_BOOTSTRAP_PSK", "0a0b"),
        ],
    );
    assert_eq!(code, 3);
    assert!(
        out.contains("uri=coaps://127.0.0.1:5784 psk=0a0b apn=(null) cert=1\n"),
        "{out}"
    );

    // The value is ignored unless the USE_ option is "y", as with Kconfig.
    let (_, out) = run(
        &weak,
        &[
            ("CONFIG_LWM2M_CARRIER_USE_CUSTOM_BOOTSTRAP_URI", "n"),
            ("CONFIG_LWM2M_CARRIER_CUSTOM_BOOTSTRAP_URI", "coaps://x"),
        ],
    );
    assert!(out.contains("uri=(null) "), "{out}");

    let (code, out) = run(&weak, &[("STUB_INIT_RESULT", "-5")]);
    assert_eq!(code, 2, "init failed: {out}");
    assert!(
        out.contains("log 1: lwm2m_carrier_init() failed: -5\n"),
        "{out}"
    );
    assert!(!out.contains("run\n"));
}

#[test]
fn application_event_handler_wins_over_the_weak_default() {
    let bin = build(true);
    let (code, out) = run(&bin, &[]);
    assert_eq!(code, 3);
    assert!(out.contains("handler=7\n"), "{out}");
}
