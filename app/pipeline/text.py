"""Text between the LLM and the TTS, and small transcript heuristics.

* :func:`clean_for_speech` turns an LLM reply (markdown, links, emoji, HTML,
  code) into plain text that piper can read without speaking markup aloud.
* :class:`ClauseSplitter` cuts a stream of LLM token deltas into clauses, the
  first one as early as sounds natural, so TTS can start while the LLM goes on.
* :func:`split_words_played` approximates what was actually heard on barge-in.
* :func:`is_probably_hallucination` spots Whisper's stock inventions on silence.
* :func:`looks_complete` is an end-of-turn hint for a transcript so far.

Standard library only; nothing here raises on odd input.
"""

from __future__ import annotations

import bisect
import html
import re
import unicodedata
from collections.abc import Iterator

__all__ = [
    "ClauseSplitter",
    "clean_for_speech",
    "is_probably_hallucination",
    "looks_complete",
    "split_words_played",
]

# ---------------------------------------------------------------------------
# clean_for_speech
# ---------------------------------------------------------------------------

# A fenced code block: from ``` (or ~~~) to the same marker, or to the end when
# it is not closed yet.  ClauseSplitter uses the same pattern, so that what it
# buffers as "inside a fence" is exactly what cleaning drops.
_FENCE_RE = re.compile(r"(```|~~~)[\s\S]*?(?:\1|\Z)")
_HTML_COMMENT_RE = re.compile(r"<!--[\s\S]*?(?:-->|\Z)")
_AUTOLINK_RE = re.compile(r"<((?:https?|ftp)://[^<>\s]*|www\.[^<>\s]+)>", re.IGNORECASE)
_AUTOMAIL_RE = re.compile(r"<(?:mailto:)?([^<>\s@]+@[^<>\s@]+)>", re.IGNORECASE)
_HTML_BLOCK_RE = re.compile(
    r"</?\s*(?:br|p|div|li|ul|ol|tr|table|h[1-6]|blockquote|pre)\b[^<>]*>", re.IGNORECASE
)
_HTML_TAG_RE = re.compile(r"</?[A-Za-z][A-Za-z0-9:-]*(?:\s[^<>]*)?/?>")

# Line structure.
_HR_RE = re.compile(r"^\s*([-*_])(?:\s*\1){2,}\s*$")
_TABLE_SEP_RE = re.compile(r"^\s*\|?\s*:?-+:?\s*(?:\|\s*:?-+:?\s*)+\|?\s*$")
_TABLE_ROW_RE = re.compile(r"^\s*\|(.*)$")
_QUOTE_RE = re.compile(r"^\s*(?:>\s?)+")
_HEADING_RE = re.compile(r"^\s*#{1,6}(?:\s+(.*?))?(?:\s+#+)?\s*$")
_BULLET_RE = re.compile(r"^\s*(?:[-*+•‣]|\d{1,3}[.)])\s+(.*)$")
_TASK_RE = re.compile(r"^\[[ xX]\]\s*")

# Inline markdown.
_ESCAPE_RE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|>~<])")
_IMAGE_RE = re.compile(r"!\[([^\]\n]*)\]\([^)\n]*\)")
_LINK_RE = re.compile(r"\[([^\]\n]*)\]\([^)\n]*\)")
_FOOTNOTE_RE = re.compile(r"\[\^[^\]\n]*\]")
_REFLINK_RE = re.compile(r"\[([^\]\n]+)\]\[[^\]\n]*\]")
# What is left in square brackets after links is a stage direction ("[laughs]", "[interrupted by
# the user]"): a small model imitates them from its history, and they are never to be spoken.
_STAGE_RE = re.compile(r"\[[^\[\]\n]*\]")
_CODE_SPAN_RE = re.compile(r"(`+)(.{1,300}?)\1")
_URL_RE = re.compile(r"\b(?:(?:https?|ftp)://|www\.)[^\s<>\"'`]+", re.IGNORECASE)
_URL_TRAIL = ".,;:!?)]}'\"»”’"
_BOLD_RE = re.compile(r"\*\*(?=\S)(.{1,300}?)(?<=\S)\*\*")
_UBOLD_RE = re.compile(r"(?<!\w)__(?=\S)(.{1,300}?)(?<=\S)__(?!\w)")
_ITALIC_RE = re.compile(r"(?<![\w*])\*(?=[^\s*])(.{1,300}?)(?<=[^\s*])\*(?![\w*])")
_UITALIC_RE = re.compile(r"(?<![\w_])_(?=[^\s_])(.{1,300}?)(?<=[^\s_])_(?![\w_])")
_STRIKE_RE = re.compile(r"~~(?=\S)(.{1,300}?)(?<=\S)~~")
_STRAY_STAR_RE = re.compile(r"\*+")
_STRAY_UNDERSCORE_RE = re.compile(r"(?<!\w)_+|_+(?!\w)")
_PIPE_RE = re.compile(r"\s*\|\s*")
_PLACEHOLDER_RE = re.compile("\x00(\\d+)\x00")

# Punctuation and spacing.
_BANG_RUN_RE = re.compile(r"[!?]{2,}")
_ELLIPSIS_CHAR_RE = re.compile(r"\.*…[.…]*")
_DOTS_RE = re.compile(r"\.{4,}")
_SOFT_RUN_RE = re.compile(r"([,;:])(?:\s*[,;:])+(?=\s|$)")
_SOFT_BEFORE_END_RE = re.compile(r"[,;:]\s*([.!?…])")
_DASHES_RE = re.compile(r"-{2,}")
_EMPTY_BRACKETS_RE = re.compile(r"\(\s*\)|\[\s*\]|\{\s*\}")
_SPACE_RE = re.compile(r"\s+")
_SPACE_BEFORE_PUNCT_RE = re.compile(r"\s+([,.;:!?…%)\]}])")
_SPACE_AFTER_OPEN_RE = re.compile(r"([(\[{])\s+")

# Symbols kept although their category is "So"/"Sk": they are read as words.
_KEEP_SYMBOLS = frozenset("°℃℉№™®©℗`^")
_DROP_AS_SPACE = frozenset(("So", "Co", "Cn", "Cc", "Me", "Zl", "Zp"))
_DROP_SILENT = frozenset(("Cf", "Cs", "Sk"))
_ASCII_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")

_TERMINAL = ".!?…:;,"
_CLOSERS = "\"'”’»)]*_"


def strip_stage_directions(text: str) -> str:
    """``text`` without bracketed stage directions ("Sure! [interrupted by the user]" -> "Sure!")."""
    return _SPACE_RE.sub(" ", _STAGE_RE.sub(" ", _LINK_RE.sub(r"\1", text))).strip()


def clean_for_speech(text: str) -> str:
    """Return ``text`` as plain speakable text for TTS, or ``""`` if nothing is left to say.

    Markdown emphasis, headings, blockquotes, bullets, inline code, links and
    HTML are reduced to their words; fenced code blocks are dropped; bare URLs
    become their domain ("example.com"); emoji and pictographs are removed;
    table rows become comma-separated cells; list items, headings and table
    rows are joined with sentence punctuation; repeated punctuation collapses
    and whitespace is normalised.  Never raises.
    """
    try:
        return _clean(text, line_start=True)
    except Exception:  # pragma: no cover - defensive: the TTS path must never break
        try:
            kept = "".join(ch if ch.isalnum() or ch in " .,!?'" else " " for ch in str(text))
            return _SPACE_RE.sub(" ", kept).strip()
        except Exception:
            return ""


def _clean(text: str, line_start: bool = True) -> str:
    """Clean ``text``; ``line_start`` says whether its first line starts a line of the reply."""
    if not isinstance(text, str):
        text = str(text)
    if not text:
        return ""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _FENCE_RE.sub("\n", text)
    text = _HTML_COMMENT_RE.sub(" ", text)
    text = _AUTOLINK_RE.sub(lambda m: " " + _domain(m.group(1)) + " ", text)
    text = _AUTOMAIL_RE.sub(r"\1", text)
    text = _HTML_BLOCK_RE.sub("\n", text)
    text = _HTML_TAG_RE.sub(" ", text)
    if "&" in text:
        text = html.unescape(text)
    text = _filter_chars(text)
    text = unicodedata.normalize("NFC", text)

    pieces: list[tuple[str, bool, bool]] = []  # (text, structural, paragraph break before)
    brk = False
    for idx, raw in enumerate(text.split("\n")):
        if not raw.strip():
            brk = True
            continue
        line, struct = _line(raw, structural=idx > 0 or line_start)
        line = _SPACE_RE.sub(" ", line).strip()
        if not line or not any(ch.isalnum() for ch in line):
            continue
        pieces.append((line, struct, brk))
        brk = False

    out = ""
    for k, (piece, struct, brk_before) in enumerate(pieces):
        if k:
            if pieces[k - 1][1] or struct or brk_before or piece[:1].isupper():
                out = _terminate(out)
            out += " "
        out += _terminate(piece) if struct else piece
    return _tidy(out)


def _filter_chars(text: str) -> str:
    """Drop emoji, pictographs, controls and invisible format characters."""
    if text.isascii():
        return _ASCII_CONTROL_RE.sub(" ", text.replace("\t", " "))
    out: list[str] = []
    for ch in text:
        if ch == "\n":
            out.append(ch)
            continue
        o = ord(ch)
        if 0xFF01 <= o <= 0xFF5E:  # full-width ASCII forms: read them as ASCII
            out.append(chr(o - 0xFEE0))
            continue
        if 0xFE00 <= o <= 0xFE0F or 0xE0100 <= o <= 0xE01EF:  # variation selectors
            continue
        if ch in _KEEP_SYMBOLS:
            out.append(ch)
            continue
        cat = unicodedata.category(ch)
        if cat in _DROP_SILENT:  # ZWJ, tags, BOM, soft hyphen, skin tones, lone surrogates
            continue
        if cat in _DROP_AS_SPACE:  # emoji, flags, keycaps, private use, controls, separators
            out.append("\n" if cat in ("Zl", "Zp") or ch == "\x85" else " ")
            continue
        out.append(ch)
    return "".join(out)


def _line(raw: str, structural: bool) -> tuple[str, bool]:
    """Strip one line's block markup; returns (inline-cleaned text, is a list item/heading/row)."""
    if not structural:
        return _inline(raw), False
    if _HR_RE.match(raw) or _TABLE_SEP_RE.match(raw):
        return "", False
    line = _QUOTE_RE.sub("", raw)
    m = _TABLE_ROW_RE.match(line)
    if m:
        cells = (_inline(cell).strip() for cell in m.group(1).split("|"))
        return ", ".join(cell for cell in cells if cell), True
    m = _HEADING_RE.match(line)
    if m:
        return _inline(m.group(1) or ""), True
    m = _BULLET_RE.match(line)
    if m:
        return _inline(_TASK_RE.sub("", m.group(1))), True
    return _inline(line), False


def _inline(s: str) -> str:
    """Reduce inline markdown in one line to its words."""
    if not s:
        return s
    codes: list[str] = []

    def _stash(m: re.Match[str]) -> str:
        codes.append(m.group(2).strip())
        return f"\x00{len(codes) - 1}\x00"

    s = _ESCAPE_RE.sub(r"\1", s)
    s = _CODE_SPAN_RE.sub(_stash, s)
    s = _IMAGE_RE.sub(" ", s)  # an image has nothing to say aloud
    s = _LINK_RE.sub(r"\1", s)
    s = _FOOTNOTE_RE.sub("", s)
    s = _REFLINK_RE.sub(r"\1", s)
    s = _STAGE_RE.sub(" ", s)
    s = _URL_RE.sub(_url_to_domain, s)
    for _ in range(3):  # nested emphasis, e.g. ***x*** or **_x_**
        before = s
        s = _BOLD_RE.sub(r"\1", s)
        s = _UBOLD_RE.sub(r"\1", s)
        s = _ITALIC_RE.sub(r"\1", s)
        s = _UITALIC_RE.sub(r"\1", s)
        s = _STRIKE_RE.sub(r"\1", s)
        if s == before:
            break
    s = _STRAY_STAR_RE.sub(_stray_star, s)
    s = _STRAY_UNDERSCORE_RE.sub("", s)
    s = s.replace("~~", "").replace("`", "")
    s = _PIPE_RE.sub(", ", s)
    if codes:
        s = _PLACEHOLDER_RE.sub(lambda m: _code_at(codes, m.group(1)), s)
    return s.replace("\x00", "")


def _code_at(codes: list[str], index: str) -> str:
    i = int(index)
    return codes[i].replace("`", "") if i < len(codes) else ""


def _stray_star(m: re.Match[str]) -> str:
    """Keep a lone ``*`` between digits ("3 * 4"); drop leftover emphasis markers."""
    if len(m.group()) == 1:
        s, a, b = m.string, m.start(), m.end()
        left = s[:a].rstrip()[-1:]
        right = s[b:].lstrip()[:1]
        if left.isdigit() and right.isdigit():
            return m.group()
    return ""


def _url_to_domain(m: re.Match[str]) -> str:
    url = m.group()
    stripped = url.rstrip(_URL_TRAIL)
    # keep a closing bracket that belongs to the URL, e.g. wiki/Foo_(bar)
    while (
        stripped.count("(") > stripped.count(")") and len(stripped) < len(url) and url[len(stripped)] == ")"
    ):
        stripped += ")"
    return _domain(stripped) + url[len(stripped) :]


def _domain(url: str) -> str:
    """``https://user@www.Example.com:8080/a?b`` -> ``example.com``."""
    rest = re.sub(r"^[A-Za-z][A-Za-z0-9+.-]*://", "", url)
    host = re.split(r"[/?#\\]", rest, maxsplit=1)[0]
    host = host.rsplit("@", 1)[-1]
    host = re.sub(r":\d*$", "", host).strip(".").lower()
    if host.startswith("www."):
        host = host[4:]
    return host


def _terminate(s: str) -> str:
    """Give ``s`` sentence punctuation unless it already ends with some."""
    s = s.rstrip()
    core = s.rstrip(_CLOSERS)
    if not core or core[-1] in _TERMINAL or not any(ch.isalnum() for ch in s):
        return s
    return s + "."


def _tidy(s: str) -> str:
    s = _BANG_RUN_RE.sub(lambda m: "?" if "?" in m.group() else "!", s)
    s = _ELLIPSIS_CHAR_RE.sub("…", s)
    s = _DOTS_RE.sub("...", s)
    s = _SOFT_RUN_RE.sub(r"\1", s)
    s = _SOFT_BEFORE_END_RE.sub(r"\1", s)
    s = _DASHES_RE.sub("—", s)
    s = _EMPTY_BRACKETS_RE.sub(" ", s)
    s = _SPACE_RE.sub(" ", s)
    s = _SPACE_BEFORE_PUNCT_RE.sub(r"\1", s)
    s = _SPACE_AFTER_OPEN_RE.sub(r"\1", s)
    s = s.strip().lstrip(",;:)]}|—-").strip()
    if not any(ch.isalnum() for ch in s):
        return ""
    return s


# ---------------------------------------------------------------------------
# ClauseSplitter
# ---------------------------------------------------------------------------

_HARD, _SOFT, _PENDING = 1, 2, 3  # kinds of clause boundary
# Words that open a new phrase, before which a first clause may end when nothing else comes
# soon (``ClauseSplitter(first_phrase_words=...)``): conjunctions, relative words, the
# commonest prepositions and the forms of "be".  Not "of"/"to" (inside "a cup of", "want to").
PHRASE_OPENERS = frozenset(
    "and but or so because since although though while when where which who whose whom if unless "
    "until then in on at for with about from into by during after before through over under "
    "is are was were".split()
)
_PLAIN_WORD_RE = re.compile(r"[A-Za-z]+(?![\w'’])")
_NO, _MAYBE = 0, 4  # verdicts on a period
_CAND_CHAR_RE = re.compile(r"[.!?…\n]|[,;:\-–—](?=\s|\Z)")
_WORD_RE = re.compile(r"(?<!\S)(?=\S*?[^\W_])\S+")  # a token with a letter or digit
_CODE_RUN_RE = re.compile(r"`+")
_OPEN_LINK_RE = re.compile(r"\[[^\]]*$|\]\([^)]*$")
_DIGITS_RE = re.compile(r"\d+")
_DOTTED_RE = re.compile(r"(?:[a-z]\.)+[a-z]")
_SENT_END = ".!?…"
_TOKEN_OPENERS = "\"'(“‘[*_¿¡«"

# "Mr. Smith": never a sentence end.
_NEVER_END = frozenset(
    "mr mrs ms dr st prof rev gen col capt lt sgt hon mt ft fig figs vs cf approx dept est "
    "e.g i.e viz al".split()
)
# "... etc. Then": a sentence end only when the next word is capitalised.
_MAYBE_END = frozenset("etc a.m p.m am pm inc ltd co corp jr sr".split())


class ClauseSplitter:
    """Cut a stream of LLM token deltas into speakable clauses for TTS.

    ``feed`` returns the clauses completed by a delta, ``flush`` the remainder
    at the end of the stream; every clause is already passed through
    :func:`clean_for_speech` and empty ones are dropped.

    The first clause is cut at the first sentence end, or at a comma,
    semicolon, colon or spaced dash once ``first_min_words`` words have
    accumulated.  Later clauses are cut at sentence ends (and line breaks);
    a comma/semicolon/colon/dash is used only when more than ``max_words``
    words have piled up without one (and, failing any punctuation at all, a
    plain word boundary after ``2 * max_words`` words).  Nothing is cut inside
    a number ("3.14", "1,000"), after an abbreviation ("Mr.", "e.g.", "U.S."),
    inside a markdown link, inline code, a table row, or a fenced code block
    (buffered until the fence closes, then dropped by cleaning).

    A boundary is confirmed only by the character after it (whitespace, or
    for "..." and "etc." the next word), so the clauses are the same however
    the text is chunked into deltas.
    """

    def __init__(self, first_min_words: int = 4, max_words: int = 25, first_phrase_words: int = 0) -> None:
        self.first_min_words = max(1, int(first_min_words))
        self.max_words = max(1, int(max_words))
        # > 0: with no punctuation yet, the first clause may also end before a word that opens
        # a new phrase ("and", "because", "in", "is", ...) once this many words came before it;
        # it is spoken with a comma, so piper keeps a continuing intonation.
        self.first_phrase_words = max(0, int(first_phrase_words))
        self.reset()

    def reset(self) -> None:
        """Forget everything buffered; the next clause is a first clause again."""
        self._buf = ""
        self._first = True
        self._line_start = True
        self._phrase_cut = False

    def feed(self, delta: str) -> list[str]:
        """Add a token delta; return the clauses it completed (possibly none)."""
        if not delta:
            return []
        self._buf += delta if isinstance(delta, str) else str(delta)
        out: list[str] = []
        while True:
            cut = self._find_cut(self._buf)
            if cut is None or cut <= 0:
                return out
            clause, self._buf = self._buf[:cut], self._buf[cut:]
            self._emit(clause, out)

    def flush(self) -> list[str]:
        """End of stream: return what is left as a last clause, and reset."""
        out: list[str] = []
        if self._buf:
            self._emit(self._buf, out)
        self.reset()
        return out

    # -- internals -----------------------------------------------------------

    def _emit(self, clause: str, out: list[str]) -> None:
        lead = clause[: len(clause) - len(clause.lstrip())]
        try:
            text = _clean(clause, line_start=self._line_start or "\n" in lead)
        except Exception:  # pragma: no cover - defensive
            text = clean_for_speech(clause)
        self._line_start = clause.endswith("\n")
        phrase_cut, self._phrase_cut = self._phrase_cut, False
        if text and phrase_cut and text[-1].isalnum():
            text += ","
        if text:
            out.append(text)
            self._first = False

    def _find_cut(self, buf: str) -> int | None:
        """Where to cut ``buf`` (exclusive end of the next clause), or None to wait."""
        fences = [(m.start(), m.end()) for m in _FENCE_RE.finditer(buf)]
        starts = [m.start() for m in _WORD_RE.finditer(buf)]
        limit = self.max_words
        w1 = starts[limit] if len(starts) > limit else None  # first word over the limit
        w2 = starts[2 * limit] if len(starts) > 2 * limit else None

        # A phrase boundary (first clause only, when asked) wins over any later punctuation, so
        # the cut is the same however the text was streamed.
        phrase = self._phrase_boundary(buf, starts, fences) if self._first and self.first_phrase_words else None
        last_soft: int | None = None
        for pos, kind in self._candidates(buf, fences):
            if phrase is not None and pos > phrase:
                break
            if w1 is not None and pos > w1:
                # Too many words without a sentence end: fall back on a comma,
                # else the next boundary of any kind, else a plain word break.
                if last_soft is not None:
                    return last_soft
                if w2 is not None and pos > w2 and self._can_cut_at(buf, w1, fences):
                    return w1
                return None if kind == _PENDING else pos
            if kind == _PENDING:
                return None
            if kind == _HARD:
                return pos
            if self._first and bisect.bisect_left(starts, pos) >= self.first_min_words:
                return pos
            last_soft = pos
        if phrase is not None:
            self._phrase_cut = True
            return phrase
        if w1 is None:
            return None
        if last_soft is not None:
            return last_soft
        if w2 is not None and self._can_cut_at(buf, w1, fences):
            return w1
        return None

    def _phrase_boundary(self, buf: str, starts: list[int], fences: list[tuple[int, int]]) -> int | None:
        """Where the first clause may end before a phrase-opening word (see ``first_phrase_words``):
        the start of the first such word, complete (something follows it), after enough words."""
        if buf.lstrip(" \t").startswith("|"):
            return None
        for k in range(self.first_phrase_words, len(starts)):
            at = starts[k]
            m = _PLAIN_WORD_RE.match(buf, at)
            if m is None or m.end() >= len(buf):
                return None  # not a plain word, or not known to be complete yet
            if m.group(0).lower() in PHRASE_OPENERS and self._can_cut_at(buf, at, fences):
                return at
        return None

    @staticmethod
    def _can_cut_at(buf: str, pos: int, fences: list[tuple[int, int]]) -> bool:
        if _in_spans(pos, fences):
            return False
        line = buf[buf.rfind("\n", 0, pos) + 1 : pos]
        return not line.lstrip().startswith("|") and not _inline_open(line)

    @staticmethod
    def _candidates(buf: str, fences: list[tuple[int, int]]) -> Iterator[tuple[int, int]]:
        """Yield (clause end, kind) in order; a _PENDING one (needs more text) ends the scan."""
        n = len(buf)
        first_text = n - len(buf.lstrip())
        pos = 0
        line_at = 0  # start of the line holding the candidate
        nl_seen = 0  # buf[:nl_seen] has been searched for newlines
        is_table = buf.lstrip(" \t").startswith("|")
        while True:
            m = _CAND_CHAR_RE.search(buf, pos)
            if m is None:
                return
            i = pos = m.start()
            pos += 1
            fence_end = next((b for a, b in fences if a <= i < b), None)
            if fence_end is not None:  # skip the whole code block
                pos = fence_end
                continue
            c = buf[i]
            if c == "\n":
                if i > first_text:
                    yield i, _HARD
                continue
            if i <= first_text:
                continue
            nl = buf.rfind("\n", nl_seen, i)
            nl_seen = i
            if nl >= 0:
                line_at = nl + 1
                is_table = buf[line_at:i].lstrip(" \t").startswith("|")
            if is_table:  # a table row is cut only at its end
                continue

            if c in _SENT_END:
                j = i
                while j < n and buf[j] in _SENT_END:
                    j += 1
                run = buf[i:j]
                while j < n and buf[j] in _CLOSERS:
                    j += 1
                pos = j
                if j >= n:
                    yield j, _PENDING
                    return
                if not buf[j].isspace():
                    continue
                line_prefix = buf[line_at:i]
                if _inline_open(line_prefix):
                    continue
                if "?" in run or "!" in run:
                    yield j, _HARD
                    continue
                if len(run) >= 2 or "…" in run:
                    verdict = _MAYBE  # an ellipsis ends a sentence only before a capital
                else:
                    verdict = _period_verdict(line_prefix)
                if verdict == _NO:
                    continue
                if verdict == _MAYBE:
                    k = j
                    while k < n and buf[k].isspace() and buf[k] != "\n":
                        k += 1
                    if k >= n:
                        yield j, _PENDING
                        return
                    if buf[k].isalpha() and not buf[k].isupper():  # "wait... what", "etc. and"
                        continue
                yield j, _HARD
                continue

            # , ; : and dashes: soft boundaries when followed by whitespace
            if i + 1 >= n:
                yield i + 1, _PENDING
                return
            if not buf[i + 1].isspace():
                continue
            if c in "-–—":
                if c == "-" and not buf[i - 1].isspace():  # "well- known" is no dash
                    continue
                if not buf[line_at:i].strip():  # a list bullet
                    continue
            if _inline_open(buf[line_at:i]):
                continue
            yield i + 1, _SOFT


def _period_verdict(line_prefix: str) -> int:
    """Is the '.' ending ``line_prefix`` a sentence end (_HARD), not (_NO), or only before a capital (_MAYBE)?"""
    parts = line_prefix.rsplit(None, 1)
    if not parts:
        return _NO
    token = parts[-1].lstrip(_TOKEN_OPENERS)
    low = token.lower()
    if len(parts) == 1 and _DIGITS_RE.fullmatch(token):  # "1." starting a numbered list item
        return _NO
    if low in _NEVER_END:
        return _NO
    if low in _MAYBE_END:
        return _MAYBE
    if _DOTTED_RE.fullmatch(low):  # U.S, U.S.A, e.g without its last dot
        return _NO
    if len(token) == 1 and token.isupper() and token != "I":  # an initial: "J. K. Rowling"
        return _NO
    return _HARD


def _in_spans(i: int, spans: list[tuple[int, int]]) -> bool:
    return any(a <= i < b for a, b in spans)


def _inline_open(line_prefix: str) -> bool:
    """True when ``line_prefix`` ends inside inline code or a markdown link."""
    if "`" in line_prefix:
        open_len = 0
        for run in _CODE_RUN_RE.findall(line_prefix):
            if len(run) >= 3:
                continue
            if not open_len:
                open_len = len(run)
            elif open_len == len(run):
                open_len = 0
        if open_len:
            return True
    return ("[" in line_prefix or "](" in line_prefix) and _OPEN_LINK_RE.search(line_prefix) is not None


# ---------------------------------------------------------------------------
# split_words_played
# ---------------------------------------------------------------------------


def split_words_played(text: str, fraction: float) -> str:
    """The prefix of ``text`` (whole words) that ``fraction`` (0..1) of its playback covered.

    Measured by character count and rounded to the nearest word end;
    ``fraction >= 0.999`` gives the whole text, ``<= 0`` (or NaN) gives ``""``.
    """
    try:
        f = float(fraction)
    except (TypeError, ValueError):
        return ""
    if not text or not f > 0:
        return ""
    if f >= 0.999:
        return text
    target = len(text) * f
    best = 0
    for m in re.finditer(r"\S+", text):
        end = m.end()
        if abs(end - target) < abs(best - target):
            best = end
        if end > target:
            break
    return text[:best]


# ---------------------------------------------------------------------------
# is_probably_hallucination
# ---------------------------------------------------------------------------

# Each phrase matches one stock invention; a transcript is a hallucination when
# it is nothing but such phrases.  They are consumed one at a time from the
# left (no backtracking across phrases), so matching stays linear.
_HALLUCINATION_PHRASES = (
    r"(?:thank you|thanks)(?: (?:so|very) much)?(?: for (?:watching|listening|viewing))?",
    r"(?:thank you|thanks) (?:all|everyone|guys)(?: for (?:watching|listening))?",
    r"(?:(?:please|and|dont forget to|like|comment|share) )*subscribe(?: to (?:my|our|the) channel)?",
    r"(?:subtitles?|captions?|captioning|transcription|transcript|transcribed|translated|translation|subtitled)"
    r"(?: (?:made|created|provided|done))? (?:by|from) .*",
    r"amara ?org(?: community)?",
    r"(?:ill )?see you (?:next time|in the next (?:video|one)|later|soon)",
    r"(?:good)?bye",
    r"you",
    r"the end",
    r"music|applause|laughter|silence|noise|blank audio|inaudible|no speech|static",
    r"ご視聴ありがとうございました",
    r"продолжение следует",
    r"untertitel (?:im auftrag des|der|von) .*",
    r"sous titres? .*",
)
_HALLUCINATION_RE = re.compile(r"(?:" + "|".join(_HALLUCINATION_PHRASES) + r")(?: |$)")
_ANNOTATION_RE = re.compile(r"\[[^\]]*\]|\([^)]*\)|\*[^*]*\*|<[^>]*>")


def is_probably_hallucination(text: str) -> bool:
    """True when a transcript is only Whisper's stock inventions for silence/noise.

    E.g. "Thanks for watching!", "Subtitles by ...", "you", "[Music]", "♪";
    also true for empty or punctuation-only text.  Anything else in the text
    ("Thank you for the help") makes it False.
    """
    try:
        t = unicodedata.normalize("NFKC", str(text or "")).lower()
        t = t.replace("’", "'").replace("'", "")
        t = _ANNOTATION_RE.sub(" ", t)
        t = "".join(ch if ch.isalnum() else " " for ch in t)
        t = _SPACE_RE.sub(" ", t).strip()
        if not t:
            return True
        pos = 0
        while pos < len(t):
            m = _HALLUCINATION_RE.match(t, pos)
            if m is None or m.end() == pos:
                return False
            pos = m.end()
        return True
    except Exception:  # pragma: no cover - defensive
        return False


# ---------------------------------------------------------------------------
# looks_complete
# ---------------------------------------------------------------------------

_TRAILING_WORDS = frozenset(
    (
        "and but so or nor um umm uh uhh uhm er erm hmm mm because cause cuz the a an to of with "
        "if unless whether than my your our their"
    ).split()
)


# Endings that ask for more even when Whisper closes them with a full stop or a question mark
# ("Can you tell me?", "I would like to know.", "What is the price of?"): a request does not
# end on them, so the end of turn waits longer (a false "complete" cuts the user off; a false
# "incomplete" only costs the longer wait).  Only after other words: "Tell me." stays complete.
_TRAILING_PHRASES = tuple(
    tuple(p.split())
    for p in (
        "tell me",
        "show me",
        "give me",
        "remind me",
        "let me",
        "ask you",
        "to know",
        "wondering",
        "wondering if",
        "what is",
        "what are",
        "how about",
        "such as",
    )
)


# How a request to an assistant starts: a question, a command, a greeting or a short answer.
_QUESTION_STARTS = frozenset(
    (
        "what who whom whose where when why how which is are was were am do does did can could will "
        "would shall should may might must have has had isn't aren't don't doesn't didn't can't "
        "won't wouldn't shouldn't what's who's where's how's"
    ).split()
)
_COMMAND_STARTS = frozenset(
    (
        "tell give show set remind play stop start turn open close call send find search look read "
        "write explain describe define translate add remove delete list check help let please make "
        "take put get say repeat sing count calculate convert compute schedule book order recommend "
        "suggest name spell summarize summarise compare cancel pause resume skip go wake lower raise "
        "increase decrease mute unmute text email note save create plan teach quiz pick choose "
        "guess imagine keep bring buy cook draw"
    ).split()
)
_SOCIAL_STARTS = frozenset(
    "hi hello hey thanks thank bye goodbye good yes yeah yep no nope ok okay sure great cool sorry".split()
)
_REQUEST_OPENINGS = (("i", "want"), ("i", "need"), ("i'd", "like"), ("let's",), ("lets",))


def reads_as_request(text: str) -> bool:
    """Does ``text`` read as something said to an assistant: a question, a command, a greeting or
    a short answer?  ("Isolated tornadoes." does not: the first words of a longer statement.)"""
    words = re.findall(r"[^\W\d_]+(?:['’][^\W\d_]+)*", str(text or "").lower().replace("’", "'"))
    if not words:
        return False
    if str(text).rstrip(_CLOSERS + " ").endswith("?"):
        return True
    first = words[0]
    if first in _QUESTION_STARTS or first in _COMMAND_STARTS:
        return True
    if first in _SOCIAL_STARTS and len(words) <= 4:
        return True
    return any(tuple(words[: len(o)]) == o for o in _REQUEST_OPENINGS)


def looks_complete(text: str) -> bool:
    """Heuristic end of turn: does the transcript so far read as a finished request?

    True when it ends with "?", "." or "!" and its last word is not a
    conjunction, article or filler ("and", "the", "um", ...); False when it
    trails off (such a word, a comma, "...") or has no final punctuation.
    """
    try:
        t = str(text or "").strip().rstrip(_CLOSERS + "”’ ").strip()
        if not t:
            return False
        if t.endswith(("...", "…")):
            return False
        if t[-1] not in ".?!":
            return False
        body = t.rstrip(".?!").rstrip()
        if not body or body[-1] in ",;:-–—":
            return False
        words = re.findall(r"[^\W\d_]+(?:['’][^\W\d_]+)*", body.lower())
        if not words:
            return False
        if words[-1] in _TRAILING_WORDS:
            return False
        if any(len(words) > len(p) and tuple(words[-len(p) :]) == p for p in _TRAILING_PHRASES):
            return False
        return True
    except Exception:  # pragma: no cover - defensive
        return False
