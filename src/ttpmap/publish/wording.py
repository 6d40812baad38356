"""The words documents use: estimative language and plain-language names for ATT&CK concepts.

Leaders' briefs must read without ATT&CK knowledge, so tactics, common techniques and common
mitigations each get a short plain description written for this project.
"""

from __future__ import annotations

from collections.abc import Sequence

from ttpmap.models import GroupCandidate, StatedAttribution, StatedGroup

# Probability bands of the estimative-language scale used by intelligence agencies (and by MISP's
# estimative-language taxonomy): upper bound of each band -> (MISP value, phrase).
LIKELIHOOD: tuple[tuple[float, str, str], ...] = (
    (0.05, "almost-no-chance", "almost no chance"),
    (0.20, "very-unlikely", "very unlikely"),
    (0.45, "unlikely", "unlikely"),
    (0.55, "roughly-even-chance", "roughly an even chance"),
    (0.80, "likely", "likely"),
    (0.95, "very-likely", "very likely"),
    (1.01, "almost-certain", "almost certain"),
)


def likelihood(score: float) -> tuple[str, str]:
    """(MISP estimative-language value, English phrase) for a probability-like score."""
    for bound, value, phrase in LIKELIHOOD:
        if score < bound:
            return value, phrase
    return LIKELIHOOD[-1][1], LIKELIHOOD[-1][2]


CONFIDENCE_PHRASE = {"low": "low confidence", "moderate": "moderate confidence", "high": "high confidence"}

# tactic shortname -> (stage of the attack, what the attacker did, in plain words)
STAGES: dict[str, tuple[str, str]] = {
    "reconnaissance": ("Scouting the target", "studied our systems from the outside to find weak points"),
    "resource-development": (
        "Preparing tools",
        "prepared tools and borrowed or hijacked internet infrastructure",
    ),
    "initial-access": ("Breaking in", "broke into the network"),
    "execution": ("Running commands", "ran their own commands on our systems"),
    "persistence": ("Keeping a foothold", "set up hidden ways to get back in"),
    "privilege-escalation": ("Gaining more control", "gave themselves administrator-level control"),
    "defense-evasion": ("Hiding their tracks", "disguised their activity and erased traces"),
    "credential-access": ("Stealing passwords", "stole passwords and other sign-in secrets"),
    "discovery": ("Mapping the network", "mapped our network, accounts and data"),
    "lateral-movement": ("Spreading inside", "moved from system to system inside the network"),
    "collection": ("Gathering data", "gathered and packaged information of interest"),
    "command-and-control": ("Remote control", "controlled compromised systems remotely"),
    "exfiltration": ("Taking data out", "copied data out of the organisation"),
    "impact": ("Causing damage", "disrupted, destroyed or held data or systems to ransom"),
}

# common techniques (parents cover their sub-techniques) -> what the attacker did, in plain words
TECHNIQUES: dict[str, str] = {
    "T1190": "exploited an unpatched weakness in a system exposed to the internet",
    "T1133": "logged in through remote-access services such as VPNs",
    "T1566": "sent deceptive emails to trick staff",
    "T1078": "used stolen but genuine user accounts",
    "T1505": "planted a hidden back door on a web server",
    "T1053": "scheduled their tools to restart automatically",
    "T1059": "used built-in scripting tools to run commands",
    "T1003": "extracted passwords from system memory",
    "T1110": "guessed or tried large numbers of passwords",
    "T1021": "used remote administration tools to reach other computers",
    "T1560": "packed stolen files into archives",
    "T1114": "copied email mailboxes",
    "T1041": "downloaded the data over the same channel they used for control",
    "T1048": "sent data out over an unusual channel",
    "T1567": "uploaded data to a cloud or web service",
    "T1070": "deleted logs and files to cover their tracks",
    "T1036": "disguised their files as legitimate software",
    "T1090": "routed their traffic through hijacked devices to hide where it came from",
    "T1486": "encrypted data to demand a ransom",
    "T1490": "deleted backups and recovery options",
    "T1112": "changed system settings to weaken security",
    "T1087": "listed user and administrator accounts",
    "T1482": "mapped trust relationships between network domains",
    "T1595": "scanned our internet-facing systems for weaknesses",
    "T1584": "hijacked other people's internet devices to use as infrastructure",
    "T1105": "brought additional tools into the network",
    "T1204": "tricked staff into opening malicious files or links",
    "T1547": "made their tools start automatically at boot",
    "T1071": "hid their control traffic in ordinary web traffic",
}

# ATT&CK mitigation -> (short title, the action a leader would sponsor), in plain words
MITIGATIONS: dict[str, tuple[str, str]] = {
    "M1051": (
        "Keep software patched",
        "Keep software up to date, starting with systems exposed to the internet",
    ),
    "M1016": (
        "Find weaknesses first",
        "Scan our own internet-facing systems for weaknesses and fix what is found quickly",
    ),
    "M1032": (
        "Require multi-factor sign-in",
        "Require multi-factor authentication for remote and administrator access",
    ),
    "M1026": (
        "Control administrator accounts",
        "Limit and closely manage administrator and service accounts",
    ),
    "M1018": ("Remove unneeded access", "Review user accounts and remove access that is not needed"),
    "M1047": ("Watch the logs", "Turn on and review security logging and audits"),
    "M1022": ("Protect important files", "Restrict who can change important files and folders"),
    "M1024": ("Protect system settings", "Restrict who can change critical system settings"),
    "M1028": ("Harden servers and laptops", "Harden the configuration of servers and workstations"),
    "M1030": ("Separate critical systems", "Separate critical systems from the rest of the network"),
    "M1031": ("Block known attack traffic", "Use network intrusion prevention to block known attack traffic"),
    "M1037": ("Filter network traffic", "Filter network traffic so only what the business needs is allowed"),
    "M1038": ("Allow only approved software", "Allow only approved software to run"),
    "M1040": (
        "Upgrade endpoint protection",
        "Deploy modern endpoint protection that blocks suspicious behaviour",
    ),
    "M1042": ("Switch off what is not needed", "Switch off features and programs that are not needed"),
    "M1045": ("Trust only signed software", "Allow only trusted, signed scripts and programs"),
    "M1049": ("Keep anti-malware current", "Keep anti-malware protection active and current"),
    "M1050": ("Enable exploit protection", "Enable exploit protection on key systems"),
    "M1048": ("Isolate risky applications", "Isolate risky applications from the rest of the system"),
    "M1043": ("Protect stored passwords", "Protect stored passwords and credentials from theft"),
    "M1027": ("Enforce strong passwords", "Enforce strong password policies"),
    "M1017": ("Train staff", "Train staff to spot and report suspicious activity"),
    "M1053": ("Keep offline backups", "Keep offline, tested backups of critical data"),
    "M1041": ("Encrypt sensitive data", "Encrypt sensitive information"),
    "M1057": ("Stop large data leaks", "Monitor and restrict large transfers of sensitive data"),
    "M1035": ("Limit network reach", "Limit which systems can be reached over the network"),
    "M1036": ("Set account rules", "Set rules for how and when accounts may be used"),
    "M1054": ("Configure software securely", "Configure software securely"),
    "M1021": ("Restrict risky web content", "Restrict access to risky web content"),
    "M1029": ("Keep logs out of reach", "Store logs and backups where attackers cannot reach them"),
    "M1019": ("Build threat intelligence", "Maintain a threat intelligence capability"),
    "M1056": ("Reduce what outsiders can see", "Reduce what attackers can learn about us from the outside"),
    "M1025": ("Protect key processes", "Protect sensitive system processes"),
    "M1052": ("Keep admin prompts on", "Keep user account control prompts enforced"),
    "M1015": ("Harden the directory", "Harden Active Directory"),
    "M1033": ("Limit software installs", "Limit which software staff can install"),
}


def stage(tactic: str) -> str:
    """Plain name of the attack stage a tactic shortname stands for."""
    return STAGES.get(tactic, (tactic.replace("-", " ").capitalize(), ""))[0]


def stage_action(tactic: str) -> str:
    """What the attacker did at this stage, in plain words."""
    return STAGES.get(tactic, ("", f"carried out {tactic.replace('-', ' ')} activity"))[1]


def technique_action(technique_id: str) -> str | None:
    """Plain description of a technique (or its parent), or None if we have no wording for it."""
    return TECHNIQUES.get(technique_id) or TECHNIQUES.get(technique_id.split(".", 1)[0])


def mitigation_action(mitigation_id: str, name: str) -> tuple[str, str]:
    """(short title, action) behind a mitigation, in plain words."""
    return MITIGATIONS.get(mitigation_id) or (f"Strengthen {name.lower()}", f"Strengthen {name.lower()}")


def ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th, 11th, 21st..."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def stated_actor(stated: StatedAttribution) -> StatedGroup | None:
    """The group the report holds responsible (the most mentioned one), if it names one."""
    responsible = stated.responsible
    return responsible[0] if responsible else None


def actor_label(group: StatedGroup) -> str:
    """``APT40 (Leviathan)``: the name the report uses, with the ATT&CK name when it differs."""
    if group.attack_name and group.attack_name.lower() != group.name.lower():
        return f"{group.name} ({group.attack_name})"
    return group.name


def stated_lead(stated: StatedAttribution) -> str | None:
    """The report's own attribution in one sentence, or None when it attributes to no one."""
    actor = stated_actor(stated)
    if actor is None:
        return None
    bits = []
    if stated.sponsor:
        bits.append(f"linked to the {stated.sponsor.split(' (')[0]}")
    elif stated.nationality:
        bits.append(f"of {', '.join(stated.nationality[:2])} origin")
    extra = f", {bits[0]}," if bits else ""
    conf = f" with {CONFIDENCE_PHRASE[stated.confidence]}" if stated.confidence else ""
    if not actor.in_attack:
        note = (
            " This actor is known to the MISP threat-actor galaxy but is not an ATT&CK group."
            if actor.galaxy_actor
            else " This actor is not an ATT&CK group."
        )
    else:
        note = ""
    return f"The report attributes this activity to {actor_label(actor)}{extra}{conf}.{note}"


def behavioural_check(stated: StatedAttribution, candidates: Sequence[GroupCandidate]) -> str | None:
    """ttpmap's independent check of the report's attribution, in estimative language (None when the
    report attributes to no one)."""
    actor = stated_actor(stated)
    if actor is None:
        return None
    ranked = [c for c in candidates if not c.explanation.weak_evidence]
    top = ranked[0] if ranked else None
    if not actor.in_attack or actor.id is None:
        if top is None:
            return (
                "ttpmap cannot check it against recorded tradecraft, and the behaviour alone is too generic."
            )
        return (
            "ttpmap cannot check it against recorded tradecraft; on behaviour alone the closest ATT&CK group "
            f"is {top.name} ({CONFIDENCE_PHRASE[top.confidence]})."
        )
    mine = next((c for c in candidates if c.id == actor.id), None)
    if mine is None or top is None:
        return (
            "ttpmap's independent check is inconclusive: the observed behaviour is too generic to confirm "
            "or contradict the attribution."
        )
    rank = mine.explanation.behavioural_rank
    total = mine.explanation.groups_ranked
    gated_rank = mine.explanation.gated_rank or 0
    of = f" of {total} groups" if total else ""
    if gated_rank and gated_rank != rank and stated.nationality:
        of += f", {ordinal(gated_rank)} among groups of the stated nationality"
    name = mine.name
    if rank and rank <= 3:
        return (
            f"The observed behaviour is consistent with that attribution: on behaviour alone {name} ranks "
            f"{ordinal(rank)}{of} ({CONFIDENCE_PHRASE[mine.confidence]})."
        )
    return (
        f"The behaviour fits {top.name} better than the stated actor: on behaviour alone {name} ranks "
        f"{ordinal(rank)}{of}. An analyst should review this."
    )
