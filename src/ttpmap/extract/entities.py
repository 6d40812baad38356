"""Groups, software and campaigns named in a report (by name, alias or ID), and CVE identifiers.

Names are looked up token by token in an index built once per knowledge base. ATT&CK names that are
also everyday words ("Net", "at", "Ping", "Cobalt", "Patchwork") or very short ("Tor", "Reg", "RTM")
count only with supporting context: a command line (``net user /domain``), an ``.exe``, backticks or
quotes, a neighbouring word such as *utility*, *malware* or *group*, or capitals in the middle of a
sentence. The word list is ``data/common_words.txt``.
"""

from __future__ import annotations

import bisect
import re
import threading
from dataclasses import dataclass, field
from functools import lru_cache

from ttpmap import lexicon
from ttpmap.extract.attack_ids import other_id_mentions
from ttpmap.extract.cves import find_cves
from ttpmap.kb import KnowledgeBase
from ttpmap.models import Document, Entities, EntityRef

_KIND_OF_PREFIX = {"G": "groups", "S": "software", "C": "campaigns"}
_TOKEN = re.compile(r"\w+")
_SPACES = re.compile(r"\s+")

# Risk classes of a name; all but "" need supporting context in the text.
_WORD = "word"  # an everyday word: net, ping, at, Cobalt, Patchwork
_SHORT = "short"  # up to four letters and no digit: Tor, Reg, Dok, RTM
_PROPER = "proper"  # a proper noun in its own right: Poseidon, Cuba, James
_PHRASE = "phrase"  # several everyday words: Cutting Edge, Magic Hound; matched in its own capitals


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_EXECUTABLE_EXTS = frozenset(
    ["exe", "dll", "ps1", "bat", "cmd", "vbs", "js", "sys", "bin", "elf", "sh", "py"]
)
_SOFTWARE_WORDS = lexicon.words("entities/software_cues")
_GROUP_WORDS = lexicon.words("entities/group_cues")
_CAMPAIGN_WORDS = lexicon.words("entities/campaign_cues")
_KEYWORDS = {"software": _SOFTWARE_WORDS, "groups": _GROUP_WORDS, "campaigns": _CAMPAIGN_WORDS}
_SKIP_BEFORE = _words("the a an called named dubbed known as its their this")
_DETERMINERS = _words("the a an this its their our")
_NOT_A_TOOL_AFTER = _words("line lines prompt prompts interpreter")
# Sub-commands that make a bare utility name a command line ("net user", "reg add").
_SUBCOMMANDS = {
    name.strip(): frozenset(rest.split())
    for name, _, rest in (line.partition(":") for line in lexicon.lines("entities/subcommands"))
}
_SWITCH = re.compile(r"[ \t]+(?:/[A-Za-z?]|--?[A-Za-z])")
# "at \\host 13:00 ...", "at 13:00 /every:M cmd.exe": a bare time is a timestamp ("at 02:14 local")
_AT_ARGUMENT = re.compile(
    r"[ \t]+(?:\\\\\S|\d{1,2}:\d{2}[ \t]+(?:/\w|\S+\.(?:exe|bat|cmd|ps1|vbs)\b|cmd\b|powershell\b))",
    re.IGNORECASE,
)
_HOST_ARGUMENT = re.compile(r"[ \t]+(?:\d{1,3}(?:\.\d{1,3}){3}|[\w-]+\.[\w.-]+|\\\\)")
_QUOTES = {'"': '"', "'": "'", "`": "`", "“": "”", "‘": "’"}
_CODE = re.compile(r"```.*?(?:```|\Z)|`[^`\n]+`", re.DOTALL)
_LETTERS = re.compile(r"[A-Za-z][A-Za-z'-]*")
_MINOR_WORDS = _words("a an and as at by for from in of on or the to via with")


@lru_cache(maxsize=1)
def _word_lists() -> tuple[frozenset[str], frozenset[str]]:
    """(everyday words in lower case, proper nouns as written) from ``data/common_words.txt``."""
    words = lexicon.lines("common_words")
    return frozenset(w for w in words if w.islower()), frozenset(w for w in words if not w.islower())


@dataclass(frozen=True)
class _Name:
    """One name or alias of one or more KB objects, prepared for matching."""

    text: str
    tokens: tuple[str, ...]
    seps: tuple[str, ...]
    targets: tuple[tuple[str, str], ...]  # (kind, id)
    risk: str
    any_case: bool


def _classify(name: str, tokens: tuple[str, ...]) -> tuple[str, bool]:
    """The risk class of a name and whether it may match in any letter case."""
    common, proper = _word_lists()
    proper_lower = {p.lower() for p in proper}
    if len(tokens) > 1:
        if all(t in common or t in proper_lower or t.isdigit() for t in tokens):
            return _PHRASE, False
        return "", True
    has_digit = any(c.isdigit() for c in name)
    if any(ext in _EXECUTABLE_EXTS for ext in name.lower().split(".")[1:]):
        return "", True  # "net.exe", "cmd.exe": the file name is unambiguous
    if name in proper or (name.lower() in proper_lower and name[:1].isupper()):
        return _PROPER, True
    if name.lower() in common:
        return _WORD, True
    if len(name) <= 4 and not has_digit and (name.isupper() or not any(c.isupper() for c in name[1:])):
        return _SHORT, True
    return "", len(name) >= 6


def _split_name(name: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    spans = [(m.start(), m.end()) for m in _TOKEN.finditer(name)]
    tokens = tuple(name[s:e].lower() for s, e in spans)
    seps = tuple(_SPACES.sub(" ", name[spans[k][1] : spans[k + 1][0]]) for k in range(len(spans) - 1))
    return tokens, seps


class _Matcher:
    """An index from first token to the names that start with it, longest first."""

    def __init__(self, kb: KnowledgeBase) -> None:
        targets: dict[str, set[tuple[str, str]]] = {}
        for kind, table in (("groups", kb.groups), ("software", kb.software), ("campaigns", kb.campaigns)):
            for obj in table.values():
                for name in (obj.name, *obj.aliases):
                    name = name.strip()
                    if len(name) >= 2 and not kb.is_attack_id(name):
                        targets.setdefault(name, set()).add((kind, obj.id))
        self.index: dict[str, list[_Name]] = {}
        for name, tset in targets.items():
            tokens, seps = _split_name(name)
            if not tokens:
                continue
            risk, any_case = _classify(name, tokens)
            entry = _Name(name, tokens, seps, tuple(sorted(tset)), risk, any_case)
            self.index.setdefault(tokens[0], []).append(entry)
        for entries in self.index.values():
            entries.sort(key=lambda n: (-len(n.tokens), -len(n.text), n.text))
        self.short_ids = frozenset(
            obj_id
            for entries in self.index.values()
            for n in entries
            if n.risk == _SHORT
            for _, obj_id in n.targets
        )


_MATCHERS: dict[str, _Matcher] = {}
_LOCK = threading.Lock()


def _matcher(kb: KnowledgeBase) -> _Matcher:
    key = kb.info.sha256
    with _LOCK:
        matcher = _MATCHERS.get(key)
        if matcher is None:
            if len(_MATCHERS) >= 4:
                _MATCHERS.clear()
            matcher = _MATCHERS[key] = _Matcher(kb)
    return matcher


@dataclass
class _Hit:
    kind: str
    id: str
    mention: str
    start: int
    end: int
    supported: bool
    exact: bool  # written exactly as the KB writes the name

    @property
    def capitalised(self) -> bool:
        return any(c.isupper() for c in self.mention)


@dataclass
class _Text:
    """The document text with lazily computed helpers for context checks."""

    text: str
    tokens: list[tuple[int, int]]
    lower: list[str]
    code: list[tuple[int, int]] = field(default_factory=list)
    _code_starts: list[int] = field(default_factory=list)

    @classmethod
    def of(cls, text: str) -> _Text:
        spans = [(m.start(), m.end()) for m in _TOKEN.finditer(text)]
        lower = [text[s:e].lower() for s, e in spans]
        code = [(m.start(), m.end()) for m in _CODE.finditer(text)] if "`" in text else []
        return cls(text, spans, lower, code, [s for s, _ in code])

    def in_code(self, pos: int) -> bool:
        k = bisect.bisect_right(self._code_starts, pos) - 1
        return k >= 0 and self.code[k][0] <= pos < self.code[k][1]

    def sentence_start(self, pos: int) -> bool:
        k = pos - 1
        while k >= 0 and self.text[k] in " \t*_\"'(`[>“‘":
            k -= 1
        return k < 0 or self.text[k] in ".!?:;\n|#-•"

    def title_line(self, pos: int) -> bool:
        start = self.text.rfind("\n", 0, pos) + 1
        end = self.text.find("\n", pos)
        line = self.text[start : end if end >= 0 else len(self.text)]
        if line.lstrip().startswith("#"):
            return True
        words = [w for w in _LETTERS.findall(line) if w.lower() not in _MINOR_WORDS]
        return len(words) >= 3 and sum(w[0].isupper() for w in words) >= 0.8 * len(words)


def _near_words(t: _Text, first: int, last: int) -> tuple[list[str], str | None]:
    """Up to two words before the mention (skipping articles and "called"), and the word after it."""
    before: list[str] = []
    k = first - 1
    while k >= 0 and len(before) < 2 and first - k <= 5:
        if t.lower[k] not in _SKIP_BEFORE:
            before.append(t.lower[k])
        k -= 1
    after = None
    nxt = last + 1
    if (
        nxt < len(t.lower)
        and t.lower[nxt] == "s"
        and t.text[t.tokens[last][1] : t.tokens[nxt][0]] in ("'", "’")
    ):
        nxt += 1  # possessive
    if nxt < len(t.lower) and t.text[t.tokens[last][1] : t.tokens[nxt][0]].strip(" -") == "":
        after = t.lower[nxt]
    return before, after


def _support(t: _Text, name: _Name, kind: str, first: int, last: int, start: int, end: int) -> bool:
    """Whether the context around a risky mention shows it names the tool, group or campaign."""
    text = t.text
    if kind == "software" and t.in_code(start):
        return True
    opener = text[start - 1] if start > 0 else ""
    if opener in _QUOTES and text[end : end + 1] == _QUOTES[opener]:
        return True
    if kind == "software":
        if text[end : end + 1] == "." and text[end + 1 : end + 4].lower() in ("exe", "dll"):
            return True
        if _SWITCH.match(text, end):
            return True
        low = name.text.lower()
        if low in _SUBCOMMANDS and last + 1 < len(t.lower) and t.lower[last + 1] in _SUBCOMMANDS[low]:
            gap = text[end : t.tokens[last + 1][0]]
            if gap in (" ", "\t"):
                return True
        if low == "at" and _AT_ARGUMENT.match(text, end):
            return True
        if low == "ping" and _HOST_ARGUMENT.match(text, end):
            return True
    keywords = _KEYWORDS[kind]
    before, after = _near_words(t, first, last)
    lower_word = name.text.islower() and name.risk == _WORD
    # "the tool Ping"; never for lower-case word names ("a tool at all")
    if not lower_word and any(w in keywords for w in before):
        return True
    if after in keywords:
        following = t.lower[last + 2] if last + 2 < len(t.lower) else ""
        if after in ("command", "commands") and following in _NOT_A_TOOL_AFTER:
            return False
        if lower_word:
            # "the at command", but not "logged in at utility companies"
            return first > 0 and t.lower[first - 1] in _DETERMINERS
        return True
    # capitals where a plain word would have none: "used Net to list shares", "the Tor network"; but
    # not inside a longer proper name ("the Royal Navy", "Ping Identity") nor in a heading
    return (
        name.risk in (_WORD, _SHORT)
        and name.text[:1].isupper()
        and not (name.text.isupper() and len(name.text) <= 3)
        and text[start:end] == name.text
        and not t.sentence_start(start)
        and not _in_proper_name(t, first, last)
        and not t.title_line(start)
    )


def _in_proper_name(t: _Text, first: int, last: int) -> bool:
    text = t.text
    if last + 1 < len(t.tokens):
        s, _ = t.tokens[last + 1]
        if text[t.tokens[last][1] : s] == " " and text[s].isupper():
            return True
    if first > 0:
        s, e = t.tokens[first - 1]
        if text[e : t.tokens[first][0]] == " " and text[s].isupper() and not t.sentence_start(s):
            return True
    return False


def _case_ok(name: _Name, mention: str) -> bool:
    if name.any_case or name.risk in (_WORD, _SHORT, _PROPER):
        return True
    if mention == name.text or (len(name.text) >= 4 and mention == name.text.upper()):
        return True
    return name.text.islower() and mention == name.text.capitalize()


def _bounded(t: _Text, name: _Name, start: int, end: int) -> bool:
    """Reject names glued to a longer identifier: ".NET", "Net.WebClient", "Net-NTLM", "/tor/"."""
    text = t.text
    before = text[start - 1] if start > 0 else " "
    after = text[end] if end < len(text) else " "
    after2 = text[end + 1] if end + 1 < len(text) else " "
    if before in ".@$%#" or (after == "@" and after2.isalnum()):
        return False
    if after == "." and (after2.isalnum() or after2 == "_"):
        ext = _TOKEN.match(text, end + 1)
        if not ext or ext.group().lower() not in _EXECUTABLE_EXTS:
            return False
    glued = before in "-/\\" or (after in "-/\\" and (after2.isalnum() or after2 == "_"))
    return not (name.risk and glued)


def _scan(t: _Text, matcher: _Matcher) -> list[_Hit]:
    hits: list[_Hit] = []
    n = len(t.lower)
    i = 0
    while i < n:
        entries = matcher.index.get(t.lower[i])
        step = 1
        for name in entries or ():
            k = len(name.tokens)
            if i + k > n:
                continue
            if any(t.lower[i + j] != name.tokens[j] for j in range(1, k)):
                continue
            if any(
                _SPACES.sub(" ", t.text[t.tokens[i + j][1] : t.tokens[i + j + 1][0]]) != name.seps[j]
                for j in range(k - 1)
            ):
                continue
            start, end = t.tokens[i][0], t.tokens[i + k - 1][1]
            mention = t.text[start:end]
            if not _case_ok(name, mention) or not _bounded(t, name, start, end):
                continue
            if name.risk == _PHRASE and t.title_line(start):
                continue
            kinds = {kind for kind, _ in name.targets}
            support = {kind: not name.risk or name.risk == _PHRASE for kind in kinds}
            if name.risk and name.risk != _PHRASE:
                support = {kind: _support(t, name, kind, i, i + k - 1, start, end) for kind in kinds}
            if len(kinds) > 1:
                # "Machete malware" names the software, "the Machete group" the group
                before, after = _near_words(t, i, i + k - 1)
                chosen = {kind for kind in kinds if after in _KEYWORDS[kind] or set(before) & _KEYWORDS[kind]}
                if chosen:
                    support = {kind: support[kind] for kind in chosen}
            if name.risk and t.text[end : end + 1] == ".":
                ext = _TOKEN.match(t.text, end + 1)
                if ext and ext.group().lower() in _EXECUTABLE_EXTS:
                    end = ext.end()
                    mention = t.text[start:end]
            for kind, obj_id in name.targets:
                if kind in support:
                    hits.append(_Hit(kind, obj_id, mention, start, end, support[kind], mention == name.text))
            step = k
            break
        i += step
    return hits


def _aggregate(hits: list[_Hit], kb: KnowledgeBase) -> dict[str, list[EntityRef]]:
    supported_ids = {h.id for h in hits if h.supported}
    by_id: dict[str, EntityRef] = {}
    kinds: dict[str, str] = {}
    for h in hits:
        # a name proven once in the document ("the Tor network") counts wherever it is written the
        # same way, with its capitals ("Tor", "Patchwork"; never "at" or "net")
        if not h.supported and not (h.id in supported_ids and h.exact and h.capitalised):
            continue
        ref = by_id.get(h.id)
        if ref is None:
            obj = kb.get(h.id)
            name = obj.name if obj is not None else h.mention
            by_id[h.id] = EntityRef(id=h.id, name=name, mention=h.mention, start=h.start, end=h.end, count=1)
            kinds[h.id] = h.kind
        else:
            by_id[h.id] = ref.model_copy(update={"count": ref.count + 1})
    out: dict[str, list[EntityRef]] = {"groups": [], "software": [], "campaigns": []}
    for obj_id, ref in by_id.items():
        out[kinds[obj_id]].append(ref)
    return out


def find_entities(doc: Document, kb: KnowledgeBase) -> Entities:
    """Groups, software and campaigns named in ``doc`` (by name, alias or explicit ID) with mention
    counts and first-mention offsets, sorted by count then name; plus the CVE IDs it cites."""
    matcher = _matcher(kb)
    t = _Text.of(doc.text)
    hits = _scan(t, matcher)
    found = _aggregate(hits, kb)
    for kind, mentions in other_id_mentions(doc.text, kb).items():
        if kind not in found:
            continue
        by_id = {r.id: r for r in found[kind]}
        for obj_id, start, count in mentions:
            ref = by_id.get(obj_id)
            if ref is None:
                obj = kb.get(obj_id)
                by_id[obj_id] = EntityRef(
                    id=obj_id,
                    name=obj.name if obj is not None else obj_id,
                    mention=doc.text[start : start + 5],
                    start=start,
                    end=start + 5,
                    count=count,
                )
                continue
            update: dict[str, object] = {"count": ref.count + count}
            if ref.start is not None and start < ref.start:
                update.update(mention=doc.text[start : start + 5], start=start, end=start + 5)
            by_id[obj_id] = ref.model_copy(update=update)
        found[kind] = list(by_id.values())
    for kind, refs in found.items():
        found[kind] = sorted(refs, key=lambda r: (-r.count, r.name.lower(), r.id))
    return Entities(
        groups=found["groups"],
        software=found["software"],
        campaigns=found["campaigns"],
        cves=find_cves(doc.text),
    )
