#!/usr/bin/python3
"""The Debian package as an operator uses it: scripts/package.sh builds it
from the build directory, lintian finds nothing beyond the documented
overrides, `dpkg -i` installs it, systemd accepts the installed unit, the
installed daemon runs with the installed configuration against a throwaway
PostgreSQL and stores what is ingested through it; `dpkg -r` keeps the
configuration and `dpkg -P` removes it and the daemon's state.

The installed configuration is used with three changes, made by rewriting
or adding lines: the DSN (the throwaway cluster, not the host's
/run/postgresql), the listen port (a free one, not 8470, which another
daemon on a shared machine may hold), and state_dir: there is no systemd
running the unit here (containers have no PID 1 systemd), so the test starts
/usr/sbin/modelwatchd itself, as root, with the state directory where
systemd puts it for the unit's DynamicUser=, /var/lib/private/modelwatch
(/var/lib/modelwatch is then systemd's symlink to it), which the purge must
remove.

Needs root (dpkg -i); without it the test is skipped (exit 77, ctest SKIP).
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

PACKAGE = "modelwatch"
CONFIG = "/etc/modelwatch/modelwatch.yaml"
UNIT = "/lib/systemd/system/modelwatchd.service"
REFERENCE = "/usr/share/doc/modelwatch/modelwatch.yaml.reference"
STATE_DIR = "/var/lib/private/modelwatch"
INSTALLED_FILES = [
    "/usr/sbin/modelwatchd", "/usr/bin/modelwatch", UNIT, CONFIG, REFERENCE,
    "/usr/share/doc/modelwatch/copyright", "/usr/share/doc/modelwatch/changelog.Debian.gz",
    "/usr/share/man/man1/modelwatch.1.gz", "/usr/share/man/man8/modelwatchd.8.gz",
    "/usr/share/bash-completion/completions/modelwatch", "/usr/share/bash-completion/completions/modelwatchd",
    "/usr/share/doc/modelwatch/README.md.gz",
] + [
    # The guides the man pages and the reference configuration point to.
    f"/usr/share/doc/modelwatch/docs/{name}.gz"
    for name in sorted(os.listdir(os.path.join(harness.SOURCE_DIR, "docs")))
    if name.endswith(".md")
]

check = harness.Checks()


def run(argv, **kwargs):
    return subprocess.run(argv, capture_output=True, text=True, timeout=kwargs.pop("timeout", 600), **kwargs)


def package_state():
    result = run(["dpkg-query", "-W", "-f=${db:Status-Abbrev}", PACKAGE])
    return result.stdout.strip() if result.returncode == 0 else ""


def purge():
    if package_state():
        run(["dpkg", "--purge", PACKAGE])


def build_package():
    started = time.time()
    # The build may be a sanitizer build (MODELWATCH_SANITIZE=ON): the package
    # made from it is the release package's files, layout and maintainer
    # scripts, with instrumented programs that depend on the sanitizer
    # runtimes, which every check below applies to alike.
    result = run([os.path.join(harness.SOURCE_DIR, "scripts", "package.sh"), "--allow-sanitizer-build",
                  harness.BUILD_DIR])
    if not check(result.returncode == 0, "scripts/package.sh builds the package"):
        print(result.stdout, result.stderr)
        return None
    deb = result.stdout.strip().splitlines()[-1]
    print(f"package: {deb} ({os.path.getsize(deb)} bytes, built in {time.time() - started:.1f} s)")
    return deb


def start_lintian(deb):
    """lintian takes half a minute: it runs while the package is tried out."""
    if shutil.which("lintian") is None:
        check(False, "lintian is installed (scripts/install-deps.sh)")
        return None
    return subprocess.Popen(["lintian", "--fail-on", "error,warning", "--display-level", ">=warning", deb],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)


def check_lintian(process):
    if process is None:
        return
    out, _ = process.communicate(timeout=600)
    check(process.returncode == 0 and out.strip() == "",
          f"lintian reports no error or warning beyond packaging/deb/lintian-overrides (rc={process.returncode}): "
          f"{out.strip()}")


def check_contents(deb):
    listing = run(["dpkg-deb", "--contents", deb]).stdout
    check("./etc/modelwatch/modelwatch.yaml" in listing, "the package ships /etc/modelwatch/modelwatch.yaml")
    conffiles = run(["dpkg-deb", "--info", deb, "conffiles"]).stdout.split()
    check(conffiles == [CONFIG], f"the configuration is the package's one conffile: {conffiles}")


def check_installed():
    for path in INSTALLED_FILES:
        check(os.path.isfile(path), f"installed {path}")
    with open(UNIT) as f:
        unit = f.read()
    check("ExecStart=/usr/sbin/modelwatchd --config /etc/modelwatch/modelwatch.yaml\n" in unit,
          "the installed unit runs the installed binary with the installed configuration")
    result = run(["systemd-analyze", "verify", "--man=no", UNIT])
    check(result.returncode == 0 and not result.stdout.strip() and not result.stderr.strip(),
          f"systemd-analyze verify accepts the installed unit ({result.stdout}{result.stderr})")
    result = run(["/usr/sbin/modelwatchd", "--check-config", CONFIG])
    check(result.returncode == 0, f"the installed configuration passes --check-config: {result.stdout}{result.stderr}")
    env = dict(os.environ, MODELWATCH_DSN="host=/run/postgresql dbname=modelwatch")
    result = run(["/usr/sbin/modelwatchd", "--check-config", REFERENCE], env=env)
    check(result.returncode == 1 and "placeholder" in result.stderr,
          "the annotated reference fails --check-config for its placeholders")
    # The man pages render without groff warnings.
    for page in ("/usr/share/man/man1/modelwatch.1.gz", "/usr/share/man/man8/modelwatchd.8.gz"):
        result = run(["man", "--warnings", "-E", "UTF-8", "-l", page], env=dict(os.environ, MANWIDTH="80"))
        check(result.returncode == 0 and result.stderr.strip() == "" and "SYNOPSIS" in result.stdout,
              f"{page} renders without warnings ({result.stderr.strip()[:300]})")
    with open("/usr/share/man/man8/modelwatchd.8.gz", "rb") as f:
        import gzip
        page = gzip.decompress(f.read()).decode()
    check("retention.predictions" in page and "\\-\\-check\\-config" in page,
          "modelwatchd(8) lists the daemon's flags and every configuration key")
    check_completion()


def complete(words):
    """What bash completion offers for the command line `words` (the last is the word being completed)."""
    script = ("source /usr/share/bash-completion/bash_completion\n"
              "source /usr/share/bash-completion/completions/" + words[0] + "\n"
              "COMP_WORDS=(" + " ".join(f"'{w}'" for w in words) + ")\n"
              f"COMP_CWORD={len(words) - 1}\nCOMP_LINE='{' '.join(words)}'\nCOMP_POINT=${{#COMP_LINE}}\n"
              f"_{words[0]}\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"\n")
    return run(["bash", "-c", script]).stdout.split()


def check_completion():
    if not os.path.exists("/usr/share/bash-completion/bash_completion"):
        check(False, "bash-completion is installed (scripts/install-deps.sh)")
        return
    check(complete(["modelwatch", "dr"]) == ["drift"], "modelwatch completes its commands")
    check("--reference" in complete(["modelwatch", "drift", "--ref"]), "modelwatch drift completes its options")
    check(complete(["modelwatchd", "--check"]) == ["--check-config"], "modelwatchd completes its flags")


def run_installed_daemon(directory):
    """The installed daemon with the installed configuration (DSN and port
    rewritten), ingesting into a throwaway PostgreSQL."""
    postgres = harness.Postgres(os.path.join(directory, "pg")).start()
    port = harness.free_port()
    with open(CONFIG) as f:
        text = f.read()
    text, dsn_lines = re.subn(r'^(\s*dsn:).*$', lambda m: f'{m.group(1)} "{postgres.dsn}"', text, flags=re.M)
    text, listen_lines = re.subn(r'^(\s*listen:).*$', lambda m: f'{m.group(1)} "127.0.0.1:{port}"', text, flags=re.M)
    check(dsn_lines == 1 and listen_lines == 1, "the installed configuration has one dsn and one listen line")
    check("state_dir" not in text, "the installed configuration keeps the default state_dir")
    text = f"state_dir: {STATE_DIR}\n" + text
    os.mkdir(STATE_DIR, mode=0o700)
    config_path = os.path.join(directory, "modelwatch.yaml")
    with open(config_path, "w") as f:
        f.write(text)
    os.makedirs(os.path.join(directory, "daemon"))
    daemon = harness.Daemon(os.path.join(directory, "daemon"), postgres.dsn, port=port)
    daemon.config_path = config_path
    try:
        with open(daemon.log_path, "a") as log:
            daemon.process = subprocess.Popen(["/usr/sbin/modelwatchd", "--config", config_path], stdout=log,
                                              stderr=log)
        daemon.wait_healthy(timeout=30)
        daemon.wait_ready(timeout=60)
        records = [{"id": f"p{i}", "features": {"amount": float(i), "channel": "web" if i % 2 else "shop"},
                    "prediction": "1" if i % 3 else "0", "score": 0.5} for i in range(200)]
        status, body, _ = daemon.post("/v1/models/example/predictions", records)
        check(status == 200 and body["accepted"] == 200, f"the installed daemon accepts predictions ({status} {body})")
        stored = harness.wait_for(
            lambda: postgres.scalar("SELECT count(*) FROM predictions WHERE model = 'example'") == 200, 60,
            "the predictions did not reach PostgreSQL")
        check(stored, "the predictions are stored in PostgreSQL")
        check(os.path.isdir(os.path.join(STATE_DIR, "spool")), f"the daemon's spool is in {STATE_DIR}")
        check(harness.wait_for(lambda: "retention_pass" in daemon.log(), 30, "no retention pass logged"),
              "the retention worker ran its first pass at start")
        check(daemon.terminate(timeout=60) == 0, "the installed daemon stops cleanly on SIGTERM")
    finally:
        if daemon.process and daemon.process.poll() is None:
            daemon.kill()
        postgres.stop()


def main():
    if os.geteuid() != 0:
        print("SKIP: test_package needs root (dpkg -i installs into the system); run it as root")
        return 77
    if shutil.which("dpkg") is None or shutil.which("systemd-analyze") is None:
        print("FAIL: dpkg and systemd-analyze are needed (scripts/install-deps.sh)")
        return 1
    if package_state():
        print(f"note: {PACKAGE} was installed ({package_state()}); purging it first")
        purge()
    if os.path.exists(STATE_DIR):
        print(f"FAIL: {STATE_DIR} exists without the package (only the package's service uses it); "
              "not touching it")
        return 1
    deb = build_package()
    if deb is None:
        return 1
    # systemd's parent of DynamicUser= state directories (mode 0700), made
    # here as systemd would and removed afterwards if this test made it.
    private = os.path.dirname(STATE_DIR)
    made_private = not os.path.exists(private)
    if made_private:
        os.mkdir(private, mode=0o700)
    lintian = start_lintian(deb)
    check_contents(deb)
    try:
        result = run(["dpkg", "--install", deb])
        if not check(result.returncode == 0, "dpkg --install succeeds"):
            print(result.stdout, result.stderr)
            return 1
        check_installed()
        with tempfile.TemporaryDirectory(prefix="modelwatch-package-") as directory:
            os.chmod(directory, 0o755)  # the cluster runs as postgres
            run_installed_daemon(directory)

        # An edited configuration survives removal: it is a conffile.
        with open(CONFIG, "a") as f:
            f.write("# edited by the operator\n")
        result = run(["dpkg", "--remove", PACKAGE])
        check(result.returncode == 0, "dpkg --remove succeeds")
        check(package_state() == "rc", f"after --remove only the configuration is left ({package_state()})")
        check(not os.path.exists("/usr/sbin/modelwatchd"), "dpkg --remove removes the daemon")
        check(os.path.isfile(CONFIG), "dpkg --remove leaves the configuration")
        result = run(["dpkg", "--purge", PACKAGE])
        check(result.returncode == 0, "dpkg --purge succeeds")
        check(package_state() == "", "after --purge the package is gone")
        check(not os.path.exists("/etc/modelwatch"), "dpkg --purge removes /etc/modelwatch")
        check(not os.path.exists(STATE_DIR), f"dpkg --purge removes {STATE_DIR}")
    finally:
        purge()
        check_lintian(lintian)
        if made_private and os.path.isdir(private) and not os.listdir(private):
            os.rmdir(private)

    return check.exit_status()


if __name__ == "__main__":
    sys.exit(main())
