"""The global push-to-talk key as a string ("Ctrl+Alt+Space", Qt's portable text) and what it becomes:
an X keysym name and modifier mask for ``XGrabKey``, and a trigger of the freedesktop shortcuts
specification ("CTRL+ALT+space") for the portal.  Pure functions, no Qt, no X connection.
"""

from __future__ import annotations

from dataclasses import dataclass

# X11 modifier bits (X.h): the ones a shortcut may use, and the lock keys a grab must ignore.
SHIFT_MASK, LOCK_MASK, CONTROL_MASK, MOD1_MASK, MOD2_MASK, MOD4_MASK = 1, 2, 4, 8, 16, 64
MODIFIERS = {"ctrl": CONTROL_MASK, "alt": MOD1_MASK, "shift": SHIFT_MASK, "meta": MOD4_MASK}
MODIFIER_ALIASES = {"control": "ctrl", "ctl": "ctrl", "super": "meta", "win": "meta", "logo": "meta"}
PORTAL_MODIFIERS = {"ctrl": "CTRL", "alt": "ALT", "shift": "SHIFT", "meta": "LOGO"}
MODIFIER_ORDER = ("ctrl", "alt", "shift", "meta")

# Qt's portable key names -> X keysym names (xkbcommon uses the same names without XKB_KEY_).
NAMED_KEYS = {
    "space": "space",
    "return": "Return",
    "enter": "Return",
    "esc": "Escape",
    "escape": "Escape",
    "tab": "Tab",
    "backspace": "BackSpace",
    "del": "Delete",
    "delete": "Delete",
    "ins": "Insert",
    "insert": "Insert",
    "home": "Home",
    "end": "End",
    "pgup": "Prior",
    "pageup": "Prior",
    "pgdown": "Next",
    "pagedown": "Next",
    "left": "Left",
    "right": "Right",
    "up": "Up",
    "down": "Down",
    "pause": "Pause",
    "print": "Print",
    "scrolllock": "Scroll_Lock",
    "menu": "Menu",
    "media play": "XF86AudioPlay",
    "media stop": "XF86AudioStop",
    "media next": "XF86AudioNext",
    "media previous": "XF86AudioPrev",
    "microphone mute": "XF86AudioMicMute",
}
PUNCTUATION = {
    "`": "grave",
    "-": "minus",
    "=": "equal",
    "[": "bracketleft",
    "]": "bracketright",
    "\\": "backslash",
    ";": "semicolon",
    "'": "apostrophe",
    ",": "comma",
    ".": "period",
    "/": "slash",
    "+": "plus",
    "*": "asterisk",
}
LOCK_KEYS = frozenset({"Caps_Lock", "Num_Lock", "Scroll_Lock"})


class KeySpecError(ValueError):
    """The key string cannot be a global shortcut (the message says why, for the settings)."""


@dataclass(frozen=True)
class KeySpec:
    modifiers: frozenset[str]  # of MODIFIER_ORDER
    keysym: str  # an X / xkbcommon keysym name: "space", "a", "F9"

    @property
    def x11_mask(self) -> int:
        mask = 0
        for m in self.modifiers:
            mask |= MODIFIERS[m]
        return mask

    @property
    def portal_trigger(self) -> str:
        """The shortcuts specification's form: modifiers CTRL ALT SHIFT LOGO, then the keysym."""
        mods = [PORTAL_MODIFIERS[m] for m in MODIFIER_ORDER if m in self.modifiers]
        return "+".join([*mods, self.keysym])

    @property
    def text(self) -> str:
        """As the settings show it: "Ctrl+Alt+Space"."""
        mods = [m.capitalize() for m in MODIFIER_ORDER if m in self.modifiers]
        key = self.keysym if len(self.keysym) > 1 else self.keysym.upper()
        return "+".join([*mods, key[:1].upper() + key[1:]])


def _split(text: str) -> list[str]:
    """Split on '+', keeping a '+' key ("Ctrl++" is Ctrl and plus)."""
    parts: list[str] = []
    current = ""
    for ch in text:
        if ch == "+" and current:
            parts.append(current)
            current = ""
        else:
            current += ch
    if current:
        parts.append(current)
    return [p.strip() for p in parts if p.strip()]


def _keysym(name: str) -> str:
    low = name.lower()
    if low in NAMED_KEYS:
        return NAMED_KEYS[low]
    if len(name) == 1:
        if name.isalpha() and name.isascii():
            return name.lower()
        if name.isdigit():
            return name
        if name in PUNCTUATION:
            return PUNCTUATION[name]
    if low.startswith("f") and low[1:].isdigit() and 1 <= int(low[1:]) <= 35:
        return f"F{int(low[1:])}"
    raise KeySpecError(f"'{name}' is not a key Hearken can use as a global shortcut")


def parse(text: str) -> KeySpec:
    """ "Ctrl+Alt+Space" -> KeySpec({"ctrl", "alt"}, "space"); raises ``KeySpecError``."""
    parts = _split(text.strip())
    if not parts:
        raise KeySpecError("no key given")
    *mods, key = parts
    modifiers: set[str] = set()
    for m in mods:
        name = MODIFIER_ALIASES.get(m.lower(), m.lower())
        if name not in MODIFIERS:
            raise KeySpecError(f"'{m}' is not a modifier (use Ctrl, Alt, Shift or Meta)")
        modifiers.add(name)
    if key.lower() in MODIFIERS or key.lower() in MODIFIER_ALIASES:
        raise KeySpecError("a shortcut needs a key besides its modifiers")
    keysym = _keysym(key)
    if keysym in LOCK_KEYS:
        raise KeySpecError(f"{key} is a lock key and cannot be held to talk")
    return KeySpec(frozenset(modifiers), keysym)


def lock_variants(numlock_mask: int = MOD2_MASK) -> tuple[int, ...]:
    """The lock-modifier combinations a grab must cover so NumLock or CapsLock do not disable it."""
    return (0, LOCK_MASK, numlock_mask, LOCK_MASK | numlock_mask) if numlock_mask else (0, LOCK_MASK)
