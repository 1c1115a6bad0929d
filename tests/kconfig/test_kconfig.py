# Copyright (c) 2026 The lwm2m_carrier authors
# SPDX-License-Identifier: Apache-2.0
"""Lint of the module's Kconfig, without an nRF Connect SDK tree.

The root Kconfig is parsed between Kconfig.ncs_stubs and Kconfig.zephyr_stubs
(stand-ins for the NCS v1.4.2 and Zephyr 2.4 symbols it uses, in the order
a real build reads them), the way Zephyr's kconfig.py would:
undefined symbols and assignments to undefined symbols are warnings, and
any warning fails. Then the stock sample's prj.conf (NCS v1.4.2
nrf/samples/nrf9160/lwm2m_carrier, copied below) and this repository's
samples/lwm2m_carrier/prj.conf must give LWM2M_CARRIER=y: kconfiglib
silently drops an assignment whose dependencies are unmet, so each assigned
symbol is compared with the value it got ("assigned 'y' but got 'n'; unmet
deps: ...", as Zephyr reports it).

Run: pip install -r tests/kconfig/requirements.txt; pytest tests/kconfig
"""

import os
from pathlib import Path

import kconfiglib
import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
MODULE_KCONFIG = REPO / "Kconfig"
NCS_STUBS = HERE / "Kconfig.ncs_stubs"
ZEPHYR_STUBS = HERE / "Kconfig.zephyr_stubs"
STUBS = (NCS_STUBS, ZEPHYR_STUBS)
OUR_SAMPLE_PRJ = REPO / "samples" / "lwm2m_carrier" / "prj.conf"

# nrf/samples/nrf9160/lwm2m_carrier/prj.conf of NCS v1.4.2 (comments left out).
STOCK_SAMPLE_PRJ = """\
CONFIG_LWM2M_CARRIER=y
CONFIG_NEWLIB_LIBC=y
CONFIG_BSD_LIBRARY=y
CONFIG_BSD_LIBRARY_SYS_INIT=n
CONFIG_LTE_LINK_CONTROL=y
CONFIG_LTE_AUTO_INIT_AND_CONNECT=n
CONFIG_LTE_NETWORK_USE_FALLBACK=n
CONFIG_DOWNLOAD_CLIENT=y
CONFIG_AT_CMD=y
CONFIG_AT_CMD_THREAD_STACK_SIZE=1536
CONFIG_AT_CMD_PARSER=y
CONFIG_MODEM_KEY_MGMT=y
CONFIG_FLASH=y
CONFIG_FLASH_PAGE_LAYOUT=y
CONFIG_NVS=y
CONFIG_MPU_ALLOW_FLASH_WRITE=y
CONFIG_HEAP_MEM_POOL_SIZE=4096
CONFIG_NETWORKING=y
CONFIG_NET_NATIVE=n
CONFIG_NET_SOCKETS=y
CONFIG_NET_SOCKETS_POSIX_NAMES=y
CONFIG_NET_SOCKETS_OFFLOAD=y
CONFIG_REBOOT=y
"""

# The options of liblwm2m_carrier 0.10.x inside `if LWM2M_CARRIER`:
# name -> (type, default when visible).
CARRIER_OPTIONS = {
    "LWM2M_CARRIER_CERTIFICATION_MODE": (kconfiglib.BOOL, "n"),
    "LWM2M_CARRIER_USE_CUSTOM_BOOTSTRAP_URI": (kconfiglib.BOOL, "n"),
    "LWM2M_CARRIER_CUSTOM_BOOTSTRAP_URI": (kconfiglib.STRING, ""),
    "LWM2M_CARRIER_USE_CUSTOM_BOOTSTRAP_PSK": (kconfiglib.BOOL, "n"),
    "LWM2M_CARRIER_CUSTOM_BOOTSTRAP_PSK": (kconfiglib.STRING, ""),
}

# Ours, not in 0.10.x: name -> (type, default).
OWN_OPTIONS = {
    "LWM2M_CARRIER_LOG_LEVEL": (kconfiglib.INT, "3"),
    "LWM2M_CARRIER_WAKE_LATENCY_MS": (kconfiglib.INT, "2000"),
    "LWM2M_CARRIER_THREAD_STACK_SIZE": (kconfiglib.INT, "6144"),
    "LWM2M_CARRIER_HEAP_SIZE": (kconfiglib.INT, "18432"),
    "LWM2M_CARRIER_STORAGE_SIZE": (kconfiglib.HEX, "0xa000"),
}

# SDK symbols the module gives defaults to (promptless definitions).
SDK_DEFAULTS = {"POSIX_MAX_FDS", "LOG_STRDUP_MAX_STRING", "LOG_STRDUP_BUF_COUNT"}


def parse(tmp_path, monkeypatch, with_stubs=True):
    """Parse the module's Kconfig (after the stubs) as Zephyr does."""
    top = tmp_path / "Kconfig.top"
    lines = []
    # Modules (nrf, then this one) before Zephyr's own files, as
    # Kconfig.zephyr sources them: a default given here comes first.
    if with_stubs:
        lines.append(f'source "{NCS_STUBS}"')
    lines.append(f'source "{MODULE_KCONFIG}"')
    if with_stubs:
        lines.append(f'source "{ZEPHYR_STUBS}"')
    top.write_text("\n".join(lines) + "\n")
    monkeypatch.setenv("KCONFIG_WARN_UNDEF", "y")
    monkeypatch.setenv("srctree", str(REPO))
    kconf = kconfiglib.Kconfig(str(top), warn_to_stderr=False)
    kconf.warn_assign_undef = True
    kconf.warn_assign_override = False
    kconf.warn_assign_redun = False
    return kconf


def load(kconf, tmp_path, text):
    """Load a prj.conf fragment; return the list of problems."""
    conf = tmp_path / "prj.conf"
    conf.write_text(text)
    kconf.load_config(str(conf), replace=True)
    return list(kconf.warnings) + assignment_mismatches(kconf)


def assignment_mismatches(kconf):
    """Zephyr's check: every assigned symbol must get the assigned value."""
    problems = []
    for sym in kconf.unique_defined_syms:
        if sym.user_value is None or sym.choice:
            continue
        user = sym.user_value
        if sym.orig_type in (kconfiglib.BOOL, kconfiglib.TRISTATE):
            user = kconfiglib.TRI_TO_STR[user]
        if user != sym.str_value:
            problems.append(
                f"{sym.name} was assigned '{user}' but got '{sym.str_value}'; "
                f"unmet deps: {kconfiglib.expr_str(sym.direct_dep)}")
    return problems


def node_path(node):
    # kconfiglib keeps file names relative to $srctree (the repository).
    return (REPO / node.filename).resolve()


def is_number(name):
    # kconfiglib keeps unquoted numbers (`>= 4096`) as undefined symbols.
    try:
        int(name, 0)
        return True
    except ValueError:
        return False


def symbols_referenced_by_module(kconf):
    """Every symbol the module's own Kconfig file mentions in an expression."""
    names = set()
    for node in kconf.node_iter():
        if node_path(node) != MODULE_KCONFIG:
            continue
        exprs = [node.dep, getattr(node, "visibility", kconf.y)]
        item = node.item
        if isinstance(item, kconfiglib.Symbol):
            exprs += [e for d in item.defaults for e in d]
            exprs += [e for s in item.selects for e in s]
            exprs += [e for s in item.implies for e in s]
            exprs += [e for r in item.ranges for e in r]
        for expr in exprs:
            for s in kconfiglib.expr_items(expr):
                if isinstance(s, kconfiglib.Symbol) and not s.is_constant \
                        and not is_number(s.name):
                    names.add(s.name)
    return names


def module_symbol_names(kconf):
    """Symbols the module's Kconfig defines (not those it only gives a
    default to)."""
    return {node.item.name for node in kconf.node_iter()
            if isinstance(node.item, kconfiglib.Symbol)
            and node_path(node) == MODULE_KCONFIG
            and node.item.name not in SDK_DEFAULTS}


def stub_symbol_names(kconf):
    return {node.item.name for node in kconf.node_iter()
            if isinstance(node.item, kconfiglib.Symbol)
            and node_path(node) in STUBS}


# --------------------------------------------------------------------------


def test_parses_without_warnings(tmp_path, monkeypatch):
    kconf = parse(tmp_path, monkeypatch)
    assert kconf.warnings == []


def test_stubs_cover_every_symbol_the_module_references(tmp_path, monkeypatch):
    kconf = parse(tmp_path, monkeypatch)
    own = module_symbol_names(kconf)
    referenced = symbols_referenced_by_module(kconf) - own
    stubs = stub_symbol_names(kconf)
    assert referenced, "expected the module to depend on SDK symbols"
    assert referenced - stubs == set()
    # And the stubs define nothing of the module's own.
    assert own & stubs == set()
    # The SDK symbols the module gives defaults to are the SDK's: declared
    # in the stubs, with no prompt or type of the module's.
    assert SDK_DEFAULTS <= stubs
    for node in kconf.node_iter():
        if node_path(node) == MODULE_KCONFIG and \
                isinstance(node.item, kconfiglib.Symbol) and node.item.name in SDK_DEFAULTS:
            assert node.prompt is None, node.item.name


def test_module_alone_reports_its_sdk_dependencies_as_undefined(tmp_path, monkeypatch):
    # Without the stubs, the lint must see the SDK symbols as undefined:
    # proof that the undefined-symbol warning is active.
    kconf = parse(tmp_path, monkeypatch, with_stubs=False)
    undefined = " ".join(kconf.warnings)
    for name in ("BSD_LIBRARY", "NVS", "AT_NOTIF", "POSIX_API"):
        assert f"undefined symbol {name}" in undefined


@pytest.mark.parametrize("name", ["stock", "ours"])
def test_sample_prj_conf_enables_the_library(tmp_path, monkeypatch, name):
    text = STOCK_SAMPLE_PRJ if name == "stock" else OUR_SAMPLE_PRJ.read_text()
    kconf = parse(tmp_path, monkeypatch)
    assert load(kconf, tmp_path, text) == []
    assert kconf.syms["LWM2M_CARRIER"].str_value == "y"


def test_unmet_dependency_is_reported(tmp_path, monkeypatch):
    # bsdlib initialised at SYS_INIT: the library must refuse (it
    # initialises bsdlib itself), and the check must say why.
    kconf = parse(tmp_path, monkeypatch)
    problems = load(kconf, tmp_path,
                    STOCK_SAMPLE_PRJ + "CONFIG_BSD_LIBRARY_SYS_INIT=y\n")
    assert kconf.syms["LWM2M_CARRIER"].str_value == "n"
    assert any(p.startswith("LWM2M_CARRIER was assigned 'y' but got 'n'")
               and "BSD_LIBRARY_SYS_INIT" in p for p in problems)


def test_lte_auto_connect_is_refused(tmp_path, monkeypatch):
    kconf = parse(tmp_path, monkeypatch)
    text = STOCK_SAMPLE_PRJ.replace("CONFIG_LTE_AUTO_INIT_AND_CONNECT=n",
                                    "CONFIG_LTE_AUTO_INIT_AND_CONNECT=y")
    load(kconf, tmp_path, text)
    assert kconf.syms["LWM2M_CARRIER"].str_value == "n"


def test_system_heap_is_needed_only_for_ncs(tmp_path, monkeypatch):
    # The library has its own heap: a small system heap (for at_notif and
    # getaddrinfo()) is enough, none at all is refused.
    for size, enabled in (("2048", "y"), ("512", "y"), ("256", "n"), ("0", "n")):
        kconf = parse(tmp_path, monkeypatch)
        text = STOCK_SAMPLE_PRJ.replace("CONFIG_HEAP_MEM_POOL_SIZE=4096",
                                        f"CONFIG_HEAP_MEM_POOL_SIZE={size}")
        load(kconf, tmp_path, text)
        assert kconf.syms["LWM2M_CARRIER"].str_value == enabled, size


def test_modem_key_mgmt_is_not_needed(tmp_path, monkeypatch):
    # The glue writes credentials with AT%CMNG itself.
    kconf = parse(tmp_path, monkeypatch)
    text = STOCK_SAMPLE_PRJ.replace("CONFIG_MODEM_KEY_MGMT=y\n", "")
    assert load(kconf, tmp_path, text) == []
    assert kconf.syms["LWM2M_CARRIER"].str_value == "y"


def test_reserved_resources_are_options_with_defaults(tmp_path, monkeypatch):
    kconf = parse(tmp_path, monkeypatch)
    assert load(kconf, tmp_path, STOCK_SAMPLE_PRJ) == []
    for name, (kind, default) in OWN_OPTIONS.items():
        if name == "LWM2M_CARRIER_LOG_LEVEL":
            continue  # needs LOG
        sym = kconf.syms[name]
        assert sym.orig_type == kind, name
        assert sym.str_value == default, name
    problems = load(kconf, tmp_path, STOCK_SAMPLE_PRJ +
                    "CONFIG_LWM2M_CARRIER_HEAP_SIZE=16384\n"
                    "CONFIG_LWM2M_CARRIER_THREAD_STACK_SIZE=6144\n"
                    "CONFIG_LWM2M_CARRIER_STORAGE_SIZE=0x6000\n")
    assert problems == []
    assert kconf.syms["LWM2M_CARRIER_HEAP_SIZE"].str_value == "16384"
    # Out of range: refused (Zephyr reports the assignment as not taken).
    problems = load(kconf, tmp_path, STOCK_SAMPLE_PRJ + "CONFIG_LWM2M_CARRIER_HEAP_SIZE=1024\n")
    assert any("LWM2M_CARRIER_HEAP_SIZE" in p for p in problems), problems


def test_file_descriptors_default_covers_the_sockets(tmp_path, monkeypatch):
    # AT socket + 4 LwM2M sockets + 3 for the application; Zephyr's default
    # without the library (4) and with POSIX_API (16) are kept.
    kconf = parse(tmp_path, monkeypatch)
    assert load(kconf, tmp_path, STOCK_SAMPLE_PRJ) == []
    assert kconf.syms["POSIX_MAX_FDS"].str_value == "8"
    assert load(kconf, tmp_path, STOCK_SAMPLE_PRJ + "CONFIG_POSIX_API=y\n") == []
    assert kconf.syms["POSIX_MAX_FDS"].str_value == "16"
    assert load(kconf, tmp_path, STOCK_SAMPLE_PRJ.replace(
        "CONFIG_LWM2M_CARRIER=y", "CONFIG_LWM2M_CARRIER=n")) == []
    assert kconf.syms["POSIX_MAX_FDS"].str_value == "4"
    # An explicit value is the application's (the glue's BUILD_ASSERT
    # refuses fewer than 5).
    assert load(kconf, tmp_path, STOCK_SAMPLE_PRJ + "CONFIG_POSIX_MAX_FDS=6\n") == []
    assert kconf.syms["POSIX_MAX_FDS"].str_value == "6"


def test_log_strdup_defaults_fit_the_library_lines(tmp_path, monkeypatch):
    kconf = parse(tmp_path, monkeypatch)
    assert load(kconf, tmp_path, STOCK_SAMPLE_PRJ + "CONFIG_LOG=y\n") == []
    assert kconf.syms["LOG_STRDUP_MAX_STRING"].str_value == "128"
    assert kconf.syms["LOG_STRDUP_BUF_COUNT"].str_value == "8"
    # Without the library, Zephyr's defaults.
    assert load(kconf, tmp_path, STOCK_SAMPLE_PRJ.replace(
        "CONFIG_LWM2M_CARRIER=y", "CONFIG_LWM2M_CARRIER=n") + "CONFIG_LOG=y\n") == []
    assert kconf.syms["LOG_STRDUP_MAX_STRING"].str_value == "46"
    assert kconf.syms["LOG_STRDUP_BUF_COUNT"].str_value == "4"
    # Immediate logging copies nothing: the symbols stay out of the config.
    assert load(kconf, tmp_path, STOCK_SAMPLE_PRJ + "CONFIG_LOG=y\nCONFIG_LOG_IMMEDIATE=y\n") == []
    assert kconf.syms["LOG_STRDUP_MAX_STRING"].str_value == ""
    # Logging off: not set at all.
    assert load(kconf, tmp_path, STOCK_SAMPLE_PRJ) == []
    assert kconf.syms["LOG_STRDUP_MAX_STRING"].str_value == ""
    # The application's own value wins.
    assert load(kconf, tmp_path, STOCK_SAMPLE_PRJ +
                "CONFIG_LOG=y\nCONFIG_LOG_STRDUP_MAX_STRING=200\n") == []
    assert kconf.syms["LOG_STRDUP_MAX_STRING"].str_value == "200"


def test_the_five_options_exist_with_their_types(tmp_path, monkeypatch):
    kconf = parse(tmp_path, monkeypatch)
    assert load(kconf, tmp_path, STOCK_SAMPLE_PRJ) == []
    carrier = kconf.syms["LWM2M_CARRIER"]
    assert carrier.orig_type == kconfiglib.BOOL
    assert carrier.nodes[0].is_menuconfig
    assert carrier.nodes[0].prompt[0] == "LwM2M carrier library (lwm2m_carrier, Rust)"
    for name, (kind, default) in CARRIER_OPTIONS.items():
        sym = kconf.syms[name]
        assert sym.orig_type == kind, name
        # Inside `if LWM2M_CARRIER`.
        assert carrier in kconfiglib.expr_items(sym.direct_dep), name
        if name.endswith("_URI") or name.endswith("_PSK"):
            if "_USE_" not in name:
                continue  # invisible until the matching USE_ option is y
        assert sym.str_value == default, name
    # The 0.10.x set plus ours (log level, wake latency, the reserved
    # stack, heap and flash), nothing from later versions (custom APN came
    # in 0.20; the thread stack option has the name later NCS versions use).
    own = module_symbol_names(kconf)
    assert own == {"LWM2M_CARRIER", *OWN_OPTIONS, *CARRIER_OPTIONS}


def test_wake_latency_is_bounded_with_a_2_s_default(tmp_path, monkeypatch):
    kconf = parse(tmp_path, monkeypatch)
    assert load(kconf, tmp_path, STOCK_SAMPLE_PRJ) == []
    sym = kconf.syms["LWM2M_CARRIER_WAKE_LATENCY_MS"]
    assert sym.orig_type == kconfiglib.INT
    assert sym.str_value == "2000"
    problems = load(kconf, tmp_path, STOCK_SAMPLE_PRJ + "CONFIG_LWM2M_CARRIER_WAKE_LATENCY_MS=50\n")
    assert any("LWM2M_CARRIER_WAKE_LATENCY_MS" in p for p in problems), problems



def test_custom_bootstrap_values_need_their_use_option(tmp_path, monkeypatch):
    kconf = parse(tmp_path, monkeypatch)
    uri = "coaps://bootstrap.example.com:5684"
    problems = load(kconf, tmp_path, STOCK_SAMPLE_PRJ +
                    "CONFIG_LWM2M_CARRIER_USE_CUSTOM_BOOTSTRAP_URI=y\n"
                    f'CONFIG_LWM2M_CARRIER_CUSTOM_BOOTSTRAP_URI="{uri}"\n'
                    "CONFIG_LWM2M_CARRIER_USE_CUSTOM_BOOTSTRAP_PSK=y\n"
                    'CONFIG_LWM2M_CARRIER_CUSTOM_BOOTSTRAP_PSK="000102030405060708090a0b0c0d0e0f"\n'
                    "CONFIG_LWM2M_CARRIER_CERTIFICATION_MODE=y\n")
    assert problems == []
    assert kconf.syms["LWM2M_CARRIER_CUSTOM_BOOTSTRAP_URI"].str_value == uri
    assert kconf.syms["LWM2M_CARRIER_CERTIFICATION_MODE"].str_value == "y"

    kconf = parse(tmp_path, monkeypatch)
    problems = load(kconf, tmp_path, STOCK_SAMPLE_PRJ +
                    f'CONFIG_LWM2M_CARRIER_CUSTOM_BOOTSTRAP_URI="{uri}"\n')
    assert any(p.startswith("LWM2M_CARRIER_CUSTOM_BOOTSTRAP_URI was assigned")
               for p in problems)


def test_log_level_needs_logging_and_is_bounded(tmp_path, monkeypatch):
    kconf = parse(tmp_path, monkeypatch)
    assert load(kconf, tmp_path, STOCK_SAMPLE_PRJ +
                "CONFIG_LOG=y\nCONFIG_LWM2M_CARRIER_LOG_LEVEL=4\n") == []
    assert kconf.syms["LWM2M_CARRIER_LOG_LEVEL"].orig_type == kconfiglib.INT
    assert kconf.syms["LWM2M_CARRIER_LOG_LEVEL"].str_value == "4"

    kconf = parse(tmp_path, monkeypatch)
    problems = load(kconf, tmp_path, STOCK_SAMPLE_PRJ +
                    "CONFIG_LOG=y\nCONFIG_LWM2M_CARRIER_LOG_LEVEL=7\n")
    assert problems != []
