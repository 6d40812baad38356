"""Rank ATT&CK data components by how much of the observed activity they would see."""

from __future__ import annotations

from collections.abc import Iterable

from ttpmap.defend.coverage import candidate_sets, greedy_cover, technique_weights
from ttpmap.kb import DataComponent, KnowledgeBase
from ttpmap.models import DetectionResult, TechniqueResult

# ATT&CK before v18 names data sources but not the logs behind them: these are the usual places to
# look, so that an analyst has a concrete starting point. Bundles with log sources (v18+) win.
TYPICAL_LOGS: dict[str, tuple[str, ...]] = {
    "Process": ("Sysmon Event ID 1 / Windows Security 4688 (process creation)", "EDR process telemetry"),
    "Command": (
        "PowerShell Script Block Logging (Event ID 4104)",
        "command lines in process creation events",
    ),
    "File": ("Sysmon Event ID 11 (file create)", "file integrity monitoring on sensitive directories"),
    "Windows Registry": (
        "Sysmon Event IDs 12-14 (registry)",
        "Windows Security 4657 (registry value changed)",
    ),
    "Network Traffic": ("firewall and proxy logs", "NetFlow / Zeek connection logs", "IDS alerts"),
    "Logon Session": ("Windows Security 4624 / 4625 / 4648 (logons)", "RDP session logs (Event ID 1149)"),
    "User Account": ("Windows Security 4720-4738 (account changes)", "identity provider sign-in logs"),
    "Application Log": ("web server logs (IIS, Apache, nginx)", "application and mail server logs"),
    "Scheduled Job": ("Windows Security 4698 (scheduled task created)", "Task Scheduler Operational log"),
    "Service": ("System Event ID 7045 (service installed)", "Windows Security 4697"),
    "Script": ("PowerShell Script Block Logging (Event ID 4104)", "AMSI telemetry"),
    "Module": ("Sysmon Event ID 7 (image load)",),
    "Active Directory": ("Windows Security 4662 / 5136 (directory service access and changes)",),
    "Cloud Service": ("cloud provider audit logs",),
    "Drive": ("Windows Security 4663 (object access) on removable media",),
    "Firmware": ("firmware integrity checks",),
    "Group": ("Windows Security 4728 / 4732 / 4756 (group membership changes)",),
    "Network Share": ("Windows Security 5140 / 5145 (network share access)",),
    "Named Pipe": ("Sysmon Event IDs 17-18 (pipe events)",),
    "Internet Scan": ("external attack-surface scans of your own address space",),
    "Domain Name": ("passive DNS and domain registration records",),
    "Certificate": ("certificate transparency logs",),
    "WMI": ("WMI-Activity Operational log", "Sysmon Event IDs 19-21 (WMI)"),
}


def log_sources(component: DataComponent) -> list[str]:
    """Where to look for this component: the bundle's log sources, else typical ones for its data source."""
    if component.log_sources:
        return list(component.log_sources)
    typical = TYPICAL_LOGS.get(component.data_source, ())
    if typical:
        return [f"{component.data_source}: {log}" for log in typical]
    return [f"{component.data_source or component.name} data source"]


def rank_detections(
    techniques: Iterable[TechniqueResult], kb: KnowledgeBase, limit: int = 10
) -> list[DetectionResult]:
    """Data components chosen by greedy weighted set cover of the observed techniques (weight = score).

    Scoring matches :func:`ttpmap.defend.rank_mitigations`: ``score`` is the share of technique weight
    newly covered at the pick; extras ``coverage``, ``weight_share``, ``layer`` and ``advice``
    (technique -> the ATT&CK detection text).
    """
    weights = technique_weights(techniques)
    sets = candidate_sets(weights, kb.detections_for)
    sets = {k: v for k, v in sets.items() if k in kb.data_components}
    total = sum(weights.values()) or 1.0
    results: list[DetectionResult] = []
    for pick in greedy_cover(sets, weights, limit=limit):
        component = kb.data_components[pick.key]
        results.append(
            DetectionResult(
                id=component.id,
                name=component.name,
                data_source=component.data_source,
                covers=list(pick.covers),
                score=pick.share,
                log_sources=log_sources(component),
                coverage=pick.coverage,
                weight_share=round(sum(weights[t] for t in pick.covers) / total, 4),
                layer=pick.layer,
                advice=pick.advice,
            )
        )
    return results
