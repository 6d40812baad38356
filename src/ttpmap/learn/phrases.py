"""Salient phrases that name a technique in report prose (taken from ATT&CK's own text).

A phrase adds evidence for its technique; it never decides alone: the document-level decision model
weighs it with the sentence's model margins and role.
"""

from __future__ import annotations

import re

# Salient phrases that name a technique in report prose; annotators label such mentions.
# The rule that admits a phrase (checked by tests/test_extract_techniques.py against the bundle): it is
# the technique's or a sub-technique's name (or a word form of it), or a term that ATT&CK's own name or
# description of that technique (or one of its sub-techniques) uses for it: a synonym, an abbreviation
# or the utility it names. Terms that mean much else in reports (DNS, "C2 channel") are left out, and
# no phrase was chosen by looking at any evaluation corpus.
PHRASES: tuple[tuple[str, str], ...] = (
    (r"spear[- ]?phishing attachments?", "T1566.001"),
    (r"malicious (?:e-?mail )?attachments?", "T1566.001"),
    (r"spear[- ]?phishing links?", "T1566.002"),
    (r"malicious links?", "T1566.002"),
    (r"(?:spear[- ]?)?phishing", "T1566"),
    (r"web ?shells?", "T1505.003"),
    (r"ransomware", "T1486"),
    (r"encrypt(?:s|ed|ing)? (?:\w+ ){0,2}files", "T1486"),
    (r"cmd(?:\.exe)?", "T1059.003"),
    (r"command prompt", "T1059.003"),
    (r"windows command shell", "T1059.003"),
    (r"bash", "T1059.004"),
    (r"unix shell", "T1059.004"),
    (r"vbscript", "T1059.005"),
    (r"visual basic", "T1059.005"),
    (r"powershell", "T1059.001"),
    (r"scheduled tasks?", "T1053.005"),
    (r"schtasks", "T1053.005"),
    (r"run keys?", "T1547.001"),
    (r"startup folder", "T1547.001"),
    (r"wmi", "T1047"),
    (r"windows management instrumentation", "T1047"),
    (r"wmic", "T1047"),
    (r"remote desktop", "T1021.001"),
    (r"rdp", "T1021.001"),
    (r"brute[- ]?forc\w*", "T1110"),
    (r"password spray\w*", "T1110.003"),
    (r"keylog\w*", "T1056.001"),
    (r"screen ?shots?", "T1113"),
    (r"screen captures?", "T1113"),
    (r"process injection", "T1055"),
    (r"injects? (?:\w+ ){0,3}into", "T1055"),
    (r"process hollowing", "T1055.012"),
    (r"dll side-?loading", "T1574.002"),
    (r"side-?load\w*", "T1574.002"),
    (r"dll search order hijacking", "T1574.001"),
    (r"bypass\w* (?:user account control|uac)", "T1548.002"),
    (r"lsass", "T1003.001"),
    (r"credential dump\w*", "T1003"),
    (r"dump\w* credentials", "T1003"),
    (r"mimikatz", "T1003"),
    (r"obfuscat\w*", "T1027"),
    (r"packers?", "T1027.002"),
    (r"upx", "T1027.002"),
    (r"decodes?", "T1140"),
    (r"deobfuscat\w*", "T1140"),
    (r"ingress tool transfer", "T1105"),
    (r"(?:transfers?|copie[sd]|downloads?|downloaded) (?:\w+ ){0,3}(?:tools|files|payloads?)", "T1105"),
    (r"native apis?", "T1106"),
    (r"windows apis?", "T1106"),
    (r"valid accounts?", "T1078"),
    (r"(?:stolen|compromised|legitimate) credentials", "T1078"),
    (r"psexec", "T1569.002"),
    (r"service execution", "T1569.002"),
    (r"network service discovery", "T1046"),
    (r"exploit\w* (?:\w+ ){0,4}public[- ]facing", "T1190"),
    (r"clears? (?:the )?(?:windows )?event logs?", "T1070.001"),
    (r"wevtutil", "T1070.001"),
    (r"file deletion", "T1070.004"),
    (r"delet\w* (?:\w+ ){0,2}files", "T1070.004"),
    (r"modif\w* (?:the )?registry", "T1112"),
    (r"user execution", "T1204"),
    (r"proxy", "T1090"),
    (r"proxies", "T1090"),
    (r"tor", "T1090.003"),
    (r"web protocols", "T1071.001"),
    (r"system information discovery", "T1082"),
    (r"system information", "T1082"),
    (r"running processes", "T1057"),
    (r"process discovery", "T1057"),
    (r"files and directories", "T1083"),
    (r"whoami", "T1033"),
    (r"ipconfig", "T1016"),
    (r"network configuration", "T1016"),
    (r"anti-?virus", "T1518.001"),
    (r"security software", "T1518.001"),
    (r"disabl\w* (?:\w+ ){0,3}(?:anti-?virus|defender|security tools?|logging)", "T1562.001"),
    (r"exfiltration over c2 channel", "T1041"),
)
# One alternation scanned once per sentence (much faster than one search per phrase); at one position
# the first listed phrase wins, so sub-technique phrases come before their parent's.
_PHRASE_TECH = [tech for _, tech in PHRASES]
_PHRASES = re.compile(
    r"(?<![\w-])(?:" + "|".join(f"(?P<p{i}>{p})" for i, (p, _) in enumerate(PHRASES)) + r")(?!\w)",
    re.IGNORECASE,
)


def phrase_hits(text: str) -> list[str]:
    """Techniques that ``text`` names by a salient phrase, in order of appearance."""
    hits = [_PHRASE_TECH[int((m.lastgroup or "p0")[1:])] for m in _PHRASES.finditer(text)]
    return list(dict.fromkeys(hits))
