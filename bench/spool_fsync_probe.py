"""bench/spool_fsync_probe.py N: fdatasync latency of the spool's pattern
(append 6 KB, fdatasync) against the same write into a pre-zeroed,
pre-synced file (no size change, so no journal commit is needed),
interleaved, 10 ms apart, N of each. bench/RESULTS.md, "Ingest latency
during reloads": whether pre-allocated spool segments would avoid the
fdatasync stalls seen beside a build. Writes 2 x N x 6 KB under /tmp,
removed at the end."""
import os
import shutil
import sys
import tempfile
import time

n = int(sys.argv[1])
directory = tempfile.mkdtemp(dir="/tmp")
buf = b"x" * 6000
append = os.open(os.path.join(directory, "append"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
zeroed = os.open(os.path.join(directory, "zeroed"), os.O_WRONLY | os.O_CREAT, 0o600)
os.write(zeroed, b"\0" * (6000 * (n + 1)))
os.fsync(zeroed)
latencies = {"append": [], "prezeroed": []}
for i in range(n):
    started = time.monotonic()
    os.write(append, buf)
    os.fdatasync(append)
    latencies["append"].append(time.monotonic() - started)
    time.sleep(0.01)
    started = time.monotonic()
    os.pwrite(zeroed, buf, i * 6000)
    os.fdatasync(zeroed)
    latencies["prezeroed"].append(time.monotonic() - started)
    time.sleep(0.01)
for name, values in latencies.items():
    values.sort()
    q = lambda p: values[min(len(values) - 1, int(p * len(values)))] * 1000
    print(f"{name}: n={n} p50={q(.5):.1f} p90={q(.9):.1f} p99={q(.99):.1f} max={values[-1] * 1000:.1f} ms "
          f">50ms={sum(x > .05 for x in values)} >100ms={sum(x > .1 for x in values)}")
shutil.rmtree(directory)
