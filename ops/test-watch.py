#!/usr/bin/env python3
"""ops/test-watch.py LIMIT_SECONDS IDLE_SECONDS -- COMMAND...

Runs a test command with its output passed through, and keeps a list of the Swift Testing tests that started and
have not ended. When the command runs past LIMIT_SECONDS, or prints nothing for IDLE_SECONDS, it prints the tests
still running and the native stacks of every thread of the test processes (gdb, when installed), then kills the
command's process group. A stalled pass is run once more (the test process's known stall, see docs/DESIGN.md);
a second stall exits 124. A hung suite thus fails with the name of what hung instead of sitting until CI's own limit
cuts the run off with no output."""
import os
import re
import signal
import subprocess
import sys
import threading
import time

STARTED = re.compile(r"^\S+ Test (.+?) started\.$")
# "✔ Test foo(x:) with 2 test cases passed after ..." ends "foo(x:)"; "Test run ..." is the whole run, not a test.
ENDED = re.compile(r"^\S+ Test (.+?)(?: with \d+ test cases?)? (?:passed|failed|skipped)\b")


def test_processes(root_pid):
    """The pids under root_pid whose command line is a test bundle runner (xctest or swiftpm-testing-helper)."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(entry))
        except OSError:
            continue
    found, stack = [], [root_pid]
    while stack:
        pid = stack.pop()
        for child in children.get(pid, []):
            stack.append(child)
            try:
                with open(f"/proc/{child}/cmdline", "rb") as f:
                    cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if ".xctest" in cmdline or "testing-helper" in cmdline:
                found.append(child)
    return found


def report(reason, running, root_pid):
    print(f"\n=== ops/test-watch: {reason}; the tests still running:", flush=True)
    for name in sorted(running):
        print(f"===   {name} (started {time.time() - running[name]:.0f} s ago)", flush=True)
    if not running:
        print("===   (none started and not ended: the hang is outside a test, e.g. a suite's set-up)", flush=True)
    for pid in test_processes(root_pid):
        print(f"=== native stacks of test process {pid}:", flush=True)
        try:
            done = subprocess.run(["gdb", "-p", str(pid), "-batch", "-ex", "thread apply all bt 25"],
                                  capture_output=True, text=True, timeout=120)
            print(done.stdout, flush=True)
            if done.returncode != 0 or not done.stdout.strip():
                print(f"===   gdb: {done.stderr.strip()[-2000:]}", flush=True)
        except (OSError, subprocess.TimeoutExpired) as error:
            print(f"===   (no stacks: {error})", flush=True)


def main():
    if len(sys.argv) < 5 or sys.argv[3] != "--":
        sys.exit(__doc__)
    try:
        limit, idle = float(sys.argv[1]), float(sys.argv[2])
    except ValueError:
        sys.exit(f"ops/test-watch.py: LIMIT_SECONDS and IDLE_SECONDS must be numbers of seconds, not {sys.argv[1]!r} {sys.argv[2]!r}")
    status = watch(sys.argv[4:], limit, idle)
    if status == 124:
        # The known stall of the test process (every task parked, no worker thread left: see docs/DESIGN.md, "The suite's
        # stall") is not a test's verdict; the pass runs once more, and what it says then stands. A second stall fails.
        print("\n=== ops/test-watch: the pass stalled (report above); running it once more", flush=True)
        status = watch(sys.argv[4:], limit, idle)
    sys.exit(status)


def watch(command, limit, idle):
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    running, last_output, lock = {}, [time.time()], threading.Lock()

    def pump():
        for raw in child.stdout:
            line = raw.decode(errors="replace")
            sys.stdout.write(line)
            sys.stdout.flush()
            with lock:
                last_output[0] = time.time()
                text = line.rstrip("\n")
                if (m := STARTED.match(text)) and m.group(1) != "run":
                    running[m.group(1)] = time.time()
                elif m := ENDED.match(text):
                    running.pop(m.group(1), None)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    start = time.time()
    while child.poll() is None:
        time.sleep(1)
        with lock:
            now, quiet = time.time(), time.time() - last_output[0]
            snapshot = dict(running)
        reason = None
        if now - start > limit:
            reason = f"the run passed its limit of {limit:.0f} s"
        elif quiet > idle:
            reason = f"no output for {quiet:.0f} s"
        if reason:
            report(reason, snapshot, child.pid)
            # The test bundle runs in a process group of its own (swift test starts it so): kill it by pid as well.
            for pid in test_processes(child.pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
            return 124
    reader.join(timeout=5)
    return child.returncode


if __name__ == "__main__":
    main()
