#!/usr/bin/python3
"""What a daemon frozen mid-transaction holds up (docs/scaling.md, "What is
and is not owned"): two daemons on one throwaway PostgreSQL with
test_leases.py's 30 models and cluster settings (3 s lease, 500 ms
heartbeat, 200 ms passes), d2 SIGSTOPped PROBE_N times at arbitrary moments
for PROBE_HOLD seconds. Each time: does d2 hold the retraining policy's or
the claims' advisory lock, and does d1 wait for it? When it holds one, d2
stays frozen 7 s more (two leases and a second) and the advisory locks are
listed again. Sessions are told apart by application_name in each DSN.

  PROBE_N=20 PROBE_HOLD=0.5 MODELWATCH_BUILD_DIR=build /usr/bin/python3 bench/freeze_probe.py
"""
import os, random, signal, sys, time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "integration"))
import harness
import test_leases as tl

N = int(os.environ.get("PROBE_N", "30"))
HOLD = float(os.environ.get("PROBE_HOLD", "0.5"))
POLICY = (0x6d77706f6c696379 >> 32, 0x6d77706f6c696379 & 0xffffffff)
CLAIM = (0x6d77636c61696d21 >> 32, 0x6d77636c61696d21 & 0xffffffff)

class Probe(harness.Environment):
    def test_probe(self):
        job = os.path.join(self.tmp, "job.sh")
        with open(job, "w") as f:
            f.write(tl.JOB)
        first_end = tl.MODEL_YAML.index("\n  - name:", 1) + 1
        models = (tl.MODEL_YAML[:first_end] + tl.RETRAIN_YAML.format(job=job, runs=self.tmp + "/runs", release=self.tmp + "/rel")
                  + tl.MODEL_YAML[first_end:])
        daemons = {}
        for name in ("d1", "d2"):
            extra = f"monitor: {{interval: 200ms}}\ncluster: {{daemon_id: {name}, {tl.CLUSTER}}}\n"
            d = self.new_daemon(name, models_yaml=models, extra_yaml=extra)
            d.write_config(self.pg.dsn + f" application_name={name}", extra, models)
            daemons[name] = d
        for d in daemons.values():
            d.start()
        for d in daemons.values():
            d.wait_ready()
        time.sleep(3)
        held = {"policy": 0, "claim": 0, "other_lock_idle_tx": 0, "nothing": 0}
        blocked = 0
        long_checks = []
        for i in range(N):
            time.sleep(random.uniform(0.05, 0.6))
            daemons["d2"].process.send_signal(signal.SIGSTOP)
            time.sleep(HOLD)
            rows = self.pg.query(
                "SELECT a.application_name, a.state, l.locktype, l.classid, l.objid, l.granted, "
                "pg_blocking_pids(a.pid), left(a.query, 80) FROM pg_stat_activity a "
                "LEFT JOIN pg_locks l ON l.pid = a.pid AND l.locktype IN ('advisory', 'tuple', 'transactionid') "
                "WHERE a.application_name IN ('d1', 'd2')")
            d2_adv0 = {(r[3], r[4]) for r in rows if r[0] == "d2" and r[2] == "advisory" and r[5]}
            if POLICY in d2_adv0 or CLAIM in d2_adv0:
                # Frozen inside the policy's or the claims' transaction: keep it
                # frozen two leases (3 s each) and a second more, then look again.
                time.sleep(7.0)
                later = self.pg.query(
                    "SELECT a.application_name, a.state, l.locktype, l.granted, pg_blocking_pids(a.pid), "
                    "left(a.query, 60), round(extract(epoch FROM clock_timestamp() - a.state_change)::numeric, 1) "
                    "FROM pg_stat_activity a JOIN pg_locks l ON l.pid = a.pid AND l.locktype = 'advisory' "
                    "WHERE a.application_name IN ('d1', 'd2')")
                print(f"pause {i}: 7 s later, advisory locks: {later}", flush=True)
                long_checks.append(later)
            daemons["d2"].process.send_signal(signal.SIGCONT)
            d2_adv = {(r[3], r[4]) for r in rows if r[0] == "d2" and r[2] == "advisory" and r[5]}
            d2_idle_tx = [r for r in rows if r[0] == "d2" and r[1] == "idle in transaction"]
            waiting = [r for r in rows if r[0] == "d1" and r[6]]
            kind = ("policy" if POLICY in d2_adv else "claim" if CLAIM in d2_adv
                    else "other_lock_idle_tx" if d2_idle_tx else "nothing")
            held[kind] += 1
            if waiting:
                blocked += 1
            if kind != "nothing" or waiting:
                print(f"pause {i}: d2 holds {kind}; d2 idle in transaction: {[(r[1], r[7]) for r in d2_idle_tx][:3]}; "
                      f"d1 waiting: {[(r[2], r[5], r[7]) for r in waiting][:3]}", flush=True)
        print(f"{N} pauses of {HOLD} s: d2 frozen holding {held}; d1 blocked at {blocked} of them", flush=True)

harness.main()
