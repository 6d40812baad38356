"""The ATT&CK knowledge base: load official bundles, index and cache them, answer queries."""

from ttpmap.kb.load import embedded_bundle, load_kb
from ttpmap.kb.model import (
    BundleInfo,
    Campaign,
    DataComponent,
    Group,
    Link,
    Mitigation,
    Procedure,
    Software,
    Tactic,
    Technique,
)
from ttpmap.kb.store import KBObject, KnowledgeBase

__all__ = [
    "BundleInfo",
    "Campaign",
    "DataComponent",
    "Group",
    "KBObject",
    "KnowledgeBase",
    "Link",
    "Mitigation",
    "Procedure",
    "Software",
    "Tactic",
    "Technique",
    "embedded_bundle",
    "load_kb",
]
