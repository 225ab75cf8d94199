"""RetentionHook: the retention rules (storage/prune.py) as the tray runs them, and what it shows.

The rules run at start-up, after every export and every verified upload, and
hourly on the injected clock (docs/retention.md). When sessions that are not
uploaded fill the local budget, nothing is deleted: the tray shows a disk
problem (attention icon) and says so once in a notification.
"""

from __future__ import annotations

import logging

from traycap.context import Context
from traycap.format import human_size
from traycap.storage.prune import PruneReport, RetentionRunner
from traycap.tray.parts import Parts
from traycap.tray.view import TrayModel
from traycap.ui import notify

log = logging.getLogger(__name__)


class RetentionHook:
    def __init__(self, ctx: Context, parts: Parts, model: TrayModel) -> None:
        self._parts = parts
        self._model = model
        self.runner = RetentionRunner(ctx, on_report=self._report)

    def run(self) -> None:
        try:
            self.runner.run()
        except Exception:
            log.exception("applying the retention rules failed")

    def due(self) -> bool:
        return self.runner.due()

    def _report(self, report: PruneReport) -> None:
        plan = report.plan
        problem = None
        if plan.over_budget:
            problem = (f"sessions not uploaded hold {human_size(plan.notUploadedBytes)}, over the "
                       f"{human_size(plan.budgetBytes)} budget")
        self._model.set_storage_problem(problem)
        if self._model.gate.changed("retention:budget", "over" if problem else "ok") and problem:
            self._parts.notifier.send(notify.Notice(
                notify.NoticeKind.PROBLEM, "Local disk budget exceeded",
                f"{problem[:1].upper()}{problem[1:]}. Nothing that is not uploaded is deleted: upload them, "
                "or raise localBudgetMB (`traycap config set localBudgetMB=N`).",
            ))
        for removed in report.removed:
            self._model.refresh_row(removed.deletion.sessionId)
