"""Local skills: the clock, timers, reminders, sums and units, and honest declines.

No Qt and no threads: the orchestrator asks ``Skills.answer`` before the LLM and ``Skills.due``
a few times a second.  See docs/skills.md for how requests reach them and what was measured.
"""

from app.skills.alarms import AlarmBook, AlarmStore
from app.skills.answers import CAPABILITIES, SkillAnswer, Skills
from app.skills.router import NAMES, SkillCall, route

__all__ = ["CAPABILITIES", "NAMES", "AlarmBook", "AlarmStore", "SkillAnswer", "SkillCall", "Skills", "route"]
