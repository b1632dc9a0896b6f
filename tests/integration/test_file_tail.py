"""The file-tail collector inside the daemon: NDJSON lines appended to a file
land in PostgreSQL once each, across rotation, truncation and a daemon kill."""

import json
import os
import signal
import time

from harness import Environment, main, wait_for


def line(i):
    return json.dumps({"id": f"tail-{i}", "features": {"nswprice": i / 1000}, "prediction": "UP"}) + "\n"


class FileTail(Environment):
    def test_lines_arrive_once_across_rotation_truncation_and_kill(self):
        daemon = self.new_daemon("tail")
        path = os.path.join(daemon.directory, "predictions.ndjson")
        daemon.write_config(self.pg.dsn, extra_yaml=(
            f"file_tails:\n  - path: {path}\n    model: elec2\n    kind: predictions\n    poll_interval: 50ms\n"))
        with open(path, "w") as f:
            f.writelines(line(i) for i in range(0, 100))
        daemon.start()
        daemon.wait_ready()  # the schema is migrated once the store is reachable

        def stored():
            return self.pg.scalar("SELECT count(*) FROM predictions WHERE id LIKE 'tail-%%'")

        def wait_for(count, timeout=30):
            deadline = time.time() + timeout
            while time.time() < deadline:
                if stored() >= count:
                    return
                time.sleep(0.1)
            self.fail(f"only {stored()} of {count} lines stored:\n{daemon.log()[-3000:]}")

        wait_for(100)
        # A partial line is not consumed until its newline arrives.
        with open(path, "a") as f:
            f.write(line(100)[:20])
        time.sleep(0.5)
        with open(path, "a") as f:
            f.write(line(100)[20:])
            f.writelines(line(i) for i in range(101, 150))
        wait_for(150)

        # Rotation: lines written to the old file just before the rename, then a new file.
        with open(path, "a") as f:
            f.writelines(line(i) for i in range(150, 160))
        os.rename(path, path + ".1")
        with open(path, "w") as f:
            f.writelines(line(i) for i in range(160, 200))
        wait_for(200)

        # Nothing was delivered twice: the store would have ignored a second copy.
        daemon.wait_drained()
        self.assertEqual(daemon.metric("modelwatch_store_duplicates_ignored_total"), 0)
        self.assertEqual(daemon.metric(f'modelwatch_file_tail_lines_total{{path="{path}",result="delivered"}}'), 200)

        # A kill and a restart: the checkpoint holds, nothing is read twice or skipped.
        daemon.kill()
        with open(path, "a") as f:
            f.writelines(line(i) for i in range(200, 220))
        daemon.start()
        wait_for(220)

        # Truncation in place (copytruncate), then new lines.
        with open(path, "w") as f:
            f.writelines(line(i) for i in range(220, 230))
        wait_for(230)
        daemon.wait_drained()

        ids = {r[0] for r in self.pg.query("SELECT id FROM predictions WHERE id LIKE 'tail-%%'")}
        self.assertEqual(ids, {f"tail-{i}" for i in range(230)})
        self.assertEqual(daemon.metric("modelwatch_store_duplicates_ignored_total"), 0)
        self.assertEqual(daemon.terminate(), 0)

    def test_a_reload_that_moves_a_tail_says_it_needs_a_restart(self):
        # The tails are built at start (docs/monitoring.md, "Reloading"): a
        # reload that names another file for the same count of tails must
        # say so, not log config_reloaded and go on reading the old file.
        daemon = self.new_daemon("moved")
        tail = "file_tails:\n  - path: {}\n    model: elec2\n    kind: predictions\n"
        first = os.path.join(daemon.directory, "first.ndjson")
        daemon.write_config(self.pg.dsn, extra_yaml=tail.format(first))
        daemon.start()
        # Logged once the signal handlers are in place (step 9, after step 7).
        wait_for(lambda: "ready port=" in daemon.log(), 20, "the daemon did not log ready")
        daemon.write_config(self.pg.dsn, extra_yaml=tail.format(os.path.join(daemon.directory, "second.ndjson")))
        daemon.process.send_signal(signal.SIGHUP)
        wait_for(lambda: "config_reloaded" in daemon.log(), 20, "the reload was not logged")
        self.assertIn('config_reload_needs_restart key="file_tails"', daemon.log())


if __name__ == "__main__":
    main()
