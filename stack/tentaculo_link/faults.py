"""tentaculo_link's fault switches (see vx11common/faults.py and stack/README.md)."""

from __future__ import annotations

from vx11common.faults import FaultSwitches

_SWITCHES = FaultSwitches("tentaculo_link")

# Faults only a browser sees: the operator page ships clean-reading text that goes wrong when it runs.
# switch -> (asset, text it replaces, what the faulty asset ships instead)
_BROWSER_ONLY = {
    # The API base is put together at run time on the other loopback name: no absolute origin in the text.
    "runtime_origin_ui": ("app.js", 'const API_BASE = "";',
                          'const API_BASE = location.protocol + "//" + (location.hostname === "localhost" ? '
                          '"127.0.0.1" : ["local", "host"].join("")) + ":" + location.port + "/operator/";'),
    # A leftover reference to an element the page no longer has: an uncaught TypeError at load.
    "script_error_ui": ("app.js", "refreshHealth();\n",
                        'refreshHealth();\ndocument.getElementById("status-line").textContent = "ready";\n'),
    # The reply is read from a field the chat answer does not have: "undefined" is shown instead.
    "reply_hidden_ui": ("app.js", "answer.ok ? body.reply :", "answer.ok ? body.text :"),
}


def on(name: str) -> bool:
    return _SWITCHES.on(name)


def browser_only(asset: str, text: str) -> str:
    """The asset as shipped with the browser-only faults that are on; a fault that no longer finds
    its text stops the start (a switch that does nothing would let its gate pass unseen)."""
    for name, (target, old, new) in _BROWSER_ONLY.items():
        if asset == target and on(name):
            if old not in text:
                raise RuntimeError(f"fault {name}: {asset} no longer holds {old!r}")
            text = text.replace(old, new)
    return text
