"""axe-core (bundled by axe-playwright-python) on a page: WCAG 2.1 A/AA violations by impact,
best-practice findings reported beside them but never failed on, and a readable message."""

from __future__ import annotations

from dataclasses import dataclass, field

from axe_playwright_python.sync_playwright import Axe

#: The rules WCAG 2.1 A and AA levels map to in axe-core; a violation of these fails a test.
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
#: axe-core's own advice beyond WCAG: reported, not failed on.
BEST_PRACTICE = "best-practice"
IMPACTS = ("critical", "serious", "moderate", "minor")
OPTIONS = {"runOnly": {"type": "tag", "values": [*WCAG_TAGS, BEST_PRACTICE]},
           "resultTypes": ["violations"]}
TARGETS_SHOWN = 3


@dataclass
class AxeReport:
    """One axe run: WCAG violations (`wcag`) and best-practice ones (`advice`), axe's dicts."""

    state: str
    wcag: list[dict] = field(default_factory=list)
    advice: list[dict] = field(default_factory=list)

    def count(self, impact: str) -> int:
        """WCAG violations of this impact (one per rule, however many elements break it)."""
        return sum(v["impact"] == impact for v in self.wcag)

    def counts(self) -> dict[str, int]:
        """Rules violated by impact, e.g. {"critical": 1, "serious": 0, ...}."""
        return {impact: self.count(impact) for impact in IMPACTS}

    def failing(self, impacts: tuple[str, ...] = ("critical", "serious")) -> list[dict]:
        """The WCAG violations a test fails on."""
        return [v for v in self.wcag if v["impact"] in impacts]

    def line(self) -> str:
        """One line for the counts file: the state, counts by impact, then each rule."""
        counts = " ".join(f"{k} {v}" for k, v in self.counts().items())
        rules = ", ".join(f"{v['id']}({v['impact']}) ×{len(v['nodes'])}" for v in self.wcag)
        advice = ", ".join(f"{v['id']} ×{len(v['nodes'])}" for v in self.advice)
        return f"{self.state}: {counts} | {rules or '-'} | best-practice: {advice or '-'}"

    def message(self, violations: list[dict] | None = None) -> str:
        """Rule, impact, elements, the first elements' selectors and axe's help page, per rule."""
        lines = [f"{self.state}: axe-core found {len(self.failing())} critical/serious rule(s)"]
        for v in self.failing() if violations is None else violations:
            targets = "; ".join(" ".join(node["target"]) for node in v["nodes"][:TARGETS_SHOWN])
            more = len(v["nodes"]) - TARGETS_SHOWN
            lines.append(f"  {v['id']} ({v['impact']}), {len(v['nodes'])} element(s): "
                         f"{targets}{f' and {more} more' if more > 0 else ''}\n"
                         f"    {v['help']}: {v['helpUrl']}")
        return "\n".join(lines)


def axe_report(page, state: str) -> AxeReport:
    """Run axe-core on the page as it is now; split WCAG 2.1 A/AA from best practice."""
    violations = Axe().run(page, options=OPTIONS).response["violations"]
    report = AxeReport(state)
    for v in violations:
        wcag = any(tag in WCAG_TAGS for tag in v["tags"])
        (report.wcag if wcag else report.advice).append(v)
    return report
