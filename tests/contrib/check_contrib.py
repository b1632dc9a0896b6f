"""Checks of contrib/: the Prometheus rules (promtool check rules and its
unit tests, promtool test rules) and the Grafana dashboard (the structure
Grafana needs, every expression parsed by promtool as PromQL). Every metric
either names must be one the daemon defines: docs/monitoring.md's metric
table, which tests/daemon/metrics_test.cpp keeps equal to
daemon/metrics.cpp's definitions.

Run by ctest as unit.contrib; needs promtool (Debian's prometheus package)."""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

SOURCE_DIR = os.environ.get("MODELWATCH_SOURCE_DIR",
                            os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
RULES = os.path.join(SOURCE_DIR, "contrib", "prometheus", "modelwatch.rules.yml")
RULE_TESTS = os.path.join(SOURCE_DIR, "contrib", "prometheus", "modelwatch.rules.test.yml")
DASHBOARD = os.path.join(SOURCE_DIR, "contrib", "grafana", "modelwatch.json")
DOC = os.path.join(SOURCE_DIR, "docs", "monitoring.md")
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"

# Grafana's own variables, replaced by a value of their kind before promtool parses.
GRAFANA_BUILTINS = {"__rate_interval": "5m", "__interval": "1m", "__range": "1h"}
# Panel types the dashboard may use (Grafana 9+ core panels).
PANEL_TYPES = {"row", "timeseries", "stat", "gauge", "table", "bargauge", "text"}


def defined_metrics():
    """{name: type} from docs/monitoring.md's metric table."""
    metrics = {}
    for line in open(DOC, encoding="utf-8"):
        match = re.match(r"^\| `(modelwatch_[a-z0-9_]+)` \| (counter|gauge|histogram) \|", line)
        if match:
            metrics[match.group(1)] = match.group(2)
    return metrics


def metric_names(expr):
    return set(re.findall(r"\bmodelwatch_[a-z0-9_]+", expr))


def unknown_metrics(expr, defined):
    unknown = set()
    for name in metric_names(expr):
        if name in defined:
            continue
        base = re.sub(r"_(bucket|sum|count)$", "", name)
        if defined.get(base) != "histogram":
            unknown.add(name)
    return unknown


def promtool(*args):
    return subprocess.run([PROMTOOL, *args], capture_output=True, text=True, timeout=60)


def check_promql(expressions):
    """promtool's verdict on each expression, as recording rules of one file;
    returns (ok, output)."""
    with tempfile.TemporaryDirectory(prefix="mw-promql-") as tmp:
        path = os.path.join(tmp, "exprs.yml")
        with open(path, "w") as f:
            f.write("groups:\n  - name: dashboard\n    rules:\n")
            for i, expr in enumerate(expressions):
                f.write(f"      - record: dashboard_expr_{i}\n        expr: {json.dumps(expr)}\n")
        result = promtool("check", "rules", path)
        return result.returncode == 0, result.stdout + result.stderr


def dashboard_variables(dashboard):
    return {v["name"]: v for v in dashboard["templating"]["list"]}


def substituted(expr, variables):
    def replace(match):
        name = match.group(1) or match.group(2)
        if name in GRAFANA_BUILTINS:
            return GRAFANA_BUILTINS[name]
        if name in variables:
            return ".*"
        raise AssertionError(f"expression uses undefined variable ${name}: {expr}")
    return re.sub(r"\$\{(\w+)\}|\$(\w+)", replace, expr)


class Rules(unittest.TestCase):
    def test_promtool_checks_the_rules(self):
        result = promtool("check", "rules", RULES)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)

    def test_promtool_unit_tests_pass(self):
        result = promtool("test", "rules", RULE_TESTS)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)

    def test_every_alert_of_the_issue_is_there_and_tested(self):
        text = open(RULES, encoding="utf-8").read()
        alerts = re.findall(r"^\s+- alert: (\w+)", text, re.M)
        for needed in ["ModelwatchDown", "ModelwatchNotReady", "ModelwatchSpoolBacklogGrowing", "ModelwatchStoreLag",
                       "ModelwatchAlertDeliveriesFailing", "ModelwatchRetrainBreakerOpen", "ModelwatchAuditOverdue"]:
            self.assertIn(needed, alerts)
        tests = open(RULE_TESTS, encoding="utf-8").read()
        for alert in alerts:
            # each rule is expected to fire somewhere, not only to stay quiet
            self.assertRegex(tests, rf"alertname: {alert}\n\s+exp_alerts:", f"{alert} never expected to fire")

    def test_rules_use_only_defined_metrics(self):
        defined = defined_metrics()
        self.assertGreater(len(defined), 30, "docs/monitoring.md's metric table was not found")
        exprs = re.findall(r"expr: (.*(?:\n\s{10,}.*)*)", open(RULES, encoding="utf-8").read())
        self.assertTrue(exprs)
        for expr in exprs:
            self.assertEqual(unknown_metrics(expr, defined), set(), expr)


class Dashboard(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        with open(DASHBOARD, encoding="utf-8") as f:
            cls.dashboard = json.load(f)

    def panels(self):
        return self.dashboard["panels"]

    def test_top_level_shape(self):
        d = self.dashboard
        for key, kind in [("title", str), ("uid", str), ("schemaVersion", int), ("panels", list),
                          ("templating", dict), ("time", dict)]:
            self.assertIsInstance(d.get(key), kind, key)
        self.assertIsNone(d.get("id"), "an exported dashboard has no database id")
        self.assertLessEqual(len(d["uid"]), 40)

    def test_variables_datasource_and_model(self):
        variables = dashboard_variables(self.dashboard)
        self.assertEqual(variables["datasource"]["type"], "datasource")
        self.assertEqual(variables["datasource"]["query"], "prometheus")
        model = variables["model"]
        self.assertEqual(model["type"], "query")
        self.assertEqual(model["datasource"]["uid"], "${datasource}")
        self.assertIn("label_values(", model["definition"])
        self.assertEqual(unknown_metrics(model["definition"], defined_metrics()), set())

    def test_panels_have_unique_ids_and_fit_the_grid_without_overlap(self):
        ids = [p["id"] for p in self.panels()]
        self.assertEqual(len(ids), len(set(ids)), "duplicate panel ids")
        cells = {}
        for p in self.panels():
            self.assertIn(p["type"], PANEL_TYPES, p["title"])
            g = p["gridPos"]
            for key in ("h", "w", "x", "y"):
                self.assertIsInstance(g[key], int, f"{p['title']}: gridPos.{key}")
            self.assertTrue(g["w"] > 0 and g["h"] > 0 and g["x"] >= 0 and g["x"] + g["w"] <= 24, p["title"])
            for x in range(g["x"], g["x"] + g["w"]):
                for y in range(g["y"], g["y"] + g["h"]):
                    self.assertNotIn((x, y), cells, f"{p['title']} overlaps {cells.get((x, y))}")
                    cells[(x, y)] = p["title"]

    def test_every_query_panel_uses_the_datasource_variable(self):
        for p in self.panels():
            if p["type"] == "row":
                continue
            self.assertEqual(p["datasource"], {"type": "prometheus", "uid": "${datasource}"}, p["title"])
            self.assertTrue(p["targets"], p["title"])
            refs = [t["refId"] for t in p["targets"]]
            self.assertEqual(len(refs), len(set(refs)), p["title"])

    def test_what_the_issue_asks_for_is_on_it(self):
        exprs = " ".join(t["expr"] for p in self.panels() for t in p.get("targets", []))
        for metric in ["modelwatch_records_accepted_total", "modelwatch_records_rejected_total", "modelwatch_spool_backlog_bytes",
                       "modelwatch_store_lag_seconds", "modelwatch_drift_share", "modelwatch_findings_total",
                       "modelwatch_window_accuracy", "modelwatch_alert_deliveries_total",
                       "modelwatch_retrain_transitions_total", "modelwatch_audits_total"]:
            self.assertIn(metric, exprs)

    def test_every_expression_is_promql_on_defined_metrics(self):
        variables = dashboard_variables(self.dashboard)
        defined = defined_metrics()
        exprs = [t["expr"] for p in self.panels() for t in p.get("targets", [])]
        self.assertGreater(len(exprs), 20)
        for expr in exprs:
            self.assertEqual(unknown_metrics(expr, defined), set(), expr)
        ok, output = check_promql([substituted(e, variables) for e in exprs])
        self.assertTrue(ok, output)

    def test_the_promql_check_can_fail(self):
        ok, output = check_promql(['sum by (model (rate(modelwatch_records_accepted_total[5m]))'])
        self.assertFalse(ok, output)


if __name__ == "__main__":
    result = unittest.main(exit=False, verbosity=2).result
    sys.exit(0 if result.wasSuccessful() else 1)
