"""The status page (/) and a finding's page (an alert's generatorURL), in
Debian's headless Chromium against a real daemon, PostgreSQL and
Alertmanager: a model with windows, drift, realised and estimated
performance, an open alert, a failed retraining job with its breaker open,
and an audit whose HTML report the page links to. The token travels as a
browser's would (?token= sets a cookie, the redirect drops it); values from
the store are escaped; the page loads nothing from anywhere else.

SCREENSHOT_DIR=<dir> keeps the screenshots (otherwise they go with the temp dir)."""

import hashlib
import json
import os
from html.parser import HTMLParser

import harness

SECRET = "status-page-secret"
MODEL = """
  - name: adult
    prediction: {type: binary, classes: [">50K", "<=50K"]}
    attributes: [sex, race]
    features:
      - {name: age, type: numeric}
      - {name: education_num, type: numeric}
    reference: {rows: 1000}
    window: {rows: 1000}
    concept_drift: {detector: ""}
    performance: {label_wait: 1s}
    retrain:
      command: ["/bin/false"]
      triggers: [{kind: manual}]
      cooldown: 0s
      breaker_failures: 1
    audits:
      - name: weekly
        schedule: "0 3 * * 1"
        window: 24h
        sensitive: [sex]
        reference_groups: ["sex=Male"]
        min_group_size: 30
        formats: [html, json]
"""
HOSTILE = "<script>alert(1)</script>\"'&"


class Dom(HTMLParser):
    """The dumped DOM as a list of (tag, attributes, text inside), enough to
    assert on sections, classes and links."""

    def __init__(self, html):
        super().__init__()
        self.elements, self.stack = [], []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        element = {"tag": tag, "attrs": dict(attrs), "text": ""}
        self.elements.append(element)
        if tag not in ("meta", "link", "br", "input", "img"):
            self.stack.append(element)

    def handle_endtag(self, tag):
        while self.stack:
            if self.stack.pop()["tag"] == tag:
                break

    def handle_data(self, data):
        for element in self.stack:
            element["text"] += data

    def find(self, tag=None, cls=None, **attrs):
        return [e for e in self.elements
                if (tag is None or e["tag"] == tag)
                and (cls is None or cls in e["attrs"].get("class", "").split())
                and all(e["attrs"].get(k.replace("_", "-")) == v for k, v in attrs.items())]


class StatusPageTest(harness.Environment):
    def chromium(self, args):
        # Nothing but the daemon resolves: a page that tried to load anything
        # from elsewhere would fail (and the CSP forbids it anyway).
        result = harness.chromium(["--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"] + args, self.tmp)
        self.assertEqual(result.returncode, 0, result.stderr[-2000:])
        return result.stdout

    def dom(self, url):
        return self.chromium(["--dump-dom", url])

    def screenshot(self, url, name):
        directory = os.environ.get("SCREENSHOT_DIR") or self.tmp
        os.makedirs(directory, exist_ok=True)
        path = os.path.join(directory, name)
        self.chromium(["--screenshot=" + path, "--window-size=1280,1800", "--hide-scrollbars", url])
        self.assertGreater(os.path.getsize(path), 10000, "a blank screenshot")
        return path

    def test_status_and_finding_pages(self):
        if not os.path.exists(harness.CHROMIUM):
            self.skipTest("chromium is not installed")
        alertmanager = harness.Alertmanager(os.path.join(self.tmp, "am"))
        self.addCleanup(alertmanager.stop)
        alertmanager.start()
        digest = hashlib.sha256(SECRET.encode()).hexdigest()
        extra = (f"monitor: {{interval: 200ms}}\n"
                 f"server:\n  listen: \"127.0.0.1:{{port}}\"\n  tokens:\n    - sha256: \"{digest}\"\n"
                 f"alerting:\n  resend_interval: 5s\n  external_url: \"http://127.0.0.1:{{port}}\"\n"
                 f"  receivers: [{{name: oncall, type: alertmanager, urls: [\"{alertmanager.url}\"]}}]\n")
        port = harness.free_port()
        daemon = self.new_daemon("daemon", port=port, models_yaml=MODEL, extra_yaml=extra.replace("{port}", str(port)))
        # The harness writes its own server: section; keep one, with the token.
        with open(daemon.config_path) as f:
            text = f.read()
        text = text.replace(f"server:\n  listen: \"127.0.0.1:{port}\"\n", "", 1)
        with open(daemon.config_path, "w") as f:
            f.write(text)
        daemon.start()
        daemon.wait_ready()
        auth = {"Authorization": "Bearer " + SECRET}

        # The reference, then one window that drifted (age shifted) and one that did not.
        for first, count, shift in ((0, 1000, 0.0), (1000, 1000, 25.0), (2000, 1000, 0.0)):
            predictions, outcomes = harness.adult_records(first, count, shift)
            status, body, _ = daemon.post("/v1/models/adult/predictions", predictions, headers=auth)
            self.assertEqual(status, 200, body)
            if first == 1000:
                status, body, _ = daemon.post("/v1/models/adult/outcomes", outcomes, headers=auth)
                self.assertEqual(status, 200, body)
        harness.wait_for(lambda: self.pg.scalar("SELECT count(*) FROM monitor_windows WHERE performance_at IS NOT NULL") >= 1,
                         60, "no judged window\n" + daemon.log()[-3000:])
        harness.wait_for(lambda: self.pg.scalar("SELECT count(*) FROM monitor_windows") >= 2, 60,
                         "the second window did not close\n" + daemon.log()[-3000:])
        # A finding whose subject is hostile HTML (the findings table is the
        # detectors' interface, as in test_alerting), and its alert.
        finding_id = self.pg.scalar(
            "INSERT INTO findings (model, kind, subject, method, statistic, threshold, triggered, severity, "
            "window_start, window_end, evidence) VALUES ('adult', 'data_quality', %s, 'share', 0.4, 0.1, true, "
            "'critical', now(), now(), %s) RETURNING id", (HOSTILE, json.dumps({"note": HOSTILE})))
        harness.wait_for(lambda: [a for a in alertmanager.alerts() if a["labels"].get("subject") == HOSTILE], 30,
                         "the hostile finding's alert never reached Alertmanager\n" + daemon.log()[-3000:])
        # A retraining job that fails, which opens the breaker (breaker_failures: 1).
        status, body, _ = daemon.request("POST", "/v1/models/adult/retrain", body='{"reason": "status page test"}',
                                         headers=auth)
        self.assertIn(status, (200, 201, 202), body)
        harness.wait_for(lambda: daemon.metric('modelwatch_retrain_breaker_open{model="adult"}') == 1, 60,
                         "the breaker did not open\n" + daemon.log()[-3000:])
        # An audit, run now, with its HTML report.
        status, body, _ = daemon.request("POST", "/v1/models/adult/audits/weekly/run", headers=auth, timeout=120)
        self.assertEqual(status, 200, body)
        audit_id = json.loads(body)["audit_id"]
        # The run completed the schedule's latest slot, so the audit is not overdue (contrib rules).
        due = 'modelwatch_audit_due_slot_timestamp_seconds{audit="weekly",model="adult"}'
        completed = 'modelwatch_audit_completed_slot_timestamp_seconds{audit="weekly",model="adult"}'
        harness.wait_for(lambda: daemon.metric(due), 10, "no due slot exported")
        self.assertEqual(daemon.metric(completed), daemon.metric(due))

        # Without the token: a 401 page that asks for it; a wrong one is refused too.
        status, body, headers = daemon.request("GET", "/", headers={"Accept": "text/html"})
        self.assertEqual(status, 401)
        self.assertIn(b'name="token"', body)
        self.assertEqual(daemon.request("GET", "/?token=wrong")[0], 401)
        # The cookie opens reads only: a POST with it is still refused.
        cookie = {"Cookie": f"modelwatch_token={SECRET}"}
        self.assertEqual(daemon.request("GET", "/", headers=cookie)[0], 200)
        self.assertEqual(daemon.request("POST", "/v1/models/adult/retrain", body="{}", headers=cookie)[0], 401)
        # ?token= sets the cookie and redirects to the page without it.
        status, _, headers = daemon.request("GET", f"/?token={SECRET}")
        self.assertEqual(status, 303)
        self.assertEqual(headers["Location"], "/")
        self.assertIn("HttpOnly", headers["Set-Cookie"])
        self.assertIn("SameSite=Strict", headers["Set-Cookie"])
        status, _, headers = daemon.request("GET", "/", headers=cookie)
        self.assertIn("default-src 'none'", headers["Content-Security-Policy"])

        # The status page in a browser, signed in through ?token=.
        base = f"http://127.0.0.1:{daemon.port}"
        html = self.dom(f"{base}/?token={SECRET}")
        with open(os.path.join(os.environ.get("SCREENSHOT_DIR") or self.tmp, "status-page.html"), "w") as f:
            f.write(html)
        dom = Dom(html)
        self.assertFalse(dom.find("script"), "a script element on the page: " + html[:2000])
        self.assertIn(HOSTILE, html.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
                      .replace("&quot;", '"').replace("&#39;", "'"))
        section = dom.find("section", cls="model", data_model="adult")
        self.assertEqual(len(section), 1, html[:3000])
        latest = dom.find("dd", cls="sequence")
        windows = self.pg.scalar("SELECT max(sequence) FROM monitor_windows")
        self.assertEqual(latest[0]["text"], str(windows))
        share = dom.find("dd", cls="drift-share")[0]["text"]
        stored_share = self.pg.scalar("SELECT statistic FROM findings WHERE kind = 'dataset_drift' AND subject = '' "
                                      "ORDER BY id DESC LIMIT 1")
        self.assertEqual(share, f"{stored_share * 100:.1f}%")
        accuracy = dom.find("tr", data_metric="accuracy")
        self.assertEqual(len(accuracy), 1, "no accuracy row")
        stored_accuracy = self.pg.scalar(
            "SELECT m.value FROM window_metrics m JOIN monitor_windows w ON w.id = m.window_id WHERE m.name = 'accuracy' "
            "AND NOT m.estimated AND m.segment = '' ORDER BY w.sequence DESC LIMIT 1")
        realised = dom.find("td", cls="realised")  # accuracy's row comes first
        self.assertAlmostEqual(float(realised[0]["text"]), stored_accuracy, places=3)
        alerts = dom.find("tr", cls="alert")
        self.assertTrue(any(HOSTILE in a["text"] for a in alerts), [a["text"] for a in alerts])
        self.assertTrue(dom.find("a", href=f"/v1/findings/{finding_id}"))
        self.assertTrue(dom.find("p", cls="breaker"))
        self.assertTrue(any("failed" in j["text"] for j in dom.find("tr", cls="job")))
        self.assertTrue(dom.find("a", href=f"/audits/{audit_id}/report"))
        self.screenshot(f"{base}/?token={SECRET}", "status-page.png")

        # The audit report the page links to, through the same cookie.
        status, report, headers = daemon.request("GET", f"/audits/{audit_id}/report", headers=cookie)
        self.assertEqual(status, 200)
        self.assertTrue(headers["Content-Type"].startswith("text/html"))
        self.assertIn(b"adult", report)
        self.assertIn(b"<svg", report)
        self.assertEqual(daemon.request("GET", "/audits/999999/report", headers=cookie)[0], 404)

        # The finding's page: what an alert's generatorURL opens.
        alert = [a for a in alertmanager.alerts() if a["labels"].get("subject") == HOSTILE][0]
        self.assertEqual(alert["generatorURL"], f"{base}/v1/findings/{finding_id}")
        page = self.dom(f"{alert['generatorURL']}?token={SECRET}")
        finding = Dom(page)
        self.assertFalse(finding.find("script"))
        self.assertEqual(finding.find("dd", cls="subject")[0]["text"], HOSTILE)
        self.assertEqual(finding.find("dd", cls="statistic")[0]["text"], "0.4")
        self.assertTrue(finding.find("dl", cls="evidence"))
        if os.environ.get("SCREENSHOT_DIR"):  # a browser start less by default
            self.screenshot(f"{alert['generatorURL']}?token={SECRET}", "finding-page.png")
        # Other collections answer a browser with JSON, as before.
        status, body, headers = daemon.request("GET", "/v1/jobs", headers={**cookie, "Accept": "text/html"})
        self.assertEqual(status, 200)
        self.assertTrue(headers["Content-Type"].startswith("application/json"), headers)
        # Programs still get JSON from the same URL.
        status, body, _ = daemon.request("GET", f"/v1/findings/{finding_id}", headers=auth)
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(body)["subject"], HOSTILE)


if __name__ == "__main__":
    harness.main()
