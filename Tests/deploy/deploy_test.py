#!/usr/bin/env python3
"""Deployment tests: every compose topology in compose/ brought up with podman-compose from the
image built from the Debian package, and the systemd units run under systemd as PID 1.

Run by scripts/test-deploy, which builds the package and the images first. Each test prints
what it does; the last line is "N passed, N failed". A test fails with the reason and the logs
of the containers involved.

For each topology: up -d, wait until every container is healthy, write files (or run a job),
kill -9 the leading master's (job master's) container, check that a new leader serves every
file (job), that the killed container is restarted and rejoins, then down and up again with the
volumes (data intact), and down -v.
"""
import contextlib
import hashlib
import os
import signal
import re
import subprocess
import sys
import time
import traceback

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COMPOSE = os.path.join(ROOT, "compose")
IMAGE = os.environ.get("STRATA_IMAGE", "localhost/strata:latest")


class Failure(Exception):
    pass


def run(args, check=True, timeout=300):
    """Runs a command; returns its standard output (stderr folded in on failure)."""
    result = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise Failure(f"{' '.join(args)} exited with {result.returncode}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result.stdout


def wait_until(what, predicate, timeout=120, interval=1.0):
    """Calls predicate until it returns a true value (returned) or the deadline passes."""
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except (Failure, subprocess.TimeoutExpired) as error:
            last_error = error
        time.sleep(interval)
    raise Failure(f"timed out after {timeout}s waiting for {what}" + (f"; last error: {last_error}" if last_error else ""))


class Topology:
    """One compose file brought up as its own project."""

    def __init__(self, file, project):
        self.file = os.path.join(COMPOSE, file)
        self.project = project

    def compose(self, *args, timeout=600):
        return run(["podman-compose", "-p", self.project, "-f", self.file, *args], timeout=timeout)

    def container(self, service):
        return f"{self.project}_{service}_1"

    def services(self):
        out = run(["podman", "ps", "-a", "--filter", f"label=io.podman.compose.project={self.project}", "--format", "{{.Names}}"])
        return sorted(name[len(self.project) + 1:-2] for name in out.split())

    def exec(self, service, *command, check=True, timeout=120):
        return run(["podman", "exec", self.container(service), *command], check=check, timeout=timeout)

    def strata(self, service, *arguments, check=True, timeout=120):
        return self.exec(service, "strata", *arguments, check=check, timeout=timeout)

    def healthy(self, service):
        result = subprocess.run(["podman", "healthcheck", "run", self.container(service)], capture_output=True, text=True, timeout=30)
        return result.returncode == 0

    def wait_healthy(self, services=None, timeout=180):
        """Waits until each of `services` (default: every service of the project) is healthy."""
        for service in services or self.services():
            wait_until(f"{self.container(service)} to be healthy", lambda: self.healthy(service), timeout=timeout)

    def state(self, service):
        out = run(["podman", "inspect", "-f", "{{.State.Running}} {{.State.Pid}} {{.RestartCount}}", self.container(service)])
        running, pid, restarts = out.split()
        return running == "true", int(pid), int(restarts)

    def kill(self, service):
        """kill -9 of the container's main process, as a crash would: the kernel ends every
        process in it, and the restart policy (not an operator's stop) decides what follows."""
        running, pid, restarts = self.state(service)
        if not running or pid <= 0:
            raise Failure(f"{self.container(service)} is not running")
        os.kill(pid, 9)
        return restarts

    def wait_restarted(self, service, restarts_before, timeout=120):
        wait_until(f"{self.container(service)} to be restarted",
                   lambda: (lambda s: s[0] and s[2] > restarts_before)(self.state(service)), timeout=timeout)

    def logs(self):
        text = ""
        for service in self.services():
            result = subprocess.run(["podman", "logs", "--tail", "60", self.container(service)], capture_output=True, text=True)
            text += f"----- {self.container(service)} -----\n{result.stdout[-6000:]}{result.stderr[-6000:]}\n"
        return text

    def up(self):
        """`up -d`, then waits until every container is healthy."""
        self.compose("up", "-d")
        self.wait_healthy()

    @contextlib.contextmanager
    def session(self):
        """Brings the topology up from nothing (clearing what an aborted run left) and, if the
        test fails, prints every container's log and removes containers and volumes."""
        self.down(volumes=True, check=False)
        self.up()
        try:
            yield self
        except BaseException:
            print(self.logs())
            subprocess.run(["podman-compose", "-p", self.project, "-f", self.file, "down", "-v"], capture_output=True)
            raise

    def down(self, volumes, check=True):
        """`down` (with -v, also the volumes). With check=False (clearing what an aborted run
        left), leftovers are removed without failing the test."""
        args = ["down", "-v"] if volumes else ["down"]
        self.compose(*args)
        if volumes:
            # podman-compose removes the volumes the file names; check none is left.
            left = [v for v in run(["podman", "volume", "ls", "--format", "{{.Name}}"]).split() if v.startswith(self.project + "_")]
            for volume in left:
                run(["podman", "volume", "rm", "-f", volume])
            if left and check:
                raise Failure(f"down -v left volumes {left}")


def leader(topology, service, kind="fs"):
    """The leading master's (job master's) host, asked from `service`."""
    out = topology.strata(service, kind, "leader", check=False, timeout=60).strip()
    match = re.match(r"^([A-Za-z0-9.-]+):\d+$", out.splitlines()[0] if out else "")
    return match.group(1) if match else None


def wait_leader(topology, service, kind="fs", timeout=120):
    return wait_until(f"a {'job ' if kind == 'job' else ''}leader", lambda: leader(topology, service, kind), timeout=timeout)


def wait_new_leader(topology, service, killed, restarts_before, kind="fs", timeout=120):
    """A leader elected after `killed`'s container was killed: another member, or `killed` itself
    once its restart policy brought it back (it restarts within a second or two and may win the
    election fairly: its log is as complete as anyone's)."""
    def ready():
        host = leader(topology, service, kind)
        if not host:
            return None
        if host != killed:
            return host
        running, _, restarts = topology.state(killed)
        return host if running and restarts > restarts_before else None
    return wait_until(f"a {'job ' if kind == 'job' else ''}leader elected after {killed} was killed", ready, timeout=timeout)


def write_files(topology, service, count=20):
    """Writes `count` files with random contents through `service`; returns {path: sha256}."""
    topology.strata(service, "fs", "mkdir", "/deploy")
    digests = {}
    script = "set -e; cd /tmp; for i in $(seq 1 %d); do head -c $((i * 40000)) /dev/urandom > f$i; done; sha256sum f*" % count
    for line in topology.exec(service, "bash", "-c", script).splitlines():
        digest, name = line.split()
        digests["/deploy/" + name] = digest
    for path in digests:
        topology.strata(service, "fs", "copyFromLocal", "/tmp/" + path.rsplit("/", 1)[1], path)
    return digests


def check_files(topology, service, digests):
    listing = topology.strata(service, "fs", "ls", "/deploy")
    for path in digests:
        if path.rsplit("/", 1)[1] not in listing:
            raise Failure(f"{path} is missing from the listing:\n{listing}")
    for path, digest in digests.items():
        data = subprocess.run(["podman", "exec", topology.container(service), "strata", "fs", "cat", path],
                              capture_output=True, timeout=120)
        if data.returncode != 0:
            raise Failure(f"fs cat {path} failed: {data.stderr.decode()[-2000:]}")
        if hashlib.sha256(data.stdout).hexdigest() != digest:
            raise Failure(f"{path} reads back different bytes")


def report_roles(topology, service):
    """{master address: role} from `fsadmin report`."""
    out = topology.strata(service, "fsadmin", "report", check=False)
    return {m.group(1): m.group(2) for m in re.finditer(r"^\s+(\S+:\d+)\s+(PRIMARY|STANDBY|LEADER|FOLLOWER|JOURNAL_NODE|UNAVAILABLE)\b", out, re.M)}


def test_embedded_ha():
    t = Topology("embedded-ha.yml", "strata-embedded-ha")
    masters_topology(t, masters=["m1", "m2", "m3"], client="w1", jobs=True)


def test_journal_node():
    t = Topology("journal-node.yml", "strata-journal-node")
    masters_topology(t, masters=["m1", "m2"], client="w1")


def test_zookeeper_ha():
    t = Topology("zookeeper-ha.yml", "strata-zookeeper-ha")
    masters_topology(t, masters=["m1", "m2", "m3"], client="w1")


def masters_topology(t, masters, client, jobs=False):
    with t.session():
        first = wait_leader(t, client)
        print(f"  up: {len(masters)} masters healthy, {first} leads")
        digests = write_files(t, client)
        job_id = None
        if jobs:
            job_leader = wait_leader(t, client, "job")
            out = t.strata(client, "fs", "distributedLoad", "/deploy", timeout=300)
            if "COMPLETED" not in out:
                raise Failure(f"distributedLoad did not complete:\n{out}")
            match = re.search(r"job (\d+)", out)
            if not match:
                raise Failure(f"distributedLoad named no job:\n{out}")
            job_id = match.group(1)
            print(f"  wrote {len(digests)} files; distributedLoad job {job_id} completed (job leader {job_leader})")
        else:
            print(f"  wrote {len(digests)} files")

        # kill -9 the leading master's container: another leads with everything, it comes back.
        killed = first
        restarts = t.kill(killed)
        started = time.monotonic()
        new = wait_new_leader(t, client, killed, restarts)
        print(f"  killed {killed}'s container; {new}{' (restarted)' if new == killed else ''} leads after {time.monotonic() - started:.1f}s")
        check_files(t, client, digests)
        if jobs:
            new_job_leader = wait_leader(t, client, "job")
            listing = t.strata(client, "job", "ls")
            if job_id not in listing:
                raise Failure(f"job {job_id} is missing after the fail-over (job leader {new_job_leader}):\n{listing}")
        t.wait_restarted(killed, restarts)
        t.wait_healthy([killed])
        def rejoined():
            roles = report_roles(t, client)
            return all(any(addr.startswith(m + ":") and role not in ("UNAVAILABLE",) for addr, role in roles.items()) for m in masters)
        wait_until(f"{killed} to rejoin (fsadmin report)", rejoined, timeout=120)
        print(f"  {killed} restarted by its restart policy and rejoined")

        if jobs:
            # `master` supervises two processes: when one dies, the container ends and restarts.
            other = next(m for m in masters if m != killed)
            restarts = t.state(other)[2]
            # kill -9 from the host (by the process's host pid): a `podman exec` doing it races
            # the container's own end, and podman then fails the exec ("exec died event ... not found").
            listing = run(["podman", "top", t.container(other), "hpid", "comm"])
            victims = [line.split()[0] for line in listing.splitlines()[1:] if line.split()[1:] == ["strata-jobmaste"]]
            if not victims:
                raise Failure(f"no strata-jobmaster process in {other}:\n{listing}")
            for pid in victims:
                os.kill(int(pid), signal.SIGKILL)
            t.wait_restarted(other, restarts)
            t.wait_healthy([other])
            print(f"  the job master in {other} killed: the container ended with it, restarted and is healthy")

        # down and up again with the volumes: everything is still there.
        t.down(volumes=False)
        t.up()
        wait_leader(t, client)
        check_files(t, client, digests)
        if jobs:
            wait_leader(t, client, "job")
            if job_id not in t.strata(client, "job", "ls"):
                raise Failure(f"job {job_id} is missing after down and up")
        print("  down, up: every file" + (" and the job" if jobs else "") + " intact")
        t.down(volumes=True)
        print("  down -v: volumes removed")


def test_job_service():
    """Job-service-only: three job masters and two job workers, no file-system master; a
    `strata job copy` survives the leading job master's container being killed."""
    t = Topology("job-service.yml", "strata-job-service")
    with t.session():
        first = wait_leader(t, "jw1", "job")
        # 300 source files in the shared data volume.
        t.exec("jw1", "bash", "-c", "set -e; mkdir -p /var/lib/strata/shared/in; cd /var/lib/strata/shared/in; for i in $(seq 1 300); do head -c 30000 /dev/urandom > f$i; done")
        source = t.exec("jw1", "bash", "-c", "cd /var/lib/strata/shared/in && sha256sum f* | sort")
        out = t.strata("jw1", "job", "copy", "--batch-size", "2", "--active-jobs", "2", "--async", "/var/lib/strata/shared/in", "/var/lib/strata/shared/out")
        job_id = re.search(r"job (\d+)", out).group(1)
        restarts = t.kill(first)
        new = wait_new_leader(t, "jw1", first, restarts, "job")
        print(f"  job {job_id} submitted; killed {first}'s container; {new} leads")
        def finished():
            stat = t.strata("jw1", "job", "stat", job_id, check=False)
            match = re.search(r"^Status: (\w+)", stat, re.M)
            return stat if match and match.group(1) in ("COMPLETED", "FAILED", "CANCELED") else None
        stat = wait_until(f"job {job_id} to finish", finished, timeout=300)
        if "Status: COMPLETED" not in stat or "Files: 300 of 300 done" not in stat:
            raise Failure(f"job {job_id} did not complete all 300 files:\n{stat}")
        copied = t.exec("jw2", "bash", "-c", "cd /var/lib/strata/shared/out && sha256sum f* | sort")
        if copied != source:
            raise Failure("/var/lib/strata/shared/out differs from /var/lib/strata/shared/in")
        t.wait_restarted(first, restarts)
        t.wait_healthy([first])
        print(f"  job {job_id} COMPLETED with all 300 files; {first} restarted")
        t.down(volumes=False)
        t.up()
        wait_leader(t, "jw1", "job")
        if job_id not in wait_until("the job list", lambda: t.strata("jw1", "job", "ls", check=False)):
            raise Failure(f"job {job_id} is missing after down and up")
        print("  down, up: the job's history intact")
        t.down(volumes=True)
        print("  down -v: volumes removed")


SYSTEMD_IMAGE = os.environ.get("STRATA_SYSTEMD_IMAGE", "localhost/strata-systemd:latest")
UNITS = ["strata-master", "strata-jobmaster", "strata-worker", "strata-journal-node", "strata-secondary-master"]


def test_systemd():
    """The units under systemd as PID 1 (the package installed in a Debian container): every
    unit verifies; the master becomes active only once it serves; kill -9 of the process makes
    systemd restart it, and it comes back with its journal; `systemctl stop` is graceful."""
    name = "strata-systemd-test"
    subprocess.run(["podman", "rm", "-f", name], capture_output=True)
    run(["podman", "run", "-d", "--name", name, "--systemd=always", "--shm-size", "1g", "--hostname", "strata-host", SYSTEMD_IMAGE])

    def sh(command, check=True, timeout=120):
        return run(["podman", "exec", name, "bash", "-c", command], check=check, timeout=timeout)

    try:
        wait_until("systemd to boot", lambda: sh("systemctl is-system-running", check=False).strip() in ("running", "degraded"), timeout=120)
        # Templates verify as instances, whose environment files must exist.
        instances = " ".join(f"/lib/systemd/system/{unit}@1.service" for unit in UNITS)
        links = "; ".join(f"touch /etc/strata/{u}@1.env; ln -sf {u}@.service /lib/systemd/system/{u}@1.service" for u in UNITS)
        plain = " ".join(f"/lib/systemd/system/{u}.service" for u in UNITS)
        verified = subprocess.run(["podman", "exec", name, "bash", "-c", f"{links}; systemd-analyze verify --man=no {plain} {instances}"],
                                  capture_output=True, text=True, timeout=120)
        if verified.returncode != 0 or "strata" in verified.stderr:
            raise Failure(f"systemd-analyze verify: {verified.stdout}{verified.stderr}")
        print(f"  systemd-analyze verify: {len(UNITS) * 2} units clean")

        # Active only once serving: right after `systemctl start` returns, the master answers.
        sh("systemctl start strata-master", timeout=300)
        if sh("systemctl is-active strata-master", check=False).strip() != "active":
            raise Failure(sh("systemctl status strata-master --no-pager", check=False))
        status = sh("curl -sS -o /dev/null -w '%{http_code}' http://127.0.0.1:19999/health", check=False)
        if status != "200":
            raise Failure(f"the unit is active but /health answers {status}")
        user = sh("ps -o user= -p $(systemctl show -p MainPID --value strata-master)").strip()
        if user != "strata":
            raise Failure(f"the master runs as {user}, not strata")
        if "Formatted journal /var/lib/strata/journal" not in sh("journalctl -u strata-master --no-pager", check=False):
            raise Failure("the master unit did not format its empty journal (ExecStartPre)")
        sh("strata fs mkdir /made-before-the-kill")
        print("  strata-master active only once serving (READY=1), as the strata user; its journal formatted on first start")

        pid = int(sh("systemctl show -p MainPID --value strata-master").strip())
        sh(f"kill -9 {pid}")
        def restarted():
            new = int(sh("systemctl show -p MainPID --value strata-master").strip())
            return new if new not in (0, pid) and sh("systemctl is-active strata-master", check=False).strip() == "active" else None
        new_pid = wait_until("systemd to restart the master", restarted, timeout=120)
        wait_until("the restarted master to lead", lambda: sh("strata fs leader", check=False).strip(), timeout=60)
        if "made-before-the-kill" not in sh("strata fs ls /"):
            raise Failure("the directory made before kill -9 is gone after the restart")
        print(f"  kill -9 of pid {pid}: systemd restarted it (pid {new_pid}) and it serves its journal")

        sh("systemctl stop strata-master", timeout=120)
        result = sh("systemctl show -p ExecMainStatus -p ExecMainCode -p ActiveState strata-master")
        log = sh("journalctl -u strata-master --no-pager -n 30", check=False)
        if "ActiveState=inactive" not in result or "ExecMainStatus=0" not in result:
            raise Failure(f"systemctl stop was not a clean exit: {result}\n{log}")
        print("  systemctl stop: graceful (exit status 0, unit inactive)")

        # The other services start as units too (one host: master, job master, worker, all defaults).
        sh("systemctl start strata-master strata-jobmaster strata-worker", timeout=300)
        for unit in ["strata-master", "strata-jobmaster", "strata-worker"]:
            if sh(f"systemctl is-active {unit}", check=False).strip() != "active":
                raise Failure(sh(f"systemctl status {unit} --no-pager; journalctl -u {unit} --no-pager -n 40", check=False))
        wait_until("a job leader", lambda: sh("strata job leader", check=False).strip(), timeout=60)
        sh("head -c 3000000 /dev/urandom > /tmp/blob && strata fs copyFromLocal /tmp/blob /blob && strata fs cat /blob | cmp - /tmp/blob")
        print("  strata-master, strata-jobmaster and strata-worker active together; a file written and read back")
        sh("systemctl stop strata-worker strata-jobmaster strata-master", timeout=180)

        # The start/stop scripts of the package, in the container, as the strata user, no ssh.
        started = sh("runuser -u strata -- strata-start.sh local NoMount", timeout=300)
        if "Leading master:" not in started or "Leading job master:" not in started:
            raise Failure(f"strata-start.sh local:\n{started}")
        if "/blob" not in sh("strata fs ls /"):
            raise Failure("the scripts' master does not serve the journal the units wrote")
        stopped = sh("runuser -u strata -- strata-stop.sh local", timeout=120)
        if sh("pgrep -f strata-master", check=False).strip():
            raise Failure(f"strata-stop.sh local left a master running:\n{stopped}")
        print("  strata-start.sh local / strata-stop.sh local work in the container without ssh")
    except BaseException:
        print(subprocess.run(["podman", "exec", name, "bash", "-c", "journalctl --no-pager -n 200 -u 'strata-*'"],
                             capture_output=True, text=True).stdout[-12000:])
        raise
    finally:
        subprocess.run(["podman", "rm", "-f", "-t", "5", name], capture_output=True)


TESTS = {
    "embedded-ha": test_embedded_ha,
    "journal-node": test_journal_node,
    "job-service": test_job_service,
    "zookeeper-ha": test_zookeeper_ha,
    "systemd": test_systemd,
}


def main():
    selected = sys.argv[1:] or list(TESTS)
    passed = failed = 0
    for name in selected:
        if name not in TESTS:
            print(f"unknown test {name}; known: {', '.join(TESTS)}")
            return 2
        print(f"◇ deploy test {name} started", flush=True)
        started = time.monotonic()
        try:
            TESTS[name]()
            passed += 1
            print(f"✔ deploy test {name} passed after {time.monotonic() - started:.1f} seconds", flush=True)
        except Exception as error:
            failed += 1
            print(f"✘ deploy test {name} failed after {time.monotonic() - started:.1f} seconds: {error}", flush=True)
            traceback.print_exc()
    print(f"\n{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
